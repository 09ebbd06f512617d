//! `tuskguard verify`, `tuskguard revoke`, and the `--verify` / `--revoke` steps of `scan`: the
//! opt-in online half. Nothing here runs unless the user asked.

use std::collections::HashMap;
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::args::{ApiOptions, GlobalArgs, OutputArgs, RevokeArgs, ScanOptions, VerifyArgs};
use super::output::{ExitStatus, FailOn, finish_with, parse_fail_on, use_color, write_to};
use crate::findings::{
    REPORT_VERSION, Report, Revocation, RevocationOutcome, SecretValue, VerificationStatus,
};
use crate::reports::{self, RenderOptions};
use crate::tusky::audit::{AuditEntry, AuditLog, default_audit_path, now_rfc3339};
use crate::tusky::probe::Probe;
use crate::tusky::recover::recover_keys;
use crate::tusky::revoke::{ADMIN_KEY_ENV, DASHBOARD_URL, Resolved, Revoker};
use crate::tusky::verify::{VerifyOptions, verify_findings};
use crate::tusky::{ApiBase, Client, ClientSettings};

pub fn run_verify(global: &GlobalArgs, args: &VerifyArgs) -> Result<ExitStatus> {
    let mut api = ApiRun::new(&args.api, &args.output)?;
    let (mut report, _) = read_report(args.report.as_deref())?;
    recover(global, &mut report);
    api.verify(global, &mut report)?;
    show_or_hide_values(&mut report, args.output.show_secrets);
    finish_with(&report, &args.output, global.quiet, global.verbose)
}

