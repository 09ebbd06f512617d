//! The history source: lists every blob reachable from the chosen refs, each exactly once, for
//! the run's workers to read and scan (`AuditRun::jobs`); the source itself scans nothing.
//!
//! Pass 1 walks commits parents-first, visits each tree once (trees and blobs are deduplicated by
//! id) and lists each new blob. A full audit first rebuilds packed commits and trees, and then
//! every packed blob, with the pack reader (`sources::pack`: each object inflated once, on the
//! run's pool, in pack order), which hands each blob's bytes to the workers' job; whatever it
//! cannot deliver (loose objects, a range audit's blobs) is sent to the workers, which read it
//! through libgit2, one `Repository` per worker (git2 handles are not `Sync`). Only blobs with
//! findings (and watched paths) go on to pass 2, which maps them back to every commit and path
//! holding them; a history without findings never pays for attribution.

mod attribution;
mod edges;
mod grafts;
mod graph;
mod order;
mod packed;
pub mod push;
mod tips;

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use git2::{Odb, Oid, Repository, Sort};
use indicatif::ProgressBar;

use self::grafts::Grafts;
pub use self::graph::BlobJob;
use self::graph::{NONE, TreeGraph};
use self::order::order_commits;
pub use self::tips::{ObjectTip, Tip, Tips, collect_tips};
use super::ScanStats;
use super::budget::MemoryBudget;
use super::object_id::{ObjectId, OidMap};
use super::pack::PackSet;
use crate::config::ScanSettings;
use crate::findings::{CommitRef, HistoryInfo, Occurrence};
use crate::model::{HistoryCut, SHALLOW_CLONE};
use crate::scanner::{BlobScan, Scanner};
use crate::workers::Workers;

/// Which part of history to audit.
#[derive(Clone, Debug, Default)]
pub struct HistoryScope {
    /// `REV` (commits after REV) or a range `A..B` / `A...B`.
    pub since: Option<String>,
    /// Only history reachable from this branch (or any revision).
    pub branch: Option<String>,
    /// At most this many commits (the newest ones).
    pub max_count: Option<usize>,
    /// Only findings in files under these paths (relative to the repository root) are reported;
    /// every blob is still read, so attribution is the same as in a full report.
    pub include_paths: Vec<String>,
    /// Exactly these commits (the pre-push hook's): what `include` reaches and `exclude` does not.
    pub commits: Option<push::CommitSet>,
}

impl HistoryScope {
    /// Whether a repository-relative path lies under one of `include_paths` (or none is set).
    pub fn includes(&self, path: &str) -> bool {
        self.include_paths.is_empty()
            || self.include_paths.iter().any(|prefix| {
                let prefix = prefix.trim_start_matches("./").trim_end_matches('/');
                prefix.is_empty()
                    || prefix == "."
                    || path == prefix
                    || path
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
    }
}

impl HistoryScope {
    pub fn is_restricted(&self) -> bool {
        self.since.is_some()
            || self.branch.is_some()
            || self.max_count.is_some()
            || self.commits.is_some()
    }
}

/// Blob paths the layer above asks the audit to watch (the `env-file-committed` lint: env
/// files). The walk lists the blobs seen at such a path, attribution dates every watched path
/// like a finding, and `occurrence` says what it is: the audit knows no lint rule.
#[derive(Clone, Copy)]
pub struct PathWatch {
    /// A cheap test on a tree entry's name, asked before its path is built: false means no
    /// path ending in this name is watched.
    pub name_may_match: fn(&[u8]) -> bool,
    /// Whether a blob seen at this path (relative to the repository root) is watched.
    pub watched: fn(&str) -> bool,
    /// The finding for a watched path, first seen in `commit`; its history is filed under
    /// the finding's fingerprint.
    pub occurrence: fn(&str, Option<CommitRef>) -> Occurrence,
}

/// What the audit found: occurrences carry their commit; `history` is keyed by fingerprint.
#[derive(Default)]
pub struct HistoryScan {
    pub occurrences: Vec<Occurrence>,
    pub history: HashMap<String, HistoryInfo>,
    pub commits_scanned: u64,
    /// Set when the audit did not reach the start of history.
    pub cut: Option<HistoryCut>,
}

/// A scanned blob that had findings.
pub struct BlobHit {
    pub blob: Oid,
    pub occurrences: Vec<Occurrence>,
}

/// What the run's workers do with the blobs the audit lists (`workers::jobs`): the audit itself
/// only enumerates, and never scans a blob.
#[derive(Clone, Copy)]
pub struct HistoryJobs<'a> {
    /// A listed blob, read through the worker's own libgit2 handle: admit → read → scan; the
    /// blob with its findings, if any.
    pub read_and_scan: &'a (dyn Fn(&Odb<'_>, BlobJob) -> Option<BlobHit> + Sync),
    /// The bytes of a blob the pack reader rebuilt (admitted already; its path is not known
    /// yet): its secrets, and whether the lints that read a file the way its path says must
    /// read it again once the walk has named it.
    pub scan_packed: &'a (dyn Fn(&[u8]) -> (BlobScan, bool) + Sync),
}

