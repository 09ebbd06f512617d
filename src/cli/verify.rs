//! `tuskguard verify` and `tuskguard revoke`: the opt-in online half.

use anyhow::{Result, bail};

use super::args::{GlobalArgs, RevokeArgs, VerifyArgs};
use super::output::ExitStatus;

pub fn run_verify(_global: &GlobalArgs, _args: &VerifyArgs) -> Result<ExitStatus> {
    bail!("`tuskguard verify` is not available yet")
}

pub fn run_revoke(_global: &GlobalArgs, _args: &RevokeArgs) -> Result<ExitStatus> {
    bail!("`tuskguard revoke` is not available yet")
}
