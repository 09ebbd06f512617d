//! `--format sarif`: SARIF 2.1.0 that GitHub code scanning accepts (validated against the OASIS
//! schema in tests). One result per finding; one `tool.driver.rules` entry per rule id present.
//!
//! Choices a code-scanning user relies on:
//! - `partialFingerprints` carry the content-stable fingerprint, so an alert survives moved lines,
//!   rebases and squashes, and is never keyed on a commit id.
//! - Snippets are the redacted key only, even with `--show-secrets`: SARIF is uploaded to GitHub.
//! - URIs are relative to `%SRCROOT%` (the directory tuskguard ran in, or the repository for
//!   `history`), percent-encoded so hostile file names still make valid URIs.
//! - Code scanning's limits are respected; when something has to go, the run says so.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactContent, ArtifactLocation, Invocation, Location, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingConfiguration,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

use super::headline;
use crate::findings::{
    CommitRef, Confidence, Finding, FindingKind, Location as FindingLocation, Report, Severity,
};
use crate::model::text::percent_encode_path;

pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Where rule help lives: the README's "Code scanning alerts" section (anchors below).
pub const HELP_BASE_URI: &str = "https://github.com/tuskguard/tuskguard/blob/main/README.md";

/// The `uriBaseId` every relative location uses.
pub const SRCROOT: &str = "%SRCROOT%";

/// The key of our entry in `partialFingerprints`; bump the version if fingerprints ever change.
pub const FINGERPRINT_KEY: &str = "tuskguardFingerprint/v1";

/// GitHub code scanning's upload limits (docs: "SARIF support for code scanning").
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_results: usize,
    pub max_locations_per_result: usize,
    /// Budget for the serialised results. The upload limit is 10 MB *gzipped*; SARIF compresses
    /// more than tenfold, so 50 MB of JSON stays well inside it.
    pub max_result_bytes: usize,
    pub max_notifications: usize,
}

impl Limits {
    pub const CODE_SCANNING: Limits = Limits {
        max_results: 25_000,
        max_locations_per_result: 1_000,
        max_result_bytes: 50 * 1024 * 1024,
        max_notifications: 1_000,
    };
}

/// How location paths become URIs.
#[derive(Clone, Debug, Default)]
pub struct UriBase {
    /// Absolute directory `%SRCROOT%` stands for, when it could be resolved.
    pub root: Option<PathBuf>,
    /// Put before relative report paths: the scan root's path inside `root` (ends with `/`).
    pub prefix: Option<String>,
}

impl UriBase {
    /// Report paths are relative to the scan root (the repository for `history`). When the scan
    /// root lies inside the current directory, `%SRCROOT%` is the current directory and URIs get
    /// the scan root's relative path in front: in CI the current directory is the checkout, so
    /// `tuskguard scan services/api` still yields repository paths that code scanning can place.
    ///
    /// Pure: the caller resolves both directories (canonical, absolute); `scan_root` is `None`
    /// when the report's root is not a directory (a file, or several roots).
    pub fn new(history: bool, scan_root: Option<PathBuf>, cwd: Option<PathBuf>) -> UriBase {
        if history {
            return UriBase {
                root: scan_root,
                prefix: None,
            };
        }
        match (scan_root, cwd) {
            (Some(root), Some(cwd)) => match root.strip_prefix(&cwd) {
                Ok(inner) if !inner.as_os_str().is_empty() => UriBase {
                    prefix: Some(format!("{}/", inner.to_string_lossy())),
                    root: Some(cwd),
                },
                Ok(_) => UriBase {
                    root: Some(cwd),
                    prefix: None,
                },
                Err(_) => UriBase {
                    root: Some(root),
                    prefix: None,
                },
            },
            // A file or several roots: paths are as given, relative to the current directory.
            (None, cwd) => UriBase {
                root: cwd,
                prefix: None,
            },
            (Some(root), None) => UriBase {
                root: Some(root),
                prefix: None,
            },
        }
    }

