//! Request recognition: where the text creates a Tusky key (a POST to `…/api-keys`, an SDK
//! call, a provisioning spec's key definitions), and how far each request's text reaches.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;

use super::body::{find_scopes, request_from_body};
use super::{COLLECTION_ANCHORS, Request, ScopesValue, anchors, regex};
use crate::lints::text::{
    LineIndex, ceil_boundary, child_objects, expression_end, floor_boundary, indent_of,
    matching_close, shell_command_end,
};

/// Requests per file examined at most (a generated file full of anchors stays cheap).
const MAX_HITS: usize = 2_000;
/// Bytes a request body may span from its URL.
const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// A request further into its line than this is reported at its own column, not the line's.
const SAME_LINE_BYTES: usize = 200;

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

/// Every key-creation request in the text, in order, once each.
pub(super) fn find_requests(text: &str, index: &LineIndex, path: &str) -> Vec<Request> {
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
