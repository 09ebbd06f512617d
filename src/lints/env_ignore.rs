//! `env-not-ignored`: env files git would commit, decided with git's own ignore rules.
//!
//! Inside a repository git's rules decide (every `.gitignore`, `.git/info/exclude`,
//! `core.excludesFile`; see `gitignore_plain` for why the patterns are not matched by libgit2),
//! and the index says what is tracked: tracked → `env-file-committed`
//! (ignoring it now does not untrack it); untracked and not ignored → `env-file-not-ignored`;
//! ignored → fine. In a plain directory the tree's `.gitignore` files decide (see
//! `gitignore_plain`). Env files are enumerated here, not by the tree walker, because the walker
//! skips ignored files and this lint must see them to clear them.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use git2::Repository;

use super::env_files::EnvFilePolicy;
use super::gitignore_plain::{ExtraLine, PlainIgnores};
use super::{ENV_FILE_COMMITTED, ENV_FILE_NOT_IGNORED, env_file_occurrence};
use crate::model::text::{display_path, escape_control};
use crate::model::{Occurrence, ScanStats};

/// Directory levels walked at most (symlinks are never followed, so this only bounds depth).
const MAX_DEPTH: usize = 256;
/// Env files larger than this are not re-read to see whether they hold a key.
const MAX_ENV_READ: u64 = 1024 * 1024;

/// How the suggestion names the repository's top-level ignore file.
const REPO_ROOT_GITIGNORE: &str = "the repository's top-level .gitignore";

/// git mode of a submodule entry in the index.
const GITLINK_MODE: u32 = 0o160000;

/// What the lint decided about one env file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvVerdict {
    /// In the index: committed (or about to be). `also_ignored`: a rule ignores it too.
    /// `repo_path`: the path relative to the repository root, for `git rm --cached`.
    Tracked {
        also_ignored: bool,
        repo_path: String,
    },
    /// Untracked and not ignored: add `pattern` to `gitignore` (a path shown to the user).
    /// `repo_path` is set inside a repository.
    NotIgnored {
        pattern: String,
        gitignore: String,
        repo_path: Option<String>,
    },
    Ignored,
}

/// What the env lint asks of the scanner it runs beside (implemented by `Scanner`; the lint
/// does not depend on it).
pub trait EnvLintScanner: Sync {
    fn lint_enabled(&self, rule_id: &str) -> bool;
    /// Whether the config allow-lists `relative` (a path under the scan root).
    fn path_allowed(&self, relative: &Path, is_dir: bool) -> bool;
    /// The line of the first key in `bytes`, if any (`shown` names the file).
    fn first_secret_line(&self, shown: &str, bytes: &[u8]) -> Option<usize>;
}

