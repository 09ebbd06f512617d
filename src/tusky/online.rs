//! The online step of a run: verify a report's keys against the API and, with consent, revoke the
//! live ones, writing each attempt to the audit log. The command line only turns flags into
//! [`ApiSettings`] and [`Consent`], asks the question, and prints what this returns.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::audit::{AuditEntry, AuditLog, default_audit_path, now_rfc3339};
use super::client::{Client, ClientSettings};
use super::probe::Probe;
use super::revoke::{Resolved, Revoker};
use super::verify::{VerifyOptions, verify_findings};
use crate::findings::{Report, Revocation, RevocationOutcome, SecretValue, VerificationStatus};

pub use super::summary::RevokeSummary;

/// Validated API settings, built once from the command line.
pub struct ApiSettings {
    pub client: ClientSettings,
    pub verify: VerifyOptions,
    /// `--audit-log`; `None` means the default location.
    pub audit_log: Option<PathBuf>,
    /// The admin key from the environment, when set: resolves and revokes keys that cannot list
    /// themselves.
    pub admin_key: Option<SecretValue>,
}

/// Whether revocation may happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consent {
    /// `--yes`.
    Given,
    /// A person at a terminal will be asked once the plan is known.
    Ask,
    DryRun,
}

/// One live key the run would revoke: what it resolved to, or why it could not be resolved.
pub struct PlannedRevocation {
    pub key: SecretValue,
    pub fingerprint: String,
    pub resolved: Result<Resolved, Revocation>,
}

/// The API client and the probes of this run.
pub struct ApiRun {
    client: Client,
    options: VerifyOptions,
    audit_path: Option<PathBuf>,
    admin_key: Option<SecretValue>,
    probes: HashMap<SecretValue, Probe>,
}

impl ApiRun {
    pub fn new(settings: ApiSettings) -> Result<Self> {
        Ok(ApiRun {
            client: Client::new(&settings.client)?,
            options: settings.verify,
            audit_path: settings.audit_log,
            admin_key: settings.admin_key,
            probes: HashMap::new(),
        })
    }

    /// Probes every distinct key of the report and fills each finding's verification. `notify`
    /// receives progress lines for people.
    pub fn verify(&mut self, report: &mut Report, notify: &mut dyn FnMut(&str)) {
        let distinct = distinct_keys(report);
        if distinct > 0 {
            notify(&format!(
                "checking {distinct} distinct key(s) against {}",
                self.client.base()
            ));
        }
        self.probes = verify_findings(&self.client, &mut report.findings, self.options);
        if distinct > 0 {
            let count = |status| {
                self.probes
                    .values()
                    .filter(|p| p.verification.status == status)
                    .count()
            };
            notify(&format!(
                "{} live, {} not live, {} unknown",
                count(VerificationStatus::Live),
                count(VerificationStatus::NotLive),
                count(VerificationStatus::Unknown)
            ));
        }
    }

    /// Resolves, and with consent revokes, the live keys that `verify` found. With
    /// [`Consent::Ask`], `confirm` is shown the plan and says whether to go ahead.
    pub fn revoke(
        &mut self,
        report: &mut Report,
        consent: Consent,
        confirm: &mut dyn FnMut(&[PlannedRevocation]) -> Result<bool>,
        notify: &mut dyn FnMut(&str),
    ) -> Result<RevokeSummary> {
        let mut revoker = Revoker::new(&self.client, self.admin_key.clone());
        let mut plan: Vec<PlannedRevocation> = Vec::new();
        for finding in &report.findings {
            let Some(key) = &finding.secret_value else {
                continue;
            };
            let Some(probe) = self.probes.get(key).filter(|p| p.is_live()) else {
                continue;
            };
            if plan.iter().any(|planned| &planned.key == key) {
                continue;
            }
            plan.push(PlannedRevocation {
                key: key.clone(),
                fingerprint: finding.fingerprint.clone(),
                resolved: revoker.resolve(key, probe),
            });
        }
        let mut go = consent == Consent::Given;
        if consent == Consent::Ask && plan.iter().any(|planned| planned.resolved.is_ok()) {
            go = confirm(&plan)?;
        }
        let mut summary = RevokeSummary {
            dry_run: !go,
            ..RevokeSummary::default()
        };
        let mut audit = if go && !plan.is_empty() {
            let path = match &self.audit_path {
                Some(path) => path.clone(),
                None => default_audit_path().context(
                    "no default audit log location ($XDG_STATE_HOME and $HOME are unset): \
                     pass --audit-log FILE",
                )?,
            };
            Some(AuditLog::open(&path)?)
        } else {
            None
        };
        let mut outcomes: HashMap<SecretValue, Revocation> = HashMap::new();
        for PlannedRevocation {
            key,
            fingerprint,
            resolved,
        } in plan
        {
            let revocation = match (&resolved, go) {
                (Err(unresolved), _) => unresolved.clone(),
                (Ok(resolved), false) => Revocation {
                    outcome: RevocationOutcome::WouldRevoke,
                    key_id: Some(resolved.item.candidate().id),
                    key_name: resolved.item.candidate().name,
                    reason: Some("dry run: pass --yes to revoke".into()),
                    candidates: Vec::new(),
                },
                (Ok(resolved), true) => {
                    notify(&format!(
                        "revoking {} (key id {})",
                        key.redacted(),
                        resolved.item.candidate().id
                    ));
                    revoker.revoke(&key, resolved)
                }
            };
            if let Some(audit) = &mut audit {
                audit.record(&AuditEntry {
                    time: now_rfc3339(),
                    action: "revoke",
                    api_url: self.client.base().to_string(),
                    fingerprint,
                    redacted_key: key.redacted(),
                    key_id: revocation.key_id.clone(),
                    key_name: revocation.key_name.clone(),
                    credential: resolved.as_ref().ok().map(|r| r.credential.label),
                    outcome: revocation.outcome.as_str().to_owned(),
                    detail: revocation.reason.clone(),
                })?;
            }
            summary.count(&key, revocation.outcome);
            outcomes.insert(key, revocation);
        }
        summary.audit_log = audit.map(|a| a.path().to_owned());
        for finding in &mut report.findings {
            if let (Some(key), Some(verification)) =
                (&finding.secret_value, &mut finding.verification)
                && let Some(revocation) = outcomes.get(key)
            {
                verification.revocation = Some(revocation.clone());
                if revocation.outcome == RevocationOutcome::Revoked {
                    verification.status = VerificationStatus::NotLive;
                    verification.reason = Some("revoked by tuskguard (confirmed)".into());
                }
            }
        }
        Ok(summary)
    }
}

fn distinct_keys(report: &Report) -> usize {
    let mut keys: Vec<&SecretValue> = report
        .findings
        .iter()
        .filter_map(|f| f.secret_value.as_ref())
        .collect();
    keys.sort_by(|a, b| a.expose().cmp(b.expose()));
    keys.dedup();
    keys.len()
}
