//! Pass 1's view of history: each tree visited once, each new blob handed to the scanner, and a
//! compact graph (u32 indices, no names) kept so that attribution never re-reads every tree.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use git2::{ObjectType, Oid, Repository};

use super::PathWatch;
use super::edges::EdgeStore;
use crate::findings::SkipReason;
use crate::scanner::{BlobScan, Scanner};
use crate::sources::ScanStats;
use crate::sources::object_id::{ObjectId, OidMap};

/// Git refuses trees deeper than this by default (core.maxTreeDepth); a hostile repository must
/// not overflow our stack.
pub const MAX_TREE_DEPTH: usize = 4096;

/// Marks "no index" (unreadable tree, commit outside the walk).
pub const NONE: u32 = u32::MAX;

/// A blob to read and scan, with the first path it was seen at (reports name blobs by path).
pub struct BlobJob {
    pub blob: Oid,
    pub path: String,
    /// Set when the pack reader already scanned the blob's secrets and only the lints that
    /// depend on its path are left.
    pub secrets_found: Option<BlobScan>,
}

/// An edge from a tree to a child: `index << 1 | 1` for a tree, `index << 1` for a blob.
pub fn edge(index: u32, is_tree: bool) -> u32 {
    index << 1 | u32::from(is_tree)
}

pub struct TreeGraph<'r> {
    pub repo: &'r Repository,
    odb: &'r git2::Odb<'r>,
    scanner: &'r Scanner,
    stats: &'r ScanStats,
    pub tree_ids: OidMap<u32>,
    pub tree_oids: Vec<ObjectId>,
    /// Per tree index: its range in `edges`.
    pub tree_edges: Vec<(u64, u64)>,
    pub edges: EdgeStore,
    pub blob_ids: OidMap<u32>,
    /// Blobs seen at a watched path (pass 2 lists their commits).
    pub watched_blobs: Vec<Oid>,
    /// The paths the layer above asked to watch, if any.
    pub watch: Option<PathWatch>,
    /// Per walked commit: its root tree index (or NONE) and its range in `parent_edges`.
    pub commit_trees: Vec<u32>,
    pub commit_parents: Vec<(u32, u32)>,
    pub parent_edges: Vec<u32>,
    /// Commits just before a range (`--since`): their trees were visited as already seen, so a
    /// walked commit whose parent is one of them is not cut there.
    pub range_base: OidMap<()>,
    /// Walk indexes of commits with a parent that was neither walked nor a range base (shallow
    /// boundary, `--max-count`, unreadable parent): what they hold came in at or before them.
    pub cut_commits: Vec<u32>,
    submodules_noted: bool,
    /// Said once: the edges could not be spilled to disk.
    spill_failed: bool,
    /// Per directory path, the last new tree visited there (see `visit_tree`).
    references: HashMap<String, Rc<Reference>>,
    reference_bytes: usize,
    reference_limit: usize,
    /// Tree entries taken from a reference instead of being parsed and looked up.
    pub reused_entries: u64,
    /// Per ref that points at a tree or blob (in `Tips::objects` order): its tree or blob index.
    pub tip_objects: Vec<u32>,
    /// Trees already rebuilt from the packs, kept through attribution (which needs the names
    /// of the few trees on the way to a finding). Shared so a visit can hold one tree's bytes
    /// while it recurses.
    tree_cache: Rc<OidMap<Box<[u8]>>>,
}

/// A tree as the walk last saw it at one path: its bytes, and per entry where the entry ends
/// and its edge (NONE for an entry without one).
struct Reference {
    bytes: Box<[u8]>,
    entries: Vec<(u32, u32)>,
}

/// A tree's raw bytes, from the pack reader's cache or from libgit2.
enum TreeBytes<'o> {
    Cached(Rc<OidMap<Box<[u8]>>>, ObjectId),
    Read(git2::OdbObject<'o>),
}

impl TreeBytes<'_> {
    fn data(&self) -> &[u8] {
        match self {
            TreeBytes::Cached(cache, id) => cache.get(id).map_or(&[], |bytes| bytes),
            TreeBytes::Read(object) => object.data(),
        }
    }
}

