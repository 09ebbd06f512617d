//! The bottom layer: the vocabulary every other layer shares (severity, confidence, encoding,
//! where a hit was seen, why an input was skipped, the run's counters) and the text helpers
//! reports and messages use. It imports nothing from the rest of the crate, so any layer may use
//! it and it never pulls a layer above it in.

mod fingerprint;
pub mod limited;
mod occurrence;
mod redact;
mod scrub;
mod stats;
pub mod text;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use fingerprint::Fingerprint;
pub use occurrence::{CommitRef, Location, Occurrence};
pub use redact::{SecretValue, redact};
pub use scrub::Scrubber;
pub use stats::{
    HistoryCut, Incomplete, SHALLOW_CLONE, ScanStats, SkipReason, Summary, SuppressedCounts,
};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    Plain,
    Base64,
    Percent,
    Utf16le,
    Utf16be,
    /// Written with string-literal escapes (`\x73`, `\u0073`, `\u{73}`, octal `\163`).
    Escaped,
}

impl Encoding {
    pub fn is_plain(&self) -> bool {
        matches!(self, Encoding::Plain)
    }
}