    /// A report path relative to `root` (what code scanning and annotations need), or `None`
    /// for an absolute path outside it.
    pub fn relative_path(&self, path: &str) -> Option<String> {
        let normalised = if cfg!(windows) {
            path.replace('\\', "/")
        } else {
            path.to_owned()
        };
        let as_path = Path::new(&normalised);
        if !as_path.is_absolute() {
            return Some(format!(
                "{}{normalised}",
                self.prefix.as_deref().unwrap_or("")
            ));
        }
        let root = self.root.as_ref()?;
        as_path
            .strip_prefix(root)
            .ok()
            .map(|relative| relative.to_string_lossy().into_owned())
    }
}

/// A SARIF log plus what the writer must tell the user (truncation).
pub struct SarifOutput {
    pub log: Sarif,
    pub notes: Vec<String>,
}

/// Writes the SARIF log; returns what the user must be told (truncation), for the caller to say.
pub fn write(report: &Report, base: &UriBase, out: &mut dyn Write) -> io::Result<Vec<String>> {
    let output = build(report, base, &Limits::CODE_SCANNING);
    serde_json::to_writer(&mut *out, &output.log).map_err(io::Error::from)?;
    writeln!(out)?;
    Ok(output.notes)
}

/// Builds the SARIF log for `report`.
pub fn build(report: &Report, base: &UriBase, limits: &Limits) -> SarifOutput {
    let mut notes = Vec::new();
    // Code scanning keeps the most severe results when it must drop some; so do we.
    let mut ordered: Vec<&Finding> = report.findings.iter().collect();
    ordered.sort_by_key(|f| std::cmp::Reverse(f.severity));

    let mut rules: Vec<ReportingDescriptor> = Vec::new();
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut results = Vec::new();
    let mut bytes = 0usize;
    let mut trimmed_locations = 0usize;
    for finding in &ordered {
        if results.len() == limits.max_results {
            notes.push(format!(
                "SARIF holds the {} most severe of {} findings (code scanning accepts at most {} results per run); use --format json for all",
                limits.max_results,
                ordered.len(),
                limits.max_results
            ));
            break;
        }
        let index = match rule_index.get(finding.rule_id.as_str()) {
            Some(index) => *index,
            None => {
                rules.push(rule_for(finding, &report.findings));
                rule_index.insert(&finding.rule_id, rules.len() - 1);
                rules.len() - 1
            }
        };
        let shown = finding.locations.len().min(limits.max_locations_per_result);
        if shown < finding.locations.len() {
            trimmed_locations += 1;
        }
        let result = result_for(finding, index, shown, base);
        let size = serialized_len(&result);
        if bytes + size > limits.max_result_bytes {
            notes.push(format!(
                "SARIF holds {} of {} findings to stay within code scanning's upload size limit; use --format json for all",
                results.len(),
                ordered.len()
            ));
            break;
        }
        bytes += size;
        results.push(result);
    }
    if trimmed_locations > 0 {
        notes.push(format!(
            "{trimmed_locations} finding(s) list only their first {} locations in SARIF (code scanning's limit); use --format json for all",
            limits.max_locations_per_result
        ));
    }
    // Rules of results that were cut are still listed; harmless, and keeps indexes stable.
    let run = run_for(report, rules, results, base, limits, &notes);
    let log = Sarif::builder()
        .schema(SCHEMA_URI.to_owned())
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    SarifOutput { log, notes }
}

