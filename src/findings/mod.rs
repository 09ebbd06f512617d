//! Findings: what the scan reports, from one raw occurrence in one file to the deduplicated,
//! fingerprinted finding with every location.

pub mod build;
pub mod collect;
pub mod suppression;

use serde::{Deserialize, Serialize};

pub use crate::model::{
    CommitRef, Confidence, Encoding, FindingKind, Fingerprint, Location, Occurrence, SecretValue,
    Severity, SkipReason, Summary, SuppressedCounts, redact,
};

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
    /// The key is the credential this run uses (`TUSKY_ADMIN_API_KEY`): not revoked without
    /// `--revoke-admin-key`.
    KeptInUse,
}

impl RevocationOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationOutcome::WouldRevoke => "would-revoke",
            RevocationOutcome::Revoked => "revoked",
            RevocationOutcome::NotConfirmed => "not-confirmed",
            RevocationOutcome::Unresolved => "unresolved",
            RevocationOutcome::Failed => "failed",
            RevocationOutcome::KeptInUse => "kept-in-use",
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

impl Report {
    /// Reads a saved JSON report (the input of `verify` and `revoke`); `name` is how the message
    /// refers to where it came from.
    pub fn from_json(text: &str, name: &str) -> anyhow::Result<Report> {
        let report: Report = serde_json::from_str(text).map_err(|err| {
            anyhow::anyhow!(
                "{name}: not a tuskguard JSON report ({err}); write one with \
                 `tuskguard scan --format json -o report.json`"
            )
        })?;
        if report.version != REPORT_VERSION {
            anyhow::bail!(
                "{name}: report version {} is not supported (expected {REPORT_VERSION})",
                report.version
            );
        }
        Ok(report)
    }
}
