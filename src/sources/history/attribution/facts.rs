//! Attribution's reads: what pass 1 left (the walk's graph, the blobs with findings, the refs)
//! turned into [`Collected`], and the facts the algorithm asks for ([`HistoryFacts`]) answered
//! from the repository, the walk's graph and the working tree.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use git2::Oid;

use super::{Collected, CommitTip, HistoryFacts, TaggedObject};
use crate::config::ScanSettings;
use crate::findings::CommitRef;
use crate::scanner::Scanner;
use crate::sources::git::commit_ref;
use crate::sources::history::graph::{TreeGraph, edge};
use crate::sources::history::{BlobHit, HistoryScope, Tips};

/// The answers from git: the walk's graph (edges, tree names through its tree cache or
/// libgit2), the repository (commits, HEAD, the commit graph) and its working tree.
pub struct GitFacts<'a> {
    graph: TreeGraph<'a>,
    /// Walked commits, by walk index.
    commits: &'a [Oid],
    /// Per `Collected::tips` entry, its commit.
    tip_commits: Vec<Oid>,
    scanner: &'a Scanner,
    settings: &'a ScanSettings,
    workdir: Option<PathBuf>,
}

/// Splits what pass 1 left into the data attribution works on and the facts it may ask for.
pub fn collect<'a>(
    mut graph: TreeGraph<'a>,
    hits: Vec<BlobHit>,
    (commits, tips): (&'a [Oid], &Tips),
    scope: &HistoryScope,
    scanner: &'a Scanner,
    settings: &'a ScanSettings,
) -> (Collected, GitFacts<'a>) {
    let blob_index = |graph: &TreeGraph<'_>, blob: Oid| graph.blob_ids.get(&blob.into()).copied();
    let hits = hits
        .into_iter()
        .filter_map(|hit| Some((blob_index(&graph, hit.blob)?, hit.occurrences)))
        .collect();
    let watched_blobs = std::mem::take(&mut graph.watched_blobs)
        .into_iter()
        .filter_map(|blob| blob_index(&graph, blob))
        .collect();
    let commit_index: HashMap<Oid, usize> = commits
        .iter()
        .enumerate()
        .map(|(i, oid)| (*oid, i))
        .collect();
    let commit_tips = tips
        .commits
        .iter()
        .map(|tip| CommitTip {
            name: tip.name.clone(),
            commit: commit_index.get(&tip.commit).map(|i| *i as u32),
        })
        .collect();
    let tagged = tips
        .objects
        .iter()
        .zip(std::mem::take(&mut graph.tip_objects))
        .map(|(tip, object)| TaggedObject {
            name: tip.name.clone(),
            is_tree: tip.is_tree,
            object,
            origin: tip.origin.clone(),
        })
        .collect();
    let collected = Collected {
        commit_trees: std::mem::take(&mut graph.commit_trees),
        commit_parents: std::mem::take(&mut graph.commit_parents),
        parent_edges: std::mem::take(&mut graph.parent_edges),
        cut_commits: std::mem::take(&mut graph.cut_commits),
        hits,
        watched_blobs,
        watch: graph.watch,
        tips: commit_tips,
        tagged,
        restricted: scope.is_restricted(),
    };
    let facts = GitFacts {
        workdir: graph.repo.workdir().map(Path::to_path_buf),
        graph,
        commits,
        tip_commits: tips.commits.iter().map(|tip| tip.commit).collect(),
        scanner,
        settings,
    };
    (collected, facts)
}

