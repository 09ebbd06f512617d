//! Pass 1 of a full audit, on the packs.
//!
//! - every packed commit is rebuilt first, on the run's workers, and packed trees until their
//!   share of the memory budget is full (the walk reads the others through libgit2);
//! - then two things run at once: every packed blob is rebuilt on the workers and scanned for
//!   secrets by the job the pipeline gave (`HistoryJobs::scan_packed`: the bytes alone decide
//!   them), while the walk decides which blobs are reachable and at which path each was first
//!   seen; blobs the packs do not hold are sent to the workers, which read them through libgit2;
//! - afterwards, each reachable packed blob takes its scan result from a per-slot table, and the
//!   few that need path-dependent lints, or that the packs could not deliver (damaged entries),
//!   are sent to the workers too.
//!
//! Unreachable packed blobs are scanned for nothing, and counted nowhere: they are rare, and
//! waiting for the walk before scanning would leave a core idle for its whole length.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use anyhow::Result;
use git2::Oid;

use super::grafts::Grafts;
use super::graph::{BlobJob, TreeGraph};
use super::order::order_commits;
use super::{
    AuditRun, BlobHit, CommitHeaders, HistoryJobs, Tips, finish_scan, parse_commit_header,
    scan_on_workers, walk_commits,
};
use crate::scanner::BlobScan;
use crate::sources::ScanStats;
use crate::sources::admit::{Admission, is_lfs_pointer};
use crate::sources::budget::MemoryBudget;
use crate::sources::git::BlobOrigin;
use crate::sources::object_id::{ObjectId, OidMap};
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
    fn record(&self, slot: usize, content: Content<'_>, admission: Admission, jobs: HistoryJobs) {
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
            let (scan, needs_path_lints) = (jobs.scan_packed)(bytes);
            let worth_keeping =
                !scan.occurrences.is_empty() || scan.inline_suppressed + scan.config_suppressed > 0;
            if worth_keeping && let Ok(mut results) = self.results.lock() {
                results.insert(slot, scan);
            }
            let lints = if needs_path_lints {
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
    run: AuditRun<'_>,
) -> Result<(Vec<Oid>, Vec<BlobHit>)> {
    let AuditRun {
        settings,
        stats,
        progress,
        workers,
        jobs,
        ..
    } = run;
    let pool = workers.pool()?;
    let admission = Admission::new(settings.max_file_size, stats);
    let scans = PackedScans {
        status: (0..packs.slot_count()).map(|_| AtomicU64::new(0)).collect(),
        results: Mutex::new(HashMap::new()),
    };
    let git_dir = graph.repo.path().to_path_buf();
    let (mut loose_hits, (commits, mut hits)) = scan_on_workers(run, &git_dir, |send| {
        let mut packed_jobs = Vec::new();
        progress.set_message("reading trees");
        // Commits and trees first, on all the workers: the walk is ordered by the commits, and it
        // is the one part that cannot be split, so what it reads should be ready for it.
        let tree_budget = MemoryBudget::from_mib(settings.memory_budget_mib).tree_cache();
        let (trees, mut commit_headers) = rebuild_trees_and_commits(packs, pool, tree_budget);
        grafts.apply_all(&mut commit_headers);
        let commits = std::thread::scope(|scope| {
            scope.spawn(|| {
                // The reader never inflates a blob its headers put over the limit.
                let limit = admission.max_file_size();
                packs.for_each_object(&[ObjectKind::Blob], pool, limit, |packed, content| {
                    scans.record(packed.slot, content, admission, jobs)
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
            graph.use_tree_cache(trees);
            progress.set_message("walking history");
            walk_commits(
                &commits,
                &tips.objects,
                graph,
                &mut commit_headers,
                stats,
                progress,
                &mut |job| {
                    // What the packs do not hold (loose objects) goes to the workers now,
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
        for job in unread {
            if !send(job) {
                break;
            }
        }
        (commits, found)
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

/// Every packed commit header, and packed trees until they fill `tree_budget` bytes, rebuilt on
/// all cores. Past the budget no tree is inflated any more (on git/git the trees are 5.4 GiB, and
/// all but the first few percent would be inflated for nothing); the walk reads those through
/// libgit2 when it gets to them.
fn rebuild_trees_and_commits(
    packs: &PackSet,
    pool: &rayon::ThreadPool,
    tree_budget: usize,
) -> (OidMap<Box<[u8]>>, CommitHeaders) {
    let trees = Mutex::new(OidMap::default());
    let commits = Mutex::new(CommitHeaders::default());
    let cached_bytes = AtomicUsize::new(0);
    let cache_full = AtomicBool::new(false);
    let wanted = |kind: ObjectKind| kind != ObjectKind::Tree || !cache_full.load(Ordering::Relaxed);
    // The walk needs every commit, whatever its size.
    packs.for_each_object_while(
        &[ObjectKind::Tree, ObjectKind::Commit],
        pool,
        u64::MAX,
        &wanted,
        |packed, content| {
            let Content::Bytes(bytes) = content else {
                return;
            };
            match packed.kind {
                ObjectKind::Commit => {
                    if let Some(header) = parse_commit_header(bytes)
                        && let Ok(mut commits) = commits.lock()
                    {
                        commits.insert(packed.id, header);
                    }
                }
                _ => {
                    let total =
                        cached_bytes.fetch_add(bytes.len(), Ordering::Relaxed) + bytes.len();
                    if total > tree_budget {
                        cache_full.store(true, Ordering::Relaxed);
                    } else if let Ok(mut trees) = trees.lock() {
                        trees.insert(packed.id, bytes.into());
                    }
                }
            }
        },
    );
    (
        trees.into_inner().unwrap_or_default(),
        commits.into_inner().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trees kept ahead of the walk never exceed their share of the budget, and past it no
    /// more are rebuilt (the walk reads them through libgit2); every commit header is there.
    #[test]
    fn the_tree_cache_stays_within_its_budget() {
        let (dir, _repo) = crate::sources::pack::tests::one_directory_in_twenty_versions();
        let packs = PackSet::open(&dir.path().join("objects"));
        let cached_bytes =
            |trees: &OidMap<Box<[u8]>>| trees.values().map(|t| t.len()).sum::<usize>();

        let workers = crate::workers::Workers::new(2);
        let pool = workers.pool().unwrap();
        let (all, commits) = rebuild_trees_and_commits(&packs, pool, usize::MAX);
        assert_eq!((all.len(), commits.len()), (20, 20));
        for header in commits.values() {
            assert!(all.contains_key(&header.tree));
        }
        let one_tree = cached_bytes(&all) / 20;
        let budget = one_tree * 5 + one_tree / 2;
        let (some, commits) = rebuild_trees_and_commits(&packs, pool, budget);
        assert_eq!(commits.len(), 20);
        assert!(
            cached_bytes(&some) <= budget,
            "{} > {budget}",
            cached_bytes(&some)
        );
        assert!(!some.is_empty() && some.len() < 20, "{}", some.len());
        let (none, commits) = rebuild_trees_and_commits(&packs, pool, 0);
        assert!(none.is_empty());
        assert_eq!(commits.len(), 20);
    }
}
