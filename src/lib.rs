//! tuskguard: finds leaked Tusky API keys before they escape, and cleans up after they did.
//!
//! The folders follow the pipeline:
//! `sources` (tree, staged, history) → `engine` (rules, prefilter, match, decode, judge) →
//! `findings` (fingerprint, suppression, dedupe) → `reports` (text, json, sarif, github),
//! with `lints` (env files, broad scopes) and `tusky` (the API client) beside them.

pub mod cli;
pub mod config;
pub mod engine;
pub mod findings;
pub mod lints;
pub mod model;
pub mod reports;
pub mod scanner;
pub mod sources;
#[cfg(test)]
pub mod test_support;
pub mod time;
pub mod tusky;
