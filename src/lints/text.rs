//! Small, bounded text scanners for the content lints: line positions, bracket-balanced spans that
//! step over string literals, and shell-command extents. Built for source code of any language, so
//! they are forgiving: an unterminated string ends at the end of its line, every scan has a limit.

/// Line starts of a text, for offset → (line, column) and line slicing.
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { text, starts }
    }

    /// 0-based line holding `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset) - 1
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    pub fn line_start(&self, line: usize) -> usize {
        self.starts[line.min(self.starts.len() - 1)]
    }

    /// End of a line's content (before `\n` and a `\r` before it).
    pub fn line_end(&self, line: usize) -> usize {
        let end = self
            .starts
            .get(line + 1)
            .map_or(self.text.len(), |next| next - 1);
        let start = self.line_start(line);
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }

    pub fn line_text(&self, line: usize) -> &'a str {
        &self.text[self.line_start(line)..self.line_end(line)]
    }

    /// Byte offset where the `lines_back`-th line before `offset`'s line starts.
    pub fn start_lines_before(&self, offset: usize, lines_back: usize) -> usize {
        self.line_start(self.line_of(offset).saturating_sub(lines_back))
    }

    /// Byte offset where the `lines_ahead`-th line after `offset`'s line ends.
    pub fn end_lines_after(&self, offset: usize, lines_ahead: usize) -> usize {
        let line = (self.line_of(offset) + lines_ahead).min(self.starts.len() - 1);
        self.line_end(line)
    }
}

/// Leading spaces/tabs of a line.
pub fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// Largest char boundary ≤ `offset`.
pub fn floor_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Smallest char boundary ≥ `offset`.
pub fn ceil_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset += 1;
    }
    offset
}

fn escaped(bytes: &[u8], i: usize) -> bool {
    i > 0 && bytes[i - 1] == b'\\'
}

