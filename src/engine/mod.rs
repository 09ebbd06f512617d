//! The detection engine: rules compiled once, a literal prefilter over the raw bytes, regexes run
//! only near prefilter hits, decoders for encoded forms, and a judge that tells keys from
//! placeholders. An `Engine` is `Send + Sync` and shared by every worker.

pub mod decode;
pub mod inline;
pub mod judge;
pub mod matcher;
pub mod policy;
pub mod prefilter;
pub mod rules;

pub use matcher::{Engine, SecretMatch};
