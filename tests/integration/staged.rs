//! `tuskguard scan --staged`, `install-hook` and real `git commit`s through the hook.

use std::ffi::OsString;
use std::path::Path;

use assert_fs::TempDir;
use assert_fs::prelude::*;

use crate::helpers::*;

/// PATH with the test binary's directory first, so the installed hook finds `tuskguard`.
pub fn path_with_binary() -> OsString {
    let binary = assert_cmd::cargo::cargo_bin("tuskguard");
    let dir = binary
        .parent()
        .expect("binary has a directory")
        .to_path_buf();
    let mut paths = vec![dir];
    if let Some(existing) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(paths).expect("PATH joins")
}

fn repo_with_hook() -> TempDir {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    dir.child("README.md").write_str("hello\n").unwrap();
    dir.child("config.py").write_str("debug = True\n").unwrap();
    commit_all(dir.path(), "initial");
    tuskguard()
        .arg("install-hook")
        .current_dir(dir.path())
        .assert()
        .code(0);
    dir
}

pub fn commit(dir: &Path, args: &[&str]) -> std::process::Output {
    let path = path_with_binary();
    let mut full = vec!["commit", "-q"];
    full.extend_from_slice(args);
    git_output(
        dir,
        &full,
        &[("PATH", path.as_os_str()), ("NO_COLOR", "1".as_ref())],
    )
}

pub fn commit_count(dir: &Path) -> usize {
    git(dir, &["rev-list", "--count", "HEAD"])
        .trim()
        .parse()
        .unwrap()
}

pub fn combined(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn staged_key_blocks_the_commit_with_a_redacted_message() {
    let dir = repo_with_hook();
    let key = live_key(301);
    dir.child("settings.py")
        .write_str(&format!("TUSKY_API_KEY = \"{key}\"\n"))
        .unwrap();
    git(dir.path(), &["add", "settings.py"]);
    let output = commit(dir.path(), &["-m", "add settings"]);
    assert!(!output.status.success(), "the commit must be blocked");
    let text = combined(&output);
    assert!(text.contains("settings.py:1:"), "{text}");
    assert!(text.contains(&key[..13]), "redacted prefix shown: {text}");
    assert!(
        !text.contains(&key),
        "full key must never be printed: {text}"
    );
    assert!(
        text.contains("tuskguard:allow"),
        "says how to allow: {text}"
    );
    assert!(text.contains("--no-verify"), "{text}");
    assert_eq!(commit_count(dir.path()), 1);
}

#[test]
fn unstaged_key_does_not_block_a_clean_commit() {
    let dir = repo_with_hook();
    dir.child("config.py")
        .write_str(&format!("key = \"{}\"\n", live_key(302)))
        .unwrap();
    dir.child("notes.md").write_str("clean\n").unwrap();
    git(dir.path(), &["add", "notes.md"]);
    let output = commit(dir.path(), &["-m", "notes"]);
    assert!(output.status.success(), "{}", combined(&output));
    assert_eq!(commit_count(dir.path()), 2);
}

#[test]
fn commit_all_catches_a_modified_tracked_file() {
    let dir = repo_with_hook();
    dir.child("config.py")
        .write_str(&format!("key = \"{}\"\n", live_key(303)))
        .unwrap();
    // `git commit -a` stages into a temporary index named by GIT_INDEX_FILE.
    let output = commit(dir.path(), &["-a", "-m", "oops"]);
    assert!(!output.status.success(), "{}", combined(&output));
    assert!(combined(&output).contains("config.py"));
    assert_eq!(commit_count(dir.path()), 1);
}

#[test]
fn commit_of_named_paths_is_caught() {
    let dir = repo_with_hook();
    dir.child("config.py")
        .write_str(&format!("key = \"{}\"\n", test_key(304)))
        .unwrap();
    let output = commit(dir.path(), &["-m", "partial", "config.py"]);
    assert!(!output.status.success(), "{}", combined(&output));
    assert_eq!(commit_count(dir.path()), 1);
}

#[test]
fn clean_commit_passes_the_hook() {
    let dir = repo_with_hook();
    dir.child("src.py").write_str("print('hi')\n").unwrap();
    git(dir.path(), &["add", "src.py"]);
    let output = commit(dir.path(), &["-m", "clean"]);
    assert!(output.status.success(), "{}", combined(&output));
    assert_eq!(commit_count(dir.path()), 2);
}

#[test]
fn staged_scan_reads_the_index_not_the_working_file() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    dir.child("a.txt").write_str("start\n").unwrap();
    commit_all(dir.path(), "initial");
    let key = live_key(305);
    dir.child("a.txt").write_str(&format!("k={key}\n")).unwrap();
    git(dir.path(), &["add", "a.txt"]);
    // The working file is clean again, but the staged blob still holds the key.
    dir.child("a.txt").write_str("start\n").unwrap();
    let output = tuskguard()
        .args(["scan", "--staged", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output);
    assert_eq!(report["mode"], "scan --staged");
    assert_eq!(report["findings"][0]["locations"][0]["path"], "a.txt");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(&key));
}

