//! The online step of a run: verify a report's keys against the API and, with consent, revoke the
//! live ones, writing each attempt to the audit log. The command line only turns flags into
//! [`ApiSettings`] and [`Consent`], asks the question, and prints what this returns.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};

use super::audit::{AuditEntry, AuditLog, default_audit_path, now_rfc3339};
use super::client::{Client, ClientSettings};
use super::probe::Probe;
use super::revoke::{ADMIN_KEY_ENV, DASHBOARD_URL, Resolved, Revoker};
use super::verify::{VerifyOptions, verify_findings};
use crate::findings::{
    FindingKind, KeyCandidate, Report, Revocation, RevocationOutcome, SecretValue,
    VerificationStatus,
};
use crate::model::Scrubber;

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
    /// `--revoke-admin-key`: revoke the credential in use too, after every other key.
    pub revoke_in_use: bool,
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
    revoke_in_use: bool,
    probes: HashMap<SecretValue, Probe>,
}

impl ApiRun {
    pub fn new(settings: ApiSettings) -> Result<Self> {
        Ok(ApiRun {
            client: Client::new(&settings.client)?,
            options: settings.verify,
            audit_path: settings.audit_log,
            admin_key: settings.admin_key,
            revoke_in_use: settings.revoke_in_use,
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
        let scrubber = self.scrubber(report);
        for verification in report
            .findings
            .iter_mut()
            .filter_map(|f| f.verification.as_mut())
        {
            verification.reason = verification.reason.take().map(|r| scrubber.scrub(&r));
        }
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
    ///
    /// The credential the run itself uses (`TUSKY_ADMIN_API_KEY`, or a key that lists and
    /// deletes for other keys) is never revoked while it is needed: it is kept, or with
    /// `--revoke-admin-key` revoked last. Every DELETE is preceded by an "attempt" line in the
    /// audit log and followed by its outcome: a log that cannot be written stops the run before
    /// the next DELETE.
    pub fn revoke(
        &mut self,
        report: &mut Report,
        consent: Consent,
        confirm: &mut dyn FnMut(&[PlannedRevocation]) -> Result<bool>,
        notify: &mut dyn FnMut(&str),
    ) -> Result<RevokeSummary> {
        let scrubber = self.scrubber(report);
        let notify = &mut |line: &str| notify(&scrubber.scrub(line));
        let mut revoker = Revoker::new(&self.client, self.admin_key.clone());
        let mut plan: Vec<PlannedRevocation> = Vec::new();
        let mut unchecked: Vec<String> = Vec::new();
        for finding in &report.findings {
            let Some(key) = &finding.secret_value else {
                if finding.kind == FindingKind::Secret {
                    unchecked.push(format!(
                        "{} ({})",
                        finding
                            .secret
                            .as_ref()
                            .map_or_else(|| finding.fingerprint.clone(), |s| s.redacted.clone()),
                        "the key could not be recovered from the report"
                    ));
                }
                continue;
            };
            let Some(probe) = self.probes.get(key) else {
                continue;
            };
            if probe.verification.status == VerificationStatus::Unknown {
                let line = format!(
                    "{} ({})",
                    key.redacted(),
                    scrubber.scrub(probe.verification.reason.as_deref().unwrap_or("no answer"))
                );
                if !unchecked.contains(&line) {
                    unchecked.push(line);
                }
                continue;
            }
            if !probe.is_live() || plan.iter().any(|planned| &planned.key == key) {
                continue;
            }
            let mut resolved = revoker.resolve(key, probe);
            if let Ok(found) = &mut resolved {
                found.item.name = found.item.name.as_deref().map(|n| scrubber.scrub(n));
                if scrubber.finds_key(&found.item.id) {
                    resolved = Err(refused_key_id());
                }
            }
            plan.push(PlannedRevocation {
                key: key.clone(),
                fingerprint: finding.fingerprint.clone(),
                resolved,
            });
        }
        let in_use = self.credentials_in_use(&plan);
        // The credential in use goes last, so every other key is revoked while it still works.
        plan.sort_by_key(|planned| in_use.contains(&planned.key));
        for planned in &mut plan {
            if in_use.contains(&planned.key) && !self.revoke_in_use {
                planned.resolved = Err(kept_in_use(planned.resolved.as_ref().ok()));
            }
        }
        let mut go = consent == Consent::Given;
        if consent == Consent::Ask && plan.iter().any(|planned| planned.resolved.is_ok()) {
            go = confirm(&plan)?;
        }
        let mut summary = RevokeSummary {
            dry_run: !go,
            unchecked,
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
            let entry = |outcome: &str, revocation: Option<&Revocation>| AuditEntry {
                time: now_rfc3339(),
                action: "revoke",
                api_url: self.client.base().to_string(),
                fingerprint: fingerprint.clone(),
                redacted_key: key.redacted(),
                key_id: revocation
                    .and_then(|r| r.key_id.clone())
                    .or_else(|| resolved.as_ref().ok().map(|r| r.item.candidate().id)),
                key_name: revocation.and_then(|r| r.key_name.clone()),
                credential: resolved.as_ref().ok().map(|r| r.credential.label),
                outcome: outcome.to_owned(),
                detail: revocation.and_then(|r| r.reason.as_deref().map(|d| scrubber.scrub(d))),
            };
            let revocation = match (&resolved, go) {
                (Err(unresolved), _) => {
                    if let Some(log) = audit.as_mut().filter(|_| summary.audit_error.is_none())
                        && let Err(err) =
                            log.record(&entry(unresolved.outcome.as_str(), Some(unresolved)))
                    {
                        summary.audit_error = Some(format!("{err:#}"));
                    }
                    unresolved.clone()
                }
                (Ok(resolved), false) => Revocation {
                    outcome: RevocationOutcome::WouldRevoke,
                    key_id: Some(resolved.item.candidate().id),
                    key_name: resolved.item.candidate().name,
                    reason: Some(if in_use.contains(&key) {
                        "dry run: pass --yes to revoke; it is the credential this run uses, \
                         so it goes last (--revoke-admin-key)"
                            .into()
                    } else {
                        "dry run: pass --yes to revoke".into()
                    }),
                    candidates: Vec::new(),
                },
                (Ok(_), true) if summary.audit_error.is_some() => Revocation {
                    outcome: RevocationOutcome::Failed,
                    key_id: None,
                    key_name: None,
                    reason: Some(
                        "not attempted: the audit log could not be written, so the run stopped \
                         before this DELETE"
                            .into(),
                    ),
                    candidates: Vec::new(),
                },
                (Ok(resolved), true) => {
                    let attempt = audit
                        .as_mut()
                        .map_or(Ok(()), |log| log.record(&entry("attempt", None)));
                    if let Err(err) = attempt {
                        summary.audit_error = Some(format!("{err:#}"));
                        Revocation {
                            outcome: RevocationOutcome::Failed,
                            key_id: None,
                            key_name: None,
                            reason: Some(
                                "not attempted: the audit log could not be written, so the run \
                                 stopped before this DELETE"
                                    .into(),
                            ),
                            candidates: Vec::new(),
                        }
                    } else {
                        if in_use.contains(&key) {
                            notify(&format!(
                                "revoking {} last: it is the credential this run uses \
                                 (--revoke-admin-key)",
                                key.redacted()
                            ));
                        }
                        notify(&format!(
                            "revoking {} (key id {})",
                            key.redacted(),
                            resolved.item.candidate().id
                        ));
                        let revocation = revoker.revoke(&key, resolved);
                        let result = audit.as_mut().map_or(Ok(()), |log| {
                            log.record(&entry(revocation.outcome.as_str(), Some(&revocation)))
                        });
                        if let Err(err) = result {
                            summary.audit_error = Some(format!("{err:#}"));
                        }
                        revocation
                    }
                }
            };
            let revocation = scrub_revocation(&scrubber, revocation);
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

    /// Every key of the report and the management key: nothing that came from the server may
    /// carry any form of one of them into a message, a report or the audit log.
    fn scrubber(&self, report: &Report) -> Scrubber {
        let mut scrubber = Scrubber::new(
            report
                .findings
                .iter()
                .filter_map(|f| f.secret_value.clone()),
        );
        if let Some(admin) = &self.admin_key {
            scrubber.add(admin);
        }
        scrubber
    }

    /// Keys that list or delete for other keys in this run: the management key, and a leaked key
    /// that is some other key's credential.
    fn credentials_in_use(&self, plan: &[PlannedRevocation]) -> Vec<SecretValue> {
        let mut in_use: Vec<SecretValue> = self.admin_key.iter().cloned().collect();
        for planned in plan {
            if let Ok(resolved) = &planned.resolved
                && resolved.credential.key != planned.key
                && !in_use.contains(&resolved.credential.key)
            {
                in_use.push(resolved.credential.key.clone());
            }
        }
        in_use
    }
}

fn refused_key_id() -> Revocation {
    Revocation {
        outcome: RevocationOutcome::Failed,
        key_id: None,
        key_name: None,
        reason: Some("the API returned a key id that contains a key: refused".into()),
        candidates: Vec::new(),
    }
}

fn kept_in_use(resolved: Option<&Resolved>) -> Revocation {
    Revocation {
        outcome: RevocationOutcome::KeptInUse,
        key_id: resolved.map(|r| r.item.candidate().id),
        key_name: resolved.and_then(|r| r.item.candidate().name),
        reason: Some(format!(
            "not revoked: it is {ADMIN_KEY_ENV}, the credential this run uses to list and revoke \
             keys. Revoke it at {DASHBOARD_URL} after rotating it, or re-run with \
             --revoke-admin-key to revoke it last"
        )),
        candidates: Vec::new(),
    }
}

fn scrub_revocation(scrubber: &Scrubber, revocation: Revocation) -> Revocation {
    let scrub = |text: Option<String>| text.map(|t| scrubber.scrub(&t));
    Revocation {
        outcome: revocation.outcome,
        key_id: scrub(revocation.key_id),
        key_name: scrub(revocation.key_name),
        reason: scrub(revocation.reason),
        candidates: revocation
            .candidates
            .into_iter()
            .map(|c| KeyCandidate {
                id: scrubber.scrub(&c.id),
                name: c.name.map(|n| scrubber.scrub(&n)),
                created_at: c.created_at.map(|t| scrubber.scrub(&t)),
            })
            .collect(),
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
