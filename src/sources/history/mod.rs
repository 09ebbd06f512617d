//! The history source: every blob reachable from the chosen refs, read and scanned exactly once.
//!
//! Pass 1 walks commits parents-first, visits each tree once (trees and blobs are deduplicated by
//! id) and streams each new blob to worker threads that each own a `Repository` (git2 handles are
//! not `Sync`). Only blobs with findings (and env files) go on to pass 2, which maps them back to
//! every commit and path holding them; a history without findings never pays for attribution.

mod attribution;
mod graph;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use crossbeam_channel::bounded;
use git2::{Oid, Repository, Sort};
use indicatif::ProgressBar;

use self::attribution::Attribution;
use self::graph::{BlobJob, NONE, OidMap, TreeGraph};
use super::ScanStats;
use super::git::is_lfs_pointer;
use crate::config::ScanSettings;
use crate::findings::{HistoryInfo, Occurrence, SkipReason};
use crate::scanner::Scanner;

/// Which part of history to audit.
#[derive(Clone, Debug, Default)]
pub struct HistoryScope {
    /// `REV` (commits after REV) or a range `A..B` / `A...B`.
    pub since: Option<String>,
    /// Only history reachable from this branch (or any revision).
    pub branch: Option<String>,
    /// At most this many commits (the newest ones).
    pub max_count: Option<usize>,
}

impl HistoryScope {
    pub fn is_restricted(&self) -> bool {
        self.since.is_some() || self.branch.is_some() || self.max_count.is_some()
    }
}

/// Blobs per channel message.
const JOB_BATCH: usize = 64;

/// What the audit found: occurrences carry their commit; `history` is keyed by fingerprint.
#[derive(Default)]
pub struct HistoryScan {
    pub occurrences: Vec<Occurrence>,
    pub history: HashMap<String, HistoryInfo>,
    pub commits_scanned: u64,
}

/// A ref tip the audit starts from (branch, tag, remote-tracking ref, stash, detached HEAD).
pub struct Tip {
    pub name: String,
    pub commit: Oid,
}

/// A scanned blob that had findings.
pub struct BlobHit {
    pub blob: Oid,
    pub occurrences: Vec<Occurrence>,
}

/// Audits the history of `repo` and attributes each finding to its commits.
pub fn scan_history(
    repo: &Repository,
    scope: &HistoryScope,
    settings: &ScanSettings,
    scanner: &Scanner,
    stats: &ScanStats,
    progress: &ProgressBar,
) -> Result<HistoryScan> {
    // Reading is the audit's whole cost; re-hashing every object we inflate (libgit2's default)
    // would add a fifth. A corrupt object still fails to inflate and is counted.
    git2::opts::strict_hash_verification(false);
    // Each tree and blob is read once, so libgit2's object cache only costs lookups and memory.
    git2::opts::enable_caching(false);
    if repo.is_shallow() {
        stats.warn(
            "this is a shallow clone: history is truncated, commits before the shallow boundary \
             were not audited (run `git fetch --unshallow` for a full audit)"
                .to_owned(),
        );
    }
    let tips = collect_tips(repo, stats)?;
    if tips.is_empty() {
        stats.warn("the repository has no commits yet: there is no history to audit".to_owned());
        return Ok(HistoryScan::default());
    }
    let (commits, boundary) = list_commits(repo, scope, &tips, stats)?;
    progress.set_length(commits.len() as u64);

    let odb = repo.odb().context("cannot open the object database")?;
    let mut graph = TreeGraph::new(repo, &odb, scanner, stats);
    for oid in &boundary {
        // Blobs already present before the range are not new in it: mark them seen unscanned.
        if let Ok(commit) = repo.find_commit(*oid) {
            graph.visit_tree(commit.tree_id(), &mut String::new(), 0, false, &mut |_| {});
        }
    }

    let hits = scan_blobs(
        repo.path(),
        &commits,
        &mut graph,
        settings,
        scanner,
        stats,
        progress,
    )?;
    let mut result = HistoryScan {
        commits_scanned: commits.len() as u64,
        ..HistoryScan::default()
    };
    if hits.is_empty() && graph.env_blobs.is_empty() {
        return Ok(result);
    }
    progress.set_message("attributing findings to commits");
    let attribution = Attribution::new(graph, hits);
    attribution.finish(scope, &commits, &tips, scanner, settings, &mut result);
    Ok(result)
}

