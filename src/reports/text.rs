//! `--format text`: for a person. One block per finding (every location grouped under it), a
//! one-line "what to do", and a summary line. Colour only when asked for or on a TTY.

use std::io::{self, Write};

use super::{RenderOptions, short_id};
use crate::findings::{Finding, FindingKind, HistoryInfo, Report, Severity, VerificationStatus};
pub use crate::model::text::{escape_control, human_bytes};

/// Locations listed per finding before the rest are counted.
const MAX_LOCATIONS_SHOWN: usize = 5;
/// Unreadable objects named in the summary before the rest are counted.
const MAX_UNREAD_SHOWN: usize = 10;

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn severity(&self, severity: Severity) -> String {
        let code = match severity {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.wrap(code, &severity.as_str().to_ascii_uppercase())
    }

    fn dim(&self, text: &str) -> String {
        self.wrap("2", text)
    }

    fn bold(&self, text: &str) -> String {
        self.wrap("1", text)
    }
}

pub fn write(report: &Report, options: &RenderOptions, out: &mut dyn Write) -> io::Result<()> {
    let paint = Paint { on: options.color };
    for finding in &report.findings {
        write_finding(finding, &paint, out)?;
    }
    if !options.quiet {
        write_summary(report, options, &paint, out)?;
    }
    Ok(())
}

fn write_finding(finding: &Finding, paint: &Paint, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "{} {}  {}",
        paint.severity(finding.severity),
        paint.bold(&finding.title),
        paint.dim(&format!("[{}]", finding.rule_id))
    )?;
    if let Some(secret) = &finding.secret {
        match &secret.value {
            Some(value) => writeln!(out, "  key:  {value} ({} chars)", secret.length)?,
            None => writeln!(
                out,
                "  key:  {} ({} chars, redacted)",
                secret.redacted, secret.length
            )?,
        }
    }
    if let Some(verification) = &finding.verification {
        let status = match verification.status {
            VerificationStatus::Live => "LIVE: the key works right now",
            VerificationStatus::NotLive => "not live (revoked, invalid or expired)",
            VerificationStatus::Unknown => "unknown",
        };
        match &verification.reason {
            Some(reason) => writeln!(out, "  status: {status} ({})", escape_control(reason))?,
            None => writeln!(out, "  status: {status}")?,
        }
        if let Some(scopes) = verification.scopes.as_ref().filter(|s| !s.is_empty()) {
            writeln!(out, "  access: {}", scopes.join(", "))?;
        }
        if let Some(revocation) = &verification.revocation {
            super::revocation::write_text(revocation, out)?;
        }
    }
    for (index, location) in finding
        .locations
        .iter()
        .take(MAX_LOCATIONS_SHOWN)
        .enumerate()
    {
        let label = if index == 0 { "  at:  " } else { "        " };
        let mut line = format!(
            "{label}{}:{}:{}",
            escape_control(&location.path),
            location.line,
            location.column
        );
        if !location.encoding.is_plain() {
            line.push_str(&format!(" ({:?}-encoded)", location.encoding).to_lowercase());
        }
        if let Some(commit) = &location.commit {
            let at = if commit.at_or_before {
                "at or before"
            } else {
                "in"
            };
            line.push_str(&format!(" {at} commit {}", short_id(&commit.id)));
        }
        writeln!(out, "{line}")?;
    }
    if finding.locations.len() > MAX_LOCATIONS_SHOWN {
        writeln!(
            out,
            "        … and {} more locations (--format json lists all)",
            finding.locations.len() - MAX_LOCATIONS_SHOWN
        )?;
    }
    if let Some(history) = &finding.history {
        return write_incident(finding, history, paint, out);
    }
    writeln!(out, "  fix:  {}", finding.remediation)?;
    write_fingerprint_line(finding, paint, out)
}

/// A history finding reads like an incident summary: what leaked, since when, how far it got,
/// and what to do now.
fn write_incident(
    finding: &Finding,
    history: &HistoryInfo,
    paint: &Paint,
    out: &mut dyn Write,
) -> io::Result<()> {
    let is_secret = finding.kind == FindingKind::Secret;
    if is_secret {
        let what = match finding.secret.as_ref().map(|s| s.redacted.as_str()) {
            Some(r) if r.starts_with("tsk_live_") => {
                "production (live) key: anyone holding it acts as your account"
            }
            Some(r) if r.starts_with("tsk_test_") => "testnet key: lower stakes, still revoke it",
            _ => "legacy key: treat it as a production key",
        };
        writeln!(out, "  what: {what}")?;
    }
    let introduced = &history.introduced;
    if introduced.at_or_before {
        // The author of the boundary commit need not be the one who added the key.
        writeln!(
            out,
            "  first seen: at or before commit {} (the audit was cut there: older history was not read)",
            short_id(&introduced.id),
        )?;
    } else {
        writeln!(
            out,
            "  first seen: commit {} by {} <{}> on {}: {}",
            short_id(&introduced.id),
            escape_control(&introduced.author),
            escape_control(&introduced.email),
            introduced.time,
            escape_control(&introduced.summary)
        )?;
    }
    let at_head = match (history.present_at_head, history.in_working_tree) {
        (true, Some(true)) => "yes, in HEAD and in the working tree".to_owned(),
        (true, _) => "yes, in HEAD".to_owned(),
        (false, Some(true)) => "not in HEAD, but still in the working tree".to_owned(),
        (false, _) => "no, but history keeps it: every clone of these refs has it".to_owned(),
    };
    writeln!(out, "  still in HEAD: {at_head}")?;
    let remotes: Vec<&str> = history
        .refs
        .iter()
        .filter(|r| r.starts_with("refs/remotes/"))
        .map(|r| r.trim_start_matches("refs/remotes/"))
        .collect();
    if history.pushed {
        writeln!(
            out,
            "  pushed: {} (on {}): assume others have it",
            paint.wrap("1;31", "YES"),
            escape_control(&remotes.join(", "))
        )?;
    } else {
        writeln!(
            out,
            "  pushed: no remote-tracking ref holds it (as of the last fetch)"
        )?;
    }
    if !history.refs.is_empty() {
        let shown: Vec<String> = history
            .refs
            .iter()
            .take(8)
            .map(|r| escape_control(short_ref(r)))
            .collect();
        let more = history.refs.len().saturating_sub(shown.len());
        let tail = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        writeln!(out, "  in refs: {}{tail}", shown.join(", "))?;
    }
    if is_secret {
        writeln!(
            out,
            "  now:  1. revoke it (`tuskguard revoke`, or app.tusky.io/account/api-keys) and create a new key"
        )?;
        if history.present_at_head || history.in_working_tree == Some(true) {
            writeln!(
                out,
                "        2. remove it from the code; load the new key from TUSKY_API_KEY"
            )?;
        }
        writeln!(
            out,
            "        {}. only after revoking, if you must purge history: list the key in a file and run",
            if history.present_at_head || history.in_working_tree == Some(true) {
                3
            } else {
                2
            }
        )?;
        writeln!(
            out,
            "           `git filter-repo --replace-text FILE`, force-push, and have everyone re-clone"
        )?;
    } else {
        writeln!(out, "  now:  {}", finding.remediation)?;
    }
    write_fingerprint_line(finding, paint, out)
}

