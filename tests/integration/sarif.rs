//! `--format sarif`, `--sarif-output` and `--format github` on real scans.

use std::collections::HashSet;
use std::path::Path;

use assert_fs::TempDir;
use assert_fs::prelude::*;
use serde_json::Value;

use crate::helpers::*;

/// Validates against the OASIS SARIF 2.1.0 schema (tests/schemas), with format assertions.
pub fn assert_valid_sarif(sarif: &Value) {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-2.1.0.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(schema_path).unwrap()).unwrap();
    let url = schema["$id"].as_str().unwrap().to_owned();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    compiler.add_resource(&url, schema).unwrap();
    let mut schemas = boon::Schemas::new();
    let index = compiler.compile(&url, &mut schemas).unwrap();
    if let Err(err) = schemas.validate(sarif, index) {
        panic!("SARIF is not valid against the 2.1.0 schema: {err:#}\n{sarif:#}");
    }
}

fn percent_decode(uri: &str) -> String {
    let bytes = uri.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

const HOSTILE_NAME: &str = "we ird,name::%1\n#?é.txt";

/// A tree with a live key (twice), a test key, a legacy key and a hostile file name; no env
/// files, so lint findings do not change the counts.
fn tree_with_keys() -> (TempDir, Vec<String>) {
    let dir = TempDir::new().unwrap();
    let live = live_key(501);
    let test = test_key(502);
    let legacy = legacy_key(503);
    dir.child("app/config.ini")
        .write_str(&format!("TUSKY_API_KEY={live}\n"))
        .unwrap();
    dir.child("app/client.js")
        .write_str(&format!(
            "// copy\nconst tusky = new Tusky({{ apiKey: \"{live}\" }});\n"
        ))
        .unwrap();
    dir.child(format!("app/{HOSTILE_NAME}"))
        .write_str(&format!("key = \"{test}\"\n"))
        .unwrap();
    dir.child("legacy/deploy.sh")
        .write_str(&format!("TUSKY_API_KEY={legacy}\n"))
        .unwrap();
    (dir, vec![live, test, legacy])
}

#[test]
fn sarif_of_a_real_scan_is_valid_and_complete_for_code_scanning() {
    let (dir, keys) = tree_with_keys();
    let output = tuskguard()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "sarif", "--show-secrets"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    for key in &keys {
        assert!(
            !text.contains(key.as_str()),
            "SARIF must never carry a full key"
        );
    }
    let sarif = json_of(&output);
    assert_valid_sarif(&sarif);

    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "one rule entry per rule id: {ids:?}"
    );
    for rule in rules {
        for field in ["shortDescription", "fullDescription", "helpUri"] {
            assert!(!rule[field].is_null(), "rule without {field}: {rule}");
        }
        assert!(rule["help"]["markdown"].is_string() && rule["help"]["text"].is_string());
        let score: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&score));
        assert!(
            rule["properties"]["tags"]
                .as_array()
                .unwrap()
                .contains(&Value::from("security"))
        );
    }

    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "one result per key: {results:#?}");
    let mut uris = Vec::new();
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(result["partialFingerprints"]["tuskguardFingerprint/v1"].is_string());
        assert_eq!(result["properties"]["kind"], "secret");
        for location in result["locations"].as_array().unwrap() {
            let physical = &location["physicalLocation"];
            assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
            let region = &physical["region"];
            assert!(
                region["endColumn"].as_u64().unwrap() > region["startColumn"].as_u64().unwrap()
            );
            assert!(region["snippet"]["text"].as_str().unwrap().ends_with('…'));
            uris.push(percent_decode(
                physical["artifactLocation"]["uri"].as_str().unwrap(),
            ));
        }
    }
    uris.sort();
    assert_eq!(
        uris,
        [
            "app/client.js".to_owned(),
            "app/config.ini".to_owned(),
            format!("app/{HOSTILE_NAME}"),
            "legacy/deploy.sh".to_owned(),
        ]
    );
    let live = results
        .iter()
        .find(|r| r["ruleId"] == "tusky-live-key")
        .unwrap();
    assert_eq!(live["level"], "error");
    assert_eq!(live["locations"].as_array().unwrap().len(), 2);
    let root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        root.starts_with("file:///") && root.ends_with('/'),
        "{root}"
    );
}

