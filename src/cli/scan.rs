//! `tuskguard scan`: the working tree (or, with --staged, the index).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};

use super::args::{Format, GlobalArgs, OutputArgs, ScanArgs, ScanOptions};
use super::output::{ExitStatus, finish_with};
use super::verify::OnlineStep;
use crate::config::ScanSettings;
use crate::findings::Report;
use crate::pipeline::{self, Prepared};
use crate::sources::progress::Progress;

pub fn run(global: &GlobalArgs, args: &ScanArgs) -> Result<ExitStatus> {
    if args.staged {
        return super::staged::run(global, args);
    }
    let roots: Vec<PathBuf> = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    for root in &roots {
        // metadata() follows links: a symlink loop says so instead of "no such file".
        let metadata = match std::fs::metadata(root) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                bail!("{}: no such file or directory", root.display())
            }
            Err(err) => bail!("{}: cannot scan ({err})", root.display()),
        };
        // A path the user named that cannot be read is an error, not a skip: nothing of what
        // was asked for would be scanned. (Unreadable files inside a directory are counted.)
        if let Err(err) = try_read(root, &metadata) {
            bail!(
                "{}: cannot read ({err}); nothing in it was scanned. Make it readable, or leave \
                 it out",
                root.display()
            );
        }
    }
    let online = OnlineStep::new(&args.scan, &args.output, args.revoke.then_some(args.yes))?;
    let progress = Progress::new(
        args.output.format == Format::Text && args.output.output.is_none() && !global.quiet,
        "scanning",
    );
    let mut report = scan_paths(
        global,
        &roots,
        &args.scan,
        args.output.show_secrets,
        &progress,
    )?;
    online.run(global, &mut report)?;
    emit(global, &report, &args.output)
}

/// Opens a named file and reads its first byte, or lists a named directory: what the scan will
/// do first. Other kinds (FIFOs, devices) are left alone: reading would consume or block, and the
/// walk skips them with a count.
fn try_read(path: &Path, metadata: &std::fs::Metadata) -> std::io::Result<()> {
    use std::io::Read;
    if metadata.is_dir() {
        std::fs::read_dir(path)?.next().transpose()?;
    } else if metadata.is_file() {
        std::fs::File::open(path)?
            .take(1)
            .read_to_end(&mut Vec::with_capacity(1))?;
    }
    Ok(())
}

/// Turns the scan flags into settings and loads config, rules, ignore file and baseline,
/// relative to `root`.
pub fn prepare(global: &GlobalArgs, options: &ScanOptions, root: &Path) -> Result<Prepared> {
    let settings = ScanSettings {
        max_file_size: options.max_file_size,
        threads: worker_threads(options.threads),
        respect_ignore: !options.no_ignore,
        baseline: options.baseline.clone(),
        explain: global.verbose,
        repo_config: !options.no_repo_config,
        memory_budget_mib: crate::sources::budget::DEFAULT_MEMORY_BUDGET_MIB,
    };
    let prepared = pipeline::prepare(settings, options.config.as_deref(), root)?;
    if let Some(warning) = &prepared.config_warning {
        // Said even with -q: someone tried to redirect keys.
        let _ = writeln!(std::io::stderr(), "tuskguard: warning: {warning}");
    }
    for weakened in &prepared.rules_weakened {
        // Said even with -q: a repository's config must not silence the key rules unseen.
        let _ = writeln!(
            std::io::stderr(),
            "tuskguard: warning: {}",
            crate::reports::text::escape_control(weakened)
        );
    }
    Ok(prepared)
}

/// More workers than this many per core only cost threads and memory (`-j 100000` once ran for
/// minutes on nine files).
const MAX_THREADS_PER_CORE: usize = 4;

/// `--threads`, or all cores; capped at [`MAX_THREADS_PER_CORE`] per core, and said when capped.
fn worker_threads(requested: Option<usize>) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let Some(requested) = requested else {
        return cores;
    };
    let cap = cores * MAX_THREADS_PER_CORE;
    if requested > cap {
        let _ = writeln!(
            std::io::stderr(),
            "tuskguard: warning: --threads {requested} is more than {MAX_THREADS_PER_CORE} per \
             core on this machine ({cores} cores); using {cap}"
        );
        return cap;
    }
    requested
}

/// Scans directories or files and returns the finished report.
pub fn scan_paths(
    global: &GlobalArgs,
    roots: &[PathBuf],
    options: &ScanOptions,
    show_secrets: bool,
    progress: &Progress,
) -> Result<Report> {
    let started = Instant::now();
    let prepared = prepare(global, options, &roots[0])?;
    pipeline::scan_paths(roots, &prepared, started, show_secrets, progress)
}

/// Writes the report and, for people, the warnings about skipped input on stderr.
pub fn emit(global: &GlobalArgs, report: &Report, output: &OutputArgs) -> Result<ExitStatus> {
    explain(global, report);
    if !global.quiet && !report.summary.warnings.is_empty() && !global.verbose {
        let mut stderr = std::io::stderr().lock();
        for warning in &report.summary.warnings {
            let _ = writeln!(
                stderr,
                "tuskguard: warning: {}",
                crate::reports::text::escape_control(warning)
            );
        }
    }
    finish_with(report, output, global.quiet, global.verbose)
}

/// `--verbose`: what the run loaded and what it left out, on stderr before the report.
pub fn explain(global: &GlobalArgs, report: &Report) {
    if !global.verbose || global.quiet {
        return;
    }
    let mut stderr = std::io::stderr().lock();
    for note in &report.summary.notes {
        let _ = writeln!(
            stderr,
            "tuskguard: note: {}",
            crate::reports::text::escape_control(note)
        );
    }
}