/// Every ref that names a commit; symbolic refs are skipped (their targets are listed).
fn collect_tips(repo: &Repository, stats: &ScanStats) -> Result<Vec<Tip>> {
    let mut tips = Vec::new();
    let references = repo
        .references()
        .context("cannot list the repository's refs")?;
    for reference in references {
        let reference = match reference {
            Ok(reference) => reference,
            Err(err) => {
                stats.warn(format!("a ref could not be read ({err}); skipped"));
                continue;
            }
        };
        if reference.kind() == Some(git2::ReferenceType::Symbolic) {
            continue;
        }
        let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
        match reference.peel_to_commit() {
            Ok(commit) => tips.push(Tip {
                name,
                commit: commit.id(),
            }),
            // Tags of trees or blobs are rare; say so rather than drop them quietly.
            Err(err) => stats.warn(format!(
                "{name}: does not point to a commit ({}); not audited",
                err.message()
            )),
        }
    }
    if repo.head_detached().unwrap_or(false)
        && let Ok(head) = repo.head()
        && let Ok(commit) = head.peel_to_commit()
    {
        tips.push(Tip {
            name: "HEAD".to_owned(),
            commit: commit.id(),
        });
    }
    tips.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tips)
}

fn resolve_commit(repo: &Repository, spec: &str) -> Result<Oid> {
    let object = repo.revparse_single(spec).with_context(|| {
        format!("'{spec}' is not a revision in this repository (try a branch, tag or commit id)")
    })?;
    let commit = object
        .peel_to_commit()
        .with_context(|| format!("'{spec}' does not name a commit"))?;
    Ok(commit.id())
}

/// The commits to audit, parents before children, and the commits whose trees bound the range.
fn list_commits(
    repo: &Repository,
    scope: &HistoryScope,
    tips: &[Tip],
    stats: &ScanStats,
) -> Result<(Vec<Oid>, Vec<Oid>)> {
    let mut walk = repo.revwalk().context("cannot walk history")?;
    // Newest first; reversed below so that the first commit to hold a blob introduced it.
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)?;
    let mut boundary = Vec::new();
    let starts: Vec<Oid> = match &scope.branch {
        Some(branch) => vec![resolve_commit(repo, branch)?],
        None => tips.iter().map(|tip| tip.commit).collect(),
    };
    match scope.since.as_deref() {
        Some(range) if range.contains("..") => {
            let spec = repo.revparse(range).with_context(|| {
                format!("'{range}' is not a range in this repository (expected A..B)")
            })?;
            let from = match spec.from() {
                Some(from) => from.peel_to_commit()?.id(),
                None => bail!("'{range}': the start of the range is missing"),
            };
            let to = match spec.to() {
                Some(to) => to.peel_to_commit()?.id(),
                None => resolve_commit(repo, "HEAD")?,
            };
            walk.push(to)?;
            if spec.mode().contains(git2::RevparseMode::MERGE_BASE) {
                walk.push(from)?;
                let base = repo
                    .merge_base(from, to)
                    .with_context(|| format!("'{range}': the two sides have no common ancestor"))?;
                walk.hide(base)?;
                boundary.push(base);
            } else {
                walk.hide(from)?;
                boundary.push(from);
            }
        }
        since => {
            for start in &starts {
                if let Err(err) = walk.push(*start) {
                    stats.warn(format!(
                        "commit {start} could not be walked ({}); skipped",
                        err.message()
                    ));
                }
            }
            if let Some(rev) = since {
                let hidden = resolve_commit(repo, rev)?;
                walk.hide(hidden)?;
                boundary.push(hidden);
            }
        }
    }
    let limit = scope.max_count.unwrap_or(usize::MAX);
    let mut commits = Vec::new();
    for oid in walk {
        if commits.len() >= limit {
            break;
        }
        match oid {
            Ok(oid) => commits.push(oid),
            Err(err) => {
                stats.warn(format!(
                    "the history walk stopped early ({}); older commits were not audited",
                    err.message()
                ));
                break;
            }
        }
    }
    commits.reverse();
    Ok((commits, boundary))
}

