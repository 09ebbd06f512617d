//! The `env-not-ignored` lint over a scan's roots: the index's tracked env files, and the env
//! files the tree walk met (`EnvFiles`), judged against git's ignore rules (`env_verdict`). One
//! walk serves the key scan and this lint: a second walk of its own cost a tenth of a tree scan,
//! so the walk keeps the paths `EnvFiles::wanted` names and hands them here. The walk skips what
//! its ignore files ignore, as git does (a file in an ignored directory cannot be re-included);
//! those files are clear unless git tracks them, and tracked ones come from the index.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use git2::Repository;

use super::env_files::EnvFilePolicy;
use super::env_verdict::{
    EnvLintScanner, EnvVerdict, plain_verdict, repo_verdict, verdict_occurrence,
};
use super::gitignore_plain::PlainIgnores;
use super::{ENV_FILE_COMMITTED, ENV_FILE_NOT_IGNORED};
use crate::model::text::{display_path, slash_path};
use crate::model::{Occurrence, ScanStats};

/// Env files larger than this are not re-read to see whether they hold a key.
const MAX_ENV_READ: u64 = 1024 * 1024;

/// git mode of a submodule entry in the index.
const GITLINK_MODE: u32 = 0o160000;

/// Everything the env lint needs from the scan.
pub struct EnvLintContext<'a> {
    pub scanner: &'a dyn EnvLintScanner,
    pub stats: &'a ScanStats,
    /// A walked path relative to the repository root (where its scan root is anchored), if
    /// known: allow-list globs and fingerprints use those.
    pub stable_path: &'a dyn Fn(&Path) -> Option<PathBuf>,
    /// Set when reports name paths relative to the (single, directory) scan root.
    pub relative_root: Option<&'a Path>,
}

/// What the tree walk met that this lint needs: the files `wanted` kept (env files), and the work
/// trees of repositories nested below a root (their own index and ignore rules judge their files).
#[derive(Debug, Default)]
pub struct EnvFiles {
    pub files: Vec<PathBuf>,
    pub nested_repos: Vec<PathBuf>,
}

impl EnvFiles {
    /// Whether the walk should keep a non-directory entry with this name (the walk is handed
    /// this test: it knows no lint rules).
    pub fn wanted(name: &std::ffi::OsStr) -> bool {
        // Lossy: a name that is not UTF-8 (`e\xff.env`) is still an env file by its shape.
        EnvFilePolicy::builtin().is_env_file_name(&name.to_string_lossy())
    }
}

/// Checks every env file under `roots` (directories, or env files named directly); `walked`
/// is what the tree walk of those roots met.
pub fn check_roots(
    roots: &[PathBuf],
    walked: &EnvFiles,
    context: &EnvLintContext,
) -> Vec<Occurrence> {
    let mut occurrences = Vec::new();
    if !context.scanner.lint_enabled(ENV_FILE_COMMITTED)
        && !context.scanner.lint_enabled(ENV_FILE_NOT_IGNORED)
    {
        return occurrences;
    }
    for root in roots {
        let under = Walked::under(root, walked);
        for (shown, verdict) in
            verdicts_for_root(root, &under, context.stats, context.relative_root)
        {
            if let Some(occurrence) = to_occurrence(&shown, &verdict, context) {
                occurrences.push(occurrence);
            }
        }
    }
    occurrences
}

/// The part of the walk below one root (a directory).
struct Walked<'a> {
    files: Vec<&'a Path>,
    nested_repos: Vec<&'a Path>,
}

impl<'a> Walked<'a> {
    fn under(root: &Path, walked: &'a EnvFiles) -> Self {
        let below = |path: &&'a PathBuf| path.starts_with(root) && path.as_path() != root;
        Walked {
            files: walked
                .files
                .iter()
                .filter(below)
                .map(PathBuf::as_path)
                .collect(),
            nested_repos: walked
                .nested_repos
                .iter()
                .filter(below)
                .map(PathBuf::as_path)
                .collect(),
        }
    }

