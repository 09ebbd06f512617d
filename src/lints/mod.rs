//! Lints: env files git would commit, and over-broad key scopes.

pub mod env_files;
