//! The history source: every blob reachable from the chosen refs, read and scanned exactly once.
//!
//! Pass 1 walks commits parents-first, visits each tree once (trees and blobs are deduplicated by
//! id) and streams each new blob to worker threads that each own a `Repository` (git2 handles are
//! not `Sync`). Only blobs with findings (and env files) go on to pass 2, which maps them back to
//! every commit and path holding them; a history without findings never pays for attribution.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::{Context, Result, bail};
use crossbeam_channel::bounded;
use git2::{ObjectType, Oid, Repository, Sort};
use indicatif::ProgressBar;

use super::ScanStats;
use super::git::{commit_ref, is_lfs_pointer};
use crate::config::ScanSettings;
use crate::findings::{
    CommitRef, Confidence, FindingKind, Fingerprint, HistoryInfo, Location, Occurrence, Severity,
    SkipReason,
};
use crate::lints::env_files::is_env_file_path;
use crate::scanner::Scanner;

/// Rule id of the history lint "an env file was committed".
pub const ENV_FILE_COMMITTED: &str = "env-file-committed";

/// Git refuses trees deeper than this by default (core.maxTreeDepth); a hostile repository must
/// not overflow our stack.
const MAX_TREE_DEPTH: usize = 4096;

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
    fn is_restricted(&self) -> bool {
        self.since.is_some() || self.branch.is_some() || self.max_count.is_some()
    }
}

/// What the audit found: occurrences carry their commit; `history` is keyed by fingerprint.
#[derive(Default)]
pub struct HistoryScan {
    pub occurrences: Vec<Occurrence>,
    pub history: HashMap<String, HistoryInfo>,
    pub commits_scanned: u64,
}

/// A ref tip the audit starts from (branch, tag, remote-tracking ref, stash, detached HEAD).
struct Tip {
    name: String,
    commit: Oid,
}

/// A blob to read and scan, with the first path it was seen at (reports name blobs by path).
struct BlobJob {
    blob: Oid,
    path: String,
}

/// A scanned blob that had findings.
struct BlobHit {
    blob: Oid,
    occurrences: Vec<Occurrence>,
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

    let mut walker = TreeWalker::new(repo, scanner, stats);
    for oid in &boundary {
        // Blobs already present before the range are not new in it: mark them seen unscanned.
        if let Ok(commit) = repo.find_commit(*oid) {
            walker.visit_tree(
                commit.tree_id(),
                &mut String::new(),
                0,
                u32::MAX,
                &mut |_| {},
            );
        }
    }
    walker.env_hits.clear();

