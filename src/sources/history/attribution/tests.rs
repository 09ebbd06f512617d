//! The attribution algorithm on hand-built graphs: no repository, the facts answered by
//! `Fake`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use super::*;
use crate::model::{Confidence, FindingKind, Fingerprint, Location, Severity};
use crate::sources::history::graph::edge;

/// A blob child (by blob index) and a tree child (by tree index).
fn blob(index: u32) -> u32 {
    edge(index, false)
}

fn tree(index: u32) -> u32 {
    edge(index, true)
}

fn occurrence(rule_id: &str, fingerprint: Fingerprint, path: &str) -> Occurrence {
    Occurrence {
        rule_id: rule_id.to_owned(),
        kind: FindingKind::Secret,
        severity: Severity::High,
        confidence: Confidence::High,
        title: "test finding".to_owned(),
        remediation: "rotate it".to_owned(),
        fingerprint,
        secret: None,
        location: Location {
            path: path.to_owned(),
            raw_path: None,
            line: 1,
            column: 1,
            end_column: 2,
            encoding: crate::model::Encoding::Plain,
            commit: None,
        },
    }
}

/// A finding whose fingerprint is made from `name` (no key-shaped text).
fn finding(name: &str) -> Occurrence {
    occurrence(
        "test-rule",
        Fingerprint::for_secret("test-rule", name),
        "as-scanned",
    )
}

fn fingerprint(name: &str) -> String {
    Fingerprint::for_secret("test-rule", name).into_string()
}

/// The facts, from a hand-built graph: trees as named entries, commits named `commit-N`.
#[derive(Default)]
struct Fake {
    trees: Vec<Vec<(&'static str, u32)>>,
    head: Option<u32>,
    /// (tip number, commit) pairs where the tip descends from the commit.
    descends: Vec<(usize, u32)>,
    /// Path → fingerprints its working-tree copy holds; None for a bare repository.
    working_tree: Option<HashMap<&'static str, Vec<String>>>,
    /// Trees asked for their names.
    named: RefCell<HashSet<u32>>,
}

impl HistoryFacts for Fake {
    fn children(&self, tree: u32) -> Cow<'_, [u32]> {
        Cow::Owned(self.trees[tree as usize].iter().map(|(_, e)| *e).collect())
    }

    fn entries(&self, tree: u32) -> Vec<(String, u32)> {
        self.named.borrow_mut().insert(tree);
        self.trees[tree as usize]
            .iter()
            .map(|(name, e)| ((*name).to_owned(), *e))
            .collect()
    }

    fn commit(&self, commit: u32) -> CommitRef {
        commit_named(&format!("commit-{commit}"))
    }

    fn head_tree(&mut self) -> Option<u32> {
        self.head
    }

    fn tip_descends_from(&self, tip: usize, commit: u32) -> bool {
        self.descends.contains(&(tip, commit))
    }

    fn working_tree_holds(&self, paths: &[String], fingerprint: &str) -> Option<bool> {
        let files = self.working_tree.as_ref()?;
        Some(paths.iter().any(|path| {
            files
                .get(path.as_str())
                .is_some_and(|held| held.iter().any(|f| f == fingerprint))
        }))
    }

    fn working_tree_has(&self, path: &str) -> Option<bool> {
        Some(self.working_tree.as_ref()?.contains_key(path))
    }
}

fn commit_named(id: &str) -> CommitRef {
    CommitRef {
        id: id.to_owned(),
        author: "A".to_owned(),
        email: "a@example.invalid".to_owned(),
        time: "2026-01-01T00:00:00Z".to_owned(),
        summary: "s".to_owned(),
        at_or_before: false,
    }
}

/// Commits in walk order (parents first): each its tree and its parents' walk indices.
fn walked(commits: &[(u32, &[u32])]) -> Collected {
    let mut collected = Collected::default();
    for (tree, parents) in commits {
        let start = collected.parent_edges.len() as u32;
        collected.parent_edges.extend_from_slice(parents);
        collected.commit_trees.push(*tree);
        collected
            .commit_parents
            .push((start, collected.parent_edges.len() as u32));
    }
    collected
}