#[test]
fn a_subdirectory_scan_keeps_checkout_relative_uris() {
    let (dir, _) = tree_with_keys();
    let output = tuskguard()
        .current_dir(dir.path())
        .args(["scan", "legacy", "--format", "sarif"])
        .output()
        .unwrap();
    let sarif = json_of(&output);
    assert_valid_sarif(&sarif);
    let uri = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"];
    assert_eq!(uri, "legacy/deploy.sh");
}

#[test]
fn a_clean_tree_gives_a_valid_empty_run() {
    let dir = TempDir::new().unwrap();
    dir.child("README.md")
        .write_str("tsk_live_… is a placeholder\n")
        .unwrap();
    let output = tuskguard()
        .args(["scan", "--format", "sarif"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let sarif = json_of(&output);
    assert_valid_sarif(&sarif);
    assert_eq!(sarif["runs"][0]["results"], Value::Array(vec![]));
    assert_eq!(sarif["runs"][0]["properties"]["truncated"], false);
}

#[test]
fn sarif_output_is_written_beside_another_format() {
    let (dir, _) = tree_with_keys();
    let sarif_path = dir.path().join("out/results.sarif");
    std::fs::create_dir_all(sarif_path.parent().unwrap()).unwrap();
    let output = tuskguard()
        .current_dir(dir.path())
        .args(["scan", "app", "--format", "json", "--sarif-output"])
        .arg(&sarif_path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json_of(&output)["findings"].as_array().unwrap().len(), 2);
    let sarif: Value = serde_json::from_slice(&std::fs::read(&sarif_path).unwrap()).unwrap();
    assert_valid_sarif(&sarif);
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 2);
}

#[test]
fn github_format_annotates_and_appends_the_step_summary() {
    let (dir, keys) = tree_with_keys();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let output = tuskguard()
        .current_dir(dir.path())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["scan", "app", "--format", "github", "--show-secrets"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 3, "one per location: {stdout}");
    assert!(
        annotations.iter().any(|a| a.starts_with(
            "::warning file=app/we ird%2Cname%3A%3A%251%0A#?é.txt,line=1,endLine=1,col=8,"
        )),
        "{stdout}"
    );
    assert!(
        annotations
            .iter()
            .any(|a| a.starts_with("::error file=app/config.ini,line=1,"))
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.starts_with("earlier step\n### tuskguard (scan): 2 findings"),
        "{summary}"
    );
    let rows = summary
        .lines()
        .filter(|l| l.starts_with("| ") && !l.contains("---"))
        .count();
    assert_eq!(rows, 3, "header + one row per key: {summary}");
    for key in &keys {
        assert!(!stdout.contains(key.as_str()) && !summary.contains(key.as_str()));
    }
}

#[test]
fn an_unwritable_step_summary_is_a_warning_not_an_error() {
    let (dir, _) = tree_with_keys();
    let output = tuskguard()
        .current_dir(dir.path())
        .env("GITHUB_STEP_SUMMARY", dir.path().join("app"))
        .args(["scan", "legacy", "--format", "github"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "the findings still decide");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot append the step summary"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("::error file=legacy/deploy.sh,"));
}

#[test]
fn more_results_than_code_scanning_accepts_are_cut_and_said() {
    let dir = TempDir::new().unwrap();
    let keys: String = (0..25_100u64)
        .map(|seed| format!("k{seed} = {}\n", live_key(1_000_000 + seed)))
        .collect();
    dir.child("many.txt").write_str(&keys).unwrap();
    let output = tuskguard()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let sarif = json_of(&output);
    let run = &sarif["runs"][0];
    assert!(run["properties"]["findings"].as_u64().unwrap() > 25_000);
    assert_eq!(run["results"].as_array().unwrap().len(), 25_000);
    assert_eq!(run["properties"]["truncated"], true);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("at most 25000 results per run"), "{stderr}");
}
