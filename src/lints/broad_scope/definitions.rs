//! Key definitions: a document or code that lists several keys to create (a provisioning spec's
//! `keys` list next to the create endpoint, an array of bodies a loop posts, a YAML list) is
//! judged per definition, each at its own line, so an admin key and a narrow key beside it are
//! two different answers, not one answer for the file.

use std::sync::OnceLock;

use regex::Regex;

use super::body::{find_scopes, shows_a_body};
use super::regex;
use crate::lints::text::{LineIndex, child_objects, indent_of, matching_close, object_lists};

/// Collection names that say "key definitions" by themselves: under one of them an item needs
/// only a visible body (`name`, `expiresAt`); under any other name the collection needs an item
/// that writes `scopes`, so a `tags: [{name: …}]` list in a request body is not mistaken for keys.
const DEFINITION_COLLECTIONS: &[&str] = &[
    "keys",
    "apikeys",
    "api_keys",
    "api-keys",
    "key_definitions",
    "keydefinitions",
];
/// Bracketed lists examined per span at most (nested brackets in a generated file stay cheap).
const MAX_LISTS: usize = 64;
/// Lines of a YAML collection examined at most.
const MAX_YAML_LINES: usize = 2_000;

/// Fields only a key the API returned has (a listing or a creation response), never a
/// definition of a key to create.
fn response_field() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"(?i)(?:^|[^a-z0-9_])(?:created_?at|last_?used_?at)(?:\\?["'])?\s*(?:=>|:|=)"#,
    )
}

/// A keys name whose value is a map (`"keys": {`, `api_keys = {`).
fn named_map() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"(?i)["']?\b(?:keys|api_?keys|api-keys|key_?definitions)["']?\s*(?::|=)\s*\{"#,
    )
}

/// A YAML key whose value starts on the next line: `keys:`, `- api_keys:  # comment`.
fn yaml_collection_key() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    regex(
        &CELL,
        r#"^\s*(?:-\s+)?["']?(?P<name>[A-Za-z0-9_.-]+)["']?\s*:\s*(?:#.*)?$"#,
    )
}

/// What the key definitions in a span are.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Definitions {
    /// `(from, to)` of every key definition, in order.
    pub(super) keys: Vec<(usize, usize)>,
    /// The definitions of the collection that ends last in the span.
    pub(super) last: Vec<(usize, usize)>,
    /// Lists of keys the API returned (a listing or creation response shown next to the
    /// request): the `scopes` in them describe existing keys, not the one being created.
    pub(super) responses: Vec<(usize, usize)>,
}

enum Collection {
    Definitions,
    Responses,
    Other,
}

/// The key definitions of the last collection in `text[from..to]`: the list a loop just after it
/// posts (`for (const k of keys) create(k)`). Empty when there is none.
pub(super) fn last_definitions_in(
    text: &str,
    index: &LineIndex,
    from: usize,
    to: usize,
) -> Vec<(usize, usize)> {
    collections_in(text, index, from, to).last
}

/// The key definitions and API-response lists in `text[from..to]`.
pub(super) fn collections_in(text: &str, index: &LineIndex, from: usize, to: usize) -> Definitions {
    let mut lists: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut covered: Vec<(usize, usize)> = Vec::new();
    let mut responses: Vec<(usize, usize)> = Vec::new();
    for (open, close) in object_lists(text, from, to, MAX_LISTS) {
        if covered.iter().any(|&(a, b)| open > a && open < b) {
            continue;
        }
        let items = child_objects(text, open, close);
        match judge_collection(text, &items, collection_name(text, index, open), false) {
            Collection::Definitions => lists.push(items),
            Collection::Responses => responses.push((open, close)),
            Collection::Other => continue,
        }
        covered.push((open, close));
    }
    // Maps of definitions by name under a keys name: `"keys": {"root": {…}, "ci": {…}}`.
    for found in named_map().find_iter(&text[from..to]) {
        let open = from + found.end() - 1;
        if covered.iter().any(|&(a, b)| open > a && open < b) {
            continue;
        }
        let close = matching_close(text, open, to);
        let name = collection_name(text, index, open);
        let items = child_objects(text, open, close);
        if matches!(
            judge_collection(text, &items, name, true),
            Collection::Definitions
        ) {
            lists.push(items);
            covered.push((open, close));
        }
    }
    lists.extend(yaml_definitions(text, index, from, to, &covered));
    let last = lists
        .iter()
        .max_by_key(|items| items.last().map_or(0, |&(_, end)| end))
        .cloned()
        .unwrap_or_default();
    let mut keys: Vec<(usize, usize)> = lists.into_iter().flatten().collect();
    keys.sort_unstable();
    keys.dedup();
    Definitions {
        keys,
        last,
        responses,
    }
}