fn run_for(
    report: &Report,
    rules: Vec<ReportingDescriptor>,
    results: Vec<SarifResult>,
    base: &UriBase,
    limits: &Limits,
    notes: &[String],
) -> Run {
    let driver = ToolComponent::builder()
        .name(report.tool.name.clone())
        .version(report.tool.version.clone())
        .semantic_version(report.tool.version.clone())
        .information_uri(HELP_BASE_URI.to_owned())
        .rules(rules)
        .build();
    let mut properties = BTreeMap::new();
    properties.insert("mode".to_owned(), json!(report.mode));
    properties.insert("findings".to_owned(), json!(report.findings.len()));
    properties.insert(
        "filesScanned".to_owned(),
        json!(report.summary.files_scanned),
    );
    let skipped: u64 = report.summary.skipped.values().sum();
    properties.insert("filesSkipped".to_owned(), json!(skipped));
    properties.insert("truncated".to_owned(), json!(!notes.is_empty()));
    if let Some(cut) = &report.summary.history_cut {
        properties.insert(
            "historyCut".to_owned(),
            json!({
                "reasons": cut.reasons,
                "boundary": cut.boundary,
                "base": cut.base,
                "description": cut.describe(),
            }),
        );
    }
    if !notes.is_empty() {
        properties.insert("truncation".to_owned(), json!(notes));
    }
    let unread: &[String] = report
        .summary
        .incomplete
        .as_ref()
        .map_or(&[], |incomplete| &incomplete.objects);
    if let Some(incomplete) = &report.summary.incomplete {
        properties.insert("incomplete".to_owned(), json!(true));
        properties.insert("objectsUnread".to_owned(), json!(incomplete.unread_objects));
    }
    // Unreadable objects first, as errors: a partial audit must not look like a clean one.
    let notifications: Vec<Notification> = unread
        .iter()
        .map(|object| ("error", object))
        .chain(report.summary.warnings.iter().map(|w| ("warning", w)))
        .take(limits.max_notifications)
        .map(|(level, message)| {
            Notification::builder()
                .level(json!(level))
                .message(Message::from(message.as_str()))
                .build()
        })
        .collect();
    let mut invocation = Invocation::builder()
        .execution_successful(report.summary.incomplete.is_none())
        .build();
    if !notifications.is_empty() {
        invocation.tool_execution_notifications = Some(notifications);
    }
    let mut run = Run::builder()
        .tool(Tool::from(driver))
        .results(results)
        .column_kind(json!("unicodeCodePoints"))
        .invocations(vec![invocation])
        .properties(bag(None, properties))
        .build();
    if let Some(root) = &base.root {
        let mut bases = BTreeMap::new();
        bases.insert(
            SRCROOT.to_owned(),
            ArtifactLocation::builder().uri(directory_uri(root)).build(),
        );
        run.original_uri_base_ids = Some(bases);
    }
    run
}

fn rule_for(finding: &Finding, all: &[Finding]) -> ReportingDescriptor {
    // A rule's findings may differ in severity (an env file tracked vs untracked); the rule
    // carries the worst, each result its own level.
    let severity = all
        .iter()
        .filter(|f| f.rule_id == finding.rule_id)
        .map(|f| f.severity)
        .max()
        .unwrap_or(finding.severity);
    let about = KindHelp::of(finding.kind);
    let mut tags = vec![
        "security".to_owned(),
        finding.kind.as_str().to_owned(),
        "tusky".to_owned(),
    ];
    tags.push(format!("external/cwe/cwe-{}", about.cwe));
    let mut properties = BTreeMap::new();
    properties.insert(
        "security-severity".to_owned(),
        json!(security_severity(severity)),
    );
    properties.insert("precision".to_owned(), json!(precision(finding.confidence)));
    properties.insert("problem.severity".to_owned(), json!(level_name(severity)));
    let help_text = format!(
        "{} What to do: {} To accept a finding, add its fingerprint to .tuskguardignore or a `tuskguard:allow` comment on the line.",
        about.why, finding.remediation
    );
    let help_markdown = format!(
        "{}\n\n**What to do:** {}\n\nTo accept a finding, add its fingerprint to `.tuskguardignore`, or put a `tuskguard:allow` comment on the line. [More]({}#{})",
        about.why, finding.remediation, HELP_BASE_URI, about.anchor
    );
    ReportingDescriptor::builder()
        .id(finding.rule_id.clone())
        .name(pascal_case(&finding.rule_id))
        .short_description(MultiformatMessageString::from(&finding.title))
        .full_description(
            MultiformatMessageString::builder()
                .text(format!("{}. {}", finding.title, about.why))
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(help_text)
                .markdown(help_markdown)
                .build(),
        )
        .help_uri(format!("{HELP_BASE_URI}#{}", about.anchor))
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_name(severity)))
                .build(),
        )
        .properties(bag(Some(tags), properties))
        .build()
}