/// The last line of every finding block, then the blank line that separates blocks.
fn write_fingerprint_line(finding: &Finding, paint: &Paint, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "  {}",
        paint.dim(&format!(
            "fingerprint {} (add to .tuskguardignore to accept this finding)",
            finding.fingerprint
        ))
    )?;
    writeln!(out)
}

fn short_ref(name: &str) -> &str {
    ["refs/heads/", "refs/remotes/", "refs/tags/", "refs/"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

fn write_summary(
    report: &Report,
    options: &RenderOptions,
    paint: &Paint,
    out: &mut dyn Write,
) -> io::Result<()> {
    let summary = &report.summary;
    let audited = summary
        .commits_scanned
        .map(|n| format!("Audited {}: ", plural(n, "commit", "commits")))
        .unwrap_or_default();
    let (one, many) = if summary.commits_scanned.is_some() {
        ("unique blob", "unique blobs")
    } else {
        ("file", "files")
    };
    let mut line = format!(
        "{audited}{} {} ({}) in {:.2}s: ",
        if audited.is_empty() {
            "Scanned"
        } else {
            "scanned"
        },
        plural(summary.files_scanned, one, many),
        human_bytes(summary.bytes_scanned),
        summary.duration_ms as f64 / 1000.0
    );
    if report.findings.is_empty() {
        line.push_str(&paint.wrap("32", "no findings"));
    } else {
        let by_severity: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|sev| {
                summary
                    .by_severity
                    .get(sev)
                    .filter(|n| **n > 0)
                    .map(|n| format!("{n} {sev}"))
            })
            .collect();
        line.push_str(&format!(
            "{} ({})",
            paint.bold(&plural(report.findings.len() as u64, "finding", "findings")),
            by_severity.join(", ")
        ));
    }
    writeln!(out, "{line}")?;
    if let Some(cut) = &summary.history_cut {
        writeln!(
            out,
            "{}",
            paint.wrap("1;33", &format!("Not a full audit: {}.", cut.describe()))
        )?;
    }
    for weakened in &summary.rules_weakened {
        writeln!(
            out,
            "{}",
            paint.wrap("1;33", &format!("Warning: {}.", escape_control(weakened)))
        )?;
    }
    let skipped: u64 = summary.skipped.values().sum();
    if skipped > 0 {
        let reasons: Vec<String> = summary
            .skipped
            .iter()
            .map(|(reason, n)| format!("{n} {}", reason.describe()))
            .collect();
        writeln!(
            out,
            "Skipped {}: {}.",
            plural(skipped, "input", "inputs"),
            reasons.join(", ")
        )?;
    }
    if let Some(incomplete) = &summary.incomplete {
        writeln!(
            out,
            "{} {} could not be read; this result is partial (run `git fsck`):",
            paint.wrap("1;31", "INCOMPLETE:"),
            plural(incomplete.unread_objects, "git object", "git objects"),
        )?;
        for object in incomplete.objects.iter().take(MAX_UNREAD_SHOWN) {
            writeln!(out, "  unread: {}", escape_control(object))?;
        }
        let listed = incomplete.objects.len().min(MAX_UNREAD_SHOWN) as u64;
        if incomplete.unread_objects > listed {
            writeln!(
                out,
                "  … and {} more (the JSON report lists up to {})",
                incomplete.unread_objects - listed,
                incomplete.objects.len()
            )?;
        }
    }
    let suppressed = &summary.suppressed;
    if suppressed.total() > 0 {
        writeln!(
            out,
            "Suppressed {}: {} inline (tuskguard:allow), {} by .tuskguardignore, {} by baseline, {} by config allow-list.",
            suppressed.total(),
            suppressed.inline,
            suppressed.ignore_file,
            suppressed.baseline,
            suppressed.config
        )?;
    }
    if options.verbose {
        for warning in &summary.warnings {
            writeln!(out, "  note: {}", escape_control(warning))?;
        }
    }
    Ok(())
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