/// What an audit runs with, besides the repository and the scope.
#[derive(Clone, Copy)]
pub struct AuditRun<'a> {
    pub settings: &'a ScanSettings,
    /// Its path allow-list prunes the walk; attribution checks the working tree with it.
    pub scanner: &'a Scanner,
    pub stats: &'a ScanStats,
    pub progress: &'a ProgressBar,
    /// The run's one pool: the pack reader rebuilds on it, the listed blobs are scanned on it.
    pub workers: &'a Workers,
    pub jobs: HistoryJobs<'a>,
}

/// Audits the history of `repo` and attributes each finding (and each path `watch` names) to
/// its commits.
pub fn scan_history(
    repo: &Repository,
    scope: &HistoryScope,
    watch: Option<PathWatch>,
    run: AuditRun<'_>,
) -> Result<HistoryScan> {
    let AuditRun {
        settings,
        scanner,
        stats,
        progress,
        ..
    } = run;
    let mut tips = collect_tips(repo, stats)?;
    if scope.is_restricted() {
        // A range or a branch is a line of commits: trees and blobs tagged directly are in none.
        tips.objects.clear();
    }
    if tips.commits.is_empty() && tips.objects.is_empty() {
        // With damage, the refs exist but could not be followed: that is not an empty history.
        if stats.damage_count() == 0 {
            stats
                .warn("the repository has no commits yet: there is no history to audit".to_owned());
        }
        return Ok(HistoryScan::default());
    }
    let odb = repo.odb().context("cannot open the object database")?;
    let budget = MemoryBudget::from_mib(settings.memory_budget_mib);
    let mut graph = TreeGraph::new(repo, &odb, scanner, stats);
    graph.watch = watch;
    graph.limit_memory(budget.edges_in_memory(), budget.reference_trees());
    let grafts = Grafts::load(repo.commondir(), stats);
    if is_partial_clone(repo) {
        stats.warn(
            "this is a partial clone (a promisor pack): objects its filter left on the remote \
             are not here, cannot be audited and are counted as unread (fetch them all, for \
             example with `git fetch --refetch` without a filter, for a full audit)"
                .to_owned(),
        );
    }
    // A range audit reads few objects: rebuilding whole packs for it would cost more.
    let packs = (!scope.is_restricted())
        .then(|| {
            PackSet::open_with_page_budget(&repo.commondir().join("objects"), budget.pack_pages())
        })
        .filter(|packs| packs.slot_count() > 0);
    let (commits, hits, cut) = match &packs {
        // A full audit has no range, so no boundary commits.
        Some(packs) => {
            let packed = packed::PackedRun {
                packs,
                tips: &tips,
                grafts: &grafts,
            };
            let (commits, hits) = packed::scan_with_packs(packed, &mut graph, run)?;
            let cut = describe_cut(repo, scope, &graph, &commits, &[], false);
            (commits, hits, cut)
        }
        None => {
            let (commits, mut headers, base, stopped_by_max_count) = if scope.is_restricted() {
                let RangeWalk {
                    commits,
                    base,
                    stopped_by_max_count,
                } = list_commits(repo, scope, &tips.commits, stats)?;
                graph.range_base = base.iter().map(|oid| (ObjectId::from(*oid), ())).collect();
                for oid in &base {
                    // Blobs already present before the range are not new in it: seen, unscanned.
                    if let Ok(commit) = repo.find_commit(*oid) {
                        graph.visit_tree(
                            commit.tree_id().into(),
                            &mut String::new(),
                            0,
                            false,
                            &mut |_| {},
                        );
                    }
                }
                (
                    commits,
                    CommitHeaders::default(),
                    base,
                    stopped_by_max_count,
                )
            } else {
                // Every commit reachable from the tips, each read once through libgit2 and
                // ordered here, so that an unreadable commit is named and the rest of history
                // still walked.
                let mut headers = CommitHeaders::default();
                let tip_commits: Vec<Oid> = tips.commits.iter().map(|tip| tip.commit).collect();
                let commits = order_commits(
                    &tip_commits,
                    &mut headers,
                    &mut |id| graph.read_commit_header(id, &grafts),
                    repo.is_shallow(),
                    stats,
                );
                (commits, headers, Vec::new(), false)
            };
            progress.set_length(commits.len() as u64);
            let hits = scan_streaming((&commits, &mut headers), &tips.objects, &mut graph, run)?;
            let cut = describe_cut(repo, scope, &graph, &commits, &base, stopped_by_max_count);
            (commits, hits, cut)
        }
    };
    let mut result = HistoryScan {
        commits_scanned: commits.len() as u64,
        cut,
        ..HistoryScan::default()
    };
    if hits.is_empty() && graph.watched_blobs.is_empty() {
        return Ok(result);
    }
    progress.set_message("attributing findings to commits");
    let (collected, mut facts) =
        attribution::facts::collect(graph, hits, (&commits, &tips), scope, scanner, settings);
    let attributed = attribution::attribute(collected, &mut facts);
    result.occurrences = attributed.occurrences;
    result.history = attributed.history;
    Ok(result)
}

