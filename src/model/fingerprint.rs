//! Content-stable fingerprints (SPEC §5): a hash of the rule and the secret, never of the line or
//! commit, so a baseline survives moved lines, squashes and rebases.

use sha2::{Digest, Sha256};

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// For secrets: (rule id, secret value).
    pub fn for_secret(rule_id: &str, secret: &str) -> Self {
        Self::from_parts(&["secret", rule_id, secret])
    }

    /// For lint findings: (rule id, path, normalised offending text).
    pub fn for_lint(rule_id: &str, path: &str, offending_text: &str) -> Self {
        let normalised: String = offending_text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Self::from_parts(&["lint", rule_id, path, &normalised])
    }

    fn from_parts(parts: &[&str]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            // Length-prefixing keeps ("ab","c") and ("a","bc") apart.
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Fingerprint(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_secret_same_fingerprint_other_secret_differs() {
        let a = Fingerprint::for_secret("tusky-live-key", "k1");
        assert_eq!(a, Fingerprint::for_secret("tusky-live-key", "k1"));
        assert_ne!(a, Fingerprint::for_secret("tusky-live-key", "k2"));
        assert_ne!(a, Fingerprint::for_secret("tusky-test-key", "k1"));
        assert_eq!(a.as_str().len(), 32);
    }

    #[test]
    fn lint_fingerprint_ignores_whitespace_changes() {
        let a = Fingerprint::for_lint("r", "p", "scopes:  null");
        assert_eq!(a, Fingerprint::for_lint("r", "p", "scopes: null"));
    }
}
