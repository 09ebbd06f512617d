//! The pack reader against libgit2 on packs git itself wrote.

use std::collections::HashMap;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_fs::TempDir;
use git2::{ObjectType, Oid, Repository, Signature};

use super::{Content, ObjectKind, PackSet};

/// A repository whose files change in small steps over many commits, so that `git repack`
/// stores most versions as deltas (chains, and families that branch).
fn repository_with_history() -> (TempDir, Repository) {
    let dir = TempDir::new().unwrap();
    let repo = Repository::init_bare(dir.path()).unwrap();
    let signature = Signature::new("T", "t@example.com", &git2::Time::new(0, 0)).unwrap();
    let mut parent: Option<Oid> = None;
    for version in 0..25 {
        let mut root = repo.treebuilder(None).unwrap();
        for dir_number in 0..3 {
            let mut sub = repo.treebuilder(None).unwrap();
            for file in 0..8 {
                let mut text = String::new();
                for line in 0..200 {
                    let edited = if line == (version * 7 + file) % 200 {
                        version
                    } else {
                        0
                    };
                    text.push_str(&format!("file {file} line {line} value {edited}\n"));
                }
                let blob = repo.blob(text.as_bytes()).unwrap();
                sub.insert(format!("f{file}.txt"), blob, 0o100644).unwrap();
            }
            let sub = sub.write().unwrap();
            root.insert(format!("d{dir_number}"), sub, 0o040000)
                .unwrap();
        }
        let tree = repo.find_tree(root.write().unwrap()).unwrap();
        let parents: Vec<_> = parent
            .iter()
            .map(|p| repo.find_commit(*p).unwrap())
            .collect();
        let parents: Vec<_> = parents.iter().collect();
        let commit = repo
            .commit(
                Some("refs/heads/main"),
                &signature,
                &signature,
                "step",
                &tree,
                &parents,
            )
            .unwrap();
        parent = Some(commit);
    }
    (dir, repo)
}

fn repack(repo: &Repository, offset_deltas: bool) {
    let status = Command::new("git")
        .arg("-C")
        .arg(repo.path())
        .args(["-c", &format!("repack.useDeltaBaseOffset={offset_deltas}")])
        .args(["repack", "-adfq", "--depth=8", "--window=20"])
        .status()
        .unwrap();
    assert!(status.success());
}

fn all_objects(repo: &Repository, kind: ObjectType) -> HashMap<Oid, Vec<u8>> {
    let odb = repo.odb().unwrap();
    let mut ids = Vec::new();
    odb.foreach(|oid| {
        ids.push(*oid);
        true
    })
    .unwrap();
    ids.into_iter()
        .filter_map(|oid| {
            let object = odb.read(oid).unwrap();
            (object.kind() == kind).then(|| (oid, object.data().to_vec()))
        })
        .collect()
}

/// A pool like the run's (`workers::Workers`), with `threads` threads.
fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(64 << 20)
        .build()
        .unwrap()
}

fn delivered(packs: &PackSet, kind: ObjectKind, threads: usize) -> HashMap<Oid, Vec<u8>> {
    let seen = Mutex::new(HashMap::new());
    packs.for_each_object(&[kind], &pool(threads), u64::MAX, |packed, content| {
        assert_eq!(packed.kind, kind);
        let Content::Bytes(bytes) = content else {
            panic!("{:?} said too large without a limit", packed.id.to_oid());
        };
        let oid = packed.id.to_oid();
        let previous = seen.lock().unwrap().insert(oid, bytes.to_vec());
        assert!(previous.is_none(), "{oid} delivered twice");
    });
    seen.into_inner().unwrap()
}

fn count_deltas(repo: &Repository) -> usize {
    let output = Command::new("git")
        .arg("-C")
        .arg(repo.path())
        .args(["verify-pack", "-v"])
        .arg(
            std::fs::read_dir(repo.path().join("objects/pack"))
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .find(|path| path.extension().is_some_and(|ext| ext == "idx"))
                .unwrap(),
        )
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    // Delta entries have two more columns: depth and base id.
    text.lines()
        .filter(|line| line.split_whitespace().count() == 7)
        .count()
}

