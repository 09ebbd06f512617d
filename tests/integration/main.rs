//! Integration tests: drive the real binary. Fake keys are built at run time (test_support, shared with the unit tests)
//! so the repository scans itself clean.

mod action;
mod action_install;
mod action_truth;
mod api;
mod cut;
mod everyday;
mod fake_tusky;
mod help;
mod helpers;
mod history;
mod history_reach;
mod hostile_input;
mod key_definitions;
mod lints;
mod pre_push;
mod sarif;
mod scan;
mod scan_start;
mod staged;
#[path = "../../src/test_support.rs"]
mod test_support;
mod trust;
