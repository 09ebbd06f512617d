//! One scanner for every source: runs the engine (and the content lints) over one file or blob,
//! applies inline and config allow-lists, and turns matches into occurrences.

use std::path::Path;

use anyhow::{Context, Result};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use regex::Regex;

use crate::config::ConfigFile;
use crate::engine::Engine;
use crate::engine::rules::load_rules;
use crate::lints::env_verdict::EnvLintScanner;
use crate::lints::{broad_scope, is_lint_rule};
use crate::model::{FindingKind, Fingerprint, Location, Occurrence, SecretValue};

/// The result of scanning one file or blob.
#[derive(Debug, Default)]
pub struct BlobScan {
    pub occurrences: Vec<Occurrence>,
    /// Matches silenced by `tuskguard:allow`.
    pub inline_suppressed: u64,
    /// Matches silenced by the config's secret allow-list.
    pub config_suppressed: u64,
}

pub struct Scanner {
    engine: Engine,
    allowed_secrets: Vec<Regex>,
    allowed_paths: Gitignore,
    /// Lint rule ids switched off by `disabled_rules` (the engine never sees them).
    disabled_lints: Vec<String>,
}

impl Scanner {
    /// Builds the scanner from the built-in rules and a config whose paths are relative to `root`.
    pub fn new(config: &ConfigFile, root: &Path) -> Result<Self> {
        let (disabled_lints, disabled_rules): (Vec<String>, Vec<String>) = config
            .disabled_rules
            .iter()
            .cloned()
            .partition(|id| is_lint_rule(id));
        let rules = load_rules(&config.rules, &disabled_rules)?;
        let engine = Engine::new(rules)?;
        let allowed_secrets = config
            .allowlist
            .secrets
            .iter()
            .map(|re| {
                Regex::new(re).with_context(|| format!("allowlist.secrets: invalid regex {re}"))
            })
            .collect::<Result<_>>()?;
        let mut builder = GitignoreBuilder::new(root);
        for glob in &config.allowlist.paths {
            builder
                .add_line(None, glob)
                .with_context(|| format!("allowlist.paths: invalid glob {glob}"))?;
        }
        let allowed_paths = builder.build().context("allowlist.paths")?;
        Ok(Scanner {
            engine,
            allowed_secrets,
            allowed_paths,
            disabled_lints,
        })
    }

    /// The scanner with built-in rules only and no allow-lists.
    pub fn builtin() -> Result<Self> {
        Self::new(&ConfigFile::default(), Path::new("."))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// False when the config's `disabled_rules` names this lint rule.
    pub fn lint_enabled(&self, rule_id: &str) -> bool {
        !self.disabled_lints.iter().any(|id| id == rule_id)
    }

    /// True when the config allow-lists any path (callers may then skip building paths).
    pub fn has_path_allowlist(&self) -> bool {
        !self.allowed_paths.is_empty()
    }

    /// True when the config allow-lists this path (relative to the scan root).
    pub fn path_allowed(&self, relative: &Path, is_dir: bool) -> bool {
        !self.allowed_paths.is_empty()
            && self
                .allowed_paths
                .matched_path_or_any_parents(relative, is_dir)
                .is_ignore()
    }

    /// Scans one file's bytes; `path` is how reports name it, relative to the repository root.
    pub fn scan_blob(&self, path: &str, bytes: &[u8]) -> BlobScan {
        self.scan_file_blob(path, path, bytes)
    }

    /// `scan_blob` for a file reports name `shown` (relative to the scan root, or as given) and
    /// lint fingerprints know as `stable` (relative to the repository root), so a baseline holds
    /// whichever directory the scan starts in.
    pub fn scan_file_blob(&self, shown: &str, stable: &str, bytes: &[u8]) -> BlobScan {
        self.scan_named_blob(bytes, || (shown.to_owned(), stable.to_owned()))
    }

    /// `scan_file_blob` with the names built only when something needs them (a finding, or a
    /// file the lints must read): most files of a tree have neither, and building two path
    /// strings per file was a tenth of a tree scan's CPU time.
    pub fn scan_named_blob(
        &self,
        bytes: &[u8],
        names: impl FnOnce() -> (String, String),
    ) -> BlobScan {
        let mut result = self.scan_secrets("", bytes);
        let lints_may_apply = Self::may_need_path_lints(bytes);
        if result.occurrences.is_empty() && !lints_may_apply {
            return result;
        }
        let (shown, stable) = names();
        for occurrence in &mut result.occurrences {
            occurrence.location.path.clone_from(&shown);
        }
        if lints_may_apply {
            let mut lints = BlobScan::default();
            self.add_path_lints(&stable, bytes, &mut lints);
            if shown != stable {
                for occurrence in &mut lints.occurrences {
                    occurrence.location.path.clone_from(&shown);
                }
            }
            result.inline_suppressed += lints.inline_suppressed;
            result.occurrences.extend(lints.occurrences);
        }
        result
    }

    /// The part of `scan_blob` the bytes alone decide: `path` only names the findings, so a
    /// history audit can scan a blob before it knows where the blob lives.
    pub fn scan_secrets(&self, path: &str, bytes: &[u8]) -> BlobScan {
        let mut result = BlobScan::default();
        for found in self.engine.find_secrets(bytes) {
            if found.allowed_inline {
                result.inline_suppressed += 1;
                continue;
            }
            if self
                .allowed_secrets
                .iter()
                .any(|re| re.is_match(&found.secret))
            {
                result.config_suppressed += 1;
                continue;
            }
            let rule = &self.engine.rules()[found.rule_index];
            result.occurrences.push(Occurrence {
                rule_id: rule.id.clone(),
                kind: FindingKind::Secret,
                severity: rule.severity,
                confidence: found.confidence,
                title: rule.title.clone(),
                remediation: rule.remediation.clone(),
                fingerprint: Fingerprint::for_secret(&rule.id, &found.secret),
                secret: Some(SecretValue::new(found.secret)),
                location: Location {
                    path: path.to_owned(),
                    raw_path: None,
                    line: found.line,
                    column: found.column,
                    end_column: found.end_column,
                    encoding: found.encoding,
                    commit: None,
                },
            });
        }
        result
    }

    /// Whether `add_path_lints` could find anything in these bytes (a literal prefilter).
    pub fn may_need_path_lints(bytes: &[u8]) -> bool {
        broad_scope::may_contain_request(bytes)
    }

    /// The content lints, which read a file the way its language (its path) says.
    pub fn add_path_lints(&self, path: &str, bytes: &[u8], result: &mut BlobScan) {
        // Content lints share scan_blob with secrets so tree, staged and history all get them;
        // the literal prefilter inside keeps the common file (no key-creation request) free.
        let lints = broad_scope::check(path, bytes, &|id| self.lint_enabled(id));
        result.inline_suppressed += lints.inline_suppressed;
        result.occurrences.extend(lints.occurrences);
    }
}

impl EnvLintScanner for Scanner {
    fn lint_enabled(&self, rule_id: &str) -> bool {
        Scanner::lint_enabled(self, rule_id)
    }

    fn path_allowed(&self, relative: &Path, is_dir: bool) -> bool {
        Scanner::path_allowed(self, relative, is_dir)
    }

    fn first_secret_line(&self, shown: &str, bytes: &[u8]) -> Option<usize> {
        self.scan_blob(shown, bytes)
            .occurrences
            .iter()
            .filter(|o| o.kind == FindingKind::Secret)
            .map(|o| o.location.line)
            .min()
    }
}
