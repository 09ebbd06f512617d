//! Decoders for keys stored encoded: base64 (Kubernetes `Secret` data, config blobs), percent
//! encoding (URLs), and UTF-16 text. Each finds the encoded run around a prefilter hit and decodes
//! it, so the plain path never pays for decoding.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Limits how far a run is followed from a hit: a key sits near its anchor, and a hostile file of
/// one endless base64 line must not cost more than this per hit.
const MAX_RUN_BYTES: usize = 16 * 1024;

/// The literal base64 shapes of `prefix` at each of the three byte alignments: the characters that
/// depend only on the prefix, never on the bytes around it.
pub fn base64_shapes(prefix: &[u8]) -> Vec<String> {
    let standard = &base64::engine::general_purpose::STANDARD_NO_PAD;
    let mut shapes = Vec::new();
    for alignment in 0..3 {
        let variants: Vec<String> = [0x00u8, 0xFF]
            .iter()
            .flat_map(|lead| [0x00u8, 0xFF].map(move |tail| (*lead, tail)))
            .map(|(lead, tail)| {
                let mut bytes = vec![lead; alignment];
                bytes.extend_from_slice(prefix);
                bytes.push(tail);
                standard.encode(bytes)
            })
            .collect();
        let first = variants[0].as_bytes();
        let fixed: Vec<bool> = (0..first.len())
            .map(|i| {
                variants
                    .iter()
                    .all(|v| v.as_bytes().get(i) == Some(&first[i]))
            })
            .collect();
        // The longest run of characters every variant agrees on.
        let (mut best, mut start) = ((0, 0), None);
        for (i, is_fixed) in fixed.iter().chain([&false]).enumerate() {
            match (is_fixed, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    if i - s > best.1 - best.0 {
                        best = (s, i);
                    }
                    start = None;
                }
                _ => {}
            }
        }
        let shape = &variants[0][best.0..best.1];
        if shape.len() >= 6 && !shapes.iter().any(|s: &String| s == shape) {
            shapes.push(shape.to_owned());
        }
    }
    shapes
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// Expands `[start, end)` to the surrounding run of bytes accepted by `accept`, bounded.
pub fn expand_run(
    text: &[u8],
    start: usize,
    end: usize,
    accept: impl Fn(u8) -> bool,
) -> (usize, usize) {
    let floor = start.saturating_sub(MAX_RUN_BYTES);
    let ceiling = (end + MAX_RUN_BYTES).min(text.len());
    let mut left = start;
    while left > floor && accept(text[left - 1]) {
        left -= 1;
    }
    let mut right = end;
    while right < ceiling && accept(text[right]) {
        right += 1;
    }
    (left, right)
}

/// The base64 run around a hit and its decodings at each possible starting alignment (a run's
/// first character need not start a quantum when the run is cut by the bound or glued to text).
pub fn decode_base64_run(
    text: &[u8],
    hit_start: usize,
    hit_end: usize,
) -> ((usize, usize), Vec<Vec<u8>>) {
    let (left, mut right) = expand_run(text, hit_start, hit_end, is_base64_byte);
    let region_end = {
        let mut end = right;
        while end < text.len() && end - right < 2 && text[end] == b'=' {
            end += 1;
        }
        end
    };
    let config = GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, config);
    let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, config);
    let mut decoded = Vec::new();
    for skip in 0..4 {
        let begin = left + skip;
        if begin >= hit_start.max(left + 1) && skip > 0 {
            break;
        }
        let mut chunk = &text[begin..right];
        // A trailing lone character cannot decode; drop what does not fill a quantum.
        if chunk.len() % 4 == 1 {
            chunk = &chunk[..chunk.len() - 1];
        }
        let has_url_chars = chunk.iter().any(|b| matches!(b, b'-' | b'_'));
        let engine = if has_url_chars { &url_safe } else { &standard };
        if let Ok(bytes) = engine.decode(chunk) {
            decoded.push(bytes);
        }
    }
    right = region_end;
    ((left, right), decoded)
}