/// A clone made with `--filter`: git marks its packs with a `.promisor` file.
fn is_partial_clone(repo: &Repository) -> bool {
    std::fs::read_dir(repo.commondir().join("objects/pack")).is_ok_and(|listing| {
        listing.filter_map(Result::ok).any(|entry| {
            entry
                .path()
                .extension()
                .is_some_and(|ext| ext == "promisor")
        })
    })
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

/// The commits a restricted audit walks, and what bounds them.
struct RangeWalk {
    /// Parents before children.
    commits: Vec<Oid>,
    /// Commits just before the range: their trees count as already seen.
    base: Vec<Oid>,
    /// `--max-count` stopped the walk before it ran out of commits.
    stopped_by_max_count: bool,
}

/// The commits to audit, parents before children, and the commits whose trees bound the range.
fn list_commits(
    repo: &Repository,
    scope: &HistoryScope,
    tips: &[Tip],
    stats: &ScanStats,
) -> Result<RangeWalk> {
    let mut walk = repo.revwalk().context("cannot walk history")?;
    // Newest first; reversed below so that the first commit to hold a blob introduced it.
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME)?;
    let mut boundary = Vec::new();
    let starts: Vec<Oid> = match &scope.branch {
        Some(branch) => vec![resolve_commit(repo, branch)?],
        None => tips.iter().map(|tip| tip.commit).collect(),
    };
    match (scope.commits.as_ref(), scope.since.as_deref()) {
        (Some(set), _) => {
            for oid in &set.include {
                walk.push(*oid)
                    .with_context(|| format!("commit {oid} (being pushed) cannot be walked"))?;
            }
            for oid in &set.exclude {
                // A tip that cannot be hidden only makes the walk longer, never shorter.
                if walk.hide(*oid).is_ok() {
                    boundary.push(*oid);
                }
            }
        }
        (None, Some(range)) if range.contains("..") => {
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
        (None, since) => {
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
    let mut stopped_by_max_count = false;
    for oid in walk {
        if commits.len() >= limit {
            stopped_by_max_count = true;
            break;
        }
        match oid {
            Ok(oid) => commits.push(oid),
            Err(err) => {
                stats.damaged(format!(
                    "the history walk stopped early ({}); older commits were not audited",
                    err.message()
                ));
                break;
            }
        }
    }
    commits.reverse();
    if (scope.since.is_some() || scope.commits.is_some()) && !stopped_by_max_count {
        // Every parent outside a complete range walk lies before the range (a branch merged in
        // may fork from any older commit): what it holds is not new in the range. Parents that
        // cannot be read (shallow clone) stay out: the audit is cut there, and says so.
        let walked: std::collections::HashSet<Oid> = commits.iter().copied().collect();
        for oid in &commits {
            let Ok(commit) = repo.find_commit(*oid) else {
                continue;
            };
            for parent in commit.parent_ids() {
                if !walked.contains(&parent)
                    && !boundary.contains(&parent)
                    && repo.find_commit(parent).is_ok()
                {
                    boundary.push(parent);
                }
            }
        }
    }
    Ok(RangeWalk {
        commits,
        base: boundary,
        stopped_by_max_count,
    })
}

/// Where and why the audit stopped short of the first commit, if it did.
fn describe_cut(
    repo: &Repository,
    scope: &HistoryScope,
    graph: &TreeGraph<'_>,
    commits: &[Oid],
    base: &[Oid],
    stopped_by_max_count: bool,
) -> Option<HistoryCut> {
    let boundary: Vec<Oid> = graph
        .cut_commits
        .iter()
        .filter_map(|index| commits.get(*index as usize).copied())
        .collect();
    let shallow_list: std::collections::HashSet<Oid> = if repo.is_shallow() {
        std::fs::read_to_string(repo.commondir().join("shallow"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| Oid::from_str(line.trim()).ok())
            .collect()
    } else {
        Default::default()
    };
    let mut reasons = Vec::new();
    let mut explained = |oid: &Oid| shallow_list.contains(oid) || stopped_by_max_count;
    if boundary.iter().any(|oid| shallow_list.contains(oid)) {
        reasons.push(SHALLOW_CLONE.to_owned());
    }
    if stopped_by_max_count && let Some(max) = scope.max_count {
        reasons.push(format!("--max-count {max}"));
    }
    if let Some(since) = &scope.since {
        reasons.push(format!("--since {since}"));
    }
    if let Some(set) = &scope.commits {
        reasons.push(format!("{}: only the commits the push sends", set.label));
    }
    if !boundary.iter().all(&mut explained) {
        reasons.push("a parent commit could not be read".to_owned());
    }
    if reasons.is_empty() {
        return None;
    }
    Some(HistoryCut {
        reasons,
        boundary: boundary.iter().map(Oid::to_string).collect(),
        base: base.iter().map(Oid::to_string).collect(),
    })
}

/// Pass 1 without packs (or for a range): the walk sends each new blob to the run's workers.
fn scan_streaming(
    (commits, headers): (&[Oid], &mut CommitHeaders),
    object_tips: &[ObjectTip],
    graph: &mut TreeGraph<'_>,
    run: AuditRun<'_>,
) -> Result<Vec<BlobHit>> {
    let git_dir = graph.repo.path().to_path_buf();
    let (hits, ()) = scan_on_workers(run, &git_dir, |send| {
        walk_commits(
            commits,
            object_tips,
            graph,
            headers,
            run.stats,
            run.progress,
            send,
        );
    })?;
    Ok(hits)
}

/// What the walk needs of a commit.
pub struct CommitHeader {
    pub tree: ObjectId,
    pub parents: Vec<ObjectId>,
    /// Committer time (seconds since the epoch), for ordering.
    pub time: i64,
}

/// The commit headers rebuilt ahead of the walk, by commit id.
pub type CommitHeaders = OidMap<CommitHeader>;

/// Walks each commit's tree (each tree once, parents before children), then the trees and
/// blobs refs point at directly, hands each new blob to `send` and stops early when `send` says
/// the consumers are gone.
fn walk_commits(
    commits: &[Oid],
    object_tips: &[ObjectTip],
    graph: &mut TreeGraph<'_>,
    prefetched: &mut CommitHeaders,
    stats: &ScanStats,
    progress: &ProgressBar,
    send: &mut dyn FnMut(BlobJob) -> bool,
) {
    let commit_index: OidMap<u32> = commits
        .iter()
        .enumerate()
        .map(|(i, oid)| (ObjectId::from(*oid), i as u32))
        .collect();
    let mut stopped = false;
    for (index, oid) in commits.iter().enumerate() {
        if index % 64 == 0 {
            progress.set_position(index as u64);
        }
        let header = prefetched.remove(&ObjectId::from(*oid)).or_else(|| {
            graph
                .read_commit(*oid)
                .and_then(|data| parse_commit_header(&data))
        });
        let Some(CommitHeader {
            tree: tree_id,
            parents: parent_ids,
            ..
        }) = header
        else {
            stats.damaged(format!(
                "commit {oid} cannot be read; its tree was not audited"
            ));
            graph.add_commit(NONE, std::iter::empty());
            continue;
        };
        let mut forward = |job: BlobJob| {
            if !stopped && !send(job) {
                stopped = true;
            }
        };
        let tree = graph.visit_tree(tree_id, &mut String::new(), 0, true, &mut forward);
        // Parents outside the walk (shallow boundary, --since, --max-count) are left out; unless
        // they bound a range, the audit is cut here.
        if parent_ids
            .iter()
            .any(|p| !commit_index.contains_key(p) && !graph.range_base.contains_key(p))
        {
            graph.cut_commits.push(index as u32);
        }
        let parents = parent_ids
            .iter()
            .filter_map(|p| commit_index.get(p).copied());
        graph.add_commit(tree, parents);
        if stopped {
            return;
        }
    }
    progress.set_position(commits.len() as u64);
    for tip in object_tips {
        let mut forward = |job: BlobJob| {
            if !stopped && !send(job) {
                stopped = true;
            }
        };
        let index = if tip.is_tree {
            graph.visit_tree(tip.object.into(), &mut String::new(), 0, true, &mut forward)
        } else {
            graph.visit_tagged_blob(tip.object.into(), &tip.name, &mut forward)
        };
        graph.tip_objects.push(index);
    }
}

/// Runs `produce` with a sender whose blobs the run's workers read through libgit2 (each
/// worker with its own repository handle) and scan; returns the blobs with findings and what
/// `produce` returned.
fn scan_on_workers<P>(
    run: AuditRun<'_>,
    git_dir: &Path,
    produce: impl FnOnce(&mut dyn FnMut(BlobJob) -> bool) -> P,
) -> Result<(Vec<BlobHit>, P)> {
    let mut hits = Vec::new();
    let produced = run.workers.run(
        GIT_JOB_BATCH,
        |feed| {
            let mut sender = feed.sender();
            produce(&mut |job| sender.send(job))
        },
        |worker, job| {
            let odb = worker.repository(git_dir)?.odb()?;
            Ok((run.jobs.read_and_scan)(&odb, job))
        },
        |hit| hits.push(hit),
        &|| {},
    )?;
    Ok((hits, produced))
}

/// Blobs per hand-off to a worker: one hand-off per blob costs more than reading a small blob.
pub const GIT_JOB_BATCH: usize = 64;

/// Counts what a scan suppressed; the blob with its findings, if any.
pub fn finish_scan(blob: Oid, scan: BlobScan, stats: &ScanStats) -> Option<BlobHit> {
    stats.suppressed(scan.inline_suppressed, scan.config_suppressed);
    (!scan.occurrences.is_empty()).then_some(BlobHit {
        blob,
        occurrences: scan.occurrences,
    })
}

/// The tree, parents and committer time of a raw commit object (`tree <hex>`, `parent <hex>`
/// lines, then `author` and `committer <name> <email> <seconds> <zone>`).
fn parse_commit_header(data: &[u8]) -> Option<CommitHeader> {
    let mut lines = data.split(|b| *b == b'\n');
    let tree = parse_hex_id(lines.next()?.strip_prefix(b"tree ")?)?;
    let mut parents = Vec::new();
    let mut time = 0;
    for line in lines {
        if let Some(hex) = line.strip_prefix(b"parent ") {
            parents.push(parse_hex_id(hex)?);
        } else if let Some(committer) = line.strip_prefix(b"committer ") {
            // A missing or garbled time only changes the order of unrelated commits.
            time = committer
                .rsplit(|b| *b == b' ')
                .nth(1)
                .and_then(|seconds| std::str::from_utf8(seconds).ok()?.parse().ok())
                .unwrap_or(0);
            break;
        } else if line.is_empty() {
            break;
        }
    }
    Some(CommitHeader {
        tree,
        parents,
        time,
    })
}

fn parse_hex_id(hex: &[u8]) -> Option<ObjectId> {
    if hex.len() != 40 {
        return None;
    }
    let mut id = [0u8; 20];
    for (byte, pair) in id.iter_mut().zip(hex.chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        *byte = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(ObjectId(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_headers_parse() {
        let tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
        let parent = "0123456789abcdef0123456789abcdef01234567";
        let raw = format!(
            "tree {tree}\nparent {parent}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 1600000000 +0200\n\nmsg\n"
        );
        let header = parse_commit_header(raw.as_bytes()).unwrap();
        assert_eq!(header.tree.to_string(), tree);
        assert_eq!(header.parents[0].to_string(), parent);
        assert_eq!(header.time, 1_600_000_000);
        let no_committer = format!("tree {tree}\n\nmsg\n");
        assert_eq!(
            parse_commit_header(no_committer.as_bytes()).unwrap().time,
            0
        );
        assert_eq!(header.parents.len(), 1);
        assert!(parse_commit_header(b"garbage").is_none());
        assert!(parse_commit_header(b"tree nothex\n").is_none());
    }
}
