//! Exit codes, report destinations and the broken-pipe rule shared by every command.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};

use super::args::{ColorChoice, OutputArgs};
use crate::findings::{Report, Severity, VerificationStatus};
use crate::reports::{self, Format, RenderOptions, UriBase};

/// The process exit codes of SPEC §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Clean,
    Findings,
    Error,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Clean => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Error => 2,
        }
    }
}

pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn create_output(path: &Path, private: bool) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let file = options.open(path)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        return Ok(file);
    }
    let _ = private;
    options.open(path)
}

/// Whether any finding of `report` carries its full key (`--show-secrets`).
pub fn holds_keys(report: &Report) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.secret.as_ref().is_some_and(|s| s.value.is_some()))
}

/// Whether text output to stdout should be coloured: `--color`, then `NO_COLOR`, then
/// `TERM=dumb` (a terminal that cannot show colour, like ripgrep), then a TTY check.
pub fn use_color(choice: ColorChoice, to_file: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            !to_file
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && !crate::sources::progress::dumb_terminal()
                && io::stdout().is_terminal()
        }
    }
}

/// When a run exits 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// A finding at or above this severity.
    Severity(Severity),
    /// A key the Tusky API confirmed live (needs verification).
    Live,
}

impl FailOn {
    pub fn fails(self, report: &Report) -> bool {
        match self {
            FailOn::Severity(threshold) => report.findings.iter().any(|f| f.severity >= threshold),
            FailOn::Live => report.findings.iter().any(|f| {
                f.verification
                    .as_ref()
                    .is_some_and(|v| v.status == VerificationStatus::Live)
            }),
        }
    }
}

/// Writes the report where the user asked and decides the exit status.
pub fn finish_with(
    report: &Report,
    output: &OutputArgs,
    quiet: bool,
    verbose: bool,
) -> Result<ExitStatus> {
    let fail_on = output.fail_on;
    let options = RenderOptions {
        color: use_color(output.color, output.output.is_some()),
        quiet,
        verbose,
    };
    // First, so that a reader closing stdout early cannot cost the CI its SARIF file.
    let base = uri_base(report);
    if let Some(sarif_path) = &output.sarif_output {
        write_to(Some(sarif_path), false, |out| {
            render(report, Format::Sarif, &options, &base, out)
        })?;
    }
    let written = write_to(output.output.as_deref(), holds_keys(report), |out| {
        render(report, output.format, &options, &base, out)
    });
    // A reader that stopped early (`| head`) is not an error; the findings still decide the code.
    match written {
        Err(err) if !is_broken_pipe(&err) => return Err(err),
        _ => {}
    }
    Ok(if fail_on.fails(report) {
        ExitStatus::Findings
    } else {
        ExitStatus::Clean
    })
}

/// Where report paths sit in the repository, for SARIF and annotations: the scan root and the
/// current directory, resolved here at the edge so the renderers stay pure.
pub fn uri_base(report: &Report) -> UriBase {
    let scan_root = Path::new(&report.root);
    let scan_root = scan_root
        .is_dir()
        .then(|| std::fs::canonicalize(scan_root).ok())
        .flatten();
    let cwd = std::env::current_dir().and_then(std::fs::canonicalize).ok();
    UriBase::new(report.mode == "history", scan_root, cwd)
}

/// Renders `report`, says the renderer's notes on stderr and appends a github step summary to
/// `$GITHUB_STEP_SUMMARY` when that is set.
pub fn render(
    report: &Report,
    format: Format,
    options: &RenderOptions,
    base: &UriBase,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rendered = reports::write_report(report, format, options, base, out)?;
    for note in &rendered.notes {
        // eprintln! would panic on a closed stderr; a lost warning is the lesser harm.
        let _ = writeln!(io::stderr(), "tuskguard: warning: {note}");
    }
    if let Some(summary) = rendered.step_summary {
        append_step_summary(&summary);
    }
    Ok(())
}

/// Appends to `$GITHUB_STEP_SUMMARY`; a failure is a warning (the annotations are out, and a
/// missing summary must not turn findings into an error).
fn append_step_summary(summary: &[u8]) {
    let Some(summary_path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty())
    else {
        return;
    };
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&summary_path)
        .and_then(|mut file| file.write_all(summary));
    if let Err(err) = appended {
        let _ = writeln!(
            io::stderr(),
            "tuskguard: warning: cannot append the step summary to {} ({err})",
            Path::new(&summary_path).display()
        );
    }
}

/// Runs `write` against the output file or a locked, buffered stdout. A report that holds keys
/// (`--show-secrets`) is written to a file only its owner can read, even one that existed.
pub fn write_to(
    path: Option<&Path>,
    holds_keys: bool,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    match path {
        Some(path) => {
            let file = create_output(path, holds_keys)
                .with_context(|| format!("cannot write report to {}", path.display()))?;
            let mut out = BufWriter::new(file);
            write(&mut out)
                .with_context(|| format!("cannot write report to {}", path.display()))?;
            out.flush()
                .with_context(|| format!("cannot write report to {}", path.display()))?;
        }
        None => {
            let stdout = io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            write(&mut out).context("cannot write to stdout")?;
            out.flush().context("cannot write to stdout")?;
        }
    }
    Ok(())
}
