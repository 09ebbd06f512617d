//! Pass 2 of the history audit: maps the few blobs that had findings (and the blobs seen at
//! watched paths: env files) back to every commit, path and ref holding them.
//!
//! This file is the algorithm, and it is a pure function of what pass 1 collected
//! ([`Collected`]: each walked commit's tree and parents, which blobs had findings, the watched
//! blobs, the refs, all as the walk's u32 indices). It reads nothing itself. The few facts that
//! would cost memory or time to hold for every object are asked, lazily, through
//! [`HistoryFacts`]: a tree's children and entry names (only trees on the way to a finding are
//! asked), a commit's author and message, HEAD's tree, whether a ref outside a restricted range
//! descends from a commit, and what the working tree holds now. `facts.rs` answers them from
//! the repository, the walk's graph and the working tree; `tests.rs` answers them from
//! hand-built graphs, with no repository at all.
//!
//! Why here and not in `findings/`: the algorithm speaks the walk's language (commits, trees,
//! edges numbered by the walk, `PathWatch`), and `findings` sits below the sources and knows no
//! history. So it stays with the history source, split in two: this file (pure, checked by
//! `layers::history_attribution_reads_nothing`) and `facts.rs` (every read).

pub(super) mod facts;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::PathWatch;
use super::graph::{MAX_TREE_DEPTH, NONE, split_edge};
use crate::findings::{CommitRef, HistoryInfo, Occurrence};

/// What pass 1 collected, in the walk's indices: commits are numbered in walk order (parents
/// before children), trees and blobs in the order the walk first saw them. A child of a tree
/// is an edge: `index << 1 | 1` for a tree, `index << 1` for a blob (`graph::split_edge`).
#[derive(Default)]
pub struct Collected {
    /// Per walked commit: its root tree (NONE when it could not be read).
    pub commit_trees: Vec<u32>,
    /// Per walked commit: its range in `parent_edges` (its walked parents).
    pub commit_parents: Vec<(u32, u32)>,
    pub parent_edges: Vec<u32>,
    /// Walked commits with a parent that was not walked (shallow boundary, `--max-count`):
    /// what they hold came in at or before them.
    pub cut_commits: Vec<u32>,
    /// Blobs that had findings, with their findings, in the order the scan delivered them.
    pub hits: Vec<(u32, Vec<Occurrence>)>,
    /// Blobs seen at a watched path (`watch`).
    pub watched_blobs: Vec<u32>,
    pub watch: Option<PathWatch>,
    /// Refs that end at a commit, in the order reports list them.
    pub tips: Vec<CommitTip>,
    /// Refs that end at a tree or a blob.
    pub tagged: Vec<TaggedObject>,
    /// A restricted audit (`--since`, `--branch`, `--max-count`, a push): a ref whose commit
    /// was not walked may still hold what was found.
    pub restricted: bool,
}

impl Collected {
    fn parents(&self, commit: usize) -> &[u32] {
        let (start, end) = self.commit_parents[commit];
        &self.parent_edges[start as usize..end as usize]
    }
}

/// A ref that ends at a commit.
pub struct CommitTip {
    pub name: String,
    /// Its commit's walk index; None when the walk did not reach that commit.
    pub commit: Option<u32>,
}

/// A ref that ends at a tree or a blob (`git tag keyblob <blob>`).
pub struct TaggedObject {
    pub name: String,
    pub is_tree: bool,
    /// Its tree or blob index, or NONE when the walk did not reach it.
    pub object: u32,
    /// What reports name as "introduced" when no commit holds what it holds.
    pub origin: CommitRef,
}

/// The facts attribution looks up rather than holds. Implemented from git by
/// `facts::GitFacts`.
pub trait HistoryFacts {
    /// A tree's children as the walk recorded them (edges). Collected data, but asked rather
    /// than handed over: past `--memory-budget` the walk keeps them in a temporary file.
    fn children(&self, tree: u32) -> Cow<'_, [u32]>;
    /// A tree's entries by name, each with the child (edge) it is; entries the walk did not
    /// record (submodules, allow-listed paths) may be left out. Asked only for trees that
    /// hold a blob with a finding.
    fn entries(&self, tree: u32) -> Vec<(String, u32)>;
    /// A walked commit as reports show it (`at_or_before` is set by attribution).
    fn commit(&self, commit: u32) -> CommitRef;
    /// HEAD's tree, or None (no HEAD, unborn branch). It may lie outside a restricted walk:
    /// the facts then add it to the graph, as trees `children` and `entries` know.
    fn head_tree(&mut self) -> Option<u32>;
    /// Whether commit tip number `tip` (in `Collected::tips`) is walked commit `commit` or
    /// descends from it; asked only for tips the walk did not reach.
    fn tip_descends_from(&self, tip: usize, commit: u32) -> bool;
    /// Whether the working-tree copy of one of `paths` still holds the key with this
    /// fingerprint; None when there is no working tree (bare repository).
    fn working_tree_holds(&self, paths: &[String], fingerprint: &str) -> Option<bool>;
    /// Whether `path` is a file in the working tree; None when there is none.
    fn working_tree_has(&self, path: &str) -> Option<bool>;
}

