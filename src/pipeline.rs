//! One run of each mode, from typed settings to the finished report: load what the scan needs
//! (config, rules, suppressions), let the source enumerate and scan, collect once, and build the
//! report. The command line calls these and renders; it holds none of this logic.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use git2::Repository;
use indicatif::ProgressBar;

use crate::config::{ConfigFile, ScanSettings};
use crate::engine::rules::builtin_rule_ids;
use crate::findings::build::build_report;
use crate::findings::collect::Collector;
use crate::findings::suppression::{Baseline, IGNORE_FILE_NAME, Suppressions, load_ignore_file};
use crate::findings::{FindingKind, Report};
use crate::lints::env_check::{self, EnvFiles, EnvLintContext};
use crate::lints::env_files;
use crate::lints::{
    ENV_FILE_COMMITTED, ENV_FILE_NOT_IGNORED, ENV_FILE_STAGED, LINT_RULES, committed_env_file,
    staged_env_file,
};
use crate::model::ScanStats;
use crate::scanner::Scanner;
use crate::sources::admit::Admission;
use crate::sources::anchor::Anchors;
use crate::sources::history::GIT_JOB_BATCH;
use crate::sources::history::{
    AuditRun, HistoryJobs, HistoryScan, HistoryScope, PathWatch, scan_history,
};
use crate::sources::progress::Progress;
use crate::sources::staged::{StagedBlob, staged_blobs};
use crate::sources::tree::{FileJob, KeepFile, Listed, count_files, walk_tree};
use crate::workers::Workers;
use crate::workers::jobs::{scan_file, scan_history_blob, scan_packed_blob, scan_staged_blob};

/// Files per hand-off to a worker: a file costs at least an open and a read, far more than a
/// hand-off, and small batches keep every worker busy on a tree of a few large files.
const FILE_JOB_BATCH: usize = 8;
/// Below this many staged blobs, the scan runs on the calling thread.
const STAGED_PARALLEL_THRESHOLD: usize = 64;

/// Everything a scanning command loads before it reads a file.
pub struct Prepared {
    pub settings: ScanSettings,
    pub scanner: Scanner,
    pub suppressions: Suppressions,
    /// Set when the config file tried to set the API URL (ignored): said even with `-q`.
    pub config_warning: Option<String>,
    /// Built-in rules the config switched off or replaced: said in every format, even with -q.
    pub rules_weakened: Vec<String>,
    /// Config and ignore files below the repository root that this run does not read.
    pub unused_files: Vec<String>,
    /// What was loaded from where, for `--verbose` (empty unless `settings.explain`).
    pub notes: Vec<String>,
}

impl Prepared {
    /// Starts a run's counters with the notes about what this run loaded.
    fn new_stats(&self) -> ScanStats {
        let stats = ScanStats::default();
        for note in &self.notes {
            stats.note(note.clone());
        }
        for weakened in &self.rules_weakened {
            stats.rule_weakened(weakened.clone());
        }
        for unused in &self.unused_files {
            stats.warn(unused.clone());
        }
        stats
    }
}

/// Loads config (`config_file`, else `.tuskguard.toml`), rules, ignore file and baseline. Both
/// files are read at `root`'s anchor: the top of the git work tree holding it, else `root` itself
/// (see `sources::anchor`), so a scan of a subdirectory uses the same suppressions.
pub fn prepare(
    settings: ScanSettings,
    config_file: Option<&Path>,
    root: &Path,
) -> Result<Prepared> {
    let anchors = Anchors::new(std::slice::from_ref(&root.to_path_buf()));
    let config_root = anchors.config_dir();
    let unused_files = anchors
        .unused_files(config_file.is_some() || !settings.repo_config)
        .iter()
        .map(|path| {
            format!(
                "{} is not used: config and ignore files are read at the repository root ({}); \
                 move its settings there, or name it with --config",
                path.display(),
                config_root.display()
            )
        })
        .collect();
    let (config, config_path) = ConfigFile::load(config_file, config_root, settings.repo_config)?;
    let mut builtin_ids = builtin_rule_ids();
    builtin_ids.extend(LINT_RULES.iter().map(|rule| rule.id.to_owned()));
    let rules_weakened = config_path
        .as_deref()
        .map(|path| config.weakened_builtins(path, &builtin_ids))
        .unwrap_or_default();
    let config_warning = config_path
        .as_deref()
        .and_then(|path| config.ignored_api_settings(path));
    let scanner = Scanner::new(&config, config_root)?;
    let mut suppressions = Suppressions::default();
    let ignore_path = config_root.join(IGNORE_FILE_NAME);
    if ignore_path.is_file() {
        suppressions.ignored = load_ignore_file(&ignore_path)?;
    }
    if let Some(baseline) = &settings.baseline {
        suppressions.baseline = Baseline::load(baseline)?;
    }
    let notes = if settings.explain {
        let loaded = Loaded {
            config_root,
            config_path: config_path.as_deref(),
            config: &config,
            ignore_path: &ignore_path,
        };
        explain(&loaded, &settings, &scanner, &suppressions)
    } else {
        Vec::new()
    };
    Ok(Prepared {
        settings,
        scanner,
        suppressions,
        config_warning,
        rules_weakened,
        unused_files,
        notes,
    })
}