#[test]
fn every_tree_and_blob_matches_libgit2_with_both_delta_encodings() {
    for offset_deltas in [true, false] {
        let (_dir, repo) = repository_with_history();
        repack(&repo, offset_deltas);
        assert!(
            count_deltas(&repo) > 100,
            "the fixture must exercise deltas"
        );
        let packs = PackSet::open(&repo.path().join("objects"));
        assert_eq!(packs.packs.len(), 1);
        for (kind, object_type) in [
            (ObjectKind::Commit, ObjectType::Commit),
            (ObjectKind::Tree, ObjectType::Tree),
            (ObjectKind::Blob, ObjectType::Blob),
        ] {
            let expected = all_objects(&repo, object_type);
            for threads in [1, 3] {
                let got = delivered(&packs, kind, threads);
                assert_eq!(
                    got.len(),
                    expected.len(),
                    "{kind:?}, offset deltas {offset_deltas}"
                );
                assert!(got == expected, "{kind:?} bytes differ from libgit2's");
            }
        }
    }
}

/// A bare repository holding twenty versions of one directory (30 files, one of them changed
/// each time), one commit each, repacked: its trees form one delta family.
pub fn one_directory_in_twenty_versions() -> (TempDir, Repository) {
    let dir = TempDir::new().unwrap();
    let repo = Repository::init_bare(dir.path()).unwrap();
    let mut parent = None;
    for version in 0..20 {
        let mut root = repo.treebuilder(None).unwrap();
        for file in 0..30 {
            let text = format!("file {file} version {}\n", version * usize::from(file == 0));
            let blob = repo.blob(text.as_bytes()).unwrap();
            root.insert(format!("file-{file:03}.txt"), blob, 0o100644)
                .unwrap();
        }
        let tree = repo.find_tree(root.write().unwrap()).unwrap();
        parent = Some(commit_on_main(&repo, &tree, parent));
    }
    repack(&repo, true);
    (dir, repo)
}

/// Once the caller wants no more of a kind, no more of it is rebuilt, in a delta family
/// already under way too, while the other kinds still all come.
#[test]
fn a_kind_no_longer_wanted_stops_coming() {
    let (_dir, repo) = one_directory_in_twenty_versions();
    let packs = PackSet::open(&repo.path().join("objects"));
    let count = |kind| {
        let delivered = AtomicUsize::new(0);
        let wanted = |of: ObjectKind| of != kind || delivered.load(Ordering::Relaxed) < 1;
        let others = AtomicUsize::new(0);
        packs.for_each_object_while(
            &[ObjectKind::Tree, ObjectKind::Commit],
            &pool(1),
            u64::MAX,
            &wanted,
            |packed, _| {
                let counter = if packed.kind == kind {
                    &delivered
                } else {
                    &others
                };
                counter.fetch_add(1, Ordering::Relaxed);
            },
        );
        (delivered.into_inner(), others.into_inner())
    };
    assert_eq!(count(ObjectKind::Tree), (1, 20));
    assert_eq!(count(ObjectKind::Commit), (1, 20));
    assert!(count_deltas(&repo) >= 19, "the trees must form one family");
}

/// With a page budget of nothing, the reader releases the mapping behind it (pages never pile
/// up in RSS) and still rebuilds every object exactly as libgit2 reads it.
#[test]
fn a_tiny_page_budget_releases_the_pack_and_reads_the_same() {
    let (_dir, repo) = repository_with_history();
    repack(&repo, true);
    let packs = PackSet::open_with_page_budget(&repo.path().join("objects"), 0);
    let pack = &packs.packs[0];
    let before = pack.pages.releases();
    let expected = all_objects(&repo, ObjectType::Blob);
    let got = delivered(&packs, ObjectKind::Blob, 2);
    assert!(
        got == expected,
        "blobs differ from libgit2's under a page budget"
    );
    assert!(
        pack.pages.releases() > before,
        "the mapping was never released"
    );
    // Without a budget, nothing is released while reading.
    let roomy = PackSet::open(&repo.path().join("objects"));
    let before = roomy.packs[0].pages.releases();
    delivered(&roomy, ObjectKind::Blob, 2);
    assert_eq!(roomy.packs[0].pages.releases(), before);
}

