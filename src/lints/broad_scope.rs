//! `broad-scope`: Tusky key-creation requests in code and config whose scopes are too broad.
//!
//! Recognised requests: `POST …/v2/api-keys` in any language or tool (fetch, axios, requests, Go
//! net/http, curl, `.http` files, Postman collections, JSON request specs), SDK calls
//! (`apiKeys.create(…)`, `createApiKey(…)`), and provisioning specs (an `api_keys:` / `"apiKeys":`
//! list or map of key definitions in YAML or JSON). The `scopes` value is read from the request
//! within a bounded window; the policy (vocabulary, implication, what is broad) is
//! `rules/scopes.toml`. When the scopes are not written literally (a variable, a function call),
//! nothing is reported: the lint only speaks when the text shows what the key gets.

use std::collections::HashSet;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;

use super::scopes::ScopePolicy;
use super::text::{
    LineIndex, ceil_boundary, child_objects, expression_end, floor_boundary, indent_of,
    matching_close, shell_command_end,
};
use super::{ADMIN_KEY_CREATED, BROAD_SCOPES, UNKNOWN_SCOPE, WRITE_SCOPES, lint_rule};
use crate::findings::suppression::inline_allowed;
use crate::findings::{Confidence, Encoding, FindingKind, Fingerprint, Location, Occurrence};
use crate::reports::text::escape_control;

/// Anchors: URL paths and collection names (`api-keys`…) and SDK creation functions.
const COLLECTION_ANCHORS: &[&str] = &["api-keys", "api_keys", "apiKeys", "ApiKeys", "APIKeys"];
const CREATE_ANCHORS: &[&str] = &[
    "createApiKey",
    "createAPIKey",
    "CreateApiKey",
    "CreateAPIKey",
    "create_api_key",
];
/// Requests per file examined at most (a generated file full of anchors stays cheap).
const MAX_HITS: usize = 2_000;
/// Bytes a request body may span from its URL.
const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Bytes around a request searched for hints of what the key is for (minified files have no
/// useful lines).
const CONTEXT_BYTES: usize = 4 * 1024;
/// Bytes of the request line that name it (fingerprint, end column).
const REQUEST_TEXT_BYTES: usize = 160;
/// A request further into its line than this is reported at its own column, not the line's.
const SAME_LINE_BYTES: usize = 200;

fn anchors() -> &'static AhoCorasick {
    static ANCHORS: OnceLock<AhoCorasick> = OnceLock::new();
    ANCHORS.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(COLLECTION_ANCHORS.iter().chain(CREATE_ANCHORS))
            .expect("literal anchors build")
    })
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("built-in lint regex is valid"))
}

/// Method markers before a URL (call style, `.http` request lines) and after it (options).
fn back_method_markers() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"(?P<post>\bPOST\b|(?:\.|->)post\s*\(|\bPost(?:Async|AsJsonAsync)\s*\(|::Post\b|\bhttp\.Post(?:Form)?\s*\(|\bMethodPost\b|(?i:\bmethod["'\\]*\s*[:=]\s*\\?["'`]post\b))|(?P<other>\b(?:GET|DELETE|PUT|PATCH|HEAD)\b|(?:\.|->)(?:get|delete|put|patch|head)\s*\(|\b(?:Get|Delete|Put|Patch)(?:Async|FromJsonAsync)\s*\(|::(?:Get|Delete|Put|Patch)\b|\bhttp\.(?:Get|Head)\s*\(|\bMethod(?:Get|Delete|Put|Patch|Head)\b|(?i:\bmethod["'\\]*\s*[:=]\s*\\?["'`](?:get|delete|put|patch|head)\b))"#,
    )
}

fn forward_method_markers() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"(?P<post>(?i:\bmethod["'\\]*\s*[:=]\s*\\?["'`]post\b)|\bMethodPost\b)|(?P<other>(?i:\bmethod["'\\]*\s*[:=]\s*\\?["'`](?:get|delete|put|patch|head)\b)|\bMethod(?:Get|Delete|Put|Patch|Head)\b)"#,
    )
}

/// Where a request visibly starts, looking back from its URL.
fn openers() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"\bfetch\s*\(|\baxios\b|\brequests\.|\bhttpx\.|\bsession\.|\bNewRequest(?:WithContext)?\s*\(|\bhttp\.Post|(?:\.|->)post\s*\(|\bPost(?:Async|AsJsonAsync)\s*\(|\bPOST\b|\bclient\.|\$http\b|\bgot\b|\bky\b"#,
    )
}

fn curl_method() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"(?:^|\s)(?:-X|--request)(?:\s+|=)?['"]?(?P<method>[A-Za-z]+)"#,
    )
}

fn curl_data() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"(?:^|\s)(?:-d|--data(?:-raw|-binary|-ascii|-urlencode)?|--json|-F|--form)(?:\s|=|'|")"#,
    )
}

