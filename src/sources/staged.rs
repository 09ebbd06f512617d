//! The staged source: what the next commit would contain, listed from the index (never from the
//! working files, which may differ from what is staged); the workers read and scan the blobs.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use git2::{Delta, DiffOptions, Index, Oid, Repository};

use super::ScanStats;
use super::index_file::{self, IndexEntry, IndexFile};
use crate::findings::SkipReason;

const MODE_SYMLINK: u32 = 0o120000;
const MODE_GITLINK: u32 = 0o160000;

/// One staged file: its path in the repository and the blob the index holds for it.
#[derive(Clone, Debug)]
pub struct StagedBlob {
    pub path: String,
    pub blob: Oid,
}

/// The index git would commit: `GIT_INDEX_FILE` when git set it (`git commit -a`,
/// `git commit <paths>`), otherwise the repository's own index.
fn index_path(repo: &Repository) -> PathBuf {
    match std::env::var_os("GIT_INDEX_FILE").filter(|v| !v.is_empty()) {
        Some(file) => {
            let path = PathBuf::from(&file);
            // git may name it relative to the top of the working tree.
            match repo.workdir() {
                Some(workdir) if path.is_relative() && !path.exists() => workdir.join(path),
                _ => path,
            }
        }
        None => repo.path().join("index"),
    }
}

/// Maps the index read-only: copying a 10 MB index into fresh memory costs more than the rest
/// of a staged scan. git replaces the index by renaming a lock file over it, so the mapped file
/// itself is not rewritten while we read it.
fn map_index(path: &Path) -> std::io::Result<Option<memmap2::Mmap>> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(None);
    }
    // SAFETY: the map is read-only and private to this process; see above for why the file
    // does not change under it (a truncation by a foreign tool could only end the process).
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(Some(map))
}

fn open_index(path: &Path) -> Result<Index> {
    Index::open(path).with_context(|| {
        format!(
            "cannot read the git index {} (a split or sparse index is not supported: \
             run `git update-index --no-split-index` or `git sparse-checkout disable`)",
            path.display()
        )
    })
}

/// Turns a command-line path (relative to the current directory) into a path in the repository.
fn repo_relative(workdir: &Path, cwd: &Path, path: &Path) -> Result<String> {
    let joined = cwd.join(path);
    let mut normal = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    let relative = normal.strip_prefix(workdir).with_context(|| {
        format!(
            "{}: outside the repository at {}",
            path.display(),
            workdir.display()
        )
    })?;
    let text = relative.to_string_lossy().replace('\\', "/");
    Ok(text.trim_end_matches('/').to_owned())
}

/// The index entries the next commit adds or changes (all of them before the first commit).
fn changed_entries(repo: &Repository, index: &Index, stats: &ScanStats) -> Result<Vec<StagedBlob>> {
    let head_tree = match repo.head() {
        Ok(head) => Some(
            head.peel_to_tree()
                .context("HEAD does not point to a commit")?,
        ),
        Err(err) if err.code() == git2::ErrorCode::UnbornBranch => None,
        Err(err) if err.code() == git2::ErrorCode::NotFound => None,
        Err(err) => return Err(err).context("cannot read HEAD"),
    };
    let mut options = DiffOptions::new();
    options
        .skip_binary_check(true)
        .ignore_submodules(true)
        .include_typechange(true);
    let diff = repo
        .diff_tree_to_index(head_tree.as_ref(), Some(index), Some(&mut options))
        .context("cannot compare the index with HEAD")?;
    let mut staged = Vec::new();
    for delta in diff.deltas() {
        match delta.status() {
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange => {
            }
            Delta::Conflicted => {
                let path = delta.new_file().path().unwrap_or(Path::new("?"));
                stats.warn(format!(
                    "{}: unmerged (conflict); resolve it and stage the result to scan it",
                    path.display()
                ));
                continue;
            }
            _ => continue,
        }
        let file = delta.new_file();
        let Some(path) = file.path_bytes() else {
            continue;
        };
        let mode = u32::from(file.mode());
        staged.push((String::from_utf8_lossy(path).into_owned(), file.id(), mode));
    }
    Ok(filter_modes(staged, stats))
}

