//! `--format json`: the `Report` as versioned JSON (schema documented in the README, "json").
//!
//! Every report carries the same keys, whatever was found: `summary.warnings` is `[]` when there
//! are none, `summary.skipped` counts every reason (zeros included) and `summary.commits_scanned`
//! is `null` outside `history`, so a script never meets a missing key.

use std::io::{self, Write};

use serde_json::{Map, Value};

use crate::findings::Report;
use crate::model::SkipReason;

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut value = serde_json::to_value(report).map_err(io::Error::other)?;
    if let Some(summary) = value.get_mut("summary").and_then(Value::as_object_mut) {
        complete_summary(summary);
    }
    // `From` keeps an I/O error as it was (a closed pipe stays a BrokenPipe, which is no error).
    serde_json::to_writer_pretty(&mut *out, &value).map_err(io::Error::from)?;
    writeln!(out)
}

fn complete_summary(summary: &mut Map<String, Value>) {
    summary
        .entry("warnings")
        .or_insert_with(|| Value::Array(Vec::new()));
    summary.entry("commits_scanned").or_insert(Value::Null);
    let skipped = summary
        .entry("skipped")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(skipped) = skipped.as_object_mut() {
        for reason in SkipReason::ALL {
            if let Ok(Value::String(name)) = serde_json::to_value(reason) {
                skipped.entry(name).or_insert(Value::from(0));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::fixtures::report;

    fn summary_of(report: &Report) -> Map<String, Value> {
        let mut out = Vec::new();
        write(report, &mut out).unwrap();
        let value: Value = serde_json::from_slice(&out).unwrap();
        value["summary"].as_object().unwrap().clone()
    }

    #[test]
    fn an_empty_report_has_every_summary_key() {
        let summary = summary_of(&report(Vec::new()));
        assert_eq!(summary["warnings"], Value::Array(Vec::new()));
        assert_eq!(summary["commits_scanned"], Value::Null);
        let skipped = summary["skipped"].as_object().unwrap();
        assert_eq!(skipped.len(), SkipReason::ALL.len());
        assert!(skipped.values().all(|n| n == 0), "{skipped:?}");
        assert!(skipped.contains_key("too-large"));
    }

    #[test]
    fn counted_reasons_and_warnings_are_kept() {
        let mut report = report(Vec::new());
        report.summary.skipped.insert(SkipReason::Unreadable, 3);
        report.summary.warnings.push("a.bin: cannot read".into());
        report.summary.commits_scanned = Some(7);
        let summary = summary_of(&report);
        assert_eq!(summary["skipped"]["unreadable"], 3);
        assert_eq!(summary["skipped"]["too-large"], 0);
        assert_eq!(summary["warnings"][0], "a.bin: cannot read");
        assert_eq!(summary["commits_scanned"], 7);
    }
}