/// A visible request body: a `name` or `expiresAt` field, in any of the languages.
fn body_evidence() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"(?i)(?:(?:^|[^a-z0-9_])(?:name|expires_?at)(?:\\?["'])?\s*(?:=>|:|=))|(?:[{,]\s*(?:name|expiresAt)\s*[,}])"#,
    )
}

fn sdk_create_after_collection() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"^\s*(?:\(\s*\))?\s*\.\s*(?:create|Create|new|New|add|Add)[A-Za-z]{0,16}\s*\("#,
    )
}

fn sdk_create_call() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(&CELL, r#"^[A-Za-z_]{0,16}\s*\("#)
}

fn definition_keyword() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(&CELL, r#"\b(?:function|def|func|fn)\b"#)
}

/// The scopes a request asks for, as far as the text shows.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ScopesValue {
    /// No `scopes` field in a visible body.
    Omitted,
    /// `scopes: null` (or None, nil, undefined, an empty YAML value).
    Null,
    List(Vec<String>),
    /// Written as something the lint cannot read (a variable, a call).
    Unreadable,
}

#[derive(Debug)]
struct Request {
    /// Where the request starts (reported line).
    start: usize,
    /// Where its text ends (at most): the request text never runs into the next one.
    end: usize,
    scopes: ScopesValue,
    /// Where `scopes` was written, for inline suppression on that line.
    scopes_at: Option<usize>,
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

/// Every key-creation request in the text, in order, once each.
fn find_requests(text: &str, index: &LineIndex, path: &str) -> Vec<Request> {
    let lower_path = path.to_ascii_lowercase();
    let is_http_file = lower_path.ends_with(".http") || lower_path.ends_with(".rest");
    let is_postman = text.contains("_postman_id") || text.contains("schema.getpostman.com");
    let hits: Vec<(usize, usize, bool)> = anchors()
        .find_iter(text)
        .take(MAX_HITS)
        .map(|m| {
            (
                m.start(),
                m.end(),
                m.pattern().as_usize() < COLLECTION_ANCHORS.len(),
            )
        })
        .collect();
    let mut requests = Vec::new();
    let mut seen = HashSet::new();
    for (i, &(start, end, is_collection)) in hits.iter().enumerate() {
        let prev_end = if i > 0 { hits[i - 1].1 } else { 0 };
        let next_start = hits.get(i + 1).map_or(text.len(), |h| h.0);
        let found: Vec<Request> = if is_collection && text[..start].ends_with('/') {
            let context = UrlContext {
                prev_end,
                next_start,
                is_http_file,
                is_postman,
            };
            url_request(text, index, start, end, &context)
                .into_iter()
                .collect()
        } else if is_collection {
            match sdk_request(text, start, end, sdk_create_after_collection()) {
                Some(request) => vec![request],
                None => spec_requests(text, index, start, end),
            }
        } else {
            sdk_request(text, start, end, sdk_create_call())
                .into_iter()
                .collect()
        };
        for request in found {
            if seen.insert(request.start) {
                requests.push(request);
            }
        }
    }
    requests
}

struct UrlContext {
    prev_end: usize,
    next_start: usize,
    is_http_file: bool,
    is_postman: bool,
}

/// A request to a `…/api-keys` URL, if it is a POST (a creation).
fn url_request(
    text: &str,
    index: &LineIndex,
    start: usize,
    end: usize,
    context: &UrlContext,
) -> Option<Request> {
    let after = &text[end..];
    let mut chars = after.chars();
    match chars.next() {
        // `/v2/api-keys/{id}`: one key (get, revoke), not creation.
        Some('/') if chars.next().is_some_and(|c| !is_token_end(c)) => return None,
        // `?limit=…`: listing.
        Some('?') => return None,
        _ => {}
    }
    let token_end = end + after.find(is_token_end).unwrap_or(after.len());
    let body_from = if text[token_end..].starts_with(['"', '\'', '`']) {
        token_end + 1
    } else {
        token_end
    };
    let limit = context
        .next_start
        .min(ceil_boundary(text, body_from + MAX_REQUEST_BYTES));

    if context.is_postman
        && let Some(request_key) = text[context.prev_end..start].rfind("\"request\"")
    {
        let key_at = context.prev_end + request_key;
        let open = text[key_at..start].find('{').map(|i| key_at + i)?;
        let close = matching_close(
            text,
            open,
            ceil_boundary(text, open + 4 * MAX_REQUEST_BYTES),
        );
        let span = &text[open..close];
        let method = nearest_method("", span, false);
        if method != Some(Method::Post) {
            return None;
        }
        return request_from_body(text, key_at, open, close, false);
    }

    let (shell_start, back_from) = match curl_start(text, index, start) {
        Some(curl_at) => (Some(curl_at), curl_at.max(context.prev_end)),
        None => (
            None,
            statement_back_from(text, index, start, context.prev_end),
        ),
    };
    let extent_end = if context.is_http_file {
        http_request_end(text, index, start, limit)
    } else if shell_start.is_some() {
        shell_command_end(text, body_from, limit)
    } else {
        expression_end(text, body_from, limit)
    };
    let mut site = CallSite {
        at: start,
        back_from,
        body_from,
        extent_end: extent_end.max(body_from),
    };
    let mut method = match shell_start {
        Some(curl_at) => curl_request_method(&text[curl_at..site.extent_end]),
        None => nearest_method(
            &text[back_from..start],
            &text[body_from..site.extent_end],
            true,
        ),
    };
    // `const url = `${BASE}/v2/api-keys`;` then `fetch(url, {…})`: the request is the call.
    if method.is_none()
        && shell_start.is_none()
        && !context.is_http_file
        && let Some(call) = assigned_url_call(text, index, start, &site, context.next_start)
    {
        method = nearest_method(
            &text[call.back_from..call.at],
            &text[call.body_from..call.extent_end],
            true,
        );
        site = call;
    }
    if method != Some(Method::Post) {
        return None;
    }
    let back = &text[site.back_from..site.at];
    let reported = match shell_start {
        Some(curl_at) => curl_at,
        None => match last_opener(back) {
            Some(opener_line) => site.back_from + opener_line,
            None => {
                let line_start = index.line_start(index.line_of(site.at));
                if site.at - line_start <= SAME_LINE_BYTES {
                    line_start
                } else {
                    site.at
                }
            }
        },
    };
    if let Some(request) = request_from_body(text, reported, site.body_from, site.extent_end, false)
    {
        return Some(request);
    }
    // The body may be a variable built just before the call: look for its `scopes` there.
    let before_from = index
        .start_lines_before(site.at, 15)
        .max(context.prev_end)
        .min(site.back_from);
    match find_scopes(text, before_from, site.at) {
        Some((at, value)) if value != ScopesValue::Unreadable => Some(Request {
            start: reported,
            end: site.extent_end,
            scopes: value,
            scopes_at: Some(at),
        }),
        _ => None,
    }
}

/// Where a request's text sits: the URL (or the argument naming it), the statement before it
/// (back to a `;` or three lines), and its arguments.
struct CallSite {
    at: usize,
    back_from: usize,
    body_from: usize,
    extent_end: usize,
}

/// Start of the text before `at` that belongs to the same statement: up to three lines back,
/// after the last `;`, never before `floor`.
fn statement_back_from(text: &str, index: &LineIndex, at: usize, floor: usize) -> usize {
    let mut back_from = index
        .start_lines_before(at, 3)
        .max(floor)
        .max(floor_boundary(text, at.saturating_sub(1024)))
        .min(at);
    if let Some(semicolon) = text[back_from..at].rfind(';') {
        back_from += semicolon + 1;
    }
    back_from
}

/// When the URL is assigned to a variable (`url = …`, `const url = …`, `url := …`), the call
/// within the next few lines that passes that variable as an argument.
fn assigned_url_call(
    text: &str,
    index: &LineIndex,
    start: usize,
    site: &CallSite,
    next_start: usize,
) -> Option<CallSite> {
    static CELL: OnceLock<Regex> = OnceLock::new();
    let assignment = regex(
        &CELL,
        r"(?:^|[\s;{(])(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)\s*(?::=|=)[^=;]*$",
    );
    let line_start = index.line_start(index.line_of(start));
    let name = assignment
        .captures(&text[line_start..start])?
        .name("name")?
        .as_str();
    let search_to = index
        .end_lines_after(site.extent_end, 10)
        .min(next_start)
        .max(site.extent_end);
    let window = &text[site.extent_end..search_to];
    let mut from = 0;
    while let Some(found) = window[from..].find(name) {
        let at = site.extent_end + from + found;
        from += found + name.len();
        let before = text[..at].trim_end();
        let after = text[at + name.len()..].chars().next();
        let is_argument = before.ends_with(['(', ','])
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        if !is_argument {
            continue;
        }
        let body_from = at + name.len();
        let limit = next_start.min(ceil_boundary(text, body_from + MAX_REQUEST_BYTES));
        let extent_end = expression_end(text, body_from, limit).max(body_from);
        return Some(CallSite {
            at,
            back_from: statement_back_from(text, index, at, site.extent_end),
            body_from,
            extent_end,
        });
    }
    None
}

fn is_token_end(c: char) -> bool {
    matches!(c, '"' | '\'' | '`' | ')' | ',' | ';' | '>' | '<' | '\\') || c.is_whitespace()
}

/// Reads the scopes in `text[from..to]`: written scopes, or `Omitted` when a body is visible
/// without them (`known_to_be_a_body`: an empty SDK call, a spec's mapping entry; otherwise a
/// `name`/`expiresAt` field shows it). `None` when the text does not show what the key gets.
fn request_from_body(
    text: &str,
    start: usize,
    from: usize,
    to: usize,
    known_to_be_a_body: bool,
) -> Option<Request> {
    match find_scopes(text, from, to) {
        Some((_, ScopesValue::Unreadable)) => None,
        Some((at, value)) => Some(Request {
            start,
            end: to,
            scopes: value,
            scopes_at: Some(at),
        }),
        None => {
            let body = &text[from..to];
            let visible = known_to_be_a_body || body_evidence().is_match(body);
            visible.then_some(Request {
                start,
                end: to,
                scopes: ScopesValue::Omitted,
                scopes_at: None,
            })
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Post,
    Other,
}

/// The method marker nearest to the URL: the last one before it, or the first option after it.
fn nearest_method(back: &str, forward: &str, use_back: bool) -> Option<Method> {
    let kind = |caps: &regex::Captures| {
        if caps.name("post").is_some() {
            Method::Post
        } else {
            Method::Other
        }
    };
    let before = use_back
        .then(|| {
            back_method_markers()
                .captures_iter(back)
                .last()
                .map(|caps| (back.len() - caps.get(0).map_or(0, |m| m.end()), kind(&caps)))
        })
        .flatten();
    let after = forward_method_markers()
        .captures_iter(forward)
        .next()
        .map(|caps| (caps.get(0).map_or(0, |m| m.start()), kind(&caps)));
    match (before, after) {
        (Some(b), Some(a)) => Some(if b.0 <= a.0 { b.1 } else { a.1 }),
        (Some((_, m)), None) | (None, Some((_, m))) => Some(m),
        (None, None) => None,
    }
}

/// A curl command's method: `-X`/`--request` if given, else POST when it sends data.
fn curl_request_method(command: &str) -> Option<Method> {
    if let Some(caps) = curl_method().captures(command) {
        let method = caps.name("method").map_or("", |m| m.as_str());
        return Some(if method.eq_ignore_ascii_case("post") {
            Method::Post
        } else {
            Method::Other
        });
    }
    if command.contains(" -G") || command.contains("--get") {
        return Some(Method::Other);
    }
    curl_data()
        .is_match(command)
        .then_some(Method::Post)
        .or(Some(Method::Other))
}

/// The start of the `curl` command the URL belongs to (lines continued with `\`).
fn curl_start(text: &str, index: &LineIndex, start: usize) -> Option<usize> {
    static CELL: OnceLock<Regex> = OnceLock::new();
    let curl = regex(&CELL, r"\bcurl\b");
    let mut line = index.line_of(start);
    for _ in 0..20 {
        let line_from = index.line_start(line);
        let upto = if line == index.line_of(start) {
            start
        } else {
            index.line_end(line)
        };
        if let Some(found) = curl.find(&text[line_from..upto]) {
            return Some(line_from + found.start());
        }
        if line == 0 || !index.line_text(line - 1).trim_end().ends_with('\\') {
            return None;
        }
        line -= 1;
    }
    None
}

/// The offset (in `back`) of the line holding the nearest request opener.
fn last_opener(back: &str) -> Option<usize> {
    let found = openers().find_iter(back).last()?;
    let line_start = back[..found.start()].rfind('\n').map_or(0, |i| i + 1);
    Some(line_start)
}

/// In a `.http` file a request runs to the next `###` or request line.
fn http_request_end(text: &str, index: &LineIndex, start: usize, limit: usize) -> usize {
    static CELL: OnceLock<Regex> = OnceLock::new();
    let request_line = regex(
        &CELL,
        r"^(?:###|(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+\S)",
    );
    let first = index.line_of(start) + 1;
    for line in first..index.line_count() {
        let line_start = index.line_start(line);
        if line_start >= limit {
            return limit;
        }
        if request_line.is_match(index.line_text(line)) {
            return line_start;
        }
    }
    limit.min(text.len())
}

/// An SDK call such as `tusky.apiKeys.create({…})` or `create_api_key(name=…, scopes=[…])`.
fn sdk_request(text: &str, start: usize, end: usize, call: &Regex) -> Option<Request> {
    let window_end = ceil_boundary(text, end + 64);
    let found = call.find(&text[end..window_end])?;
    let open = end + found.end() - 1;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    if definition_keyword().is_match(&text[line_start..start]) {
        return None;
    }
    let close = matching_close(text, open, ceil_boundary(text, open + MAX_REQUEST_BYTES));
    // `createApiKey(name) {` is a method definition, not a call.
    let after_close = text.get(close + 1..).unwrap_or("").trim_start();
    if after_close.starts_with('{') {
        return None;
    }
    let args = text.get(open + 1..close).unwrap_or("");
    let no_args = args.trim().is_empty();
    request_from_body(text, line_start, open + 1, close, no_args)
}

/// Key definitions in a provisioning spec: `api_keys:` followed by a YAML block, or a JSON/flow
/// list or map of objects.
fn spec_requests(text: &str, index: &LineIndex, start: usize, end: usize) -> Vec<Request> {
    let line = index.line_of(start);
    let line_start = index.line_start(line);
    let before = text[line_start..start].trim_end();
    if !(before.is_empty() || before.ends_with(['"', '\'', '{', ','])) {
        return Vec::new();
    }
    let rest = &text[end..index.line_end(line)];
    let rest_trimmed = rest.trim_start_matches(['"', '\'']).trim_start();
    let Some(value) = rest_trimmed.strip_prefix(':') else {
        return Vec::new();
    };
    if value.starts_with(':') {
        return Vec::new();
    }
    let value_trimmed = value.trim_start();
    let value_at = index.line_end(line) - value.len() + (value.len() - value_trimmed.len());
    let items: Vec<(usize, usize, bool)> = if value_trimmed.starts_with(['[', '{']) {
        let close = matching_close(text, value_at, ceil_boundary(text, value_at + 64 * 1024));
        child_objects(text, value_at, close)
            .into_iter()
            .map(|(open, close)| (open, close, false))
            .collect()
    } else if value_trimmed.is_empty() || value_trimmed.starts_with('#') {
        yaml_block_items(index, line)
    } else {
        Vec::new()
    };
    items
        .into_iter()
        .filter_map(|(from, to, is_mapping_entry)| {
            let item_line_start = text[..from].rfind('\n').map_or(0, |i| i + 1);
            let reported = if text[item_line_start..from].trim().is_empty() {
                item_line_start
            } else {
                from
            };
            request_from_body(text, reported, from, to, is_mapping_entry)
        })
        .collect()
}

/// The children of a YAML key on `key_line`: `(from, to, is_mapping_entry)` per item. A mapping
/// entry (`ci:` with nested lines) is a key definition by position; a list item needs a body.
fn yaml_block_items(index: &LineIndex, key_line: usize) -> Vec<(usize, usize, bool)> {
    let key_indent = indent_of(index.line_text(key_line));
    let mut items: Vec<(usize, usize, bool)> = Vec::new();
    let mut item_indent: Option<(usize, bool)> = None;
    let last_line = (key_line + 2_000).min(index.line_count() - 1);
    for line in key_line + 1..=last_line {
        let text = index.line_text(line);
        let trimmed = text.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = indent_of(text);
        let is_dash = trimmed.starts_with("- ") || trimmed == "-";
        let (wanted, dash_style) = match item_indent {
            Some(style) => style,
            None => {
                if indent < key_indent || (indent == key_indent && !is_dash) {
                    break;
                }
                item_indent = Some((indent, is_dash));
                (indent, is_dash)
            }
        };
        if indent < wanted || (indent == wanted && dash_style && !is_dash) {
            break;
        }
        if indent == wanted {
            items.push((index.line_start(line), index.line_end(line), false));
        } else if let Some(last) = items.last_mut() {
            last.1 = index.line_end(line);
            last.2 = !dash_style;
        }
    }
    items
}

/// The first readable `scopes` value in `text[from..to]` (a later one may follow an unreadable
/// mention in a comment); `Unreadable` if every mention is unreadable, `None` if there is none.
fn find_scopes(text: &str, from: usize, to: usize) -> Option<(usize, ScopesValue)> {
    let haystack = &text[from..to];
    let lower = haystack.to_ascii_lowercase();
    let bytes = haystack.as_bytes();
    let mut found = None;
    let mut search = 0;
    while let Some(i) = lower[search..].find("scopes") {
        let at = search + i;
        search = at + "scopes".len();
        let before_ok = at == 0 || !is_ident_byte(bytes[at - 1]);
        let after_ok = bytes.get(search).is_none_or(|b| !is_ident_byte(*b));
        if !(before_ok && after_ok) {
            continue;
        }
        let value = parse_scopes_value(text, from + search);
        if value != ScopesValue::Unreadable {
            return Some((from + at, value));
        }
        found.get_or_insert((from + at, value));
    }
    found
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Reads the value after a `scopes` key at `at`: `: [...]`, `= [...]`, `: null`, a YAML block...
fn parse_scopes_value(text: &str, at: usize) -> ScopesValue {
    let limit = ceil_boundary(text, at + 4096);
    let bytes = text.as_bytes();
    let mut i = at;
    while i < limit && matches!(bytes[i], b'"' | b'\'' | b'`' | b'\\') {
        i += 1;
    }
    while i < limit && matches!(bytes[i], b' ' | b'\t') {
        i += 1;
    }
    let rest = &text[i..limit];
    let after_separator = if let Some(r) = rest.strip_prefix("=>") {
        r
    } else if let Some(r) = rest.strip_prefix(':').filter(|r| !r.starts_with(':')) {
        r
    } else if let Some(r) = rest.strip_prefix('=').filter(|r| !r.starts_with('=')) {
        r
    } else {
        return ScopesValue::Unreadable;
    };
    let value_at = limit - after_separator.len();
    let value = after_separator.trim_start_matches([' ', '\t']);
    let value_at = value_at + (after_separator.len() - value.len());
    let key_line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let key_indent = indent_of(&text[key_line_start..at]);

    let line_rest = value.split('\n').next().unwrap_or("").trim_end();
    if line_rest.is_empty() || line_rest.starts_with('#') || line_rest.starts_with("//") {
        return value_on_next_lines(text, value_at, limit, key_indent);
    }
    read_value(text, value_at, limit)
}

/// A value that starts on the line after `scopes:`: a YAML block list, a bracketed list, or
/// (YAML) nothing, which is null.
fn value_on_next_lines(text: &str, from: usize, limit: usize, key_indent: usize) -> ScopesValue {
    let mut items = Vec::new();
    let mut offset = text[from..limit].find('\n').map_or(limit, |i| from + i + 1);
    while offset < limit {
        let line_end = text[offset..limit].find('\n').map_or(limit, |i| offset + i);
        let line = text[offset..line_end].trim_end_matches('\r');
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            offset = line_end + 1;
            continue;
        }
        if let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| (trimmed == "-").then_some(""))
        {
            if indent_of(line) < key_indent {
                break;
            }
            let item = item.split(" #").next().unwrap_or("").trim();
            let item = item.trim_matches(['"', '\'']);
            if !item.is_empty() {
                items.push(item.to_owned());
            }
            offset = line_end + 1;
            continue;
        }
        if !items.is_empty() {
            break;
        }
        if trimmed.starts_with(['[', '(', '{']) {
            return read_value(text, offset + indent_of(line), limit);
        }
        return if indent_of(line) <= key_indent {
            ScopesValue::Null
        } else {
            ScopesValue::Unreadable
        };
    }
    if items.is_empty() {
        ScopesValue::Null
    } else {
        ScopesValue::List(items)
    }
}

/// A value written on the `scopes` line: null-ish, or a list in brackets.
fn read_value(text: &str, at: usize, limit: usize) -> ScopesValue {
    let value = &text[at..limit];
    let word: String = value
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '~')
        .collect();
    if matches!(
        word.as_str(),
        "null" | "None" | "nil" | "undefined" | "~" | "NULL" | "Null"
    ) {
        return ScopesValue::Null;
    }
    // Go `[]string{…}` / `[]tusky.Scope{…}`: skip the type to its brace.
    let mut open = at;
    if value.starts_with("[]") {
        match value.find('{') {
            Some(brace)
                if value[2..brace]
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '_') =>
            {
                open = at + brace;
            }
            _ => return ScopesValue::Unreadable,
        }
    } else if !value.starts_with(['[', '(', '{']) {
        return ScopesValue::Unreadable;
    }
    let close = matching_close(text, open, limit);
    if close >= limit {
        return ScopesValue::Unreadable;
    }
    ScopesValue::List(list_items(&text[open + 1..close]))
}

