//! Pass 1 of a full audit, on the packs.
//!
//! - every packed tree and commit is rebuilt first, on every core: the walk needs them;
//! - then two things run at once: every packed blob is rebuilt and scanned for secrets (the
//!   bytes alone decide them), while the walk decides which blobs are reachable and at which
//!   path each was first seen; blobs the packs do not hold go straight to the libgit2 workers;
//! - afterwards, each reachable packed blob takes its scan result from a per-slot table, and the
//!   few that need path-dependent lints, or that the packs could not deliver (damaged entries),
//!   go to the libgit2 workers too.
//!
//! Unreachable packed blobs are scanned for nothing, and counted nowhere: they are rare, and
//! waiting for the walk before scanning would leave a core idle for its whole length.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use git2::Oid;
use indicatif::ProgressBar;

use super::grafts::Grafts;
use super::graph::{BlobJob, TreeGraph};
use super::order::order_commits;
use super::{
    BlobHit, CommitHeaders, Tips, finish_scan, parse_commit_header, scan_on_workers, walk_commits,
};
use crate::config::ScanSettings;
use crate::scanner::{BlobScan, Scanner};
use crate::sources::ScanStats;
use crate::sources::admit::{Admission, is_lfs_pointer};
use crate::sources::git::BlobOrigin;
use crate::sources::object_id::ObjectId;
use crate::sources::pack::{Content, ObjectKind, PackSet};

/// What scanning a packed blob came to, per slot: the outcome in the top byte, the blob's size
/// below. Zero means "not delivered".
const SCANNED: u64 = 1 << 56;
const TOO_LARGE: u64 = 2 << 56;
const LFS_POINTER: u64 = 3 << 56;
const OUTCOME: u64 = 0xff << 56;
/// The bytes may hold a key-creation request: the path-dependent lints must read them.
const NEEDS_PATH_LINTS: u64 = 1 << 55;
const SIZE: u64 = NEEDS_PATH_LINTS - 1;

struct PackedScans {
    status: Vec<AtomicU64>,
    /// Only blobs with findings or suppressed matches: most have neither.
    results: Mutex<HashMap<usize, BlobScan>>,
}

impl PackedScans {
    /// Runs on the pack reader's threads, before the walk names the blob: decides as
    /// `Admission` does, and leaves the counting to `take_results`, which knows the name.
    fn record(&self, slot: usize, content: Content<'_>, admission: Admission, scanner: &Scanner) {
        let bytes = match content {
            Content::Bytes(bytes) => bytes,
            // Never inflated: the pack reader read the size from the headers.
            Content::TooLarge(size) => {
                self.status[slot].store(TOO_LARGE | size.min(SIZE), Ordering::Release);
                return;
            }
        };
        let size = (bytes.len() as u64).min(SIZE);
        let status = if !admission.within_limit(size) {
            TOO_LARGE | size
        } else if is_lfs_pointer(bytes) {
            LFS_POINTER | size
        } else {
            // Named by the walk afterwards: the path is not known yet.
            let scan = scanner.scan_secrets("", bytes);
            let worth_keeping =
                !scan.occurrences.is_empty() || scan.inline_suppressed + scan.config_suppressed > 0;
            if worth_keeping && let Ok(mut results) = self.results.lock() {
                results.insert(slot, scan);
            }
            let lints = if Scanner::may_need_path_lints(bytes) {
                NEEDS_PATH_LINTS
            } else {
                0
            };
            SCANNED | lints | size
        };
        self.status[slot].store(status, Ordering::Release);
    }
}

/// A reachable packed blob waiting for its scan result: one per blob of the history, so kept
/// at 36 bytes plus its path (a `BlobJob` has room for a scan result it does not have yet).
struct PackedJob {
    blob: ObjectId,
    path: Box<str>,
}

impl From<BlobJob> for PackedJob {
    fn from(job: BlobJob) -> Self {
        PackedJob {
            blob: job.blob.into(),
            path: job.path.into_boxed_str(),
        }
    }
}

impl From<PackedJob> for BlobJob {
    fn from(job: PackedJob) -> Self {
        BlobJob {
            blob: job.blob.to_oid(),
            path: job.path.into_string(),
            secrets_found: None,
        }
    }
}

/// What a full audit on the packs starts from.
pub struct PackedRun<'a> {
    pub packs: &'a PackSet,
    pub tips: &'a Tips,
    pub grafts: &'a Grafts,
}

