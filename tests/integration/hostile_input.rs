//! The red team's hostile-input defects that are not about the API: a repository config that
//! silences the key rules (D6), limits that were silent (D8), and the low ones (D9–D18, notes).

use assert_fs::TempDir;
use assert_fs::prelude::*;
use serde_json::json;

use crate::action::Sandbox;
use crate::helpers::*;

const DISABLE_ALL_KEY_RULES: &str =
    "disabled_rules = [\"tusky-live-key\", \"tusky-test-key\", \"tusky-legacy-key\"]\n";

fn weakened_tree(config: &str) -> (TempDir, String) {
    let dir = TempDir::new().unwrap();
    let key = live_key(801);
    dir.child("a.txt").write_str(&format!("K={key}\n")).unwrap();
    dir.child(".tuskguard.toml").write_str(config).unwrap();
    (dir, key)
}

/// D6: switching the built-in key rules off is said in every format, even with -q.
#[test]
fn a_repo_config_that_disables_key_rules_is_loud_in_every_format() {
    let (dir, _) = weakened_tree(DISABLE_ALL_KEY_RULES);
    for format in ["text", "json", "sarif", "github"] {
        let output = tuskguard()
            .current_dir(dir.path())
            .args(["scan", ".", "--format", format])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("built-in rule tusky-live-key is switched off"),
            "{format}: {stderr}"
        );
        let quiet = tuskguard()
            .current_dir(dir.path())
            .args(["scan", ".", "-q", "--format", format])
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&quiet.stderr).contains("tusky-live-key is switched off"),
            "even with -q"
        );
        match format {
            "json" => {
                let json = json_of(&output);
                let weakened = json["summary"]["rules_weakened"].as_array().unwrap();
                assert_eq!(weakened.len(), 3, "{json}");
            }
            "sarif" => {
                let sarif = json_of(&output);
                let notes =
                    sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"].to_string();
                assert!(notes.contains("tusky-live-key is switched off"), "{notes}");
            }
            "github" => assert!(
                stdout.contains("::warning title=tuskguard%3A a built-in rule is off::"),
                "{stdout}"
            ),
            _ => assert!(
                stdout.contains("Warning: ./.tuskguard.toml: built-in rule tusky-live-key"),
                "{stdout}"
            ),
        }
    }
}

/// D6: a custom rule reusing a built-in id is an override, said too.
#[test]
fn a_repo_config_that_replaces_a_key_rule_is_loud() {
    let config = "[[rule]]\nid = \"tusky-live-key\"\ntitle = \"x\"\nseverity = \"info\"\n\
        anchors = [\"zzzq_\"]\npatterns = ['zzzq_(?P<secret>[0-9]{30})']\nremediation = \"x\"\n\
        examples = [\"zzzq_123456789012345678901234567890\"]\n";
    let (dir, _) = weakened_tree(config);
    let output = tuskguard()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json"])
        .output()
        .unwrap();
    let json = json_of(&output);
    let weakened = json["summary"]["rules_weakened"].to_string();
    assert!(
        weakened.contains("tusky-live-key is replaced by a custom [[rule]]"),
        "{json}"
    );
}

/// D6: `--no-repo-config` refuses the tree's own config: the key is found again.
#[test]
fn no_repo_config_scans_with_the_built_in_rules() {
    let (dir, key) = weakened_tree(DISABLE_ALL_KEY_RULES);
    let silenced = tuskguard()
        .current_dir(dir.path())
        .args(["scan", ".", "-q"])
        .output()
        .unwrap();
    assert_eq!(
        silenced.status.code(),
        Some(0),
        "the config silences the key"
    );
    let output = tuskguard()
        .current_dir(dir.path())
        .args(["scan", ".", "--no-repo-config", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let json = json_of(&output);
    assert_eq!(json["findings"][0]["rule_id"], "tusky-live-key");
    assert!(json["summary"].get("rules_weakened").is_none());
    assert!(!String::from_utf8_lossy(&output.stdout).contains(&key));
}

/// D6: the Action shows the warning in the annotations and the step summary, and
/// `repo-config: false` refuses the file.
#[test]
fn the_action_surfaces_and_can_refuse_a_weakening_repo_config() {
    let sandbox = Sandbox::new();
    let repo = sandbox.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    init_repo(&repo);
    std::fs::write(
        repo.join("config.ini"),
        format!("TUSKY_API_KEY={}\n", live_key(802)),
    )
    .unwrap();
    std::fs::write(repo.join(".tuskguard.toml"), DISABLE_ALL_KEY_RULES).unwrap();
    commit_all(&repo, "add config");
    let binary = assert_cmd::cargo::cargo_bin("tuskguard");
    let inputs = [("mode", "tree")];
    let outcome = sandbox.run(&repo, "push", &json!({}), &inputs, Some(&binary));
    assert_eq!(outcome.status, 0, "{}", outcome.stderr);
    assert!(
        outcome.stdout.contains("a built-in rule is off"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.summary.contains("**A built-in rule is off:**"),
        "{}",
        outcome.summary
    );
    let refused = sandbox.run(
        &repo,
        "push",
        &json!({}),
        &[("mode", "tree"), ("repo-config", "false")],
        Some(&binary),
    );
    assert_eq!(refused.status, 1, "{}", refused.stderr);
    assert_eq!(refused.output("findings"), "1");
}

/// D8: the env-file check stops at depth 256; what lies below is counted and said, never silent.
#[test]
fn env_files_below_the_depth_limit_are_counted_and_said() {
    let dir = TempDir::new().unwrap();
    let mut deep = dir.path().to_path_buf();
    for _ in 0..260 {
        deep.push("d");
    }
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join(".env"), "A=1\n").unwrap();
    let output = tuskguard()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json"])
        .output()
        .unwrap();
    let json = json_of(&output);
    let warnings = json["summary"]["warnings"].to_string();
    assert!(
        warnings
            .contains("env-file check: 1 director(ies) more than 256 levels deep were not checked"),
        "{json}"
    );
}

/// D16: an env file whose name is not UTF-8 is still an env file, for `scan` as for `history`.
#[cfg(unix)]
#[test]
fn env_files_with_non_utf8_names_are_reported_by_scan() {
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    let name = std::ffi::OsStr::from_bytes(b"e\xff.env");
    std::fs::write(dir.path().join(name), "A=1\n").unwrap();
    std::fs::write(dir.path().join("ok.env"), "A=1\n").unwrap();
    git(dir.path(), &["add", "-A"]);
    commit_all(dir.path(), "env files");
    let count = |mode: &str| {
        let output = tuskguard()
            .current_dir(dir.path())
            .args([mode, "--format", "json"])
            .output()
            .unwrap();
        json_of(&output)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule_id"] == "env-file-committed")
            .count()
    };
    assert_eq!(count("history"), 2);
    assert_eq!(count("scan"), 2);
}