/// The work tree and the current directory, both resolved, to map command-line paths to index
/// paths.
fn workdir_and_cwd(repo: &Repository) -> Result<(PathBuf, PathBuf)> {
    let Some(workdir) = repo.workdir() else {
        bail!("--staged needs a repository with a working tree (this one is bare)");
    };
    let workdir = workdir
        .canonicalize()
        .unwrap_or_else(|_| workdir.to_path_buf());
    let cwd = std::env::current_dir()
        .context("cannot read the current directory")?
        .canonicalize()
        .context("cannot resolve the current directory")?;
    Ok((workdir, cwd))
}

/// Index entries for the given paths (files, or directories meaning every entry below them).
fn entries_for_paths(
    repo: &Repository,
    index: &Index,
    paths: &[PathBuf],
    stats: &ScanStats,
) -> Result<Vec<StagedBlob>> {
    let (workdir, cwd) = workdir_and_cwd(repo)?;
    let mut staged = Vec::new();
    for path in paths {
        let relative = repo_relative(&workdir, &cwd, path)?;
        if let Some(entry) = index.get_path(Path::new(&relative), 0) {
            staged.push((relative, entry.id, entry.mode));
            continue;
        }
        let prefix = if relative.is_empty() {
            String::new()
        } else {
            format!("{relative}/")
        };
        let before = staged.len();
        for entry in index.iter() {
            let stage = (entry.flags >> 12) & 0x3;
            if stage == 0 && entry.path.starts_with(prefix.as_bytes()) {
                let path = String::from_utf8_lossy(&entry.path).into_owned();
                staged.push((path, entry.id, entry.mode));
            }
        }
        if staged.len() == before {
            stats.warn(format!(
                "{}: not in the index (not staged); nothing to scan",
                path.display()
            ));
        }
    }
    Ok(filter_modes(staged, stats))
}

/// Submodules and symlinks have no content of their own to scan; they are counted.
fn filter_modes(entries: Vec<(String, Oid, u32)>, stats: &ScanStats) -> Vec<StagedBlob> {
    entries
        .into_iter()
        .filter_map(|(path, blob, mode)| match mode {
            MODE_GITLINK | MODE_SYMLINK => {
                stats.skip(SkipReason::NotAFile, None);
                None
            }
            _ => Some(StagedBlob { path, blob }),
        })
        .collect()
}

/// What the next commit adds (all of it before the first commit), or the staged content of
/// `paths`: the blobs to scan, by path. Submodules, symlinks and conflicts are counted and said.
pub fn staged_blobs(
    repo: &Repository,
    paths: &[PathBuf],
    stats: &ScanStats,
) -> Result<Vec<StagedBlob>> {
    if repo.is_bare() {
        bail!("--staged needs a repository with a working tree (this one is bare)");
    }
    let path = index_path(repo);
    let mapped = match map_index(&path) {
        Ok(mapped) => mapped,
        // No index yet: nothing has been staged.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            return Err(err)
                .with_context(|| format!("cannot read the git index {}", path.display()));
        }
    };
    let parsed = match mapped.as_deref() {
        None | Some([]) => Some(IndexFile::default()),
        Some(bytes) => index_file::parse(bytes),
    };
    let entries = match parsed {
        Some(index) => {
            for conflicted in &index.conflicted {
                stats.warn(format!(
                    "{conflicted}: unmerged (conflict); resolve it and stage the result to scan it"
                ));
            }
            let entries = if paths.is_empty() {
                let head = head_tree_id(repo)?;
                let mut changed = Vec::new();
                compare_dir(
                    repo,
                    "",
                    head,
                    &index.entries,
                    &index.cache_tree,
                    &mut changed,
                )?;
                changed
            } else {
                parsed_entries_for_paths(repo, &index, paths, stats)?
            };
            filter_modes(entries, stats)
        }
        None => {
            let index = open_index(&path)?;
            if paths.is_empty() {
                changed_entries(repo, &index, stats)?
            } else {
                entries_for_paths(repo, &index, paths, stats)?
            }
        }
    };
    Ok(entries)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn head_tree_id(repo: &Repository) -> Result<Option<Oid>> {
    match repo.head() {
        Ok(head) => Ok(Some(
            head.peel_to_tree()
                .context("HEAD does not point to a commit")?
                .id(),
        )),
        Err(err)
            if matches!(
                err.code(),
                git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
            ) =>
        {
            Ok(None)
        }
        Err(err) => Err(err).context("cannot read HEAD"),
    }
}

