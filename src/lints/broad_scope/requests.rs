//! Request recognition: where the text creates a Tusky key (a POST to `…/api-keys`, an SDK
//! call, a provisioning spec's key definitions), and how far each request's text reaches.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;

use super::body::{definition_request, request_from_body, requests_from_body, scopes_built_before};
use super::definitions::{last_definitions_in, yaml_block_items};
use super::{COLLECTION_ANCHORS, Request, ScopesValue, anchors, regex};
use crate::lints::text::{
    LineIndex, ceil_boundary, child_objects, expression_end, floor_boundary, indent_of,
    matching_close, shell_command_end,
};

/// Requests per file examined at most (a generated file full of anchors stays cheap).
const MAX_HITS: usize = 2_000;
/// Bytes a request body may span from its URL.
const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Lines of a YAML mapping examined around a URL at most, each way.
const MAX_YAML_BLOCK_LINES: usize = 200;
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
    let is_json = lower_path.ends_with(".json");
    let is_yaml = lower_path.ends_with(".yaml") || lower_path.ends_with(".yml");
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
                is_json,
                is_yaml,
            };
            url_request(text, index, start, end, &context)
        } else if is_collection {
            match sdk_request(text, index, start, end, sdk_create_after_collection()) {
                Some(found) => found,
                None => spec_requests(text, index, start, end),
            }
        } else {
            sdk_request(text, index, start, end, sdk_create_call()).unwrap_or_default()
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
    is_json: bool,
    is_yaml: bool,
}

/// A request to a `…/api-keys` URL, if it is a POST (a creation): one request, or one per key
/// definition when the request's text lists several.
fn url_request(
    text: &str,
    index: &LineIndex,
    start: usize,
    end: usize,
    context: &UrlContext,
) -> Vec<Request> {
    single_url_request(text, index, start, end, context).unwrap_or_default()
}

