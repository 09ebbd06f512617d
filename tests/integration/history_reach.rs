//! `tuskguard history` reaches every object a ref reaches (tags of blobs and trees), and a
//! damaged repository never audits as clean.

use std::path::Path;

use serde_json::Value;

use crate::helpers::*;
use crate::history::{audit, new_repo, repack, secrets, write_commit};

/// The refs of the finding whose redacted key starts like `key`.
fn refs_of<'a>(report: &'a Value, key: &str) -> &'a Value {
    let prefix = &key[..12];
    secrets(report)
        .into_iter()
        .find(|f| {
            f["secret"]["redacted"]
                .as_str()
                .is_some_and(|r| r.starts_with(prefix))
        })
        .map(|f| &f["history"]["refs"])
        .unwrap_or_else(|| panic!("no finding for {prefix}: {report:#}"))
}

fn hash_object(repo: &Path, text: &str) -> String {
    let file = repo.join(".git/tmp-object");
    std::fs::write(&file, text).unwrap();
    let id = git(repo, &["hash-object", "-w", file.to_str().unwrap()]);
    std::fs::remove_file(file).unwrap();
    id.trim().to_owned()
}

#[test]
fn blobs_and_trees_that_tags_point_at_are_audited() {
    let dir = new_repo();
    let repo = dir.path();
    let keys: Vec<String> = (440..444).map(live_key).collect();
    let light = hash_object(repo, &format!("k={}\n", keys[0]));
    git(repo, &["tag", "light", &light]);
    let annotated = hash_object(repo, &format!("k={}\n", keys[1]));
    git(repo, &["tag", "-a", "-m", "a blob", "annot", &annotated]);
    let in_tree = hash_object(repo, &format!("k={}\n", keys[2]));
    let tree = git_stdin(
        repo,
        &["mktree"],
        &format!("100644 blob {in_tree}\tx.txt\n"),
    );
    git(repo, &["tag", "treetag", tree.trim()]);
    // A chain: an annotated tag of an annotated tag of a blob.
    let chained = hash_object(repo, &format!("k={}\n", keys[3]));
    git(repo, &["tag", "-a", "-m", "inner", "inner", &chained]);
    git(repo, &["tag", "-a", "-m", "outer", "outer", "inner"]);

    for packed in [false, true] {
        if packed {
            repack(repo);
        }
        let (code, report, stderr) = audit(repo, &[]);
        assert_eq!(code, 1, "packed={packed} {stderr}");
        assert_eq!(secrets(&report).len(), 4, "packed={packed} {report:#}");
        assert_eq!(
            refs_of(&report, &keys[0]),
            &serde_json::json!(["refs/tags/light"])
        );
        assert_eq!(
            refs_of(&report, &keys[1]),
            &serde_json::json!(["refs/tags/annot"])
        );
        assert_eq!(
            refs_of(&report, &keys[2]),
            &serde_json::json!(["refs/tags/treetag"])
        );
        assert_eq!(
            refs_of(&report, &keys[3]),
            &serde_json::json!(["refs/tags/inner", "refs/tags/outer"])
        );
        let paths: Vec<&str> = secrets(&report)
            .iter()
            .filter_map(|f| f["locations"][0]["path"].as_str())
            .collect();
        assert!(paths.contains(&"x.txt"), "{paths:?}");
        assert!(paths.contains(&"refs/tags/light"), "{paths:?}");
        assert!(!stderr.contains("not audited"), "{stderr}");
    }
}

/// `git <args>` with `input` on stdin.
fn git_stdin(repo: &Path, args: &[&str], input: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("git")
        .args(args)
        .current_dir(repo)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

/// A history whose first commit holds a key that later commits remove.
fn key_then_three_commits() -> assert_fs::TempDir {
    let dir = assert_fs::TempDir::new().unwrap();
    let repo = dir.path();
    init_repo(repo);
    write_commit(repo, "s.txt", &format!("k={}\n", live_key(445)), "key");
    std::fs::remove_file(repo.join("s.txt")).unwrap();
    std::fs::write(repo.join("keep.txt"), "x\n").unwrap();
    commit_all(repo, "rm");
    for n in 1..=3 {
        write_commit(repo, &format!("f{n}"), &format!("{n}\n"), &format!("c{n}"));
    }
    dir
}

fn make_writable(path: &Path) {
    let mut permissions = std::fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(path, permissions).unwrap();
}

fn only_file_with_extension(dir: &Path, extension: &str) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == extension))
        .unwrap()
}

/// Exit 2 with the count by default; with --allow-incomplete the findings decide.
fn assert_incomplete(repo: &Path, accepted_code: i32) -> Value {
    let (code, report, stderr) = audit(repo, &[]);
    assert_eq!(code, 2, "{stderr}\n{report:#}");
    let unread = report["summary"]["incomplete"]["unread_objects"]
        .as_u64()
        .unwrap_or(0);
    assert!(unread >= 1, "{report:#}");
    assert!(
        stderr.contains(&format!("{unread} git object(s) could not be read")),
        "{stderr}"
    );
    assert!(!stderr.contains("no commits yet"), "{stderr}");
    let (code, accepted, stderr) = audit(repo, &["--allow-incomplete"]);
    assert_eq!(code, accepted_code, "{stderr}");
    assert_eq!(
        accepted["summary"]["incomplete"],
        report["summary"]["incomplete"]
    );
    report
}

#[test]
fn a_garbage_loose_commit_makes_the_audit_fail_loudly() {
    let dir = key_then_three_commits();
    let repo = dir.path();
    let commit = rev_parse(repo, "HEAD~1");
    let object = repo
        .join(".git/objects")
        .join(&commit[..2])
        .join(&commit[2..]);
    make_writable(&object);
    std::fs::write(&object, "garbage").unwrap();
    let report = assert_incomplete(repo, 0);
    let named = report["summary"]["incomplete"]["objects"].to_string();
    assert!(named.contains(&commit), "{named}");
}