/// Scope names in a list body: quoted strings (also `\"…\"` inside JSON strings, as Postman
/// stores bodies) and bare `resource:action` tokens (YAML flow lists). Identifiers (constants)
/// are skipped: the lint judges only what is written.
fn list_items(inner: &str) -> Vec<String> {
    let bytes = inner.as_bytes();
    let mut items = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if matches!(bytes.get(i + 1), Some(b'"' | b'\'')) => i += 1,
            // Skip the escaped character whole (it may be multi-byte).
            b'\\' => i += 1 + inner[i + 1..].chars().next().map_or(0, char::len_utf8),
            b'"' | b'\'' | b'`' => {
                let quote = bytes[i];
                let content_start = i + 1;
                let mut j = content_start;
                while j < bytes.len() && bytes[j] != quote && bytes[j] != b'\n' {
                    j += 1;
                }
                let item = inner[content_start..j].trim_end_matches('\\').trim();
                if !item.is_empty() {
                    items.push(item.to_owned());
                }
                i = j + 1;
            }
            b'#' => {
                i = inner[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = inner[i..].find('\n').map_or(bytes.len(), |n| i + n);
            }
            c if c.is_ascii_whitespace() || c == b',' => i += 1,
            _ => {
                let token_end = inner[i..]
                    .find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | ')' | '}'))
                    .map_or(inner.len(), |n| i + n);
                let token = &inner[i..token_end];
                if token.contains(':') || token == "*" {
                    items.push(token.to_owned());
                }
                i = token_end.max(i + 1);
            }
        }
    }
    items
}

