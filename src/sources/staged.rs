//! The staged source: what the next commit would contain, read from the index (never from the
//! working files, which may differ from what is staged).

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use git2::{Delta, DiffOptions, Index, Oid, Repository};

use super::ScanStats;
use super::git::is_lfs_pointer;
use crate::config::ScanSettings;
use crate::findings::{
    Confidence, Encoding, FindingKind, Fingerprint, Location, Occurrence, Severity, SkipReason,
};
use crate::lints::env_files::is_env_file_path;
use crate::scanner::Scanner;

/// Rule id of the lint "an env file is staged for commit".
pub const ENV_FILE_STAGED: &str = "env-file-staged";

/// Below this many blobs, starting threads costs more than it saves.
const PARALLEL_THRESHOLD: usize = 64;

const MODE_SYMLINK: u32 = 0o120000;
const MODE_GITLINK: u32 = 0o160000;

/// One staged file: its path in the repository and the blob the index holds for it.
#[derive(Clone, Debug)]
struct StagedBlob {
    path: String,
    blob: Oid,
}

/// Opens the index git would commit: `GIT_INDEX_FILE` when git set it (`git commit -a`,
/// `git commit <paths>`), otherwise the repository's own index.
fn open_index(repo: &Repository) -> Result<Index> {
    match std::env::var_os("GIT_INDEX_FILE").filter(|v| !v.is_empty()) {
        Some(file) => {
            let mut path = PathBuf::from(&file);
            // git may name it relative to the top of the working tree.
            if path.is_relative()
                && !path.exists()
                && let Some(workdir) = repo.workdir()
            {
                path = workdir.join(&file);
            }
            Index::open(&path).with_context(|| {
                format!(
                    "cannot read the index named by GIT_INDEX_FILE ({})",
                    path.display()
                )
            })
        }
        None => repo.index().context("cannot read the git index"),
    }
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

/// Index entries for the given paths (files, or directories meaning every entry below them).
fn entries_for_paths(
    repo: &Repository,
    index: &Index,
    paths: &[PathBuf],
    stats: &ScanStats,
) -> Result<Vec<StagedBlob>> {
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

/// Scans the staged content: changed entries, or the given paths' index entries.
pub fn scan_staged(
    repo: &Repository,
    paths: &[PathBuf],
    settings: &ScanSettings,
    scanner: &Scanner,
    stats: &ScanStats,
) -> Result<Vec<Occurrence>> {
    if repo.is_bare() {
        bail!("--staged needs a repository with a working tree (this one is bare)");
    }
    let index = open_index(repo)?;
    let entries = if paths.is_empty() {
        changed_entries(repo, &index, stats)?
    } else {
        entries_for_paths(repo, &index, paths, stats)?
    };
    let mut occurrences: Vec<Occurrence> = entries
        .iter()
        .filter(|entry| is_env_file_path(&entry.path))
        .map(|entry| env_file_occurrence(&entry.path))
        .collect();
    let threads = settings.threads.min(entries.len() / PARALLEL_THRESHOLD + 1);
    if threads <= 1 {
        let odb = repo.odb().context("cannot open the object database")?;
        for entry in &entries {
            occurrences.extend(scan_entry(&odb, entry, settings, scanner, stats));
        }
        return Ok(occurrences);
    }
    let git_dir = repo.path();
    let chunk = entries.len().div_ceil(threads);
    let results: Vec<Result<Vec<Occurrence>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = entries
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || -> Result<Vec<Occurrence>> {
                    // git2 handles are not Sync: one per thread.
                    let repo = Repository::open(git_dir)?;
                    let odb = repo.odb()?;
                    Ok(part
                        .iter()
                        .flat_map(|entry| scan_entry(&odb, entry, settings, scanner, stats))
                        .collect())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a scan thread panicked")))
            })
            .collect()
    });
    for result in results {
        occurrences.extend(result?);
    }
    Ok(occurrences)
}

fn scan_entry(
    odb: &git2::Odb<'_>,
    entry: &StagedBlob,
    settings: &ScanSettings,
    scanner: &Scanner,
    stats: &ScanStats,
) -> Vec<Occurrence> {
    let corrupt = |err: git2::Error| {
        stats.skip(
            SkipReason::CorruptObject,
            Some(format!(
                "{}: the staged blob {} cannot be read ({}); skipped",
                entry.path,
                entry.blob,
                err.message()
            )),
        );
    };
    let size = match odb.read_header(entry.blob) {
        Ok((size, _)) => size as u64,
        Err(err) => {
            corrupt(err);
            return Vec::new();
        }
    };
    if size > settings.max_file_size {
        stats.skip(
            SkipReason::TooLarge,
            Some(format!(
                "{}: skipped, {size} bytes is over --max-file-size ({}); raise it to scan this file",
                entry.path, settings.max_file_size
            )),
        );
        return Vec::new();
    }
    if scanner.path_allowed(Path::new(&entry.path), false) {
        stats.skip(SkipReason::ConfigAllowed, None);
        return Vec::new();
    }
    let object = match odb.read(entry.blob) {
        Ok(object) => object,
        Err(err) => {
            corrupt(err);
            return Vec::new();
        }
    };
    let bytes = object.data();
    if is_lfs_pointer(bytes) {
        stats.skip(SkipReason::LfsPointer, None);
        return Vec::new();
    }
    stats.scanned(bytes.len() as u64);
    let result = scanner.scan_blob(&entry.path, bytes);
    stats.suppressed(result.inline_suppressed, result.config_suppressed);
    result.occurrences
}

fn env_file_occurrence(path: &str) -> Occurrence {
    Occurrence {
        rule_id: ENV_FILE_STAGED.to_owned(),
        kind: FindingKind::EnvNotIgnored,
        severity: Severity::High,
        confidence: Confidence::High,
        title: "Env file staged for commit".to_owned(),
        remediation: "unstage it (`git rm --cached <file>`) and add it to .gitignore; commit a \
                      template such as .env.example instead"
            .to_owned(),
        fingerprint: Fingerprint::for_lint(ENV_FILE_STAGED, path, ""),
        secret: None,
        location: Location {
            path: path.to_owned(),
            line: 1,
            column: 1,
            end_column: 2,
            encoding: Encoding::Plain,
            commit: None,
        },
    }
}

/// What to tell someone whose commit was just blocked.
pub const BLOCKED_COMMIT_HELP: &str = "\
tuskguard: this commit was blocked because the staged content above holds a secret.
  fix:    remove the key from the file (read it from TUSKY_API_KEY instead), then `git add` it again;
          if the key was ever pushed or shared, revoke it and create a new one.
  allow:  a false alarm? add `tuskguard:allow` in a comment on that line, or add the fingerprint
          to .tuskguardignore (one per line, with a comment saying why).
  last resort: `git commit --no-verify` skips every pre-commit check.";

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
