//! `tuskguard install-hook`: a plain git pre-commit hook.

use anyhow::{Result, bail};

use super::args::{GlobalArgs, InstallHookArgs};
use super::output::ExitStatus;

pub fn run(_global: &GlobalArgs, _args: &InstallHookArgs) -> Result<ExitStatus> {
    bail!("`tuskguard install-hook` is not available yet")
}