/// What attribution adds to the audit: occurrences with their first commit, and per
/// fingerprint its history.
#[derive(Default)]
pub struct Attributed {
    pub occurrences: Vec<Occurrence>,
    pub history: HashMap<String, HistoryInfo>,
}

/// Attributes every finding (and every watched path) of `collected` to its commits and refs.
pub fn attribute<F: HistoryFacts>(collected: Collected, facts: &mut F) -> Attributed {
    let mut collected = collected;
    let hits = std::mem::take(&mut collected.hits);
    let state = Attribution::new(hits, &collected.watched_blobs, collected.watch);
    state.finish(&collected, facts)
}

/// One thing a history finding is about: a secret (by fingerprint) or a watched path (a committed
/// env file).
enum Item {
    Secret(String),
    WatchedPath { path: String, fingerprint: String },
}

type HotEntries = Rc<Vec<(u32, String)>>;

struct Attribution {
    /// Blob index → hot index (into `hot_occurrences` / `hot_is_watched`) or NONE: a plain array,
    /// because deciding which trees are hot looks up every edge of the graph. Blobs past its
    /// end are not hot.
    hot: Vec<u32>,
    hot_occurrences: Vec<Vec<Occurrence>>,
    hot_is_watched: Vec<bool>,
    items: Vec<Item>,
    item_by_fingerprint: HashMap<String, u32>,
    item_by_watched_path: HashMap<String, u32>,
    /// Per tree index: 0 not yet known, 1 holds no hot blob, 2 holds one. Grows as trees are
    /// asked about (HEAD's tree may be added after the walk).
    tree_state: Vec<u8>,
    /// Hot blobs (with paths relative to the tree) under each hot tree.
    memo: HashMap<u32, HotEntries>,
    /// Per hot blob never seen at a watched path, its items (once computed).
    secret_items: Vec<Option<Vec<u32>>>,
    watch: Option<PathWatch>,
}

impl Attribution {
    fn new(hits: Vec<(u32, Vec<Occurrence>)>, watched: &[u32], watch: Option<PathWatch>) -> Self {
        let mut this = Attribution {
            hot: Vec::new(),
            hot_occurrences: Vec::new(),
            hot_is_watched: Vec::new(),
            items: Vec::new(),
            item_by_fingerprint: HashMap::new(),
            item_by_watched_path: HashMap::new(),
            tree_state: Vec::new(),
            memo: HashMap::new(),
            secret_items: Vec::new(),
            watch,
        };
        for (blob, occurrences) in hits {
            let index = this.hot_index(blob);
            for occurrence in &occurrences {
                let fingerprint = occurrence.fingerprint.as_str();
                if !this.item_by_fingerprint.contains_key(fingerprint) {
                    this.item_by_fingerprint
                        .insert(fingerprint.to_owned(), this.items.len() as u32);
                    this.items.push(Item::Secret(fingerprint.to_owned()));
                }
            }
            this.hot_occurrences[index as usize] = occurrences;
        }
        for blob in watched {
            let index = this.hot_index(*blob);
            this.hot_is_watched[index as usize] = true;
        }
        this
    }

    fn hot_index(&mut self, blob: u32) -> u32 {
        if self.hot.len() <= blob as usize {
            self.hot.resize(blob as usize + 1, NONE);
        }
        let slot = &mut self.hot[blob as usize];
        if *slot == NONE {
            *slot = self.hot_occurrences.len() as u32;
            self.hot_occurrences.push(Vec::new());
            self.hot_is_watched.push(false);
        }
        *slot
    }

    fn hot_blob(&self, blob: u32) -> Option<u32> {
        self.hot
            .get(blob as usize)
            .copied()
            .filter(|hot| *hot != NONE)
    }

    /// Whether any hot blob lies under tree `tree`; computed on the graph's edges, once.
    fn is_hot_tree(&mut self, facts: &impl HistoryFacts, tree: u32, depth: usize) -> bool {
        if tree == NONE {
            return false;
        }
        if self.tree_state.len() <= tree as usize {
            self.tree_state.resize(tree as usize + 1, 0);
        }
        match self.tree_state[tree as usize] {
            1 => return false,
            2 => return true,
            _ => {}
        }
        let mut hot = false;
        for edge in facts.children(tree).iter() {
            let (child, is_tree) = split_edge(*edge);
            hot |= if is_tree {
                depth < MAX_TREE_DEPTH && self.is_hot_tree(facts, child, depth + 1)
            } else {
                self.hot_blob(child).is_some()
            };
        }
        self.tree_state[tree as usize] = if hot { 2 } else { 1 };
        hot
    }