#[test]
fn staged_scan_before_the_first_commit_scans_every_entry() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    dir.child("deep/dir/app.js")
        .write_str(&format!("const k = '{}';\n", live_key(306)))
        .unwrap();
    git(dir.path(), &["add", "-A"]);
    let output = tuskguard()
        .args(["scan", "--staged", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        json_of(&output)["findings"][0]["locations"][0]["path"],
        "deep/dir/app.js"
    );
}

#[test]
fn named_paths_scan_their_staged_content_even_when_unchanged() {
    // `pre-commit run --all-files` passes every tracked file, changed or not.
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    dir.child("old.txt")
        .write_str(&format!("k={}\n", live_key(307)))
        .unwrap();
    dir.child("other.txt").write_str("fine\n").unwrap();
    commit_all(dir.path(), "initial");
    tuskguard()
        .args(["scan", "--staged"])
        .current_dir(dir.path())
        .assert()
        .code(0);
    tuskguard()
        .args(["scan", "--staged", "other.txt"])
        .current_dir(dir.path())
        .assert()
        .code(0);
    let output = tuskguard()
        .args([
            "scan",
            "--staged",
            "--format",
            "json",
            "old.txt",
            "other.txt",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json_of(&output)["summary"]["files_scanned"], 2);
}

#[test]
fn staged_env_file_is_reported() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    dir.child(".env").write_str("DEBUG=1\n").unwrap();
    dir.child(".env.example").write_str("DEBUG=\n").unwrap();
    git(dir.path(), &["add", "-A"]);
    let output = tuskguard()
        .args(["scan", "--staged", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report}");
    assert_eq!(findings[0]["kind"], "env-not-ignored");
    assert_eq!(findings[0]["locations"][0]["path"], ".env");

    // The config can switch the lint off like any other rule.
    let config = TempDir::new().unwrap();
    config
        .child("off.toml")
        .write_str("disabled_rules = [\"env-file-staged\"]\n")
        .unwrap();
    let output = tuskguard()
        .args(["scan", "--staged", "--format", "json", "--config"])
        .arg(config.path().join("off.toml"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[test]
fn staged_outside_a_repository_is_a_usage_error() {
    let dir = TempDir::new().unwrap();
    tuskguard()
        .args(["scan", "--staged"])
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not inside a git repository"));
}

#[test]
fn install_hook_refuses_a_foreign_hook_unless_forced() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    let hook = dir.child(".git/hooks/pre-commit");
    hook.write_str("#!/bin/sh\necho mine\n").unwrap();
    tuskguard()
        .arg("install-hook")
        .current_dir(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--force"));
    hook.assert("#!/bin/sh\necho mine\n");
    tuskguard()
        .args(["install-hook", "--force"])
        .current_dir(dir.path())
        .assert()
        .code(0);
    hook.assert(predicates::str::contains("scan --staged"));
    dir.child(".git/hooks/pre-commit.tuskguard-backup")
        .assert("#!/bin/sh\necho mine\n");
    // Our own hook may be replaced without --force.
    tuskguard()
        .arg("install-hook")
        .current_dir(dir.path())
        .assert()
        .code(0);
}

#[test]
fn install_hook_honours_core_hooks_path() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    git(dir.path(), &["config", "core.hooksPath", "githooks"]);
    tuskguard()
        .arg("install-hook")
        .current_dir(dir.path())
        .assert()
        .code(0);
    dir.child("githooks/pre-commit")
        .assert(predicates::str::contains("scan --staged"));
    dir.child(".git/hooks/pre-commit")
        .assert(predicates::path::missing());
}

/// The staged scan reads the index file itself (v2, v3, v4) and falls back to libgit2 for
/// formats it leaves alone; every format must give the same answer.
#[test]
fn every_index_format_gives_the_same_answer() {
    for setup in [
        &["update-index", "--index-version", "2"][..],
        &["update-index", "--index-version", "3"][..],
        &["update-index", "--index-version", "4"][..],
    ] {
        let dir = TempDir::new().unwrap();
        init_repo(dir.path());
        for i in 0..30 {
            dir.child(format!("d{}/sub{}/f{i}.txt", i % 3, i % 2))
                .write_str(&format!("line {i}\n"))
                .unwrap();
        }
        commit_all(dir.path(), "initial");
        dir.child("d1/sub0/f4.txt")
            .write_str(&format!("k={}\n", live_key(308)))
            .unwrap();
        dir.child("d2/new/added.txt")
            .write_str(&format!("k={}\n", test_key(309)))
            .unwrap();
        dir.child("d0/intent.txt")
            .write_str(&format!("k={}\n", test_key(310)))
            .unwrap();
        git(dir.path(), &["add", "d1/sub0/f4.txt", "d2/new/added.txt"]);
        // Intent-to-add has no staged content yet: nothing to scan.
        git(dir.path(), &["add", "-N", "d0/intent.txt"]);
        git(dir.path(), setup);
        let output = tuskguard()
            .args(["scan", "--staged", "--format", "json"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let report = json_of(&output);
        let mut paths: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["locations"][0]["path"].as_str().unwrap())
            .collect();
        paths.sort();
        assert_eq!(
            paths,
            ["d1/sub0/f4.txt", "d2/new/added.txt"],
            "{setup:?}: {report}"
        );
        assert_eq!(report["summary"]["files_scanned"], 2, "{setup:?}");
    }
}

#[test]
fn split_index_is_refused_with_a_way_out() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    dir.child("a.txt").write_str("a\n").unwrap();
    git(dir.path(), &["add", "a.txt"]);
    git(dir.path(), &["update-index", "--split-index"]);
    tuskguard()
        .args(["scan", "--staged"])
        .current_dir(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--no-split-index"));
}

#[test]
fn worktrees_use_their_own_index_and_the_shared_hooks() {
    let dir = repo_with_hook();
    let worktree = TempDir::new().unwrap();
    let wt = worktree.path().join("wt");
    git(
        dir.path(),
        &["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()],
    );
    std::fs::write(wt.join("side.txt"), format!("k={}\n", live_key(311))).unwrap();
    git(&wt, &["add", "side.txt"]);
    // The main worktree has nothing staged; the linked one has the key.
    tuskguard()
        .args(["scan", "--staged"])
        .current_dir(dir.path())
        .assert()
        .code(0);
    tuskguard()
        .args(["scan", "--staged"])
        .current_dir(&wt)
        .assert()
        .code(1);
    let output = commit(&wt, &["-m", "from the worktree"]);
    assert!(!output.status.success(), "{}", combined(&output));
}

/// A change too large for the calling thread goes to the run's workers, each with its own
/// repository handle: every staged file is scanned once, every key found, each where it is.
#[test]
fn a_large_staged_change_is_scanned_whole_on_the_workers() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    dir.child("README.md").write_str("hello\n").unwrap();
    commit_all(dir.path(), "initial");
    let with_keys = [0, 77, 149, 299];
    for file in 0..300 {
        let body = if with_keys.contains(&file) {
            format!("KEY = \"{}\"\n", live_key(400 + file))
        } else {
            format!("value = {file}\n")
        };
        dir.child(format!("pkg/m{file:03}.py"))
            .write_str(&body)
            .unwrap();
    }
    git(dir.path(), &["add", "pkg"]);
    let output = tuskguard()
        .args(["scan", "--staged", "--threads", "2", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", combined(&output));
    let report = json_of(&output);
    assert_eq!(report["summary"]["files_scanned"], 300, "{report}");
    let mut paths: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["locations"][0]["path"].as_str().unwrap().to_owned())
        .collect();
    paths.sort();
    let expected: Vec<String> = with_keys
        .iter()
        .map(|file| format!("pkg/m{file:03}.py"))
        .collect();
    assert_eq!(paths, expected);
}
