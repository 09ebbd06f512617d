//! `env-not-ignored` verdicts: whether git would commit an env file, decided with git's own ignore
//! rules, and the finding each verdict becomes.
//!
//! Inside a repository git's rules decide (every `.gitignore`, `.git/info/exclude`,
//! `core.excludesFile`; see `gitignore_plain` for why the patterns are not matched by libgit2),
//! and the index says what is tracked: tracked → `env-file-committed`
//! (ignoring it now does not untrack it); untracked and not ignored → `env-file-not-ignored`;
//! ignored → fine. In a plain directory the tree's `.gitignore` files decide (see
//! `gitignore_plain`). `env_check` applies them to the env files a scan met.

use std::path::Path;

use super::gitignore_plain::{ExtraLine, PlainIgnores};
use super::{ENV_FILE_COMMITTED, ENV_FILE_NOT_IGNORED, env_file_occurrence};
use crate::model::Occurrence;
use crate::model::text::{display_path, escape_control, shell_quote, slash_path};

/// How the suggestion names the repository's top-level ignore file.
const REPO_ROOT_GITIGNORE: &str = "the repository's top-level .gitignore";

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

/// The verdict on an env file of a repository (`relative` to its work tree).
pub fn repo_verdict(rules: &mut PlainIgnores, relative: &str, tracked: bool) -> EnvVerdict {
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

/// The verdict on an env file of a plain directory `root` (`relative` to it).
pub fn plain_verdict(
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

/// The finding for one env file's verdict (`shown` names the file; `stable`, its path relative
/// to the repository root, is what the fingerprint hashes), if its rule is enabled. `key_line`
/// is asked, only then, for the line of a key the file holds.
pub fn verdict_occurrence(
    shown: String,
    stable: &str,
    verdict: &EnvVerdict,
    enabled: &dyn Fn(&str) -> bool,
    key_line: impl FnOnce() -> Option<usize>,
) -> Option<Occurrence> {
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
    if !enabled(rule_id) {
        return None;
    }
    if let Some(line) = key_line() {
        remediation.push_str(&format!(
            ". It also holds a Tusky key (the finding at {shown}:{line}): revoke and rotate that \
             key first, since untracking or ignoring the file does not un-leak it"
        ));
    }
    let mut occurrence = env_file_occurrence(rule_id, stable.to_owned(), stable, remediation, None);
    occurrence.location.path = shown;
    Some(occurrence)
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
}
