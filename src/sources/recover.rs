//! Getting the keys back for a saved report. A JSON report holds no plaintext key (unless it was
//! written with `--show-secrets`), so each finding's key is read again from where the report says
//! it was — `root` + `location.path` in the working tree, or the blob at `commit:path` for history
//! locations — by scanning those bytes with the same scanner and keeping the occurrence whose
//! fingerprint is the finding's. A file that changed since the scan simply yields no key: the
//! finding is then `unknown`, never matched by guesswork.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::config::ConfigFile;
use crate::findings::{Finding, FindingKind, Fingerprint, Location, Report, SecretValue};
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
    let scanner = repo_scanner(&scan_root);
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
        let Some(bytes) = reader.read(location) else {
            continue;
        };
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
    None
}

/// Reads working-tree files and history blobs, each once.
struct LocationReader {
    root: PathBuf,
    scan_root: PathBuf,
    repo: Option<Option<git2::Repository>>,
    cache: HashMap<(Option<String>, String), Option<Vec<u8>>>,
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

    fn read(&mut self, location: &Location) -> Option<Vec<u8>> {
        let commit = location.commit.as_ref().map(|c| c.id.clone());
        let cache_key = (commit.clone(), location.path.clone());
        if let Some(cached) = self.cache.get(&cache_key) {
            return cached.clone();
        }
        let bytes = match &commit {
            Some(id) => self.read_blob(id, &location.path),
            None => self.read_file(&location.path),
        };
        self.cache.insert(cache_key, bytes.clone());
        bytes
    }

    fn read_file(&self, path: &str) -> Option<Vec<u8>> {
        // A single-file scan reports the file by the name it was given.
        let candidates = [self.scan_root.join(path), self.root.clone()];
        candidates
            .iter()
            .filter(|p| p.is_file())
            .find_map(|p| std::fs::read(p).ok())
    }

    fn read_blob(&mut self, commit: &str, path: &str) -> Option<Vec<u8>> {
        let scan_root = self.scan_root.clone();
        let repo = self
            .repo
            .get_or_insert_with(|| git2::Repository::discover(&scan_root).ok())
            .as_ref()?;
        let oid = git2::Oid::from_str(commit).ok()?;
        let tree = repo.find_commit(oid).ok()?.tree().ok()?;
        let entry = tree.get_path(Path::new(path)).ok()?;
        let blob = entry.to_object(repo).ok()?.peel_to_blob().ok()?;
        Some(blob.content().to_vec())
    }
}
