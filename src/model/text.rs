//! Text helpers every layer may use: control characters made visible, sizes for people, how
//! reports name a path, and percent-encoding for URLs and URIs.

use std::path::Path;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// How reports name a walked path: relative to the scan root when there is one directory root
/// (so reports are the same wherever the tree is checked out), else as given; never with `./`.
pub fn display_path(path: &Path, root: Option<&Path>) -> String {
    shown_path(path, root).to_string_lossy().into_owned()
}

/// A path with `/` separators, as git and gitignore files write it.
pub fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The path `display_path` shows, before it is made text.
pub fn shown_path<'a>(path: &'a Path, root: Option<&Path>) -> &'a Path {
    let shown = root
        .and_then(|root| path.strip_prefix(root).ok())
        .filter(|relative| !relative.as_os_str().is_empty())
        .unwrap_or(path);
    shown.strip_prefix(".").unwrap_or(shown)
}

/// A path that is not UTF-8 (so reports show it with U+FFFD) as its exact bytes, percent-encoded:
/// what a saved report needs to read the file again. `None` for a UTF-8 path.
pub fn raw_path(path: &Path) -> Option<String> {
    if path.to_str().is_some() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Some(percent_encoding::percent_encode(path.as_os_str().as_bytes(), PATH).to_string())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The path a `raw_path` names.
pub fn path_from_raw(raw: &str) -> Option<std::path::PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        let bytes: Vec<u8> = percent_encoding::percent_decode_str(raw).collect();
        Some(std::ffi::OsString::from_vec(bytes).into())
    }
    #[cfg(not(unix))]
    {
        let _ = raw;
        None
    }
}

/// Hostile file names must not move the cursor, fake output lines, or reorder what is shown
/// (bidi overrides make `bidi\u{202e}txt.exe` read as `bidiexe.txt`).
pub fn escape_control(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() || is_invisible_format(c) {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Bidi controls and the Unicode line and paragraph separators: not `Cc`, but they change how a
/// line is displayed or where it breaks.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// A path as a shell word, for commands we tell people to run (`git rm --cached 'my .env'`).
/// Control characters (a newline in a file name) use bash/zsh `$'…'` quoting, so the command stays
/// on one line, names the right file, and a hostile name cannot fake output lines.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/@%+=:,-".contains(c));
    if plain {
        text.to_owned()
    } else if text
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        let escaped: String = text
            .chars()
            .map(|c| match c {
                '\\' => "\\\\".to_owned(),
                '\'' => "\\'".to_owned(),
                '\n' => "\\n".to_owned(),
                '\t' => "\\t".to_owned(),
                c if (c as u32) < 0x80 && c.is_control() => format!("\\x{:02x}", c as u32),
                c if c.is_control() || is_invisible_format(c) => format!("\\u{:04x}", c as u32),
                c => c.to_string(),
            })
            .collect();
        format!("$'{escaped}'")
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Bytes kept as they are in a URL component: RFC 3986 unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// In a path, `/` separates components and stays.
const PATH: &AsciiSet = &COMPONENT.remove(b'/');

/// Percent-encodes everything but RFC 3986 unreserved characters (one URL component: an id, a
/// cursor).
pub fn percent_encode(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// Percent-encodes a relative or absolute path for a URI, keeping its `/` separators.
pub fn percent_encode_path(path: &str) -> String {
    utf8_percent_encode(path, PATH).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_leaves_plain_paths_and_quotes_the_rest() {
        assert_eq!(shell_quote("config/.env"), "config/.env");
        assert_eq!(shell_quote("my dir/.env"), "'my dir/.env'");
        assert_eq!(shell_quote("it's.env"), "'it'\\''s.env'");
        // A newline stays in the name (ANSI-C quoting) and out of the output.
        assert_eq!(shell_quote("a\nb"), "$'a\\nb'");
        assert_eq!(shell_quote("a\nb'.env"), "$'a\\nb\\'.env'");
        assert!(!shell_quote("a\x1b[31m\r").chars().any(char::is_control));
        // A bidi override cannot reorder the command as shown.
        assert_eq!(shell_quote("bidi\u{202e}txt.env"), "$'bidi\\u202etxt.env'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KB");
    }

    #[test]
    #[cfg(unix)]
    fn raw_paths_round_trip_bytes_that_are_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(std::ffi::OsStr::from_bytes(b"d/bad\xff%.txt"));
        let raw = raw_path(path).unwrap();
        assert_eq!(raw, "d/bad%FF%25.txt");
        assert_eq!(path_from_raw(&raw).unwrap(), path);
        assert_eq!(raw_path(Path::new("d/\u{e9}t\u{e9}.txt")), None);
    }

    #[test]
    fn percent_encoding_keeps_unreserved_and_path_separators() {
        assert_eq!(percent_encode("key_1-a.b~c"), "key_1-a.b~c");
        assert_eq!(percent_encode("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(
            percent_encode_path("dir a/\u{e9}.txt"),
            "dir%20a/%C3%A9.txt"
        );
    }
}