/// Pass 1 on the packs (see the module comment) for every commit reachable from `tips`;
/// returns the commits walked (parents first) and the blobs with findings.
pub fn scan_with_packs(
    PackedRun {
        packs,
        tips,
        grafts,
    }: PackedRun<'_>,
    graph: &mut TreeGraph<'_>,
    settings: &ScanSettings,
    scanner: &Scanner,
    stats: &ScanStats,
    progress: &ProgressBar,
) -> Result<(Vec<Oid>, Vec<BlobHit>)> {
    let threads = settings.threads.max(1);
    let admission = Admission::new(settings.max_file_size, stats);
    let scans = PackedScans {
        status: (0..packs.slot_count()).map(|_| AtomicU64::new(0)).collect(),
        results: Mutex::new(HashMap::new()),
    };
    let git_dir = graph.repo.path().to_path_buf();
    let mut commits = Vec::new();
    let mut hits = Vec::new();
    let mut loose_hits = scan_on_workers(&git_dir, settings, scanner, stats, |send| {
        let mut packed_jobs = Vec::new();
        progress.set_message("reading commits");
        // Commits first, on every core: the walk is ordered by them.
        let mut commit_headers = rebuild_commits(packs, threads);
        grafts.apply_all(&mut commit_headers);
        commits = std::thread::scope(|scope| {
            scope.spawn(|| {
                // The reader never inflates a blob its headers put over the limit.
                let limit = admission.max_file_size();
                packs.for_each_object(&[ObjectKind::Blob], threads, limit, |packed, content| {
                    scans.record(packed.slot, content, admission, scanner)
                });
            });
            let tip_commits: Vec<Oid> = tips.commits.iter().map(|tip| tip.commit).collect();
            // Loose commits (made since the last repack) are read through libgit2.
            let read_loose = &mut |id: ObjectId| graph.read_commit_header(id, grafts);
            let shallow = graph.repo.is_shallow();
            let commits = order_commits(
                &tip_commits,
                &mut commit_headers,
                read_loose,
                shallow,
                stats,
            );
            progress.set_length(commits.len() as u64);
            progress.set_message("walking history");
            walk_commits(
                &commits,
                &tips.objects,
                graph,
                &mut commit_headers,
                stats,
                progress,
                &mut |job| {
                    // What the packs do not hold (loose objects) goes to the libgit2 workers now,
                    // while the walk goes on.
                    if packs.slots_of(job.blob.into()).next().is_some() {
                        packed_jobs.push(PackedJob::from(job));
                        true
                    } else {
                        send(job)
                    }
                },
            );
            progress.set_message("scanning blobs");
            commits
        });
        // Packed blobs the reader could not deliver (damaged entries) are read by the workers
        // too, and reported as corrupt if libgit2 cannot read them either.
        let (found, unread) = take_results(packs, scans, packed_jobs, admission, stats);
        hits = found;
        for job in unread {
            if !send(job) {
                break;
            }
        }
    })?;
    hits.append(&mut loose_hits);
    Ok((commits, hits))
}

/// Gives each packed job its scan result (named by the job's path now), returns the blobs with
/// findings and the jobs the packs did not deliver.
fn take_results(
    packs: &PackSet,
    scans: PackedScans,
    jobs: Vec<PackedJob>,
    admission: Admission,
    stats: &ScanStats,
) -> (Vec<BlobHit>, Vec<BlobJob>) {
    let mut results = scans.results.into_inner().unwrap_or_default();
    let mut hits = Vec::new();
    let mut unread = Vec::new();
    for job in jobs {
        let job = BlobJob::from(job);
        let delivered = packs.slots_of(job.blob.into()).find_map(|slot| {
            let status = scans.status[slot].load(Ordering::Acquire);
            (status != 0).then_some((slot, status))
        });
        let Some((slot, status)) = delivered else {
            unread.push(job);
            continue;
        };
        let size = status & SIZE;
        match status & OUTCOME {
            TOO_LARGE => {
                let origin = BlobOrigin::History { path: &job.path };
                admission.skip_too_large(size, || origin.name(job.blob));
            }
            LFS_POINTER => admission.skip_lfs_pointer(),
            _ => {
                admission.scanned_blob(size);
                let mut scan = results.remove(&slot).unwrap_or_default();
                for occurrence in &mut scan.occurrences {
                    occurrence.location.path.clone_from(&job.path);
                }
                if status & NEEDS_PATH_LINTS != 0 {
                    // Read again and linted by the workers, in parallel.
                    unread.push(BlobJob {
                        secrets_found: Some(scan),
                        ..job
                    });
                } else if let Some(hit) = finish_scan(job.blob, scan, stats) {
                    hits.push(hit);
                }
            }
        }
    }
    (hits, unread)
}

/// Every packed commit header, rebuilt on all cores.
fn rebuild_commits(packs: &PackSet, threads: usize) -> CommitHeaders {
    let commits = Mutex::new(CommitHeaders::default());
    // The walk needs every commit, whatever its size.
    packs.for_each_object(
        &[ObjectKind::Commit],
        threads,
        u64::MAX,
        |packed, content| {
            if packed.kind == ObjectKind::Commit
                && let Content::Bytes(bytes) = content
                && let Some(header) = parse_commit_header(bytes)
                && let Ok(mut commits) = commits.lock()
            {
                commits.insert(packed.id, header);
            }
        },
    );
    commits.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use assert_fs::TempDir;
    use git2::Repository;

    use super::*;

    /// Every packed commit header is rebuilt (the walk is ordered by them), and no tree.
    #[test]
    fn every_packed_commit_header_is_rebuilt() {
        let dir = TempDir::new().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let mut parent = None;
        let mut trees = Vec::new();
        for version in 0..20 {
            let mut root = repo.treebuilder(None).unwrap();
            for file in 0..30 {
                let text = format!("file {file} version {}\n", version * usize::from(file == 0));
                let blob = repo.blob(text.as_bytes()).unwrap();
                root.insert(format!("file-{file:03}.txt"), blob, 0o100644)
                    .unwrap();
            }
            let tree = repo.find_tree(root.write().unwrap()).unwrap();
            trees.push(ObjectId::from(tree.id()));
            parent = Some(crate::sources::pack::tests::commit_on_main(
                &repo, &tree, parent,
            ));
        }
        let status = Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args(["repack", "-adq"])
            .status()
            .unwrap();
        assert!(status.success());
        let packs = PackSet::open(&dir.path().join("objects"));
        let commits = rebuild_commits(&packs, 2);
        assert_eq!(commits.len(), 20);
        let mut rebuilt_trees: Vec<ObjectId> = commits.values().map(|c| c.tree).collect();
        rebuilt_trees.sort();
        trees.sort();
        assert_eq!(rebuilt_trees, trees);
        assert!(!commits.contains_key(&trees[0]));
    }
}