fn result_for(finding: &Finding, rule_index: usize, shown: usize, base: &UriBase) -> SarifResult {
    let snippet = finding.secret.as_ref().map(|s| s.redacted.clone());
    let locations: Vec<Location> = finding
        .locations
        .iter()
        .take(shown)
        .map(|location| location_for(location, snippet.as_deref(), base))
        .collect();
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(FINGERPRINT_KEY.to_owned(), finding.fingerprint.clone());

    let mut properties = BTreeMap::new();
    properties.insert("kind".to_owned(), json!(finding.kind.as_str()));
    properties.insert("severity".to_owned(), json!(finding.severity.as_str()));
    properties.insert("confidence".to_owned(), json!(finding.confidence));
    properties.insert("fingerprint".to_owned(), json!(finding.fingerprint));
    if let Some(secret) = &finding.secret {
        properties.insert("redactedSecret".to_owned(), json!(secret.redacted));
        properties.insert("secretLength".to_owned(), json!(secret.length));
    }
    if shown < finding.locations.len() {
        properties.insert(
            "omittedLocations".to_owned(),
            json!(finding.locations.len() - shown),
        );
    }
    if let Some(history) = &finding.history {
        properties.insert("commit".to_owned(), commit_json(&history.introduced));
        properties.insert("presentAtHead".to_owned(), json!(history.present_at_head));
        properties.insert("historyOnly".to_owned(), json!(!history.present_at_head));
        properties.insert("pushed".to_owned(), json!(history.pushed));
        properties.insert("refs".to_owned(), json!(history.refs));
    }
    if let Some(verification) = &finding.verification {
        properties.insert("verification".to_owned(), json!(verification.status));
        if let Some(reason) = &verification.reason {
            properties.insert("verificationReason".to_owned(), json!(reason));
        }
    }
    let mut tags = vec![finding.kind.as_str().to_owned()];
    if finding.history.as_ref().is_some_and(|h| !h.present_at_head) {
        tags.push("history-only".to_owned());
    }

    SarifResult::builder()
        .rule_id(finding.rule_id.clone())
        .rule_index(rule_index as i64)
        .level(level(finding.severity))
        .message(Message::from(message_text(finding).as_str()))
        .locations(locations)
        .partial_fingerprints(fingerprints)
        .properties(bag(Some(tags), properties))
        .build()
}

fn message_text(finding: &Finding) -> String {
    let mut text = headline(finding);
    if let Some(history) = &finding.history
        && !history.present_at_head
    {
        text.push_str(" Gone from HEAD but still in history: deleting the file did not revoke it.");
    }
    text.push(' ');
    text.push_str(&finding.remediation);
    text
}

