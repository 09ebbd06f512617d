//! `verify`, `revoke` and `scan --verify` against the fake Tusky API (tests/integration/fake_tusky.rs).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_fs::TempDir;
use assert_fs::prelude::*;
use serde_json::{Value, json};
use tuskguard::findings::Fingerprint;

use crate::fake_tusky::{Behaviour, FakeKey, FakeTusky, Hints};
use crate::helpers::*;

fn rule_for(key: &str) -> &'static str {
    if key.starts_with("tsk_test_") {
        "tusky-test-key"
    } else {
        "tusky-live-key"
    }
}

/// A report as `scan --format json --show-secrets` writes it (so the keys need no re-scan).
pub(crate) fn report_with_keys(keys: &[&str]) -> Value {
    let findings: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let rule = rule_for(key);
            json!({
                "rule_id": rule,
                "kind": "secret",
                "severity": "critical",
                "confidence": "high",
                "title": "Tusky API key",
                "remediation": "revoke it",
                "fingerprint": Fingerprint::for_secret(rule, key).as_str(),
                "secret": {"redacted": "tsk_…", "length": key.len(), "value": key},
                "locations": [{"path": format!("app{i}.env"), "line": 1, "column": 1, "end_column": 2}],
            })
        })
        .collect();
    json!({
        "version": 1,
        "tool": {"name": "tuskguard", "version": "0"},
        "mode": "scan",
        "root": ".",
        "findings": findings,
        "summary": {"files_scanned": 1, "bytes_scanned": 1, "findings": keys.len(),
            "by_severity": {}, "skipped": {}, "suppressed": {"inline": 0, "ignore_file": 0,
            "baseline": 0, "config": 0}, "duration_ms": 1},
    })
}

pub(crate) fn write_report(dir: &TempDir, keys: &[&str]) -> PathBuf {
    let path = dir.child("report.json");
    path.write_str(&report_with_keys(keys).to_string()).unwrap();
    path.path().to_owned()
}

pub(crate) fn run(fake: &FakeTusky, args: &[&str], dir: &Path) -> Output {
    tuskguard()
        .current_dir(dir)
        .env("TUSKY_API_URL", &fake.url)
        .args(args)
        .output()
        .unwrap()
}

/// No full key in stdout, stderr, or the files the run wrote.
pub(crate) fn assert_no_key_in(output: &Output, keys: &[&str]) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for key in keys {
        assert!(!stdout.contains(key), "full key in stdout: {stdout}");
        assert!(!stderr.contains(key), "full key in stderr: {stderr}");
    }
}

