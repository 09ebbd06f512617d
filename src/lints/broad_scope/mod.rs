//! `broad-scope`: Tusky key-creation requests in code and config whose scopes are too broad.
//!
//! Recognised requests: `POST …/v2/api-keys` in any language or tool (fetch, axios, requests, Go
//! net/http, curl, `.http` files, Postman collections, JSON request specs), SDK calls
//! (`apiKeys.create(…)`, `createApiKey(…)`), and provisioning specs (an `api_keys:` / `"apiKeys":`
//! list or map of key definitions in YAML or JSON). The `scopes` value is read from the request
//! within a bounded window; the policy (vocabulary, implication, what is broad) is
//! `rules/scopes.toml`. When the scopes are not written literally (a variable, a function call),
//! nothing is reported: the lint only speaks when the text shows what the key gets.
//!
//! The lint reads in steps, one module each: [`requests`] recognises key-creation requests,
//! [`definitions`] splits a document or array that lists several keys into one definition per
//! key, [`body`] reads the `scopes` value a request's body shows, and [`judgement`] holds them
//! against the scope policy and words the findings.

mod body;
mod definitions;
mod examples;
mod judgement;
mod requests;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;

use super::scopes::ScopePolicy;
use super::text::LineIndex;
use crate::engine::inline::inline_allowed;
use crate::model::Occurrence;
pub use examples::{check_examples, example_count};
use judgement::{judge, occurrence};
use requests::find_requests;

/// Anchors: URL paths and collection names (`api-keys`…) and SDK creation functions.
pub(super) const COLLECTION_ANCHORS: &[&str] =
    &["api-keys", "api_keys", "apiKeys", "ApiKeys", "APIKeys"];
pub(super) const CREATE_ANCHORS: &[&str] = &[
    "createApiKey",
    "createAPIKey",
    "CreateApiKey",
    "CreateAPIKey",
    "create_api_key",
];

pub(super) fn anchors() -> &'static AhoCorasick {
    static ANCHORS: OnceLock<AhoCorasick> = OnceLock::new();
    ANCHORS.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(COLLECTION_ANCHORS.iter().chain(CREATE_ANCHORS))
            .expect("literal anchors build")
    })
}

pub(super) fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("built-in lint regex is valid"))
}

/// The scopes a request asks for, as far as the text shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum ScopesValue {
    /// No `scopes` field in a visible body.
    Omitted,
    /// `scopes: null` (or None, nil, undefined, an empty YAML value).
    Null,
    List(Vec<String>),
    /// Written as something the lint cannot read (a variable, a call).
    Unreadable,
}

#[derive(Debug)]
pub(super) struct Request {
    /// Where the request starts (reported line).
    pub(super) start: usize,
    /// Where its text ends (at most): the request text never runs into the next one.
    pub(super) end: usize,
    pub(super) scopes: ScopesValue,
    /// Where `scopes` was written, for inline suppression on that line.
    pub(super) scopes_at: Option<usize>,
    /// The key definition's text when the request is one of several definitions (a spec's list
    /// item, a Postman request): its fingerprint covers this text, not only its first line.
    pub(super) definition: Option<(usize, usize)>,
}

/// The result of linting one file.
#[derive(Debug, Default)]
pub struct LintScan {
    pub occurrences: Vec<Occurrence>,
    pub inline_suppressed: u64,
}

/// True when the bytes hold an anchor. Every file pays for this, so it is one SIMD `memmem` pass
/// for `ey` (every anchor has `Key`/`key`), then a few byte compares at each hit. A multi-pattern
/// automaton over the ten anchors cost several times more on a 300 MB corpus.
pub fn may_contain_request(bytes: &[u8]) -> bool {
    static EY: OnceLock<memchr::memmem::Finder<'static>> = OnceLock::new();
    let finder = EY.get_or_init(|| memchr::memmem::Finder::new(b"ey"));
    finder.find_iter(bytes).any(|at| {
        at > 0
            && matches!(bytes[at - 1], b'k' | b'K')
            && COLLECTION_ANCHORS
                .iter()
                .chain(CREATE_ANCHORS)
                .any(|anchor| anchor_at(bytes, at - 1, anchor))
    })
}

/// True when `anchor` occurs in `bytes` with its last `k`/`K` at `k_at`.
fn anchor_at(bytes: &[u8], k_at: usize, anchor: &str) -> bool {
    let anchor = anchor.as_bytes();
    let Some(k_in_anchor) = anchor.iter().rposition(|b| matches!(b, b'k' | b'K')) else {
        return false;
    };
    k_at.checked_sub(k_in_anchor)
        .and_then(|start| bytes.get(start..start + anchor.len()))
        .is_some_and(|found| found == anchor)
}

/// Lints one file's bytes; `path` is how reports name it. `enabled` filters rule ids.
pub fn check(path: &str, bytes: &[u8], enabled: &dyn Fn(&str) -> bool) -> LintScan {
    let mut result = LintScan::default();
    if !may_contain_request(bytes) {
        return result;
    }
    let text = String::from_utf8_lossy(bytes);
    let index = LineIndex::new(&text);
    let policy = ScopePolicy::builtin();
    for request in find_requests(&text, &index, path) {
        for verdict in judge(&request, &text, &index, policy) {
            if !enabled(verdict.rule_id) {
                continue;
            }
            let allowed = inline_allowed(text.as_bytes(), request.start)
                || request
                    .scopes_at
                    .is_some_and(|at| inline_allowed(text.as_bytes(), at));
            if allowed {
                result.inline_suppressed += 1;
                continue;
            }
            result
                .occurrences
                .push(occurrence(path, &request, &text, &index, verdict));
        }
    }
    result
}
