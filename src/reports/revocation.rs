//! Text lines for a revocation (owned by the Tusky API feature, kept apart from `text.rs`).

use std::io::{self, Write};

use super::text::escape_control;
use crate::findings::{Revocation, RevocationOutcome};

pub fn write_text(revocation: &Revocation, out: &mut dyn Write) -> io::Result<()> {
    let what = match revocation.outcome {
        RevocationOutcome::WouldRevoke => "would be revoked (dry run)",
        RevocationOutcome::Revoked => "REVOKED (confirmed)",
        RevocationOutcome::NotConfirmed => "revocation NOT confirmed",
        RevocationOutcome::Unresolved => "NOT revoked (key id unresolved)",
        RevocationOutcome::Failed => "revocation FAILED",
        RevocationOutcome::KeptInUse => "NOT revoked (the credential this run uses)",
    };
    let mut line = format!("  revoke: {what}");
    if let Some(id) = &revocation.key_id {
        line.push_str(&format!(", key id {}", escape_control(id)));
    }
    if let Some(name) = &revocation.key_name {
        line.push_str(&format!(" ({})", escape_control(name)));
    }
    writeln!(out, "{line}")?;
    if let Some(reason) = &revocation.reason {
        writeln!(out, "          {}", escape_control(reason))?;
    }
    if !revocation.candidates.is_empty() {
        writeln!(out, "          keys in the account:")?;
        for candidate in &revocation.candidates {
            writeln!(
                out,
                "            - {} (id {}, created {})",
                escape_control(candidate.name.as_deref().unwrap_or("unnamed")),
                escape_control(&candidate.id),
                escape_control(candidate.created_at.as_deref().unwrap_or("unknown"))
            )?;
        }
    }
    Ok(())
}
