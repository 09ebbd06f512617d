//! The validated configuration: the optional `.tuskguard.toml`, and the typed settings every
//! scanning command shares (built from the command line by `cli`, checked once before any
//! scanning starts).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::engine::rules::RuleDef;
use crate::model::limited::MAX_CONFIG_BYTES;

pub const DEFAULT_CONFIG_FILE: &str = ".tuskguard.toml";
pub const DEFAULT_MAX_FILE_SIZE: u64 = 50 * 1024 * 1024;

/// The `.tuskguard.toml` file as written by users.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub allowlist: AllowlistConfig,
    /// Built-in rule ids to switch off.
    #[serde(default)]
    pub disabled_rules: Vec<String>,
    /// Custom rules; a custom rule with a built-in id replaces the built-in one.
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleDef>,
    /// Accepted only to be ignored: the API URL comes from `--api-url` / `TUSKY_API_URL`, never
    /// from a file inside the scanned repository, which could send every key to its own server.
    #[serde(default, alias = "api-url", alias = "tusky_api_url")]
    pub api_url: Option<toml::Value>,
    /// `[api]` tables get the same treatment.
    #[serde(default)]
    pub api: Option<toml::Value>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistConfig {
    /// gitignore-style globs, relative to the scan root; matching files are not scanned (counted).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Regexes; a secret that matches one is not reported.
    #[serde(default)]
    pub secrets: Vec<String>,
}

impl ConfigFile {
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        toml::from_str(text).map_err(|err| {
            anyhow::anyhow!("{}: invalid config: {}", path.display(), err.message()).context(
                format!("fix {} or pass --config with another file", path.display()),
            )
        })
    }

    /// Loads `--config FILE` (which must exist) or the default file at `root` (if present).
    pub fn load(
        explicit: Option<&Path>,
        root: &Path,
        repo_config: bool,
    ) -> Result<(Self, Option<PathBuf>)> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None if !repo_config => return Ok((ConfigFile::default(), None)),
            None => {
                let default = root.join(DEFAULT_CONFIG_FILE);
                if !default.is_file() {
                    return Ok((ConfigFile::default(), None));
                }
                default
            }
        };
        let text = crate::model::limited::read_file_limited(&path, MAX_CONFIG_BYTES)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Ok((Self::parse(&text, &path)?, Some(path)))
    }
}

impl ConfigFile {
    /// One sentence per built-in rule (`builtin_ids`) this file switches off or replaces.
    pub fn weakened_builtins(&self, path: &Path, builtin_ids: &[String]) -> Vec<String> {
        let builtin = |id: &String| builtin_ids.contains(id);
        let disabled = self
            .disabled_rules
            .iter()
            .filter(|id| builtin(id))
            .map(|id| {
                format!(
                    "{}: built-in rule {id} is switched off (disabled_rules); findings it would \
                 report are not looked for. Pass --no-repo-config to scan with the built-in rules",
                    path.display()
                )
            });
        let replaced = self.rules.iter().filter(|r| builtin(&r.id)).map(|r| {
            format!(
                "{}: built-in rule {} is replaced by a custom [[rule]] with the same id; \
                 pass --no-repo-config to scan with the built-in rules",
                path.display(),
                r.id
            )
        });
        disabled.chain(replaced).collect()
    }

    /// The warning for API settings the file tried to make, if any.
    pub fn ignored_api_settings(&self, path: &Path) -> Option<String> {
        (self.api_url.is_some() || self.api.is_some()).then(|| {
            format!(
                "{}: the API URL is ignored in config files (a repository must not redirect keys); \
                 use --api-url or TUSKY_API_URL",
                path.display()
            )
        })
    }
}

/// Options every scanning command shares, validated.
#[derive(Debug, Clone)]
pub struct ScanSettings {
    pub max_file_size: u64,
    pub threads: usize,
    pub respect_ignore: bool,
    pub baseline: Option<PathBuf>,
    /// `--verbose`: say what the run loaded and what ignore rules hid (costs one more walk).
    pub explain: bool,
    /// False with `--no-repo-config`: the scanned tree's own `.tuskguard.toml` is not read (a
    /// file named with `--config` still is).
    pub repo_config: bool,
    /// `history --memory-budget` (MiB): what the audit's growing parts may keep in memory
    /// (`sources::budget`).
    pub memory_budget_mib: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_url_in_config_is_accepted_and_flagged() {
        let path = Path::new(".tuskguard.toml");
        let config = ConfigFile::parse("api_url = \"https://evil.example\"", path).unwrap();
        assert!(config.ignored_api_settings(path).is_some());
        let config = ConfigFile::parse("[api]\nurl = \"https://evil.example\"", path).unwrap();
        assert!(config.ignored_api_settings(path).is_some());
        assert!(ConfigFile::default().ignored_api_settings(path).is_none());
    }

    #[test]
    fn config_rejects_unknown_keys_with_path() {
        let err = ConfigFile::parse("colour = 1", Path::new("cfg.toml")).unwrap_err();
        assert!(format!("{err:#}").contains("cfg.toml"));
    }
}
