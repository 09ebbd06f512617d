//! `tuskguard scan` on directories: detection, non-detection, suppression, formats, exit codes and
//! hostile input. Every key is built at run time.

use std::path::Path;

use assert_fs::TempDir;
use assert_fs::prelude::*;
use base64::Engine as _;
use predicates::prelude::*;

use crate::helpers::*;

fn scan_json(dir: &Path, extra: &[&str]) -> (serde_json::Value, std::process::Output) {
    let output = tuskguard()
        .arg("scan")
        .arg(dir)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    (json_of(&output), output)
}

fn rule_ids(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_owned())
        .collect()
}

fn assert_no_full_key(output: &std::process::Output, key: &str) {
    for stream in [&output.stdout, &output.stderr] {
        assert!(
            !String::from_utf8_lossy(stream).contains(key),
            "full key leaked: {}",
            String::from_utf8_lossy(stream)
        );
    }
}

#[test]
fn clean_directory_exits_zero() {
    let dir = TempDir::new().unwrap();
    dir.child("README.md").write_str("nothing here\n").unwrap();
    tuskguard()
        .arg("scan")
        .arg(dir.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no findings"));
}

#[test]
fn live_key_is_reported_redacted_with_location_and_exit_one() {
    let dir = TempDir::new().unwrap();
    let key = live_key(1);
    dir.child("src/config.ts")
        .write_str(&format!(
            "// config\nexport const client = new Tusky({{ apiKey: \"{key}\" }});\n"
        ))
        .unwrap();
    let output = tuskguard().arg("scan").arg(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("CRITICAL"), "{stdout}");
    assert!(stdout.contains("src/config.ts:2:"), "{stdout}");
    assert!(stdout.contains(&format!("{}…", &key[..13])), "{stdout}");
    assert!(stdout.contains("fix:"), "{stdout}");
    assert_no_full_key(&output, &key);
}

#[test]
fn show_secrets_prints_the_full_key_only_when_asked() {
    let dir = TempDir::new().unwrap();
    let key = live_key(2);
    dir.child(".env")
        .write_str(&format!("TUSKY_API_KEY={key}\n"))
        .unwrap();
    let output = tuskguard()
        .args(["scan", "--show-secrets"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains(&key));
    let (report, output) = scan_json(dir.path(), &[]);
    assert_no_full_key(&output, &key);
    assert!(report["findings"][0]["secret"].get("value").is_none());
    let (report, _) = scan_json(dir.path(), &["--show-secrets"]);
    assert_eq!(report["findings"][0]["secret"]["value"], key.as_str());
}

#[test]
fn json_report_has_the_documented_shape() {
    let dir = TempDir::new().unwrap();
    ignore_env_files(dir.path());
    let key = live_key(3);
    dir.child(".env")
        .write_str(&format!("TUSKY_API_KEY={key}\n"))
        .unwrap();
    let (report, output) = scan_json(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(report["version"], 1);
    assert_eq!(report["tool"]["name"], "tuskguard");
    let finding = &report["findings"][0];
    assert_eq!(finding["rule_id"], "tusky-live-key");
    assert_eq!(finding["kind"], "secret");
    assert_eq!(finding["severity"], "critical");
    assert_eq!(finding["confidence"], "high");
    assert_eq!(finding["secret"]["length"], key.len());
    assert_eq!(finding["fingerprint"].as_str().unwrap().len(), 32);
    let location = &finding["locations"][0];
    assert_eq!(location["path"], ".env");
    assert_eq!(
        (location["line"].as_u64(), location["column"].as_u64()),
        (Some(1), Some(15))
    );
    assert_eq!(location["end_column"].as_u64(), Some(15 + key.len() as u64));
    // .env and the .gitignore that ignores it.
    assert_eq!(report["summary"]["files_scanned"], 2);
    assert_eq!(report["summary"]["findings"], 1);
}

#[test]
fn live_keys_rank_above_test_keys() {
    let dir = TempDir::new().unwrap();
    ignore_env_files(dir.path());
    dir.child("a.env")
        .write_str(&format!("TUSKY_API_KEY={}\n", test_key(4)))
        .unwrap();
    dir.child("z.env")
        .write_str(&format!("TUSKY_API_KEY={}\n", live_key(4)))
        .unwrap();
    let (report, _) = scan_json(dir.path(), &[]);
    assert_eq!(rule_ids(&report), ["tusky-live-key", "tusky-test-key"]);
    assert_eq!(report["findings"][1]["severity"], "medium");
}

#[test]
fn realistic_body_lengths_are_detected() {
    let dir = TempDir::new().unwrap();
    let mut text = String::new();
    for (i, len) in [20usize, 24, 32, 40, 48, 64].iter().enumerate() {
        text.push_str(&format!(
            "KEY_{i}=tsk_live_{}\n",
            random_body(100 + i as u64, *len)
        ));
    }
    dir.child("keys.txt").write_str(&text).unwrap();
    let (report, _) = scan_json(dir.path(), &[]);
    assert_eq!(report["findings"].as_array().unwrap().len(), 6);
}

#[test]
fn legacy_uuid_keys_only_in_tusky_context() {
    let dir = TempDir::new().unwrap();
    ignore_env_files(dir.path());
    let (env_key, sdk_key, other) = (legacy_key(5), legacy_key(6), legacy_key(7));
    dir.child(".env")
        .write_str(&format!("TUSKY_API_KEY={env_key}\n"))
        .unwrap();
    dir.child("client.ts")
        .write_str(&format!(
            "import {{ Tusky }} from \"@tusky-io/ts-sdk\";\nconst tusky = new Tusky({{\n  apiKey: \"{sdk_key}\",\n}});\n"
        ))
        .unwrap();
    dir.child("ids.json")
        .write_str(&format!(
            "{{\"request_id\": \"{other}\", \"trace\": \"{other}\"}}\n"
        ))
        .unwrap();
    let (report, _) = scan_json(dir.path(), &[]);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{report:#}");
    assert!(findings.iter().all(|f| f["rule_id"] == "tusky-legacy-key"));
    let paths: Vec<&str> = findings
        .iter()
        .map(|f| f["locations"][0]["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&".env") && paths.contains(&"client.ts"),
        "{paths:?}"
    );
}

/// `TUSKY_API_KEY=<uuid>` stored encoded: a whole `.env` in a Kubernetes Secret
/// (`kubectl create secret --from-file=.env`, base64), a percent-encoded URL parameter and a
/// UTF-16 file without a BOM are still Tusky context; the same forms of a request id are not.
#[test]
fn legacy_keys_in_encoded_env_lines() {
    let dir = TempDir::new().unwrap();
    let (k8s_key, url_key, utf16_key, other) = (
        legacy_key(11),
        legacy_key(12),
        legacy_key(13),
        legacy_key(14),
    );
    let env_file = format!("APP_ENV=prod\nTUSKY_API_KEY={k8s_key}\nTUSKY_REQUEST_ID={other}\n");
    dir.child("secret.yaml")
        .write_str(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-env\ndata:\n  .env: {}\n",
            base64::engine::general_purpose::STANDARD.encode(env_file)
        ))
        .unwrap();
    dir.child("call.sh")
        .write_str(&format!(
            "curl 'https://example.test/set?line=TUSKY%5FAPI%5FKEY%3D{url_key}'\n"
        ))
        .unwrap();
    let utf16: Vec<u8> = format!("TUSKY_API_KEY={utf16_key}\r\n")
        .bytes()
        .flat_map(|b| [b, 0])
        .collect();
    dir.child("settings.txt").write_binary(&utf16).unwrap();
    dir.child("log.txt")
        .write_str(&format!("GET /v2/files?q=TUSKY%5FREQUEST%5FID%3D{other}\n"))
        .unwrap();
    let (report, _) = scan_json(dir.path(), &[]);
    let mut found: Vec<(&str, &str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "secret")
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap(),
                f["locations"][0]["path"].as_str().unwrap(),
                f["locations"][0]["encoding"].as_str().unwrap_or("plain"),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("tusky-legacy-key", "call.sh", "percent"),
            ("tusky-legacy-key", "secret.yaml", "base64"),
            ("tusky-legacy-key", "settings.txt", "utf16le"),
        ],
        "{report:#}"
    );
}

#[test]
fn encoded_and_awkward_files_are_scanned() {
    let dir = TempDir::new().unwrap();
    ignore_env_files(dir.path());
    let standard = &base64::engine::general_purpose::STANDARD;
    let keys: Vec<String> = (10..18).map(live_key).collect();
    dir.child("k8s/secret.yaml")
        .write_str(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tusky\ndata:\n  TUSKY_API_KEY: {}\n",
            standard.encode(&keys[0])
        ))
        .unwrap();
    dir.child("callback.url")
        .write_str(&format!(
            "https://example.test/hook?key={}\n",
            keys[1].replace('_', "%5F")
        ))
        .unwrap();
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            format!("line one\r\nTUSKY_API_KEY={}\r\n", keys[2])
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    dir.child("settings.ps1").write_binary(&utf16).unwrap();
    dir.child("crlf.env")
        .write_str(&format!("A=1\r\nTUSKY_API_KEY={}\r\n", keys[3]))
        .unwrap();
    dir.child("dist/bundle.min.js")
        .write_str(&format!(
            "{}var k=\"{}\";{}",
            "a=1;".repeat(20_000),
            keys[4],
            "b=2;".repeat(20_000)
        ))
        .unwrap();
    dir.child("notebook.ipynb")
        .write_str(&format!(
            "{{\"cells\": [{{\"cell_type\": \"code\", \"source\": [\"import os\\n\", \"os.environ['TUSKY_API_KEY'] = '{}'\\n\"]}}]}}",
            keys[5]
        ))
        .unwrap();
    dir.child("app.log")
        .write_str(&format!(
            "2026-11-26T10:00:00Z DEBUG auth header Api-Key: {}\n",
            keys[6]
        ))
        .unwrap();
    let mut binary = vec![0x89, b'P', b'N', b'G', 0, 0, 0xFF, 0xFE, 0x00];
    binary.extend_from_slice(keys[7].as_bytes());
    binary.extend([0u8, 0x13, 0x37, 0xFF]);
    dir.child("image.png").write_binary(&binary).unwrap();

    let (report, output) = scan_json(dir.path(), &[]);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), keys.len(), "{report:#}");
    let location_of = |path: &str| {
        findings
            .iter()
            .map(|f| &f["locations"][0])
            .find(|l| l["path"] == path)
            .unwrap_or_else(|| panic!("no finding in {path}: {report:#}"))
            .clone()
    };
    assert_eq!(location_of("k8s/secret.yaml")["encoding"], "base64");
    assert_eq!(location_of("k8s/secret.yaml")["line"], 6);
    assert_eq!(location_of("callback.url")["encoding"], "percent");
    assert_eq!(location_of("settings.ps1")["encoding"], "utf16le");
    assert_eq!(location_of("settings.ps1")["line"], 2);
    assert_eq!(location_of("crlf.env")["line"], 2);
    assert_eq!(location_of("dist/bundle.min.js")["column"], 80_008);
    for key in &keys {
        assert_no_full_key(&output, key);
    }
}

