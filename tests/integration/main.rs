//! Integration tests: drive the real binary. Fake keys are built at run time (helpers::fake_key)
//! so the repository scans itself clean.

mod action;
mod api;
mod fake_tusky;
mod helpers;
mod history;
mod lints;
mod sarif;
mod scan;
mod staged;
