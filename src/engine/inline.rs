//! Inline suppression: a `tuskguard:allow` comment on a hit's line, or on a comment line of its
//! own just above, is part of matching (the engine and the lints both honour it).

pub const INLINE_MARKER: &[u8] = b"tuskguard:allow";

/// True when the line holding `offset`, or the line before it, carries `tuskguard:allow`.
pub fn inline_allowed(text: &[u8], offset: usize) -> bool {
    let offset = offset.min(text.len());
    let line_start = memchr::memrchr(b'\n', &text[..offset]).map_or(0, |i| i + 1);
    let line_end = memchr::memchr(b'\n', &text[offset..]).map_or(text.len(), |i| offset + i);
    if memchr::memmem::find(&text[line_start..line_end], INLINE_MARKER).is_some() {
        return true;
    }
    if line_start == 0 {
        return false;
    }
    let prev_end = line_start - 1;
    let prev_start = memchr::memrchr(b'\n', &text[..prev_end]).map_or(0, |i| i + 1);
    let previous = &text[prev_start..prev_end];
    // A marker trailing a line of code speaks for that line only; the line before counts when it
    // is a comment of its own.
    memchr::memmem::find(previous, INLINE_MARKER).is_some() && is_comment_line(previous)
}

fn is_comment_line(line: &[u8]) -> bool {
    const LEADERS: [&[u8]; 10] = [
        b"#", b"//", b"/*", b"*", b"--", b";", b"<!--", b"%", b"'", b"rem ",
    ];
    let trimmed = line.trim_ascii_start();
    LEADERS.iter().any(|leader| {
        trimmed.len() >= leader.len() && trimmed[..leader.len()].eq_ignore_ascii_case(leader)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_marker_on_same_or_previous_line() {
        let text = b"a\n# tuskguard:allow\nKEY=x\nKEY=y // tuskguard:allow\nKEY=z\n";
        let find = |needle: &[u8]| memchr::memmem::find(text, needle).unwrap();
        assert!(inline_allowed(text, find(b"KEY=x")));
        assert!(inline_allowed(text, find(b"KEY=y")));
        assert!(!inline_allowed(text, find(b"KEY=z")));
        assert!(!inline_allowed(b"KEY=q", 0));
    }
}
