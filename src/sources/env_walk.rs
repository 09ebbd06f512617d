//! The env files of a scan, for the `env-not-ignored` lint (`lints::env_verdict` judges them):
//! the index's tracked ones and a walk of the tree for the rest. They are enumerated here, not by
//! the tree walker, because the walker skips ignored files and the lint must see them to clear
//! them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use git2::Repository;

use super::anchor::Anchors;
use crate::lints::env_files::EnvFilePolicy;
use crate::lints::env_verdict::{
    EnvLintScanner, EnvVerdict, plain_verdict, repo_verdict, slash_path, verdict_occurrence,
};
use crate::lints::gitignore_plain::PlainIgnores;
use crate::lints::{ENV_FILE_COMMITTED, ENV_FILE_NOT_IGNORED};
use crate::model::text::display_path;
use crate::model::{Occurrence, ScanStats};

/// Directory levels the env-file check walks at most. Directories below it are counted and said:
/// never a silent limit. (The key scan itself has no such limit.)
const MAX_DEPTH: usize = 256;
/// Env files larger than this are not re-read to see whether they hold a key.
const MAX_ENV_READ: u64 = 1024 * 1024;

/// git mode of a submodule entry in the index.
const GITLINK_MODE: u32 = 0o160000;

/// Everything the env lint needs from the scan.
pub struct EnvLintContext<'a> {
    pub scanner: &'a dyn EnvLintScanner,
    pub stats: &'a ScanStats,
    /// Where each root's paths are measured from: allow-list globs and fingerprints use paths
    /// relative to the repository root.
    pub anchors: &'a Anchors,
    /// Set when reports name paths relative to the (single, directory) scan root.
    pub relative_root: Option<&'a Path>,
}

/// Checks every env file under `roots` (directories, or env files named directly).
pub fn check_roots(roots: &[PathBuf], context: &EnvLintContext) -> Vec<Occurrence> {
    let mut occurrences = Vec::new();
    if !context.scanner.lint_enabled(ENV_FILE_COMMITTED)
        && !context.scanner.lint_enabled(ENV_FILE_NOT_IGNORED)
    {
        return occurrences;
    }
    for root in roots {
        for (shown, verdict) in verdicts_for_root(root, context.stats, context.relative_root) {
            if let Some(occurrence) = to_occurrence(&shown, &verdict, context) {
                occurrences.push(occurrence);
            }
        }
    }
    occurrences
}

/// `(path as reports show it, verdict)` for every env file under `root`.
pub fn verdicts_for_root(
    root: &Path,
    stats: &ScanStats,
    relative_root: Option<&Path>,
) -> Vec<(PathBuf, EnvVerdict)> {
    if root.is_file() || root.is_symlink() {
        return single_file(root, relative_root);
    }
    if !root.is_dir() {
        return Vec::new();
    }
    match Repository::discover(root) {
        Ok(repo) if !repo.is_bare() && repo.workdir().is_some() => {
            let mut out = Vec::new();
            repo_verdicts(&repo, root, stats, relative_root, &mut out);
            out
        }
        _ => {
            let mut out = Vec::new();
            plain_verdicts(root, stats, relative_root, &mut out);
            out
        }
    }
}

fn single_file(path: &Path, relative_root: Option<&Path>) -> Vec<(PathBuf, EnvVerdict)> {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return Vec::new();
    };
    if !EnvFilePolicy::builtin().is_env_file_name(&name) {
        return Vec::new();
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let verdict = match Repository::discover(&parent) {
        Ok(repo) if !repo.is_bare() && repo.workdir().is_some() => {
            let Some(relative) = workdir_relative(&repo, path) else {
                return Vec::new();
            };
            let tracked = repo
                .index()
                .ok()
                .and_then(|index| index.get_path(Path::new(&relative), 0))
                .is_some();
            let workdir = repo.workdir().map(Path::to_path_buf).unwrap_or_default();
            let mut rules = PlainIgnores::for_repository(&repo, &workdir);
            repo_verdict(&mut rules, &relative, tracked)
        }
        _ => {
            let mut ignores = PlainIgnores::new(&parent);
            plain_verdict(
                &mut ignores,
                Path::new(name.as_ref()),
                &parent,
                relative_root,
            )
        }
    };
    vec![(path.to_path_buf(), verdict)]
}

/// `path` relative to the repository's working directory, with `/` separators.
fn workdir_relative(repo: &Repository, path: &Path) -> Option<String> {
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
    let absolute = match parent {
        Some(parent) => parent.canonicalize().ok()?.join(path.file_name()?),
        None => std::env::current_dir().ok()?.join(path),
    };
    let relative = absolute.strip_prefix(&workdir).ok()?;
    Some(slash_path(relative))
}

