//! The working-tree source: ignore's parallel walker feeds per-thread workers that read and scan
//! each file; occurrences go through a bounded channel to one collector.

use std::cell::OnceCell;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use ignore::{WalkBuilder, WalkState};

use super::ScanStats;
use super::admit::Admission;
use super::anchor::Anchors;
use super::progress::Progress;
use crate::config::ScanSettings;
use crate::findings::collect::Collector;
use crate::findings::{Occurrence, SkipReason};
pub use crate::model::text::display_path;
use crate::model::text::{raw_path, shown_path, slash_path};
use crate::scanner::Scanner;

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

/// What a tree scan found: occurrences, and the paths the caller asked the walk to keep.
pub struct TreeScan {
    pub collector: Collector,
    /// The files `keep` accepted, sorted.
    pub kept_files: Vec<PathBuf>,
    /// Directories holding a `.git` (nested repositories, submodules), sorted; listed only when
    /// files are kept.
    pub nested_repos: Vec<PathBuf>,
}

/// Walks `roots` in parallel and collects every occurrence; with `keep`, also lists the files it
/// accepts and the nested repositories the walk met.
pub fn scan_tree(
    roots: &[PathBuf],
    anchors: &Anchors,
    settings: &ScanSettings,
    scanner: &Scanner,
    stats: &ScanStats,
    progress: &Progress,
    keep: Option<KeepFile>,
) -> TreeScan {
    let started = Instant::now();
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
        settings,
        scanner,
        stats,
        keep: keep.map(|keep| (keep, &kept_files)),
    };
    let (sender, receiver) = bounded::<Vec<Occurrence>>(256);
    let mut collector = Collector::new();
    std::thread::scope(|scope| {
        let walk = &walk;
        scope.spawn(move || {
            walker.run(|| {
                let sender = sender.clone();
                let mut buffer = Vec::with_capacity(64 * 1024);
                Box::new(move |entry| {
                    walk.visit(entry, &mut buffer, &mut |found| sender.send(found).is_ok())
                })
            });
        });
        let tick = crossbeam_channel::tick(Duration::from_millis(125));
        loop {
            crossbeam_channel::select! {
                recv(receiver) -> message => match message {
                    Ok(occurrences) => collector.extend(occurrences),
                    Err(_) => break,
                },
                recv(tick) -> _ => progress.update(stats, started.elapsed()),
            }
        }
    });
    progress.finish();
    let take = |list: Mutex<Vec<PathBuf>>| list.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut kept_files = take(kept_files);
    let mut nested_repos = take(Arc::try_unwrap(nested_repos).unwrap_or_default());
    // Walker threads finish in any order; what is made of these lists must not.
    kept_files.sort();
    nested_repos.sort();
    TreeScan {
        collector,
        kept_files,
        nested_repos,
    }
}

/// What every walker thread needs to judge and scan an entry.
struct TreeWalk<'a> {
    /// `allowlist.paths` globs match each file relative to its root's anchor (the repository
    /// root), whichever root it was found under.
    anchors: &'a Anchors,
    relative_root: Option<&'a Path>,
    settings: &'a ScanSettings,
    scanner: &'a Scanner,
    stats: &'a ScanStats,
    /// Which files to list, and where they go (see `KeepFile`).
    keep: Option<(KeepFile, &'a Mutex<Vec<PathBuf>>)>,
}

