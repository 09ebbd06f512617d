//! `tuskguard rules list|check`.

use anyhow::Result;

use super::args::{GlobalArgs, RulesArgs};
use super::output::ExitStatus;

pub fn run(_global: &GlobalArgs, _args: &RulesArgs) -> Result<ExitStatus> {
    anyhow::bail!("`tuskguard rules` is not available yet")
}
