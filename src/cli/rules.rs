//! `tuskguard rules list|check`: show the rules in force, and prove their examples.

use std::io::Write;
use std::path::Path;

use anyhow::Result;

use super::args::{GlobalArgs, RulesAction, RulesArgs};
use super::output::{ExitStatus, write_to};
use crate::config::ConfigFile;
use crate::lints::LINT_RULES;
use crate::scanner::Scanner;

pub fn run(global: &GlobalArgs, args: &RulesArgs) -> Result<ExitStatus> {
    let (config, _) = ConfigFile::load(args.config.as_deref(), Path::new("."))?;
    let scanner = Scanner::new(&config, Path::new("."))?;
    let engine = scanner.engine();
    match args.action {
        RulesAction::List => {
            write_to(None, |out| {
                writeln!(out, "Secret rules (rules/*.toml and your config):")?;
                for rule in engine.rules() {
                    let severity = rule.severity.to_string();
                    writeln!(out, "{:<24} {severity:<9} {}", rule.id, rule.title)?;
                    writeln!(out, "{:<24} anchors: {}", "", rule.anchors.join(", "))?;
                    writeln!(
                        out,
                        "{:<24} {} examples, {} negative examples",
                        "",
                        rule.examples.len(),
                        rule.negative_examples.len()
                    )?;
                }
                writeln!(
                    out,
                    "\nLints (built in; `disabled_rules` in the config switches one off):"
                )?;
                for lint in LINT_RULES {
                    let severity = lint.severity.to_string();
                    let state = if scanner.lint_enabled(lint.id) {
                        ""
                    } else {
                        " (disabled by config)"
                    };
                    writeln!(out, "{:<24} {severity:<9} {}{state}", lint.id, lint.title)?;
                    writeln!(out, "{:<24} kind: {}", "", lint.kind)?;
                }
                Ok(())
            })?;
            Ok(ExitStatus::Clean)
        }
        RulesAction::Check => {
            let failures = engine.check_examples();
            let total: usize = engine
                .rules()
                .iter()
                .map(|r| r.examples.len() + r.negative_examples.len())
                .sum();
            let mut stdout = std::io::stdout().lock();
            for failure in &failures {
                // Examples are fake keys by definition, but redact anyway: rule files are user input.
                let shown = crate::findings::redact(&failure.example);
                writeln!(
                    stdout,
                    "FAIL {}: {} ({shown})",
                    failure.rule_id, failure.problem
                )?;
            }
            if !global.quiet || !failures.is_empty() {
                writeln!(
                    stdout,
                    "{} rules, {} examples checked, {} failed",
                    engine.rules().len(),
                    total,
                    failures.len()
                )?;
            }
            Ok(if failures.is_empty() {
                ExitStatus::Clean
            } else {
                ExitStatus::Findings
            })
        }
    }
}