/// Where `prepare` looked, for `explain`.
struct Loaded<'a> {
    config_root: &'a Path,
    config_path: Option<&'a Path>,
    config: &'a ConfigFile,
    ignore_path: &'a Path,
}

/// `--verbose`: which config, ignore file and baseline were used, which rules are on or off, and
/// what the ignore files and limits do.
fn explain(
    loaded: &Loaded,
    settings: &ScanSettings,
    scanner: &Scanner,
    suppressions: &Suppressions,
) -> Vec<String> {
    let mut notes = Vec::new();
    notes.push(match loaded.config_path {
        Some(path) => format!("config: {}", path.display()),
        None => format!(
            "config: none (no {} in {}; --config FILE names one)",
            crate::config::DEFAULT_CONFIG_FILE,
            loaded.config_root.display()
        ),
    });
    notes.push(if loaded.ignore_path.is_file() {
        format!(
            "{IGNORE_FILE_NAME}: {} ({} fingerprints)",
            loaded.ignore_path.display(),
            suppressions.ignored.len()
        )
    } else {
        format!(
            "{IGNORE_FILE_NAME}: none at {}",
            loaded.ignore_path.display()
        )
    });
    notes.push(match &settings.baseline {
        Some(path) => format!(
            "baseline: {} ({} fingerprints)",
            path.display(),
            suppressions.baseline.len()
        ),
        None => "baseline: none (--baseline FILE reports only findings not in it)".to_owned(),
    });
    let rules: Vec<&str> = scanner
        .engine()
        .rules()
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    notes.push(format!("secret rules on: {}", rules.join(", ")));
    let (lints_on, lints_off): (Vec<&str>, Vec<&str>) = LINT_RULES
        .iter()
        .map(|lint| lint.id)
        .partition(|id| scanner.lint_enabled(id));
    notes.push(format!("lints on: {}", lints_on.join(", ")));
    if !loaded.config.disabled_rules.is_empty() {
        notes.push(format!(
            "rules off (disabled_rules in the config): {}",
            loaded.config.disabled_rules.join(", ")
        ));
    } else if !lints_off.is_empty() {
        notes.push(format!("lints off: {}", lints_off.join(", ")));
    }
    if !loaded.config.allowlist.paths.is_empty() {
        notes.push(format!(
            "allow-listed paths (config): {}",
            loaded.config.allowlist.paths.join(", ")
        ));
    }
    notes.push(format!(
        "limits: files over {} are skipped (--max-file-size); {} worker threads",
        crate::model::text::human_bytes(settings.max_file_size),
        settings.threads
    ));
    notes
}

