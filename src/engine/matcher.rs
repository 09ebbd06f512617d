//! The engine proper: prefilter hits → windowed regexes → judge → matches with line and column.

use anyhow::Result;

use super::rules::RuleDef;
use crate::findings::{Confidence, Encoding};

/// One secret found in one buffer.
#[derive(Clone, Debug)]
pub struct SecretMatch {
    /// Index into `Engine::rules()`.
    pub rule_index: usize,
    pub secret: String,
    pub confidence: Confidence,
    /// 1-based line and character columns (end exclusive) in the file as stored.
    pub line: usize,
    pub column: usize,
    pub end_column: usize,
    pub encoding: Encoding,
    /// The line (or the line before) carries `tuskguard:allow`.
    pub allowed_inline: bool,
}

pub struct Engine {
    rules: Vec<RuleDef>,
}

impl Engine {
    pub fn new(rules: Vec<RuleDef>) -> Result<Self> {
        Ok(Engine { rules })
    }

    pub fn rules(&self) -> &[RuleDef] {
        &self.rules
    }

    /// Every secret in `bytes` (any encoding the engine knows), in order of position.
    pub fn find_secrets(&self, bytes: &[u8]) -> Vec<SecretMatch> {
        let _ = bytes;
        Vec::new()
    }
}
