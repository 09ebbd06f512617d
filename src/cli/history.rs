//! `tuskguard history`: every blob reachable from every ref, once.

use anyhow::{Result, bail};

use super::args::{GlobalArgs, HistoryArgs};
use super::output::ExitStatus;

pub fn run(_global: &GlobalArgs, _args: &HistoryArgs) -> Result<ExitStatus> {
    bail!("`tuskguard history` is not available yet")
}
