//! `--format github`: workflow annotations and a step summary.

use std::io::{self, Write};

use crate::findings::Report;

pub fn write(_report: &Report, _out: &mut dyn Write) -> io::Result<()> {
    Err(io::Error::other("--format github is not available yet"))
}
