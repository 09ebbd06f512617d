//! The working-tree source: ignore's parallel walker lists the files to scan and sends each one
//! into the run's feed (`workers::Feed`); the workers read and scan them (`workers::jobs`).
//! What the walk decides itself is what only a walk can: which directories it enters (ignore
//! files, `.git`, allow-listed directories), and what is not a regular file.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::{WalkBuilder, WalkState};

use super::ScanStats;
use super::anchor::Anchors;
use crate::config::ScanSettings;
use crate::findings::SkipReason;
pub use crate::model::text::display_path;
use crate::scanner::Scanner;
use crate::workers::Feed;

/// The walk every tree scan makes: hidden files included, `.git` never, symlinks not followed,
/// and git's ignore files honoured unless `respect_ignore` is false (`--no-ignore`). The
/// directories holding a `.git` (nested repositories, submodules) go to `repos` when given.
fn walk_builder(
    roots: &[PathBuf],
    respect_ignore: bool,
    repos: Option<Arc<Mutex<Vec<PathBuf>>>>,
) -> WalkBuilder {
    let mut builder = WalkBuilder::new(&roots[0]);
    for root in &roots[1..] {
        builder.add(root);
    }
    builder
        .hidden(false)
        .ignore(false)
        .parents(respect_ignore)
        .git_ignore(respect_ignore)
        .git_global(respect_ignore)
        .git_exclude(respect_ignore)
        .follow_links(false)
        .filter_entry(move |entry| {
            if entry.file_name() != ".git" {
                return true;
            }
            if let (Some(repos), Some(parent)) = (&repos, entry.path().parent())
                && let Ok(mut repos) = repos.lock()
            {
                repos.push(parent.to_path_buf());
            }
            false
        });
    builder
}

/// How many non-directory entries the scan walk meets (for `--verbose`: the difference with and
/// without ignore files is what they hid).
pub fn count_files(roots: &[PathBuf], respect_ignore: bool) -> u64 {
    walk_builder(roots, respect_ignore, None)
        .build()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_some_and(|t| !t.is_dir()))
        .count() as u64
}

/// Which walked files the layer above wants listed (the env-file lint's test on a file name):
/// the walk keeps them, and the nested repositories it met, without knowing why.
pub type KeepFile = fn(&std::ffi::OsStr) -> bool;

/// A file the walk found, for a worker to read and scan.
pub struct FileJob {
    pub path: PathBuf,
}

/// What the walk listed besides the files to scan: the paths the caller asked it to keep.
pub struct Listed {
    /// The files `keep` accepted, sorted.
    pub kept_files: Vec<PathBuf>,
    /// Directories holding a `.git` (nested repositories, submodules), sorted; listed only when
    /// files are kept.
    pub nested_repos: Vec<PathBuf>,
}

/// Walks `roots` in parallel and sends every file to scan into `feed`; with `keep`, also lists
/// the files it accepts and the nested repositories the walk met.
pub fn walk_tree(
    roots: &[PathBuf],
    anchors: &Anchors,
    settings: &ScanSettings,
    scanner: &Scanner,
    stats: &ScanStats,
    keep: Option<KeepFile>,
    feed: &Feed<'_, FileJob>,
) -> Listed {
    let relative_root = (roots.len() == 1 && roots[0].is_dir()).then(|| roots[0].clone());
    let nested_repos = Arc::new(Mutex::new(Vec::new()));
    let walker = walk_builder(
        roots,
        settings.respect_ignore,
        keep.map(|_| Arc::clone(&nested_repos)),
    )
    .threads(settings.threads)
    .build_parallel();
    let kept_files = Mutex::new(Vec::new());
    let walk = TreeWalk {
        anchors,
        relative_root: relative_root.as_deref(),
        scanner,
        stats,
        keep: keep.map(|keep| (keep, &kept_files)),
    };
    walker.run(|| {
        let walk = &walk;
        let mut sender = feed.sender();
        Box::new(move |entry| walk.visit(entry, &mut |job| sender.send(job)))
    });
    let take = |list: Mutex<Vec<PathBuf>>| list.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut kept_files = take(kept_files);
    let mut nested_repos = take(Arc::try_unwrap(nested_repos).unwrap_or_default());
    // Walker threads finish in any order; what is made of these lists must not.
    kept_files.sort();
    nested_repos.sort();
    Listed {
        kept_files,
        nested_repos,
    }
}

