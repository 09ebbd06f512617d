//! Everyday use: hook management, messages that fit the finding, machine-readable rules and a
//! JSON report whose keys never change, and terminal manners checked on a real pseudo-terminal.

use std::path::Path;
use std::process::{Command, Output};

use assert_fs::TempDir;
use assert_fs::prelude::*;
use serde_json::Value;

use crate::helpers::*;
use crate::staged::{combined, commit_count, path_with_binary};

const OLD_HOOK: &str = "#!/bin/sh\necho old-hook-ran >&2\nexit \"${OLD_EXIT:-0}\"\n";

fn repo() -> TempDir {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    dir.child("README.md").write_str("hello\n").unwrap();
    commit_all(dir.path(), "initial");
    dir
}

fn install_hook(dir: &Path, args: &[&str]) -> Output {
    tuskguard()
        .arg("install-hook")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn commit_with(dir: &Path, old_exit: &str) -> Output {
    let path = path_with_binary();
    git_output(
        dir,
        &["commit", "-q", "-m", "change"],
        &[
            ("PATH", path.as_os_str()),
            ("NO_COLOR", "1".as_ref()),
            ("OLD_EXIT", old_exit.as_ref()),
        ],
    )
}

fn write_old_hook(dir: &TempDir) {
    let hook = dir.child(".git/hooks/pre-commit");
    hook.write_str(OLD_HOOK).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(hook.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn chained_hook_runs_first_and_either_failure_blocks_the_commit() {
    let dir = repo();
    write_old_hook(&dir);
    let refused = install_hook(dir.path(), &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        combined(&refused).contains("--chain"),
        "{}",
        combined(&refused)
    );
    assert_eq!(
        install_hook(dir.path(), &["--chain"]).status.code(),
        Some(0)
    );
    dir.child(".git/hooks/pre-commit.tuskguard-chained")
        .assert(OLD_HOOK);

    // Both pass: the commit is made, and the old hook did run.
    dir.child("ok.py").write_str("x = 1\n").unwrap();
    git(dir.path(), &["add", "ok.py"]);
    let output = commit_with(dir.path(), "0");
    assert!(output.status.success(), "{}", combined(&output));
    assert!(combined(&output).contains("old-hook-ran"));
    assert_eq!(commit_count(dir.path()), 2);

    // The old hook fails on clean content: blocked, and said.
    dir.child("ok2.py").write_str("y = 2\n").unwrap();
    git(dir.path(), &["add", "ok2.py"]);
    let output = commit_with(dir.path(), "3");
    assert!(!output.status.success());
    assert!(
        combined(&output).contains("chained hook"),
        "{}",
        combined(&output)
    );
    assert_eq!(commit_count(dir.path()), 2);

    // The old hook passes but a key is staged: blocked by tuskguard, after the old hook ran.
    dir.child("key.py")
        .write_str(&format!("K = \"{}\"\n", live_key(1601)))
        .unwrap();
    git(dir.path(), &["add", "key.py"]);
    let output = commit_with(dir.path(), "0");
    let text = combined(&output);
    assert!(!output.status.success());
    assert!(
        text.contains("old-hook-ran") && text.contains("tusky-live-key"),
        "{text}"
    );
    assert_eq!(commit_count(dir.path()), 2);

    // Uninstall puts the old hook back where it was; a second uninstall will not touch it.
    let output = install_hook(dir.path(), &["--uninstall"]);
    assert_eq!(output.status.code(), Some(0), "{}", combined(&output));
    dir.child(".git/hooks/pre-commit").assert(OLD_HOOK);
    dir.child(".git/hooks/pre-commit.tuskguard-chained")
        .assert(predicates::path::missing());
    let output = install_hook(dir.path(), &["--uninstall"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(combined(&output).contains("not written by tuskguard"));
    dir.child(".git/hooks/pre-commit").assert(OLD_HOOK);
}

#[test]
fn uninstall_removes_our_hook_and_restores_a_forced_over_one() {
    let dir = repo();
    let output = install_hook(dir.path(), &["--uninstall"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(combined(&output).contains("nothing to uninstall"));
    assert_eq!(install_hook(dir.path(), &[]).status.code(), Some(0));
    assert_eq!(
        install_hook(dir.path(), &["--uninstall"]).status.code(),
        Some(0)
    );
    dir.child(".git/hooks/pre-commit")
        .assert(predicates::path::missing());

    write_old_hook(&dir);
    assert_eq!(
        install_hook(dir.path(), &["--force"]).status.code(),
        Some(0)
    );
    assert_eq!(
        install_hook(dir.path(), &["--uninstall"]).status.code(),
        Some(0)
    );
    dir.child(".git/hooks/pre-commit").assert(OLD_HOOK);
}

#[test]
fn pre_commit_manifest_declares_the_version_its_stage_names_need() {
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    let hooks = yaml_rust2::YamlLoader::load_from_str(&manifest).unwrap();
    let hooks = hooks[0].as_vec().unwrap();
    assert!(!hooks.is_empty());
    for hook in hooks {
        assert_eq!(
            hook["minimum_pre_commit_version"].as_str(),
            Some("3.2.0"),
            "{hook:?}"
        );
    }
}

#[test]
fn a_blocked_env_file_is_unstaged_by_name_not_told_to_remove_a_key() {
    let dir = repo();
    assert_eq!(install_hook(dir.path(), &[]).status.code(), Some(0));
    dir.child(".env").write_str("DEBUG=1\n").unwrap();
    git(dir.path(), &["add", ".env"]);
    let output = commit_with(dir.path(), "0");
    let text = combined(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("git rm --cached .env"), "{text}");
    assert!(!text.contains("remove the key"), "{text}");
    assert!(!text.contains("<file>"), "{text}");
}

#[test]
fn rules_check_shows_which_example_failed() {
    let dir = TempDir::new().unwrap();
    dir.child("custom.toml")
        .write_str(
            r#"[[rule]]
id = "acme-token"
title = "ACME deploy token"
severity = "high"
anchors = ["acme_"]
patterns = ['acme_(?P<secret>[0-9a-f]{24})']
remediation = "Rotate it."
examples = ["acme_0123456789abcdef01234567", "acme_short"]
negative_examples = ["acme_abcdefabcdefabcdefabcdef"]
"#,
        )
        .unwrap();
    let output = tuskguard()
        .args(["rules", "check", "--config", "custom.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("example: acme_short"), "{stdout}");
    assert!(
        stdout.contains("example: acme_abcdefabcdefabcdefabcdef"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("example: acme_0123456789abcdef01234567"),
        "{stdout}"
    );
    assert!(stdout.contains("2 failed"), "{stdout}");
}

#[test]
fn rules_list_json_has_every_rule_and_lint() {
    let dir = TempDir::new().unwrap();
    dir.child("c.toml")
        .write_str("disabled_rules = [\"env-file-not-ignored\"]\n")
        .unwrap();
    let output = tuskguard()
        .args(["rules", "list", "--format", "json", "--config", "c.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json = json_of(&output);
    assert_eq!(json["version"], 1);
    let live = json["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "tusky-live-key")
        .expect("tusky-live-key listed");
    assert_eq!(live["severity"], "critical");
    assert!(live["examples"].as_u64().unwrap() > 0);
    assert!(live["anchors"].as_array().is_some_and(|a| !a.is_empty()));
    let lints = json["lints"].as_array().unwrap();
    let lint = |id: &str| lints.iter().find(|l| l["id"] == id).unwrap().clone();
    assert_eq!(lint("env-file-not-ignored")["enabled"], false);
    assert_eq!(lint("env-file-staged")["enabled"], true);
}

fn summary_keys(summary: &Value) -> Vec<String> {
    let mut keys: Vec<String> = summary.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

/// The README's JSON example (the block that starts a report).
fn readme_json_example() -> Value {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("```json\n{\n  \"version\"")
        .expect("README JSON example");
    let block = &readme[start + "```json\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    let cleaned = block.replace('…', "");
    serde_json::from_str(&cleaned).expect("README JSON example parses")
}

#[test]
fn json_reports_always_carry_the_documented_keys() {
    let clean = TempDir::new().unwrap();
    clean.child("a.txt").write_str("nothing\n").unwrap();
    let dirty = repo();
    dirty
        .child("k.py")
        .write_str(&format!("K = \"{}\"\n", live_key(1602)))
        .unwrap();
    commit_all(dirty.path(), "key");
    let runs = [
        tuskguard()
            .args(["scan", ".", "--format", "json"])
            .current_dir(clean.path())
            .output()
            .unwrap(),
        tuskguard()
            .args(["scan", ".", "--format", "json"])
            .current_dir(dirty.path())
            .output()
            .unwrap(),
        tuskguard()
            .args(["history", ".", "--format", "json"])
            .current_dir(dirty.path())
            .output()
            .unwrap(),
    ];
    let documented = readme_json_example();
    let expected = summary_keys(&documented["summary"]);
    let expected_skipped = summary_keys(&documented["summary"]["skipped"]);
    for output in &runs {
        let json = json_of(output);
        assert_eq!(json["version"], 1);
        let summary = &json["summary"];
        assert_eq!(summary_keys(summary), expected, "{summary}");
        assert_eq!(summary_keys(&summary["skipped"]), expected_skipped);
        assert!(summary["warnings"].is_array(), "{summary}");
        assert_eq!(summary["skipped"]["too-large"], 0);
    }
    assert_eq!(
        json_of(&runs[0])["summary"]["warnings"],
        Value::Array(vec![])
    );
    assert!(json_of(&runs[0])["summary"]["commits_scanned"].is_null());
    assert!(
        json_of(&runs[2])["summary"]["commits_scanned"]
            .as_u64()
            .unwrap()
            >= 2
    );
}

fn outside_any_repo() -> TempDir {
    TempDir::new().unwrap()
}

#[test]
fn errors_name_the_problem_without_libgit2_internals() {
    let dir = outside_any_repo();
    let ceiling = dir.path().parent().unwrap();
    for args in [&["history", "."][..], &["install-hook"][..]] {
        let output = tuskguard()
            .args(args)
            .current_dir(dir.path())
            .env("GIT_CEILING_DIRECTORIES", ceiling)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("not a git repository"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("class="), "{args:?}: {stderr}");
        assert!(!stderr.contains("code="), "{args:?}: {stderr}");
    }
}

#[test]
fn history_of_a_file_says_it_audits_the_repository_holding_it() {
    let dir = repo();
    let output = tuskguard()
        .args(["history", "README.md"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("README.md is a file; auditing the whole history of the repository"),
        "{stderr}"
    );
}

#[test]
fn baseline_of_a_missing_directory_or_a_file_says_so() {
    let dir = repo();
    let missing = tuskguard()
        .args(["baseline", "no/such/dir"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no/such/dir: no such directory"),
        "{missing:?}"
    );
    let file = tuskguard()
        .args(["baseline", "README.md"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(file.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&file.stderr);
    assert!(
        stderr.contains("README.md is a file") && stderr.contains("-o FILE"),
        "{stderr}"
    );
    tuskguard()
        .args(["baseline", "README.md", "-o", "b.json"])
        .current_dir(dir.path())
        .assert()
        .code(0);
    dir.child("b.json").assert(predicates::path::is_file());
}

/// Runs `command` on a pseudo-terminal (`script`), as a person at a terminal would, with `envs`
/// on top of an environment without NO_COLOR/CI; returns everything the terminal showed.
fn on_a_tty(dir: &Path, command: &str, envs: &[(&str, &str)]) -> String {
    let bin = assert_cmd::cargo::cargo_bin("tuskguard");
    let command = command.replacen("tuskguard", &bin.display().to_string(), 1);
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-e", "-c", &command, "/dev/null"])
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env("TERM", "xterm-256color");
    for (key, value) in envs {
        cmd.env(key, value);
    }
    let output = cmd.output().expect("`script` (util-linux) runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn has_colour(text: &str) -> bool {
    // SGR sequences (`ESC [ … m`): what colour and bold are made of.
    text.split('\x1b').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|rest| {
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|i| rest[i..].starts_with('m'))
        })
    })
}

#[test]
fn colour_on_a_terminal_follows_term_no_color_and_the_flag() {
    let dir = repo();
    dir.child("k.py")
        .write_str(&format!("K = \"{}\"\n", live_key(1603)))
        .unwrap();
    let scan = "tuskguard scan k.py";
    let plain = on_a_tty(dir.path(), scan, &[]);
    assert!(
        plain.contains("tusky-live-key"),
        "the pty run failed: {plain}"
    );
    assert!(has_colour(&plain), "no colour on a terminal: {plain:?}");
    assert!(!has_colour(&on_a_tty(
        dir.path(),
        scan,
        &[("TERM", "dumb")]
    )));
    assert!(!has_colour(&on_a_tty(
        dir.path(),
        scan,
        &[("NO_COLOR", "1")]
    )));
    assert!(!has_colour(&on_a_tty(
        dir.path(),
        "tuskguard scan k.py --color never",
        &[]
    )));
    assert!(has_colour(&on_a_tty(
        dir.path(),
        "tuskguard scan k.py --color always",
        &[("TERM", "dumb")]
    )));
    // Through a pipe: never, unless asked.
    let piped = tuskguard()
        .args(["scan", "k.py"])
        .env_remove("NO_COLOR")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!has_colour(&String::from_utf8_lossy(&piped.stdout)));
}

#[test]
fn history_on_a_terminal_never_shows_zero_of_zero_commits() {
    let dir = repo();
    for i in 0..30 {
        dir.child(format!("f{i}.txt"))
            .write_str(&format!("{i}\n"))
            .unwrap();
        commit_all(dir.path(), &format!("c{i}"));
    }
    let shown = on_a_tty(dir.path(), "tuskguard history", &[]);
    assert!(shown.contains("commits"), "the pty run failed: {shown}");
    assert!(!shown.contains("0/0 commits"), "{shown}");
    assert!(!has_colour(&on_a_tty(
        dir.path(),
        "tuskguard history",
        &[("TERM", "dumb")]
    )));
}

#[test]
fn verbose_explains_what_the_run_loaded_and_left_out() {
    let dir = repo();
    dir.child(".gitignore")
        .write_str("build/\nlocal.txt\n")
        .unwrap();
    dir.child("build/out.js").write_str("x\n").unwrap();
    dir.child("build/more.js").write_str("y\n").unwrap();
    dir.child("local.txt").write_str("z\n").unwrap();
    dir.child(".tuskguard.toml")
        .write_str("disabled_rules = [\"tusky-legacy-key\", \"env-file-not-ignored\"]\n")
        .unwrap();
    dir.child(".tuskguardignore")
        .write_str("0123456789abcdef0123456789abcdef\n")
        .unwrap();
    tuskguard()
        .args(["baseline", "-q"])
        .current_dir(dir.path())
        .assert()
        .code(0);
    let run = |args: &[&str]| {
        let output = tuskguard()
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let said = run(&["scan", "-v", "--baseline", ".tuskguard-baseline.json"]);
    for expected in [
        "note: config: ./.tuskguard.toml",
        "note: .tuskguardignore: ./.tuskguardignore (1 fingerprints)",
        "note: baseline: .tuskguard-baseline.json (0 fingerprints)",
        "secret rules on: tusky-live-key, tusky-test-key",
        "rules off (disabled_rules in the config): tusky-legacy-key, env-file-not-ignored",
        "hid 3 files, not scanned; --no-ignore scans them",
        "files over 50.0 MB are skipped",
    ] {
        assert!(said.contains(expected), "missing {expected:?} in:\n{said}");
    }
    assert!(!said.contains("tusky-legacy-key, tusky"), "{said}");
    let no_ignore = run(&["scan", "-v", "--no-ignore"]);
    assert!(
        no_ignore.contains("ignore files: not honoured (--no-ignore)"),
        "{no_ignore}"
    );
    assert!(no_ignore.contains("baseline: none"), "{no_ignore}");
    // History reads what git holds: it names the config but says nothing about ignore files.
    let history = run(&["history", "-v"]);
    assert!(history.contains("note: config:"), "{history}");
    assert!(!history.contains("ignore files"), "{history}");
    // Without -v, none of it.
    assert!(!run(&["scan"]).contains("note:"));
}
