//! Policy judgement: a recognised request's scopes held against `rules/scopes.toml` (admin,
//! every scope, sensitive writes, unknown names), and the finding each verdict becomes.

use super::super::scopes::ScopePolicy;
use super::super::{ADMIN_KEY_CREATED, BROAD_SCOPES, UNKNOWN_SCOPE, WRITE_SCOPES, lint_rule};
use super::{Request, ScopesValue};
use crate::lints::text::{LineIndex, ceil_boundary, floor_boundary};
use crate::model::text::escape_control;
use crate::model::{
    Confidence, Encoding, FindingKind, Fingerprint, Location, Occurrence, Severity,
};

/// Bytes around a request searched for hints of what the key is for (minified files have no
/// useful lines).
const CONTEXT_BYTES: usize = 4 * 1024;
/// Bytes of the request line that name it (fingerprint, end column).
pub(super) const REQUEST_TEXT_BYTES: usize = 160;

/// One lint verdict on one request.
pub(super) struct Verdict {
    pub(super) rule_id: &'static str,
    confidence: Confidence,
    title: String,
    remediation: String,
    /// The normalised offending text the fingerprint is built from.
    offending: String,
}

pub(super) fn judge(
    request: &Request,
    text: &str,
    index: &LineIndex,
    policy: &ScopePolicy,
) -> Vec<Verdict> {
    let request_line = match request.definition {
        Some((from, to)) => definition_text(&text[from..to]),
        None => request_text(text, index, request).to_owned(),
    };
    let window = policy.hint_window_lines();
    let context_from = index
        .start_lines_before(request.start, window)
        .max(floor_boundary(
            text,
            request.start.saturating_sub(CONTEXT_BYTES),
        ));
    let context_to = index
        .end_lines_after(request.start, window)
        .min(ceil_boundary(text, request.start + CONTEXT_BYTES))
        .max(context_from);
    let advice = match policy.suggest(&text[context_from..context_to]) {
        Some(scopes) => format!(
            "the surrounding code suggests {} is enough",
            json_list(&scopes)
        ),
        None => policy.least_privilege_advice().to_owned(),
    };
    let mut verdicts = Vec::new();
    match &request.scopes {
        ScopesValue::Omitted | ScopesValue::Null => {
            let how = if request.scopes == ScopesValue::Omitted {
                "without `scopes`"
            } else {
                "with `scopes: null`"
            };
            verdicts.push(Verdict {
                rule_id: ADMIN_KEY_CREATED,
                confidence: Confidence::Medium,
                title: format!("Tusky admin key created ({how})"),
                remediation: format!(
                    "a key created {how} is an admin key, equivalent to acting as the account \
                     owner; pass explicit scopes: {advice}"
                ),
                offending: format!("{request_line} | admin"),
            });
        }
        ScopesValue::List(scopes) => {
            let assessment = policy.assess(scopes);
            let mut sorted = scopes.clone();
            sorted.sort();
            sorted.dedup();
            let listed = sorted.join(",");
            if !assessment.unknown.is_empty() {
                let explained: Vec<String> = assessment
                    .unknown
                    .iter()
                    .map(|name| {
                        let shown = escape_control(name);
                        match policy.did_you_mean(name) {
                            Some(known) => format!("`{shown}` (did you mean `{known}`?)"),
                            None if name.contains('*') => {
                                format!("`{shown}` (Tusky has no wildcard scopes: list each one)")
                            }
                            None => format!("`{shown}`"),
                        }
                    })
                    .collect();
                verdicts.push(Verdict {
                    rule_id: UNKNOWN_SCOPE,
                    confidence: Confidence::High,
                    title: format!(
                        "Unknown Tusky scope {} in key creation",
                        assessment
                            .unknown
                            .iter()
                            .map(|s| format!("`{}`", escape_control(s)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    remediation: format!(
                        "{} is not a Tusky scope: the request fails or the key lacks the access \
                         the code expects. Known scopes: {}",
                        explained.join(", "),
                        policy.known_scopes().join(", ")
                    ),
                    offending: format!("{request_line} | {listed} | unknown"),
                });
            }
            let broad = if assessment.every_scope {
                Some("every scope")
            } else if assessment.every_write {
                Some("every write scope")
            } else {
                None
            };
            if let Some(what) = broad {
                verdicts.push(Verdict {
                    rule_id: BROAD_SCOPES,
                    confidence: Confidence::High,
                    title: format!("Tusky key created with {what}"),
                    remediation: format!(
                        "{} grants {what}: a leak of this key is nearly as bad as an admin key; \
                         narrow it: {advice}",
                        json_list(&sorted)
                    ),
                    offending: format!("{request_line} | {listed}"),
                });
            } else if !assessment.sensitive_writes.is_empty() {
                let writes = assessment.sensitive_writes.join(", ");
                verdicts.push(Verdict {
                    rule_id: WRITE_SCOPES,
                    confidence: Confidence::High,
                    title: format!("Tusky key created with write scopes {writes}"),
                    remediation: format!(
                        "{writes} let a leaked key change members, stored data or aggregators; \
                         keep them only if this key's job needs them: {advice}"
                    ),
                    offending: format!("{request_line} | {listed}"),
                });
            }
        }
        ScopesValue::Unreadable => {}
    }
    verdicts
}

/// A key definition's text with every whitespace character removed: the same definition
/// reindented, reflowed or moved keeps its fingerprint; another definition gets another one.
fn definition_text(definition: &str) -> String {
    definition.split_whitespace().collect()
}

fn json_list(scopes: &[String]) -> String {
    serde_json::to_string(scopes).unwrap_or_default()
}

/// Where a request's text starts: its own offset, or the first non-blank of its line when it
/// starts the line.
fn request_text_start(text: &str, index: &LineIndex, start: usize) -> usize {
    let line = index.line_of(start);
    let line_start = index.line_start(line);
    if start == line_start {
        let line_text = index.line_text(line);
        line_start + (line_text.len() - line_text.trim_start().len())
    } else {
        start.min(text.len())
    }
}

/// The first bytes of the request, on its line.
fn request_text<'a>(text: &'a str, index: &LineIndex, request: &Request) -> &'a str {
    let from = request_text_start(text, index, request.start);
    let line_end = index.line_end(index.line_of(request.start)).max(from);
    let to = line_end
        .min(request.end.max(from))
        .min(floor_boundary(text, from + REQUEST_TEXT_BYTES).max(from));
    text[from..to].trim_end()
}

pub(super) fn occurrence(
    path: &str,
    request: &Request,
    text: &str,
    index: &LineIndex,
    verdict: Verdict,
) -> Occurrence {
    let line = index.line_of(request.start);
    let from = request_text_start(text, index, request.start);
    let column = text[index.line_start(line)..from].chars().count() + 1;
    let end_column = column + request_text(text, index, request).chars().count().max(1);
    let rule = lint_rule(verdict.rule_id);
    Occurrence {
        rule_id: verdict.rule_id.to_owned(),
        kind: FindingKind::BroadScope,
        severity: rule.map_or(Severity::High, |r| r.severity),
        confidence: verdict.confidence,
        title: verdict.title,
        remediation: verdict.remediation,
        fingerprint: Fingerprint::for_lint(verdict.rule_id, path, &verdict.offending),
        secret: None,
        location: Location {
            path: path.to_owned(),
            raw_path: None,
            line: line + 1,
            column,
            end_column,
            encoding: Encoding::Plain,
            commit: None,
        },
    }
}