impl<'r> TreeGraph<'r> {
    pub fn new(
        repo: &'r Repository,
        odb: &'r git2::Odb<'r>,
        scanner: &'r Scanner,
        stats: &'r ScanStats,
    ) -> Self {
        TreeGraph {
            repo,
            odb,
            scanner,
            stats,
            tree_ids: OidMap::default(),
            tree_oids: Vec::new(),
            tree_edges: Vec::new(),
            edges: EdgeStore::default(),
            blob_ids: OidMap::default(),
            watched_blobs: Vec::new(),
            watch: None,
            commit_trees: Vec::new(),
            commit_parents: Vec::new(),
            parent_edges: Vec::new(),
            range_base: OidMap::default(),
            cut_commits: Vec::new(),
            submodules_noted: false,
            spill_failed: false,
            references: HashMap::new(),
            reference_bytes: 0,
            reference_limit: usize::MAX,
            reused_entries: 0,
            tip_objects: Vec::new(),
            tree_cache: Rc::default(),
        }
    }

    /// Keeps at most `edges` edges in memory (the rest go to a temporary file) and at most
    /// `references` bytes of reference trees.
    pub fn limit_memory(&mut self, edges: usize, references: usize) {
        self.edges = EdgeStore::with_limit(edges);
        self.reference_limit = references;
    }

    /// Trees rebuilt ahead of the walk; the ones not in it are read through libgit2.
    pub fn use_tree_cache(&mut self, cache: OidMap<Box<[u8]>>) {
        self.tree_cache = Rc::new(cache);
    }

