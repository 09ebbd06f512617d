//! Reports: one module per format. Each is a pure function of the finished `Report` (and the
//! resolved `UriBase`) written to `out`: none of them decides what is a finding, reads the
//! environment or touches a file; `cli::output` says their notes and appends the step summary.

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
pub use sarif::UriBase;

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

/// What a renderer leaves for the caller besides the report itself: reports do no I/O of their
/// own, so the edge says the notes and appends the step summary.
#[derive(Debug, Default)]
pub struct Rendered {
    /// Warnings for stderr (SARIF truncated to code scanning's limits).
    pub notes: Vec<String>,
    /// Markdown for `$GITHUB_STEP_SUMMARY` (`--format github`).
    pub step_summary: Option<Vec<u8>>,
}

/// Writes `report` in `format`; `base` turns report paths into repository paths (SARIF, github).
pub fn write_report(
    report: &Report,
    format: Format,
    options: &RenderOptions,
    base: &UriBase,
    out: &mut dyn Write,
) -> io::Result<Rendered> {
    let mut rendered = Rendered::default();
    match format {
        Format::Text => text::write(report, options, out)?,
        Format::Json => json::write(report, out)?,
        Format::Sarif => rendered.notes = sarif::write(report, base, out)?,
        Format::Github => rendered.step_summary = Some(github::write(report, base, out)?),
    }
    Ok(rendered)
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
