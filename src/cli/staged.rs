//! `tuskguard scan --staged`: the pre-commit mode.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result};
use git2::Repository;

use super::args::{Format, GlobalArgs, ScanArgs};
use super::output::ExitStatus;
use super::scan::{emit, prepare};
use super::verify::OnlineStep;
use crate::pipeline::scan_index;
use crate::reports::blocked::blocked_commit_help;

pub fn run(global: &GlobalArgs, args: &ScanArgs) -> Result<ExitStatus> {
    let started = Instant::now();
    // open_from_env honours GIT_DIR and GIT_WORK_TREE, which git may set for hooks.
    let repo = Repository::open_from_env().context(
        "not inside a git repository: --staged scans the git index (run it in a repository, \
         or use `tuskguard scan PATH` for plain directories)",
    )?;
    let root = repo
        .workdir()
        .map(|w| w.to_path_buf())
        .context("--staged needs a repository with a working tree (this one is bare)")?;
    let online = OnlineStep::new(&args.scan, &args.output, args.revoke.then_some(args.yes))?;
    let prepared = prepare(global, &args.scan, &root)?;
    let mut report = scan_index(
        &repo,
        &root,
        &args.paths,
        &prepared,
        started,
        args.output.show_secrets,
    )?;
    online.run(global, &mut report)?;
    let status = emit(global, &report, &args.output)?;
    if status == ExitStatus::Findings && args.output.format == Format::Text && !global.quiet {
        let _ = writeln!(std::io::stderr(), "{}", blocked_commit_help(&report));
    }
    Ok(status)
}