    /// Hot blobs under a tree with their paths; only hot trees are asked for their names.
    fn hot_entries(&mut self, facts: &impl HistoryFacts, tree: u32, depth: usize) -> HotEntries {
        if let Some(found) = self.memo.get(&tree) {
            return Rc::clone(found);
        }
        let mut entries = Vec::new();
        if self.is_hot_tree(facts, tree, depth) {
            for (name, edge) in facts.entries(tree) {
                let (child, is_tree) = split_edge(edge);
                if !is_tree {
                    if let Some(hot) = self.hot_blob(child) {
                        entries.push((hot, name));
                    }
                } else if depth < MAX_TREE_DEPTH && self.is_hot_tree(facts, child, depth + 1) {
                    let below = self.hot_entries(facts, child, depth + 1);
                    entries.extend(below.iter().map(|(h, p)| (*h, format!("{name}/{p}"))));
                }
            }
        }
        let entries = Rc::new(entries);
        self.memo.insert(tree, Rc::clone(&entries));
        entries
    }

    /// The items a hot blob at `path` stands for.
    fn items_of(&mut self, hot: u32, path: &str) -> Vec<u32> {
        // Only watched paths depend on the path; the secrets of a blob are its own.
        if !self.hot_is_watched[hot as usize]
            && let Some(known) = self.secret_items.get(hot as usize).and_then(Option::as_ref)
        {
            return known.clone();
        }
        let mut items: Vec<u32> = self.hot_occurrences[hot as usize]
            .iter()
            .filter_map(|o| {
                self.item_by_fingerprint
                    .get(o.fingerprint.as_str())
                    .copied()
            })
            .collect();
        if self.hot_is_watched[hot as usize]
            && let Some(watch) = self.watch.filter(|watch| (watch.watched)(path))
        {
            let next = self.items.len() as u32;
            let item = *self
                .item_by_watched_path
                .entry(path.to_owned())
                .or_insert(next);
            if item == next {
                // The history of a watched path is filed under its finding's fingerprint.
                let fingerprint = (watch.occurrence)(path, None).fingerprint.into_string();
                self.items.push(Item::WatchedPath {
                    path: path.to_owned(),
                    fingerprint,
                });
            }
            items.push(item);
        }
        items.sort_unstable();
        items.dedup();
        if !self.hot_is_watched[hot as usize] {
            self.secret_items.resize(self.hot_occurrences.len(), None);
            self.secret_items[hot as usize] = Some(items.clone());
        }
        items
    }

    /// Items in HEAD's tree (HEAD may lie outside a restricted walk).
    fn head_items(&mut self, facts: &mut impl HistoryFacts) -> HashSet<u32> {
        let Some(tree) = facts.head_tree() else {
            return HashSet::new();
        };
        let entries = self.hot_entries(facts, tree, 0);
        let mut items = HashSet::new();
        for (hot, path) in entries.iter() {
            items.extend(self.items_of(*hot, path));
        }
        items
    }