    let hits = scan_blobs(
        repo.path(),
        &commits,
        &mut walker,
        settings,
        scanner,
        stats,
        progress,
    )?;
    let env_hits = std::mem::take(&mut walker.env_hits);
    let mut result = HistoryScan {
        commits_scanned: commits.len() as u64,
        ..HistoryScan::default()
    };
    if hits.is_empty() && env_hits.is_empty() {
        return Ok(result);
    }
    progress.set_message("attributing findings to commits");
    let attribution = Attribution::new(repo, hits, env_hits, stats);
    attribution.finish(repo, scope, &commits, &tips, scanner, settings, &mut result)?;
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
    walker: &mut TreeWalker<'_>,
    settings: &ScanSettings,
    scanner: &Scanner,
    stats: &ScanStats,
    progress: &ProgressBar,
) -> Result<Vec<BlobHit>> {
    let (sender, receiver) = bounded::<BlobJob>(4096);
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
                    for job in receiver.iter() {
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
        for (index, oid) in commits.iter().enumerate() {
            if index % 64 == 0 {
                progress.set_position(index as u64);
            }
            let commit = match walker.repo.find_commit(*oid) {
                Ok(commit) => commit,
                Err(err) => {
                    stats.skip(
                        SkipReason::CorruptObject,
                        Some(format!(
                            "commit {oid} cannot be read ({}); its tree was not audited",
                            err.message()
                        )),
                    );
                    continue;
                }
            };
            let mut send = |job: BlobJob| {
                if walk_error.is_none() && sender.send(job).is_err() {
                    walk_error = Some(anyhow::anyhow!("every history worker stopped"));
                }
            };
            walker.visit_tree(
                commit.tree_id(),
                &mut String::new(),
                0,
                index as u32,
                &mut send,
            );
            if walk_error.is_some() {
                break;
            }
        }
        progress.set_position(commits.len() as u64);
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

/// An env file version seen in pass 1.
struct EnvHit {
    blob: Oid,
}

/// Pass 1's tree visitor: remembers every tree and blob id it has seen.
struct TreeWalker<'r> {
    repo: &'r Repository,
    scanner: &'r Scanner,
    stats: &'r ScanStats,
    seen_trees: HashSet<Oid>,
    seen_blobs: HashSet<Oid>,
    env_hits: Vec<EnvHit>,
    submodules_noted: bool,
}

impl<'r> TreeWalker<'r> {
    fn new(repo: &'r Repository, scanner: &'r Scanner, stats: &'r ScanStats) -> Self {
        TreeWalker {
            repo,
            scanner,
            stats,
            seen_trees: HashSet::new(),
            seen_blobs: HashSet::new(),
            env_hits: Vec::new(),
            submodules_noted: false,
        }
    }

    fn visit_tree(
        &mut self,
        tree_id: Oid,
        prefix: &mut String,
        depth: usize,
        commit: u32,
        send: &mut dyn FnMut(BlobJob),
    ) {
        if !self.seen_trees.insert(tree_id) {
            return;
        }
        if depth > MAX_TREE_DEPTH {
            self.stats.warn(format!(
                "{prefix}: trees nested deeper than {MAX_TREE_DEPTH} levels were not audited"
            ));
            return;
        }
        let tree = match self.repo.find_tree(tree_id) {
            Ok(tree) => tree,
            Err(err) => {
                self.stats.skip(
                    SkipReason::CorruptObject,
                    Some(format!(
                        "{}/ (tree {tree_id}): cannot be read ({}); skipped, the audit went on",
                        prefix.trim_end_matches('/'),
                        err.message()
                    )),
                );
                return;
            }
        };
        let prefix_len = prefix.len();
        for entry in tree.iter() {
            prefix.truncate(prefix_len);
            prefix.push_str(&String::from_utf8_lossy(entry.name_bytes()));
            match entry.kind() {
                Some(ObjectType::Tree) => {
                    if self.scanner.path_allowed(Path::new(prefix.as_str()), true) {
                        self.stats.skip(SkipReason::ConfigAllowed, None);
                        continue;
                    }
                    prefix.push('/');
                    self.visit_tree(entry.id(), prefix, depth + 1, commit, send);
                }
                Some(ObjectType::Blob) => {
                    let path = prefix.as_str();
                    if commit != u32::MAX && is_env_file_path(path) {
                        self.env_hits.push(EnvHit { blob: entry.id() });
                    }
                    if !self.seen_blobs.insert(entry.id()) {
                        continue;
                    }
                    if self.scanner.path_allowed(Path::new(path), false) {
                        self.stats.skip(SkipReason::ConfigAllowed, None);
                        self.seen_blobs.remove(&entry.id());
                        continue;
                    }
                    if commit != u32::MAX {
                        send(BlobJob {
                            blob: entry.id(),
                            path: path.to_owned(),
                        });
                    }
                }
                Some(ObjectType::Commit) if !self.submodules_noted && commit != u32::MAX => {
                    self.submodules_noted = true;
                    self.stats.warn(format!(
                        "{prefix}: submodule history is not audited (run tuskguard history inside it)"
                    ));
                }
                _ => {}
            }
        }
        prefix.truncate(prefix_len);
    }
}

/// One thing a history finding is about: a secret (by fingerprint) or a committed env file path.
enum Item {
    Secret(String),
    EnvFile(String),
}

/// Pass 2: which commits and paths hold the blobs that had findings.
struct Attribution<'r> {
    repo: &'r Repository,
    stats: &'r ScanStats,
    /// Hot blob id → index into `hot_occurrences` / `hot_is_env`.
    hot: HashMap<Oid, u32>,
    hot_occurrences: Vec<Vec<Occurrence>>,
    hot_is_env: Vec<bool>,
    items: Vec<Item>,
    item_by_fingerprint: HashMap<String, u32>,
    item_by_env_path: HashMap<String, u32>,
    /// Hot blobs (and their relative paths) under each tree visited so far.
    memo: HashMap<Oid, Rc<Vec<(u32, String)>>>,
}

