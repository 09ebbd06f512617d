//! `broad-scope` on files that define several keys (a provisioning spec next to the create
//! endpoint, a Postman collection with several create requests): one finding per key definition,
//! at its line, each with its own fingerprint that survives edits around it.

use std::collections::BTreeSet;

use assert_fs::TempDir;
use assert_fs::prelude::*;
use serde_json::Value;

use crate::helpers::*;

/// Fixtures spell the collection `%api-keys%` so this repository holds no key-creation request.
fn write(dir: &TempDir, path: &str, content: &str) {
    dir.child(path)
        .write_str(&content.replace("%api-keys%", "api-keys"))
        .unwrap();
}

/// `(rule id, line, fingerprint)` of every finding of a scan of `dir`.
fn scan(dir: &TempDir) -> Vec<(String, u64, String)> {
    let output = tuskguard()
        .env("HOME", dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["scan", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = json_of(&output);
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["locations"][0]["line"].as_u64().unwrap(),
                f["fingerprint"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn rules_and_lines(found: &[(String, u64, String)]) -> Vec<(&str, u64)> {
    found.iter().map(|(r, l, _)| (r.as_str(), *l)).collect()
}

fn fingerprints(found: &[(String, u64, String)]) -> BTreeSet<&str> {
    found.iter().map(|(_, _, f)| f.as_str()).collect()
}

const ALL_WRITES: &str =
    r#"["volumes:write", "files:write", "members:write", "aggregators:write"]"#;

#[test]
fn provisioning_spec_gets_one_finding_per_key_definition() {
    let dir = TempDir::new().unwrap();
    let spec = format!(
        "{{\n  \"endpoint\": \"POST https://api.tusky.io/v2/%api-keys%\",\n  \"keys\": [\n    {{\"name\": \"root\", \"scopes\": null}},\n    {{\"name\": \"writer\", \"scopes\": {ALL_WRITES}}},\n    {{\"name\": \"reader\", \"scopes\": [\"files:read\"]}}\n  ]\n}}\n"
    );
    write(&dir, "provision.json", &spec);
    let found = scan(&dir);
    assert_eq!(
        rules_and_lines(&found),
        vec![("tusky-admin-key-created", 4), ("tusky-broad-scopes", 5)]
    );
    assert_eq!(fingerprints(&found).len(), 2);

    // Reflowed and moved down, every definition keeps its fingerprint.
    let reflowed = format!(
        "{{\n  \"comment\": \"keys for the nightly jobs\",\n  \"endpoint\": \"POST https://api.tusky.io/v2/%api-keys%\",\n  \"keys\": [\n    {{\"name\": \"reader\", \"scopes\": [\"files:read\"]}},\n    {{\n      \"name\": \"writer\",\n      \"scopes\": {ALL_WRITES}\n    }},\n    {{\"name\": \"root\",\n     \"scopes\": null}}\n  ]\n}}\n"
    );
    write(&dir, "provision.json", &reflowed);
    let moved = scan(&dir);
    assert_eq!(
        rules_and_lines(&moved),
        vec![("tusky-broad-scopes", 6), ("tusky-admin-key-created", 10)]
    );
    assert_eq!(fingerprints(&moved), fingerprints(&found));

    // Only narrow keys: nothing.
    let narrow = spec
        .replace("\"scopes\": null", "\"scopes\": [\"files:read\"]")
        .replace(ALL_WRITES, "[\"files:write\"]");
    write(&dir, "provision.json", &narrow);
    assert!(scan(&dir).is_empty());
}

#[test]
fn yaml_spec_two_admin_keys_are_two_findings() {
    let dir = TempDir::new().unwrap();
    let spec = "endpoint: /v2/%api-keys%\nmethod: POST\nkeys:\n  - name: root\n  - name: backup-root\n    expires_at: 2027-01-01\n  - name: reader\n    scopes: [files:read]\n";
    write(&dir, "keys.yaml", spec);
    let found = scan(&dir);
    assert_eq!(
        rules_and_lines(&found),
        vec![
            ("tusky-admin-key-created", 4),
            ("tusky-admin-key-created", 5)
        ]
    );
    assert_eq!(fingerprints(&found).len(), 2);
    // The same keys listed for a GET are not created.
    write(&dir, "keys.yaml", &spec.replace("POST", "GET"));
    assert!(scan(&dir).is_empty());
}

#[test]
fn postman_collection_with_several_create_requests() {
    let item = |name: &str, body: &str| {
        format!(
            "    {{\n      \"name\": \"Create {name}\",\n      \"request\": {{\n        \"method\": \"POST\",\n        \"body\": {{\"mode\": \"raw\", \"raw\": \"{body}\"}},\n        \"url\": \"{{{{baseUrl}}}}/v2/%api-keys%\"\n      }}\n    }}"
        )
    };
    let items = [
        item("root", r#"{\"name\": \"root\"}"#),
        item("second root", r#"{\"name\": \"second-root\"}"#),
        item(
            "ops",
            &format!(
                r#"{{\"name\": \"ops\", \"scopes\": {}}}"#,
                ALL_WRITES.replace('"', "\\\"")
            ),
        ),
        item(
            "reader",
            r#"{\"name\": \"reader\", \"scopes\": [\"files:read\"]}"#,
        ),
    ];
    let collection = format!(
        "{{\n  \"info\": {{\"_postman_id\": \"0c1f\"}},\n  \"item\": [\n{}\n  ]\n}}\n",
        items.join(",\n")
    );
    let dir = TempDir::new().unwrap();
    write(&dir, "tusky.postman_collection.json", &collection);
    let found = scan(&dir);
    assert_eq!(
        rules_and_lines(&found),
        vec![
            ("tusky-admin-key-created", 6),
            ("tusky-admin-key-created", 14),
            ("tusky-broad-scopes", 22)
        ]
    );
    assert_eq!(fingerprints(&found).len(), 3);
}

#[test]
fn code_that_posts_a_list_of_bodies_is_judged_per_body() {
    let code = format!(
        "const keys = [\n  {{ name: 'root' }},\n  {{\n    name: 'ops',\n    scopes: [\n{}\n    ],\n  }},\n  {{ name: 'reader', scopes: ['files:read'] }},\n];\nfor (const body of keys) {{\n  await fetch(`${{BASE}}/v2/%api-keys%`, {{ method: 'POST', body: JSON.stringify(body) }});\n}}\n",
        ALL_WRITES
            .trim_matches(['[', ']'])
            .split(", ")
            .map(|s| format!("      {},", s.replace('"', "'")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let dir = TempDir::new().unwrap();
    write(&dir, "provision.ts", &code);
    let found = scan(&dir);
    assert_eq!(
        rules_and_lines(&found),
        vec![("tusky-admin-key-created", 2), ("tusky-broad-scopes", 3)]
    );
    // The same list next to a GET is not a creation.
    write(
        &dir,
        "provision.ts",
        &code.replace(", { method: 'POST', body: JSON.stringify(body) }", ""),
    );
    assert!(scan(&dir).is_empty());
}

#[test]
fn scopes_list_grown_before_the_request_is_judged_whole() {
    let dir = TempDir::new().unwrap();
    let code = "import requests\n\nscopes = [\"files:read\"]\nif needs_admin:\n    scopes.append(\"members:write\")\nresp = requests.post(f\"{BASE}/v2/%api-keys%\", json={\"name\": \"ops\", \"scopes\": scopes})\n";
    write(&dir, "provision.py", code);
    let found = scan(&dir);
    assert_eq!(rules_and_lines(&found), vec![("tusky-write-scopes", 6)]);
    // Growing it with a read scope only keeps it narrow.
    write(
        &dir,
        "provision.py",
        &code.replace("members:write", "volumes:read"),
    );
    assert!(scan(&dir).is_empty());
}