/// Index entries under `dir` that differ from HEAD's tree `head`. A directory whose cache-tree id
/// equals HEAD's is skipped whole, so one staged file costs a handful of tree reads.
fn compare_dir(
    repo: &Repository,
    dir: &str,
    head: Option<Oid>,
    entries: &[IndexEntry],
    cache_tree: &HashMap<String, Oid>,
    changed: &mut Vec<(String, Oid, u32)>,
) -> Result<()> {
    if head.is_some() && cache_tree.get(dir) == head.as_ref() {
        return Ok(());
    }
    let mut in_head: HashMap<Vec<u8>, (Oid, u32)> = HashMap::new();
    if let Some(head) = head {
        let tree = repo
            .find_tree(head)
            .with_context(|| format!("cannot read tree {head} of HEAD ({dir}/)"))?;
        for entry in tree.iter() {
            in_head.insert(
                entry.name_bytes().to_vec(),
                (entry.id(), entry.filemode() as u32),
            );
        }
    }
    let prefix_len = if dir.is_empty() { 0 } else { dir.len() + 1 };
    let mut i = 0;
    while i < entries.len() {
        let entry = &entries[i];
        let relative = entry.path.get(prefix_len..).unwrap_or_default();
        match memchr::memchr(b'/', relative) {
            None => {
                let same = in_head
                    .get(relative)
                    .is_some_and(|(oid, mode)| *oid == entry.oid && *mode == entry.mode);
                if !same {
                    changed.push((lossy(&entry.path), entry.oid, entry.mode));
                }
                i += 1;
            }
            Some(slash) => {
                let name = &relative[..=slash];
                let group_prefix = &entry.path[..prefix_len + slash + 1];
                let end = i + entries[i..]
                    .iter()
                    .take_while(|e| e.path.starts_with(group_prefix))
                    .count();
                let subdir = lossy(&entry.path[..prefix_len + slash]);
                let sub_head = in_head
                    .get(&name[..slash])
                    .filter(|(_, mode)| *mode == 0o040000)
                    .map(|(oid, _)| *oid);
                compare_dir(
                    repo,
                    &subdir,
                    sub_head,
                    &entries[i..end],
                    cache_tree,
                    changed,
                )?;
                i = end;
            }
        }
    }
    Ok(())
}

/// Index entries for the given paths, from the parsed index (sorted by path).
fn parsed_entries_for_paths(
    repo: &Repository,
    index: &IndexFile,
    paths: &[PathBuf],
    stats: &ScanStats,
) -> Result<Vec<(String, Oid, u32)>> {
    let (workdir, cwd) = workdir_and_cwd(repo)?;
    let mut staged = Vec::new();
    for path in paths {
        let relative = repo_relative(&workdir, &cwd, path)?;
        let entries = &index.entries;
        let at = entries.partition_point(|e| e.path.as_ref() < relative.as_bytes());
        if let Some(entry) = entries
            .get(at)
            .filter(|e| e.path.as_ref() == relative.as_bytes())
        {
            staged.push((lossy(&entry.path), entry.oid, entry.mode));
            continue;
        }
        let prefix = if relative.is_empty() {
            String::new()
        } else {
            format!("{relative}/")
        };
        let start = entries.partition_point(|e| e.path.as_ref() < prefix.as_bytes());
        let before = staged.len();
        staged.extend(
            entries[start..]
                .iter()
                .take_while(|e| e.path.starts_with(prefix.as_bytes()))
                .map(|e| (lossy(&e.path), e.oid, e.mode)),
        );
        if staged.len() == before {
            stats.warn(format!(
                "{}: not in the index (not staged); nothing to scan",
                path.display()
            ));
        }
    }
    Ok(staged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_made_repo_relative() {
        let root = Path::new("/repo");
        assert_eq!(
            repo_relative(root, Path::new("/repo/src"), Path::new("a.rs")).unwrap(),
            "src/a.rs"
        );
        assert_eq!(
            repo_relative(root, Path::new("/repo/src"), Path::new("../b/./c.rs")).unwrap(),
            "b/c.rs"
        );
        assert_eq!(
            repo_relative(root, Path::new("/repo"), Path::new("/repo/x")).unwrap(),
            "x"
        );
        assert!(repo_relative(root, Path::new("/repo"), Path::new("../other")).is_err());
    }
}
