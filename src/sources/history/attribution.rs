//! Pass 2: maps the few blobs that had findings (and watched paths: env files) back to every commit, path and
//! ref holding them, using pass 1's in-memory graph; only trees on the way to such a blob are
//! read again (for their names).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::rc::Rc;

use git2::Oid;

use super::graph::{MAX_TREE_DEPTH, NONE, TreeGraph, split_edge};
use super::{BlobHit, HistoryScan, HistoryScope, Tips};
use crate::config::ScanSettings;
use crate::findings::{CommitRef, HistoryInfo, Occurrence};
use crate::scanner::Scanner;
use crate::sources::git::commit_ref;

/// One thing a history finding is about: a secret (by fingerprint) or a watched path (a committed
/// env file).
enum Item {
    Secret(String),
    WatchedPath { path: String, fingerprint: String },
}

type HotEntries = Rc<Vec<(u32, String)>>;

pub struct Attribution<'r> {
    graph: TreeGraph<'r>,
    /// Blob index → hot index (into `hot_occurrences` / `hot_is_watched`) or NONE: a plain array,
    /// because deciding which trees are hot looks up every edge of the graph.
    hot: Vec<u32>,
    hot_occurrences: Vec<Vec<Occurrence>>,
    hot_is_watched: Vec<bool>,
    items: Vec<Item>,
    item_by_fingerprint: HashMap<String, u32>,
    item_by_watched_path: HashMap<String, u32>,
    /// Per tree index: 0 not yet known, 1 holds no hot blob, 2 holds one.
    tree_state: Vec<u8>,
    /// Hot blobs (with paths relative to the tree) under each hot tree.
    memo: HashMap<u32, HotEntries>,
    /// Per hot blob never seen at a watched path, its items (once computed).
    secret_items: Vec<Option<Vec<u32>>>,
}