#[test]
fn a_damaged_pack_delivers_what_it_can_and_never_panics() {
    let (_dir, repo) = repository_with_history();
    repack(&repo, true);
    let pack_dir = repo.path().join("objects/pack");
    let pack_path = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "pack"))
        .unwrap();
    let original = std::fs::read(&pack_path).unwrap();
    let blobs = all_objects(&repo, ObjectType::Blob);
    // Garble bytes across the pack, one region at a time: whatever is delivered is right.
    let mut noticed = 0;
    for region in 1..8 {
        let mut damaged = original.clone();
        let start = original.len() * region / 8;
        for byte in &mut damaged[start..(start + 64).min(original.len() - 20)] {
            *byte ^= 0x5a;
        }
        std::fs::write(&pack_path, &damaged).unwrap();
        let packs = PackSet::open(&repo.path().join("objects"));
        let got = delivered(&packs, ObjectKind::Blob, 2);
        for (oid, bytes) in &got {
            assert_eq!(bytes, &blobs[oid], "region {region}: {oid} rebuilt wrongly");
        }
        // Commits and trees come first in a pack: not every region holds blobs.
        noticed += usize::from(got.len() < blobs.len());
    }
    assert!(
        noticed >= 3,
        "damage to blobs went unnoticed ({noticed} regions)"
    );
    // A truncated pack, and an index that is not one, are left out entirely.
    std::fs::write(&pack_path, &original[..original.len() / 2]).unwrap();
    assert_eq!(PackSet::open(&repo.path().join("objects")).slot_count(), 0);
    std::fs::write(&pack_path, &original).unwrap();
    for entry in std::fs::read_dir(&pack_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "idx") {
            std::fs::write(&path, b"\xfftOc\x00\x00\x00\x02short").unwrap();
        }
    }
    assert_eq!(PackSet::open(&repo.path().join("objects")).slot_count(), 0);
}

#[test]
fn objects_spread_over_several_packs_are_each_delivered_once() {
    let (_dir, repo) = repository_with_history();
    repack(&repo, true);
    // More history, packed on its own: a second pack whose deltas may not cross packs.
    let signature = Signature::new("T", "t@example.com", &git2::Time::new(0, 0)).unwrap();
    let head = repo
        .find_reference("refs/heads/main")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    let mut root = repo.treebuilder(Some(&head.tree().unwrap())).unwrap();
    let blob = repo.blob(b"a file added after the first repack\n").unwrap();
    root.insert("late.txt", blob, 0o100644).unwrap();
    let tree = repo.find_tree(root.write().unwrap()).unwrap();
    repo.commit(
        Some("refs/heads/main"),
        &signature,
        &signature,
        "late",
        &tree,
        &[&head],
    )
    .unwrap();
    let status = Command::new("git")
        .arg("-C")
        .arg(repo.path())
        .args(["repack", "-dq"])
        .status()
        .unwrap();
    assert!(status.success());
    let packs = PackSet::open(&repo.path().join("objects"));
    assert_eq!(packs.packs.len(), 2);
    for (kind, object_type) in [
        (ObjectKind::Tree, ObjectType::Tree),
        (ObjectKind::Blob, ObjectType::Blob),
    ] {
        let expected = all_objects(&repo, object_type);
        assert_eq!(delivered(&packs, kind, 2), expected, "{kind:?}");
    }
    // Every slot names its object.
    let slots = packs.slot_count();
    packs.for_each_object(&[ObjectKind::Blob], &pool(1), u64::MAX, |packed, _| {
        assert!(packs.slots_of(packed.id).any(|slot| slot == packed.slot));
        assert!(packed.slot < slots);
    });
}

#[test]
fn a_shared_clone_reads_the_packs_of_its_alternates() {
    let (_dir, repo) = repository_with_history();
    repack(&repo, true);
    let clone_dir = TempDir::new().unwrap();
    let clone = clone_dir.path().join("shared.git");
    let status = Command::new("git")
        .args(["clone", "-q", "--bare", "--shared"])
        .arg(repo.path())
        .arg(&clone)
        .status()
        .unwrap();
    assert!(status.success());
    let clone = Repository::open_bare(&clone).unwrap();
    let packs = PackSet::open(&clone.path().join("objects"));
    assert_eq!(
        packs.packs.len(),
        1,
        "the origin's pack, through objects/info/alternates"
    );
    let expected = all_objects(&repo, ObjectType::Blob);
    assert_eq!(delivered(&packs, ObjectKind::Blob, 2), expected);
}

