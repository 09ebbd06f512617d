//! `--format github`: workflow commands that GitHub Actions turns into annotations
//! (`::error file=…,line=…::message`), and a Markdown table appended to `$GITHUB_STEP_SUMMARY`
//! when that variable is set.
//!
//! CI logs and summaries are often public, so this format never shows a full key, not even with
//! `--show-secrets`. File names are data: escaping keeps a hostile name from ending a property,
//! starting a new workflow command or injecting Markdown.

use std::io::{self, Write};

use super::sarif::UriBase;
use super::{headline, short_id};
use crate::findings::{Finding, Report, Severity, VerificationStatus};
use crate::model::Incomplete;
use crate::model::text::is_invisible_format;

/// Locations annotated per finding; the rest are counted in the message (the JSON lists all).
const MAX_ANNOTATED_LOCATIONS: usize = 10;

/// Writes the annotations and returns the step summary (Markdown) for the caller to append to
/// `$GITHUB_STEP_SUMMARY`: this module touches no file and no environment.
pub fn write(report: &Report, base: &UriBase, out: &mut dyn Write) -> io::Result<Vec<u8>> {
    write_annotations(report, base, out)?;
    let mut summary = Vec::new();
    write_summary(report, base, &mut summary)?;
    Ok(summary)
}

/// One workflow command per location (up to `MAX_ANNOTATED_LOCATIONS` per finding).
pub fn write_annotations(report: &Report, base: &UriBase, out: &mut dyn Write) -> io::Result<()> {
    if let Some(incomplete) = &report.summary.incomplete {
        writeln!(
            out,
            "::error title=Incomplete audit::{}",
            escape_data(&incomplete_message(incomplete))
        )?;
    }
    for finding in &report.findings {
        let message = annotation_message(finding);
        let title = format!("{} ({})", finding.title, finding.severity);
        for location in finding.locations.iter().take(MAX_ANNOTATED_LOCATIONS) {
            let line = location.line.max(1);
            let column = location.column.max(1);
            let end_column = location.end_column.max(column + 1);
            writeln!(
                out,
                "::{} file={},line={line},endLine={line},col={column},endColumn={end_column},title={}::{}",
                command(finding.severity),
                escape_property(&workspace_path(&location.path, base)),
                escape_property(&title),
                escape_data(&message)
            )?;
        }
    }
    if let Some(cut) = &report.summary.history_cut {
        // A boundary makes "first seen" uncertain: a warning. A range the run asked for (a push,
        // a pull request) only limits what is new: a notice.
        let command = if cut.boundary.is_empty() {
            "notice"
        } else {
            "warning"
        };
        writeln!(
            out,
            "::{command} title={}::Not a full audit: {}.",
            escape_property("tuskguard: history was cut"),
            escape_data(&cut.describe())
        )?;
    }
    for weakened in &report.summary.rules_weakened {
        writeln!(
            out,
            "::warning title={}::{}.",
            escape_property("tuskguard: a built-in rule is off"),
            escape_data(weakened)
        )?;
    }
    let total = report.findings.len();
    if total == 0 {
        writeln!(out, "tuskguard: no findings")?;
    } else {
        writeln!(
            out,
            "tuskguard: {total} finding{} (see the annotations and the job summary)",
            if total == 1 { "" } else { "s" }
        )?;
    }
    Ok(())
}

/// The step summary: a headline and one row per key.
pub fn write_summary(report: &Report, base: &UriBase, out: &mut dyn Write) -> io::Result<()> {
    let findings = &report.findings;
    if findings.is_empty() {
        writeln!(
            out,
            "### tuskguard ({}): no findings\n\nScanned {} files.\n",
            report.mode, report.summary.files_scanned
        )?;
        write_cut(report, out)?;
        return write_notes(report, out);
    }
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|sev| {
            report
                .summary
                .by_severity
                .get(sev)
                .filter(|n| **n > 0)
                .map(|n| format!("{n} {sev}"))
        })
        .collect();
    writeln!(
        out,
        "### tuskguard ({}): {} finding{}{}\n",
        report.mode,
        findings.len(),
        if findings.len() == 1 { "" } else { "s" },
        if counts.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts.join(", "))
        }
    )?;
    write_cut(report, out)?;
    let verified = findings.iter().any(|f| f.verification.is_some());
    let history = findings.iter().any(|f| f.history.is_some());
    let mut header = vec!["Severity", "Finding", "Key", "Location"];
    if history {
        header.push("First commit");
    }
    if verified {
        header.push("Live");
    }
    writeln!(out, "| {} |", header.join(" | "))?;
    writeln!(out, "|{}", " --- |".repeat(header.len()))?;
    for finding in findings {
        let mut cells = vec![
            finding.severity.to_string(),
            format!(
                "{} ({})",
                escape_cell(&finding.title),
                escape_cell(&finding.rule_id)
            ),
            finding
                .secret
                .as_ref()
                .map_or_else(|| "—".to_owned(), |s| escape_cell(&s.redacted)),
            location_cell(finding, base),
        ];
        if history {
            cells.push(finding.history.as_ref().map_or_else(
                || "—".to_owned(),
                |h| {
                    let mut cell = if h.introduced.at_or_before {
                        format!(
                            "at or before {} (the audit was cut there)",
                            escape_cell(short_id(&h.introduced.id))
                        )
                    } else {
                        format!(
                            "{} by {} on {}",
                            escape_cell(short_id(&h.introduced.id)),
                            escape_cell(&h.introduced.author),
                            escape_cell(&h.introduced.time)
                        )
                    };
                    if !h.present_at_head {
                        cell.push_str(" (gone from HEAD, still in history)");
                    }
                    cell
                },
            ));
        }
        if verified {
            cells.push(finding.verification.as_ref().map_or_else(
                || "not checked".to_owned(),
                |v| {
                    match v.status {
                        VerificationStatus::Live => "**LIVE**",
                        VerificationStatus::NotLive => "not live",
                        VerificationStatus::Unknown => "unknown",
                    }
                    .to_owned()
                },
            ));
        }
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    writeln!(out)?;
    write_notes(report, out)
}