impl<'r> Attribution<'r> {
    pub fn new(graph: TreeGraph<'r>, hits: Vec<BlobHit>) -> Self {
        let tree_count = graph.tree_oids.len();
        let blob_count = graph.blob_ids.len();
        let mut this = Attribution {
            graph,
            hot: vec![NONE; blob_count],
            hot_occurrences: Vec::new(),
            hot_is_watched: Vec::new(),
            items: Vec::new(),
            item_by_fingerprint: HashMap::new(),
            item_by_watched_path: HashMap::new(),
            tree_state: vec![0; tree_count],
            memo: HashMap::new(),
            secret_items: Vec::new(),
        };
        for hit in hits {
            let Some(index) = this.hot_index(hit.blob) else {
                continue;
            };
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
        for blob in std::mem::take(&mut this.graph.watched_blobs) {
            if let Some(index) = this.hot_index(blob) {
                this.hot_is_watched[index as usize] = true;
            }
        }
        this
    }

    fn hot_index(&mut self, blob: Oid) -> Option<u32> {
        let blob = *self.graph.blob_ids.get(&blob.into())?;
        let slot = self.hot.get_mut(blob as usize)?;
        if *slot == NONE {
            *slot = self.hot_occurrences.len() as u32;
            self.hot_occurrences.push(Vec::new());
            self.hot_is_watched.push(false);
        }
        Some(*slot)
    }

    /// Whether any hot blob lies under tree `tree`; computed on the in-memory graph, once.
    fn is_hot_tree(&mut self, tree: u32, depth: usize) -> bool {
        match self.tree_state.get(tree as usize) {
            Some(1) | None => return false,
            Some(2) => return true,
            _ => {}
        }
        let range = self.graph.tree_edges[tree as usize];
        let edges = self.graph.edges.get(range).into_owned();
        let mut hot = false;
        for edge in edges {
            let (child, is_tree) = split_edge(edge);
            hot |= if is_tree {
                depth < MAX_TREE_DEPTH && self.is_hot_tree(child, depth + 1)
            } else {
                self.hot.get(child as usize).is_some_and(|hot| *hot != NONE)
            };
        }
        self.tree_state[tree as usize] = if hot { 2 } else { 1 };
        hot
    }

    /// Hot blobs under a tree with their paths; only hot trees are read (for their names).
    fn hot_entries(&mut self, tree: u32, depth: usize) -> HotEntries {
        if let Some(found) = self.memo.get(&tree) {
            return Rc::clone(found);
        }
        let mut entries = Vec::new();
        if self.is_hot_tree(tree, depth) {
            for (name, id) in self.graph.tree_entries(tree) {
                if let Some(blob) = self.graph.blob_ids.get(&id)
                    && let Some(hot) = self.hot.get(*blob as usize).filter(|hot| **hot != NONE)
                {
                    entries.push((*hot, name));
                } else if let Some(child) = self.graph.tree_ids.get(&id).copied()
                    && depth < MAX_TREE_DEPTH
                    && self.is_hot_tree(child, depth + 1)
                {
                    let below = self.hot_entries(child, depth + 1);
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
            && let Some(watch) = self.graph.watch.filter(|watch| (watch.watched)(path))
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

    /// Items in HEAD's tree (HEAD may lie outside a restricted walk: its tree is added then).
    fn head_items(&mut self) -> HashSet<u32> {
        let repo = self.graph.repo;
        let Some(tree) = repo.head().ok().and_then(|h| h.peel_to_tree().ok()) else {
            return HashSet::new();
        };
        let index = match self.graph.tree_ids.get(&tree.id().into()) {
            Some(index) => *index,
            None => {
                let index = self.graph.visit_tree(
                    tree.id().into(),
                    &mut String::new(),
                    0,
                    false,
                    &mut |_| {},
                );
                self.tree_state.resize(self.graph.tree_oids.len(), 0);
                index
            }
        };
        let entries = self.hot_entries(index, 0);
        let mut items = HashSet::new();
        for (hot, path) in entries.iter() {
            items.extend(self.items_of(*hot, path));
        }
        items
    }

    pub fn finish(
        mut self,
        scope: &HistoryScope,
        commits: &[Oid],
        tips: &Tips,
        scanner: &Scanner,
        settings: &ScanSettings,
        result: &mut HistoryScan,
    ) {
        let repo = self.graph.repo;
        // (hot blob, path) → first commit holding it there, in walk order (parents first).
        let mut first_seen: Vec<((u32, String), u32)> = Vec::new();
        // Per hot blob, the paths it was seen at: checked for every commit holding it, so a
        // path is cloned only the first time.
        let mut seen_at: Vec<HashSet<String>> = vec![HashSet::new(); self.hot_occurrences.len()];
        let mut introduced: HashMap<u32, u32> = HashMap::new();
        let empty: Rc<Vec<u32>> = Rc::new(Vec::new());
        // Items reachable from each commit, shared along linear history.
        let mut reach: Vec<Rc<Vec<u32>>> = Vec::with_capacity(commits.len());
        for index in 0..self.graph.commit_trees.len() {
            let tree = self.graph.commit_trees[index];
            let mut here: Vec<u32> = Vec::new();
            if tree != NONE {
                let entries = self.hot_entries(tree, 0);
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
            let parents: Vec<&Rc<Vec<u32>>> = self
                .graph
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

        let cut_commits: HashSet<u32> = self.graph.cut_commits.iter().copied().collect();
        let mut commit_refs: HashMap<u32, CommitRef> = HashMap::new();
        // A commit pass 1 walked but libgit2 cannot read now still names the finding: what is
        // known (its id) is reported rather than the finding dropped.
        let mut commit_ref_of = |index: u32| -> CommitRef {
            if let Some(found) = commit_refs.get(&index) {
                return found.clone();
            }
            let oid = commits.get(index as usize).copied();
            let mut made = match oid.and_then(|oid| repo.find_commit(oid).ok()) {
                Some(commit) => commit_ref(&commit),
                None => unreadable_commit(oid),
            };
            // History behind this commit was not read: it is where the key was first seen, not
            // necessarily where it came in.
            made.at_or_before = cut_commits.contains(&index);
            commit_refs.insert(index, made.clone());
            made
        };

        let commit_index: HashMap<Oid, usize> = commits
            .iter()
            .enumerate()
            .map(|(i, oid)| (*oid, i))
            .collect();
        let mut refs_of: HashMap<u32, Vec<String>> = HashMap::new();
        for tip in &tips.commits {
            match commit_index.get(&tip.commit).and_then(|i| reach.get(*i)) {
                Some(items) => {
                    for item in items.iter() {
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

        // Refs that end at a tree or blob: what they hold is reachable without any commit, so
        // it is reported with the ref, and with the tag as "introduced" when no commit holds it.
        let mut tip_origin: HashMap<u32, CommitRef> = HashMap::new();
        let mut tip_seen: Vec<((u32, String), CommitRef)> = Vec::new();
        let tip_objects = self.graph.tip_objects.clone();
        for (tip, object) in tips.objects.iter().zip(tip_objects) {
            let entries: Vec<(u32, String)> = if object == NONE {
                Vec::new()
            } else if tip.is_tree {
                self.hot_entries(object, 0).iter().cloned().collect()
            } else {
                match self.hot.get(object as usize) {
                    Some(hot) if *hot != NONE => vec![(*hot, tip.name.clone())],
                    _ => Vec::new(),
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

        let head_items = self.head_items();

        // Occurrences: one per (blob version, path) holding the item, with its first commit.
        let mut paths_of: HashMap<u32, Vec<String>> = HashMap::new();
        let first_seen: Vec<((u32, String), CommitRef)> = first_seen
            .into_iter()
            .map(|(at, first)| (at, commit_ref_of(first)))
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
                && let Some(watch) = self.graph.watch
            {
                paths_of.entry(*item).or_default().push(path.clone());
                result
                    .occurrences
                    .push((watch.occurrence)(path, Some(commit.clone())));
            }
        }

        let workdir = repo.workdir().map(Path::to_path_buf);
        for (item_index, item) in self.items.iter().enumerate() {
            let item_index = item_index as u32;
            let introduced_commit = match introduced.get(&item_index) {
                Some(first) => commit_ref_of(*first),
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
                Item::Secret(fingerprint) => {
                    let present = workdir
                        .as_deref()
                        .map(|root| in_working_tree(root, &paths, fingerprint, scanner, settings));
                    (fingerprint.clone(), present)
                }
                Item::WatchedPath { path, fingerprint } => (
                    fingerprint.clone(),
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
    }
}

/// What a report can say about a commit that cannot be read: its id, if known.
fn unreadable_commit(oid: Option<Oid>) -> CommitRef {
    CommitRef {
        id: oid.map(|oid| oid.to_string()).unwrap_or_default(),
        author: String::new(),
        email: String::new(),
        time: String::new(),
        at_or_before: false,
        summary: "(this commit could not be read)".to_owned(),
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