    /// Splits off what lies in repositories nested below `root`: each nested work tree (the
    /// outermost ones) with its part of the walk; what stays is judged by `root`'s rules.
    fn split_nested(&self, root: &Path) -> (Vec<&'a Path>, Vec<(&'a Path, Walked<'a>)>) {
        let outermost: Vec<&Path> = self
            .nested_repos
            .iter()
            .copied()
            .filter(|repo| *repo != root)
            .filter(|repo| {
                !self
                    .nested_repos
                    .iter()
                    .any(|other| other != repo && *other != root && repo.starts_with(other))
            })
            .collect();
        let mut own = Vec::new();
        let mut nested: Vec<(&Path, Walked)> = outermost
            .iter()
            .map(|repo| {
                (
                    *repo,
                    Walked {
                        files: Vec::new(),
                        nested_repos: Vec::new(),
                    },
                )
            })
            .collect();
        for file in &self.files {
            match nested.iter_mut().find(|(repo, _)| file.starts_with(repo)) {
                Some((_, part)) => part.files.push(file),
                None => own.push(*file),
            }
        }
        for repo in &self.nested_repos {
            if let Some((_, part)) = nested
                .iter_mut()
                .find(|(top, _)| repo.starts_with(top) && repo != top)
            {
                part.nested_repos.push(repo);
            }
        }
        (own, nested)
    }
}

/// `(path as reports show it, verdict)` for every env file under `root`.
fn verdicts_for_root(
    root: &Path,
    walked: &Walked,
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
            repo_verdicts(&repo, root, walked, stats, relative_root, &mut out);
            out
        }
        _ => {
            let mut out = Vec::new();
            plain_verdicts(root, walked, stats, relative_root, &mut out);
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

/// Env files of the repository under `root`: the index's tracked ones, and the untracked ones
/// the walk met.
fn repo_verdicts(
    repo: &Repository,
    root: &Path,
    walked: &Walked,
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

    let (own, nested) = walked.split_nested(root);
    for file in own {
        let Ok(rest) = file.strip_prefix(root) else {
            continue;
        };
        let slash = slash_path(&root_relative.join(rest));
        if !tracked.contains(&slash) {
            out.push((file.to_path_buf(), repo_verdict(&mut rules, &slash, false)));
        }
    }
    judge_nested(nested, stats, relative_root, out);
}

/// Each repository nested below a root answers for its own files.
fn judge_nested(
    nested: Vec<(&Path, Walked)>,
    stats: &ScanStats,
    relative_root: Option<&Path>,
    out: &mut Vec<(PathBuf, EnvVerdict)>,
) {
    for (top, part) in nested {
        match Repository::open(top) {
            Ok(repo) if repo.workdir().is_some() => {
                repo_verdicts(&repo, top, &part, stats, relative_root, out);
            }
            _ => plain_verdicts(top, &part, stats, relative_root, out),
        }
    }
}

/// Env files of a plain directory, judged by the tree's `.gitignore` files; a nested repository
/// is judged by git.
fn plain_verdicts(
    root: &Path,
    walked: &Walked,
    stats: &ScanStats,
    relative_root: Option<&Path>,
    out: &mut Vec<(PathBuf, EnvVerdict)>,
) {
    let mut ignores = PlainIgnores::new(root);
    let (own, nested) = walked.split_nested(root);
    for file in own {
        if let Ok(relative) = file.strip_prefix(root) {
            let verdict = plain_verdict(&mut ignores, relative, root, relative_root);
            out.push((file.to_path_buf(), verdict));
        }
    }
    judge_nested(nested, stats, relative_root, out);
}

/// The finding for an env file, unless the config allow-lists its path.
fn to_occurrence(
    path: &Path,
    verdict: &EnvVerdict,
    context: &EnvLintContext,
) -> Option<Occurrence> {
    let shown = display_path(path, context.relative_root);
    let stable = (context.stable_path)(path);
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
