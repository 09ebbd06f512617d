//! Integration tests: drive the real binary. Fake keys are built at run time (helpers::fake_key)
//! so the repository scans itself clean.

mod api;
mod fake_tusky;
mod helpers;
mod lints;
mod history;
mod scan;
mod staged;
