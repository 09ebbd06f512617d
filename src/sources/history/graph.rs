//! Pass 1's view of history: each tree visited once, each new blob handed to the scanner, and a
//! compact graph (u32 indices, no names) kept so that attribution never re-reads every tree.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use git2::{ObjectType, Oid, Repository};

use crate::findings::SkipReason;
use crate::lints::env_files::is_env_file_path;
use crate::scanner::Scanner;
use crate::sources::ScanStats;

/// Git refuses trees deeper than this by default (core.maxTreeDepth); a hostile repository must
/// not overflow our stack.
pub const MAX_TREE_DEPTH: usize = 4096;

/// Marks "no index" (unreadable tree, commit outside the walk).
pub const NONE: u32 = u32::MAX;

/// Object ids are already uniformly random: hashing their first 8 bytes is enough and far
/// cheaper than SipHash over millions of tree entries.
#[derive(Default)]
pub struct OidHasher(u64);

impl Hasher for OidHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
    }

    fn write_usize(&mut self, _length: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

pub type OidMap<V> = HashMap<Oid, V, BuildHasherDefault<OidHasher>>;

/// A blob to read and scan, with the first path it was seen at (reports name blobs by path).
pub struct BlobJob {
    pub blob: Oid,
    pub path: String,
}

/// An edge from a tree to a child: `index << 1 | 1` for a tree, `index << 1` for a blob.
fn edge(index: u32, is_tree: bool) -> u32 {
    index << 1 | u32::from(is_tree)
}

pub struct TreeGraph<'r> {
    pub repo: &'r Repository,
    scanner: &'r Scanner,
    stats: &'r ScanStats,
    pub tree_ids: OidMap<u32>,
    pub tree_oids: Vec<Oid>,
    /// Per tree index: its range in `edges`.
    pub tree_edges: Vec<(u32, u32)>,
    pub edges: Vec<u32>,
    pub blob_ids: OidMap<u32>,
    /// Blobs seen at an env-file path (pass 2 lists their commits).
    pub env_blobs: Vec<Oid>,
    /// Per walked commit: its root tree index (or NONE) and its range in `parent_edges`.
    pub commit_trees: Vec<u32>,
    pub commit_parents: Vec<(u32, u32)>,
    pub parent_edges: Vec<u32>,
    submodules_noted: bool,
}

impl<'r> TreeGraph<'r> {
    pub fn new(repo: &'r Repository, scanner: &'r Scanner, stats: &'r ScanStats) -> Self {
        TreeGraph {
            repo,
            scanner,
            stats,
            tree_ids: OidMap::default(),
            tree_oids: Vec::new(),
            tree_edges: Vec::new(),
            edges: Vec::new(),
            blob_ids: OidMap::default(),
            env_blobs: Vec::new(),
            commit_trees: Vec::new(),
            commit_parents: Vec::new(),
            parent_edges: Vec::new(),
            submodules_noted: false,
        }
    }

    /// Records one walked commit (in walk order) with its tree and already-walked parents.
    pub fn add_commit(&mut self, tree: u32, parents: impl Iterator<Item = u32>) {
        let start = self.parent_edges.len() as u32;
        self.parent_edges.extend(parents);
        self.commit_trees.push(tree);
        self.commit_parents
            .push((start, self.parent_edges.len() as u32));
    }

    pub fn parents(&self, commit: usize) -> &[u32] {
        let (start, end) = self.commit_parents[commit];
        &self.parent_edges[start as usize..end as usize]
    }

    /// Visits a tree once, sending each blob not seen before (unless `scan` is false, for trees
    /// that bound a range). Returns the tree's index.
    pub fn visit_tree(
        &mut self,
        tree_id: Oid,
        prefix: &mut String,
        depth: usize,
        scan: bool,
        send: &mut dyn FnMut(BlobJob),
    ) -> u32 {
        if let Some(index) = self.tree_ids.get(&tree_id) {
            return *index;
        }
        let index = self.tree_oids.len() as u32;
        self.tree_ids.insert(tree_id, index);
        self.tree_oids.push(tree_id);
        self.tree_edges.push((0, 0));
        if depth > MAX_TREE_DEPTH {
            self.stats.warn(format!(
                "{prefix}: trees nested deeper than {MAX_TREE_DEPTH} levels were not audited"
            ));
            return index;
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
                return index;
            }
        };
        let mut children = Vec::with_capacity(tree.len());
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
                    let child = self.visit_tree(entry.id(), prefix, depth + 1, scan, send);
                    children.push(edge(child, true));
                }
                Some(ObjectType::Blob) => {
                    let path = prefix.as_str();
                    if self.scanner.path_allowed(Path::new(path), false) {
                        self.stats.skip(SkipReason::ConfigAllowed, None);
                        continue;
                    }
                    if scan && is_env_file_path(path) {
                        self.env_blobs.push(entry.id());
                    }
                    let next = self.blob_ids.len() as u32;
                    let blob = *self.blob_ids.entry(entry.id()).or_insert(next);
                    children.push(edge(blob, false));
                    if blob == next && scan {
                        send(BlobJob {
                            blob: entry.id(),
                            path: path.to_owned(),
                        });
                    }
                }
                Some(ObjectType::Commit) if !self.submodules_noted && scan => {
                    self.submodules_noted = true;
                    self.stats.warn(format!(
                        "{prefix}: submodule history is not audited (run tuskguard history inside it)"
                    ));
                }
                _ => {}
            }
        }
        prefix.truncate(prefix_len);
        let start = self.edges.len() as u32;
        self.edges.extend_from_slice(&children);
        self.tree_edges[index as usize] = (start, self.edges.len() as u32);
        index
    }
}

/// Splits an edge into (index, is_tree).
pub fn split_edge(edge: u32) -> (u32, bool) {
    (edge >> 1, edge & 1 == 1)
}