/// What every walker thread needs to judge an entry.
struct TreeWalk<'a> {
    /// `allowlist.paths` globs match each file relative to its root's anchor (the repository
    /// root), whichever root it was found under.
    anchors: &'a Anchors,
    relative_root: Option<&'a Path>,
    scanner: &'a Scanner,
    stats: &'a ScanStats,
    /// Which files to list, and where they go (see `KeepFile`).
    keep: Option<(KeepFile, &'a Mutex<Vec<PathBuf>>)>,
}

impl TreeWalk<'_> {
    /// One walked entry: an error is counted, an allow-listed directory pruned, a file sent to
    /// the workers (`send` says whether the run still takes files).
    fn visit(
        &self,
        entry: Result<ignore::DirEntry, ignore::Error>,
        send: &mut dyn FnMut(FileJob) -> bool,
    ) -> WalkState {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                self.stats.skip(
                    walk_error_reason(&err),
                    Some(format!("{err}; the scan went on without it")),
                );
                return WalkState::Continue;
            }
        };
        let Some(file_type) = entry.file_type() else {
            return WalkState::Continue;
        };
        let path = entry.path();
        // The path relative to the repository root, built once and only if asked for.
        let stable_cell = OnceCell::new();
        let stable = || {
            stable_cell
                .get_or_init(|| self.anchors.stable_path(path))
                .as_deref()
        };
        let allowed = |is_dir: bool| {
            self.scanner.has_path_allowlist()
                && stable().is_some_and(|relative| {
                    !relative.as_os_str().is_empty() && self.scanner.path_allowed(relative, is_dir)
                })
        };
        if !file_type.is_dir()
            && let Some((keep, kept_files)) = self.keep
            && keep(entry.file_name())
            && let Ok(mut kept_files) = kept_files.lock()
        {
            kept_files.push(path.to_path_buf());
        }
        if file_type.is_dir() {
            if allowed(true) {
                self.stats.skip(SkipReason::ConfigAllowed, None);
                return WalkState::Skip;
            }
            return WalkState::Continue;
        }
        if allowed(false) {
            self.stats.skip(SkipReason::ConfigAllowed, None);
            return WalkState::Continue;
        }
        if !file_type.is_file() {
            let reason = if file_type.is_symlink() {
                "symbolic link, not followed"
            } else {
                "not a regular file"
            };
            self.stats.skip(
                SkipReason::NotAFile,
                Some(format!(
                    "{}: skipped ({reason})",
                    display_path(path, self.relative_root)
                )),
            );
            return WalkState::Continue;
        }
        if send(FileJob {
            path: entry.into_path(),
        }) {
            WalkState::Continue
        } else {
            WalkState::Quit
        }
    }
}

/// Why the walker could not give an entry.
fn walk_error_reason(err: &ignore::Error) -> SkipReason {
    if err.to_string().contains("loop") && !is_permission_denied(err) {
        SkipReason::SymlinkLoop
    } else {
        SkipReason::Unreadable
    }
}

fn is_permission_denied(err: &ignore::Error) -> bool {
    err.is_io()
        && err
            .io_error()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_paths_are_relative_to_a_single_root() {
        let root = Path::new("/work/repo");
        assert_eq!(
            display_path(Path::new("/work/repo/a/b.env"), Some(root)),
            "a/b.env"
        );
        assert_eq!(display_path(Path::new("./a/b.env"), None), "a/b.env");
        assert_eq!(
            display_path(Path::new("/work/repo"), Some(root)),
            "/work/repo"
        );
    }
}
