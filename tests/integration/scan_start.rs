//! Suppressions, baselines and fingerprints give the same result whichever directory a scan starts
//! from (SPEC §5 and "Must hold"): a repository-root `.tuskguard.toml`, `.tuskguardignore` and
//! baseline apply to scans of subdirectories and to every root, with paths relative to the
//! repository root.

use std::collections::BTreeSet;
use std::path::Path;

use assert_fs::TempDir;
use assert_fs::prelude::*;

use crate::helpers::*;

/// A key-creation request without scopes (an admin key): a lint finding. The collection name is
/// put together here so this source holds no request itself.
fn admin_key_request() -> String {
    format!(
        "const res = await fetch(API + '/v2/{}', {{ method: 'POST', body: JSON.stringify({{ name: 'x', scopes: null }}) }});\n",
        ["api", "keys"].join("-")
    )
}

/// A repository whose findings all live below `sub/dir`: a key, a key in `fixtures/`, a lint
/// (admin key created) and an env file git would commit.
fn repository() -> TempDir {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    dir.child("README.md").write_str("hello\n").unwrap();
    dir.child("sub/dir/k.txt")
        .write_str(&format!("K={}\n", live_key(1401)))
        .unwrap();
    dir.child("sub/dir/fixtures/f.txt")
        .write_str(&format!("K={}\n", live_key(1402)))
        .unwrap();
    dir.child("sub/dir/app.js")
        .write_str(&admin_key_request())
        .unwrap();
    dir.child("sub/dir/.env").write_str("A=1\n").unwrap();
    dir
}

fn scan_in(cwd: &Path, args: &[&str]) -> (serde_json::Value, std::process::Output) {
    let output = tuskguard()
        .current_dir(cwd)
        .arg("scan")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    (json_of(&output), output)
}

/// `(rule id, fingerprint)` of every finding.
fn fingerprints(json: &serde_json::Value) -> BTreeSet<(String, String)> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["fingerprint"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn secrets(json: &serde_json::Value) -> usize {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "secret")
        .count()
}

fn rules(json: &serde_json::Value) -> BTreeSet<String> {
    fingerprints(json)
        .into_iter()
        .map(|(rule, _)| rule)
        .collect()
}

#[test]
fn fingerprints_do_not_depend_on_where_the_scan_starts() {
    let repo = repository();
    let (from_root, _) = scan_in(repo.path(), &[]);
    let expected = fingerprints(&from_root);
    let found_rules = rules(&from_root);
    for rule in [
        "tusky-live-key",
        "tusky-admin-key-created",
        "env-file-not-ignored",
    ] {
        assert!(found_rules.contains(rule), "{rule} missing: {from_root}");
    }
    let sub_dir = repo.path().join("sub/dir");
    for (cwd, args) in [
        (repo.path(), vec!["sub/dir"]),
        (repo.path(), vec!["sub"]),
        (
            repo.path(),
            vec!["sub/dir/k.txt", "sub/dir/app.js", "sub/dir"],
        ),
        (sub_dir.as_path(), vec![]),
        (sub_dir.as_path(), vec!["."]),
        (
            repo.path().parent().unwrap(),
            vec![repo.path().to_str().unwrap()],
        ),
    ] {
        let (json, _) = scan_in(cwd, &args);
        assert_eq!(
            fingerprints(&json),
            expected,
            "scan {args:?} in {}: {json}",
            cwd.display()
        );
    }
}

#[test]
fn a_baseline_written_at_the_repository_root_holds_for_subdirectory_scans() {
    let repo = repository();
    tuskguard()
        .current_dir(repo.path())
        .args(["baseline", "-o", "baseline.json"])
        .assert()
        .success();
    let baseline = repo.path().join("baseline.json");
    let baseline = baseline.to_str().unwrap();
    let sub_dir = repo.path().join("sub/dir");
    for (cwd, args) in [
        (repo.path(), vec!["--baseline", baseline]),
        (repo.path(), vec!["sub/dir", "--baseline", baseline]),
        (repo.path(), vec!["sub/dir/app.js", "--baseline", baseline]),
        (sub_dir.as_path(), vec!["--baseline", baseline]),
    ] {
        let (json, output) = scan_in(cwd, &args);
        assert_eq!(
            json["findings"].as_array().unwrap().len(),
            0,
            "scan {args:?} in {}: {json}",
            cwd.display()
        );
        assert!(
            json["summary"]["suppressed"]["baseline"]
                .as_u64()
                .unwrap_or(0)
                >= 1,
            "{json}"
        );
        assert_eq!(output.status.code(), Some(0));
    }
}