impl<'r> Attribution<'r> {
    fn new(
        repo: &'r Repository,
        hits: Vec<BlobHit>,
        env_hits: Vec<EnvHit>,
        stats: &'r ScanStats,
    ) -> Self {
        let mut this = Attribution {
            repo,
            stats,
            hot: HashMap::new(),
            hot_occurrences: Vec::new(),
            hot_is_env: Vec::new(),
            items: Vec::new(),
            item_by_fingerprint: HashMap::new(),
            item_by_env_path: HashMap::new(),
            memo: HashMap::new(),
        };
        for hit in hits {
            let index = this.hot_index(hit.blob);
            for occurrence in &hit.occurrences {
                let fingerprint = occurrence.fingerprint.as_str();
                if !this.item_by_fingerprint.contains_key(fingerprint) {
                    this.item_by_fingerprint
                        .insert(fingerprint.to_owned(), this.items.len() as u32);
                    this.items.push(Item::Secret(fingerprint.to_owned()));
                }
            }
            this.hot_occurrences[index as usize] = hit.occurrences;
        }
        for env in env_hits {
            let index = this.hot_index(env.blob);
            this.hot_is_env[index as usize] = true;
        }
        this
    }

    fn hot_index(&mut self, blob: Oid) -> u32 {
        let next = self.hot.len() as u32;
        let index = *self.hot.entry(blob).or_insert(next);
        if index == next {
            self.hot_occurrences.push(Vec::new());
            self.hot_is_env.push(false);
        }
        index
    }

    /// Hot blobs under `tree_id` with paths relative to it; each tree is read once.
    fn hot_entries(&mut self, tree_id: Oid, depth: usize) -> Rc<Vec<(u32, String)>> {
        if let Some(found) = self.memo.get(&tree_id) {
            return Rc::clone(found);
        }
        let mut entries = Vec::new();
        if depth <= MAX_TREE_DEPTH
            && let Ok(tree) = self.repo.find_tree(tree_id)
        {
            for entry in tree.iter() {
                let name = String::from_utf8_lossy(entry.name_bytes());
                match entry.kind() {
                    Some(ObjectType::Blob) => {
                        if let Some(index) = self.hot.get(&entry.id()) {
                            entries.push((*index, name.into_owned()));
                        }
                    }
                    Some(ObjectType::Tree) => {
                        let below = self.hot_entries(entry.id(), depth + 1);
                        entries.extend(below.iter().map(|(i, p)| (*i, format!("{name}/{p}"))));
                    }
                    _ => {}
                }
            }
        }
        let entries = Rc::new(entries);
        self.memo.insert(tree_id, Rc::clone(&entries));
        entries
    }

