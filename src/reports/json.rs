//! `--format json`: the `Report` as versioned JSON (documented in the README).

use std::io::{self, Write};

use crate::findings::Report;

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    writeln!(out)
}