impl HistoryFacts for GitFacts<'_> {
    fn children(&self, tree: u32) -> Cow<'_, [u32]> {
        self.graph.edges.get(self.graph.tree_edges[tree as usize])
    }

    fn entries(&self, tree: u32) -> Vec<(String, u32)> {
        self.graph
            .tree_entries(tree)
            .into_iter()
            .filter_map(|(name, id)| {
                let child = match self.graph.blob_ids.get(&id) {
                    Some(blob) => edge(*blob, false),
                    None => edge(*self.graph.tree_ids.get(&id)?, true),
                };
                Some((name, child))
            })
            .collect()
    }

    /// A commit pass 1 walked but libgit2 cannot read now still names the finding: what is
    /// known (its id) is reported rather than the finding dropped.
    fn commit(&self, commit: u32) -> CommitRef {
        let oid = self.commits.get(commit as usize).copied();
        match oid.and_then(|oid| self.graph.repo.find_commit(oid).ok()) {
            Some(commit) => commit_ref(&commit),
            None => unreadable_commit(oid),
        }
    }

    fn head_tree(&mut self) -> Option<u32> {
        let head = self.graph.repo.head().ok()?;
        let tree = head.peel_to_tree().ok()?;
        Some(match self.graph.tree_ids.get(&tree.id().into()) {
            Some(index) => *index,
            None => {
                self.graph
                    .visit_tree(tree.id().into(), &mut String::new(), 0, false, &mut |_| {})
            }
        })
    }

    fn tip_descends_from(&self, tip: usize, commit: u32) -> bool {
        let tip = self.tip_commits[tip];
        let oid = self.commits[commit as usize];
        oid == tip
            || self
                .graph
                .repo
                .graph_descendant_of(tip, oid)
                .unwrap_or(false)
    }

    fn working_tree_holds(&self, paths: &[String], fingerprint: &str) -> Option<bool> {
        let root = self.workdir.as_deref()?;
        Some(in_working_tree(
            root,
            paths,
            fingerprint,
            self.scanner,
            self.settings,
        ))
    }

    fn working_tree_has(&self, path: &str) -> Option<bool> {
        Some(self.workdir.as_deref()?.join(path).is_file())
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

#[cfg(test)]
mod tests {
    use git2::{Repository, Signature};

    use super::*;
    use crate::model::ScanStats;
    use crate::sources::history::attribution::attribute;
    use crate::sources::history::{Tip, Tips};

    /// The facts come from the repository, the walk's graph and the working tree: entries are
    /// the walk's indices (a submodule, which the walk records no edge for, is left out), HEAD's
    /// tree outside a restricted walk is added to the graph, a ref the walk did not reach is
    /// asked of the commit graph, the working tree is read with the scanner, and a finding in
    /// a blob the walk never numbered is dropped.
    #[test]
    fn facts_come_from_the_repository_the_walk_and_the_working_tree() {
        let dir = assert_fs::TempDir::new().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let content = format!("token = \"{}\"\n", crate::test_support::live_key(11));
        let key_blob = repo.blob(content.as_bytes()).unwrap();
        let plain = repo.blob(b"plain\n").unwrap();
        let tree = |entries: &[(&str, Oid, i32)]| {
            let mut builder = repo.treebuilder(None).unwrap();
            for (name, id, mode) in entries {
                builder.insert(name, *id, *mode).unwrap();
            }
            repo.find_tree(builder.write().unwrap()).unwrap()
        };
        let gitlink = Oid::from_str(&"12".repeat(20)).unwrap();
        let first = tree(&[("a.txt", key_blob, 0o100644), ("sub", gitlink, 0o160000)]);
        let second = tree(&[("a.txt", key_blob, 0o100644), ("b.txt", plain, 0o100644)]);
        let who = Signature::now("T", "t@example.invalid").unwrap();
        let one = repo
            .commit(Some("HEAD"), &who, &who, "one", &first, &[])
            .unwrap();
        let parent = repo.find_commit(one).unwrap();
        let two = repo
            .commit(Some("HEAD"), &who, &who, "two", &second, &[&parent])
            .unwrap();

        // A restricted walk that saw only the first commit.
        let odb = repo.odb().unwrap();
        let scanner = Scanner::builtin().unwrap();
        let stats = ScanStats::default();
        let mut graph = TreeGraph::new(&repo, &odb, &scanner, &stats);
        let walked = graph.visit_tree(first.id().into(), &mut String::new(), 0, true, &mut |_| {});
        graph.add_commit(walked, std::iter::empty());
        let found = scanner.scan_blob("a.txt", content.as_bytes()).occurrences;
        let fingerprint = found[0].fingerprint.as_str().to_owned();
        let hits = vec![
            BlobHit {
                blob: key_blob,
                occurrences: found.clone(),
            },
            BlobHit {
                blob: repo.blob(b"never walked\n").unwrap(),
                occurrences: found,
            },
        ];
        let commits = [one];
        let tips = Tips {
            commits: vec![Tip {
                name: "refs/heads/main".to_owned(),
                commit: two,
            }],
            objects: Vec::new(),
        };
        let scope = HistoryScope {
            since: Some("HEAD~1".to_owned()),
            ..HistoryScope::default()
        };
        let settings = ScanSettings {
            max_file_size: 1 << 20,
            threads: 1,
            respect_ignore: true,
            baseline: None,
            explain: false,
            repo_config: true,
            memory_budget_mib: 64,
        };
        let (collected, mut facts) =
            collect(graph, hits, (&commits, &tips), &scope, &scanner, &settings);
        assert_eq!(collected.hits.len(), 1);
        assert_eq!(collected.hits[0].0, 0);
        assert!(collected.restricted);
        assert_eq!(collected.tips[0].commit, None);

        assert_eq!(
            facts.entries(walked),
            [("a.txt".to_owned(), edge(0, false))]
        );
        assert_eq!(facts.commit(0).id, one.to_string());
        assert_eq!(facts.commit(0).summary, "one");
        assert!(facts.tip_descends_from(0, 0));
        let head = facts.head_tree().unwrap();
        assert_ne!(head, walked);
        let names: Vec<String> = facts.entries(head).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a.txt", "b.txt"]);
        assert_eq!(facts.children(head).len(), 2);

        std::fs::write(dir.path().join("a.txt"), &content).unwrap();
        std::fs::write(dir.path().join("b.txt"), "plain\n").unwrap();
        let paths = |list: &[&str]| list.iter().map(|p| (*p).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            facts.working_tree_holds(&paths(&["a.txt"]), &fingerprint),
            Some(true)
        );
        assert_eq!(
            facts.working_tree_holds(&paths(&["b.txt", "gone.txt"]), &fingerprint),
            Some(false)
        );
        assert_eq!(facts.working_tree_has("b.txt"), Some(true));
        assert_eq!(facts.working_tree_has("gone.txt"), Some(false));

        let attributed = attribute(collected, &mut facts);
        let info = &attributed.history[&fingerprint];
        assert_eq!(info.introduced.id, one.to_string());
        assert_eq!(info.refs, ["refs/heads/main"]);
        assert!(info.present_at_head);
        assert_eq!(info.in_working_tree, Some(true));
    }
}