pub fn run_revoke(global: &GlobalArgs, args: &RevokeArgs) -> Result<ExitStatus> {
    let mut api = ApiRun::new(&args.api, &args.output)?;
    let (mut report, from_stdin) = read_report(args.report.as_deref())?;
    recover(global, &mut report);
    api.verify(global, &mut report)?;
    let consent = Consent::ask_if_needed(args.yes, from_stdin);
    let summary = api.revoke(global, &mut report, consent)?;
    show_or_hide_values(&mut report, args.output.show_secrets);
    let options = RenderOptions {
        color: use_color(args.output.color, args.output.output.is_some()),
        quiet: global.quiet,
        verbose: global.verbose,
    };
    let text = args.output.format == super::args::Format::Text;
    write_to(args.output.output.as_deref(), |out| {
        reports::write_report(&report, args.output.format, &options, out)?;
        if text {
            summary.write(out)?;
        }
        Ok(())
    })?;
    if !text && !global.quiet {
        let _ = summary.write(&mut io::stderr().lock());
    }
    Ok(if summary.live_remaining() > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

/// `--fail-on live` on a scan without `--verify` would always pass: refuse instead.
pub fn refuse_fail_on_live_without_verify(output: &OutputArgs) -> Result<()> {
    if parse_fail_on(&output.fail_on)? == FailOn::Live {
        bail!("--fail-on live needs --verify (otherwise no key is ever known to be live)");
    }
    Ok(())
}

/// The online half of a scanning command (`scan`, `scan --staged`, `history`): nothing unless
/// `--verify`. Built before the scan, so a bad `--api-url` fails fast (exit 2), not after a long
/// audit.
pub struct OnlineStep {
    api: Option<ApiRun>,
    /// `Some(yes)` when `--revoke` was given.
    revoke: Option<bool>,
}

impl OnlineStep {
    pub fn new(options: &ScanOptions, output: &OutputArgs, revoke: Option<bool>) -> Result<Self> {
        let api = if options.verify {
            Some(ApiRun::new(&options.api, output)?)
        } else {
            refuse_fail_on_live_without_verify(output)?;
            None
        };
        Ok(OnlineStep { api, revoke })
    }

    /// Verifies the report's keys and, with `--revoke`, revokes the live ones (consent rules apply).
    pub fn run(self, global: &GlobalArgs, report: &mut Report) -> Result<()> {
        let Some(mut api) = self.api else {
            return Ok(());
        };
        api.verify(global, report)?;
        if let Some(yes) = self.revoke {
            let consent = Consent::ask_if_needed(yes, false);
            let summary = api.revoke(global, report, consent)?;
            if !global.quiet {
                let _ = summary.write(&mut io::stderr().lock());
            }
        }
        Ok(())
    }
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

impl Consent {
    /// `stdin_busy`: stdin carries the report, so no one can answer a question on it.
    pub fn ask_if_needed(yes: bool, stdin_busy: bool) -> Self {
        if yes {
            Consent::Given
        } else if !stdin_busy && io::stdin().is_terminal() && io::stderr().is_terminal() {
            Consent::Ask
        } else {
            Consent::DryRun
        }
    }
}

/// Validated API settings and the probes of this run.
pub struct ApiRun {
    client: Client,
    options: VerifyOptions,
    audit_path: Option<PathBuf>,
    admin_key: Option<SecretValue>,
    probes: HashMap<SecretValue, Probe>,
}

impl ApiRun {
    pub fn new(api: &ApiOptions, output: &OutputArgs) -> Result<Self> {
        parse_fail_on(&output.fail_on)?;
        let base = ApiBase::parse(&api.api_url)?;
        if api.concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        let client = Client::new(&ClientSettings {
            base,
            timeout: parse_duration("--timeout", &api.timeout)?,
            time_budget: parse_duration("--time-budget", &api.time_budget)?,
            proxy: api.proxy.clone(),
        })?;
        let admin_key = std::env::var(ADMIN_KEY_ENV)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .map(SecretValue::new);
        Ok(ApiRun {
            client,
            options: VerifyOptions {
                concurrency: api.concurrency,
                access_map: api.access_map,
            },
            audit_path: api.audit_log.clone(),
            admin_key,
            probes: HashMap::new(),
        })
    }

    /// Probes every distinct key of the report and fills each finding's verification.
    pub fn verify(&mut self, global: &GlobalArgs, report: &mut Report) -> Result<()> {
        let distinct = distinct_keys(report);
        if !global.quiet && distinct > 0 {
            let _ = writeln!(
                io::stderr(),
                "tuskguard: checking {distinct} distinct key(s) against {}",
                self.client.base()
            );
        }
        self.probes = verify_findings(&self.client, &mut report.findings, self.options);
        if !global.quiet && distinct > 0 {
            let count = |status| {
                self.probes
                    .values()
                    .filter(|p| p.verification.status == status)
                    .count()
            };
            let _ = writeln!(
                io::stderr(),
                "tuskguard: {} live, {} not live, {} unknown",
                count(VerificationStatus::Live),
                count(VerificationStatus::NotLive),
                count(VerificationStatus::Unknown)
            );
        }
        Ok(())
    }

    /// Resolves, and with consent revokes, the live keys that `verify` found.
    pub fn revoke(
        &mut self,
        global: &GlobalArgs,
        report: &mut Report,
        consent: Consent,
    ) -> Result<RevokeSummary> {
        let mut revoker = Revoker::new(&self.client, self.admin_key.clone());
        let mut plan: Vec<(SecretValue, String, Result<Resolved, Revocation>)> = Vec::new();
        for finding in &report.findings {
            let Some(key) = &finding.secret_value else {
                continue;
            };
            let Some(probe) = self.probes.get(key).filter(|p| p.is_live()) else {
                continue;
            };
            if plan.iter().any(|(k, _, _)| k == key) {
                continue;
            }
            plan.push((
                key.clone(),
                finding.fingerprint.clone(),
                revoker.resolve(key, probe),
            ));
        }
        let mut go = consent == Consent::Given;
        if consent == Consent::Ask && plan.iter().any(|(_, _, r)| r.is_ok()) {
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
        for (key, fingerprint, resolved) in plan {
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
                    if !global.quiet {
                        let _ = writeln!(
                            io::stderr(),
                            "tuskguard: revoking {} (key id {})",
                            key.redacted(),
                            resolved.item.candidate().id
                        );
                    }
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

fn confirm(plan: &[(SecretValue, String, Result<Resolved, Revocation>)]) -> Result<bool> {
    let mut stderr = io::stderr().lock();
    writeln!(
        stderr,
        "These keys will be revoked (immediate and permanent):"
    )?;
    for (key, _, resolved) in plan {
        if let Ok(resolved) = resolved {
            let candidate = resolved.item.candidate();
            writeln!(
                stderr,
                "  {}  key id {}{}",
                key.redacted(),
                candidate.id,
                candidate
                    .name
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            )?;
        }
    }
    write!(stderr, "Revoke them now? [y/N] ")?;
    stderr.flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// What revocation did, production and testnet keys counted apart.
#[derive(Debug, Default)]
pub struct RevokeSummary {
    pub dry_run: bool,
    pub production: HashMap<RevocationOutcome, usize>,
    pub testnet: HashMap<RevocationOutcome, usize>,
    pub audit_log: Option<PathBuf>,
}

impl RevokeSummary {
    fn count(&mut self, key: &SecretValue, outcome: RevocationOutcome) {
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

    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.production.is_empty() && self.testnet.is_empty() {
            return writeln!(out, "Revocation: no live key to revoke.");
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

/// Reads a JSON report from a file or (`-`) stdin; `true` when it came from stdin.
fn read_report(path: Option<&Path>) -> Result<(Report, bool)> {
    let Some(path) = path else {
        bail!(
            "give a JSON report file (or - for stdin), written by `tuskguard scan --format json`; \
             to scan and check at once: `tuskguard scan --verify`"
        );
    };
    let from_stdin = path == Path::new("-");
    let (name, text) = if from_stdin {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the report from stdin")?;
        ("stdin".to_owned(), text)
    } else {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read report {}", path.display()))?;
        (path.display().to_string(), text)
    };
    let report: Report = serde_json::from_str(&text).map_err(|err| {
        anyhow::anyhow!(
            "{name}: not a tuskguard JSON report ({err}); write one with \
             `tuskguard scan --format json -o report.json`"
        )
    })?;
    if report.version != REPORT_VERSION {
        bail!(
            "{name}: report version {} is not supported (expected {REPORT_VERSION})",
            report.version
        );
    }
    Ok((report, from_stdin))
}

fn recover(global: &GlobalArgs, report: &mut Report) {
    let counts = recover_keys(report);
    if global.quiet {
        return;
    }
    let mut stderr = io::stderr().lock();
    if counts.missing > 0 {
        let _ = writeln!(
            stderr,
            "tuskguard: warning: {} key(s) could not be read again from their locations \
             (run from the directory the scan ran in, or re-scan); they are reported as unknown",
            counts.missing
        );
    }
    if counts.mismatched > 0 {
        let _ = writeln!(
            stderr,
            "tuskguard: warning: {} key(s) in the report do not match their fingerprints \
             (edited report?); they are reported as unknown",
            counts.mismatched
        );
    }
}

/// Full keys appear in the output only with `--show-secrets`, whatever the input report held.
fn show_or_hide_values(report: &mut Report, show_secrets: bool) {
    for finding in &mut report.findings {
        if let Some(info) = &mut finding.secret {
            info.value = if show_secrets {
                finding.secret_value.as_ref().map(|v| v.expose().to_owned())
            } else {
                None
            };
        }
    }
}

/// `10s`, `500ms`, `2m`, or plain seconds.
pub fn parse_duration(flag: &str, text: &str) -> Result<Duration> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let number: u64 = digits.parse().map_err(|_| {
        anyhow::anyhow!("{flag}: '{text}' is not a duration (try 10s, 500ms or 2m)")
    })?;
    let duration = match unit {
        "" | "s" => Duration::from_secs(number),
        "ms" => Duration::from_millis(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        _ => bail!("{flag}: unknown unit in '{text}' (use ms, s or m)"),
    };
    if duration.is_zero() {
        bail!("{flag} must be more than zero");
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("--timeout", "10s").unwrap(),
            Duration::from_secs(10)
        );
        assert_eq!(
            parse_duration("--timeout", "250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            parse_duration("--timeout", "2m").unwrap(),
            Duration::from_secs(120)
        );
        assert_eq!(
            parse_duration("--timeout", "3").unwrap(),
            Duration::from_secs(3)
        );
        assert!(parse_duration("--timeout", "0s").is_err());
        assert!(parse_duration("--timeout", "ten").is_err());
        assert!(parse_duration("--timeout", "5h").is_err());
    }
}