/// One lint verdict on one request.
struct Verdict {
    rule_id: &'static str,
    confidence: Confidence,
    title: String,
    remediation: String,
    /// The normalised offending text the fingerprint is built from.
    offending: String,
}

fn judge(request: &Request, text: &str, index: &LineIndex, policy: &ScopePolicy) -> Vec<Verdict> {
    let request_line = request_text(text, index, request).to_owned();
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

fn occurrence(
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
        severity: rule.map_or(crate::findings::Severity::High, |r| r.severity),
        confidence: verdict.confidence,
        title: verdict.title,
        remediation: verdict.remediation,
        fingerprint: Fingerprint::for_lint(verdict.rule_id, path, &verdict.offending),
        secret: None,
        location: Location {
            path: path.to_owned(),
            line: line + 1,
            column,
            end_column,
            encoding: Encoding::Plain,
            commit: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixtures spell `%api-keys%` so this file holds no request itself (the repo scans clean).
    fn fixture(text: &str) -> String {
        ["api-keys", "apiKeys", "api_keys", "APIKeys"]
            .iter()
            .fold(text.to_owned(), |t, name| {
                t.replace(&format!("%{name}%"), name)
            })
    }

    fn lint(path: &str, text: &str) -> Vec<(String, usize)> {
        check(path, fixture(text).as_bytes(), &|_| true)
            .occurrences
            .into_iter()
            .map(|o| (o.rule_id, o.location.line))
            .collect()
    }

    fn rules(path: &str, text: &str) -> Vec<String> {
        lint(path, text).into_iter().map(|(r, _)| r).collect()
    }

    #[test]
    fn list_items_read_every_quoting() {
        assert_eq!(
            list_items(r#""files:read", 'volumes:read', `members:write`"#),
            vec!["files:read", "volumes:read", "members:write"]
        );
        assert_eq!(
            list_items(r#"\n  \"files:read\",\n  \"*\"\n"#),
            vec!["files:read", "*"]
        );
        assert_eq!(
            list_items("files:read, volumes:read"),
            vec!["files:read", "volumes:read"]
        );
        assert_eq!(list_items("SCOPE_A, \"files:read\""), vec!["files:read"]);
    }

    #[test]
    fn scopes_values() {
        let value = |s: &str| parse_scopes_value(s, 0);
        assert_eq!(value(": null"), ScopesValue::Null);
        assert_eq!(value("=None,"), ScopesValue::Null);
        assert_eq!(value(": SCOPES"), ScopesValue::Unreadable);
        assert_eq!(
            value(": []string{\"files:read\"}"),
            ScopesValue::List(vec!["files:read".into()])
        );
        assert_eq!(
            value(":\n  - files:read\n  - volumes:read\nname: x"),
            ScopesValue::List(vec!["files:read".into(), "volumes:read".into()])
        );
        assert_eq!(value(":\nname: x"), ScopesValue::Null);
        assert_eq!(
            value("\\\": [\\\"files:read\\\"]"),
            ScopesValue::List(vec!["files:read".into()])
        );
    }

    #[test]
    fn fetch_post_with_admin_and_narrow_twins() {
        let admin = "const r = await fetch(`${BASE}/v2/%api-keys%`, {\n  method: 'POST',\n  body: JSON.stringify({ name: 'ci' }),\n});\n";
        assert_eq!(lint("a.ts", admin), vec![(ADMIN_KEY_CREATED.to_owned(), 1)]);
        let narrow = admin.replace("name: 'ci'", "name: 'ci', scopes: ['files:read']");
        assert!(lint("a.ts", &narrow).is_empty());
        let get = "const r = await fetch(`${BASE}/v2/%api-keys%`);\nconst x = { name: 'ci' };\n";
        assert!(lint("a.ts", get).is_empty());
    }

    #[test]
    fn url_in_a_variable_is_followed_to_the_call() {
        let js = "const url = `${BASE}/v2/%api-keys%`;\nconst res = await fetch(url, {\n  method: 'POST',\n  body: JSON.stringify({ name: 'ci', scopes: ['members:write'] }),\n});\n";
        assert_eq!(lint("a.js", js), vec![(WRITE_SCOPES.to_owned(), 2)]);
        let get = "const url = `${BASE}/v2/%api-keys%`;\nconst res = await fetch(url);\nconst x = { name: 'ci', scopes: null };\n";
        assert!(lint("a.js", get).is_empty());
        let python =
            "url = f\"{BASE}/v2/%api-keys%\"\n\nr = requests.post(url, json={\"name\": \"x\"})\n";
        assert_eq!(
            lint("a.py", python),
            vec![(ADMIN_KEY_CREATED.to_owned(), 3)]
        );
        let other_call = "url = f\"{BASE}/v2/%api-keys%\"\nr = requests.post(other_url, json={\"name\": \"x\"})\n";
        assert!(lint("a.py", other_call).is_empty());
    }

    #[test]
    fn go_sdk_and_mapping_style_specs() {
        let go = "key, err := client.%APIKeys%.Create(ctx, tusky.CreateAPIKeyParams{\n\tName:   \"ci\",\n\tScopes: []string{\"*\"},\n})\n";
        assert_eq!(lint("k.go", go), vec![(UNKNOWN_SCOPE.to_owned(), 1)]);
        let go_narrow = go.replace("\\\"*\\\"", "\\\"files:read\\\"");
        let go_narrow = go_narrow.replace("\"*\"", "\"files:read\"");
        assert!(lint("k.go", &go_narrow).is_empty());

        let yaml = "%api_keys%:\n  ci:\n    scopes: [members:write]\n  reader:\n    scopes: [files:read]\n  root:\n    expires_at: 2027-01-01\n";
        assert_eq!(
            lint("keys.yml", yaml),
            vec![
                (WRITE_SCOPES.to_owned(), 2),
                (ADMIN_KEY_CREATED.to_owned(), 6)
            ]
        );
        let json = "{\"%api_keys%\": {\"ci\": {\"scopes\": [\"volumes:write\"]}, \"r\": {\"scopes\": [\"files:read\"]}}}";
        assert_eq!(lint("keys.json", json), vec![(WRITE_SCOPES.to_owned(), 1)]);
        // A scalar or a list of names is no key definition.
        assert!(lint("c.yml", "%api_keys%: 3\n").is_empty());
        assert!(lint("c.json", "{\"%apiKeys%\": [\"ci\", \"ops\"]}").is_empty());
    }

    #[test]
    fn other_languages_http_clients() {
        let php = "$res = $client->post('/v2/%api-keys%', ['json' => ['name' => 'ci', 'scopes' => ['members:write']]]);\n";
        assert_eq!(lint("k.php", php), vec![(WRITE_SCOPES.to_owned(), 1)]);
        assert!(lint("k.php", &php.replace("->post(", "->get(")).is_empty());
        let csharp =
            "var res = await http.PostAsJsonAsync(\"/v2/%api-keys%\", new { name = \"ci\" });\n";
        assert_eq!(
            lint("K.cs", csharp),
            vec![(ADMIN_KEY_CREATED.to_owned(), 1)]
        );
        assert!(
            lint(
                "K.cs",
                &csharp.replace("PostAsJsonAsync", "GetFromJsonAsync")
            )
            .is_empty()
        );
    }

    #[test]
    fn per_key_urls_are_not_creation() {
        let delete = "await fetch(`${BASE}/v2/%api-keys%/${id}`, { method: 'DELETE', body: JSON.stringify({ name: 'x' }) });";
        assert!(lint("a.js", delete).is_empty());
    }

    #[test]
    fn definitions_are_not_calls() {
        let def = "async function createApiKey(name) {\n  return 1;\n}\n";
        assert!(rules("a.js", def).is_empty());
        let python = "def create_api_key(name, scopes=None):\n    pass\n";
        assert!(rules("a.py", python).is_empty());
    }

    #[test]
    fn arbitrary_text_around_anchors_never_panics() {
        let pieces = [
            "/v2/%api-keys%",
            "%apiKeys%.create(",
            "create_api_key(",
            "%api_keys%:",
            "scopes",
            ": [",
            "]",
            "\\",
            "\"",
            "'",
            "`",
            "{",
            "}",
            "(",
            ")",
            "\n",
            "\r\n",
            "POST ",
            "curl -d '",
            "- ",
            "é",
            "日本",
            "\u{0}",
            " ",
            "null",
            ",",
            "files:write",
            "\\\"",
            "#",
            "//",
        ];
        let mut state = 7u64;
        for _ in 0..300 {
            let mut text = String::new();
            for _ in 0..60 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let _ = check("f.http", fixture(&text).as_bytes(), &|_| true);
            let _ = check(
                "f.json",
                fixture(&format!("_postman_id {text}")).as_bytes(),
                &|_| true,
            );
        }
        let _ = check("f", b"/v2/api-keys\xff\xfe scopes: [\"\xc3", &|_| true);
    }

    #[test]
    fn minified_bundles_are_bounded_and_pointed_at_exactly() {
        let request =
            fixture("fetch(u+'/v2/%api-keys%',{method:'POST',body:JSON.stringify({name:'x'})});");
        let bundle = format!("{}{}", "var a=1;".repeat(10_000), request.repeat(500));
        let found = check("bundle.min.js", bundle.as_bytes(), &|_| true);
        assert_eq!(found.occurrences.len(), 500);
        // Identical requests share one fingerprint: one finding with every location.
        let fingerprints: HashSet<_> = found.occurrences.iter().map(|o| &o.fingerprint).collect();
        assert_eq!(fingerprints.len(), 1);
        let location = &found.occurrences[0].location;
        assert_eq!(location.line, 1);
        assert!(location.column > 80_000, "{location:?}");
        assert!(location.end_column - location.column <= REQUEST_TEXT_BYTES);
    }

    #[test]
    fn no_anchor_no_work() {
        for anchor in COLLECTION_ANCHORS.iter().chain(CREATE_ANCHORS) {
            assert!(
                may_contain_request(format!("x {anchor}(").as_bytes()),
                "{anchor}"
            );
            assert!(may_contain_request(anchor.as_bytes()), "{anchor}");
        }
        assert!(!may_contain_request(
            b"they keep the key in a keystore; api-key"
        ));
        assert!(!may_contain_request(
            b"fetch('/v2/files', {method: 'POST'})"
        ));
        assert!(may_contain_request(fixture("/v2/%api-keys%").as_bytes()));
    }
}
