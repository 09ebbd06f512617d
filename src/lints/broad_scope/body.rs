//! Body extraction: the `scopes` value a request's text shows (a list, null, omitted, or
//! something the lint cannot read), in any of the languages and formats the lint recognises.

use std::sync::OnceLock;

use regex::Regex;

use super::definitions::collections_in;
use super::{Request, ScopesValue, regex};
use crate::lints::text::{LineIndex, ceil_boundary, indent_of, matching_close};

/// A visible request body: a `name` or `expiresAt` field, in any of the languages.
fn body_evidence() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"(?i)(?:(?:^|[^a-z0-9_])(?:name|expires_?at)(?:\\?["'])?\s*(?:=>|:|=))|(?:[{,]\s*(?:name|expiresAt)\s*[,}])"#,
    )
}

/// True when `body` shows a request body: a `name` or `expiresAt` field.
pub(super) fn shows_a_body(body: &str) -> bool {
    body_evidence().is_match(body)
}

/// The requests `text[from..to]` shows: one per key definition when it lists several (a spec's
/// `keys` list, an array of bodies), each reported at its own line; otherwise the span read as
/// one body, reported at `start` (see [`request_from_body`]).
pub(super) fn requests_from_body(
    text: &str,
    index: &LineIndex,
    start: usize,
    from: usize,
    to: usize,
    known_to_be_a_body: bool,
) -> Vec<Request> {
    let collections = collections_in(text, index, from, to);
    if collections.keys.is_empty() {
        // `scopes` inside a listing or creation response describe keys that exist already.
        let in_response = |at: usize| {
            collections
                .responses
                .iter()
                .any(|&(open, close)| at > open && at < close)
        };
        return request_from_body(text, start, from, to, known_to_be_a_body)
            .filter(|request| !request.scopes_at.is_some_and(in_response))
            .into_iter()
            .collect();
    }
    collections
        .keys
        .into_iter()
        .filter_map(|(from, to)| definition_request(text, from, to, false))
        .collect()
}

/// One key definition (`text[from..to]`), reported at its line (or at `from` when other text
/// precedes it there) and fingerprinted on its own text, so two definitions in one file are two
/// findings however alike their first lines are.
pub(super) fn definition_request(
    text: &str,
    from: usize,
    to: usize,
    known_to_be_a_body: bool,
) -> Option<Request> {
    let line_start = text[..from].rfind('\n').map_or(0, |i| i + 1);
    let reported = if text[line_start..from].trim().is_empty() {
        line_start
    } else {
        from
    };
    let mut request = request_from_body(text, reported, from, to, known_to_be_a_body)?;
    request.definition = Some((from, to));
    Some(request)
}

/// Reads the scopes in `text[from..to]`: written scopes, or `Omitted` when a body is visible
/// without them (`known_to_be_a_body`: an empty SDK call, a spec's mapping entry; otherwise a
/// `name`/`expiresAt` field shows it). `None` when the text does not show what the key gets.
pub(super) fn request_from_body(
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
            definition: None,
        }),
        None => {
            let body = &text[from..to];
            let visible = known_to_be_a_body || shows_a_body(body);
            visible.then_some(Request {
                start,
                end: to,
                scopes: ScopesValue::Omitted,
                scopes_at: None,
                definition: None,
            })
        }
    }
}

/// The first readable `scopes` value in `text[from..to]` (a later one may follow an unreadable
/// mention in a comment); `Unreadable` if every mention is unreadable, `None` if there is none.
pub(super) fn find_scopes(text: &str, from: usize, to: usize) -> Option<(usize, ScopesValue)> {
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

/// The `scopes` list a variable is given in `text[from..to]` before the call that sends it, with
/// the scopes added to it on the lines that follow (`scopes.push('members:write')`,
/// `scopes.append(…)`, `scopes += […]`, `scopes << …`, Go `scopes = append(scopes, …)`): a list
/// built over several lines is judged whole.
pub(super) fn scopes_built_before(
    text: &str,
    from: usize,
    to: usize,
) -> Option<(usize, ScopesValue)> {
    static CELL: OnceLock<Regex> = OnceLock::new();
    let addition = regex(
        &CELL,
        r#"\bscopes\s*(?:\.\s*(?:push|append|add|extend|concat|insert|unshift)\s*(?P<call>\()|(?:\+=|<<)[ \t]*|=\s*append\s*(?P<go>\()\s*scopes\s*,)"#,
    );
    let (at, value) = find_scopes(text, from, to)?;
    let ScopesValue::List(mut items) = value else {
        return Some((at, value));
    };
    for found in addition.captures_iter(&text[at..to]) {
        let Some(whole) = found.get(0) else { continue };
        let open = match found.name("call").or(found.name("go")) {
            Some(paren) => Some(at + paren.start()),
            None => text[at + whole.end()..to]
                .starts_with(['[', '('])
                .then_some(at + whole.end()),
        };
        let added = match open {
            Some(open) => {
                let close = matching_close(text, open, to);
                &text[open + 1..close.max(open + 1)]
            }
            // `scopes << 'files:write'`: the rest of the line.
            None => {
                let rest = &text[at + whole.end()..to];
                &rest[..rest.find('\n').unwrap_or(rest.len())]
            }
        };
        // `extend(["a", "b"])`, `concat(['a'])`: the list inside the call.
        let added = added.trim().trim_start_matches('[').trim_end_matches(']');
        items.extend(list_items(added));
    }
    Some((at, ScopesValue::List(items)))
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Reads the value after a `scopes` key at `at`: `: [...]`, `= [...]`, `: null`, a YAML block...
pub(super) fn parse_scopes_value(text: &str, at: usize) -> ScopesValue {
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
    // `=>` (PHP, Ruby), `:=` (Go), `:` and `=`.
    let after_separator = if let Some(r) = rest.strip_prefix("=>").or(rest.strip_prefix(":=")) {
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
pub(super) fn list_items(inner: &str) -> Vec<String> {
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
                // A token ends at Unicode whitespace too (U+00A0): step over that character
                // whole, never into it.
                i = if token_end > i {
                    token_end
                } else {
                    i + inner[i..].chars().next().map_or(1, char::len_utf8)
                };
            }
        }
    }
    items
}