/// Pass 1: walks each commit's tree (each tree once) and streams new blobs to the workers.
fn scan_blobs(
    git_dir: &Path,
    commits: &[Oid],
    graph: &mut TreeGraph<'_>,
    settings: &ScanSettings,
    scanner: &Scanner,
    stats: &ScanStats,
    progress: &ProgressBar,
) -> Result<Vec<BlobHit>> {
    // Jobs travel in batches: one channel hand-off per blob costs more than reading a small blob.
    let (sender, receiver) = bounded::<Vec<BlobJob>>(64);
    let git_dir: PathBuf = git_dir.to_path_buf();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..settings.threads.max(1))
            .map(|_| {
                let receiver = receiver.clone();
                let git_dir = git_dir.clone();
                scope.spawn(move || -> Result<Vec<BlobHit>> {
                    let repo = Repository::open(&git_dir)
                        .with_context(|| format!("cannot open repository {}", git_dir.display()))?;
                    let odb = repo.odb()?;
                    let mut hits = Vec::new();
                    for job in receiver.iter().flatten() {
                        if let Some(hit) =
                            scan_one_blob(&odb, job, settings.max_file_size, scanner, stats)
                        {
                            hits.push(hit);
                        }
                    }
                    Ok(hits)
                })
            })
            .collect();
        drop(receiver);
        let mut walk_error = None;
        let mut batch: Vec<BlobJob> = Vec::with_capacity(JOB_BATCH);
        let commit_index: OidMap<u32> = commits
            .iter()
            .enumerate()
            .map(|(i, oid)| (*oid, i as u32))
            .collect();
        for (index, oid) in commits.iter().enumerate() {
            if index % 64 == 0 {
                progress.set_position(index as u64);
            }
            let header = graph
                .read_commit(*oid)
                .and_then(|data| parse_commit_header(&data));
            let Some((tree_id, parent_ids)) = header else {
                stats.skip(
                    SkipReason::CorruptObject,
                    Some(format!(
                        "commit {oid} cannot be read; its tree was not audited"
                    )),
                );
                graph.add_commit(NONE, std::iter::empty());
                continue;
            };
            let mut send = |job: BlobJob| {
                batch.push(job);
                if batch.len() >= JOB_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(JOB_BATCH));
                    if walk_error.is_none() && sender.send(full).is_err() {
                        walk_error = Some(anyhow::anyhow!("every history worker stopped"));
                    }
                }
            };
            let tree = graph.visit_tree(tree_id, &mut String::new(), 0, true, &mut send);
            // Parents outside the walk (shallow boundary, --since, --max-count) are left out.
            let parents = parent_ids
                .iter()
                .filter_map(|p| commit_index.get(p).copied());
            graph.add_commit(tree, parents);
            if walk_error.is_some() {
                break;
            }
        }
        progress.set_position(commits.len() as u64);
        if !batch.is_empty() && walk_error.is_none() && sender.send(batch).is_err() {
            walk_error = Some(anyhow::anyhow!("every history worker stopped"));
        }
        drop(sender);
        let mut hits = Vec::new();
        let mut worker_error = None;
        for worker in workers {
            match worker.join() {
                Ok(Ok(mut found)) => hits.append(&mut found),
                Ok(Err(err)) => worker_error = Some(err),
                Err(_) => worker_error = Some(anyhow::anyhow!("a history worker panicked")),
            }
        }
        match worker_error.or(walk_error) {
            Some(err) => Err(err),
            None => Ok(hits),
        }
    })
}

fn scan_one_blob(
    odb: &git2::Odb<'_>,
    job: BlobJob,
    max_file_size: u64,
    scanner: &Scanner,
    stats: &ScanStats,
) -> Option<BlobHit> {
    let corrupt = |err: git2::Error| {
        stats.skip(
            SkipReason::CorruptObject,
            Some(format!(
                "{} (blob {}): cannot be read ({}); skipped, the audit went on",
                job.path,
                job.blob,
                err.message()
            )),
        );
    };
    // The header gives the size without inflating the object.
    let size = match odb.read_header(job.blob) {
        Ok((size, _)) => size as u64,
        Err(err) => {
            corrupt(err);
            return None;
        }
    };
    if size > max_file_size {
        stats.skip(
            SkipReason::TooLarge,
            Some(format!(
                "{} (blob {}): skipped, {size} bytes is over --max-file-size ({max_file_size})",
                job.path, job.blob
            )),
        );
        return None;
    }
    let object = match odb.read(job.blob) {
        Ok(object) => object,
        Err(err) => {
            corrupt(err);
            return None;
        }
    };
    let bytes = object.data();
    if is_lfs_pointer(bytes) {
        stats.skip(SkipReason::LfsPointer, None);
        return None;
    }
    stats.scanned(bytes.len() as u64);
    let result = scanner.scan_blob(&job.path, bytes);
    stats.suppressed(result.inline_suppressed, result.config_suppressed);
    (!result.occurrences.is_empty()).then_some(BlobHit {
        blob: job.blob,
        occurrences: result.occurrences,
    })
}

/// The tree and parents of a raw commit object (`tree <hex>` then `parent <hex>` lines).
fn parse_commit_header(data: &[u8]) -> Option<(Oid, Vec<Oid>)> {
    let mut lines = data.split(|b| *b == b'\n');
    let tree = lines.next()?.strip_prefix(b"tree ")?;
    let tree = Oid::from_str(std::str::from_utf8(tree).ok()?).ok()?;
    let mut parents = Vec::new();
    for line in lines {
        match line.strip_prefix(b"parent ") {
            Some(hex) => parents.push(Oid::from_str(std::str::from_utf8(hex).ok()?).ok()?),
            None => break,
        }
    }
    Some((tree, parents))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_headers_parse() {
        let tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
        let parent = "0123456789abcdef0123456789abcdef01234567";
        let raw = format!("tree {tree}\nparent {parent}\nauthor A <a@x> 1 +0000\n\nmsg\n");
        let (t, p) = parse_commit_header(raw.as_bytes()).unwrap();
        assert_eq!(t.to_string(), tree);
        assert_eq!(p.len(), 1);
        assert!(parse_commit_header(b"garbage").is_none());
        assert!(parse_commit_header(b"tree nothex\n").is_none());
    }
}