#[test]
fn a_repository_root_ignore_file_applies_to_subdirectory_scans() {
    let repo = repository();
    let (from_root, _) = scan_in(repo.path(), &[]);
    let listed: String = fingerprints(&from_root)
        .into_iter()
        .map(|(rule, fingerprint)| format!("{fingerprint} # {rule}\n"))
        .collect();
    repo.child(".tuskguardignore").write_str(&listed).unwrap();
    repo.child("other/k.txt")
        .write_str(&format!("K={}\n", live_key(1403)))
        .unwrap();
    let sub_dir = repo.path().join("sub/dir");
    for (cwd, args) in [
        (repo.path(), vec!["sub/dir"]),
        (sub_dir.as_path(), vec![]),
        (repo.path(), vec!["other", "sub/dir"]),
    ] {
        let (json, _) = scan_in(cwd, &args);
        let left: Vec<_> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["locations"][0]["path"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = if args.contains(&"other") {
            vec!["other/k.txt".to_owned()]
        } else {
            Vec::new()
        };
        assert_eq!(left, expected, "scan {args:?} in {}: {json}", cwd.display());
    }
}

#[test]
fn repository_root_allowlist_paths_apply_to_subdirectory_scans_and_every_root() {
    let repo = repository();
    repo.child(".tuskguard.toml")
        .write_str("[allowlist]\npaths = [\"/sub/dir/fixtures/\", \"/other/vendor/\"]\n")
        .unwrap();
    repo.child("other/vendor/v.txt")
        .write_str(&format!("K={}\n", live_key(1404)))
        .unwrap();
    repo.child("other/k.txt")
        .write_str(&format!("K={}\n", live_key(1405)))
        .unwrap();
    let sub_dir = repo.path().join("sub/dir");
    for (cwd, args, keys) in [
        (repo.path(), vec![], vec![1401, 1405]),
        (repo.path(), vec!["sub/dir"], vec![1401]),
        (repo.path(), vec!["sub/dir/fixtures"], vec![]),
        (repo.path(), vec!["sub/dir/fixtures/f.txt"], vec![]),
        (sub_dir.as_path(), vec![], vec![1401]),
        (repo.path(), vec!["sub/dir", "other"], vec![1401, 1405]),
        (repo.path(), vec!["other", "sub/dir"], vec![1401, 1405]),
    ] {
        let (json, _) = scan_in(cwd, &args);
        let found: BTreeSet<String> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["kind"] == "secret")
            .map(|f| f["secret"]["redacted"].as_str().unwrap().to_owned())
            .collect();
        let expected: BTreeSet<String> = keys
            .iter()
            .map(|seed| live_key(*seed)[..13].to_owned())
            .collect();
        let found_prefixes: BTreeSet<String> = found
            .iter()
            .map(|redacted| redacted.chars().take(13).collect())
            .collect();
        assert_eq!(
            found_prefixes,
            expected,
            "scan {args:?} in {}: {json}",
            cwd.display()
        );
    }
}