/// Scans directories or files (`roots`, the first one naming the report) into a report.
pub fn scan_paths(
    roots: &[PathBuf],
    prepared: &Prepared,
    started: Instant,
    show_secrets: bool,
    progress: &Progress,
) -> Result<Report> {
    let stats = prepared.new_stats();
    let anchors = Anchors::new(roots);
    let env_context = EnvLintContext {
        scanner: &prepared.scanner,
        stats: &stats,
        stable_path: &|path| anchors.stable_path(path),
        relative_root: (roots.len() == 1 && roots[0].is_dir()).then_some(roots[0].as_path()),
    };
    // The env-file lint judges the env files the one walk met; the index adds tracked ones.
    let want_env_files = prepared.scanner.lint_enabled(ENV_FILE_COMMITTED)
        || prepared.scanner.lint_enabled(ENV_FILE_NOT_IGNORED);
    let settings = &prepared.settings;
    let relative_root = (roots.len() == 1 && roots[0].is_dir()).then_some(roots[0].as_path());
    let workers = Workers::new(settings.threads);
    let mut collector = Collector::new();
    let walked = workers.run(
        FILE_JOB_BATCH,
        |feed| {
            walk_tree(
                roots,
                &anchors,
                settings,
                &prepared.scanner,
                &stats,
                want_env_files.then_some(EnvFiles::wanted as KeepFile),
                feed,
            )
        },
        |worker, job: FileJob| {
            let stable = OnceCell::new();
            Ok(scan_file(
                &job.path,
                relative_root,
                &|| {
                    stable
                        .get_or_init(|| anchors.stable_path(&job.path))
                        .as_deref()
                },
                Admission::new(settings.max_file_size, &stats),
                &prepared.scanner,
                &stats,
                &mut worker.buffer,
            ))
        },
        |found| collector.extend(found),
        &|| progress.update(&stats, started.elapsed()),
    );
    progress.finish();
    // A tree scan's jobs fail only by panicking: a bug, and the scan is then incomplete.
    let Listed {
        kept_files,
        nested_repos,
    } = walked?;
    let env_files = EnvFiles {
        files: kept_files,
        nested_repos,
    };
    let env_findings = env_check::check_roots(roots, &env_files, &env_context);
    collector.extend(env_findings);
    if prepared.settings.explain {
        // Only the tree walk reads ignore files (the index and history are what git holds).
        stats.note(if prepared.settings.respect_ignore {
            let hidden = count_files(roots, false).saturating_sub(count_files(roots, true));
            format!(
                "ignore files (.gitignore and parents, .git/info/exclude, git's global excludes) \
                 hid {hidden} files, not scanned; --no-ignore scans them"
            )
        } else {
            "ignore files: not honoured (--no-ignore)".to_owned()
        });
    }
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

/// Scans what the next commit adds (or the staged content of `paths`) into a report.
pub fn scan_index(
    repo: &Repository,
    root: &Path,
    paths: &[PathBuf],
    prepared: &Prepared,
    started: Instant,
    show_secrets: bool,
) -> Result<Report> {
    let stats = prepared.new_stats();
    let settings = &prepared.settings;
    let blobs = staged_blobs(repo, paths, &stats)?;
    let mut collector = Collector::new();
    // The path lint runs here, on what the source listed: the source knows no lint rules.
    if prepared.scanner.lint_enabled(ENV_FILE_STAGED) {
        collector.extend(blobs.iter().filter_map(|blob| staged_env_file(&blob.path)));
    }
    let admission = Admission::new(settings.max_file_size, &stats);
    let scan = |odb: &git2::Odb<'_>, blob: &StagedBlob| {
        scan_staged_blob(odb, blob, admission, &prepared.scanner, &stats)
    };
    if blobs.len() < STAGED_PARALLEL_THRESHOLD || settings.threads == 1 {
        // A hook's usual commit: starting threads and opening the repository again for each
        // would cost more than the scan.
        let odb = repo.odb().context("cannot open the object database")?;
        for blob in &blobs {
            collector.extend(scan(&odb, blob));
        }
    } else {
        let workers = Workers::new(settings.threads);
        let git_dir = repo.path();
        workers.run(
            GIT_JOB_BATCH,
            |feed| {
                let mut sender = feed.sender();
                for blob in &blobs {
                    if !sender.send(blob) {
                        break;
                    }
                }
            },
            |worker, blob| Ok(Some(scan(&worker.repository(git_dir)?.odb()?, blob))),
            |found| collector.extend(found),
            &|| {},
        )?;
    }
    Ok(build_report(
        "scan --staged",
        root,
        collector,
        &stats,
        &prepared.suppressions,
        started,
        show_secrets,
    ))
}

