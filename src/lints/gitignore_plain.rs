//! git's ignore rules, evaluated with the `ignore` crate's gitignore matcher and combined the way
//! git combines them: a deeper `.gitignore` overrides a shallower one, the last matching line in a
//! file wins, nothing inside an ignored directory can be re-included, and below every
//! `.gitignore` come `.git/info/exclude`, then `core.excludesFile` (in a repository).
//!
//! Inside a repository too: libgit2's own matcher (`git_ignore_path_is_ignored`) disagrees with
//! git on negations in nested `.gitignore` files (libgit2 issues #7283, #7284; our tests compare
//! every verdict with `git check-ignore`), so git2 supplies the repository, its index and config,
//! and this module the pattern semantics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

pub struct PlainIgnores {
    root: PathBuf,
    /// `.gitignore` per directory (relative to the root); `None` when the directory has none.
    cache: HashMap<PathBuf, Option<Gitignore>>,
    /// Repository-wide exclude files, highest precedence first (`info/exclude`, excludesFile).
    globals: Vec<Gitignore>,
}

/// One extra line, as if appended to the `.gitignore` of a directory (to test a suggestion).
pub struct ExtraLine<'a> {
    pub dir: &'a Path,
    pub line: &'a str,
}

impl PlainIgnores {
    pub fn new(root: &Path) -> Self {
        PlainIgnores {
            root: root.to_path_buf(),
            cache: HashMap::new(),
            globals: Vec::new(),
        }
    }

    /// The rules of a repository: its work tree's `.gitignore` files, then
    /// `$GIT_DIR/info/exclude`, then `core.excludesFile` (git's default
    /// `$XDG_CONFIG_HOME/git/ignore` or `~/.config/git/ignore` when unset).
    pub fn for_repository(repo: &git2::Repository, workdir: &Path) -> Self {
        let mut rules = Self::new(workdir);
        // Linked worktrees share the main repository's info/exclude, as git does.
        let mut files = vec![repo.commondir().join("info").join("exclude")];
        let configured = repo
            .config()
            .ok()
            .and_then(|config| config.get_path("core.excludesFile").ok());
        match configured {
            Some(path) => files.push(path),
            None => {
                let xdg = std::env::var_os("XDG_CONFIG_HOME")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
                if let Some(base) = xdg {
                    files.push(base.join("git").join("ignore"));
                }
            }
        }
        for file in files.into_iter().filter(|f| f.is_file()) {
            let mut builder = GitignoreBuilder::new(workdir);
            let _ = builder.add(&file);
            if let Ok(matcher) = builder.build() {
                rules.globals.push(matcher);
            }
        }
        rules
    }

    /// True when git would ignore `relative` (a path below the root), parents included.
    pub fn is_ignored(&mut self, relative: &Path, is_dir: bool) -> bool {
        self.is_ignored_with(relative, is_dir, None)
    }

    /// True when `relative`'s own nearest deciding rule ignores it; its parents are not looked at
    /// (for a walk that only enters directories it has already found not ignored).
    pub fn ignores_itself(&mut self, relative: &Path, is_dir: bool) -> bool {
        self.own_match(relative, is_dir, None)
    }

    pub fn is_ignored_with(
        &mut self,
        relative: &Path,
        is_dir: bool,
        extra: Option<&ExtraLine>,
    ) -> bool {
        let components: Vec<_> = relative.components().collect();
        let mut prefix = PathBuf::new();
        for (i, component) in components.iter().enumerate() {
            prefix.push(component);
            let last = i + 1 == components.len();
            let prefix_is_dir = !last || is_dir;
            if self.own_match(&prefix, prefix_is_dir, extra) {
                return true;
            }
        }
        false
    }

