//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command as StdCommand;

use assert_cmd::Command;

pub use crate::test_support::{legacy_key, live_key, random_body, test_key};

/// The tuskguard binary, with an environment that cannot leak the developer's settings in.
pub fn tuskguard() -> Command {
    let mut cmd = Command::cargo_bin("tuskguard").expect("binary built");
    cmd.env_remove("TUSKY_API_URL")
        .env_remove("TUSKY_API_KEY")
        .env_remove("TUSKY_ADMIN_API_KEY")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `git` in `dir` with a fixed identity; panics with git's stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = git_output(dir, args, &[]);
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `git init` with a main branch and no hooks or templates from the machine.
pub fn init_repo(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main", "--template="]);
    git(dir, &["config", "commit.gpgsign", "false"]);
}

/// Stages everything and commits.
pub fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

/// Parses stdout of a `--format json` run.
pub fn json_of(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Writes a `.gitignore` that ignores env files, for tests about secrets in env files that are not
/// about the env-file lint (which reports every env file git would commit, plain directories too).
pub fn ignore_env_files(dir: &Path) {
    std::fs::write(dir.join(".gitignore"), ".env\n*.env\n").expect("write .gitignore");
}

/// Runs `git` in `dir` with the helpers' fixed identity plus `envs`; returns the output whatever
/// the exit status (for commands that are expected to fail, such as a blocked commit).
pub fn git_output(
    dir: &Path,
    args: &[&str],
    envs: &[(&str, &std::ffi::OsStr)],
) -> std::process::Output {
    let mut cmd = StdCommand::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir);
    for (key, value) in envs {
        cmd.env(key, value);
    }
    cmd.output().expect("git runs")
}

/// `git rev-parse REV` in `dir`.
pub fn rev_parse(dir: &Path, rev: &str) -> String {
    git(dir, &["rev-parse", rev]).trim().to_owned()
}