/// Everything the env lint needs from the scan.
pub struct EnvLintContext<'a> {
    pub scanner: &'a dyn EnvLintScanner,
    pub stats: &'a ScanStats,
    /// The first scan root: config allow-list paths are relative to it.
    pub scan_root: &'a Path,
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
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    if !EnvFilePolicy::builtin().is_env_file_name(name) {
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
            plain_verdict(&mut ignores, Path::new(name), &parent, relative_root)
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

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn repo_verdict(rules: &mut PlainIgnores, relative: &str, tracked: bool) -> EnvVerdict {
    let ignored = rules.is_ignored(Path::new(relative), false);
    if tracked {
        EnvVerdict::Tracked {
            also_ignored: ignored,
            repo_path: relative.to_owned(),
        }
    } else if ignored {
        EnvVerdict::Ignored
    } else {
        let (pattern, gitignore) = repo_suggestion(rules, relative);
        EnvVerdict::NotIgnored {
            pattern,
            gitignore,
            repo_path: Some(relative.to_owned()),
        }
    }
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
                let is_env = std::str::from_utf8(&entry.path[name_start..])
                    .is_ok_and(|name| EnvFilePolicy::builtin().is_env_file_name(name));
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

/// Where to add which line so git ignores `relative`. The file name, unanchored, in the root
/// `.gitignore` covers every copy of it — unless a deeper `.gitignore` re-includes the file
/// (`!name`): deeper files take precedence, so that one needs an anchored line at its end (a later
/// line wins within a file).
fn repo_suggestion(rules: &PlainIgnores, relative: &str) -> (String, String) {
    let name = relative.rsplit('/').next().unwrap_or(relative);

    match rules.deepest_reincluding_dir(Path::new(relative)) {
        Some(dir) => {
            let within = Path::new(relative)
                .strip_prefix(&dir)
                .map(slash_path)
                .unwrap_or_else(|_| relative.to_owned());
            (
                format!("/{}", escape_path_pattern(&within)),
                format!("{}/.gitignore", slash_path(&dir)),
            )
        }
        None => (escape_pattern(name), REPO_ROOT_GITIGNORE.to_owned()),
    }
}

/// A file name as a literal gitignore pattern.
fn escape_pattern(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if matches!(c, '*' | '?' | '[' | '\\') || (i == 0 && matches!(c, '!' | '#')) {
            out.push('\\');
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        out.pop();
        out.push_str("\\ ");
    }
    out
}

fn escape_path_pattern(path: &str) -> String {
    path.split('/')
        .map(|part| {
            let escaped = escape_pattern(part);
            escaped
                .strip_prefix('\\')
                .filter(|_| part.starts_with(['!', '#']))
                .map(str::to_owned)
                .unwrap_or(escaped)
        })
        .collect::<Vec<_>>()
        .join("/")
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
                let is_env = name
                    .to_str()
                    .is_some_and(|n| EnvFilePolicy::builtin().is_env_file_name(n));
                if is_env && let Some(verdict) = judge(ignores, &relative.join(&name)) {
                    out.push((entry.path(), verdict));
                }
                continue;
            }
            if depth >= MAX_DEPTH {
                continue;
            }
            let path = entry.path();
            if path.join(".git").exists() {
                if let Ok(nested) = Repository::open(&path)
                    && nested.workdir().is_some()
                {
                    repo_verdicts(&nested, &path, stats, relative_root, out);
                }
                continue;
            }
            let child_relative = relative.join(&name);
            if !ignores.is_ignored(&child_relative, true) {
                stack.push((path, child_relative, depth + 1));
            }
        }
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

fn plain_verdict(
    ignores: &mut PlainIgnores,
    relative: &Path,
    root: &Path,
    relative_root: Option<&Path>,
) -> EnvVerdict {
    if ignores.is_ignored(relative, false) {
        return EnvVerdict::Ignored;
    }
    let name = relative
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pattern = escape_pattern(&name);
    let root_gitignore = display_path(&root.join(".gitignore"), relative_root);
    let extra = ExtraLine {
        dir: Path::new(""),
        line: &pattern,
    };
    if ignores.is_ignored_with(relative, false, Some(&extra)) {
        return EnvVerdict::NotIgnored {
            pattern,
            gitignore: root_gitignore,
            repo_path: None,
        };
    }
    let parent = relative.parent().unwrap_or(Path::new(""));
    let dir = ignores.nearest_gitignore_dir(parent).unwrap_or_default();
    let within = relative.strip_prefix(&dir).unwrap_or(relative);
    EnvVerdict::NotIgnored {
        pattern: format!("/{}", escape_path_pattern(&slash_path(within))),
        gitignore: display_path(&root.join(dir).join(".gitignore"), relative_root),
        repo_path: None,
    }
}

fn to_occurrence(
    path: &Path,
    verdict: &EnvVerdict,
    context: &EnvLintContext,
) -> Option<Occurrence> {
    let shown = display_path(path, context.relative_root);
    if let Ok(relative) = path.strip_prefix(context.scan_root)
        && context.scanner.path_allowed(relative, false)
    {
        return None;
    }
    let (rule_id, mut remediation) = match verdict {
        EnvVerdict::Ignored => return None,
        EnvVerdict::Tracked {
            also_ignored,
            repo_path,
        } => {
            let ignored_note = if *also_ignored {
                " (a .gitignore rule already matches it, which changes nothing for a tracked file)"
            } else {
                ""
            };
            (
                ENV_FILE_COMMITTED,
                format!(
                    "committed; ignoring it now does not untrack it{ignored_note}: run \
                     `git rm --cached {}` at the repository root, make sure .gitignore covers \
                     it, commit, and rotate every secret it held (it stays in history: \
                     `tuskguard history` shows where)",
                    shell_quote(repo_path)
                ),
            )
        }
        EnvVerdict::NotIgnored {
            pattern,
            gitignore,
            repo_path,
        } => {
            let confirm = match repo_path {
                Some(path) => format!(
                    " (`git check-ignore -v {}` at the repository root then confirms it)",
                    shell_quote(path)
                ),
                None => {
                    " (this directory is not a git repository yet; the rule applies once it is)"
                        .to_owned()
                }
            };
            (
                ENV_FILE_NOT_IGNORED,
                format!(
                    "one `git add .` away from a leak; add `{}` to {}{confirm}",
                    escape_control(pattern),
                    escape_control(gitignore)
                ),
            )
        }
    };
    if !context.scanner.lint_enabled(rule_id) {
        return None;
    }
    if let Some(line) = first_secret_line(path, &shown, context.scanner) {
        remediation.push_str(&format!(
            ". It also holds a Tusky key (the finding at {shown}:{line}): revoke and rotate that \
             key first, since untracking or ignoring the file does not un-leak it"
        ));
    }
    Some(env_file_occurrence(
        rule_id,
        shown.clone(),
        &shown,
        remediation,
        None,
    ))
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

/// Quotes a path for a copy-pasted shell command when it needs it.
/// Control characters (a newline in a file name) use bash/zsh `$'…'` quoting, so the command stays
/// on one line and names the right file.
fn shell_quote(path: &str) -> String {
    if path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/+@%:,".contains(c))
    {
        path.to_owned()
    } else if path.chars().any(char::is_control) {
        let escaped: String = path
            .chars()
            .map(|c| match c {
                '\\' => "\\\\".to_owned(),
                '\'' => "\\'".to_owned(),
                '\n' => "\\n".to_owned(),
                '\t' => "\\t".to_owned(),
                c if c.is_control() => format!("\\x{:02x}", c as u32),
                c => c.to_string(),
            })
            .collect();
        format!("$'{escaped}'")
    } else {
        format!("'{}'", path.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_literal() {
        assert_eq!(escape_pattern(".env"), ".env");
        assert_eq!(escape_pattern("#x.env"), "\\#x.env");
        assert_eq!(escape_pattern("a*b.env"), "a\\*b.env");
        assert_eq!(escape_pattern("!.env.x"), "\\!.env.x");
        assert_eq!(escape_path_pattern("a/b/.env"), "a/b/.env");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("app/.env"), "app/.env");
        assert_eq!(shell_quote("my dir/.env"), "'my dir/.env'");
        assert_eq!(shell_quote("a\nb'.env"), "$'a\\nb\\'.env'");
    }
}
