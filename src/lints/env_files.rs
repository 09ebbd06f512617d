//! Which files are env files. The name policy is data (`rules/env-files.toml`).

use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvFilePolicy {
    pub exact: Vec<String>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    pub templates: Vec<String>,
}

impl EnvFilePolicy {
    /// The built-in policy, parsed once.
    pub fn builtin() -> &'static EnvFilePolicy {
        static POLICY: OnceLock<EnvFilePolicy> = OnceLock::new();
        POLICY.get_or_init(|| {
            toml::from_str(include_str!("../../rules/env-files.toml"))
                .expect("rules/env-files.toml is valid (checked by a unit test)")
        })
    }

    /// True for `.env`, `.env.local`, `prod.env`…; false for templates like `.env.example`.
    pub fn is_env_file_name(&self, name: &str) -> bool {
        if self.templates.iter().any(|t| t == name) {
            return false;
        }
        self.exact.iter().any(|e| e == name)
            || self
                .prefixes
                .iter()
                .any(|p| name.len() > p.len() && name.starts_with(p.as_str()))
            || self
                .suffixes
                .iter()
                .any(|s| name.len() > s.len() && name.ends_with(s.as_str()))
    }
}

/// True when the last component of a `/`-separated path is an env file name.
pub fn is_env_file_path(path: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    EnvFilePolicy::builtin().is_env_file_name(name)
}

/// Every env-file name pattern contains "env" (a unit test holds the policy to that), so a
/// name without it needs no policy check: the history walk asks this of every new tree entry's
/// name before it builds the entry's path.
pub fn might_be_env_file(name: &[u8]) -> bool {
    // Names are short and this runs for every blob entry of every new tree: a plain scan beats
    // building a substring searcher per call.
    name.windows(3).any(|window| window == b"env")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_env_file_pattern_passes_the_prefilter() {
        let policy = EnvFilePolicy::builtin();
        for pattern in policy
            .exact
            .iter()
            .chain(&policy.prefixes)
            .chain(&policy.suffixes)
        {
            assert!(might_be_env_file(pattern.as_bytes()), "{pattern}");
        }
    }

    #[test]
    fn env_file_names() {
        for yes in [
            ".env",
            ".env.local",
            ".env.production",
            "prod.env",
            "config/.env",
        ] {
            assert!(is_env_file_path(yes), "{yes}");
        }
        for no in [
            ".env.example",
            ".env.sample",
            ".env.template",
            ".env.dist",
            ".env.defaults",
            "env",
            ".envrc",
            "README.md",
            "environment.ts",
        ] {
            assert!(!is_env_file_path(no), "{no}");
        }
    }
}