    /// A tree's raw bytes, from the cache or libgit2; None (said as corrupt) when unreadable.
    fn tree_bytes(&self, tree_id: ObjectId, prefix: &str) -> Option<TreeBytes<'r>> {
        if self.tree_cache.contains_key(&tree_id) {
            return Some(TreeBytes::Cached(Rc::clone(&self.tree_cache), tree_id));
        }
        match self.odb.read(tree_id.to_oid()) {
            Ok(object) if object.kind() == ObjectType::Tree => Some(TreeBytes::Read(object)),
            Ok(_) => {
                self.corrupt_tree(prefix, tree_id, "not a tree");
                None
            }
            Err(err) => {
                self.corrupt_tree(prefix, tree_id, err.message());
                None
            }
        }
    }

    /// The (name, id) entries of an already visited tree, for attribution.
    pub fn tree_entries(&self, tree: u32) -> Vec<(String, ObjectId)> {
        let tree_id = self.tree_oids[tree as usize];
        let Some(object) = self.tree_bytes(tree_id, "") else {
            return Vec::new();
        };
        let mut entries = Vec::new();
        let mut rest = object.data();
        while let Some((entry, tail)) = next_entry(rest) {
            rest = tail;
            if let Some(id) = ObjectId::from_slice(entry.oid) {
                entries.push((String::from_utf8_lossy(entry.name).into_owned(), id));
            }
        }
        entries
    }

    fn corrupt_tree(&self, prefix: &str, tree_id: ObjectId, why: &str) {
        self.stats.damaged(format!(
            "{}/ (tree {tree_id}): cannot be read ({why}); skipped, the audit went on",
            prefix.trim_end_matches('/')
        ));
    }

    /// A commit's raw bytes, or None when it cannot be read as a commit.
    pub fn read_commit(&self, oid: Oid) -> Option<Vec<u8>> {
        let object = self.odb.read(oid).ok()?;
        (object.kind() == ObjectType::Commit).then(|| object.data().to_vec())
    }

    /// A commit's header as git sees it (grafts applied), or None when it cannot be read.
    pub fn read_commit_header(
        &self,
        id: ObjectId,
        grafts: &super::grafts::Grafts,
    ) -> Option<super::CommitHeader> {
        let mut header = super::parse_commit_header(&self.read_commit(id.to_oid())?)?;
        grafts.apply(id, &mut header);
        Some(header)
    }

    /// Records one walked commit (in walk order) with its tree and already-walked parents.
    pub fn add_commit(&mut self, tree: u32, parents: impl Iterator<Item = u32>) {
        let start = self.parent_edges.len() as u32;
        self.parent_edges.extend(parents);
        self.commit_trees.push(tree);
        self.commit_parents
            .push((start, self.parent_edges.len() as u32));
    }

    /// A blob a ref points at directly: sent (named by the ref) unless already seen. Returns
    /// its blob index.
    pub fn visit_tagged_blob(
        &mut self,
        blob: ObjectId,
        ref_name: &str,
        send: &mut dyn FnMut(BlobJob),
    ) -> u32 {
        if let Some(known) = self.blob_ids.get(&blob) {
            return *known;
        }
        let next = self.blob_ids.len() as u32;
        self.blob_ids.insert(blob, next);
        send(BlobJob {
            blob: blob.to_oid(),
            path: ref_name.to_owned(),
            secrets_found: None,
        });
        next
    }

    /// Visits a tree once, sending each blob not seen before (unless `scan` is false, for trees
    /// that bound a range). Returns the tree's index.
    pub fn visit_tree(
        &mut self,
        tree_id: ObjectId,
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
        // Raw bytes parsed here: libgit2's tree objects allocate per entry, and the walk reads
        // every unique tree of the history.
        let Some(object) = self.tree_bytes(tree_id, prefix) else {
            return index;
        };
        let data = object.data();
        let mut children = Vec::new();
        let prefix_len = prefix.len();
        // Most entries of a new tree are objects already seen: those cost one map lookup, and
        // their paths are built only when something needs them. Better still, most of a new
        // tree is byte for byte the last version seen at its path: runs of equal entries take
        // that version's edges without being parsed or looked up. Only for a scan without a
        // path allowlist, where what an entry gives depends on its bytes and path alone.
        let reuse = scan && !self.scanner.has_path_allowlist();
        let reference = if reuse {
            self.references.get(prefix.as_str()).cloned()
        } else {
            None
        };
        // Per entry: where it ends in `data`, and its edge (NONE when it has none).
        let mut recorded: Vec<(u32, u32)> = Vec::new();
        let (mut at, mut ref_entry, mut ref_at) = (0usize, 0usize, 0usize);
        while at < data.len() {
            if let Some(reference) = &reference {
                let same = common_prefix(&data[at..], reference.bytes.get(ref_at..).unwrap_or(&[]));
                let first = ref_entry;
                while ref_entry < reference.entries.len()
                    && reference.entries[ref_entry].0 as usize - ref_at <= same
                {
                    ref_entry += 1;
                }
                if ref_entry > first {
                    for (end, child) in &reference.entries[first..ref_entry] {
                        if *child != NONE {
                            children.push(*child);
                        }
                        recorded.push(((at + (*end as usize - ref_at)) as u32, *child));
                    }
                    let run_end = reference.entries[ref_entry - 1].0 as usize;
                    at += run_end - ref_at;
                    ref_at = run_end;
                    self.reused_entries += (ref_entry - first) as u64;
                    continue;
                }
            }
            let rest = &data[at..];
            let Some((entry, tail)) = next_entry(rest) else {
                self.corrupt_tree(prefix, tree_id, "malformed entry");
                break;
            };
            let before = children.len();
            self.visit_entry(
                &entry,
                (prefix, prefix_len),
                depth,
                scan,
                send,
                &mut children,
            );
            at += rest.len() - tail.len();
            let child = if children.len() > before {
                children[children.len() - 1]
            } else {
                NONE
            };
            recorded.push((at as u32, child));
            // Back in step with the reference: past its entries whose names sort up to this
            // one's (deleted or changed since).
            if let Some(reference) = &reference {
                while ref_entry < reference.entries.len()
                    && reference
                        .bytes
                        .get(ref_at..)
                        .and_then(next_entry)
                        .is_some_and(|(previous, _)| previous.name <= entry.name)
                {
                    ref_at = reference.entries[ref_entry].0 as usize;
                    ref_entry += 1;
                }
            }
        }
        prefix.truncate(prefix_len);
        if reuse && data.len() <= u32::MAX as usize {
            self.remember(prefix, data, recorded);
        }
        let (outcome, range) = self.edges.push(&children);
        if let Err(err) = outcome
            && !self.spill_failed
        {
            self.spill_failed = true;
            self.stats.warn(format!(
                "cannot write the history graph to a temporary file ({err}); it is kept in \
                 memory, past --memory-budget (set TMPDIR to a writable directory)"
            ));
        }
        self.tree_edges[index as usize] = range;
        index
    }

    /// Visits one entry of a new tree (see `visit_tree`), pushing its edge, if any, to
    /// `children`.
    fn visit_entry(
        &mut self,
        entry: &RawEntry<'_>,
        (prefix, prefix_len): (&mut String, usize),
        depth: usize,
        scan: bool,
        send: &mut dyn FnMut(BlobJob),
        children: &mut Vec<u32>,
    ) {
        let allowlist = self.scanner.has_path_allowlist();
        // `next_entry` hands out 20-byte ids.
        let Some(id) = ObjectId::from_slice(entry.oid) else {
            return;
        };
        match entry.mode {
            MODE_TREE => {
                if !allowlist && let Some(known) = self.tree_ids.get(&id) {
                    children.push(edge(*known, true));
                    return;
                }
                set_path(prefix, prefix_len, entry.name);
                if self.scanner.path_allowed(Path::new(prefix.as_str()), true) {
                    self.stats.skip(SkipReason::ConfigAllowed, None);
                    return;
                }
                prefix.push('/');
                let child = self.visit_tree(id, prefix, depth + 1, scan, send);
                children.push(edge(child, true));
            }
            MODE_GITLINK => {
                if !self.submodules_noted && scan {
                    self.submodules_noted = true;
                    set_path(prefix, prefix_len, entry.name);
                    self.stats.warn(format!(
                        "{prefix}: submodule history is not audited (run tuskguard history inside it)"
                    ));
                }
            }
            _ => {
                let known = self.blob_ids.get(&id).copied();
                let watch_candidate = scan
                    && self
                        .watch
                        .is_some_and(|watch| (watch.name_may_match)(entry.name));
                if let Some(known) = known
                    && !allowlist
                    && !watch_candidate
                {
                    children.push(edge(known, false));
                    return;
                }
                set_path(prefix, prefix_len, entry.name);
                let path = prefix.as_str();
                if self.scanner.path_allowed(Path::new(path), false) {
                    self.stats.skip(SkipReason::ConfigAllowed, None);
                    return;
                }
                if watch_candidate && self.watch.is_some_and(|watch| (watch.watched)(path)) {
                    self.watched_blobs.push(id.to_oid());
                }
                let blob = match known {
                    Some(known) => known,
                    None => {
                        let next = self.blob_ids.len() as u32;
                        self.blob_ids.insert(id, next);
                        if scan {
                            send(BlobJob {
                                blob: id.to_oid(),
                                path: path.to_owned(),
                                secrets_found: None,
                            });
                        }
                        next
                    }
                };
                children.push(edge(blob, false));
            }
        }
    }

    /// Keeps a tree as the reference for the next new tree at `prefix`; the references
    /// together stay within their share of the memory budget (past it, they start over).
    fn remember(&mut self, prefix: &str, data: &[u8], entries: Vec<(u32, u32)>) {
        let cost = data.len() + entries.len() * 8 + prefix.len() + 64;
        if cost > self.reference_limit {
            return;
        }
        if self.reference_bytes + cost > self.reference_limit {
            self.references.clear();
            self.reference_bytes = 0;
        }
        let reference = Rc::new(Reference {
            bytes: data.into(),
            entries,
        });
        self.reference_bytes += cost;
        if let Some(old) = self.references.insert(prefix.to_owned(), reference) {
            self.reference_bytes -= old.bytes.len() + old.entries.len() * 8 + prefix.len() + 64;
        }
    }
}

