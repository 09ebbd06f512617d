//! `tuskguard verify`, `tuskguard revoke`, and the `--verify` / `--revoke` steps of `scan`: the
//! opt-in online half. Nothing here runs unless the user asked.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::args::{ApiOptions, GlobalArgs, OutputArgs, RevokeArgs, ScanOptions, VerifyArgs};
use super::output::{
    ExitStatus, FailOn, finish_with, holds_keys, render, uri_base, use_color, write_to,
};
use crate::findings::{Report, SecretValue};
use crate::model::limited::{MAX_REPORT_BYTES, read_file_limited, read_limited};
use crate::reports::RenderOptions;
use crate::sources::recover::recover_keys;
use crate::tusky::online::{ApiRun, ApiSettings, Consent, PlannedRevocation};
use crate::tusky::revoke::ADMIN_KEY_ENV;
use crate::tusky::verify::VerifyOptions;
use crate::tusky::{ApiBase, ClientSettings};

pub fn run_verify(global: &GlobalArgs, args: &VerifyArgs) -> Result<ExitStatus> {
    let mut api = api_run(&args.api)?;
    let (mut report, _) = read_report(args.report.as_deref())?;
    recover(global, &mut report);
    api.verify(&mut report, &mut notifier(global.quiet));
    report.show_secret_values(args.output.show_secrets);
    finish_with(&report, &args.output, global.quiet, global.verbose)
}

pub fn run_revoke(global: &GlobalArgs, args: &RevokeArgs) -> Result<ExitStatus> {
    let mut api = api_run(&args.api)?;
    let (mut report, from_stdin) = read_report(args.report.as_deref())?;
    recover(global, &mut report);
    api.verify(&mut report, &mut notifier(global.quiet));
    let consent = consent_from_flags(args.yes, from_stdin);
    let summary = api.revoke(
        &mut report,
        consent,
        &mut confirm,
        &mut notifier(global.quiet),
    )?;
    report.show_secret_values(args.output.show_secrets);
    let options = RenderOptions {
        color: use_color(args.output.color, args.output.output.is_some()),
        quiet: global.quiet,
        verbose: global.verbose,
    };
    let text = args.output.format == super::args::Format::Text;
    let base = uri_base(&report);
    write_to(args.output.output.as_deref(), holds_keys(&report), |out| {
        render(&report, args.output.format, &options, &base, out)?;
        if text {
            summary.write(out)?;
        }
        Ok(())
    })?;
    if !text && !global.quiet {
        let _ = summary.write(&mut io::stderr().lock());
    }
    // Unknown is not "not live": keys that could not be checked, or a run the audit log stopped,
    // are a runtime failure, not a clean result.
    Ok(if summary.incomplete() {
        ExitStatus::Error
    } else if summary.live_remaining() > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

/// `--fail-on live` on a scan without `--verify` would always pass: refuse instead.
pub fn refuse_fail_on_live_without_verify(output: &OutputArgs) -> Result<()> {
    if output.fail_on == FailOn::Live {
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
            Some(api_run(&options.api)?)
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
        api.verify(report, &mut notifier(global.quiet));
        if let Some(yes) = self.revoke {
            let consent = consent_from_flags(yes, false);
            let summary = api.revoke(report, consent, &mut confirm, &mut notifier(global.quiet))?;
            if !global.quiet {
                let _ = summary.write(&mut io::stderr().lock());
            }
            if let Some(err) = summary.audit_error {
                bail!("the audit log could not be written ({err}): revocation stopped");
            }
        }
        Ok(())
    }
}

/// `--yes` gives consent; otherwise a person at a terminal is asked, and anyone else gets a dry
/// run. `stdin_busy`: stdin carries the report, so no one can answer a question on it.
fn consent_from_flags(yes: bool, stdin_busy: bool) -> Consent {
    if yes {
        Consent::Given
    } else if !stdin_busy && io::stdin().is_terminal() && io::stderr().is_terminal() {
        Consent::Ask
    } else {
        Consent::DryRun
    }
}

/// Progress lines of the online step, on stderr unless `--quiet`.
fn notifier(quiet: bool) -> impl FnMut(&str) {
    move |line: &str| {
        if !quiet {
            let _ = writeln!(io::stderr(), "tuskguard: {line}");
        }
    }
}

/// Validates the API flags and builds the run (no request is sent yet).
fn api_run(api: &ApiOptions) -> Result<ApiRun> {
    let base = ApiBase::parse(&api.api_url)?;
    let client = ClientSettings {
        base,
        timeout: api.timeout,
        time_budget: api.time_budget,
        proxy: api.proxy.clone(),
    };
    let admin_key = std::env::var(ADMIN_KEY_ENV)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(SecretValue::new);
    ApiRun::new(ApiSettings {
        client,
        verify: VerifyOptions {
            concurrency: api.concurrency,
            access_map: api.access_map,
        },
        audit_log: api.audit_log.clone(),
        admin_key,
        revoke_in_use: api.revoke_admin_key,
    })
}

/// Shows the plan on stderr and asks on stdin.
fn confirm(plan: &[PlannedRevocation]) -> Result<bool> {
    let mut stderr = io::stderr().lock();
    writeln!(
        stderr,
        "These keys will be revoked (immediate and permanent):"
    )?;
    for planned in plan {
        if let Ok(resolved) = &planned.resolved {
            let candidate = resolved.item.candidate();
            writeln!(
                stderr,
                "  {}  key id {}{}",
                planned.key.redacted(),
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
        let text = read_limited(io::stdin().lock(), MAX_REPORT_BYTES)
            .context("cannot read the report from stdin")?;
        ("stdin".to_owned(), text)
    } else {
        let text = read_file_limited(path, MAX_REPORT_BYTES)
            .with_context(|| format!("cannot read report {}", path.display()))?;
        (path.display().to_string(), text)
    };
    Ok((Report::from_json(&text, &name)?, from_stdin))
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
