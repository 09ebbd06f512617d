//! The command line: raw arguments are parsed once by clap, turned into a validated config, and
//! dispatched to one module per command.

mod args;
mod baseline;
mod history;
mod install_hook;
mod output;
mod rules;
mod scan;
mod staged;
mod values;
mod verify;

use std::io::{self, Write};

use clap::Parser;

pub use args::*;
pub use output::{ExitStatus, finish_with};

/// Runs the CLI and returns the process exit code (0 clean, 1 findings, 2 error).
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                ExitStatus::Error.code()
            } else {
                0
            };
            // Help and version go to stdout; a closed pipe there is not an error.
            let _ = err.print();
            return code;
        }
    };
    let result = match &cli.command {
        Command::Scan(args) => scan::run(&cli.global, args),
        Command::History(args) => history::run(&cli.global, args),
        Command::Verify(args) => verify::run_verify(&cli.global, args),
        Command::Revoke(args) => verify::run_revoke(&cli.global, args),
        Command::Baseline(args) => baseline::run(&cli.global, args),
        Command::Rules(args) => rules::run(&cli.global, args),
        Command::InstallHook(args) => install_hook::run(&cli.global, args),
    };
    match result {
        Ok(status) => status.code(),
        Err(err) if output::is_broken_pipe(&err) => ExitStatus::Clean.code(),
        Err(err) => {
            let _ = writeln!(io::stderr(), "tuskguard: error: {err:#}");
            ExitStatus::Error.code()
        }
    }
}