fn set_path(prefix: &mut String, prefix_len: usize, name: &[u8]) {
    prefix.truncate(prefix_len);
    prefix.push_str(&String::from_utf8_lossy(name));
}

const MODE_TREE: u32 = 0o040000;
const MODE_GITLINK: u32 = 0o160000;

/// One entry of a raw tree object.
struct RawEntry<'a> {
    mode: u32,
    name: &'a [u8],
    oid: &'a [u8],
}

/// Parses `<octal mode> <name>\0<20-byte id>` at the start of `data`.
fn next_entry(data: &[u8]) -> Option<(RawEntry<'_>, &[u8])> {
    // A mode is a few octal digits: read up to the space, no search needed.
    let mut mode = 0u32;
    let mut space = 0;
    loop {
        let digit = *data.get(space)?;
        if digit == b' ' {
            break;
        }
        if !(b'0'..=b'7').contains(&digit) {
            return None;
        }
        mode = mode.checked_mul(8)? + u32::from(digit - b'0');
        space += 1;
    }
    let after_mode = &data[space + 1..];
    let nul = memchr::memchr(0, after_mode)?;
    let name = &after_mode[..nul];
    let oid = after_mode.get(nul + 1..nul + 21)?;
    Some((RawEntry { mode, name, oid }, &after_mode[nul + 21..]))
}