#[test]
fn placeholders_templates_and_references_are_not_findings() {
    let dir = TempDir::new().unwrap();
    let lines = [
        "TUSKY_API_KEY=tsk_live_abc123",
        "TUSKY_API_KEY=tsk_live_abc123def456",
        "apiKey: 'tsk_live_...'",
        "apiKey: 'tsk_live_abc123...'",
        "apiKey: 'tsk_live_xK9m2...'",
        "TUSKY_API_KEY=tsk_live_admin_key...",
        "TUSKY_API_KEY=tsk_test_",
        "TUSKY_API_KEY=tsk_live_<your-key>",
        "TUSKY_API_KEY=tsk_live_{{ tusky_key }}",
        "TUSKY_API_KEY=tsk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "TUSKY_API_KEY=tsk_live_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "TUSKY_API_KEY=tsk_live_00000000000000000000000000000000",
        "TUSKY_API_KEY=tsk_live_abcdefghijklmnopqrstuvwxyz012345",
        "TUSKY_API_KEY=tsk_live_0123456789012345678901234567890",
        "TUSKY_API_KEY=tsk_live_****************************",
        "TUSKY_API_KEY=tsk_live_9fK2••••••••",
        "let tsk_live_key_count = 0;",
        "const pattern = /tsk_(live|test)_[A-Za-z0-9]{20,64}/;",
        "prefix = 'tsk_live_'",
        "TUSKY_API_KEY=tsk_live_yourProductionApiKeyGoesHere",
        "TUSKY_API_KEY=${TUSKY_API_KEY}",
        "TUSKY_API_KEY=$TUSKY_API_KEY",
        "api-key: ${{ secrets.TUSKY_API_KEY }}",
        "const key = process.env.TUSKY_API_KEY;",
        "key = os.environ['TUSKY_API_KEY']",
        "key := os.Getenv(\"TUSKY_API_KEY\")",
        "TUSKY_API_KEY=",
        "TUSKY_API_KEY=\"\"",
        "new Tusky({ apiKey: process.env.TUSKY_API_KEY })",
        "TUSKY_API_KEY=00000000-0000-0000-0000-000000000000",
    ];
    dir.child("docs.md").write_str(&lines.join("\n")).unwrap();
    let (report, output) = scan_json(dir.path(), &[]);
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        0,
        "{report:#}"
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn one_key_in_many_files_is_one_finding_with_every_location() {
    let dir = TempDir::new().unwrap();
    ignore_env_files(dir.path());
    let key = live_key(20);
    for name in ["a.env", "b/c.yaml", "d/e/f.js"] {
        dir.child(name).write_str(&format!("key: {key}\n")).unwrap();
    }
    let (report, _) = scan_json(dir.path(), &[]);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["locations"].as_array().unwrap().len(), 3);
    let text = tuskguard().arg("scan").arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert_eq!(stdout.matches("CRITICAL").count(), 1, "{stdout}");
    assert!(stdout.contains("d/e/f.js:1:6"), "{stdout}");
}

