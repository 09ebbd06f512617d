//! The command line: raw arguments are parsed once by clap, turned into a validated config, and
//! dispatched to one module per command.

mod args;
mod baseline;
mod examples;
mod history;
mod install_hook;
mod output;
mod pre_push;
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
            let _ = writeln!(io::stderr(), "tuskguard: error: {}", describe(&err));
            ExitStatus::Error.code()
        }
    }
}

/// The error and its causes, `: `-separated like `{:#}`, but libgit2 errors give only their
/// message: `class=Repository (6); code=NotFound (-3)` helps nobody who reads it.
fn describe(err: &anyhow::Error) -> String {
    err.chain()
        .map(|cause| match cause.downcast_ref::<git2::Error>() {
            Some(git) => git.message().to_owned(),
            None => cause.to_string(),
        })
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libgit2_class_and_code_are_left_out_of_errors() {
        let git = git2::Error::new(
            git2::ErrorCode::NotFound,
            git2::ErrorClass::Repository,
            "could not find repository at 'x'",
        );
        assert!(git.to_string().contains("class="), "{git}");
        let err = anyhow::Error::new(git).context("x: not a git repository");
        assert_eq!(
            describe(&err),
            "x: not a git repository: could not find repository at 'x'"
        );
    }
}
