//! Where a hit was seen, and the raw hit itself before deduplication.

use serde::{Deserialize, Serialize};

use super::{Confidence, Encoding, FindingKind, Fingerprint, SecretValue, Severity};

/// A commit as reports show it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CommitRef {
    pub id: String,
    pub author: String,
    pub email: String,
    /// RFC 3339, UTC.
    pub time: String,
    pub summary: String,
    /// The audit was cut at this commit (shallow clone, `--max-count`): history behind it was not
    /// read, so what it holds came in at or before it, not necessarily in it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub at_or_before: bool,
}

impl CommitRef {
    /// "commit 1a2b3c4d5e6f", or "at or before commit 1a2b3c4d5e6f" at a cut.
    pub fn describe_short(&self) -> String {
        let short = self.id.get(..12).unwrap_or(&self.id);
        if self.at_or_before {
            format!("at or before commit {short}")
        } else {
            format!("commit {short}")
        }
    }
}

/// One place a finding was seen. `line` and `column` are 1-based; `column`/`end_column` count
/// characters of the decoded line (end exclusive), so `end_column > column` always holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    pub path: String,
    /// The exact bytes of `path`, percent-encoded, when they are not UTF-8 (`path` then shows
    /// U+FFFD): `verify` and `revoke` of a saved report read the file by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_path: Option<String>,
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