#[test]
fn inline_allow_on_the_line_or_the_line_before() {
    let dir = TempDir::new().unwrap();
    dir.child("a.py")
        .write_str(&format!(
            "KEY = '{}'  # tuskguard:allow\n# tuskguard:allow (fixture)\nOTHER = '{}'\n",
            live_key(21),
            live_key(22)
        ))
        .unwrap();
    let (report, output) = scan_json(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(report["summary"]["suppressed"]["inline"], 2);
    dir.child("b.py")
        .write_str(&format!("KEY = '{}'\n", live_key(23)))
        .unwrap();
    let (report, _) = scan_json(dir.path(), &[]);
    assert_eq!(report["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn tuskguardignore_fingerprints_silence_a_key_but_not_a_new_one() {
    let dir = TempDir::new().unwrap();
    ignore_env_files(dir.path());
    dir.child("a.env")
        .write_str(&format!("TUSKY_API_KEY={}\n", live_key(24)))
        .unwrap();
    let (report, _) = scan_json(dir.path(), &[]);
    let fingerprint = report["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    dir.child(".tuskguardignore")
        .write_str(&format!(
            "# accepted: rotated 2026-11-01\n{fingerprint}  # old staging key\n"
        ))
        .unwrap();
    let (report, output) = scan_json(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(report["summary"]["suppressed"]["ignore_file"], 1);
    // The same line with a different key is still caught.
    dir.child("a.env")
        .write_str(&format!("TUSKY_API_KEY={}\n", live_key(25)))
        .unwrap();
    let (_, output) = scan_json(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn broken_ignore_file_is_a_clear_error() {
    let dir = TempDir::new().unwrap();
    dir.child(".tuskguardignore")
        .write_str("not a fingerprint!\n")
        .unwrap();
    tuskguard()
        .arg("scan")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(".tuskguardignore:1"));
}

#[test]
fn baseline_reports_only_new_keys_and_survives_moved_lines() {
    let dir = TempDir::new().unwrap();
    ignore_env_files(dir.path());
    let old = live_key(26);
    dir.child("a.env")
        .write_str(&format!("TUSKY_API_KEY={old}\n"))
        .unwrap();
    let baseline = dir.child("baseline.json");
    tuskguard()
        .arg("baseline")
        .arg(dir.path())
        .arg("--output")
        .arg(baseline.path())
        .assert()
        .code(0);
    let written = std::fs::read_to_string(baseline.path()).unwrap();
    assert!(!written.contains(&old), "baseline must not store keys");
    dir.child("a.env")
        .write_str(&format!("# moved\n\nTUSKY_API_KEY={old}\n"))
        .unwrap();
    let baseline_arg = baseline.path().to_str().unwrap();
    let (report, output) = scan_json(dir.path(), &["--baseline", baseline_arg]);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    assert_eq!(report["summary"]["suppressed"]["baseline"], 1);
    dir.child("b.env")
        .write_str(&format!("TUSKY_API_KEY={}\n", live_key(27)))
        .unwrap();
    let (report, output) = scan_json(dir.path(), &["--baseline", baseline_arg]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(report["findings"][0]["locations"][0]["path"], "b.env");
}

#[test]
fn config_allowlists_paths_and_secrets() {
    let dir = TempDir::new().unwrap();
    let fixture = live_key(28);
    dir.child("fixtures/keys.txt")
        .write_str(&format!("{fixture}\n"))
        .unwrap();
    dir.child("src/a.txt")
        .write_str(&format!("{}\n", live_key(29)))
        .unwrap();
    dir.child(".tuskguard.toml")
        .write_str("[allowlist]\npaths = [\"fixtures/\"]\nsecrets = ['^tsk_live_.{32}$']\n")
        .unwrap();
    let (report, output) = scan_json(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(0), "{report:#}");
    assert_eq!(report["summary"]["suppressed"]["config"], 1);
    assert_eq!(report["summary"]["skipped"]["config-allowed"], 1);
}

#[test]
fn invalid_config_names_the_file_and_exits_two() {
    let dir = TempDir::new().unwrap();
    dir.child("custom.toml")
        .write_str("[allowlist]\npathz = []\n")
        .unwrap();
    tuskguard()
        .arg("scan")
        .arg(dir.path())
        .arg("--config")
        .arg(dir.child("custom.toml").path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("custom.toml"));
}

#[test]
fn custom_rules_from_config_are_used_and_checked() {
    let dir = TempDir::new().unwrap();
    let elsewhere = TempDir::new().unwrap();
    let config = r#"
[[rule]]
id = "acme-token"
title = "ACME deploy token"
severity = "high"
anchors = ["acme_"]
patterns = ['acme_(?P<secret>[0-9a-f]{24})']
remediation = "Rotate the ACME token."
examples = ["acme_0123456789abcdef01234567"]
negative_examples = ["acme_short"]
"#;
    let config_file = elsewhere.child("rules.toml");
    config_file.write_str(config).unwrap();
    dir.child("deploy.sh")
        .write_str("TOKEN=acme_9f8e7d6c5b4a39281706f5e4\n")
        .unwrap();
    let config_arg = config_file.path().to_str().unwrap();
    let (report, _) = scan_json(dir.path(), &["--config", config_arg]);
    assert_eq!(rule_ids(&report), ["acme-token"]);
    tuskguard()
        .args(["rules", "check", "--config", config_arg])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("4 rules"));
    tuskguard()
        .args(["rules", "list", "--config", config_arg])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("acme-token").and(predicate::str::contains("tusky-live-key")),
        );
    // A rule whose own example fails is caught by `rules check`.
    config_file
        .write_str(&config.replace("examples = [\"acme_0123", "examples = [\"acme_zz23"))
        .unwrap();
    tuskguard()
        .args(["rules", "check", "--config", config_arg])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAIL acme-token"));
}

#[test]
fn rules_list_shows_the_lints_and_which_the_config_switched_off() {
    let dir = TempDir::new().unwrap();
    let config = dir.child("lints-off.toml");
    config
        .write_str("disabled_rules = [\"env-file-not-ignored\"]\n")
        .unwrap();
    let output = tuskguard()
        .args(["rules", "list", "--config"])
        .arg(config.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for id in [
        "env-file-committed",
        "tusky-admin-key-created",
        "tusky-broad-scopes",
        "tusky-write-scopes",
        "tusky-unknown-scope",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} not listed:\n{stdout}"));
        assert!(!line.contains("disabled"), "{line}");
    }
    let off = stdout
        .lines()
        .find(|l| l.starts_with("env-file-not-ignored"))
        .expect("env-file-not-ignored listed");
    assert!(off.ends_with("(disabled by config)"), "{off}");
}

#[test]
fn gitignore_is_honoured_inside_a_repo_and_not_outside() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    dir.child(".gitignore").write_str("secrets/\n").unwrap();
    dir.child("secrets/prod.txt")
        .write_str(&format!("{}\n", live_key(30)))
        .unwrap();
    dir.child(".hidden/config")
        .write_str(&format!("{}\n", live_key(31)))
        .unwrap();
    dir.child(".git/stray")
        .write_str(&format!("{}\n", live_key(32)))
        .unwrap();
    let (report, _) = scan_json(dir.path(), &[]);
    let paths: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["locations"][0]["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths, [".hidden/config"]);
    let (report, _) = scan_json(dir.path(), &["--no-ignore"]);
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        2,
        "--no-ignore still skips .git"
    );

    let plain = TempDir::new().unwrap();
    plain.child(".gitignore").write_str("secrets/\n").unwrap();
    plain
        .child("secrets/prod.txt")
        .write_str(&format!("{}\n", live_key(33)))
        .unwrap();
    let (report, _) = scan_json(plain.path(), &[]);
    assert_eq!(report["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn fail_on_sets_the_threshold() {
    let dir = TempDir::new().unwrap();
    dir.child("t.env")
        .write_str(&format!("TUSKY_API_KEY={}\n", test_key(34)))
        .unwrap();
    tuskguard().arg("scan").arg(dir.path()).assert().code(1);
    tuskguard()
        .args(["scan", "--fail-on", "critical"])
        .arg(dir.path())
        .assert()
        .code(0);
    tuskguard()
        .args(["scan", "--fail-on", "sometimes"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--fail-on"));
}

#[test]
fn usage_errors_exit_two() {
    tuskguard()
        .args(["scan", "--no-such-flag"])
        .assert()
        .code(2);
    tuskguard()
        .args(["scan", "/definitely/not/here"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/definitely/not/here"));
    tuskguard()
        .args(["scan", ".", "--max-file-size", "lots"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--max-file-size"));
    tuskguard()
        .args(["scan", ".", "--threads", "0"])
        .assert()
        .code(2);
}

#[test]
fn output_file_receives_the_report() {
    let dir = TempDir::new().unwrap();
    let key = live_key(35);
    dir.child("src/a.env")
        .write_str(&format!("TUSKY_API_KEY={key}\n"))
        .unwrap();
    let out = TempDir::new().unwrap();
    let report_path = out.child("report.json");
    tuskguard()
        .arg("scan")
        .arg(dir.child("src").path())
        .args(["--format", "json", "--output"])
        .arg(report_path.path())
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty());
    let text = std::fs::read_to_string(report_path.path()).unwrap();
    assert!(!text.contains(&key));
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["findings"][0]["rule_id"], "tusky-live-key");
}

#[test]
fn hostile_inputs_are_survived_counted_and_said() {
    let dir = TempDir::new().unwrap();
    ignore_env_files(dir.path());
    let key = live_key(36);
    let mut garbage = Vec::new();
    let mut state = 99u64;
    for _ in 0..200_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        garbage.push(state as u8);
    }
    dir.child("garbage.bin").write_binary(&garbage).unwrap();
    let mut invalid_utf8 = b"\xC3\x28 \xFF\xFE\xFD TUSKY_API_KEY=".to_vec();
    invalid_utf8.extend_from_slice(key.as_bytes());
    invalid_utf8.extend_from_slice(b" \xE2\x82\n");
    dir.child("invalid.txt")
        .write_binary(&invalid_utf8)
        .unwrap();
    dir.child("big.dat")
        .write_binary(&vec![b'a'; 4096])
        .unwrap();
    dir.child("long-line.txt")
        .write_str(&"x".repeat(3_000_000))
        .unwrap();
    std::os::unix::fs::symlink("loop-b", dir.child("loop-a").path()).unwrap();
    std::os::unix::fs::symlink("loop-a", dir.child("loop-b").path()).unwrap();
    std::os::unix::fs::symlink(".", dir.child("self").path()).unwrap();
    let odd_name = "new\nline::name,%.env";
    dir.child(odd_name)
        .write_str(&format!("TUSKY_API_KEY={}\n", live_key(37)))
        .unwrap();

    let (report, output) = scan_json(dir.path(), &["--max-file-size", "3K"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("big.dat"),
        "the skipped file is named: {stderr}"
    );
    assert!(stderr.contains("--max-file-size"), "{stderr}");
    assert_eq!(report["summary"]["skipped"]["too-large"], 3, "{report:#}");
    assert_eq!(report["summary"]["skipped"]["not-a-file"], 3, "{report:#}");
    let paths: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["locations"][0]["path"].as_str().unwrap().to_owned())
        .collect();
    assert!(paths.contains(&odd_name.to_owned()), "{paths:?}");

    let (report, _) = scan_json(dir.path(), &[]);
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        2,
        "invalid UTF-8 does not hide a key"
    );
    let text = tuskguard().arg("scan").arg(dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("new\\nline::name,%.env:1:15"),
        "names are escaped: {stdout}"
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::process::{Command, Stdio};
    let dir = TempDir::new().unwrap();
    for i in 0..200 {
        dir.child(format!("f{i}.env"))
            .write_str(&format!("TUSKY_API_KEY={}\n", live_key(1000 + i)))
            .unwrap();
    }
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("tuskguard"))
        .arg("scan")
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "findings still decide the exit code"
    );
    assert!(String::from_utf8_lossy(&output.stderr).is_empty());
}
