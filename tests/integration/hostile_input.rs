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

/// D8: no depth limit: the env-file check judges the env files the scan's own walk meets, at any
/// depth (it once had its own walk, which stopped at 256 levels).
#[test]
fn env_files_at_any_depth_are_checked() {
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
    let findings = json["findings"].as_array().unwrap();
    let deep_env = findings.iter().find(|f| {
        f["rule_id"] == "env-file-not-ignored"
            && f["locations"][0]["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("d/d/") && p.ends_with("/d/.env"))
    });
    assert!(deep_env.is_some(), "{json}");
    assert!(
        !json["summary"]["warnings"]
            .to_string()
            .contains("levels deep"),
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

/// D9 and N2: control bytes and bidi controls from file names never reach the output raw, in the
/// github format or in text.
#[cfg(unix)]
#[test]
fn control_and_bidi_characters_in_names_are_escaped() {
    let dir = TempDir::new().unwrap();
    let key = live_key(803);
    let name = "x\u{1b}]0;PWNED\u{7}\u{1b}[2J\tbidi\u{202e}txt.exe\u{2028}.txt";
    std::fs::write(dir.path().join(name), format!("k={key}\n")).unwrap();
    for format in ["github", "text"] {
        let output = tuskguard()
            .current_dir(dir.path())
            .args(["scan", ".", "--format", format])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stdout = String::from_utf8_lossy(&output.stdout);
        for raw in ['\u{1b}', '\u{7}', '\t', '\u{202e}', '\u{2028}'] {
            assert!(!stdout.contains(raw), "{format}: raw {raw:?} in {stdout}");
        }
        assert!(stdout.contains("\\u{202e}"), "{format}: {stdout}");
    }
}

/// D11: an absurd --threads is capped (and said), not thousands of threads.
#[test]
fn threads_are_capped_per_core() {
    let dir = TempDir::new().unwrap();
    dir.child("a.txt").write_str("x\n").unwrap();
    let output = tuskguard()
        .args(["scan", "-j", "100000"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--threads 100000 is more than 4 per core"),
        "{stderr}"
    );
}

/// D12: a config or report that never ends is an error naming it, not an out-of-memory kill.
#[cfg(unix)]
#[test]
fn endless_config_and_report_inputs_are_refused() {
    let dir = TempDir::new().unwrap();
    for args in [
        vec!["scan", ".", "--config", "/dev/zero"],
        vec!["verify", "/dev/zero"],
        vec!["scan", ".", "--baseline", "/dev/zero"],
    ] {
        let output = tuskguard()
            .current_dir(dir.path())
            .env("TUSKY_API_URL", "http://127.0.0.1:9")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("/dev/zero") && stderr.contains("larger than"),
            "{stderr}"
        );
    }
}

/// D13: a reader that closes the pipe early is no error for JSON either.
#[cfg(unix)]
#[test]
fn a_closed_pipe_is_not_an_error_for_json() {
    use std::process::{Command, Stdio};
    let dir = TempDir::new().unwrap();
    for i in 0..300 {
        dir.child(format!("{i}.txt"))
            .write_str(&format!("K={}\n", live_key(900 + i)))
            .unwrap();
    }
    let binary = assert_cmd::cargo::cargo_bin("tuskguard");
    let mut child = Command::new(binary)
        .args(["scan", "--format", "json"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}

/// D17: a custom rule without examples is refused: `rules check` could not prove it.
#[test]
fn a_custom_rule_without_examples_is_refused() {
    let dir = TempDir::new().unwrap();
    dir.child(".tuskguard.toml")
        .write_str(
            "[[rule]]\nid=\"acme\"\ntitle=\"A\"\nseverity=\"high\"\nanchors=[\"acme_\"]\n\
             patterns=['acme_(?P<secret>[0-9a-f]{24})']\nremediation=\"x\"\n",
        )
        .unwrap();
    let output = tuskguard()
        .current_dir(dir.path())
        .args(["rules", "check"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("acme") && stderr.contains("example"),
        "{stderr}"
    );
}

/// D18: a symlink loop named on the command line says so, not "no such file".
#[cfg(unix)]
#[test]
fn a_symlink_loop_as_the_path_names_the_loop() {
    let dir = TempDir::new().unwrap();
    std::os::unix::fs::symlink("b", dir.path().join("a")).unwrap();
    std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
    let output = tuskguard()
        .current_dir(dir.path())
        .args(["scan", "a"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("no such file"), "{stderr}");
    assert!(stderr.contains("symbolic links"), "{stderr}");
}

/// N3: `--show-secrets -o FILE` writes a file only its owner can read, even over an old one.
#[cfg(unix)]
#[test]
fn a_report_with_keys_is_written_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    dir.child("a.txt")
        .write_str(&format!("K={}\n", live_key(804)))
        .unwrap();
    let out = dir.path().join("out.json");
    std::fs::write(&out, "old").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    tuskguard()
        .current_dir(dir.path())
        .args([
            "scan",
            "a.txt",
            "--show-secrets",
            "--format",
            "json",
            "-o",
            "out.json",
        ])
        .assert()
        .code(1);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// Review: `allowlist.paths` applies under every root given, not only the first.
#[test]
fn the_path_allowlist_applies_to_every_root() {
    let dir = TempDir::new().unwrap();
    dir.child(".tuskguard.toml")
        .write_str("[allowlist]\npaths = [\"fixtures/\"]\n")
        .unwrap();
    for root in ["a", "b"] {
        dir.child(format!("{root}/fixtures/k.txt"))
            .write_str(&format!("K={}\n", live_key(805)))
            .unwrap();
    }
    let output = tuskguard()
        .current_dir(dir.path())
        .args([
            "scan",
            "a",
            "b",
            "--config",
            ".tuskguard.toml",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let json = json_of(&output);
    assert_eq!(json["findings"].as_array().unwrap().len(), 0, "{json}");
    assert_eq!(json["summary"]["skipped"]["config-allowed"], 2, "{json}");
    assert_eq!(output.status.code(), Some(0));
}

/// D15: a file name that is not UTF-8 is shown with U+FFFD, and a tree report keeps its exact
/// bytes (`raw_path`), so `verify` of the saved report reads each key again, even when two names
/// read the same. A history report names blobs by commit and path: the lossy path is matched in
/// the commit's tree and the fingerprint picks the right blob.
#[cfg(unix)]
#[test]
fn saved_reports_of_non_utf8_file_names_can_be_verified() {
    use crate::fake_tusky::{Behaviour, FakeKey, FakeTusky};
    use std::os::unix::ffi::OsStrExt;

    let (a, b) = (live_key(1501), live_key(1502));
    let fake = FakeTusky::start(
        vec![
            FakeKey::scoped("key_a", &a, &["files:read"]),
            FakeKey::scoped("key_b", &b, &["files:read"]),
        ],
        Behaviour::default(),
    );
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    std::fs::create_dir(dir.path().join("d15")).unwrap();
    for (name, key) in [(&b"d15/bad\xff.txt"[..], &a), (&b"d15/bad\xfe.txt"[..], &b)] {
        let path = dir.path().join(std::ffi::OsStr::from_bytes(name));
        std::fs::write(path, format!("k={key}\n")).unwrap();
    }
    commit_all(dir.path(), "two names that read the same");
    for mode in ["scan", "history"] {
        let report = dir.path().join(format!("{mode}-report.json"));
        let output = tuskguard()
            .current_dir(dir.path())
            .args([mode, "--format", "json", "-o"])
            .arg(&report)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{mode}: {output:?}");
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        if mode == "scan" {
            let mut raw: Vec<&str> = saved["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["locations"][0]["raw_path"].as_str().unwrap())
                .collect();
            raw.sort_unstable();
            assert_eq!(raw, ["d15/bad%FE.txt", "d15/bad%FF.txt"], "{saved}");
            assert_eq!(
                saved["findings"][0]["locations"][0]["path"],
                "d15/bad\u{FFFD}.txt"
            );
        }
        let output = tuskguard()
            .current_dir(dir.path())
            .env("TUSKY_API_URL", &fake.url)
            .args(["verify", "--format", "json"])
            .arg(&report)
            .output()
            .unwrap();
        let verified = json_of(&output);
        let statuses: Vec<&str> = verified["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["verification"]["status"].as_str().unwrap_or("-"))
            .collect();
        assert_eq!(statuses, ["live", "live"], "{mode}: {verified}");
    }
}

/// tuskguard as a user whom file modes can stop. The tests run as root (CI does), and modes do not
/// stop root's reads: then it runs under `setpriv` (util-linux) as nobody. Without setpriv the test
/// fails, never passes by skipping. The binary is copied into `dir` (which nobody may enter), as
/// the checkout's target directory may be closed to other users.
#[cfg(unix)]
fn tuskguard_unprivileged(dir: &std::path::Path) -> assert_cmd::Command {
    let uid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .expect("`id -u` runs");
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return tuskguard();
    }
    let found = std::process::Command::new("setpriv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "setpriv (util-linux) is needed to get a real read error while running as root"
    );
    let binary = dir.join("tuskguard-copy");
    if !binary.exists() {
        std::fs::copy(assert_cmd::cargo::cargo_bin("tuskguard"), &binary).unwrap();
    }
    let mut cmd = assert_cmd::Command::new("setpriv");
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--reset-env",
    ])
    // --reset-env: nobody's HOME and PATH, none of the developer's TUSKY_* settings.
    .arg(binary);
    cmd
}

/// A directory every user may enter, holding `locked.txt` (mode 000, with a key), `key.txt` (a key
/// anyone can read) and `locked-dir/` (mode 000).
#[cfg(unix)]
fn tree_with_unreadable_inputs() -> TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(dir.path(), 0o755);
    dir.child("in/locked.txt")
        .write_str(&format!("K={}\n", live_key(1601)))
        .unwrap();
    dir.child("in/key.txt")
        .write_str(&format!("K={}\n", live_key(1602)))
        .unwrap();
    dir.child("in/locked-dir/k.txt")
        .write_str(&format!("K={}\n", live_key(1603)))
        .unwrap();
    mode(&dir.path().join("in"), 0o755);
    mode(&dir.path().join("in/key.txt"), 0o644);
    mode(&dir.path().join("in/locked.txt"), 0o000);
    mode(&dir.path().join("in/locked-dir"), 0o000);
    dir
}

/// N1: a path named on the command line that cannot be read is an error (exit 2, named with the
/// reason): nothing of what was asked for was scanned. Unreadable files met inside a scanned
/// directory are counted and named, and the scan goes on.
#[cfg(unix)]
#[test]
fn an_unreadable_named_input_is_an_error_and_an_unreadable_file_inside_is_counted() {
    let dir = tree_with_unreadable_inputs();
    for args in [
        vec!["in/locked.txt"],
        vec!["in/key.txt", "in/locked.txt"],
        vec!["in/locked-dir"],
    ] {
        let output = tuskguard_unprivileged(dir.path())
            .current_dir(dir.path())
            .arg("scan")
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        let named = args.last().unwrap();
        assert!(
            stderr.contains(&format!("{named}: cannot read")) && stderr.contains("denied"),
            "{args:?}: {stderr}"
        );
    }
    let output = tuskguard_unprivileged(dir.path())
        .current_dir(dir.path())
        .args(["scan", "in", "--format", "json"])
        .output()
        .unwrap();
    let json = json_of(&output);
    assert_eq!(output.status.code(), Some(1), "{json}");
    assert_eq!(json["summary"]["skipped"]["unreadable"], 2, "{json}");
    let warnings = json["summary"]["warnings"].to_string();
    assert!(
        warnings.contains("locked.txt") && warnings.contains("locked-dir"),
        "{warnings}"
    );
    assert_eq!(json["findings"].as_array().unwrap().len(), 1, "{json}");
}