fn location_for(location: &FindingLocation, snippet: Option<&str>, base: &UriBase) -> Location {
    let start_line = location.line.max(1);
    let start_column = location.column.max(1);
    // End is exclusive; code scanning rejects `endColumn: 0` and empty regions.
    let end_column = location.end_column.max(start_column + 1);
    let mut region = Region::builder()
        .start_line(start_line as i64)
        .start_column(start_column as i64)
        .end_column(end_column as i64)
        .build();
    if let Some(text) = snippet {
        region.snippet = Some(ArtifactContent::builder().text(text.to_owned()).build());
    }
    let (uri, relative) = artifact_uri(&location.path, base);
    let mut artifact = ArtifactLocation::builder().uri(uri).build();
    if relative {
        artifact.uri_base_id = Some(SRCROOT.to_owned());
    }
    let physical = PhysicalLocation::builder()
        .artifact_location(artifact)
        .region(region)
        .build();
    let mut properties = BTreeMap::new();
    if !location.encoding.is_plain() {
        properties.insert("encoding".to_owned(), json!(location.encoding));
    }
    if let Some(commit) = &location.commit {
        properties.insert("commit".to_owned(), commit_json(commit));
    }
    let mut sarif_location = Location::builder().physical_location(physical).build();
    if !properties.is_empty() {
        sarif_location.properties = Some(bag(None, properties));
    }
    sarif_location
}

/// The URI for a report path and whether it is relative to `%SRCROOT%`.
pub fn artifact_uri(path: &str, base: &UriBase) -> (String, bool) {
    match base.relative_path(path) {
        Some(relative) => (percent_encode_path(&relative), true),
        None => (format!("file://{}", percent_encode_path(path)), false),
    }
}

fn directory_uri(dir: &Path) -> String {
    let mut encoded = percent_encode_path(&dir.to_string_lossy());
    if !encoded.starts_with('/') {
        encoded.insert(0, '/');
    }
    if !encoded.ends_with('/') {
        encoded.push('/');
    }
    format!("file://{encoded}")
}

/// The compact JSON size of `value`, counted without building the text.
fn serialized_len(value: &impl serde::Serialize) -> usize {
    struct Counter(usize);
    impl Write for Counter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Serialising these plain structs cannot fail; a failure would only undercount.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

fn commit_json(commit: &CommitRef) -> Value {
    let mut value = json!({
        "id": commit.id,
        "author": commit.author,
        "date": commit.time,
        "summary": commit.summary,
    });
    if commit.at_or_before {
        // The audit was cut at this commit: the key came in at or before it.
        value["atOrBefore"] = json!(true);
    }
    value
}

fn bag(tags: Option<Vec<String>>, properties: BTreeMap<String, Value>) -> PropertyBag {
    PropertyBag {
        tags,
        additional_properties: properties,
    }
}

pub fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Info => ResultLevel::Note,
    }
}

fn level_name(severity: Severity) -> &'static str {
    match level(severity) {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        ResultLevel::Note => "note",
        ResultLevel::None => "none",
    }
}

/// GitHub maps this score to its critical/high/medium/low labels (> 9.0, 7.0–8.9, 4.0–6.9, < 4).
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

fn precision(confidence: Confidence) -> &'static str {
    match confidence {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// Per-kind explanation, CWE and README anchor for rule help.
struct KindHelp {
    why: &'static str,
    cwe: u32,
    anchor: &'static str,
}

impl KindHelp {
    fn of(kind: FindingKind) -> KindHelp {
        match kind {
            FindingKind::Secret => KindHelp {
                why: "A Tusky API key in a repository lets anyone who can read the repository, a clone or its history act with that key's permissions until the key is revoked.",
                cwe: 798,
                anchor: "leaked-key-secret",
            },
            FindingKind::EnvNotIgnored => KindHelp {
                why: "An env file that git tracks or does not ignore is one `git add .` away from publishing every secret in it.",
                cwe: 538,
                anchor: "env-file-not-ignored-env-not-ignored",
            },
            FindingKind::BroadScope => KindHelp {
                why: "An API key created with more permissions than it needs turns a small leak into a full account compromise.",
                cwe: 272,
                anchor: "over-broad-key-scopes-broad-scope",
            },
        }
    }
}

/// README anchors that rule `helpUri`s point to (a test checks the README has these headings).
pub const HELP_ANCHORS: [&str; 3] = [
    "leaked-key-secret",
    "env-file-not-ignored-env-not-ignored",
    "over-broad-key-scopes-broad-scope",
];

#[cfg(test)]
mod tests;