/// A cut audit, or a config that switched a built-in rule off, says so above everything else:
/// it must never read as a clean full audit.
fn write_cut(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for weakened in &report.summary.rules_weakened {
        writeln!(
            out,
            "> [!WARNING]\n> **A built-in rule is off:** {}.\n",
            escape_cell(weakened)
        )?;
    }
    if let Some(cut) = &report.summary.history_cut {
        let kind = if cut.boundary.is_empty() {
            "NOTE"
        } else {
            "WARNING"
        };
        writeln!(
            out,
            "> [!{kind}]\n> **Not a full audit:** {}.\n",
            escape_cell(&cut.describe())
        )?;
    }
    Ok(())
}

fn write_notes(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    if let Some(incomplete) = &report.summary.incomplete {
        writeln!(
            out,
            "**Incomplete audit:** {}\n",
            escape_cell(&incomplete_message(incomplete))
        )?;
    }
    let skipped: u64 = report.summary.skipped.values().sum();
    if skipped > 0 {
        writeln!(out, "{skipped} input(s) were skipped (see the job log).\n")?;
    }
    let suppressed = report.summary.suppressed.total();
    if suppressed > 0 {
        writeln!(
            out,
            "{suppressed} finding(s) suppressed (inline, .tuskguardignore, baseline or config).\n"
        )?;
    }
    Ok(())
}

fn location_cell(finding: &Finding, base: &UriBase) -> String {
    let Some(first) = finding.locations.first() else {
        return String::new();
    };
    let mut cell = format!(
        "{}:{}",
        escape_cell(&workspace_path(&first.path, base)),
        first.line
    );
    if finding.locations.len() > 1 {
        cell.push_str(&format!(" (+{} more)", finding.locations.len() - 1));
    }
    cell
}

fn annotation_message(finding: &Finding) -> String {
    let mut text = headline(finding);
    if finding.locations.len() > MAX_ANNOTATED_LOCATIONS {
        text.push_str(&format!(
            " Also at {} more locations (--format json lists all).",
            finding.locations.len() - MAX_ANNOTATED_LOCATIONS
        ));
    }
    text.push_str(&format!(
        "\n{}\n[{}] fingerprint {}",
        finding.remediation, finding.rule_id, finding.fingerprint
    ));
    text
}

fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "notice",
    }
}

/// Annotations need workspace-relative paths; an absolute path outside it is shown as is.
fn workspace_path(path: &str, base: &UriBase) -> String {
    base.relative_path(path).unwrap_or_else(|| path.to_owned())
}

/// Workflow command data (the message): `%`, CR and LF.
/// One line naming how many objects could not be read, and the first few.
fn incomplete_message(incomplete: &Incomplete) -> String {
    let named: Vec<&str> = incomplete
        .objects
        .iter()
        .take(3)
        .map(String::as_str)
        .collect();
    format!(
        "{} git object(s) could not be read, this result is partial (run git fsck): {}{}",
        incomplete.unread_objects,
        named.join("; "),
        if incomplete.unread_objects > named.len() as u64 {
            "; …"
        } else {
            ""
        }
    )
}

