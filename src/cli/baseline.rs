//! `tuskguard baseline`: record today's findings so that CI reports only new ones.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::args::{BaselineArgs, GlobalArgs};
use super::output::ExitStatus;
use super::scan::scan_paths;
use crate::findings::suppression::Baseline;
use crate::sources::progress::Progress;

pub const DEFAULT_BASELINE_FILE: &str = ".tuskguard-baseline.json";

pub fn run(global: &GlobalArgs, args: &BaselineArgs) -> Result<ExitStatus> {
    let root = args.path.clone().unwrap_or_else(|| PathBuf::from("."));
    if !root.exists() {
        bail!(
            "{}: no such directory (baseline scans a directory: pass one that exists)",
            root.display()
        );
    }
    if !root.is_dir() && args.output.is_none() {
        bail!(
            "{} is a file: baseline scans a directory and writes {DEFAULT_BASELINE_FILE} in it. \
             Pass a directory, or name the baseline file with -o FILE",
            root.display()
        );
    }
    let mut options = args.scan.clone();
    // A baseline records everything that is there now, so an older baseline must not hide it.
    options.baseline = None;
    let progress = Progress::new(!global.quiet, "scanning");
    let report = scan_paths(
        global,
        std::slice::from_ref(&root),
        &options,
        false,
        &progress,
    )?;
    super::scan::explain(global, &report);
    let baseline = Baseline::from_findings(&report.findings);
    let target = args
        .output
        .clone()
        .unwrap_or_else(|| root.join(DEFAULT_BASELINE_FILE));
    let json = serde_json::to_string_pretty(&baseline)?;
    std::fs::write(&target, json + "\n")
        .with_context(|| format!("cannot write baseline {}", target.display()))?;
    if !global.quiet {
        eprintln!(
            "tuskguard: wrote {} fingerprints to {} (no keys are stored in it); use it with --baseline {}",
            baseline.entries.len(),
            target.display(),
            target.display()
        );
    }
    Ok(ExitStatus::Clean)
}