#[test]
fn a_truncated_pack_index_makes_the_audit_fail_loudly() {
    let dir = key_then_three_commits();
    let repo = dir.path();
    repack(repo);
    let index = only_file_with_extension(&repo.join(".git/objects/pack"), "idx");
    make_writable(&index);
    let bytes = std::fs::read(&index).unwrap();
    std::fs::write(&index, &bytes[..500]).unwrap();
    assert_incomplete(repo, 0);
}

#[test]
fn a_pack_with_flipped_bytes_makes_the_audit_fail_loudly() {
    let dir = key_then_three_commits();
    let repo = dir.path();
    repack(repo);
    let pack = only_file_with_extension(&repo.join(".git/objects/pack"), "pack");
    make_writable(&pack);
    let mut bytes = std::fs::read(&pack).unwrap();
    let end = bytes.len() - 20;
    for at in (12..end).step_by(37) {
        bytes[at] ^= 0x55;
    }
    std::fs::write(&pack, bytes).unwrap();
    assert_incomplete(repo, 0);
}

#[test]
fn every_format_says_the_audit_is_incomplete() {
    let dir = key_then_three_commits();
    let repo = dir.path();
    let commit = rev_parse(repo, "HEAD~1");
    let object = repo
        .join(".git/objects")
        .join(&commit[..2])
        .join(&commit[2..]);
    make_writable(&object);
    std::fs::write(&object, "garbage").unwrap();
    let run = |format: &str| {
        let output = tuskguard()
            .arg("history")
            .arg(repo)
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{format}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let text = run("text");
    assert!(
        text.contains("INCOMPLETE: 1 git object could not be read"),
        "{text}"
    );
    assert!(text.contains(&commit), "{text}");
    let sarif: Value = serde_json::from_str(&run("sarif")).unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false, "{invocation:#}");
    assert_eq!(
        invocation["toolExecutionNotifications"][0]["level"], "error",
        "{invocation:#}"
    );
    assert_eq!(sarif["runs"][0]["properties"]["objectsUnread"], 1);
    let github = run("github");
    assert!(
        github.contains("::error title=Incomplete audit::1 git object(s) could not be read"),
        "{github}"
    );
    assert!(github.contains(&commit), "{github}");
}

#[test]
fn grafts_and_replace_refs_are_said() {
    let dir = key_then_three_commits();
    let repo = dir.path();
    // A graft that cuts history behind HEAD~2 hides the key commit, as `git log` would.
    let cut = rev_parse(repo, "HEAD~2");
    std::fs::create_dir_all(repo.join(".git/info")).unwrap();
    std::fs::write(repo.join(".git/info/grafts"), format!("{cut}\n")).unwrap();
    for packed in [false, true] {
        if packed {
            repack(repo);
        }
        let (code, report, stderr) = audit(repo, &[]);
        assert_eq!(code, 0, "packed={packed} {stderr}");
        assert!(stderr.contains("info/grafts gives 1 commit(s)"), "{stderr}");
        assert_eq!(report["summary"]["commits_scanned"], 3, "packed={packed}");
    }
    std::fs::remove_file(repo.join(".git/info/grafts")).unwrap();
    let (code, report, _) = audit(repo, &[]);
    assert_eq!((code, secrets(&report).len()), (1, 1));

    // A replacement that hides the key commit: both are audited, and the report says so.
    let key_commit = rev_parse(repo, "HEAD~4");
    let replacement = git(
        repo,
        &[
            "commit-tree",
            "-m",
            "clean",
            &format!("{}^{{tree}}", rev_parse(repo, "HEAD~3")),
        ],
    );
    git(repo, &["replace", &key_commit, replacement.trim()]);
    let (code, report, stderr) = audit(repo, &[]);
    assert_eq!((code, secrets(&report).len()), (1, 1), "{stderr}");
    assert!(stderr.contains("1 replace ref(s)"), "{stderr}");
}

#[test]
fn packed_blobs_over_the_limit_are_counted_as_skipped() {
    let dir = new_repo();
    let repo = dir.path();
    let big: String = (0..40_000).map(|n| format!("row {n}\n")).collect();
    write_commit(repo, "big.txt", &big, "big");
    write_commit(repo, "big.txt", &format!("{big}{big}"), "bigger");
    write_commit(repo, "k.txt", &format!("{}\n", live_key(446)), "key");
    repack(repo);
    let (code, report, stderr) = audit(repo, &["--max-file-size", "100K"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(secrets(&report).len(), 1, "{report:#}");
    assert_eq!(report["summary"]["skipped"]["too-large"], 2, "{report:#}");
    assert!(stderr.contains("big.txt"), "{stderr}");
}

#[test]
fn a_partial_clone_says_why_objects_are_missing() {
    let source = new_repo();
    let big: String = (0..2_000).map(|n| format!("row {n}\n")).collect();
    write_commit(source.path(), "big.txt", &big, "big");
    git(source.path(), &["config", "uploadpack.allowFilter", "true"]);
    let clones = assert_fs::TempDir::new().unwrap();
    let url = format!("file://{}", source.path().display());
    git(
        clones.path(),
        &[
            "clone",
            "-q",
            "--bare",
            "--filter=blob:limit=1k",
            &url,
            "partial.git",
        ],
    );
    let (code, report, stderr) = audit(&clones.path().join("partial.git"), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        report["summary"]["incomplete"]["unread_objects"], 1,
        "{report:#}"
    );
    assert!(stderr.contains("this is a partial clone"), "{stderr}");
}