pub fn escape_data(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            // ESC, BEL, TAB and friends from file names would reach the log viewer and terminals
            // raw (window titles, cleared screens, colours); bidi controls reorder the line.
            c if c.is_control() || is_invisible_format(c) => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Workflow command property values: data escaping plus `:` and `,`, which end a property.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One Markdown table cell: no line breaks, no column breaks, no markup or HTML from file names.
pub fn escape_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '<' | '>' | '(' | ')' | '#' | '+'
            | '!' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Location, Verification};
    use crate::reports::fixtures;

    fn sample_location(path: &str) -> Location {
        fixtures::location(path, 7, 3, 44)
    }

    fn finding(path: &str, severity: Severity) -> Finding {
        fixtures::finding("tusky-live-key", severity, "fp1", sample_location(path))
    }

    /// A report whose summary counts its findings, as the step summary shows them.
    fn report(findings: Vec<Finding>) -> Report {
        let mut report = fixtures::report(findings);
        for f in &report.findings {
            *report.summary.by_severity.entry(f.severity).or_default() += 1;
        }
        report.summary.findings = report.findings.len();
        report
    }

    /// The renderer hands the summary back instead of appending it: a report renders the same
    /// whatever the environment holds.
    #[test]
    fn write_returns_the_step_summary_and_touches_no_file() {
        let report = report(vec![finding("src/a.rs", Severity::Critical)]);
        let base = UriBase::new(false, None, Some(std::path::PathBuf::from("/ws")));
        let mut out = Vec::new();
        let summary = write(&report, &base, &mut out).unwrap();
        let annotations = String::from_utf8(out).unwrap();
        assert!(
            annotations.starts_with("::error file=src/a.rs,"),
            "{annotations}"
        );
        let summary = String::from_utf8(summary).unwrap();
        assert!(summary.contains("src/a.rs"), "{summary}");
        assert!(
            !annotations.contains(&summary),
            "the summary is not in the log"
        );
    }

    #[test]
    fn uri_base_puts_a_scan_root_inside_the_checkout_in_front() {
        use std::path::PathBuf;
        let inner = UriBase::new(false, Some("/ws/svc/api".into()), Some("/ws".into()));
        assert_eq!(inner.prefix.as_deref(), Some("svc/api/"));
        assert_eq!(inner.relative_path("x.rs").as_deref(), Some("svc/api/x.rs"));
        let outside = UriBase::new(false, Some("/elsewhere".into()), Some("/ws".into()));
        assert_eq!(outside.root, Some(PathBuf::from("/elsewhere")));
        assert_eq!(outside.prefix, None);
        let history = UriBase::new(true, Some("/ws/repo".into()), Some("/ws".into()));
        assert_eq!(history.root, Some(PathBuf::from("/ws/repo")));
        assert_eq!(history.prefix, None);
    }

    fn annotations(report: &Report) -> String {
        let mut out = Vec::new();
        let base = UriBase {
            root: Some(std::path::PathBuf::from("/ws")),
            prefix: None,
        };
        write_annotations(report, &base, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escaping_follows_the_workflow_command_rules() {
        assert_eq!(escape_data("50% a\r\nb: c,d"), "50%25 a%0D%0Ab: c,d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn annotation_has_position_title_and_no_full_key() {
        let text = annotations(&report(vec![finding("/ws/src/a.rs", Severity::Critical)]));
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with(
                "::error file=src/a.rs,line=7,endLine=7,col=3,endColumn=44,title=Tusky production API key (critical)::Tusky production API key: tsk_live_9fK2…"
            ),
            "{first}"
        );
        assert!(first.contains("%0ARevoke it."));
        assert!(!text.contains("FULL-KEY-SENTINEL"));
    }

    #[test]
    fn hostile_file_name_cannot_forge_a_command() {
        let hostile = "x,line=1::\n::error file=evil::pwned%.txt";
        let text = annotations(&report(vec![finding(hostile, Severity::Medium)]));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            2,
            "one annotation and the closing line: {text}"
        );
        assert!(lines[0].starts_with(
            "::warning file=x%2Cline=1%3A%3A%0A%3A%3Aerror file=evil%3A%3Apwned%25.txt,line=7,"
        ));
    }

    #[test]
    fn severity_picks_the_command() {
        let text = annotations(&report(vec![
            finding("a", Severity::High),
            finding("b", Severity::Medium),
            finding("c", Severity::Low),
            finding("d", Severity::Info),
        ]));
        let commands: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("::"))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        assert_eq!(commands, ["error", "warning", "notice", "notice"]);
    }

    #[test]
    fn summary_has_one_row_per_key_with_commit_and_live_status() {
        let mut f = finding("conf|ig\n.env", Severity::Critical);
        f.locations.push(sample_location("other"));
        f.history = Some(fixtures::introduced_in("0123456789abcdef0123"));
        f.verification = Some(Verification {
            status: VerificationStatus::Live,
            reason: None,
            scopes: None,
            revocation: None,
        });
        let mut out = Vec::new();
        write_summary(
            &report(vec![f, finding("b", Severity::Low)]),
            &UriBase::default(),
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("2 findings (1 critical, 1 low)"), "{text}");
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("| ") && !l.contains("---"))
            .collect();
        assert_eq!(rows.len(), 3, "header + one row per key: {text}");
        assert!(rows[0].contains("First commit") && rows[0].contains("Live"));
        assert!(
            rows[1].contains("conf\\|ig .env:7 (+1 more)"),
            "{}",
            rows[1]
        );
        assert!(rows[1].contains("0123456789ab by Ada"));
        assert!(rows[1].contains("**LIVE**"));
        assert!(rows[2].contains("not checked"));
        assert!(!text.contains("FULL-KEY-SENTINEL"));
        for row in rows {
            assert_eq!(row.matches(" | ").count(), 5, "{row}");
        }
    }

    #[test]
    fn cells_neutralise_markdown_and_html() {
        assert_eq!(escape_cell("[x](y) <b>&"), "\\[x\\]\\(y\\) \\<b\\>&amp;");
    }
}