    fn finish<F: HistoryFacts>(mut self, collected: &Collected, facts: &mut F) -> Attributed {
        // (hot blob, path) → first commit holding it there, in walk order (parents first).
        let mut first_seen: Vec<((u32, String), u32)> = Vec::new();
        // Per hot blob, the paths it was seen at: checked for every commit holding it, so a
        // path is cloned only the first time.
        let mut seen_at: Vec<HashSet<String>> = vec![HashSet::new(); self.hot_occurrences.len()];
        let mut introduced: HashMap<u32, u32> = HashMap::new();
        let empty: Rc<Vec<u32>> = Rc::new(Vec::new());
        // Items reachable from each commit, shared along linear history.
        let mut reach: Vec<Rc<Vec<u32>>> = Vec::with_capacity(collected.commit_trees.len());
        for (index, tree) in collected.commit_trees.iter().copied().enumerate() {
            let mut here: Vec<u32> = Vec::new();
            if tree != NONE {
                let entries = self.hot_entries(&*facts, tree, 0);
                for (hot, path) in entries.iter() {
                    let items = self.items_of(*hot, path);
                    for item in &items {
                        introduced.entry(*item).or_insert(index as u32);
                    }
                    here.extend(items);
                    if !seen_at[*hot as usize].contains(path) {
                        seen_at[*hot as usize].insert(path.clone());
                        first_seen.push(((*hot, path.clone()), index as u32));
                    }
                }
            }
            let parents: Vec<&Rc<Vec<u32>>> = collected
                .parents(index)
                .iter()
                .map(|p| &reach[*p as usize])
                .collect();
            here.sort_unstable();
            here.dedup();
            let merged = match parents.as_slice() {
                [] if here.is_empty() => Rc::clone(&empty),
                // Linear history that adds nothing new shares its parent's set.
                [only] if here.iter().all(|item| only.binary_search(item).is_ok()) => {
                    Rc::clone(only)
                }
                _ => union(&parents, &here),
            };
            reach.push(merged);
        }

        let mut commit_refs = CommitRefs {
            known: HashMap::new(),
            cut: collected.cut_commits.iter().copied().collect(),
        };

        let mut refs_of: HashMap<u32, Vec<String>> = HashMap::new();
        for (position, tip) in collected.tips.iter().enumerate() {
            match tip.commit.and_then(|i| reach.get(i as usize)) {
                Some(items) => {
                    for item in items.iter() {
                        refs_of.entry(*item).or_default().push(tip.name.clone());
                    }
                }
                None if collected.restricted => {
                    // A tip outside the audited range: ask the commit graph directly.
                    for (item, first) in &introduced {
                        if facts.tip_descends_from(position, *first) {
                            refs_of.entry(*item).or_default().push(tip.name.clone());
                        }
                    }
                }
                None => {}
            }
        }

        // Refs that end at a tree or blob: what they hold is reachable without any commit, so
        // it is reported with the ref, and with the tag as "introduced" when no commit holds it.
        let mut tip_origin: HashMap<u32, CommitRef> = HashMap::new();
        let mut tip_seen: Vec<((u32, String), CommitRef)> = Vec::new();
        for tip in &collected.tagged {
            let entries: Vec<(u32, String)> = if tip.object == NONE {
                Vec::new()
            } else if tip.is_tree {
                self.hot_entries(&*facts, tip.object, 0)
                    .iter()
                    .cloned()
                    .collect()
            } else {
                match self.hot_blob(tip.object) {
                    Some(hot) => vec![(hot, tip.name.clone())],
                    None => Vec::new(),
                }
            };
            for (hot, path) in entries {
                for item in self.items_of(hot, &path) {
                    refs_of.entry(item).or_default().push(tip.name.clone());
                    if !introduced.contains_key(&item) {
                        tip_origin.entry(item).or_insert_with(|| tip.origin.clone());
                    }
                }
                if seen_at[hot as usize].insert(path.clone()) {
                    tip_seen.push(((hot, path), tip.origin.clone()));
                }
            }
        }

        let head_items = self.head_items(facts);

        // Occurrences: one per (blob version, path) holding the item, with its first commit.
        let mut result = Attributed::default();
        let mut paths_of: HashMap<u32, Vec<String>> = HashMap::new();
        let first_seen: Vec<((u32, String), CommitRef)> = first_seen
            .into_iter()
            .map(|(at, first)| (at, commit_refs.get(&*facts, first)))
            .chain(tip_seen)
            .collect();
        for ((hot, path), commit) in &first_seen {
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
            if self.hot_is_watched[*hot as usize]
                && let Some(item) = self.item_by_watched_path.get(path)
                && let Some(watch) = self.watch
            {
                paths_of.entry(*item).or_default().push(path.clone());
                result
                    .occurrences
                    .push((watch.occurrence)(path, Some(commit.clone())));
            }
        }

        for (item_index, item) in self.items.iter().enumerate() {
            let item_index = item_index as u32;
            let introduced_commit = match introduced.get(&item_index) {
                Some(first) => commit_refs.get(&*facts, *first),
                None => match tip_origin.get(&item_index) {
                    Some(origin) => origin.clone(),
                    None => continue,
                },
            };
            let mut refs = refs_of.remove(&item_index).unwrap_or_default();
            refs.sort();
            refs.dedup();
            let pushed = refs.iter().any(|r| r.starts_with("refs/remotes/"));
            let paths = paths_of.remove(&item_index).unwrap_or_default();
            let (fingerprint, in_working_tree) = match item {
                Item::Secret(fingerprint) => (
                    fingerprint.clone(),
                    facts.working_tree_holds(&paths, fingerprint),
                ),
                Item::WatchedPath { path, fingerprint } => {
                    (fingerprint.clone(), facts.working_tree_has(path))
                }
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
        result
    }
}

/// Commits as reports show them, each asked of the facts once.
struct CommitRefs {
    known: HashMap<u32, CommitRef>,
    /// Walked commits the audit was cut at.
    cut: HashSet<u32>,
}

impl CommitRefs {
    fn get(&mut self, facts: &impl HistoryFacts, index: u32) -> CommitRef {
        if let Some(found) = self.known.get(&index) {
            return found.clone();
        }
        let mut made = facts.commit(index);
        // History behind this commit was not read: it is where the key was first seen, not
        // necessarily where it came in.
        made.at_or_before = self.cut.contains(&index);
        self.known.insert(index, made.clone());
        made
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