    /// The items a hot blob at `path` stands for.
    fn items_of(&mut self, hot: u32, path: &str) -> Vec<u32> {
        let mut items: Vec<u32> = self.hot_occurrences[hot as usize]
            .iter()
            .filter_map(|o| {
                self.item_by_fingerprint
                    .get(o.fingerprint.as_str())
                    .copied()
            })
            .collect();
        if self.hot_is_env[hot as usize] && is_env_file_path(path) {
            let next = self.items.len() as u32;
            let item = *self.item_by_env_path.entry(path.to_owned()).or_insert(next);
            if item == next {
                self.items.push(Item::EnvFile(path.to_owned()));
            }
            items.push(item);
        }
        items.sort_unstable();
        items.dedup();
        items
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        mut self,
        repo: &Repository,
        scope: &HistoryScope,
        commits: &[Oid],
        tips: &[Tip],
        scanner: &Scanner,
        settings: &ScanSettings,
        result: &mut HistoryScan,
    ) -> Result<()> {
        let index_of: HashMap<Oid, u32> = commits
            .iter()
            .enumerate()
            .map(|(i, oid)| (*oid, i as u32))
            .collect();
        // (hot blob, path) → first commit holding it there, in walk order.
        let mut first_seen: Vec<((u32, String), u32)> = Vec::new();
        let mut first_seen_index: HashSet<(u32, String)> = HashSet::new();
        let mut introduced: HashMap<u32, u32> = HashMap::new();
        let empty: Rc<Vec<u32>> = Rc::new(Vec::new());
        let mut reach: Vec<Rc<Vec<u32>>> = Vec::with_capacity(commits.len());
        for (index, oid) in commits.iter().enumerate() {
            let Ok(commit) = repo.find_commit(*oid) else {
                reach.push(Rc::clone(&empty));
                continue;
            };
            let mut here: Vec<u32> = Vec::new();
            let entries = self.hot_entries(commit.tree_id(), 0);
            for (hot, path) in entries.iter() {
                let items = self.items_of(*hot, path);
                for item in &items {
                    introduced.entry(*item).or_insert(index as u32);
                }
                here.extend(items);
                if first_seen_index.insert((*hot, path.clone())) {
                    first_seen.push(((*hot, path.clone()), index as u32));
                }
            }
            let parents: Vec<&Rc<Vec<u32>>> = commit
                .parent_ids()
                .filter_map(|p| index_of.get(&p))
                .map(|p| &reach[*p as usize])
                .collect();
            // Linear history without new items shares its parent's set: memory stays O(commits).
            let merged = match (here.is_empty(), parents.as_slice()) {
                (true, []) => Rc::clone(&empty),
                (true, [only]) => Rc::clone(only),
                _ => union(&parents, &here),
            };
            reach.push(merged);
        }

        let mut commit_refs: HashMap<u32, CommitRef> = HashMap::new();
        let mut commit_ref_of = |index: u32| -> Option<CommitRef> {
            if let Some(found) = commit_refs.get(&index) {
                return Some(found.clone());
            }
            let commit = repo.find_commit(*commits.get(index as usize)?).ok()?;
            let made = commit_ref(&commit);
            commit_refs.insert(index, made.clone());
            Some(made)
        };

        // Which refs contain each item.
        let mut refs_of: HashMap<u32, Vec<String>> = HashMap::new();
        for tip in tips {
            match index_of.get(&tip.commit) {
                Some(index) => {
                    for item in reach[*index as usize].iter() {
                        refs_of.entry(*item).or_default().push(tip.name.clone());
                    }
                }
                None if scope.is_restricted() => {
                    // A tip outside the audited range: ask the commit graph directly.
                    for (item, first) in &introduced {
                        let oid = commits[*first as usize];
                        if oid == tip.commit
                            || repo.graph_descendant_of(tip.commit, oid).unwrap_or(false)
                        {
                            refs_of.entry(*item).or_default().push(tip.name.clone());
                        }
                    }
                }
                None => {}
            }
        }

        let head_items: HashSet<u32> = match repo.head().ok().and_then(|h| h.peel_to_tree().ok()) {
            Some(tree) => {
                let entries = self.hot_entries(tree.id(), 0);
                let mut items = HashSet::new();
                for (hot, path) in entries.iter() {
                    items.extend(self.items_of(*hot, path));
                }
                items
            }
            None => HashSet::new(),
        };

        // Occurrences: one per (blob version, path) holding the item, with its first commit.
        let mut paths_of: HashMap<u32, Vec<String>> = HashMap::new();
        for ((hot, path), first) in &first_seen {
            let Some(commit) = commit_ref_of(*first) else {
                continue;
            };
            for occurrence in &self.hot_occurrences[*hot as usize] {
                let mut located = occurrence.clone();
                located.location.path = path.clone();
                located.location.commit = Some(commit.clone());
                if let Some(item) = self
                    .item_by_fingerprint
                    .get(occurrence.fingerprint.as_str())
                {
                    paths_of.entry(*item).or_default().push(path.clone());
                }
                result.occurrences.push(located);
            }
            if self.hot_is_env[*hot as usize]
                && let Some(item) = self.item_by_env_path.get(path)
            {
                paths_of.entry(*item).or_default().push(path.clone());
                result
                    .occurrences
                    .push(env_file_occurrence(path, commit.clone()));
            }
        }

        let workdir = repo.workdir().map(Path::to_path_buf);
        for (item_index, item) in self.items.iter().enumerate() {
            let item_index = item_index as u32;
            let Some(first) = introduced.get(&item_index) else {
                continue;
            };
            let Some(introduced_commit) = commit_ref_of(*first) else {
                continue;
            };
            let mut refs = refs_of.remove(&item_index).unwrap_or_default();
            refs.sort();
            refs.dedup();
            let pushed = refs.iter().any(|r| r.starts_with("refs/remotes/"));
            let paths = paths_of.remove(&item_index).unwrap_or_default();
            let (fingerprint, in_working_tree) = match item {
                Item::Secret(fingerprint) => {
                    let present = workdir
                        .as_deref()
                        .map(|root| in_working_tree(root, &paths, fingerprint, scanner, settings));
                    (fingerprint.clone(), present)
                }
                Item::EnvFile(path) => (
                    env_file_fingerprint(path),
                    workdir.as_deref().map(|root| root.join(path).is_file()),
                ),
            };
            result.history.insert(
                fingerprint,
                HistoryInfo {
                    introduced: introduced_commit,
                    present_at_head: head_items.contains(&item_index),
                    in_working_tree,
                    refs,
                    pushed,
                },
            );
        }
        if self.memo.is_empty() {
            self.stats
                .warn("no tree could be read during attribution".to_owned());
        }
        Ok(())
    }
}

