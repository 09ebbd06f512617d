//! Secrets in memory and their redacted form. A `SecretValue` never prints itself.

use std::fmt;

/// A full secret held in memory. `Debug` is redacted so a stray `{:?}` cannot leak it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }

    /// The full key. Callers must not print it unless the user asked (`--show-secrets`).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn redacted(&self) -> String {
        redact(&self.0)
    }

    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue({})", self.redacted())
    }
}

/// Keeps the key's known prefix and four characters of its body: enough to recognise it in the
/// dashboard, far too little to use it.
pub fn redact(secret: &str) -> String {
    const VISIBLE_BODY: usize = 4;
    let prefix_len = ["tsk_live_", "tsk_test_"]
        .iter()
        .find(|p| secret.starts_with(*p))
        .map_or(0, |p| p.len());
    let (prefix, body) = secret.split_at(prefix_len);
    let shown: String = body.chars().take(VISIBLE_BODY).collect();
    format!("{prefix}{shown}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_prefix_and_four_body_chars() {
        let key = crate::test_support::live_key(902);
        assert_eq!(redact(&key), format!("tsk_live_{}…", &key[9..13]));
        assert_eq!(redact("0b1c2d3e-aaaa-bbbb-cccc-123456789abc"), "0b1c…");
    }

    #[test]
    fn debug_does_not_leak() {
        let key = crate::test_support::test_key(903);
        let shown = format!("{:?}", SecretValue::new(key.clone()));
        assert!(!shown.contains(&key));
    }
}
