//! tuskguard: finds leaked Tusky API keys before they escape, and cleans up after they did.
//!
//! The folders follow the pipeline:
//! `sources` (tree, staged, history) → `scanner` (the `engine`: rules, prefilter, match, decode,
//! judge; and the `lints`: env files, broad scopes) → `findings` (collect, suppress, build the
//! report) → `reports` (text, json, sarif, github), with `tusky` (verify, revoke, audit log) after
//! them. `model` is the bottom layer every stage shares; `config` holds the validated settings.
//! `pipeline` runs each mode from typed settings to the finished report. `cli` is the edge:
//! nothing else refers to it.

pub mod cli;
pub mod config;
pub mod engine;
pub mod findings;
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
#[cfg(test)]
mod layers;
pub mod lints;
pub mod model;
pub mod pipeline;
pub mod reports;
pub mod scanner;
pub mod sources;
#[cfg(any(test, fuzzing))]
pub mod test_support;
pub mod time;
pub mod tusky;
pub mod workers;
