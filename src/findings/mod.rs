//! Findings: what the scan reports, from one raw occurrence in one file to the deduplicated,
//! fingerprinted finding with every location.

pub mod build;
pub mod collect;
pub mod fingerprint;
pub mod redact;
pub mod suppression;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use fingerprint::Fingerprint;
pub use redact::{SecretValue, redact};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown severity '{s}' (expected critical, high, medium, low or info)")
            })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    Secret,
    EnvNotIgnored,
    BroadScope,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Secret => "secret",
            FindingKind::EnvNotIgnored => "env-not-ignored",
            FindingKind::BroadScope => "broad-scope",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// How the matched text was stored in the file, when it was not plain text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    Plain,
    Base64,
    Percent,
    Utf16le,
    Utf16be,
}

impl Encoding {
    pub fn is_plain(&self) -> bool {
        matches!(self, Encoding::Plain)
    }
}

/// A commit as reports show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRef {
    pub id: String,
    pub author: String,
    pub email: String,
    /// RFC 3339, UTC.
    pub time: String,
    pub summary: String,
}

/// One place a finding was seen. `line` and `column` are 1-based; `column`/`end_column` count
/// characters of the decoded line (end exclusive), so `end_column > column` always holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_column: usize,
    #[serde(default = "plain_encoding", skip_serializing_if = "Encoding::is_plain")]
    pub encoding: Encoding,
    /// Set for locations found in git objects (history), never for the working tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitRef>,
}

fn plain_encoding() -> Encoding {
    Encoding::Plain
}

/// One hit in one file or blob, before deduplication.
#[derive(Clone, Debug)]
pub struct Occurrence {
    pub rule_id: String,
    pub kind: FindingKind,
    pub severity: Severity,
    pub confidence: Confidence,
    pub title: String,
    pub remediation: String,
    pub fingerprint: Fingerprint,
    pub secret: Option<SecretValue>,
    pub location: Location,
}

/// The redacted view of a secret that reports may carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretInfo {
    /// e.g. `tsk_live_9fK2…`
    pub redacted: String,
    /// Length of the full key in characters.
    pub length: usize,
    /// The full key: only with `--show-secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Where a key lives in history (filled by `tuskguard history`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryInfo {
    /// The earliest commit (in topological order) whose tree holds the key.
    pub introduced: CommitRef,
    pub present_at_head: bool,
    /// `None` for bare repositories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_working_tree: Option<bool>,
    pub refs: Vec<String>,
    /// True when a remote-tracking ref contains the key.
    pub pushed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerificationStatus {
    Live,
    NotLive,
    Unknown,
}

/// What the Tusky API said about a key (filled by `--verify`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub status: VerificationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Scopes the key evidently holds (access map), when probed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// What `revoke` (or `scan --verify --revoke`) did or would do with the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationOutcome {
    /// Dry run: the key resolved to one id and would be revoked with `--yes`.
    WouldRevoke,
    /// Deleted, and the key now gets `401`.
    Revoked,
    /// The API accepted the DELETE but the key still works (or the re-probe had no answer).
    NotConfirmed,
    /// No unique key id matched: nothing was deleted.
    Unresolved,
    /// The DELETE was refused or had no answer.
    Failed,
}

impl RevocationOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationOutcome::WouldRevoke => "would-revoke",
            RevocationOutcome::Revoked => "revoked",
            RevocationOutcome::NotConfirmed => "not-confirmed",
            RevocationOutcome::Unresolved => "unresolved",
            RevocationOutcome::Failed => "failed",
        }
    }
}

/// A key of the account, as the list endpoint describes it (never its value).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCandidate {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub outcome: RevocationOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For unresolved keys: the account's keys, to pick from in the dashboard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<KeyCandidate>,
}

/// One finding per fingerprint: one key (per rule) with every place it was seen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub kind: FindingKind,
    pub severity: Severity,
    pub confidence: Confidence,
    pub title: String,
    pub remediation: String,
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretInfo>,
    pub locations: Vec<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// Kept in memory for `--verify`; never serialised (see `SecretInfo::value`).
    #[serde(skip)]
    pub secret_value: Option<SecretValue>,
}

impl Finding {
    pub fn primary_location(&self) -> &Location {
        &self.locations[0]
    }
}

/// Why a file was not scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    TooLarge,
    Unreadable,
    SymlinkLoop,
    NotAFile,
    LfsPointer,
    CorruptObject,
    ConfigAllowed,
}

impl SkipReason {
    /// Reads after a count of any size ("1 unreadable", "60 under a config allow-listed path").
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::TooLarge => "over --max-file-size",
            SkipReason::Unreadable => "unreadable",
            SkipReason::SymlinkLoop => "in a symlink loop",
            SkipReason::NotAFile => "not regular file(s)",
            SkipReason::LfsPointer => "git LFS pointer(s) (content not in the repo)",
            SkipReason::CorruptObject => "corrupt git object(s)",
            SkipReason::ConfigAllowed => "under a config allow-listed path",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressedCounts {
    pub inline: u64,
    pub ignore_file: u64,
    pub baseline: u64,
    pub config: u64,
}

impl SuppressedCounts {
    pub fn total(&self) -> u64 {
        self.inline + self.ignore_file + self.baseline + self.config
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub findings: usize,
    pub by_severity: BTreeMap<Severity, usize>,
    pub skipped: BTreeMap<SkipReason, u64>,
    pub suppressed: SuppressedCounts,
    /// Messages about inputs that could not be read, each naming the file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub duration_ms: u64,
    /// Commits walked by `tuskguard history` (each unique blob is still scanned once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits_scanned: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: "tuskguard".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// The JSON report (`--format json`), version 1.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    pub tool: ToolInfo,
    /// `scan`, `scan --staged` or `history`.
    pub mode: String,
    /// The scan root as given; locations are relative to it.
    pub root: String,
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

pub const REPORT_VERSION: u32 = 1;
