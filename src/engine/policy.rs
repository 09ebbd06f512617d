//! The judge's policy (`rules/policy.toml`): placeholders, dictionary words and thresholds.

use serde::Deserialize;

pub const BUILTIN_POLICY: &str = include_str!("../../rules/policy.toml");

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub key_body: KeyBodyPolicy,
    pub uuid: UuidPolicy,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyBodyPolicy {
    pub min_length: usize,
    pub max_length: usize,
    pub high_confidence_length: usize,
    pub min_class_mix_probability: f64,
    pub min_entropy_ratio: f64,
    pub max_word_coverage: f64,
    pub max_repeat_run: usize,
    pub max_sequence_run: usize,
    pub placeholder_bodies: Vec<String>,
    pub words: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UuidPolicy {
    pub placeholder_values: Vec<String>,
    pub max_repeat_run: usize,
    pub max_sequence_run: usize,
    pub min_distinct_chars: usize,
}

impl Policy {
    pub fn builtin() -> anyhow::Result<Self> {
        let mut policy: Policy = toml::from_str(BUILTIN_POLICY)
            .map_err(|e| anyhow::anyhow!("rules/policy.toml: {}", e.message()))?;
        for word in &mut policy.key_body.words {
            word.make_ascii_lowercase();
        }
        // Longest first, so the word scan prefers "environments" over "environment".
        policy
            .key_body
            .words
            .sort_by_key(|w| std::cmp::Reverse(w.len()));
        policy.key_body.words.dedup();
        Ok(policy)
    }
}
