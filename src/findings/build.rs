//! The finished report: collected occurrences, with suppressions applied and the run's counters
//! summed, as every format renders it.

use std::path::Path;
use std::time::Instant;

use super::collect::Collector;
use super::suppression::Suppressions;
use super::{REPORT_VERSION, Report, Summary, ToolInfo};
use crate::model::ScanStats;

/// Turns collected occurrences into the report every format renders.
pub fn build_report(
    mode: &str,
    root: &Path,
    collector: Collector,
    stats: &ScanStats,
    suppressions: &Suppressions,
    started: Instant,
    show_secrets: bool,
) -> Report {
    let (mut findings, suppressed) = collector.finish(suppressions);
    if show_secrets {
        for finding in &mut findings {
            if let (Some(info), Some(value)) = (&mut finding.secret, &finding.secret_value) {
                info.value = Some(value.expose().to_owned());
            }
        }
    }
    let mut summary = Summary {
        suppressed,
        ..Summary::default()
    };
    stats.fill(&mut summary);
    summary.findings = findings.len();
    for finding in &findings {
        *summary.by_severity.entry(finding.severity).or_default() += 1;
    }
    summary.duration_ms = started.elapsed().as_millis() as u64;
    Report {
        version: REPORT_VERSION,
        tool: ToolInfo::default(),
        mode: mode.to_owned(),
        root: root.display().to_string(),
        findings,
        summary,
    }
}

impl Report {
    /// Full keys appear in the output only with `--show-secrets`, whatever the input report held.
    pub fn show_secret_values(&mut self, show_secrets: bool) {
        for finding in &mut self.findings {
            if let Some(info) = &mut finding.secret {
                info.value = if show_secrets {
                    finding.secret_value.as_ref().map(|v| v.expose().to_owned())
                } else {
                    None
                };
            }
        }
    }
}
