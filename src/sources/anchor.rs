//! Where a scan's paths are measured from, so that suppressions and fingerprints give the same
//! result whichever directory a scan starts in (SPEC §5): the work tree of the git repository
//! that holds a scan root or, outside a repository, the scan root itself (its directory, for a
//! file). `.tuskguard.toml` and `.tuskguardignore` are read there, `allowlist.paths` globs match
//! paths relative to it, and lint fingerprints hash paths relative to it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use git2::Repository;

use crate::findings::suppression::IGNORE_FILE_NAME;
use crate::model::text::slash_path;

/// One scan root and where its paths are measured from.
#[derive(Clone, Debug)]
struct Anchored {
    /// The root as given (walked paths start with it).
    root: PathBuf,
    /// The directory the root's paths are relative to.
    anchor: PathBuf,
    /// The root relative to `anchor` (empty when the root is the anchor).
    prefix: PathBuf,
}

/// The anchors of every root of one scan.
#[derive(Clone, Debug)]
pub struct Anchors {
    roots: Vec<Anchored>,
}

impl Anchors {
    pub fn new(roots: &[PathBuf]) -> Self {
        // Hooks pass many files of few directories: find each directory's repository once.
        let mut repository_of: HashMap<PathBuf, Option<(PathBuf, PathBuf)>> = HashMap::new();
        let roots = roots
            .iter()
            .map(|root| {
                let is_dir = root.is_dir();
                let dir = if is_dir {
                    root.clone()
                } else {
                    match root.parent() {
                        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                        _ => PathBuf::from("."),
                    }
                };
                let name = if is_dir {
                    PathBuf::new()
                } else {
                    root.file_name().map(PathBuf::from).unwrap_or_default()
                };
                let found = repository_of
                    .entry(dir.clone())
                    .or_insert_with(|| repository_holding(&dir))
                    .clone();
                match found {
                    Some((anchor, dir_inside)) => Anchored {
                        root: root.clone(),
                        // A root at the top of its work tree keeps the spelling it was given.
                        anchor: if dir_inside.as_os_str().is_empty() {
                            dir
                        } else {
                            anchor
                        },
                        prefix: join(&dir_inside, &name),
                    },
                    None => Anchored {
                        root: root.clone(),
                        anchor: dir,
                        prefix: name,
                    },
                }
            })
            .collect();
        Anchors { roots }
    }

    /// Where the first root's `.tuskguard.toml` and `.tuskguardignore` are read.
    pub fn config_dir(&self) -> &Path {
        self.roots
            .first()
            .map_or(Path::new("."), |first| first.anchor.as_path())
    }

    /// `walked` (a path under one of the roots) relative to its root's anchor; empty for the
    /// anchor itself, `None` for a path under no root. When roots nest, the deepest one decides.
    pub fn stable_path(&self, walked: &Path) -> Option<PathBuf> {
        self.roots
            .iter()
            .filter_map(|anchored| {
                let rest = walked.strip_prefix(&anchored.root).ok()?;
                Some((
                    anchored.root.components().count(),
                    join(&anchored.prefix, rest),
                ))
            })
            .max_by_key(|(depth, _)| *depth)
            .map(|(_, path)| path)
    }

    /// `stable_path` with `/` separators, as fingerprints and reports spell paths.
    pub fn stable_name(&self, walked: &Path) -> Option<String> {
        self.stable_path(walked).map(|path| slash_path(&path))
    }

    /// Config and ignore files in a directory root below its anchor: they are not read (the
    /// anchor's are), which must be said, not left to surprise.
    pub fn unused_files(&self, explicit_config: bool) -> Vec<PathBuf> {
        let mut names = vec![IGNORE_FILE_NAME];
        if !explicit_config {
            names.push(crate::config::DEFAULT_CONFIG_FILE);
        }
        let mut unused = Vec::new();
        for anchored in &self.roots {
            if anchored.prefix.as_os_str().is_empty() || !anchored.root.is_dir() {
                continue;
            }
            for name in &names {
                let path = anchored.root.join(name);
                if path.is_file() && !unused.contains(&path) {
                    unused.push(path);
                }
            }
        }
        unused
    }
}

/// The work tree holding `dir`, and `dir` relative to it; `None` outside a work tree.
fn repository_holding(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let repo = Repository::discover(dir).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let dir = dir.canonicalize().ok()?;
    let inside = dir.strip_prefix(&workdir).ok()?.to_path_buf();
    Some((workdir, inside))
}

/// `base/rest`, without the trailing separator `Path::join` adds for an empty `rest`.
fn join(base: &Path, rest: &Path) -> PathBuf {
    if rest.as_os_str().is_empty() {
        base.to_path_buf()
    } else if base.as_os_str().is_empty() {
        rest.to_path_buf()
    } else {
        base.join(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_the_work_tree_whatever_the_root() {
        let dir = assert_fs::TempDir::new().unwrap();
        Repository::init(dir.path()).unwrap();
        std::fs::create_dir_all(dir.path().join("sub/dir")).unwrap();
        std::fs::write(dir.path().join("sub/dir/f.txt"), "x").unwrap();
        let sub = dir.path().join("sub");
        let anchors = Anchors::new(&[sub.clone(), dir.path().join("sub/dir/f.txt")]);
        assert_eq!(
            anchors.stable_name(&sub.join("dir/f.txt")).as_deref(),
            Some("sub/dir/f.txt")
        );
        assert_eq!(anchors.stable_name(&sub).as_deref(), Some("sub"));
        assert_eq!(
            anchors.config_dir(),
            dir.path().canonicalize().unwrap().as_path()
        );
        assert_eq!(anchors.stable_name(Path::new("/elsewhere/x")), None);
    }

    #[test]
    fn outside_a_repository_each_root_is_its_own_anchor() {
        let dir = assert_fs::TempDir::new().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("f.txt"), "x").unwrap();
        let a = dir.path().join("a");
        let file = dir.path().join("f.txt");
        let anchors = Anchors::new(&[a.clone(), file.clone()]);
        assert_eq!(anchors.config_dir(), a.as_path());
        assert_eq!(anchors.stable_name(&a.join("b/x")).as_deref(), Some("b/x"));
        assert_eq!(anchors.stable_name(&file).as_deref(), Some("f.txt"));
    }
}
