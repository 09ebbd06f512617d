//! SARIF output tests: structure, limits, URIs, and validation against the 2.1.0 schema.

use super::*;
use crate::findings::{HistoryInfo, Verification, VerificationStatus};
use crate::reports::fixtures::{self, location, report};

fn finding(rule_id: &str, severity: Severity, fingerprint: &str) -> Finding {
    fixtures::finding(
        rule_id,
        severity,
        fingerprint,
        location("src/a.rs", 3, 5, 46),
    )
}

fn sarif_json(report: &Report, limits: &Limits) -> (Value, Vec<String>) {
    let base = UriBase {
        root: Some(PathBuf::from("/work/repo")),
        prefix: None,
    };
    let output = build(report, &base, limits);
    (serde_json::to_value(&output.log).unwrap(), output.notes)
}

#[test]
fn one_rule_per_rule_id_and_rule_index_on_every_result() {
    let findings = vec![
        finding("tusky-live-key", Severity::Critical, "f1"),
        finding("tusky-test-key", Severity::Medium, "f2"),
        finding("tusky-live-key", Severity::Critical, "f3"),
    ];
    let (sarif, notes) = sarif_json(&report(findings), &Limits::CODE_SCANNING);
    assert!(notes.is_empty());
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["tusky-live-key", "tusky-test-key"]);
    for result in run["results"].as_array().unwrap() {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }
    assert_eq!(rules[0]["properties"]["security-severity"], "9.5");
    assert_eq!(rules[1]["properties"]["security-severity"], "5.5");
    assert!(
        rules[0]["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("security"))
    );
    assert!(
        rules[0]["helpUri"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert!(
        rules[0]["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("Revoke it.")
    );
    assert_eq!(run["results"][1]["level"], "error");
    assert_eq!(run["results"][2]["level"], "warning");
}

#[test]
fn results_carry_fingerprint_kind_and_only_the_redacted_key() {
    let (sarif, _) = sarif_json(
        &report(vec![finding("tusky-live-key", Severity::Critical, "abc")]),
        &Limits::CODE_SCANNING,
    );
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["partialFingerprints"][FINGERPRINT_KEY], "abc");
    assert_eq!(result["properties"]["kind"], "secret");
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["snippet"]["text"], "tsk_live_9fK2…");
    assert_eq!(
        (
            region["startLine"].clone(),
            region["startColumn"].clone(),
            region["endColumn"].clone()
        ),
        (json!(3), json!(5), json!(46))
    );
    let text = sarif.to_string();
    assert!(
        !text.contains("FULL-KEY-SENTINEL"),
        "SARIF never carries the full key"
    );
}

#[test]
fn regions_never_have_zero_columns() {
    let mut f = finding("tusky-live-key", Severity::Critical, "abc");
    f.locations = vec![location("a", 0, 0, 0)];
    let (sarif, _) = sarif_json(&report(vec![f]), &Limits::CODE_SCANNING);
    let region = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 1);
    assert_eq!(region["startColumn"], 1);
    assert_eq!(region["endColumn"], 2);
}

#[test]
fn history_findings_carry_the_commit_and_a_history_only_marker() {
    let commit = CommitRef {
        id: "0123456789abcdef0123456789abcdef01234567".to_owned(),
        author: "Ada".to_owned(),
        email: "ada@example.com".to_owned(),
        time: "2024-01-02T03:04:05Z".to_owned(),
        summary: "add config".to_owned(),
        at_or_before: false,
    };
    let mut f = finding("tusky-live-key", Severity::Critical, "fp");
    f.locations[0].commit = Some(commit.clone());
    f.history = Some(HistoryInfo {
        introduced: commit,
        present_at_head: false,
        in_working_tree: Some(false),
        refs: vec!["refs/heads/main".to_owned()],
        pushed: true,
    });
    f.verification = Some(Verification {
        status: VerificationStatus::Live,
        reason: None,
        scopes: None,
        revocation: None,
    });
    let (sarif, _) = sarif_json(&report(vec![f]), &Limits::CODE_SCANNING);
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["properties"]["commit"]["author"], "Ada");
    assert_eq!(
        result["properties"]["commit"]["date"],
        "2024-01-02T03:04:05Z"
    );
    assert_eq!(result["properties"]["historyOnly"], true);
    assert_eq!(result["properties"]["verification"], "live");
    assert!(
        result["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("history-only"))
    );
    assert_eq!(
        result["partialFingerprints"][FINGERPRINT_KEY], "fp",
        "never a commit id"
    );
    assert_eq!(
        result["locations"][0]["properties"]["commit"]["id"],
        "0123456789abcdef0123456789abcdef01234567"
    );
}

#[test]
fn hostile_paths_become_valid_relative_uris() {
    let base = UriBase {
        root: Some(PathBuf::from("/work/repo")),
        prefix: None,
    };
    assert_eq!(
        artifact_uri("dir/a b%#?:,\n.txt", &base),
        ("dir/a%20b%25%23%3F%3A%2C%0A.txt".to_owned(), true)
    );
    assert_eq!(
        artifact_uri("/work/repo/src/x.rs", &base),
        ("src/x.rs".to_owned(), true)
    );
    assert_eq!(
        artifact_uri("/elsewhere/é.rs", &base),
        ("file:///elsewhere/%C3%A9.rs".to_owned(), false)
    );
}

