//! The lint's examples and negative examples (`rules/broad-scope-examples.toml`): whole files,
//! each with the findings it must give, proven by `tuskguard rules check` and a unit test, as
//! every secret rule's examples are.

use std::sync::OnceLock;

use serde::Deserialize;

use super::check;
use crate::engine::matcher::ExampleFailure;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleFile {
    #[serde(rename = "example")]
    examples: Vec<Example>,
    #[serde(rename = "negative_example")]
    negative_examples: Vec<NegativeExample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Example {
    /// The file name: it decides how the text is read (`.yaml`, `.json`, `.http`…).
    path: String,
    text: String,
    /// The findings, in order, as `rule-id:line`.
    expect: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NegativeExample {
    path: String,
    text: String,
}

fn examples() -> &'static ExampleFile {
    static FILE: OnceLock<ExampleFile> = OnceLock::new();
    FILE.get_or_init(|| {
        toml::from_str(include_str!("../../../rules/broad-scope-examples.toml"))
            .expect("rules/broad-scope-examples.toml is valid (checked by a unit test)")
    })
}

/// How many examples and negative examples the lint carries.
pub fn example_count() -> usize {
    let file = examples();
    file.examples.len() + file.negative_examples.len()
}

/// Every example that does not give exactly its expected findings (each with its own
/// fingerprint), and every negative example that gives any.
pub fn check_examples() -> Vec<ExampleFailure> {
    let file = examples();
    let mut failures = Vec::new();
    for example in &file.examples {
        let found = check(&example.path, example.text.as_bytes(), &|_| true).occurrences;
        let got: Vec<String> = found
            .iter()
            .map(|o| format!("{}:{}", o.rule_id, o.location.line))
            .collect();
        let mut fingerprints: Vec<_> = found.iter().map(|o| &o.fingerprint).collect();
        fingerprints.sort();
        fingerprints.dedup();
        let problem = if got != example.expect {
            Some(format!("expected {:?}, got {got:?}", example.expect))
        } else if fingerprints.len() != found.len() {
            Some(format!("two findings share a fingerprint: {got:?}"))
        } else {
            None
        };
        if let Some(problem) = problem {
            failures.push(failure(&example.path, &example.expect, problem));
        }
    }
    for example in &file.negative_examples {
        let found = check(&example.path, example.text.as_bytes(), &|_| true).occurrences;
        if !found.is_empty() {
            let got: Vec<String> = found
                .iter()
                .map(|o| format!("{}:{}", o.rule_id, o.location.line))
                .collect();
            failures.push(failure(
                &example.path,
                &[],
                format!("negative example matched {got:?}"),
            ));
        }
    }
    failures
}

fn failure(path: &str, expect: &[String], problem: String) -> ExampleFailure {
    let rule_id = expect
        .first()
        .and_then(|e| e.split(':').next())
        .unwrap_or("broad-scope")
        .to_owned();
    ExampleFailure {
        rule_id,
        example: format!("{path} (rules/broad-scope-examples.toml)"),
        problem,
    }
}