#[test]
fn a_config_below_the_repository_root_is_named_not_silently_dropped() {
    let repo = repository();
    repo.child("sub/dir/.tuskguard.toml")
        .write_str("[allowlist]\npaths = [\"fixtures/\"]\n")
        .unwrap();
    let (json, output) = scan_in(repo.path(), &["sub/dir"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("sub/dir/.tuskguard.toml") && stderr.contains("not used"),
        "{stderr}"
    );
    // The repository root decides, so the fixture key is still reported ...
    assert_eq!(secrets(&json), 2, "{json}");
    // ... unless the user names that config.
    let (json, _) = scan_in(
        repo.path(),
        &["sub/dir", "--config", "sub/dir/.tuskguard.toml"],
    );
    assert_eq!(secrets(&json), 1, "{json}");
}

#[test]
fn outside_a_repository_paths_are_relative_to_each_scan_root() {
    let dir = TempDir::new().unwrap();
    dir.child("sub/.tuskguard.toml")
        .write_str("[allowlist]\npaths = [\"/fixtures/\"]\n")
        .unwrap();
    dir.child("sub/fixtures/f.txt")
        .write_str(&format!("K={}\n", live_key(1406)))
        .unwrap();
    dir.child("sub/k.txt")
        .write_str(&format!("K={}\n", live_key(1407)))
        .unwrap();
    let (json, _) = scan_in(dir.path(), &["sub"]);
    assert_eq!(json["findings"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(
        json["findings"][0]["locations"][0]["path"], "k.txt",
        "{json}"
    );
    let (inside, _) = scan_in(&dir.path().join("sub"), &[]);
    assert_eq!(fingerprints(&inside), fingerprints(&json));
}

/// A report of `scan a b` names files as given (there is no one root to be relative to), and its
/// `root` is only the first path: `verify` of the saved report reads both keys again.
#[test]
fn a_saved_report_of_several_roots_can_be_verified() {
    use crate::fake_tusky::{Behaviour, FakeKey, FakeTusky};
    let (a, b) = (live_key(1408), live_key(1409));
    let fake = FakeTusky::start(
        vec![
            FakeKey::scoped("key_a", &a, &["files:read"]),
            FakeKey::scoped("key_b", &b, &["files:read"]),
        ],
        Behaviour::default(),
    );
    let dir = TempDir::new().unwrap();
    dir.child("a/k.txt").write_str(&format!("K={a}\n")).unwrap();
    dir.child("b/k.txt").write_str(&format!("K={b}\n")).unwrap();
    tuskguard()
        .current_dir(dir.path())
        .args(["scan", "a", "b", "--format", "json", "-o", "report.json"])
        .assert()
        .code(1);
    let output = tuskguard()
        .current_dir(dir.path())
        .env("TUSKY_API_URL", &fake.url)
        .args(["verify", "report.json", "--format", "json"])
        .output()
        .unwrap();
    let json = json_of(&output);
    let statuses: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["verification"]["status"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(statuses, ["live", "live"], "{json}");
}

/// A custom rule in the repository-root config finds a key in a subdirectory scan, and `verify`
/// of that saved report reads the key again with the same rule (the report's root is the
/// subdirectory, the config is at the repository root).
#[test]
fn a_saved_report_of_a_subdirectory_recovers_custom_rule_keys() {
    let repo = repository();
    repo.child(".tuskguard.toml")
        .write_str(
            "[[rule]]\nid = \"acme-token\"\ntitle = \"ACME token\"\nseverity = \"high\"\n\
             anchors = [\"acme_\"]\npatterns = ['acme_(?P<secret>[0-9a-f]{24})']\n\
             remediation = \"Rotate it.\"\nexamples = [\"acme_0123456789abcdef01234567\"]\n",
        )
        .unwrap();
    repo.child("sub/dir/acme.txt")
        .write_str(&format!("T=acme_{}\n", "7e3a9c0b5d1f".repeat(2)))
        .unwrap();
    tuskguard()
        .current_dir(repo.path())
        .args(["scan", "sub/dir", "--format", "json", "-o", "report.json"])
        .assert()
        .code(1);
    let output = tuskguard()
        .current_dir(repo.path())
        .env("TUSKY_API_URL", "http://127.0.0.1:1")
        .args(["verify", "report.json", "--format", "json"])
        .output()
        .unwrap();
    let json = json_of(&output);
    let acme = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "acme-token")
        .unwrap_or_else(|| panic!("no acme finding: {json}"));
    let reason = acme["verification"]["reason"].as_str().unwrap_or("");
    assert!(!reason.contains("could not be recovered"), "{json}");
}