/// A UUID stored as base64 (48 characters, or 52 with the encoded trailing newline), decoded;
/// `None` for anything else, a plain UUID included.
pub fn decode_base64_uuid(value: &str) -> Option<String> {
    if value.len() < 48 || value.contains('-') {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .ok()?;
    let text = std::str::from_utf8(&bytes)
        .ok()?
        .trim_end_matches(['\r', '\n']);
    let groups: Vec<&str> = text.split('-').collect();
    let shaped = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    shaped.then(|| text.to_owned())
}

/// The starts of the string-literal escapes (JSON, JavaScript, Python, C, Rust, Java…) that can
/// spell `byte`, in either case of hex digit. Each literal costs prefilter speed on every file, so
/// there is one per escape style: a hex escape whose last digit is a letter (`k` = `\x6b` or
/// `\x6B`) stops before that digit (`\x6`), which both cases start with, and the rarely used
/// 8-digit `\U` escape is one literal for every position (`\U000000`, see [`escape_literals`]).
/// A hit only starts decoding: the decoded run must still spell the anchor.
fn escapes_of(byte: u8) -> Vec<String> {
    // `\x6b`, `\u006b`, `\u{6b}` without their last digit when it is a letter.
    let last_digit_is_letter = byte & 0xf >= 0xa;
    let case_free = |escape: String, close: &str| {
        if last_digit_is_letter {
            escape[..escape.len() - 1].to_owned()
        } else {
            escape + close
        }
    };
    vec![
        case_free(format!("\\x{byte:02x}"), ""),
        case_free(format!("\\u00{byte:02x}"), ""),
        case_free(format!("\\u{{{byte:x}"), "}"),
        format!("\\{byte:03o}"),
    ]
}

/// Literals that start escaped spellings of `anchor` whose first escaped character is one of the
/// first three (the plain start, then that character's escape). An escape or a percent escape
/// further in is found from the plain stem (`ESCAPE_STEM_LEN` bytes, a literal of its own)
/// followed by letters and the escape ([`escape_follows`], [`percent_follows`]). The set is kept
/// small: see [`super::prefilter::MAX_FAST_LITERALS`].
pub fn escape_literals(anchor: &[u8]) -> Vec<Vec<u8>> {
    // `\U000000` starts the 8-digit escape of any ASCII character: one literal serves every
    // position (the run around the hit is decoded whole, its plain start included).
    let mut literals = vec![b"\\U000000".to_vec()];
    for (i, byte) in anchor.iter().enumerate().take(ESCAPE_STEM_LEN) {
        for escape in escapes_of(*byte) {
            let mut literal = anchor[..i].to_vec();
            literal.extend_from_slice(escape.as_bytes());
            literals.push(literal);
        }
    }
    literals
}

/// How much of an anchor is spelled plainly before [`escape_follows`] or [`percent_follows`] is
/// asked (`tsk` of `tsk\137live…`, `tsk%5Flive…`, `tsk_liv\x65…`).
pub const ESCAPE_STEM_LEN: usize = 3;

/// The bytes after the run of letters, digits and `_` (at most `limit` of them) at `at`.
fn after_word(text: &[u8], at: usize, limit: usize) -> &[u8] {
    let rest = &text[at.min(text.len())..];
    let word = rest
        .iter()
        .take(limit)
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    &rest[word..]
}

/// True when an escape (`\x`, `\u`, `\U`, octal) follows the run of letters and digits at `at`:
/// a plain anchor whose key continues in escapes.
pub fn escape_follows(text: &[u8], at: usize) -> bool {
    matches!(
        after_word(text, at, 160),
        [b'\\', b'x' | b'u' | b'U' | b'0'..=b'7', ..]
    )
}

/// True when a percent escape (`%5F`, `%3D`) follows the name at `at` within a few characters:
/// a short anchor whose context is percent-encoded (`TUSKY%5FAPI%5FKEY%3D…`,
/// `TUSKY_API_KEY%3D…`).
pub fn percent_follows(text: &[u8], at: usize) -> bool {
    matches!(
        after_word(text, at, 40),
        [b'%', hi, lo, ..] if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit()
    )
}

fn is_escape_run_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'\\' | b'{' | b'}')
}