fn tip(name: &str, commit: Option<u32>) -> CommitTip {
    CommitTip {
        name: name.to_owned(),
        commit,
    }
}

/// (path, commit id) of each occurrence, in order.
fn located(attributed: &Attributed) -> Vec<(String, String)> {
    attributed
        .occurrences
        .iter()
        .map(|o| {
            let commit = o.location.commit.as_ref().map(|c| c.id.clone());
            (o.location.path.clone(), commit.unwrap_or_default())
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn a_key_in_linear_history_is_introduced_by_the_first_commit_holding_it() {
    let mut facts = Fake {
        trees: vec![
            vec![("README", blob(0))],
            vec![("README", blob(0)), ("config.txt", blob(1))],
            vec![
                ("README", blob(0)),
                ("config.txt", blob(1)),
                ("more", blob(2)),
            ],
        ],
        head: Some(2),
        working_tree: Some(HashMap::from([("config.txt", vec![fingerprint("alpha")])])),
        ..Fake::default()
    };
    let mut collected = walked(&[(0, &[]), (1, &[0]), (2, &[1])]);
    collected.hits = vec![(1, vec![finding("alpha")])];
    collected.tips = vec![tip("refs/heads/main", Some(2))];
    let attributed = attribute(collected, &mut facts);

    let info = &attributed.history[&fingerprint("alpha")];
    assert_eq!(info.introduced.id, "commit-1");
    assert!(!info.introduced.at_or_before);
    assert!(info.present_at_head);
    assert_eq!(info.in_working_tree, Some(true));
    assert_eq!(info.refs, ["refs/heads/main"]);
    assert!(!info.pushed);
    assert_eq!(attributed.history.len(), 1);
    // One occurrence per (blob, path), dated by its first commit, with the finding's own data.
    assert_eq!(located(&attributed), pairs(&[("config.txt", "commit-1")]));
    assert_eq!(attributed.occurrences[0].title, "test finding");
    // Only trees holding the finding were asked for their names.
    assert_eq!(*facts.named.borrow(), HashSet::from([1, 2]));
}

#[test]
fn a_key_on_a_side_branch_is_introduced_there_and_named_by_both_tips() {
    let mut facts = Fake {
        trees: vec![
            vec![("README", blob(0))],
            vec![("README", blob(0)), ("main.txt", blob(2))],
            vec![("README", blob(0)), ("beta.txt", blob(3)), ("src", tree(4))],
            vec![("README", blob(0)), ("src", tree(4))],
            vec![("key.txt", blob(1))],
            vec![("README", blob(0)), ("main.txt", blob(2)), ("src", tree(4))],
        ],
        head: Some(5),
        ..Fake::default()
    };
    // c0 → c1 (main); c0 → c2 (side: adds src/key.txt and beta.txt) → c3 (side: removes
    // beta.txt); c4 merges c1 and c3. beta reaches main only through the merge's second parent.
    let mut collected = walked(&[(0, &[]), (1, &[0]), (2, &[0]), (3, &[2]), (5, &[1, 3])]);
    collected.hits = vec![(1, vec![finding("alpha")]), (3, vec![finding("beta")])];
    collected.tips = vec![
        tip("refs/heads/main", Some(4)),
        tip("refs/heads/side", Some(3)),
        tip("refs/heads/before-merge", Some(1)),
    ];
    let attributed = attribute(collected, &mut facts);

    let alpha = &attributed.history[&fingerprint("alpha")];
    assert_eq!(alpha.introduced.id, "commit-2");
    assert_eq!(alpha.refs, ["refs/heads/main", "refs/heads/side"]);
    assert!(alpha.present_at_head);
    assert_eq!(alpha.in_working_tree, None);
    let beta = &attributed.history[&fingerprint("beta")];
    assert_eq!(beta.introduced.id, "commit-2");
    assert_eq!(beta.refs, ["refs/heads/main", "refs/heads/side"]);
    assert!(!beta.present_at_head);
    assert_eq!(
        located(&attributed),
        pairs(&[("beta.txt", "commit-2"), ("src/key.txt", "commit-2")])
    );
}

#[test]
fn a_key_removed_before_head_is_not_present_at_head() {
    let mut facts = Fake {
        trees: vec![
            vec![("README", blob(0))],
            vec![("README", blob(0)), ("key.txt", blob(1))],
        ],
        // The key came in with commit 1 and went out with commit 2 (back to tree 0).
        head: Some(0),
        working_tree: Some(HashMap::from([("key.txt", Vec::new())])),
        ..Fake::default()
    };
    let mut collected = walked(&[(0, &[]), (1, &[0]), (0, &[1])]);
    collected.hits = vec![(1, vec![finding("alpha")])];
    collected.tips = vec![tip("refs/heads/main", Some(2))];
    let attributed = attribute(collected, &mut facts);

    let info = &attributed.history[&fingerprint("alpha")];
    assert_eq!(info.introduced.id, "commit-1");
    assert!(!info.present_at_head);
    // The file is still there, without the key.
    assert_eq!(info.in_working_tree, Some(false));
    // Still in main's history.
    assert_eq!(info.refs, ["refs/heads/main"]);
}

#[test]
fn a_key_is_pushed_when_a_remote_tracking_ref_reaches_it() {
    let mut facts = Fake {
        trees: vec![
            vec![("README", blob(0))],
            vec![("README", blob(0)), ("a.txt", blob(1))],
            vec![("README", blob(0)), ("a.txt", blob(1)), ("b.txt", blob(2))],
        ],
        head: Some(2),
        ..Fake::default()
    };
    let mut collected = walked(&[(0, &[]), (1, &[0]), (2, &[1])]);
    collected.hits = vec![(1, vec![finding("alpha")]), (2, vec![finding("beta")])];
    // origin/main is one commit behind main: it holds alpha, not beta.
    collected.tips = vec![
        tip("refs/heads/main", Some(2)),
        tip("refs/remotes/origin/main", Some(1)),
    ];
    let attributed = attribute(collected, &mut facts);

    let alpha = &attributed.history[&fingerprint("alpha")];
    assert!(alpha.pushed);
    assert_eq!(alpha.refs, ["refs/heads/main", "refs/remotes/origin/main"]);
    let beta = &attributed.history[&fingerprint("beta")];
    assert!(!beta.pushed);
    assert_eq!(beta.refs, ["refs/heads/main"]);
    assert_eq!(beta.introduced.id, "commit-2");
}

fn env_occurrence(path: &str, commit: Option<CommitRef>) -> Occurrence {
    let mut made = occurrence(
        "env-test",
        Fingerprint::for_lint("env-test", path, ""),
        path,
    );
    made.location.commit = commit;
    made
}

#[test]
fn a_watched_path_is_dated_like_a_finding() {
    let mut facts = Fake {
        trees: vec![
            vec![("README", blob(0))],
            vec![
                (".env", blob(1)),
                ("README", blob(0)),
                ("copy.txt", blob(1)),
            ],
            vec![(".env", blob(1)), ("README", blob(0)), ("config", tree(3))],
            vec![("app.env", blob(1))],
        ],
        head: Some(2),
        working_tree: Some(HashMap::from([(".env", Vec::new())])),
        ..Fake::default()
    };
    let mut collected = walked(&[(0, &[]), (1, &[0]), (2, &[1])]);
    // The env file's blob had no secret; it is watched because it was seen at `.env`.
    collected.watched_blobs = vec![1];
    collected.watch = Some(PathWatch {
        name_may_match: |_| true,
        watched: |path| path.ends_with(".env"),
        occurrence: env_occurrence,
    });
    collected.tips = vec![tip("refs/heads/main", Some(2))];
    let attributed = attribute(collected, &mut facts);

    let key = |path: &str| Fingerprint::for_lint("env-test", path, "").into_string();
    let root = &attributed.history[&key(".env")];
    assert_eq!(root.introduced.id, "commit-1");
    assert!(root.present_at_head);
    assert_eq!(root.in_working_tree, Some(true));
    assert_eq!(root.refs, ["refs/heads/main"]);
    let nested = &attributed.history[&key("config/app.env")];
    assert_eq!(nested.introduced.id, "commit-2");
    assert_eq!(nested.in_working_tree, Some(false));
    // The same bytes at a path nobody watches are not dated.
    assert_eq!(attributed.history.len(), 2);
    assert_eq!(
        located(&attributed),
        pairs(&[(".env", "commit-1"), ("config/app.env", "commit-2")])
    );
    assert!(
        attributed
            .occurrences
            .iter()
            .all(|o| o.rule_id == "env-test")
    );
}

#[test]
fn a_tagged_blob_or_tree_with_no_commit_is_introduced_by_its_tag() {
    let mut facts = Fake {
        trees: vec![vec![("secret.txt", blob(1)), ("other.txt", blob(2))]],
        ..Fake::default()
    };
    let mut collected = Collected {
        hits: vec![(0, vec![finding("alpha")]), (1, vec![finding("beta")])],
        tagged: vec![
            TaggedObject {
                name: "refs/tags/keyblob".to_owned(),
                is_tree: false,
                object: 0,
                origin: commit_named("tag-keyblob"),
            },
            TaggedObject {
                name: "refs/tags/keytree".to_owned(),
                is_tree: true,
                object: 0,
                origin: commit_named("tag-keytree"),
            },
        ],
        ..Collected::default()
    };
    collected.tips = Vec::new();
    let attributed = attribute(collected, &mut facts);

    let alpha = &attributed.history[&fingerprint("alpha")];
    assert_eq!(alpha.introduced.id, "tag-keyblob");
    assert_eq!(alpha.refs, ["refs/tags/keyblob"]);
    assert!(!alpha.present_at_head);
    assert_eq!(alpha.in_working_tree, None);
    let beta = &attributed.history[&fingerprint("beta")];
    assert_eq!(beta.introduced.id, "tag-keytree");
    assert_eq!(beta.refs, ["refs/tags/keytree"]);
    // A tagged blob is named by its tag; a tagged tree's blob by its path in the tree.
    assert_eq!(
        located(&attributed),
        pairs(&[
            ("refs/tags/keyblob", "tag-keyblob"),
            ("secret.txt", "tag-keytree")
        ])
    );
}

#[test]
fn a_ref_outside_a_restricted_walk_holds_what_its_commit_descends_from() {
    let trees = vec![vec![("key.txt", blob(0))]];
    let run = |restricted: bool| {
        let mut facts = Fake {
            trees: trees.clone(),
            descends: vec![(0, 0)],
            ..Fake::default()
        };
        let mut collected = walked(&[(0, &[])]);
        collected.hits = vec![(0, vec![finding("alpha")])];
        collected.tips = vec![tip("refs/heads/later", None), tip("refs/heads/apart", None)];
        collected.restricted = restricted;
        attribute(collected, &mut facts).history[&fingerprint("alpha")]
            .refs
            .clone()
    };
    assert_eq!(run(true), ["refs/heads/later"]);
    // A full walk reached every tip: one it did not reach holds nothing it found.
    assert!(run(false).is_empty());
}

#[test]
fn a_key_first_seen_at_a_cut_commit_came_in_at_or_before_it() {
    let mut facts = Fake {
        trees: vec![
            vec![("key.txt", blob(0))],
            vec![("key.txt", blob(0)), ("new.txt", blob(1))],
        ],
        ..Fake::default()
    };
    let mut collected = walked(&[(0, &[]), (1, &[0])]);
    collected.cut_commits = vec![0];
    collected.hits = vec![(0, vec![finding("alpha")]), (1, vec![finding("beta")])];
    let attributed = attribute(collected, &mut facts);
    assert!(
        attributed.history[&fingerprint("alpha")]
            .introduced
            .at_or_before
    );
    assert!(
        !attributed.history[&fingerprint("beta")]
            .introduced
            .at_or_before
    );
    assert!(attributed.occurrences.iter().all(
        |o| o.location.commit.as_ref().unwrap().at_or_before == (o.location.path == "key.txt")
    ));
}