/// Where the string literal opened by the quote at `open` ends (just past its closing quote).
/// `"` and `'` strings end at the end of their line if unterminated (prose apostrophes);
/// backtick strings may span lines.
fn skip_string(bytes: &[u8], open: usize, limit: usize) -> usize {
    let quote = bytes[open];
    let mut i = open + 1;
    while i < limit {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' if quote != b'`' => return i,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    limit
}

/// From `from`, the end of the expression `from` sits in: where a bracket opened before `from`
/// closes, a `;` at depth 0, or a line break at depth 0 that does not continue the expression
/// (a line ending in `,` `\` `(` `[` `{` `+` `=` `:` continues). Never past `limit`.
pub fn expression_end(text: &str, from: usize, limit: usize) -> usize {
    let bytes = text.as_bytes();
    let limit = limit.min(bytes.len());
    let mut depth: i32 = 0;
    let mut i = from;
    // Callers start just after a value (a URL literal), so a line break right away ends it.
    let mut last_significant = b'"';
    while i < limit {
        let c = bytes[i];
        match c {
            // An escaped quote (`\"`) sits inside an outer string, as in JSON-in-JSON bodies:
            // it is text, not a string of its own.
            b'"' | b'\'' | b'`' if !escaped(bytes, i) => {
                i = skip_string(bytes, i, limit);
                last_significant = b'"';
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth < 0 {
                    return i;
                }
            }
            b';' if depth == 0 => return i,
            b'\n'
                if depth == 0
                    && !matches!(
                        last_significant,
                        b',' | b'\\' | b'(' | b'[' | b'{' | b'+' | b'=' | b':'
                    ) =>
            {
                return i;
            }
            _ => {}
        }
        if !c.is_ascii_whitespace() {
            last_significant = c;
        }
        i += 1;
    }
    limit
}

/// The span of the bracketed group opening at `open` (`(`, `[` or `{`): returns the offset of
/// the matching closer, or `limit` when it does not close in time.
pub fn matching_close(text: &str, open: usize, limit: usize) -> usize {
    let bytes = text.as_bytes();
    let limit = limit.min(bytes.len());
    let mut depth = 0usize;
    let mut i = open;
    while i < limit {
        match bytes[i] {
            // An escaped quote (`\"`) sits inside an outer string, as in JSON-in-JSON bodies:
            // it is text, not a string of its own.
            b'"' | b'\'' | b'`' if !escaped(bytes, i) => {
                i = skip_string(bytes, i, limit);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
        i += 1;
    }
    limit
}

/// Offsets of the `{…}` groups directly inside the group opening at `open`, with their closers.
pub fn child_objects(text: &str, open: usize, close: usize) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut children = Vec::new();
    let mut i = open + 1;
    while i < close {
        match bytes[i] {
            b'"' | b'\'' | b'`' if !escaped(bytes, i) => {
                i = skip_string(bytes, i, close);
                continue;
            }
            b'{' => {
                let end = matching_close(text, i, close);
                children.push((i, end));
                i = end + 1;
                continue;
            }
            b'(' | b'[' => {
                i = matching_close(text, i, close) + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    children
}

/// Lists of objects in `text[from..to]`, outside string literals: `[` followed by `{` (JSON, JS,
/// Python) and Go slice literals `[]T{ {…` — `(open, close)` of each list, outermost first, at
/// most `max` of them, in order of their opening bracket (nested lists too).
pub fn object_lists(text: &str, from: usize, to: usize, max: usize) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let to = to.min(bytes.len());
    let next_non_space = |mut i: usize| {
        while i < to && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut lists = Vec::new();
    let mut i = from;
    while i < to && lists.len() < max {
        match bytes[i] {
            b'"' | b'\'' | b'`' if !escaped(bytes, i) => {
                i = skip_string(bytes, i, to);
                continue;
            }
            b'[' => {
                let mut open = i;
                if bytes.get(i + 1) == Some(&b']') {
                    // Go: `[]tusky.Params{`: the list is the brace after the type name.
                    let type_end = text[i + 2..to]
                        .find(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_'))
                        .map_or(to, |n| i + 2 + n);
                    if bytes.get(type_end) != Some(&b'{') {
                        i += 2;
                        continue;
                    }
                    open = type_end;
                }
                let first = next_non_space(open + 1);
                if first < to && bytes[first] == b'{' {
                    lists.push((open, matching_close(text, open, to)));
                    i = first;
                    continue;
                }
                i = open + 1;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    lists
}

/// The end of a shell command starting before `from`: a line break outside quotes that is not
/// escaped with `\`. Single quotes span lines without escapes, as in `curl -d '{…}'`.
pub fn shell_command_end(text: &str, from: usize, limit: usize) -> usize {
    let bytes = text.as_bytes();
    let limit = limit.min(bytes.len());
    let mut i = from;
    let mut quote: Option<u8> = None;
    while i < limit {
        let c = bytes[i];
        match (quote, c) {
            (Some(b'\''), b'\'') => quote = None,
            (Some(b'\''), _) => {}
            (Some(_), b'\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'\\') => i += 1,
            (None, b'\'' | b'"') => quote = Some(c),
            (None, b'\n') => return i,
            (None, _) => {}
        }
        i += 1;
    }
    limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_positions() {
        let text = "a\r\nbc\n\nd";
        let index = LineIndex::new(text);
        assert_eq!(index.line_of(0), 0);
        assert_eq!(index.line_of(3), 1);
        assert_eq!(index.line_of(7), 3);
        assert_eq!(index.line_text(0), "a");
        assert_eq!(index.line_text(1), "bc");
        assert_eq!(index.line_text(2), "");
        assert_eq!(index.line_count(), 4);
    }

    #[test]
    fn expression_end_stops_at_the_enclosing_close() {
        let text = "fetch(url, { method: 'POST', body: \")\" }) ; next()";
        let end = expression_end(text, 10, text.len());
        assert_eq!(&text[end..end + 1], ")");
        assert_eq!(end, text.find(" ;").unwrap() - 1);
        let python = "post(\n  url,\n  json={'a': 1},\n)\nother = 1";
        let end = expression_end(python, 9, python.len());
        assert_eq!(&python[end..], ")\nother = 1");
        let statement = "x = 1\ny = 2";
        assert_eq!(expression_end(statement, 0, statement.len()), 5);
    }

    #[test]
    fn child_objects_skip_strings_and_nesting() {
        let text = r#"[{"a": "}"}, [ {"x":1} ], {"b": {"c": 2}}]"#;
        let close = matching_close(text, 0, text.len());
        assert_eq!(close, text.len() - 1);
        let children = child_objects(text, 0, close);
        assert_eq!(children.len(), 2);
        assert_eq!(&text[children[1].0..=children[1].1], r#"{"b": {"c": 2}}"#);
    }

    #[test]
    fn shell_commands_continue_over_backslashes_and_quotes() {
        let text = "curl -X POST u \\\n  -d '{\n \"a\": 1\n}'\necho done";
        let end = shell_command_end(text, 0, text.len());
        assert_eq!(&text[end..], "\necho done");
    }
}