/// The run of escapes, letters and digits around a hit, with its escapes decoded; other escapes
/// (`\n`, `\"`) and escaped backslashes (`\\`) are kept as written, so that nothing new is
/// spelled, not even when the decoded run is decoded again.
pub fn decode_escape_run(
    text: &[u8],
    hit_start: usize,
    hit_end: usize,
) -> ((usize, usize), Vec<u8>) {
    let (left, right) = expand_run(text, hit_start, hit_end, is_escape_run_byte);
    let run = &text[left..right];
    let mut out = Vec::with_capacity(run.len());
    let mut i = 0;
    while i < run.len() {
        if run[i] != b'\\' {
            out.push(run[i]);
            i += 1;
            continue;
        }
        let (value, used) = match run.get(i + 1) {
            Some(b'x') => hex_escape(&run[i + 2..], 2, 2),
            Some(b'u') if run.get(i + 2) == Some(&b'{') => {
                let digits = run[i + 3..]
                    .iter()
                    .take(7)
                    .take_while(|b| **b != b'}')
                    .count();
                match (digits, run.get(i + 3 + digits)) {
                    (1..=6, Some(b'}')) => {
                        let (value, _) = hex_escape(&run[i + 3..], digits, digits);
                        (value, digits + 2)
                    }
                    _ => (None, 0),
                }
            }
            Some(b'u') => hex_escape(&run[i + 2..], 4, 4),
            Some(b'U') => hex_escape(&run[i + 2..], 8, 8),
            Some(b'0'..=b'7') => {
                let digits = run[i + 1..]
                    .iter()
                    .take(3)
                    .take_while(|b| (b'0'..=b'7').contains(*b))
                    .count();
                let value = run[i + 1..i + 1 + digits]
                    .iter()
                    .fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
                (Some(value), digits - 1)
            }
            Some(b'\\') => {
                out.extend_from_slice(b"\\\\");
                i += 2;
                continue;
            }
            _ => (None, 0),
        };
        match value.and_then(char::from_u32) {
            Some(ch) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                i += 2 + used;
            }
            None => {
                out.push(b'\\');
                i += 1;
            }
        }
    }
    ((left, right), out)
}

/// `digits` hex digits at the start of `bytes` (exactly, `min..=digits`), as a value and the count
/// of bytes they take.
fn hex_escape(bytes: &[u8], min: usize, digits: usize) -> (Option<u32>, usize) {
    let taken = bytes
        .iter()
        .take(digits)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    if taken < min {
        return (None, 0);
    }
    let value = bytes[..taken]
        .iter()
        .fold(0u32, |v, d| v * 16 + (*d as char).to_digit(16).unwrap_or(0));
    (Some(value), taken)
}

fn is_percent_run_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'%' | b'.' | b'_' | b'~' | b'-' | b'+')
}