    /// Whether the nearest deciding `.gitignore` line ignores `relative` itself.
    fn own_match(&mut self, relative: &Path, is_dir: bool, extra: Option<&ExtraLine>) -> bool {
        let absolute = self.root.join(relative);
        let mut dir = relative.parent();
        while let Some(current) = dir {
            let decided = match extra.filter(|e| e.dir == current) {
                Some(extra) => {
                    let matcher = self.build(current, Some(extra.line));
                    decide(matcher.as_ref(), &absolute, is_dir)
                }
                None => {
                    let matcher = self.matcher(current);
                    decide(matcher, &absolute, is_dir)
                }
            };
            if let Some(ignored) = decided {
                return ignored;
            }
            dir = current.parent();
        }
        for global in &self.globals {
            if let Some(ignored) = decide(Some(global), &absolute, is_dir) {
                return ignored;
            }
        }
        false
    }

    fn matcher(&mut self, dir: &Path) -> Option<&Gitignore> {
        if !self.cache.contains_key(dir) {
            let built = self.build(dir, None);
            self.cache.insert(dir.to_path_buf(), built);
        }
        self.cache.get(dir).and_then(Option::as_ref)
    }

    /// The matcher of `dir`'s `.gitignore`, plus an optional extra last line.
    fn build(&self, dir: &Path, extra: Option<&str>) -> Option<Gitignore> {
        let dir_path = self.root.join(dir);
        let file = dir_path.join(".gitignore");
        let has_file = file.is_file();
        if !has_file && extra.is_none() {
            return None;
        }
        let mut builder = GitignoreBuilder::new(&dir_path);
        if has_file {
            // A bad line is skipped, as git skips it; the rest of the file still applies.
            let _ = builder.add(&file);
        }
        if let Some(line) = extra {
            let _ = builder.add_line(None, line);
        }
        builder.build().ok()
    }

    /// The deepest directory below the root whose `.gitignore` re-includes `relative` (its last
    /// matching line is a negation).
    pub fn deepest_reincluding_dir(&self, relative: &Path) -> Option<PathBuf> {
        let absolute = self.root.join(relative);
        let mut dir = relative.parent();
        while let Some(current) = dir {
            if current.as_os_str().is_empty() {
                return None;
            }
            if let Some(matcher) = self.build(current, None)
                && matcher.matched(&absolute, false).is_whitelist()
            {
                return Some(current.to_path_buf());
            }
            dir = current.parent();
        }
        None
    }

    /// The `.gitignore` files that exist between the root and `dir` (deepest first).
    pub fn nearest_gitignore_dir(&self, dir: &Path) -> Option<PathBuf> {
        let mut current = Some(dir);
        while let Some(d) = current {
            if self.root.join(d).join(".gitignore").is_file() {
                return Some(d.to_path_buf());
            }
            current = d.parent();
        }
        None
    }
}

fn decide(matcher: Option<&Gitignore>, absolute: &Path, is_dir: bool) -> Option<bool> {
    match matcher?.matched(absolute, is_dir) {
        Match::None => None,
        Match::Ignore(_) => Some(true),
        Match::Whitelist(_) => Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_negation_and_ignored_parents() {
        let dir = std::env::temp_dir().join(format!("tuskguard-plain-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("app/secrets")).unwrap();
        std::fs::write(dir.join(".gitignore"), ".env*\nsecrets/\n").unwrap();
        std::fs::write(dir.join("app/.gitignore"), "!.env.local\n").unwrap();
        let mut ignores = PlainIgnores::new(&dir);
        assert!(ignores.is_ignored(Path::new(".env"), false));
        assert!(ignores.is_ignored(Path::new("app/.env"), false));
        assert!(!ignores.is_ignored(Path::new("app/.env.local"), false));
        assert!(ignores.is_ignored(Path::new("app/secrets/x.env"), false));
        assert!(!ignores.is_ignored(Path::new("app/prod.env"), false));
        let extra = ExtraLine {
            dir: Path::new(""),
            line: "prod.env",
        };
        assert!(ignores.is_ignored_with(Path::new("app/prod.env"), false, Some(&extra)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