#[test]
fn objects_over_the_limit_are_said_not_inflated() {
    let dir = TempDir::new().unwrap();
    let repo = Repository::init_bare(dir.path()).unwrap();
    // Versions of one file around a 64 KiB limit: packed, the big ones are bases or deltas with
    // big targets, the small ones deltas of big bases.
    let line = |n: usize| format!("line {n} of a file that grows and shrinks again\n");
    let sizes = [1_000, 3_000, 200_000, 260_000, 2_000, 150_000];
    let mut parent: Option<Oid> = None;
    for lines in sizes {
        let text: String = (0..lines / 48).map(line).collect();
        let blob = repo.blob(text.as_bytes()).unwrap();
        let mut root = repo.treebuilder(None).unwrap();
        root.insert("f.txt", blob, 0o100644).unwrap();
        let tree = repo.find_tree(root.write().unwrap()).unwrap();
        parent = Some(commit_on_main(&repo, &tree, parent));
    }
    repack(&repo, true);
    assert!(count_deltas(&repo) > 0);
    let limit = 64 << 10;
    let expected = all_objects(&repo, ObjectType::Blob);
    let packs = PackSet::open(&repo.path().join("objects"));
    let seen = Mutex::new(HashMap::new());
    packs.for_each_object(&[ObjectKind::Blob], &pool(2), limit, |packed, content| {
        let oid = packed.id.to_oid();
        let bytes = &expected[&oid];
        match content {
            Content::Bytes(got) => {
                assert!(
                    got.len() as u64 <= limit,
                    "{oid}: {} bytes inflated",
                    got.len()
                );
                assert_eq!(got, bytes.as_slice());
            }
            Content::TooLarge(size) => assert_eq!(size, bytes.len() as u64, "{oid}"),
        }
        assert!(seen.lock().unwrap().insert(oid, ()).is_none());
    });
    let seen = seen.into_inner().unwrap();
    let too_large = expected.values().filter(|b| b.len() as u64 > limit).count();
    assert_eq!(too_large, 3);
    // Members of a family below an object over the limit are left to the caller's fallback
    // (which reads their sizes from their headers); the rest are delivered.
    assert!(
        seen.len() >= expected.len() - too_large,
        "{} of {}",
        seen.len(),
        expected.len()
    );
}

#[test]
fn overlapping_packs_deliver_each_object_once() {
    let (_dir, repo) = repository_with_history();
    repack(&repo, true);
    // A second copy of the pack under another name: every object is in both.
    let pack_dir = repo.path().join("objects/pack");
    let index = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "idx"))
        .unwrap();
    std::fs::copy(&index, pack_dir.join("pack-copy.idx")).unwrap();
    std::fs::copy(
        index.with_extension("pack"),
        pack_dir.join("pack-copy.pack"),
    )
    .unwrap();
    let packs = PackSet::open(&repo.path().join("objects"));
    assert_eq!(packs.packs.len(), 2);
    assert!(packs.packs[1].duplicate.iter().all(|d| *d));
    for (kind, object_type) in [
        (ObjectKind::Tree, ObjectType::Tree),
        (ObjectKind::Blob, ObjectType::Blob),
    ] {
        // `delivered` fails on an object delivered twice.
        assert_eq!(
            delivered(&packs, kind, 2),
            all_objects(&repo, object_type),
            "{kind:?}"
        );
    }
}

/// Commits `tree` on `refs/heads/main` after `parent`: one step of a linear test history.
pub(crate) fn commit_on_main(repo: &Repository, tree: &git2::Tree, parent: Option<Oid>) -> Oid {
    let signature = Signature::new("T", "t@example.com", &git2::Time::new(0, 0)).unwrap();
    let parents: Vec<_> = parent
        .iter()
        .map(|p| repo.find_commit(*p).unwrap())
        .collect();
    let parents: Vec<_> = parents.iter().collect();
    repo.commit(
        Some("refs/heads/main"),
        &signature,
        &signature,
        "v",
        tree,
        &parents,
    )
    .unwrap()
}
