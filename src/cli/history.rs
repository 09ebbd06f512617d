//! `tuskguard history`: every blob reachable from every ref, once, with the commit that
//! introduced each key.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use git2::Repository;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::args::{Format, GlobalArgs, HistoryArgs};
use super::output::ExitStatus;
use super::scan::{emit, prepare};
use super::verify::OnlineStep;
use crate::pipeline::audit_history;
use crate::sources::budget::MemoryBudget;
use crate::sources::history::HistoryScope;
use crate::sources::progress::{commit_meter, stderr_shows_progress};

pub fn run(global: &GlobalArgs, args: &HistoryArgs) -> Result<ExitStatus> {
    let started = Instant::now();
    let target = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    if !target.exists() {
        bail!("{}: no such directory", target.display());
    }
    let repo = Repository::discover(&target).with_context(|| {
        format!(
            "{}: not a git repository (history audits a repository: pass its path)",
            target.display()
        )
    })?;
    // Bare repositories have no working tree: the config then comes only from --config.
    let root = repo.workdir().unwrap_or(repo.path()).to_path_buf();
    if target.is_file() && !global.quiet {
        eprintln!(
            "tuskguard: note: {} is a file; auditing the whole history of the repository that \
             holds it ({})",
            target.display(),
            root.display()
        );
    }
    let online = OnlineStep::new(&args.scan, &args.output, None)?;
    let mut prepared = prepare(global, &args.scan, &root)?;
    prepared.settings.memory_budget_mib = args.memory_budget;
    let commits = if args.pre_push {
        let set = super::pre_push::commit_set(&repo, args.remote.as_deref())?;
        if set.include.is_empty() {
            if !global.quiet {
                eprintln!("tuskguard: the push sends no new commits: nothing to scan");
            }
            return Ok(ExitStatus::Clean);
        }
        Some(set)
    } else {
        None
    };
    let scope = HistoryScope {
        since: args.since.clone(),
        branch: args.branch.clone(),
        max_count: args.max_count,
        include_paths: args.include_path.clone(),
        commits,
    };
    // Locations are relative to the repository root, so the report's root (SARIF's %SRCROOT%)
    // is the repository root, also when the audit was started from a subdirectory.
    let same_place = |a: &std::path::Path, b: &std::path::Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
    let report_root = if same_place(&target, &root) {
        target.clone()
    } else {
        root.clone()
    };
    // Process-wide libgit2 switches belong to the process, so they are set here at the edge,
    // never by library code. Reading is the audit's whole cost; re-hashing every object
    // libgit2 inflates would add a fifth (a corrupt object still fails to inflate and is
    // counted). Each tree and blob is read once, so the object cache only costs memory.
    git2::opts::strict_hash_verification(false);
    git2::opts::enable_caching(false);
    limit_libgit2_windows(MemoryBudget::from_mib(args.memory_budget));
    let progress = progress_bar(global, args.output.format);
    let mut report = audit_history(
        &repo,
        &report_root,
        &scope,
        &prepared,
        started,
        args.output.show_secrets,
        &progress,
    )?;
    online.run(global, &mut report)?;
    let status = emit(global, &report, &args.output)?;
    match &report.summary.incomplete {
        Some(incomplete) if !args.allow_incomplete => {
            // Said even with --quiet: a partial audit must never pass for a clean one.
            eprintln!(
                "tuskguard: error: the audit is incomplete: {} git object(s) could not be read \
                 (run `git fsck`); pass --allow-incomplete to accept a partial audit",
                incomplete.unread_objects
            );
            Ok(ExitStatus::Error)
        }
        _ => {
            if args.pre_push
                && status == ExitStatus::Findings
                && args.output.format == Format::Text
                && !global.quiet
            {
                eprintln!("{}", super::pre_push::blocked_push_help(&report));
            }
            Ok(status)
        }
    }
}

/// libgit2 maps packs in windows of 1 GiB, up to 8 GiB at once, and every page it touches
/// counts in our RSS: its share of the budget bounds that (it unmaps the least recently used
/// window past the limit). Process-wide, hence here at the edge.
fn limit_libgit2_windows(budget: MemoryBudget) {
    let limit = usize::try_from(budget.libgit2_mapped()).unwrap_or(usize::MAX);
    // Windows smaller than a few MiB mean a map call per few objects.
    let window = (limit / 4).clamp(4 << 20, 1 << 30);
    // Safety: these only set libgit2 globals, before any repository reads objects in this
    // process's audit; libgit2 documents them as callable at any time.
    unsafe {
        let _ = git2::opts::set_mwindow_size(window);
        let _ = git2::opts::set_mwindow_mapped_limit(limit.max(window));
    }
}

/// A progress bar for people watching a terminal; hidden in CI, pipes and machine formats.
fn progress_bar(global: &GlobalArgs, format: Format) -> ProgressBar {
    let wanted = format == Format::Text && !global.quiet && stderr_shows_progress();
    if !wanted {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} auditing history {meter} {msg}") {
        bar.set_style(style.with_key(
            "meter",
            |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = out.write_str(&commit_meter(state.pos(), state.len(), 30));
            },
        ));
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