fn single_url_request(
    text: &str,
    index: &LineIndex,
    start: usize,
    end: usize,
    context: &UrlContext,
) -> Option<Vec<Request>> {
    let after = &text[end..];
    let mut chars = after.chars();
    match chars.next() {
        // `/v2/api-keys/{id}`: one key (get, revoke), not creation.
        Some('/') if chars.next().is_some_and(|c| !is_token_end(c)) => return None,
        // `?limit=…`: listing.
        Some('?') => return None,
        _ => {}
    }
    if context.is_yaml
        && !context.is_postman
        && let Some(found) = yaml_value_request(text, index, start, context)
    {
        return Some(found);
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
        let mut request = request_from_body(text, key_at, open, close, false)?;
        request.definition = Some((open, close));
        return Some(vec![request]);
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
    let found = requests_from_body(
        text,
        index,
        reported,
        site.body_from,
        site.extent_end,
        false,
    );
    if !found.is_empty() {
        return Some(found);
    }
    // The body may be a variable built just before the call (or a list of bodies a loop
    // posts): look for key definitions or its `scopes` there.
    let before_from = index
        .start_lines_before(site.at, 15)
        .max(context.prev_end)
        .min(site.back_from);
    let definitions = last_definitions_in(text, index, before_from, site.at);
    if !definitions.is_empty() {
        return Some(definition_requests(text, &definitions));
    }
    if let Some((at, value)) = scopes_built_before(text, before_from, site.at)
        && value != ScopesValue::Unreadable
    {
        return Some(vec![Request {
            start: reported,
            end: site.extent_end,
            scopes: value,
            scopes_at: Some(at),
            definition: None,
        }]);
    }
    // A JSON document may list its key definitions after the request object that names the
    // endpoint (`"request": {…}, "keys": […]`).
    if context.is_json {
        let after_to = index
            .end_lines_after(site.extent_end, 15)
            .min(context.next_start)
            .max(site.extent_end);
        let definitions = last_definitions_in(text, index, site.extent_end, after_to);
        if !definitions.is_empty() {
            return Some(definition_requests(text, &definitions));
        }
    }
    None
}

fn definition_requests(text: &str, definitions: &[(usize, usize)]) -> Vec<Request> {
    definitions
        .iter()
        .filter_map(|&(from, to)| definition_request(text, from, to, false))
        .collect()
}

/// A YAML request spec: the URL is a value (`endpoint: POST /v2/api-keys`, `url: …` next to
/// `method: POST`) and its sibling keys hold the body or a list of key definitions. `None` when
/// the URL is not a YAML value, so the generic reading applies.
fn yaml_value_request(
    text: &str,
    index: &LineIndex,
    start: usize,
    context: &UrlContext,
) -> Option<Vec<Request>> {
    static CELL: OnceLock<Regex> = OnceLock::new();
    let value_key = regex(&CELL, r#"^\s*(?:-\s+)?["']?[A-Za-z0-9_.-]+["']?\s*:\s"#);
    static METHOD: OnceLock<Regex> = OnceLock::new();
    let method_key = regex(
        &METHOD,
        r#"(?i)^\s*(?:-\s+)?["']?method["']?\s*:\s*["']?(?P<method>[a-z]+)\b"#,
    );
    let line = index.line_of(start);
    let line_start = index.line_start(line);
    let key = value_key.find(&text[line_start..start])?;
    let (block_from, block_to) = yaml_mapping_block(index, line);
    let block_from = block_from.max(context.prev_end.min(line_start));
    let in_value = &text[line_start + key.end()..start];
    // The method is the URL's own prefix (`POST /v2/api-keys`) or a sibling `method:` key.
    let sibling_method = || {
        let content_indent = yaml_content_indent(index.line_text(line));
        (index.line_of(block_from)..=index.line_of(block_to))
            .map(|l| index.line_text(l))
            .filter(|l| yaml_content_indent(l) == content_indent)
            .find_map(|l| method_key.captures(l))
            .and_then(|caps| caps.name("method"))
            .map(|m| {
                if m.as_str().eq_ignore_ascii_case("post") {
                    Method::Post
                } else {
                    Method::Other
                }
            })
    };
    let method = nearest_method(in_value, "", true).or_else(sibling_method);
    if method != Some(Method::Post) {
        return Some(Vec::new());
    }
    let found = requests_from_body(text, index, line_start, block_from, block_to, false);
    Some(found)
}

/// Where a YAML line's key starts: its indent, past a list item's `- `.
fn yaml_content_indent(line: &str) -> usize {
    let trimmed = line.trim_start();
    indent_of(line)
        + match trimmed.strip_prefix("- ") {
            Some(rest) => 2 + indent_of(rest),
            None => 0,
        }
}

/// The lines of the YAML mapping `line` belongs to: its siblings and their children, up to the
/// lines of a lesser indent around them (a list item's `- ` line is part of it).
fn yaml_mapping_block(index: &LineIndex, line: usize) -> (usize, usize) {
    let content_indent = yaml_content_indent(index.line_text(line));
    let significant = |l: usize| {
        let t = index.line_text(l).trim_start();
        !(t.is_empty() || t.starts_with('#'))
    };
    let mut first = line;
    let floor = line.saturating_sub(MAX_YAML_BLOCK_LINES);
    while first > floor {
        let prev = first - 1;
        if !significant(prev) {
            first = prev;
            continue;
        }
        let prev_text = index.line_text(prev);
        let prev_indent = indent_of(prev_text);
        if prev_indent >= content_indent {
            first = prev;
            continue;
        }
        if prev_text.trim_start().starts_with("- ") && prev_indent + 2 <= content_indent {
            first = prev;
        }
        break;
    }
    let mut last = line;
    let ceiling = (line + MAX_YAML_BLOCK_LINES).min(index.line_count() - 1);
    while last < ceiling {
        let next = last + 1;
        if significant(next) && indent_of(index.line_text(next)) < content_indent {
            break;
        }
        last = next;
    }
    (index.line_start(first), index.line_end(last))
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
fn sdk_request(
    text: &str,
    index: &LineIndex,
    start: usize,
    end: usize,
    call: &Regex,
) -> Option<Vec<Request>> {
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
    let found = requests_from_body(text, index, line_start, open + 1, close, no_args);
    if !found.is_empty() {
        return Some(found);
    }
    // `for k in KEYS: client.api_keys.create(**k)`: the definitions are a list just before.
    if no_args {
        return None;
    }
    let before_from = index.start_lines_before(start, 15);
    let definitions = last_definitions_in(text, index, before_from, line_start);
    if !definitions.is_empty() {
        return Some(definition_requests(text, &definitions));
    }
    // `create(name="ci", scopes=scopes)`: the variable's list, built on the lines before. Only a
    // call that passes the `scopes` variable, and only a list (a `scopes=None` seen before may be
    // a parameter's default, not this variable's value).
    static PASSES_SCOPES: OnceLock<Regex> = OnceLock::new();
    let passes_scopes = regex(
        &PASSES_SCOPES,
        r"(?i:\bscopes\s*(?::|=)\s*)scopes\b|[{,]\s*scopes\s*[,}]",
    );
    if !passes_scopes.is_match(&text[open + 1..close]) {
        return None;
    }
    match scopes_built_before(text, before_from, line_start) {
        Some((at, value @ ScopesValue::List(_))) => Some(vec![Request {
            start: line_start,
            end: close,
            scopes: value,
            scopes_at: Some(at),
            definition: None,
        }]),
        _ => None,
    }
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
            definition_request(text, from, to, is_mapping_entry)
        })
        .collect()
}
