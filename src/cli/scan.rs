//! `tuskguard scan`: the working tree (or, with --staged, the index).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};

use super::args::{Format, GlobalArgs, OutputArgs, ScanArgs, ScanOptions};
use super::output::{ExitStatus, finish_with};
use super::verify::OnlineStep;
use crate::config::{ConfigFile, ScanSettings};
use crate::findings::Report;
use crate::findings::build::build_report;
use crate::findings::suppression::{Baseline, IGNORE_FILE_NAME, Suppressions, load_ignore_file};
use crate::lints::env_ignore::{self, EnvLintContext};
use crate::scanner::Scanner;
use crate::sources::ScanStats;
use crate::sources::progress::Progress;
use crate::sources::tree::scan_tree;

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
        if !root.exists() {
            bail!("{}: no such file or directory", root.display());
        }
    }
    let online = OnlineStep::new(&args.scan, &args.output, args.revoke.then_some(args.yes))?;
    let progress = Progress::new(
        args.output.format == Format::Text && args.output.output.is_none() && !global.quiet,
        "scanning",
    );
    let mut report = scan_paths(&roots, &args.scan, args.output.show_secrets, &progress)?;
    online.run(global, &mut report)?;
    emit(global, &report, &args.output)
}

/// Everything a scanning command loads before it reads a file.
pub struct Prepared {
    pub settings: ScanSettings,
    pub scanner: Scanner,
    pub suppressions: Suppressions,
}

/// Validates options and loads config, rules, ignore file and baseline, relative to `root`.
pub fn prepare(options: &ScanOptions, root: &Path) -> Result<Prepared> {
    let settings = ScanSettings {
        max_file_size: options.max_file_size,
        threads: options
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        respect_ignore: !options.no_ignore,
        baseline: options.baseline.clone(),
    };
    let config_root = if root.is_dir() {
        root
    } else {
        root.parent().unwrap_or(Path::new("."))
    };
    let (config, config_path) = ConfigFile::load(options.config.as_deref(), config_root)?;
    if let Some(warning) = config_path
        .as_deref()
        .and_then(|path| config.ignored_api_settings(path))
    {
        // Said even with -q: someone tried to redirect keys.
        let _ = writeln!(std::io::stderr(), "tuskguard: warning: {warning}");
    }
    let scanner = Scanner::new(&config, config_root)?;
    let mut suppressions = Suppressions::default();
    let ignore_path = config_root.join(IGNORE_FILE_NAME);
    if ignore_path.is_file() {
        suppressions.ignored = load_ignore_file(&ignore_path)?;
    }
    if let Some(baseline) = &settings.baseline {
        suppressions.baseline = Baseline::load(baseline)?;
    }
    Ok(Prepared {
        settings,
        scanner,
        suppressions,
    })
}

/// Scans directories or files and returns the finished report.
pub fn scan_paths(
    roots: &[PathBuf],
    options: &ScanOptions,
    show_secrets: bool,
    progress: &Progress,
) -> Result<Report> {
    let started = Instant::now();
    let prepared = prepare(options, &roots[0])?;
    let stats = ScanStats::default();
    let env_context = EnvLintContext {
        scanner: &prepared.scanner,
        stats: &stats,
        scan_root: &roots[0],
        relative_root: (roots.len() == 1 && roots[0].is_dir()).then_some(roots[0].as_path()),
    };
    // The env-file lint enumerates env files itself (the walk skips ignored files, and this lint
    // must see those to tell ignored from committed); it runs beside the walk, not after it.
    let (mut collector, env_findings) = std::thread::scope(|scope| {
        let env = scope.spawn(|| env_ignore::check_roots(roots, &env_context));
        let collector = scan_tree(
            roots,
            &prepared.settings,
            &prepared.scanner,
            &stats,
            progress,
        );
        let env_findings = env.join().unwrap_or_else(|_| {
            stats.warn(
                "the env-file lint stopped on an internal error; env files were not checked".into(),
            );
            Vec::new()
        });
        (collector, env_findings)
    });
    collector.extend(env_findings);
    Ok(build_report(
        "scan",
        &roots[0],
        collector,
        &stats,
        &prepared.suppressions,
        started,
        show_secrets,
    ))
}

/// Writes the report and, for people, the warnings about skipped input on stderr.
pub fn emit(global: &GlobalArgs, report: &Report, output: &OutputArgs) -> Result<ExitStatus> {
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
