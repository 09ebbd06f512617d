//! Suppression that survives edits (SPEC §5): inline `tuskguard:allow`, `.tuskguardignore`
//! fingerprints, and baselines.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::{Finding, Report};
use crate::model::limited::{MAX_CONFIG_BYTES, MAX_REPORT_BYTES, read_file_limited};

pub const IGNORE_FILE_NAME: &str = ".tuskguardignore";

/// Fingerprints listed in a `.tuskguardignore` file: one per line, `#` starts a comment.
pub fn parse_ignore_file(text: &str, path: &Path) -> Result<HashSet<String>> {
    let mut set = HashSet::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fingerprint = line.split_whitespace().next().unwrap_or(line);
        if !fingerprint.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!(
                "{}:{}: '{}' is not a fingerprint (expected hex digits, as printed by tuskguard); \
                 fix or remove the line",
                path.display(),
                index + 1,
                fingerprint
            );
        }
        set.insert(fingerprint.to_ascii_lowercase());
    }
    Ok(set)
}

pub fn load_ignore_file(path: &Path) -> Result<HashSet<String>> {
    let text = read_file_limited(path, MAX_CONFIG_BYTES)
        .with_context(|| format!("cannot read ignore file {}", path.display()))?;
    parse_ignore_file(&text, path)
}

/// A baseline: the fingerprints accepted at one point in time. Never holds a key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub tool: String,
    pub entries: Vec<BaselineEntry>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub rule_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted: Option<String>,
    pub path: String,
}

impl Baseline {
    pub fn from_findings(findings: &[Finding]) -> Self {
        let entries = findings
            .iter()
            .map(|f| BaselineEntry {
                fingerprint: f.fingerprint.clone(),
                rule_id: f.rule_id.clone(),
                redacted: f.secret.as_ref().map(|s| s.redacted.clone()),
                path: f.primary_location().path.clone(),
            })
            .collect();
        Baseline {
            version: 1,
            tool: "tuskguard".into(),
            entries,
        }
    }

    /// Reads a baseline file, or a tuskguard JSON report used as one.
    pub fn load(path: &Path) -> Result<HashSet<String>> {
        let text = read_file_limited(path, MAX_REPORT_BYTES)
            .with_context(|| format!("cannot read baseline {}", path.display()))?;
        if let Ok(baseline) = serde_json::from_str::<Baseline>(&text) {
            return Ok(baseline
                .entries
                .into_iter()
                .map(|e| e.fingerprint)
                .collect());
        }
        if let Ok(report) = serde_json::from_str::<Report>(&text) {
            return Ok(report.findings.into_iter().map(|f| f.fingerprint).collect());
        }
        bail!(
            "{} is not a tuskguard baseline (write one with `tuskguard baseline --output {}`)",
            path.display(),
            path.display()
        )
    }
}

/// Every fingerprint-level suppression that applies to one run.
#[derive(Default)]
pub struct Suppressions {
    pub ignored: HashSet<String>,
    pub baseline: HashSet<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_file_parses_comments_and_rejects_garbage() {
        let set = parse_ignore_file("# header\nABCDEF01 # old key\n\n", Path::new("x")).unwrap();
        assert!(set.contains("abcdef01"));
        let err =
            parse_ignore_file("not-a-fingerprint\n", Path::new(".tuskguardignore")).unwrap_err();
        assert!(err.to_string().contains(".tuskguardignore:1"));
    }
}
