//! Integration tests: drive the real binary. Fake keys are built at run time (helpers::fake_key)
//! so the repository scans itself clean.

mod action;
mod helpers;
mod sarif;
mod scan;
