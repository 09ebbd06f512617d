//! The pre-push hook: `install-hook --pre-push` and real `git push`es to bare repositories made
//! at test time; `history --pre-push` fed git's stdin lines or the pre-commit framework's
//! variables directly.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use assert_fs::TempDir;

use crate::action::make_executable;
use crate::helpers::*;
use crate::staged::{combined, path_with_binary};

const ZERO: &str = "0000000000000000000000000000000000000000";

/// A bare `origin`, and a clone of it (`work`) with one clean pushed commit and the hook.
struct Remote {
    dir: TempDir,
}

impl Remote {
    fn new() -> Remote {
        let remote = Remote {
            dir: TempDir::new().unwrap(),
        };
        git(
            remote.dir.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        let work = remote.work();
        std::fs::create_dir_all(&work).unwrap();
        init_repo(&work);
        git(
            &work,
            &["remote", "add", "origin", remote.origin().to_str().unwrap()],
        );
        write(&work, "README.md", "hello\n");
        commit_all(&work, "initial");
        let pushed = push(&work, &["origin", "main"]);
        assert!(pushed.status.success(), "{}", combined(&pushed));
        let installed = tuskguard()
            .args(["install-hook", "--pre-push"])
            .current_dir(&work)
            .output()
            .unwrap();
        assert!(installed.status.success(), "{}", combined(&installed));
        assert!(
            String::from_utf8_lossy(&installed.stdout)
                .contains("every `git push` now runs `tuskguard history --pre-push`"),
            "{}",
            combined(&installed)
        );
        remote
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    fn origin(&self) -> PathBuf {
        self.dir.path().join("origin.git")
    }

    /// The commit a branch of the bare origin points at, if it exists.
    fn origin_tip(&self, branch: &str) -> Option<String> {
        let output = git_output(
            &self.origin(),
            &["rev-parse", "--verify", "-q", branch],
            &[],
        );
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}

fn write(dir: &Path, file: &str, text: &str) {
    std::fs::write(dir.join(file), text).unwrap();
}

/// `git push` through the installed hook, with tuskguard on PATH.
fn push(dir: &Path, args: &[&str]) -> std::process::Output {
    let path = path_with_binary();
    let mut full = vec!["push", "-q"];
    full.extend_from_slice(args);
    git_output(
        dir,
        &full,
        &[("PATH", path.as_os_str()), ("NO_COLOR", "1".as_ref())],
    )
}

fn add_key_commit(dir: &Path, file: &str, key: &str, message: &str) -> String {
    write(dir, file, &format!("TUSKY_API_KEY = '{key}'\n"));
    commit_all(dir, message);
    rev_parse(dir, "HEAD")
}

#[test]
fn a_key_added_and_removed_before_the_push_still_blocks_it() {
    let remote = Remote::new();
    let work = remote.work();
    let before = remote.origin_tip("main").unwrap();
    let key = live_key(1341);
    add_key_commit(&work, "config.py", &key, "add config");
    git(&work, &["rm", "-q", "config.py"]);
    commit_all(&work, "oops, remove it");
    let output = push(&work, &["origin", "main"]);
    let text = combined(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("this push was blocked"), "{text}");
    assert!(text.contains("git push --no-verify"), "{text}");
    assert!(
        text.contains(&key[..13]),
        "the redacted key is named: {text}"
    );
    assert!(!text.contains(&key), "{text}");
    assert_eq!(
        remote.origin_tip("main").unwrap(),
        before,
        "nothing was pushed"
    );
    // A clean push goes through.
    git(&work, &["reset", "-q", "--hard", &before]);
    write(&work, "docs.md", "more docs\n");
    commit_all(&work, "docs");
    let output = push(&work, &["origin", "main"]);
    assert!(output.status.success(), "{}", combined(&output));
    assert_eq!(remote.origin_tip("main").unwrap(), rev_parse(&work, "HEAD"));
}

#[test]
fn commits_the_remote_already_has_are_not_scanned_again() {
    let remote = Remote::new();
    let work = remote.work();
    // A key that reached origin before the hook (pushed with --no-verify): the remote has it.
    let old_key = live_key(1342);
    add_key_commit(&work, "legacy.py", &old_key, "legacy key");
    let skipped = push(&work, &["--no-verify", "origin", "main"]);
    assert!(skipped.status.success(), "{}", combined(&skipped));
    // Updating main with clean commits passes: only the new commits are sent and scanned.
    write(&work, "a.txt", "a\n");
    commit_all(&work, "clean");
    let output = push(&work, &["origin", "main"]);
    assert!(output.status.success(), "{}", combined(&output));
    // A new branch forked from main: only its own commits (none on origin's refs) are scanned.
    git(&work, &["checkout", "-q", "-b", "feature"]);
    write(&work, "b.txt", "b\n");
    commit_all(&work, "feature work");
    let output = push(&work, &["origin", "feature"]);
    assert!(output.status.success(), "{}", combined(&output));
    // A new branch that adds a key is blocked.
    git(&work, &["checkout", "-q", "-b", "leaky"]);
    let new_key = test_key(1343);
    add_key_commit(&work, "leak.js", &new_key, "leak");
    let output = push(&work, &["origin", "leaky"]);
    let text = combined(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("leak.js"), "{text}");
    assert!(!text.contains("legacy.py"), "already on the remote: {text}");
    assert!(remote.origin_tip("leaky").is_none());
}

#[test]
fn deleting_a_remote_branch_scans_nothing() {
    let remote = Remote::new();
    let work = remote.work();
    git(&work, &["checkout", "-q", "-b", "doomed"]);
    add_key_commit(&work, "k.py", &live_key(1344), "key on a branch");
    let skipped = push(&work, &["--no-verify", "origin", "doomed"]);
    assert!(skipped.status.success(), "{}", combined(&skipped));
    let output = push(&work, &["origin", "--delete", "doomed"]);
    let text = combined(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("nothing to scan"), "{text}");
    assert!(remote.origin_tip("doomed").is_none());
}

#[test]
fn a_push_to_another_remote_scans_what_that_remote_lacks() {
    let remote = Remote::new();
    let work = remote.work();
    let key = live_key(1345);
    add_key_commit(&work, "legacy.py", &key, "legacy key");
    let skipped = push(&work, &["--no-verify", "origin", "main"]);
    assert!(skipped.status.success(), "{}", combined(&skipped));
    // origin has the key; an empty mirror does not: pushing there would publish it again.
    git(
        remote.dir.path(),
        &["init", "-q", "--bare", "-b", "main", "mirror.git"],
    );
    let mirror = remote.dir.path().join("mirror.git");
    git(
        &work,
        &["remote", "add", "mirror", mirror.to_str().unwrap()],
    );
    let output = push(&work, &["mirror", "main"]);
    let text = combined(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("legacy.py"), "{text}");
}

#[test]
fn a_chained_pre_push_hook_gets_the_same_refs() {
    let remote = Remote::new();
    let work = remote.work();
    let hooks = work.join(".git/hooks");
    // Replace our hook by a foreign one, then chain it.
    std::fs::remove_file(hooks.join("pre-push")).unwrap();
    let seen = remote.dir.path().join("seen.txt");
    std::fs::write(
        hooks.join("pre-push"),
        format!("#!/bin/sh\ncat > '{}'\nexit 0\n", seen.display()),
    )
    .unwrap();
    make_executable(&hooks.join("pre-push"));
    tuskguard()
        .args(["install-hook", "--pre-push", "--chain"])
        .current_dir(&work)
        .assert()
        .code(0);
    add_key_commit(&work, "k.py", &live_key(1346), "key");
    let output = push(&work, &["origin", "main"]);
    assert!(!output.status.success(), "{}", combined(&output));
    let lines = std::fs::read_to_string(&seen).unwrap();
    assert!(
        lines.starts_with(&format!(
            "refs/heads/main {} refs/heads/main ",
            rev_parse(&work, "HEAD")
        )),
        "{lines}"
    );
    tuskguard()
        .args(["install-hook", "--pre-push", "--uninstall"])
        .current_dir(&work)
        .assert()
        .code(0);
    let restored = std::fs::read_to_string(hooks.join("pre-push")).unwrap();
    assert!(restored.contains("cat >"), "{restored}");
}

/// Runs `history --pre-push --format json` in `dir` with `stdin` and extra environment.
fn pre_push_json(
    dir: &Path,
    args: &[&str],
    stdin: &str,
    envs: &[(&str, &str)],
) -> (i32, serde_json::Value, String) {
    let binary = assert_cmd::cargo::cargo_bin("tuskguard");
    let mut command = Command::new(binary);
    command
        .args(["history", "--pre-push", "--format", "json"])
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("PRE_COMMIT_REMOTE_NAME")
        .env_remove("PRE_COMMIT_TO_REF")
        .env_remove("PRE_COMMIT_FROM_REF")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = if output.stdout.is_empty() {
        serde_json::Value::Null
    } else {
        json_of(&output)
    };
    (output.status.code().unwrap_or(-1), report, stderr)
}

#[test]
fn exactly_the_pushed_commits_are_audited_from_stdin_or_pre_commit_variables() {
    let remote = Remote::new();
    let work = remote.work();
    let base = rev_parse(&work, "HEAD");
    let key = live_key(1347);
    let with_key = add_key_commit(&work, "k.py", &key, "key");
    write(
        &work,
        "k.py",
        "TUSKY_API_KEY = os.environ['TUSKY_API_KEY']\n",
    );
    commit_all(&work, "read it from the environment");
    write(&work, "c.txt", "c\n");
    commit_all(&work, "more");
    let head = rev_parse(&work, "HEAD");

    let line = format!("refs/heads/main {head} refs/heads/main {base}\n");
    let (code, report, stderr) = pre_push_json(&work, &["--remote", "origin"], &line, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report["summary"]["commits_scanned"], 3, "{report}");
    assert_eq!(
        report["findings"][0]["history"]["introduced"]["id"],
        with_key.as_str()
    );
    assert!(
        report["summary"]["history_cut"]["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("pre-push to origin")
    );
    assert!(!report.to_string().contains(&key));

    // Only the last commit is new: the key's commits are not sent, nothing to block.
    let line = format!("refs/heads/main {head} refs/heads/main {with_key}\n");
    let (code, report, _) = pre_push_json(&work, &["--remote", "origin"], &line, &[]);
    assert_eq!(code, 0);
    assert_eq!(report["summary"]["commits_scanned"], 2);

    // A new branch: the commits not on origin's remote-tracking refs.
    let line = format!("refs/heads/topic {head} refs/heads/topic {ZERO}\n");
    let (code, report, _) = pre_push_json(&work, &["--remote", "origin"], &line, &[]);
    assert_eq!(code, 1);
    assert_eq!(report["summary"]["commits_scanned"], 3);

    // Deletions and an empty push send nothing.
    let line = format!("(delete) {ZERO} refs/heads/topic {head}\n");
    let (code, _, stderr) = pre_push_json(&work, &["--remote", "origin"], &line, &[]);
    assert_eq!(code, 0);
    assert!(stderr.contains("nothing to scan"), "{stderr}");
    let (code, _, _) = pre_push_json(&work, &["--remote", "origin"], "", &[]);
    assert_eq!(code, 0);

    // Malformed input is an error that names the line.
    let (code, _, stderr) = pre_push_json(&work, &[], "refs/heads/main abc\n", &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("pre-push input line 1"), "{stderr}");

    // The pre-commit framework passes the range in variables (it read stdin itself).
    let (code, report, stderr) = pre_push_json(
        &work,
        &[],
        "",
        &[
            ("PRE_COMMIT_REMOTE_NAME", "origin"),
            ("PRE_COMMIT_FROM_REF", &base),
            ("PRE_COMMIT_TO_REF", &head),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report["summary"]["commits_scanned"], 3);
}
