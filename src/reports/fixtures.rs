//! Findings and reports for the format tests: one set, so every format is tested on the same
//! shapes.

use crate::findings::{
    CommitRef, Confidence, Encoding, Finding, FindingKind, HistoryInfo, Location, Report,
    SecretInfo, Severity, Summary, ToolInfo,
};

pub fn location(path: &str, line: usize, column: usize, end_column: usize) -> Location {
    Location {
        path: path.to_owned(),
        raw_path: None,
        line,
        column,
        end_column,
        encoding: Encoding::Plain,
        commit: None,
    }
}

/// A production-key finding whose full value is a sentinel no output may show.
pub fn finding(rule_id: &str, severity: Severity, fingerprint: &str, at: Location) -> Finding {
    Finding {
        rule_id: rule_id.to_owned(),
        kind: FindingKind::Secret,
        severity,
        confidence: Confidence::High,
        title: "Tusky production API key".to_owned(),
        remediation: "Revoke it.".to_owned(),
        fingerprint: fingerprint.to_owned(),
        secret: Some(SecretInfo {
            redacted: "tsk_live_9fK2…".to_owned(),
            length: 41,
            value: Some("FULL-KEY-SENTINEL".to_owned()),
        }),
        locations: vec![at],
        history: None,
        verification: None,
        secret_value: None,
    }
}

/// A `scan` report of `findings` with an empty summary.
pub fn report(findings: Vec<Finding>) -> Report {
    Report {
        version: 1,
        tool: ToolInfo::default(),
        mode: "scan".to_owned(),
        root: ".".to_owned(),
        findings,
        summary: Summary::default(),
    }
}

/// History of a key introduced by Ada in `commit_id`, gone from HEAD, never pushed.
pub fn introduced_in(commit_id: &str) -> HistoryInfo {
    HistoryInfo {
        introduced: CommitRef {
            id: commit_id.to_owned(),
            author: "Ada".to_owned(),
            email: "ada@example.com".to_owned(),
            time: "2024-01-02T03:04:05Z".to_owned(),
            summary: "s".to_owned(),
            at_or_before: false,
        },
        present_at_head: false,
        in_working_tree: None,
        refs: vec![],
        pushed: false,
    }
}