fn statuses(output: &Output) -> Vec<(String, String)> {
    json_of(output)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["verification"]["status"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned(),
                f["verification"]["reason"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn verify_labels_admin_scoped_revoked_expired_and_unknown_keys() {
    let (admin, scoped, revoked, expired, stranger) = (
        live_key(1),
        live_key(2),
        live_key(3),
        live_key(4),
        live_key(5),
    );
    let fake = FakeTusky::start(
        vec![
            FakeKey::admin("k1", &admin),
            FakeKey::scoped("k2", &scoped, &["files:read"]),
            FakeKey::admin("k3", &revoked).revoked(),
            FakeKey::admin("k4", &expired).expired(),
        ],
        Behaviour::default(),
    );
    let dir = TempDir::new().unwrap();
    let keys = [&*admin, &*scoped, &*revoked, &*expired, &*stranger];
    let report = write_report(&dir, &keys);
    let output = run(
        &fake,
        &["verify", report.to_str().unwrap(), "--format", "json"],
        dir.path(),
    );
    assert_no_key_in(&output, &keys);
    let got = statuses(&output);
    assert_eq!(got[0].0, "live");
    assert_eq!(got[1].0, "live", "403 is a valid key without the scope");
    assert!(got[1].1.contains("403"), "{:?}", got[1]);
    assert_eq!(got[2].0, "not-live");
    assert!(got[2].1.contains("revoked"), "{:?}", got[2]);
    assert_eq!(got[3].0, "not-live");
    assert!(got[3].1.contains("expired"), "{:?}", got[3]);
    assert_eq!(got[4].0, "not-live");
    assert_eq!(
        output.status.code(),
        Some(1),
        "findings at the default fail-on"
    );
    fake.assert_no_key_in_urls();
    // Liveness is read-only: never a write call.
    assert!(fake.requests().iter().all(|r| r.method == "GET"));
}

#[test]
fn each_distinct_key_is_probed_once() {
    let key = live_key(11);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let dir = TempDir::new().unwrap();
    let report = write_report(&dir, &[&key, &key, &key]);
    let output = run(
        &fake,
        &["verify", report.to_str().unwrap(), "--format", "json"],
        dir.path(),
    );
    assert_eq!(statuses(&output).len(), 3);
    assert_eq!(fake.count("GET", "/v2/account/usage"), 1);
}

/// A custom rule's token belongs to some other service: verifying must never hand it to the
/// Tusky API, not even when the config reuses a built-in rule's id for it.
#[test]
fn verify_never_sends_a_custom_rules_token_to_tusky() {
    let key = live_key(12);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let dir = TempDir::new().unwrap();
    let token = format!("acme_{}", "q7".repeat(10));
    let example = format!("acme_{}", "z3".repeat(10));
    for (file, id) in [
        ("own.toml", "acme-token"),
        ("reused.toml", "tusky-test-key"),
    ] {
        dir.child(file)
            .write_str(&format!(
                "[[rule]]\nid = \"{id}\"\ntitle = \"Acme token\"\nseverity = \"high\"\n\
                 anchors = [\"acme_\"]\npatterns = ['acme_(?P<secret>[a-z0-9]{{20}})']\n\
                 judge = \"none\"\nremediation = \"rotate it\"\nexamples = [\"{example}\"]\n"
            ))
            .unwrap();
    }
    dir.child("src/app.js")
        .write_str(&format!(
            "const tusky = \"{key}\";\nconst acme = \"{token}\";\n"
        ))
        .unwrap();
    for config in ["own.toml", "reused.toml"] {
        let output = run(
            &fake,
            &[
                "scan", "src", "--verify", "--format", "json", "--config", config,
            ],
            dir.path(),
        );
        let mut seen = statuses(&output);
        seen.sort();
        assert_eq!(seen.len(), 2, "{}", String::from_utf8_lossy(&output.stdout));
        assert_eq!(seen[0].0, "live");
        assert_eq!(seen[1].0, "unknown");
        assert!(seen[1].1.contains("not a Tusky key"), "{seen:?}");
        assert_no_key_in(&output, &[&key, &token]);
    }
    // One probe per run, both for the Tusky key; the token never reached the server.
    assert_eq!(fake.count("GET", "/v2/account/usage"), 2);
    let callers: Vec<_> = fake.requests().into_iter().map(|r| r.caller).collect();
    assert!(
        callers.iter().all(|c| c.as_deref() == Some("k1")),
        "{callers:?}"
    );
}

#[test]
fn both_documented_auth_headers_are_accepted_by_the_fake() {
    let key = live_key(12);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    let url = format!("{}/v2/account/usage", fake.url);
    let with_api_key = agent.get(&url).header("Api-Key", &key).call().unwrap();
    assert_eq!(with_api_key.status().as_u16(), 200);
    let with_bearer = agent
        .get(&url)
        .header("Authorization", &format!("Bearer {key}"))
        .call()
        .unwrap();
    assert_eq!(with_bearer.status().as_u16(), 200);
    let mut without = agent.get(&url).call().unwrap();
    assert_eq!(without.status().as_u16(), 401);
    let body: Value = serde_json::from_str(&without.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
}

#[test]
fn an_api_that_only_knows_bearer_does_not_make_a_live_key_look_dead() {
    let key = live_key(13);
    let fake = FakeTusky::start(
        vec![FakeKey::admin("k1", &key)],
        Behaviour {
            bearer_only: true,
            ..Behaviour::default()
        },
    );
    let dir = TempDir::new().unwrap();
    let report = write_report(&dir, &[&key]);
    let output = run(
        &fake,
        &["verify", report.to_str().unwrap(), "--format", "json"],
        dir.path(),
    );
    assert_eq!(statuses(&output)[0].0, "live");
    let auths: Vec<&str> = fake.requests().iter().map(|r| r.auth).collect();
    assert_eq!(auths, ["api-key", "bearer"]);
}

#[test]
fn server_errors_slow_and_malformed_answers_are_unknown_with_a_reason() {
    let key = live_key(14);
    let cases: [(Behaviour, &str); 3] = [
        (
            Behaviour {
                usage_500: true,
                ..Behaviour::default()
            },
            "server error (HTTP 500) after 3 attempt(s)",
        ),
        (
            Behaviour {
                usage_malformed: true,
                ..Behaviour::default()
            },
            "not JSON",
        ),
        (
            Behaviour {
                usage_delay: Some(Duration::from_secs(3)),
                ..Behaviour::default()
            },
            "timed out",
        ),
    ];
    for (behaviour, expected) in cases {
        let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], behaviour);
        let dir = TempDir::new().unwrap();
        let report = write_report(&dir, &[&key]);
        let output = run(
            &fake,
            &[
                "verify",
                report.to_str().unwrap(),
                "--format",
                "json",
                "--timeout",
                "1s",
            ],
            dir.path(),
        );
        assert_no_key_in(&output, &[&key]);
        let got = statuses(&output);
        assert_eq!(got[0].0, "unknown", "{expected}");
        assert!(got[0].1.contains(expected), "{:?} vs {expected}", got[0]);
    }
}

#[test]
fn rate_limits_are_waited_out_when_short_and_reported_when_long() {
    let key = live_key(15);
    let short = FakeTusky::start(
        vec![FakeKey::admin("k1", &key)],
        Behaviour {
            usage_429_times: 1,
            reset_in_secs: 1,
            ..Behaviour::default()
        },
    );
    let dir = TempDir::new().unwrap();
    let report = write_report(&dir, &[&key]);
    let output = run(
        &short,
        &["verify", report.to_str().unwrap(), "--format", "json"],
        dir.path(),
    );
    assert_eq!(statuses(&output)[0].0, "live");
    assert_eq!(short.count("GET", "/v2/account/usage"), 2);

    let long = FakeTusky::start(
        vec![FakeKey::admin("k1", &key)],
        Behaviour {
            usage_429_times: 100,
            reset_in_secs: 3600,
            ..Behaviour::default()
        },
    );
    let output = run(
        &long,
        &["verify", report.to_str().unwrap(), "--format", "json"],
        dir.path(),
    );
    let got = statuses(&output);
    assert_eq!(got[0].0, "unknown");
    assert!(got[0].1.contains("rate limited (429)"), "{:?}", got[0]);
    assert_eq!(
        long.count("GET", "/v2/account/usage"),
        1,
        "no retry past the cap"
    );
}

#[test]
fn access_map_shows_the_scopes_a_key_evidently_holds() {
    let (admin, scoped) = (live_key(16), live_key(17));
    let fake = FakeTusky::start(
        vec![
            FakeKey::admin("k1", &admin),
            FakeKey::scoped("k2", &scoped, &["files:write", "volumes:read"]),
        ],
        Behaviour::default(),
    );
    let dir = TempDir::new().unwrap();
    let report = write_report(&dir, &[&admin, &scoped]);
    let output = run(
        &fake,
        &[
            "verify",
            report.to_str().unwrap(),
            "--format",
            "json",
            "--access-map",
        ],
        dir.path(),
    );
    let json = json_of(&output);
    let scopes = |i: usize| -> Vec<String> {
        json["findings"][i]["verification"]["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(scopes(0)[0], "admin");
    assert_eq!(scopes(1), ["volumes:read", "files:read"]);
    assert!(fake.requests().iter().all(|r| r.method == "GET"));
    fake.assert_no_key_in_urls();
}

#[test]
fn fail_on_live_exits_one_only_for_a_live_key() {
    let (live, dead) = (live_key(18), live_key(19));
    let fake = FakeTusky::start(
        vec![
            FakeKey::admin("k1", &live),
            FakeKey::admin("k2", &dead).revoked(),
        ],
        Behaviour::default(),
    );
    let dir = TempDir::new().unwrap();
    let both = write_report(&dir, &[&live, &dead]);
    let output = run(
        &fake,
        &["verify", both.to_str().unwrap(), "--fail-on", "live"],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(1));
    let only_dead = dir.child("dead.json");
    only_dead
        .write_str(&report_with_keys(&[&dead]).to_string())
        .unwrap();
    let output = run(
        &fake,
        &[
            "verify",
            only_dead.path().to_str().unwrap(),
            "--fail-on",
            "live",
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[test]
fn fail_on_live_without_verify_is_a_usage_error() {
    let dir = TempDir::new().unwrap();
    tuskguard()
        .args(["scan", "--fail-on", "live"])
        .arg(dir.path())
        .assert()
        .code(2);
}

#[test]
fn plain_http_is_refused_for_remote_hosts() {
    let dir = TempDir::new().unwrap();
    let report = write_report(&dir, &[&live_key(20)]);
    let output = tuskguard()
        .args([
            "verify",
            report.to_str().unwrap(),
            "--api-url",
            "http://api.example.com",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
    let output = tuskguard()
        .env("TUSKY_API_URL", "http://10.1.2.3:8080")
        .args(["scan", "--verify"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_repo_config_that_sets_the_api_url_is_ignored_with_a_warning() {
    let dir = TempDir::new().unwrap();
    dir.child(".tuskguard.toml")
        .write_str("api_url = \"http://127.0.0.1:9\"\n")
        .unwrap();
    let output = tuskguard()
        .args(["scan", "--verify", "--api-url", "http://127.0.0.1:1"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("API URL is ignored"), "{stderr}");
    assert_ne!(output.status.code(), Some(2), "{stderr}");
}

#[test]
fn output_has_full_keys_only_with_show_secrets() {
    let key = live_key(21);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let dir = TempDir::new().unwrap();
    let report = write_report(&dir, &[&key]);
    for format in ["text", "json"] {
        let output = run(
            &fake,
            &["verify", report.to_str().unwrap(), "--format", format],
            dir.path(),
        );
        assert_no_key_in(&output, &[&key]);
    }
    let output = run(
        &fake,
        &[
            "verify",
            report.to_str().unwrap(),
            "--format",
            "json",
            "--show-secrets",
        ],
        dir.path(),
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains(&key));
}

#[test]
fn verify_reads_the_report_from_stdin() {
    let key = live_key(22);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let output = tuskguard()
        .env("TUSKY_API_URL", &fake.url)
        .args(["verify", "-", "--format", "json"])
        .write_stdin(report_with_keys(&[&key]).to_string())
        .output()
        .unwrap();
    assert_eq!(statuses(&output)[0].0, "live");
}

#[test]
fn a_broken_report_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    dir.child("bad.json").write_str("{not json").unwrap();
    let output = tuskguard()
        .current_dir(dir.path())
        .args(["verify", "bad.json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("bad.json"));
}

// ---- revocation ----

pub(crate) fn revoke(
    fake: &FakeTusky,
    dir: &TempDir,
    keys: &[&str],
    extra: &[&str],
) -> (Output, String) {
    let report = write_report(dir, keys);
    let audit = dir.path().join("audit.jsonl");
    let mut args = vec![
        "revoke",
        report.to_str().unwrap(),
        "--audit-log",
        audit.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = run(fake, &args, dir.path());
    assert_no_key_in(&output, keys);
    fake.assert_no_key_in_urls();
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    for key in keys {
        assert!(!log.contains(key), "full key in the audit log");
    }
    (output, log)
}

pub(crate) fn revocation(output: &Output, index: usize) -> Value {
    json_of(output)["findings"][index]["verification"]["revocation"].clone()
}

#[test]
fn revoke_is_a_dry_run_without_yes() {
    let key = live_key(30);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let dir = TempDir::new().unwrap();
    let (output, log) = revoke(&fake, &dir, &[&key], &["--format", "json"]);
    assert_eq!(revocation(&output, 0)["outcome"], "would-revoke");
    assert_eq!(revocation(&output, 0)["key_id"], "k1");
    assert_eq!(fake.count("DELETE", "/"), 0);
    assert!(log.is_empty(), "a dry run writes no audit entry");
    assert_eq!(output.status.code(), Some(1), "a live key remains");
    assert!(!fake.key("k1").revoked);
}

#[test]
fn revoke_yes_deletes_confirms_and_audits() {
    let key = live_key(31);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let dir = TempDir::new().unwrap();
    let (output, log) = revoke(&fake, &dir, &[&key], &["--yes", "--format", "json"]);
    assert_eq!(revocation(&output, 0)["outcome"], "revoked", "{output:?}");
    assert!(fake.key("k1").revoked);
    assert_eq!(output.status.code(), Some(0));
    // Write-ahead: the attempt is logged before the DELETE, the outcome after it.
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert_eq!(lines[0]["outcome"], "attempt");
    assert_eq!(lines[0]["key_id"], "k1");
    let entry = &lines[1];
    assert_eq!(entry["outcome"], "revoked");
    assert_eq!(entry["key_id"], "k1");
    assert_eq!(entry["credential"], "leaked-key");
    assert!(entry["time"].as_str().unwrap().ends_with('Z'));
    assert!(entry["fingerprint"].as_str().unwrap().len() >= 16);
    // After the DELETE, the key was probed again.
    let requests = fake.requests();
    let delete_at = requests.iter().position(|r| r.method == "DELETE").unwrap();
    assert!(
        requests[delete_at + 1..]
            .iter()
            .any(|r| r.url == "/v2/account/usage")
    );
}

#[test]
fn scoped_keys_are_resolved_with_the_management_key_by_prefix_or_suffix() {
    for hints in [
        Hints::KeyPrefix,
        Hints::Prefix,
        Hints::Last4,
        Hints::LastFour,
        Hints::Suffix,
    ] {
        let (leaked, admin) = (live_key(32), live_key(33));
        let fake = FakeTusky::start(
            vec![
                FakeKey::admin("adm", &admin),
                FakeKey::scoped("k2", &leaked, &["files:read"]),
                FakeKey::scoped("k3", &live_key(34), &["files:read"]),
            ],
            Behaviour {
                hints,
                ..Behaviour::default()
            },
        );
        let dir = TempDir::new().unwrap();
        let report = write_report(&dir, &[&leaked]);
        let audit = dir.path().join("audit.jsonl");
        let output = tuskguard()
            .current_dir(dir.path())
            .env("TUSKY_API_URL", &fake.url)
            .env("TUSKY_ADMIN_API_KEY", &admin)
            .args([
                "revoke",
                report.to_str().unwrap(),
                "--yes",
                "--format",
                "json",
            ])
            .arg("--audit-log")
            .arg(&audit)
            .output()
            .unwrap();
        assert_no_key_in(&output, &[&leaked, &admin]);
        assert_eq!(revocation(&output, 0)["outcome"], "revoked", "{hints:?}");
        assert!(fake.key("k2").revoked && !fake.key("k3").revoked);
        assert!(!fake.key("adm").revoked);
        let delete = fake
            .requests()
            .into_iter()
            .find(|r| r.method == "DELETE")
            .unwrap();
        assert_eq!(
            delete.caller.as_deref(),
            Some("adm"),
            "listed and deleted with the management key"
        );
        let log = std::fs::read_to_string(&audit).unwrap();
        assert!(log.contains("TUSKY_ADMIN_API_KEY") && !log.contains(&admin));
        fake.assert_no_key_in_urls();
    }
}

#[test]
fn pagination_is_followed_to_the_last_page() {
    let leaked = live_key(35);
    let mut keys: Vec<FakeKey> = (0..6)
        .map(|i| FakeKey::scoped(&format!("other{i}"), &live_key(100 + i), &["files:read"]))
        .collect();
    keys.push(FakeKey::admin("target", &leaked));
    let fake = FakeTusky::start(
        keys,
        Behaviour {
            page_size: 2,
            ..Behaviour::default()
        },
    );
    let dir = TempDir::new().unwrap();
    let (output, _) = revoke(&fake, &dir, &[&leaked], &["--yes", "--format", "json"]);
    assert_eq!(revocation(&output, 0)["outcome"], "revoked");
    assert_eq!(fake.count("GET", "/v2/api-keys"), 4);
    assert!(fake.requests().iter().any(|r| r.url.contains("cursor=c6")));
}

#[test]
fn without_identifying_fields_nothing_is_guessed() {
    let key = live_key(36);
    let fake = FakeTusky::start(
        vec![FakeKey::admin("k1", &key)],
        Behaviour {
            hints: Hints::None,
            ..Behaviour::default()
        },
    );
    let dir = TempDir::new().unwrap();
    let (output, log) = revoke(&fake, &dir, &[&key], &["--yes", "--format", "json"]);
    let revocation = revocation(&output, 0);
    assert_eq!(revocation["outcome"], "unresolved");
    let reason = revocation["reason"].as_str().unwrap();
    assert!(
        reason.contains("https://app.tusky.io/account/api-keys"),
        "{reason}"
    );
    assert_eq!(revocation["candidates"][0]["name"], "k1-name");
    assert_eq!(
        revocation["candidates"][0]["created_at"],
        "2026-01-02T03:04:05Z"
    );
    assert_eq!(fake.count("DELETE", "/"), 0);
    assert!(log.contains("unresolved"));
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn two_matching_keys_are_ambiguous_and_not_revoked() {
    let key = live_key(37);
    let fake = FakeTusky::start(
        vec![
            FakeKey::admin("k1", &key),
            FakeKey {
                id: "twin".into(),
                ..FakeKey::admin("k1", &key)
            },
        ],
        Behaviour {
            hints: Hints::Last4,
            ..Behaviour::default()
        },
    );
    let dir = TempDir::new().unwrap();
    let (output, _) = revoke(&fake, &dir, &[&key], &["--yes", "--format", "json"]);
    assert_eq!(revocation(&output, 0)["outcome"], "unresolved");
    assert!(
        revocation(&output, 0)["reason"]
            .as_str()
            .unwrap()
            .contains("2 listed keys")
    );
    assert_eq!(fake.count("DELETE", "/"), 0);
}

#[test]
fn a_scoped_key_without_a_management_key_is_unresolved() {
    let key = live_key(38);
    let fake = FakeTusky::start(
        vec![FakeKey::scoped("k1", &key, &["files:read"])],
        Behaviour::default(),
    );
    let dir = TempDir::new().unwrap();
    let (output, _) = revoke(&fake, &dir, &[&key], &["--yes", "--format", "json"]);
    let revocation = revocation(&output, 0);
    assert_eq!(revocation["outcome"], "unresolved");
    assert!(
        revocation["reason"]
            .as_str()
            .unwrap()
            .contains("TUSKY_ADMIN_API_KEY")
    );
}

#[test]
fn a_revoke_the_server_forgets_is_not_confirmed() {
    let key = live_key(39);
    let fake = FakeTusky::start(
        vec![FakeKey::admin("k1", &key)],
        Behaviour {
            forget_revoke: true,
            ..Behaviour::default()
        },
    );
    let dir = TempDir::new().unwrap();
    let (output, log) = revoke(&fake, &dir, &[&key], &["--yes", "--format", "json"]);
    assert_eq!(revocation(&output, 0)["outcome"], "not-confirmed");
    assert_eq!(fake.count("DELETE", "/"), 1, "DELETE is never retried");
    assert!(log.contains("not-confirmed"));
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn test_keys_are_revoked_too_but_reported_separately() {
    let (live, test) = (live_key(40), test_key(41));
    let fake = FakeTusky::start(
        vec![FakeKey::admin("k1", &live), FakeKey::admin("k2", &test)],
        Behaviour::default(),
    );
    let dir = TempDir::new().unwrap();
    let (output, log) = revoke(&fake, &dir, &[&live, &test], &["--yes"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("production keys: 1 revoked"), "{stdout}");
    assert!(
        stdout.contains("testnet keys (tsk_test_): 1 revoked"),
        "{stdout}"
    );
    assert_eq!(log.lines().count(), 4, "an attempt and an outcome per key");
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn the_audit_log_is_appended_not_replaced() {
    let (a, b) = (live_key(42), live_key(43));
    let fake = FakeTusky::start(
        vec![FakeKey::admin("k1", &a), FakeKey::admin("k2", &b)],
        Behaviour::default(),
    );
    let dir = TempDir::new().unwrap();
    let (_, first) = revoke(&fake, &dir, &[&a], &["--yes"]);
    let (_, second) = revoke(&fake, &dir, &[&b], &["--yes"]);
    assert_eq!(first.lines().count(), 2, "attempt and outcome");
    assert_eq!(second.lines().count(), 4);
    assert!(second.starts_with(&first));
}

#[test]
fn scan_revoke_needs_verify() {
    let dir = TempDir::new().unwrap();
    tuskguard()
        .args(["scan", "--revoke"])
        .arg(dir.path())
        .assert()
        .code(2);
}

// ---- end to end through the real engine ----

#[test]
fn scan_verify_uses_the_command_line_url_never_the_repo_config() {
    let key = live_key(50);
    let good = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let hostile = FakeTusky::start(vec![], Behaviour::default());
    let dir = TempDir::new().unwrap();
    dir.child("app.env")
        .write_str(&format!("TUSKY_API_KEY={key}\n"))
        .unwrap();
    dir.child(".tuskguard.toml")
        .write_str(&format!("api_url = \"{}\"\n", hostile.url))
        .unwrap();
    let output = tuskguard()
        .env("TUSKY_API_URL", &good.url)
        .args(["scan", "--verify", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_no_key_in(&output, &[&key]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("API URL is ignored"));
    assert_eq!(statuses(&output)[0].0, "live");
    assert!(hostile.requests().is_empty(), "the repo redirected a key");
    assert_eq!(good.count("GET", "/v2/account/usage"), 1);
    good.assert_no_key_in_urls();
}

#[test]
fn verify_reads_keys_again_from_the_files_of_a_saved_report() {
    let key = live_key(51);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let dir = TempDir::new().unwrap();
    let tree = dir.child("tree");
    tree.child("src/config.js")
        .write_str(&format!(
            "const tusky = new Tusky({{ apiKey: \"{key}\" }});\n"
        ))
        .unwrap();
    let report = dir.child("report.json");
    tuskguard()
        .args(["scan", "--format", "json", "-o"])
        .arg(report.path())
        .arg(tree.path())
        .assert()
        .code(1);
    let saved = std::fs::read_to_string(report.path()).unwrap();
    assert!(!saved.contains(&key), "a saved report holds no key");
    let output = run(
        &fake,
        &[
            "verify",
            report.path().to_str().unwrap(),
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_no_key_in(&output, &[&key]);
    assert_eq!(statuses(&output)[0].0, "live", "{output:?}");

    // The file changed since the scan: the key cannot be recovered, and nothing is guessed.
    tree.child("src/config.js")
        .write_str("// moved to env\n")
        .unwrap();
    let output = run(
        &fake,
        &[
            "verify",
            report.path().to_str().unwrap(),
            "--format",
            "json",
        ],
        dir.path(),
    );
    let got = statuses(&output);
    assert_eq!(got[0].0, "unknown");
    assert!(got[0].1.contains("could not be recovered"), "{got:?}");
    assert_eq!(fake.count("GET", "/v2/account/usage"), 1);
}

#[test]
fn verify_reads_history_locations_from_the_commit() {
    let key = live_key(52);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let dir = TempDir::new().unwrap();
    let repo = dir.child("repo");
    repo.create_dir_all().unwrap();
    init_repo(repo.path());
    repo.child("deploy.sh")
        .write_str(&format!("export TUSKY_API_KEY={key}\n"))
        .unwrap();
    commit_all(repo.path(), "add deploy script");
    let commit = git(repo.path(), &["rev-parse", "HEAD"]).trim().to_owned();
    let output = tuskguard()
        .args(["scan", "--format", "json"])
        .arg(repo.path())
        .output()
        .unwrap();
    let mut report = json_of(&output);
    // Shape the working-tree finding into a history one, then delete the file from the tree.
    report["mode"] = json!("history");
    report["findings"][0]["locations"][0]["commit"] = json!({
        "id": commit, "author": "Test Author", "email": "author@example.com",
        "time": "2026-01-01T00:00:00Z", "summary": "add deploy script"
    });
    std::fs::remove_file(repo.child("deploy.sh").path()).unwrap();
    commit_all(repo.path(), "remove deploy script");
    let output = tuskguard()
        .env("TUSKY_API_URL", &fake.url)
        .args(["verify", "-", "--format", "json"])
        .write_stdin(report.to_string())
        .output()
        .unwrap();
    assert_no_key_in(&output, &[&key]);
    assert_eq!(statuses(&output)[0].0, "live", "{output:?}");
}

#[test]
fn scan_verify_revoke_yes_revokes_and_audits() {
    let key = live_key(53);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let dir = TempDir::new().unwrap();
    let tree = dir.child("tree");
    tree.child(".env.production")
        .write_str(&format!("TUSKY_API_KEY={key}\n"))
        .unwrap();
    let audit = dir.path().join("audit.jsonl");
    let output = tuskguard()
        .env("TUSKY_API_URL", &fake.url)
        .args(["scan", "--verify", "--revoke", "--yes", "--format", "json"])
        .arg("--audit-log")
        .arg(&audit)
        .arg(tree.path())
        .output()
        .unwrap();
    assert_no_key_in(&output, &[&key]);
    let json = json_of(&output);
    let secret = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "secret")
        .unwrap();
    assert_eq!(secret["verification"]["revocation"]["outcome"], "revoked");
    assert!(fake.key("k1").revoked);
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(log.contains("\"outcome\":\"revoked\"") && !log.contains(&key));
    fake.assert_no_key_in_urls();
}

#[test]
fn scan_verify_revoke_without_yes_is_a_dry_run() {
    let key = live_key(54);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let dir = TempDir::new().unwrap();
    dir.child("app.env")
        .write_str(&format!("TUSKY_API_KEY={key}\n"))
        .unwrap();
    let output = tuskguard()
        .env("TUSKY_API_URL", &fake.url)
        .args(["scan", "--verify", "--revoke"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_no_key_in(&output, &[&key]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("would be revoked (dry run)"));
    assert_eq!(fake.count("DELETE", "/"), 0);
    assert!(!fake.key("k1").revoked);
}

#[test]
fn keys_left_when_the_time_budget_runs_out_are_unknown() {
    let (a, b) = (live_key(55), live_key(56));
    let fake = FakeTusky::start(
        vec![FakeKey::admin("k1", &a), FakeKey::admin("k2", &b)],
        Behaviour {
            usage_delay: Some(Duration::from_secs(3)),
            ..Behaviour::default()
        },
    );
    let dir = TempDir::new().unwrap();
    let report = write_report(&dir, &[&a, &b]);
    let output = run(
        &fake,
        &[
            "verify",
            report.to_str().unwrap(),
            "--format",
            "json",
            "--concurrency",
            "1",
            "--timeout",
            "30s",
            "--time-budget",
            "1s",
        ],
        dir.path(),
    );
    let got = statuses(&output);
    assert!(got.iter().all(|(status, _)| status == "unknown"), "{got:?}");
    let reasons: Vec<&str> = got.iter().map(|(_, r)| r.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("timed out")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("time budget exhausted")),
        "{reasons:?}"
    );
    assert_eq!(fake.count("GET", "/v2/account/usage"), 1);
}

#[test]
fn a_wrong_base_path_gives_404_and_unknown_not_dead() {
    let key = live_key(57);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let dir = TempDir::new().unwrap();
    let report = write_report(&dir, &[&key]);
    let output = tuskguard()
        .current_dir(dir.path())
        .args(["verify", report.to_str().unwrap(), "--format", "json"])
        .arg("--api-url")
        .arg(format!("{}/not-the-api", fake.url))
        .output()
        .unwrap();
    let got = statuses(&output);
    assert_eq!(got[0].0, "unknown");
    assert!(got[0].1.contains("unexpected HTTP 404"), "{got:?}");
}

#[test]
fn history_verify_probes_keys_that_are_gone_from_the_tree() {
    let live = live_key(52);
    let revoked = live_key(53);
    let fake = FakeTusky::start(
        vec![
            FakeKey::admin("k1", &live),
            FakeKey::admin("k2", &revoked).revoked(),
        ],
        Behaviour::default(),
    );
    let repo = TempDir::new().unwrap();
    init_repo(repo.path());
    repo.child("deploy.sh")
        .write_str(&format!("export TUSKY_API_KEY={live}\n"))
        .unwrap();
    repo.child("old.py")
        .write_str(&format!("TUSKY_API_KEY = \"{revoked}\"\n"))
        .unwrap();
    commit_all(repo.path(), "keys");
    std::fs::remove_file(repo.path().join("deploy.sh")).unwrap();
    std::fs::remove_file(repo.path().join("old.py")).unwrap();
    commit_all(repo.path(), "remove keys");

    let output = run(
        &fake,
        &[
            "history",
            "--verify",
            "--format",
            "json",
            "--fail-on",
            "live",
        ],
        repo.path(),
    );
    assert_no_key_in(&output, &[&live, &revoked]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report = json_of(&output);
    let by_path: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["locations"][0]["path"].as_str().unwrap().to_owned(),
                f["verification"]["status"]
                    .as_str()
                    .unwrap_or("-")
                    .to_owned(),
            )
        })
        .collect();
    assert!(
        by_path.contains(&("deploy.sh".to_owned(), "live".to_owned())),
        "{by_path:?}"
    );
    assert!(
        by_path.contains(&("old.py".to_owned(), "not-live".to_owned())),
        "{by_path:?}"
    );
    fake.assert_no_key_in_urls();
}

#[test]
fn staged_verify_probes_the_staged_key() {
    let key = live_key(54);
    let fake = FakeTusky::start(vec![FakeKey::admin("k1", &key)], Behaviour::default());
    let repo = TempDir::new().unwrap();
    init_repo(repo.path());
    repo.child("app.py")
        .write_str(&format!("TUSKY_API_KEY = \"{key}\"\n"))
        .unwrap();
    git(repo.path(), &["add", "app.py"]);
    let output = run(
        &fake,
        &["scan", "--staged", "--verify", "--format", "json"],
        repo.path(),
    );
    assert_no_key_in(&output, &[&key]);
    assert_eq!(statuses(&output), vec![("live".to_owned(), String::new())]);
}