/// Sorted union of several sorted item sets plus `extra`.
fn union(sets: &[&Rc<Vec<u32>>], extra: &[u32]) -> Rc<Vec<u32>> {
    let mut all: Vec<u32> = sets.iter().flat_map(|set| set.iter().copied()).collect();
    all.extend_from_slice(extra);
    all.sort_unstable();
    all.dedup();
    Rc::new(all)
}

/// Whether the working-tree copy of any of `paths` still holds the key with this fingerprint.
fn in_working_tree(
    root: &Path,
    paths: &[String],
    fingerprint: &str,
    scanner: &Scanner,
    settings: &ScanSettings,
) -> bool {
    let mut checked = HashSet::new();
    paths
        .iter()
        .filter(|p| checked.insert(p.as_str()))
        .any(|path| {
            let full = root.join(path);
            let small_enough = std::fs::metadata(&full)
                .map(|m| m.is_file() && m.len() <= settings.max_file_size)
                .unwrap_or(false);
            small_enough
                && std::fs::read(&full).is_ok_and(|bytes| {
                    scanner
                        .scan_blob(path, &bytes)
                        .occurrences
                        .iter()
                        .any(|o| o.fingerprint.as_str() == fingerprint)
                })
        })
}

fn env_file_fingerprint(path: &str) -> String {
    Fingerprint::for_lint(ENV_FILE_COMMITTED, path, "").into_string()
}

fn env_file_occurrence(path: &str, commit: CommitRef) -> Occurrence {
    Occurrence {
        rule_id: ENV_FILE_COMMITTED.to_owned(),
        kind: FindingKind::EnvNotIgnored,
        severity: Severity::High,
        confidence: Confidence::High,
        title: "Env file committed to git history".to_owned(),
        remediation: "rotate every secret this file ever held; `git rm --cached` it, add it to \
                      .gitignore, and purge it from history (git filter-repo --invert-paths --path <file>)"
            .to_owned(),
        fingerprint: Fingerprint::for_lint(ENV_FILE_COMMITTED, path, ""),
        secret: None,
        location: Location {
            path: path.to_owned(),
            line: 1,
            column: 1,
            end_column: 2,
            encoding: crate::findings::Encoding::Plain,
            commit: Some(commit),
        },
    }
}