/// Env files of the repository under `root`: the index's tracked ones, and a walk of the tree
/// for untracked ones (ignored directories are pruned: nothing below them can be re-included).
fn repo_verdicts(
    repo: &Repository,
    root: &Path,
    stats: &ScanStats,
    relative_root: Option<&Path>,
    out: &mut Vec<(PathBuf, EnvVerdict)>,
) {
    let Some(workdir) = repo.workdir().and_then(|w| w.canonicalize().ok()) else {
        return;
    };
    let Some(root_relative) = root
        .canonicalize()
        .ok()
        .and_then(|abs| abs.strip_prefix(&workdir).ok().map(Path::to_path_buf))
    else {
        stats.warn(format!(
            "{}: resolves outside its repository's work tree ({}); env files below it were not \
             checked against git",
            display_path(root, relative_root),
            workdir.display()
        ));
        return;
    };
    let mut rules = PlainIgnores::for_repository(repo, &workdir);
    let root_prefix = slash_path(&root_relative);
    let under_root = |path: &str| -> Option<String> {
        if root_prefix.is_empty() {
            Some(path.to_owned())
        } else {
            path.strip_prefix(&root_prefix)
                .and_then(|rest| rest.strip_prefix('/'))
                .map(str::to_owned)
        }
    };
    let mut tracked = BTreeSet::new();
    match repo.index() {
        Ok(index) => {
            for entry in index.iter() {
                if entry.mode == GITLINK_MODE {
                    continue;
                }
                let name_start = entry
                    .path
                    .iter()
                    .rposition(|b| *b == b'/')
                    .map_or(0, |i| i + 1);
                let is_env = EnvFilePolicy::builtin()
                    .is_env_file_name(&String::from_utf8_lossy(&entry.path[name_start..]));
                if !is_env {
                    continue;
                }
                let path = String::from_utf8_lossy(&entry.path).into_owned();
                if under_root(&path).is_some() {
                    tracked.insert(path);
                }
            }
        }
        Err(err) => stats.warn(format!(
            "{}: cannot read the git index ({}); env files were judged as untracked",
            display_path(root, relative_root),
            err.message()
        )),
    }
    for path in &tracked {
        if let Some(rest) = under_root(path) {
            out.push((root.join(rest), repo_verdict(&mut rules, path, true)));
        }
    }

    walk_env_files(
        root,
        root_relative,
        &mut rules,
        stats,
        relative_root,
        out,
        &mut |rules, relative| {
            let slash = slash_path(relative);
            (!tracked.contains(&slash)).then(|| repo_verdict(rules, &slash, false))
        },
    );
}

/// Walks `start` (at `start_relative` below the ignore rules' root) for env files, pruning the
/// directories `ignores` ignores: nothing below them can be re-included. A nested repository or
/// submodule answers for its own files. `judge` gives an env file's verdict, or None to leave it
/// out.
fn walk_env_files(
    start: &Path,
    start_relative: PathBuf,
    ignores: &mut PlainIgnores,
    stats: &ScanStats,
    relative_root: Option<&Path>,
    out: &mut Vec<(PathBuf, EnvVerdict)>,
    judge: &mut dyn FnMut(&mut PlainIgnores, &Path) -> Option<EnvVerdict>,
) {
    let mut stack = vec![(start.to_path_buf(), start_relative, 0usize)];
    let mut too_deep: Option<(usize, PathBuf)> = None;
    while let Some((dir, relative, depth)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) => {
                stats.warn(format!(
                    "{}: cannot list ({err}); env files below it were not checked",
                    display_path(&dir, relative_root)
                ));
                continue;
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name == ".git" {
                continue;
            }
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if !file_type.is_dir() {
                // Most files are not env files: decide on the name before building any path.
                // Lossy: a name that is not UTF-8 (`e\xff.env`) is still an env file by its shape.
                let is_env = EnvFilePolicy::builtin().is_env_file_name(&name.to_string_lossy());
                if is_env && let Some(verdict) = judge(ignores, &relative.join(&name)) {
                    out.push((entry.path(), verdict));
                }
                continue;
            }
            let path = entry.path();
            if depth >= MAX_DEPTH {
                let (count, _) = too_deep.get_or_insert_with(|| (0, path.clone()));
                *count += 1;
                continue;
            }
            if path.join(".git").exists() {
                if let Ok(nested) = Repository::open(&path)
                    && nested.workdir().is_some()
                {
                    repo_verdicts(&nested, &path, stats, relative_root, out);
                }
                continue;
            }
            let child_relative = relative.join(&name);
            // The walk only enters directories that are not ignored, so only this level's own
            // rules can ignore it (checking every parent again made deep trees cost depth^3).
            if !ignores.ignores_itself(&child_relative, true) {
                stack.push((path, child_relative, depth + 1));
            }
        }
    }
    if let Some((count, first)) = too_deep {
        stats.warn(format!(
            "env-file check: {count} director(ies) more than {MAX_DEPTH} levels deep were not \
             checked for env files (first: {}); the key scan did reach them",
            display_path(&first, relative_root)
        ));
    }
}

/// Env files of a plain directory, judged by the tree's `.gitignore` files; a nested repository
/// is judged by git.
fn plain_verdicts(
    root: &Path,
    stats: &ScanStats,
    relative_root: Option<&Path>,
    out: &mut Vec<(PathBuf, EnvVerdict)>,
) {
    let mut ignores = PlainIgnores::new(root);
    walk_env_files(
        root,
        PathBuf::new(),
        &mut ignores,
        stats,
        relative_root,
        out,
        &mut |ignores, relative| Some(plain_verdict(ignores, relative, root, relative_root)),
    );
}

/// The finding for an env file, unless the config allow-lists its path.
fn to_occurrence(
    path: &Path,
    verdict: &EnvVerdict,
    context: &EnvLintContext,
) -> Option<Occurrence> {
    let shown = display_path(path, context.relative_root);
    let stable = context.anchors.stable_path(path);
    if let Some(relative) = &stable
        && context.scanner.path_allowed(relative, false)
    {
        return None;
    }
    let stable = stable.map_or_else(|| shown.clone(), |relative| slash_path(&relative));
    let enabled = |rule_id: &str| context.scanner.lint_enabled(rule_id);
    verdict_occurrence(shown.clone(), &stable, verdict, &enabled, || {
        first_secret_line(path, &shown, context.scanner)
    })
}

/// The line of the first key the scanner finds in the env file, if any.
fn first_secret_line(path: &Path, shown: &str, scanner: &dyn EnvLintScanner) -> Option<usize> {
    let small = fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_ENV_READ);
    if !small {
        return None;
    }
    let bytes = fs::read(path).ok()?;
    scanner.first_secret_line(shown, &bytes)
}