/// The percent-encoded run around a hit, decoded (`%5F` → `_`; invalid escapes kept as they are).
pub fn decode_percent_run(
    text: &[u8],
    hit_start: usize,
    hit_end: usize,
) -> ((usize, usize), Vec<u8>) {
    let (left, right) = expand_run(text, hit_start, hit_end, is_percent_run_byte);
    let run = &text[left..right];
    let mut out = Vec::with_capacity(run.len());
    let mut i = 0;
    while i < run.len() {
        if run[i] == b'%'
            && i + 2 < run.len()
            && let (Some(hi), Some(lo)) = (hex_value(run[i + 1]), hex_value(run[i + 2]))
        {
            out.push(hi << 4 | lo);
            i += 3;
            continue;
        }
        out.push(run[i]);
        i += 1;
    }
    ((left, right), out)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The UTF-16 run (printable ASCII code units only) around the code unit at `unit_start`.
/// `little_endian` says which byte of each unit holds the character.
pub fn decode_utf16_run(
    text: &[u8],
    unit_start: usize,
    little_endian: bool,
) -> ((usize, usize), Vec<u8>) {
    let is_unit = |at: usize| -> Option<u8> {
        let pair = text.get(at..at + 2)?;
        let (ch, zero) = if little_endian {
            (pair[0], pair[1])
        } else {
            (pair[1], pair[0])
        };
        (zero == 0 && (ch.is_ascii_graphic() || ch == b' ' || ch == b'\t')).then_some(ch)
    };
    let mut left = unit_start;
    while left >= 2 && unit_start - left < MAX_RUN_BYTES && is_unit(left - 2).is_some() {
        left -= 2;
    }
    let mut right = unit_start;
    while right - unit_start < MAX_RUN_BYTES && is_unit(right).is_some() {
        right += 2;
    }
    let out = (left..right).step_by(2).filter_map(is_unit).collect();
    ((left, right), out)
}

/// A whole file with a UTF-16 byte-order mark, transcoded to UTF-8 (lossy), or `None`.
pub fn transcode_utf16_bom(bytes: &[u8]) -> Option<(Vec<u8>, bool)> {
    let little_endian = match bytes {
        [0xFF, 0xFE, ..] => true,
        [0xFE, 0xFF, ..] => false,
        _ => return None,
    };
    let units = bytes[2..].chunks_exact(2).map(|pair| {
        if little_endian {
            u16::from_le_bytes([pair[0], pair[1]])
        } else {
            u16::from_be_bytes([pair[0], pair[1]])
        }
    });
    let text: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    Some((text.into_bytes(), little_endian))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_shapes_cover_every_alignment() {
        let shapes = base64_shapes(b"tsk_live_");
        assert_eq!(shapes.len(), 3, "{shapes:?}");
        let standard = &base64::engine::general_purpose::STANDARD;
        for lead in ["", "a", "ab", "xyz:", "TUSKY_API_KEY="] {
            let encoded = standard.encode(format!("{lead}tsk_live_0123"));
            assert!(
                shapes.iter().any(|s| encoded.contains(s.as_str())),
                "{lead} {encoded} {shapes:?}"
            );
        }
    }

    #[test]
    fn base64_run_decodes_at_any_alignment() {
        let standard = &base64::engine::general_purpose::STANDARD;
        for lead in ["", "k", "ke", "key="] {
            let encoded = standard.encode(format!("{lead}tsk_live_body"));
            let text = format!("data:\n  key: {encoded}\n");
            let shape = base64_shapes(b"tsk_live_")
                .into_iter()
                .find(|s| encoded.contains(s.as_str()))
                .unwrap();
            let hit = text.find(&shape).unwrap();
            let (_, decoded) = decode_base64_run(text.as_bytes(), hit, hit + shape.len());
            assert!(
                decoded
                    .iter()
                    .any(|d| memchr::memmem::find(d, b"tsk_live_body").is_some()),
                "{lead}"
            );
        }
    }

    #[test]
    fn escape_runs_decode_every_style_and_keep_the_rest() {
        let cases: [(&[u8], &[u8]); 8] = [
            (br"\x74\x73k_x", b"tsk_x"),
            (br"t\u0073k\u005F", b"tsk_"),
            (br"t\u{73}k\u{005f}", b"tsk_"),
            (br"\164\163k\137", b"tsk_"),
            (br"\U00000074sk", b"tsk"),
            // escaped backslashes and other escapes are kept as written
            (br"tsk\\x5f\n", br"tsk\\x5f\n"),
            // cut or invalid escapes are kept, never read past the end
            (br"tsk\x5", br"tsk\x5"),
            (br"tsk\u{FFFFFFF}\U0000", br"tsk\u{FFFFFFF}\U0000"),
        ];
        for (text, want) in cases {
            let (region, decoded) = decode_escape_run(text, 0, 3);
            assert_eq!(region, (0, text.len()));
            assert_eq!(decoded, want, "{}", String::from_utf8_lossy(text));
        }
        assert!(escape_follows(br"abc\x41", 0));
        assert!(escape_follows(br"abc\101", 0));
        assert!(!escape_follows(br"abc\n", 0));
        assert!(!escape_follows(b"abc", 3));
        // an escape further in is found from the plain stem
        assert!(escape_follows(br"tsk_liv\x65_", ESCAPE_STEM_LEN));
    }

    #[test]
    fn escape_literals_start_every_escaped_anchor() {
        let literals = escape_literals(b"tsk_live_");
        for spelled in [
            &br"\x74sk_live_"[..],
            br"t\u0073k_",
            br"ts\u{6b}",
            // uppercase hex for the letter digit of `k` (0x6b); the 8-digit `\U` at the start
            br"ts\x6B_",
            br"ts\u006B_",
            br"ts\u{6B}_",
            br"\U00000074sk_",
        ] {
            assert!(
                literals.iter().any(|l| spelled.starts_with(l)),
                "{}",
                String::from_utf8_lossy(spelled)
            );
        }
        // The first escape after the plain stem `tsk` (a literal of its own) is asked for there.
        for spelled in [
            &br"tsk\137live\137"[..],
            br"tsk\x5flive_",
            br"tsk%5Flive%5F",
        ] {
            assert!(
                escape_follows(spelled, ESCAPE_STEM_LEN)
                    || percent_follows(spelled, ESCAPE_STEM_LEN)
            );
        }
        // The 8-digit `\U` escape anywhere in the start: one literal, inside the decoded run.
        for spelled in [&br"ts\U0000006B_"[..], br"t\U00000073k_"] {
            assert!(literals.contains(&br"\U000000".to_vec()));
            assert!(memchr::memmem::find(spelled, br"\U000000").is_some());
        }
    }

    /// One literal per escape style and position, whatever the hex case: the prefilter stays as
    /// small as it was when only lowercase hex was found.
    #[test]
    fn escape_literals_stay_few() {
        assert_eq!(escape_literals(b"tsk_live_").len(), 13);
    }

    #[test]
    fn percent_run_decodes() {
        let text = b"https://x.test/?k=tsk%5Flive%5Fabc&z=1";
        let hit = memchr::memmem::find(text, b"tsk%5F").unwrap();
        let (_, decoded) = decode_percent_run(text, hit, hit + 6);
        assert!(memchr::memmem::find(&decoded, b"tsk_live_abc").is_some());
        // A hostile tail of '%' cannot index out of bounds.
        let (_, decoded) = decode_percent_run(b"tsk%5F%", 0, 6);
        assert_eq!(decoded, b"tsk_%");
    }

    #[test]
    fn utf16_runs_and_bom_files() {
        let le: Vec<u8> = "x=tsk_live_ab"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let hit = memchr::memmem::find(&le, b"t\0s\0k\0_\0").unwrap();
        let (_, decoded) = decode_utf16_run(&le, hit, true);
        assert_eq!(decoded, b"x=tsk_live_ab");
        let be: Vec<u8> = "x=tsk_live_ab"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        let hit = memchr::memmem::find(&be, b"\0t\0s\0k\0_").unwrap();
        let (_, decoded) = decode_utf16_run(&be, hit, false);
        assert_eq!(decoded, b"x=tsk_live_ab");
        let mut bom = vec![0xFF, 0xFE];
        bom.extend("a\r\nb".encode_utf16().flat_map(u16::to_le_bytes));
        bom.push(0x41); // odd trailing byte: ignored, no panic
        assert_eq!(transcode_utf16_bom(&bom).unwrap().0, b"a\r\nb");
    }
}
