//! `tuskguard rules list|check`: show the rules in force, and prove their examples.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use serde_json::json;

use super::args::{GlobalArgs, RulesAction, RulesArgs, RulesFormat};
use super::output::{ExitStatus, write_to};
use crate::config::ConfigFile;
use crate::engine::rules::RuleDef;
use crate::lints::{LINT_RULES, broad_scope};
use crate::model::text::escape_control;
use crate::scanner::Scanner;

/// The version of `rules list --format json`; bumped only when a field is removed or changed.
const RULES_JSON_VERSION: u32 = 1;

pub fn run(global: &GlobalArgs, args: &RulesArgs) -> Result<ExitStatus> {
    let (config, _) = ConfigFile::load(args.config.as_deref(), Path::new("."), true)?;
    let scanner = Scanner::new(&config, Path::new("."))?;
    match args.action {
        RulesAction::List { format } => {
            write_to(None, false, |out| match format {
                RulesFormat::Text => list_text(&scanner, out),
                RulesFormat::Json => {
                    serde_json::to_writer_pretty(&mut *out, &list_json(&scanner))?;
                    writeln!(out)
                }
            })?;
            Ok(ExitStatus::Clean)
        }
        RulesAction::Check => check(global, &scanner),
    }
}

fn list_text(scanner: &Scanner, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "Secret rules (rules/*.toml and your config):")?;
    for rule in scanner.engine().rules() {
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
}

/// The rules in force as one JSON object (documented in the README, "Rules are data").
fn list_json(scanner: &Scanner) -> serde_json::Value {
    let rules: Vec<_> = scanner
        .engine()
        .rules()
        .iter()
        .map(|rule: &RuleDef| {
            json!({
                "id": rule.id,
                "title": rule.title,
                "severity": rule.severity,
                "confidence": rule.confidence,
                "anchors": rule.anchors,
                "judge": rule.judge,
                "remediation": rule.remediation,
                "examples": rule.examples.len(),
                "negative_examples": rule.negative_examples.len(),
            })
        })
        .collect();
    let lints: Vec<_> = LINT_RULES
        .iter()
        .map(|lint| {
            json!({
                "id": lint.id,
                "title": lint.title,
                "severity": lint.severity,
                "kind": lint.kind,
                "enabled": scanner.lint_enabled(lint.id),
            })
        })
        .collect();
    json!({ "version": RULES_JSON_VERSION, "rules": rules, "lints": lints })
}

fn check(global: &GlobalArgs, scanner: &Scanner) -> Result<ExitStatus> {
    let engine = scanner.engine();
    let mut failures = engine.check_examples();
    failures.extend(broad_scope::check_examples());
    let total: usize = engine
        .rules()
        .iter()
        .map(|r| r.examples.len() + r.negative_examples.len())
        .sum::<usize>()
        + broad_scope::example_count();
    let mut stdout = std::io::stdout().lock();
    for failure in &failures {
        // Rule examples are fake by definition, and the point of this output is to say which one
        // failed: shown in full, with control characters escaped.
        writeln!(
            stdout,
            "FAIL {}: {}\n  example: {}",
            failure.rule_id,
            failure.problem,
            escape_control(&failure.example)
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
