//! Reports: one module per format. Each takes the finished `Report` and writes it; none of them
//! decides what is a finding.

pub mod blocked;
#[cfg(test)]
mod fixtures;
pub mod github;
pub mod json;
mod revocation;
pub mod sarif;
pub mod text;

use std::io::{self, Write};

use crate::findings::{Finding, Report, VerificationStatus};

/// The report formats (`--format`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
}

/// Presentation choices that do not change the report's content.
#[derive(Clone, Copy, Debug, Default)]
pub struct RenderOptions {
    pub color: bool,
    pub quiet: bool,
    pub verbose: bool,
}

pub fn write_report(
    report: &Report,
    format: Format,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::write(report, options, out),
        Format::Json => json::write(report, out),
        Format::Sarif => sarif::write(report, out),
        Format::Github => github::write(report, out),
    }
}

/// The first line every annotation and alert opens with: what was found, whether it is live, and
/// where history says it came from.
fn headline(finding: &Finding) -> String {
    let mut text = finding.title.clone();
    if let Some(secret) = &finding.secret {
        text.push_str(&format!(": {} ({} chars)", secret.redacted, secret.length));
    }
    text.push('.');
    if let Some(verification) = &finding.verification {
        text.push_str(match verification.status {
            VerificationStatus::Live => " The key is LIVE.",
            VerificationStatus::NotLive => " The key is not live.",
            VerificationStatus::Unknown => " Liveness unknown.",
        });
    }
    if let Some(history) = &finding.history {
        if history.introduced.at_or_before {
            text.push_str(&format!(
                " First seen at or before commit {}, where the audit was cut (older history was not read).",
                short_id(&history.introduced.id)
            ));
        } else {
            text.push_str(&format!(
                " Introduced in commit {} by {} on {}.",
                short_id(&history.introduced.id),
                history.introduced.author,
                history.introduced.time
            ));
        }
    }
    text
}

/// A commit id as people read it: its first 12 hex digits.
fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
