//! Reports: one module per format. Each takes the finished `Report` and writes it; none of them
//! decides what is a finding.

pub mod github;
pub mod json;
mod revocation;
pub mod sarif;
pub mod text;

use std::io::{self, Write};

use crate::findings::Report;

/// The report formats (`--format`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
}

/// Presentation choices that do not change the report's content.
#[derive(Clone, Copy, Debug, Default)]
pub struct RenderOptions {
    pub color: bool,
    pub quiet: bool,
    pub verbose: bool,
}

pub fn write_report(
    report: &Report,
    format: Format,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::write(report, options, out),
        Format::Json => json::write(report, out),
        Format::Sarif => sarif::write(report, out),
        Format::Github => github::write(report, out),
    }
}
