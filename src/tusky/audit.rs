//! The append-only audit log of revocation attempts: one JSON object per line with the time, the
//! fingerprint, the redacted key, the key id and the outcome. Never the key itself.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::time::rfc3339_utc;

pub const AUDIT_FILE_NAME: &str = "audit.jsonl";

/// `$XDG_STATE_HOME/tuskguard/audit.jsonl`, else `~/.local/state/tuskguard/audit.jsonl`: outside
/// the repository, so the log is never committed with it.
pub fn default_audit_path() -> Option<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let state = non_empty("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(".local/state")))?;
    Some(state.join("tuskguard").join(AUDIT_FILE_NAME))
}

#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    /// RFC 3339, UTC.
    pub time: String,
    pub action: &'static str,
    pub api_url: String,
    pub fingerprint: String,
    pub redacted_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// Which credential made the call: `leaked-key` or `TUSKY_ADMIN_API_KEY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<&'static str>,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

pub struct AuditLog {
    path: PathBuf,
    file: File,
}

impl AuditLog {
    /// Opens (creating it and its folder if needed) for appending; fails before any revocation.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| {
                format!("cannot create the audit log folder {}", parent.display())
            })?;
        }
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path).with_context(|| {
            format!(
                "cannot open the audit log {} (choose another with --audit-log FILE)",
                path.display()
            )
        })?;
        Ok(AuditLog {
            path: path.to_owned(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes and syncs one line, so the record survives a crash right after the revocation.
    pub fn record(&mut self, entry: &AuditEntry) -> Result<()> {
        let mut line = serde_json::to_string(entry).context("audit entry")?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .with_context(|| format!("cannot write the audit log {}", self.path.display()))
    }
}

/// Now as RFC 3339 UTC, e.g. `2026-11-26T17:04:05Z`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339_utc(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_lines() {
        let dir = std::env::temp_dir().join(format!("tuskguard-audit-{}", std::process::id()));
        let path = dir.join("nested").join("audit.jsonl");
        let entry = AuditEntry {
            time: now_rfc3339(),
            action: "revoke",
            api_url: "http://127.0.0.1:1".into(),
            fingerprint: "ab".into(),
            redacted_key: "tsk_live_abcd…".into(),
            key_id: Some("key_1".into()),
            key_name: None,
            credential: Some("leaked-key"),
            outcome: "revoked".into(),
            detail: None,
        };
        AuditLog::open(&path).unwrap().record(&entry).unwrap();
        AuditLog::open(&path).unwrap().record(&entry).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        let _ = std::fs::remove_dir_all(dir);
    }
}