/// Audits the history of `repo` (named `target` in the report) into a report whose findings say
/// where each key came from.
pub fn audit_history(
    repo: &Repository,
    target: &Path,
    scope: &HistoryScope,
    prepared: &Prepared,
    started: Instant,
    show_secrets: bool,
    progress: &ProgressBar,
) -> Result<Report> {
    let stats = prepared.new_stats();
    // The audit dates env files like findings; which paths those are is the lint's to say.
    let watch = prepared
        .scanner
        .lint_enabled(ENV_FILE_COMMITTED)
        .then_some(PathWatch {
            name_may_match: env_files::might_be_env_file,
            watched: env_files::is_env_file_path,
            occurrence: committed_env_file,
        });
    let settings = &prepared.settings;
    let scanner = &prepared.scanner;
    let admission = Admission::new(settings.max_file_size, &stats);
    let read_and_scan =
        |odb: &git2::Odb<'_>, job| scan_history_blob(odb, job, admission, scanner, &stats);
    let scan_packed = |bytes: &[u8]| scan_packed_blob(bytes, scanner);
    let workers = Workers::new(settings.threads);
    let run = AuditRun {
        settings,
        scanner,
        stats: &stats,
        progress,
        workers: &workers,
        jobs: HistoryJobs {
            read_and_scan: &read_and_scan,
            scan_packed: &scan_packed,
        },
    };
    let scan = scan_history(repo, scope, watch, run);
    progress.finish_and_clear();
    let mut scan = scan?;
    drop_past_scope_requests(&mut scan, &stats);
    keep_included_paths(&mut scan, scope, &stats);
    if let Some(cut) = &scan.cut {
        stats.warn(cut.describe());
    }
    let mut collector = Collector::new();
    collector.extend(scan.occurrences);
    let mut report = build_report(
        "history",
        target,
        collector,
        &stats,
        &prepared.suppressions,
        started,
        show_secrets,
    );
    report.summary.commits_scanned = Some(scan.commits_scanned);
    report.summary.history_cut = scan.cut.take();
    for finding in &mut report.findings {
        finding.history = scan.history.get(&finding.fingerprint).cloned();
    }
    Ok(report)
}

/// `--include-path`: locations outside the paths are dropped, and a finding with none left is
/// counted and said (it exists, only outside what was asked for).
fn keep_included_paths(scan: &mut HistoryScan, scope: &HistoryScope, stats: &ScanStats) {
    if scope.include_paths.is_empty() {
        return;
    }
    let mut outside = HashSet::new();
    let mut inside = HashSet::new();
    scan.occurrences.retain(|occurrence| {
        let keep = scope.includes(&occurrence.location.path);
        let fingerprint = occurrence.fingerprint.as_str().to_owned();
        if keep {
            inside.insert(fingerprint);
        } else {
            outside.insert(fingerprint);
        }
        keep
    });
    let elsewhere = outside.difference(&inside).count();
    if elsewhere > 0 {
        stats.warn(format!(
            "{elsewhere} finding(s) lie only outside --include-path {} and are not reported",
            scope.include_paths.join(", ")
        ));
    }
}

/// The audit is about what leaked. A key-creation request that is gone from HEAD leaks nothing and
/// no longer creates keys, so only requests still at HEAD are reported (with the commit that
/// introduced them, which is what a diff-mode CI run needs); the rest are counted and said.
fn drop_past_scope_requests(scan: &mut HistoryScan, stats: &ScanStats) {
    let mut gone = HashSet::new();
    scan.occurrences.retain(|occurrence| {
        let past = occurrence.kind == FindingKind::BroadScope
            && scan
                .history
                .get(occurrence.fingerprint.as_str())
                .is_some_and(|info| !info.present_at_head);
        if past {
            gone.insert(occurrence.fingerprint.as_str().to_owned());
        }
        !past
    });
    if !gone.is_empty() {
        stats.warn(format!(
            "{} over-broad key-creation request(s) exist only in past commits and are not reported \
             (they are no longer in the code; `tuskguard scan` lints what is there now)",
            gone.len()
        ));
    }
}