#[test]
fn relative_locations_use_srcroot_and_the_run_declares_it() {
    let (sarif, _) = sarif_json(
        &report(vec![finding("tusky-live-key", Severity::Critical, "abc")]),
        &Limits::CODE_SCANNING,
    );
    let run = &sarif["runs"][0];
    assert_eq!(
        run["originalUriBaseIds"][SRCROOT]["uri"],
        "file:///work/repo/"
    );
    let artifact = &run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(artifact["uriBaseId"], SRCROOT);
    assert_eq!(artifact["uri"], "src/a.rs");
}

#[test]
fn limits_truncate_most_severe_first_and_say_so() {
    let mut findings: Vec<Finding> = (0..5)
        .map(|i| finding("tusky-test-key", Severity::Medium, &format!("m{i}")))
        .collect();
    let mut live = finding("tusky-live-key", Severity::Critical, "c");
    live.locations = (1..=10).map(|line| location("a", line, 1, 5)).collect();
    findings.push(live);
    let limits = Limits {
        max_results: 2,
        max_locations_per_result: 3,
        ..Limits::CODE_SCANNING
    };
    let (sarif, notes) = sarif_json(&report(findings), &limits);
    let run = &sarif["runs"][0];
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ruleId"], "tusky-live-key");
    assert_eq!(results[0]["locations"].as_array().unwrap().len(), 3);
    assert_eq!(results[0]["properties"]["omittedLocations"], 7);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(run["properties"]["truncated"], true);
    assert_eq!(run["properties"]["findings"], 6);
}

#[test]
fn byte_budget_stops_adding_results() {
    let findings: Vec<Finding> = (0..10)
        .map(|i| finding("tusky-live-key", Severity::Critical, &format!("f{i}")))
        .collect();
    let limits = Limits {
        max_result_bytes: 3_000,
        ..Limits::CODE_SCANNING
    };
    let (sarif, notes) = sarif_json(&report(findings), &limits);
    let kept = sarif["runs"][0]["results"].as_array().unwrap().len();
    assert!((1..10).contains(&kept), "kept {kept}");
    assert!(notes[0].contains("upload size"));
}

/// Validates against the OASIS SARIF 2.1.0 schema (a copy in tests/schemas), formats included.
pub(crate) fn assert_valid_sarif(sarif: &Value) {
    let schema: Value =
        serde_json::from_str(include_str!("../../../tests/schemas/sarif-2.1.0.json")).unwrap();
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

#[test]
fn hand_made_reports_validate_against_the_schema() {
    let mut hostile = finding("tusky-live-key", Severity::Critical, "h");
    hostile.locations = vec![
        location("dir/we ird,name::1\n%.txt", 2, 1, 9),
        location("/elsewhere/é #?.env", 1, 1, 2),
    ];
    let mut history = finding("tusky-test-key", Severity::Medium, "t");
    history.history = Some(fixtures::introduced_in(
        "0123456789abcdef0123456789abcdef01234567",
    ));
    let mut lint = finding("env-file-tracked", Severity::High, "e");
    lint.kind = FindingKind::EnvNotIgnored;
    lint.secret = None;
    let mut empty = report(vec![]);
    empty.summary.warnings = vec!["a.bin: cannot read".to_owned()];
    for report in [report(vec![hostile, history, lint]), empty] {
        let (sarif, _) = sarif_json(&report, &Limits::CODE_SCANNING);
        assert_valid_sarif(&sarif);
    }
    let truncated = Limits {
        max_results: 1,
        max_locations_per_result: 1,
        ..Limits::CODE_SCANNING
    };
    let many = (0..3)
        .map(|i| finding("tusky-live-key", Severity::Low, &format!("{i}")))
        .collect();
    assert_valid_sarif(&sarif_json(&report(many), &truncated).0);
}

#[test]
#[should_panic(expected = "not valid")]
fn the_schema_check_rejects_end_column_zero() {
    let (mut sarif, _) = sarif_json(
        &report(vec![finding("tusky-live-key", Severity::Critical, "f")]),
        &Limits::CODE_SCANNING,
    );
    sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["endColumn"] =
        json!(0);
    assert_valid_sarif(&sarif);
}

#[test]
fn every_kind_links_to_a_documented_anchor() {
    for kind in [
        FindingKind::Secret,
        FindingKind::EnvNotIgnored,
        FindingKind::BroadScope,
    ] {
        assert!(HELP_ANCHORS.contains(&KindHelp::of(kind).anchor), "{kind}");
    }
}

#[test]
fn severity_maps_to_level_and_score() {
    assert_eq!(level(Severity::High), ResultLevel::Error);
    assert_eq!(level(Severity::Low), ResultLevel::Note);
    assert_eq!(security_severity(Severity::High), "8.0");
    assert_eq!(pascal_case("tusky-live-key"), "TuskyLiveKey");
}