impl TreeWalk<'_> {
    /// One walked entry: an error is counted, an allow-listed directory pruned, a file scanned
    /// (its occurrences go to `send`, which says whether the collector still listens).
    fn visit(
        &self,
        entry: Result<ignore::DirEntry, ignore::Error>,
        buffer: &mut Vec<u8>,
        send: &mut dyn FnMut(Vec<Occurrence>) -> bool,
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
        let Some(occurrences) = scan_file(
            path,
            self.relative_root,
            &stable,
            Admission::new(self.settings.max_file_size, self.stats),
            self.scanner,
            self.stats,
            buffer,
        ) else {
            return WalkState::Continue;
        };
        if send(occurrences) {
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

/// Bytes read before a file's size is asked for (see `scan_file`).
const FIRST_READ: u64 = 64 * 1024;

/// Reads and scans one file, counting it as scanned or skipped (`admission` decides, in its
/// order). Returns occurrences, if any. `stable` gives the path relative to the repository root,
/// which lint fingerprints hash.
pub fn scan_file<'a>(
    path: &Path,
    relative_root: Option<&Path>,
    stable: &dyn Fn() -> Option<&'a Path>,
    admission: Admission,
    scanner: &Scanner,
    stats: &ScanStats,
    buffer: &mut Vec<u8>,
) -> Option<Vec<Occurrence>> {
    // Built only for a message or a finding: most files need no name at all.
    let shown = || display_path(path, relative_root);
    let unreadable = |err: std::io::Error| {
        stats.skip(
            SkipReason::Unreadable,
            Some(format!(
                "{}: cannot read ({err}); skipped, the scan went on",
                shown()
            )),
        );
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) => {
            unreadable(err);
            return None;
        }
    };
    // Most files fit in the first read, and a file that ends inside it is within any limit
    // that large, so only a file that fills it costs a stat: the limit is still checked before
    // more than FIRST_READ bytes are read (a stat per file was 3% of a tree scan's CPU).
    let max_file_size = admission.max_file_size();
    let first_read = FIRST_READ.min(max_file_size.saturating_add(1));
    buffer.clear();
    if let Err(err) = (&mut file).take(first_read).read_to_end(buffer) {
        unreadable(err);
        return None;
    }
    if buffer.len() as u64 == first_read {
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if !admission.check_size(size, shown) {
            return None;
        }
        // `take` bounds the read even if the file grows while we read it.
        let rest = max_file_size.saturating_add(1) - first_read;
        if let Err(err) = (&mut file).take(rest).read_to_end(buffer) {
            unreadable(err);
            return None;
        }
    }
    if !admission.check_length(buffer.len() as u64, shown) {
        return None;
    }
    admission.check_file(buffer.len() as u64);
    let mut result = scanner.scan_named_blob(buffer, || {
        let shown = shown();
        let stable = stable().map_or_else(|| shown.clone(), slash_path);
        (shown, stable)
    });
    stats.suppressed(result.inline_suppressed, result.config_suppressed);
    if result.occurrences.is_empty() {
        return None;
    }
    if let Some(raw) = raw_path(shown_path(path, relative_root)) {
        for occurrence in &mut result.occurrences {
            occurrence.location.raw_path = Some(raw.clone());
        }
    }
    Some(result.occurrences)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Summary;

    /// Permissions cannot make a file unreadable for root (CI runs as root), but reading a
    /// directory as a file fails the same way on every machine.
    #[test]
    fn unreadable_input_is_counted_and_named() {
        let dir = std::env::temp_dir();
        let scanner = Scanner::builtin().unwrap();
        let stats = ScanStats::default();
        let mut buffer = Vec::new();
        assert!(
            scan_file(
                &dir,
                None,
                &|| None,
                Admission::new(u64::MAX, &stats),
                &scanner,
                &stats,
                &mut buffer
            )
            .is_none()
        );
        let mut summary = Summary::default();
        stats.fill(&mut summary);
        assert_eq!(summary.skipped.get(&SkipReason::Unreadable), Some(&1));
        assert!(
            summary.warnings[0].contains("cannot read"),
            "{:?}",
            summary.warnings
        );
        assert_eq!(summary.files_scanned, 0);
    }

    /// The size is asked for only when the first read fills up, yet every limit holds: a key
    /// past the first read is found, a file over the limit is skipped with its exact size, and
    /// a file of exactly the limit is scanned.
    #[test]
    fn limits_hold_around_the_first_read() {
        let dir = assert_fs::TempDir::new().unwrap();
        let key = crate::test_support::live_key(7);
        let mut big = vec![b'a'; FIRST_READ as usize + 1000];
        big.extend_from_slice(format!("\nk = \"{key}\"\n").as_bytes());
        let big_path = dir.path().join("big.txt");
        std::fs::write(&big_path, &big).unwrap();
        let small_path = dir.path().join("small.txt");
        std::fs::write(&small_path, vec![b'b'; 100]).unwrap();
        let scanner = Scanner::builtin().unwrap();
        let run = |path: &Path, max: u64| {
            let stats = ScanStats::default();
            let mut buffer = Vec::new();
            let admission = Admission::new(max, &stats);
            let found = scan_file(
                path,
                None,
                &|| None,
                admission,
                &scanner,
                &stats,
                &mut buffer,
            );
            let mut summary = Summary::default();
            stats.fill(&mut summary);
            (found.map_or(0, |f| f.len()), summary)
        };
        let (found, summary) = run(&big_path, u64::MAX);
        assert_eq!(found, 1, "{summary:?}");
        assert_eq!(summary.bytes_scanned, big.len() as u64);
        let (found, summary) = run(&big_path, big.len() as u64 - 1);
        assert_eq!(found, 0);
        assert_eq!(summary.skipped.get(&SkipReason::TooLarge), Some(&1));
        assert!(
            summary.warnings[0].contains(&format!("{} bytes is over", big.len())),
            "{:?}",
            summary.warnings
        );
        let (_, summary) = run(&big_path, big.len() as u64);
        assert_eq!(summary.bytes_scanned, big.len() as u64);
        for max in [99, 100] {
            let (_, summary) = run(&small_path, max);
            let skipped = summary.skipped.get(&SkipReason::TooLarge).copied();
            assert_eq!(skipped, (max < 100).then_some(1), "max {max}: {summary:?}");
        }
    }

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
