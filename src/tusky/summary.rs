//! What a revocation run did, production and testnet keys counted apart, and its summary lines.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;

use super::revoke::DASHBOARD_URL;
use crate::findings::{RevocationOutcome, SecretValue};
use crate::model::text::escape_control;

/// What revocation did, production and testnet keys counted apart.
#[derive(Debug, Default)]
pub struct RevokeSummary {
    pub dry_run: bool,
    pub production: HashMap<RevocationOutcome, usize>,
    pub testnet: HashMap<RevocationOutcome, usize>,
    pub audit_log: Option<PathBuf>,
    /// Keys whose state is unknown (API unreachable, rate limited, key not recovered), each as
    /// "redacted key (reason)": unknown is not "not live".
    pub unchecked: Vec<String>,
    /// The audit log failed mid-run: the run stopped before the next DELETE.
    pub audit_error: Option<String>,
}

impl RevokeSummary {
    pub(super) fn count(&mut self, key: &SecretValue, outcome: RevocationOutcome) {
        let bucket = if key.expose().starts_with("tsk_test_") {
            &mut self.testnet
        } else {
            &mut self.production
        };
        *bucket.entry(outcome).or_default() += 1;
    }

    /// Live keys that are still live after this run.
    pub fn live_remaining(&self) -> usize {
        self.production
            .iter()
            .chain(&self.testnet)
            .filter(|(outcome, _)| **outcome != RevocationOutcome::Revoked)
            .map(|(_, n)| n)
            .sum()
    }

    /// The run could not do what it was asked: keys went unchecked, or the audit log failed.
    pub fn incomplete(&self) -> bool {
        !self.unchecked.is_empty() || self.audit_error.is_some()
    }

    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_outcomes(out)?;
        if !self.unchecked.is_empty() {
            writeln!(
                out,
                "  {} key(s) could not be checked, so they were not revoked (unknown is not \
                 \"not live\"):",
                self.unchecked.len()
            )?;
            for line in &self.unchecked {
                writeln!(out, "    - {}", escape_control(line))?;
            }
        }
        if let Some(err) = &self.audit_error {
            writeln!(
                out,
                "  the audit log could not be written ({}): the run stopped before the next DELETE",
                escape_control(err)
            )?;
        }
        Ok(())
    }

    fn write_outcomes(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.production.is_empty() && self.testnet.is_empty() {
            return if self.unchecked.is_empty() {
                writeln!(out, "Revocation: no live key to revoke.")
            } else {
                writeln!(
                    out,
                    "Revocation: no key known to be live; nothing was revoked."
                )
            };
        }
        if self.dry_run {
            writeln!(
                out,
                "Revocation (dry run: nothing was revoked; pass --yes to revoke):"
            )?;
        } else {
            writeln!(out, "Revocation:")?;
        }
        for (label, counts) in [
            ("production keys", &self.production),
            ("testnet keys (tsk_test_)", &self.testnet),
        ] {
            if counts.is_empty() {
                continue;
            }
            let order = [
                RevocationOutcome::Revoked,
                RevocationOutcome::WouldRevoke,
                RevocationOutcome::NotConfirmed,
                RevocationOutcome::Unresolved,
                RevocationOutcome::Failed,
                RevocationOutcome::KeptInUse,
            ];
            let parts: Vec<String> = order
                .iter()
                .filter_map(|o| counts.get(o).map(|n| format!("{n} {}", o.as_str())))
                .collect();
            writeln!(out, "  {label}: {}", parts.join(", "))?;
        }
        if let Some(path) = &self.audit_log {
            writeln!(out, "  audit log: {}", path.display())?;
        }
        if self.live_remaining() > 0 && !self.dry_run {
            writeln!(
                out,
                "  Keys not confirmed revoked are still dangerous: revoke them at {DASHBOARD_URL}"
            )?;
        }
        Ok(())
    }
}
