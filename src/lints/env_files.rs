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

#[cfg(test)]
mod tests {
    use super::*;

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