/// Key definitions when each item shows a body, and either the collection's name says keys or
/// some item writes `scopes`; API responses when an item has a field only a returned key has.
/// Mapping entries (`root:` with nested fields) count only under a keys name.
fn judge_collection(
    text: &str,
    items: &[(usize, usize)],
    name: &str,
    mapping_entries: bool,
) -> Collection {
    let named = DEFINITION_COLLECTIONS
        .iter()
        .any(|known| name.eq_ignore_ascii_case(known));
    if items.is_empty() {
        return Collection::Other;
    }
    let mut any_scopes = false;
    let mut all_bodies = true;
    for &(from, to) in items {
        let item = &text[from..to];
        if response_field().is_match(item) {
            return Collection::Responses;
        }
        let has_scopes = find_scopes(text, from, to).is_some();
        all_bodies &= has_scopes || shows_a_body(item);
        any_scopes |= has_scopes;
    }
    // A map's entries are named by their keys, so they need no `name` field, but one of them
    // must write `scopes` (`keys: {up: {code: 38}}` is a keyboard, not key definitions).
    let definitions = if mapping_entries {
        named && (any_scopes || all_bodies)
    } else {
        all_bodies && (named || any_scopes)
    };
    if definitions {
        Collection::Definitions
    } else {
        Collection::Other
    }
}

/// The name a bracketed collection is assigned to: `"keys": [`, `keys = [`, `Keys: []T{`.
fn collection_name<'a>(text: &'a str, index: &LineIndex, open: usize) -> &'a str {
    let line_start = index.line_start(index.line_of(open));
    let before = &text[line_start..open];
    let Some(separator) = before.rfind([':', '=']) else {
        return "";
    };
    let left = before[..separator].trim_end_matches([':', ' ', '\t', '"', '\'']);
    // Past the last character that cannot be in a name: it may be wider than one byte (`→keys`,
    // U+FFFD from lossy decoding).
    let name_start = left
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    &left[name_start..]
}

/// Key definitions in YAML block collections within `text[from..to]` (outside `covered`).
fn yaml_definitions(
    text: &str,
    index: &LineIndex,
    from: usize,
    to: usize,
    covered: &[(usize, usize)],
) -> Vec<Vec<(usize, usize)>> {
    let mut found = Vec::new();
    let first = index.line_of(from);
    let last = index.line_of(to.saturating_sub(1).max(from));
    let mut line = first;
    while line <= last {
        let start = index.line_start(line);
        let line_text = index.line_text(line);
        // Cheap test first: a collection key line ends in `:` (or has a comment after it).
        if !(line_text.trim_end().ends_with(':') || line_text.contains(": #")) {
            line += 1;
            continue;
        }
        let Some(name) = yaml_collection_key()
            .captures(line_text)
            .and_then(|caps| caps.name("name"))
            .map(|m| m.as_str())
        else {
            line += 1;
            continue;
        };
        if covered.iter().any(|&(a, b)| start > a && start < b) {
            line += 1;
            continue;
        }
        let items: Vec<(usize, usize, bool)> = yaml_block_items(index, line)
            .into_iter()
            .filter(|&(item_from, _, _)| item_from < to)
            .collect();
        let mapping_entries = items
            .first()
            .is_some_and(|&(item_from, _, _)| !text[item_from..].trim_start().starts_with('-'));
        let spans: Vec<(usize, usize)> = items.iter().map(|&(a, b, _)| (a, b.min(to))).collect();
        if matches!(
            judge_collection(text, &spans, name, mapping_entries),
            Collection::Definitions
        ) {
            let end = spans.last().map_or(start, |&(_, b)| b);
            found.push(spans);
            line = index.line_of(end) + 1;
        } else {
            line += 1;
        }
    }
    found
}

/// The children of a YAML key on `key_line`: `(from, to, is_mapping_entry)` per item. A mapping
/// entry (`ci:` with nested lines) is a key definition by position; a list item needs a body.
pub(super) fn yaml_block_items(index: &LineIndex, key_line: usize) -> Vec<(usize, usize, bool)> {
    let key_indent = indent_of(index.line_text(key_line));
    let mut items: Vec<(usize, usize, bool)> = Vec::new();
    let mut item_indent: Option<(usize, bool)> = None;
    let last_line = (key_line + MAX_YAML_LINES).min(index.line_count() - 1);
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