/// How many bytes two slices have in common at their start, eight at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut same = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let x = u64::from_le_bytes(x.try_into().unwrap_or([0; 8]));
        let y = u64::from_le_bytes(y.try_into().unwrap_or([0; 8]));
        if x != y {
            return same + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        same += 8;
    }
    same + a[same..]
        .iter()
        .zip(&b[same..])
        .take_while(|(x, y)| x == y)
        .count()
}

/// Splits an edge into (index, is_tree).
pub fn split_edge(edge: u32) -> (u32, bool) {
    (edge >> 1, edge & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::Oid;

    /// A new version of a directory reuses the previous version's edges for every entry that
    /// is byte for byte the same, and still gives exactly the edges and the new blobs (with
    /// their paths) that parsing every entry would.
    #[test]
    fn a_new_tree_version_reuses_the_unchanged_entries_of_the_last_one() {
        let dir = assert_fs::TempDir::new().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let blob = |text: String| repo.blob(text.as_bytes()).unwrap();
        let build = |files: &[(String, Oid)]| {
            let mut builder = repo.treebuilder(None).unwrap();
            for (name, id) in files {
                builder.insert(name, *id, 0o100644).unwrap();
            }
            ObjectId::from(builder.write().unwrap())
        };
        let mut files: Vec<(String, Oid)> = (0..60)
            .map(|n| {
                (
                    format!("file-{n:02}.txt"),
                    blob(format!("version 1 of {n}\n")),
                )
            })
            .collect();
        let first = build(&files);
        // Changed, deleted and added entries, at the start, middle and end.
        files[0].1 = blob("changed 0\n".to_owned());
        files.remove(30);
        files[40].1 = blob("changed 41\n".to_owned());
        files.push(("zz-new.txt".to_owned(), blob("new\n".to_owned())));
        files.insert(
            10,
            ("file-09b.txt".to_owned(), blob("inserted\n".to_owned())),
        );
        let second = build(&files);

        let odb = repo.odb().unwrap();
        let scanner = Scanner::builtin().unwrap();
        let stats = ScanStats::default();
        let mut graph = TreeGraph::new(&repo, &odb, &scanner, &stats);
        let mut sent = Vec::new();
        graph.visit_tree(first, &mut String::new(), 0, true, &mut |job| {
            sent.push(job.path)
        });
        assert_eq!((sent.len(), graph.reused_entries), (60, 0));
        sent.clear();
        let tree = graph.visit_tree(second, &mut String::new(), 0, true, &mut |job| {
            sent.push(job.path)
        });
        sent.sort();
        assert_eq!(
            sent,
            ["file-00.txt", "file-09b.txt", "file-41.txt", "zz-new.txt"]
        );
        // 62 entries, four of them new: at least 55 taken from the first version unparsed.
        assert!(graph.reused_entries >= 55, "{}", graph.reused_entries);
        let blob_of: std::collections::HashMap<u32, ObjectId> = graph
            .blob_ids
            .iter()
            .map(|(id, index)| (*index, *id))
            .collect();
        let edges = graph.edges.get(graph.tree_edges[tree as usize]);
        let got: Vec<ObjectId> = edges
            .iter()
            .map(|edge| blob_of[&split_edge(*edge).0])
            .collect();
        let expected: Vec<ObjectId> = files.iter().map(|(_, id)| ObjectId::from(*id)).collect();
        let mut expected_sorted = expected.clone();
        expected_sorted.sort_by_key(|id| {
            files
                .iter()
                .find(|(_, f)| ObjectId::from(*f) == *id)
                .map(|(name, _)| name.clone())
        });
        assert_eq!(got, expected_sorted);
    }

    /// The walk lists the blobs seen at the paths the layer above watches, whatever they are:
    /// it knows the watch only as data (here, `*.pem` files), and a blob already seen elsewhere
    /// is listed again when it turns up at a watched path.
    #[test]
    fn blobs_at_watched_paths_are_listed_whatever_the_watch() {
        let dir = assert_fs::TempDir::new().unwrap();
        let repo = Repository::init_bare(dir.path()).unwrap();
        let same = repo.blob(b"same bytes\n").unwrap();
        let other = repo.blob(b"other bytes\n").unwrap();
        let mut builder = repo.treebuilder(None).unwrap();
        builder.insert("notes.txt", same, 0o100644).unwrap();
        builder.insert("server.pem", same, 0o100644).unwrap();
        builder.insert("pem.txt", other, 0o100644).unwrap();
        let tree = ObjectId::from(builder.write().unwrap());
        let odb = repo.odb().unwrap();
        let scanner = Scanner::builtin().unwrap();
        let stats = ScanStats::default();
        let mut graph = TreeGraph::new(&repo, &odb, &scanner, &stats);
        graph.watch = Some(PathWatch {
            name_may_match: |name| name.windows(3).any(|w| w == b"pem"),
            watched: |path| path.ends_with(".pem"),
            occurrence: |_, _| unreachable!("the walk only lists"),
        });
        let mut sent = Vec::new();
        graph.visit_tree(tree, &mut String::new(), 0, true, &mut |job| {
            sent.push(job.path)
        });
        sent.sort();
        assert_eq!(sent, ["notes.txt", "pem.txt"]);
        assert_eq!(graph.watched_blobs, [same]);
    }

    #[test]
    fn common_prefixes_are_counted_to_the_byte() {
        assert_eq!(common_prefix(b"", b"abc"), 0);
        assert_eq!(common_prefix(b"abcdefghijk", b"abcdefghijk"), 11);
        assert_eq!(common_prefix(b"abcdefghijk", b"abcdefghXjk"), 8);
        assert_eq!(common_prefix(b"abcdeXghijk", b"abcdefghijk"), 5);
        assert_eq!(common_prefix(b"abc", b"abd"), 2);
    }

    #[test]
    fn raw_tree_entries_parse_and_garbage_stops() {
        let mut data = b"100644 a.txt\0".to_vec();
        data.extend_from_slice(&[7u8; 20]);
        data.extend_from_slice(b"40000 dir\0");
        data.extend_from_slice(&[9u8; 20]);
        let (first, rest) = next_entry(&data).unwrap();
        assert_eq!((first.mode, first.name), (0o100644, &b"a.txt"[..]));
        let (second, rest) = next_entry(rest).unwrap();
        assert_eq!((second.mode, second.name), (MODE_TREE, &b"dir"[..]));
        assert!(rest.is_empty());
        assert!(next_entry(b"100644 short\0abc").is_none());
        assert!(next_entry(b"9x9 name\0").is_none());
    }
}
