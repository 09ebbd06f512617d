//! Getting the keys back for a saved report. A JSON report holds no plaintext key (unless it was
//! written with `--show-secrets`), so each finding's key is read again from where the report says
//! it was — `root` + `location.path` in the working tree, or the blob at `commit:path` for history
//! locations — by scanning those bytes with the same scanner and keeping the occurrence whose
//! fingerprint is the finding's. A file that changed since the scan simply yields no key: the
//! finding is then `unknown`, never matched by guesswork.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::anchor::Anchors;
use crate::config::ConfigFile;
use crate::findings::{Finding, FindingKind, Fingerprint, Location, Report, SecretValue};
use crate::model::text::path_from_raw;
use crate::scanner::Scanner;

/// How the keys of a report were found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    pub from_report: usize,
    pub from_locations: usize,
    pub missing: usize,
    /// `secret.value` present but not the key of this fingerprint (edited report?).
    pub mismatched: usize,
}

pub fn recover_keys(report: &mut Report) -> Recovered {
    let root = PathBuf::from(&report.root);
    let scan_root = if root.is_file() {
        root.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        root.clone()
    };
    // The scan read its config at the repository root (see `sources::anchor`), so custom rule
    // ids are found again there, also for a report of a subdirectory.
    let config_dir = Anchors::new(std::slice::from_ref(&scan_root))
        .config_dir()
        .to_path_buf();
    let scanner = repo_scanner(&config_dir);
    let mut reader = LocationReader::new(&root, &scan_root);
    let mut counts = Recovered::default();
    for finding in &mut report.findings {
        if finding.kind != FindingKind::Secret || finding.secret_value.is_some() {
            continue;
        }
        if let Some(value) = finding.secret.as_ref().and_then(|s| s.value.clone()) {
            if Fingerprint::for_secret(&finding.rule_id, &value).as_str() == finding.fingerprint {
                finding.secret_value = Some(SecretValue::new(value));
                counts.from_report += 1;
            } else {
                counts.mismatched += 1;
            }
            continue;
        }
        match scanner
            .as_ref()
            .and_then(|scanner| find_in_locations(finding, scanner, &mut reader))
        {
            Some(key) => {
                finding.secret_value = Some(key);
                counts.from_locations += 1;
            }
            None => counts.missing += 1,
        }
    }
    counts
}

/// The scanner of the scan that wrote the report: built-in rules plus the root's config, so
/// custom rule ids are found again. (The config cannot redirect keys: it has no API URL.)
fn repo_scanner(root: &Path) -> Option<Scanner> {
    ConfigFile::load(None, root, true)
        .ok()
        .and_then(|(config, _)| Scanner::new(&config, root).ok())
        .or_else(|| Scanner::builtin().ok())
}

fn find_in_locations(
    finding: &Finding,
    scanner: &Scanner,
    reader: &mut LocationReader,
) -> Option<SecretValue> {
    for location in &finding.locations {
        for bytes in reader.read(location) {
            let found = scanner
                .scan_blob(&location.path, &bytes)
                .occurrences
                .into_iter()
                .find(|o| o.fingerprint.as_str() == finding.fingerprint)
                .and_then(|o| o.secret);
            if found.is_some() {
                return found;
            }
        }
    }
    None
}

/// Reads working-tree files and history blobs, each once.
struct LocationReader {
    root: PathBuf,
    scan_root: PathBuf,
    repo: Option<Option<git2::Repository>>,
    cache: HashMap<(Option<String>, String), Vec<Vec<u8>>>,
}

impl LocationReader {
    fn new(root: &Path, scan_root: &Path) -> Self {
        LocationReader {
            root: root.to_owned(),
            scan_root: scan_root.to_owned(),
            repo: None,
            cache: HashMap::new(),
        }
    }

    /// The bytes a location may name: one file, or (for a history path that is not UTF-8) every
    /// blob whose name reads the same; the caller keeps the one holding the fingerprint's key.
    fn read(&mut self, location: &Location) -> Vec<Vec<u8>> {
        let commit = location.commit.as_ref().map(|c| c.id.clone());
        let cache_key = (
            commit.clone(),
            location
                .raw_path
                .clone()
                .unwrap_or_else(|| location.path.clone()),
        );
        if let Some(cached) = self.cache.get(&cache_key) {
            return cached.clone();
        }
        let bytes = match &commit {
            Some(id) => self.read_blobs(id, &location.path),
            None => match location.raw_path.as_deref().and_then(path_from_raw) {
                // A name that is not UTF-8: the report shows it lossily and keeps its bytes.
                Some(exact) => self.read_file(&exact),
                None => self.read_file(Path::new(&location.path)),
            },
        };
        self.cache.insert(cache_key, bytes.clone());
        bytes
    }

    /// The files a report's path may name: relative to the one directory root, as given (a
    /// report of several roots names files as given, from the directory the scan ran in), or the
    /// root itself (a single-file scan). The caller keeps the one holding the fingerprint's key.
    fn read_file(&self, path: &Path) -> Vec<Vec<u8>> {
        let mut candidates = vec![
            self.scan_root.join(path),
            path.to_path_buf(),
            self.root.clone(),
        ];
        candidates.dedup();
        candidates
            .iter()
            .filter(|p| p.is_file())
            .filter_map(|p| std::fs::read(p).ok())
            .collect()
    }

    fn read_blobs(&mut self, commit: &str, path: &str) -> Vec<Vec<u8>> {
        let scan_root = self.scan_root.clone();
        let Some(repo) = self
            .repo
            .get_or_insert_with(|| git2::Repository::discover(&scan_root).ok())
            .as_ref()
        else {
            return Vec::new();
        };
        let Some(tree) = git2::Oid::from_str(commit)
            .ok()
            .and_then(|oid| repo.find_commit(oid).ok())
            .and_then(|commit| commit.tree().ok())
        else {
            return Vec::new();
        };
        if let Ok(entry) = tree.get_path(Path::new(path)) {
            return entry
                .to_object(repo)
                .ok()
                .and_then(|object| object.peel_to_blob().ok())
                .map(|blob| vec![blob.content().to_vec()])
                .unwrap_or_default();
        }
        // History names paths lossily (U+FFFD for bytes that are not UTF-8): follow every entry
        // whose name reads the same.
        // Only a path that holds U+FFFD can differ from its lossy spelling.
        let mut blobs = Vec::new();
        if !path.contains('\u{FFFD}') {
            return blobs;
        }
        let parts: Vec<&str> = path.split('/').collect();
        lossy_blobs(repo, &tree, &parts, &mut blobs);
        blobs
    }
}

/// Blobs at `parts` below `tree`, matching each entry's name as reports spell it (lossy UTF-8).
fn lossy_blobs(repo: &git2::Repository, tree: &git2::Tree, parts: &[&str], out: &mut Vec<Vec<u8>>) {
    const MAX_CANDIDATES: usize = 64;
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    for entry in tree.iter() {
        if out.len() >= MAX_CANDIDATES || String::from_utf8_lossy(entry.name_bytes()) != *first {
            continue;
        }
        let Ok(object) = entry.to_object(repo) else {
            continue;
        };
        if rest.is_empty() {
            if let Ok(blob) = object.peel_to_blob() {
                out.push(blob.content().to_vec());
            }
        } else if let Ok(subtree) = object.peel_to_tree() {
            lossy_blobs(repo, &subtree, rest, out);
        }
    }
}
