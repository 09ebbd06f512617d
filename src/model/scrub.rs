//! Removes every known form of a run's keys from text that came from outside (API answers, key
//! ids, error messages) before it is printed, logged or written to a report.
//!
//! A server or proxy may echo a key exactly, without its `tsk_live_` prefix, percent-encoded
//! (`tsk%5Flive%5F…`, any mix of escapes and case), base64-encoded, or as UTF-16 (a NUL between
//! characters). Each form is found in a decoded view of the text that remembers where every byte
//! came from, so the whole encoded run is replaced, not just the part that looks like the key.

use base64::Engine as _;

use super::redact::{SecretValue, redact};

/// A part of a key body this long is the key: 12 random alphanumerics do not occur by chance.
const MIN_BODY_RUN: usize = 12;
/// Base64 runs shorter than this cannot hold a useful part of a key.
const MIN_BASE64_RUN: usize = 16;
const REPLACEMENT_SUFFIX: &str = "(scrubbed)";

/// Every key of a run, to scrub foreign text with.
#[derive(Clone, Debug, Default)]
pub struct Scrubber {
    keys: Vec<SecretValue>,
}

impl Scrubber {
    pub fn new(keys: impl IntoIterator<Item = SecretValue>) -> Self {
        let mut keys: Vec<SecretValue> = keys
            .into_iter()
            .filter(|k| !k.expose().is_empty())
            .collect();
        keys.sort_by(|a, b| a.expose().cmp(b.expose()));
        keys.dedup();
        Scrubber { keys }
    }

    pub fn add(&mut self, key: &SecretValue) {
        if !key.expose().is_empty() && !self.keys.contains(key) {
            self.keys.push(key.clone());
        }
    }

    /// Whether `text` holds any form of any key.
    pub fn finds_key(&self, text: &str) -> bool {
        !self.spans(text).is_empty()
    }

    /// `text` with every form of every key replaced by the key's redacted form.
    pub fn scrub(&self, text: &str) -> String {
        let spans = self.spans(text);
        if spans.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end, key) in spans {
            out.push_str(&text[at..start]);
            out.push_str(&redact(self.keys[key].expose()));
            out.push_str(REPLACEMENT_SUFFIX);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Byte ranges of `text` (on char boundaries, sorted, disjoint) that hold a form of a key,
    /// with the index of that key.
    fn spans(&self, text: &str) -> Vec<(usize, usize, usize)> {
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        if self.keys.is_empty() {
            return found;
        }
        let view = DecodedView::percent_and_nul(text.as_bytes());
        for (index, key) in self.keys.iter().enumerate() {
            for needle in needles(key.expose()) {
                for at in find_all(&view.bytes, needle.as_bytes()) {
                    let start = view.origin[at].0;
                    let end = view.origin[at + needle.len() - 1].1;
                    found.push((start, end, index));
                }
            }
        }
        for (run_start, run_end) in base64_runs(text.as_bytes()) {
            let run = &text.as_bytes()[run_start..run_end];
            if let Some(index) = self.key_in_base64(run) {
                found.push((run_start, run_end, index));
            }
        }
        merge(found, text)
    }

    fn key_in_base64(&self, run: &[u8]) -> Option<usize> {
        let engines = [
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        let trimmed: Vec<u8> = run.iter().copied().filter(|b| *b != b'=').collect();
        for skip in 0..4.min(trimmed.len()) {
            let rest = &trimmed[skip..];
            let usable = rest.len() - rest.len() % 4;
            for engine in engines {
                let Ok(decoded) = engine.decode(&rest[..usable]) else {
                    continue;
                };
                for (index, key) in self.keys.iter().enumerate() {
                    if needles(key.expose())
                        .iter()
                        .any(|n| !find_all(&decoded, n.as_bytes()).is_empty())
                    {
                        return Some(index);
                    }
                }
            }
        }
        None
    }
}

/// The strings whose presence means the key is there: the key, and every run of its body of
/// [`MIN_BODY_RUN`] characters (which also covers the whole body and a cut-short echo).
fn needles(key: &str) -> Vec<&str> {
    let prefix_len = ["tsk_live_", "tsk_test_"]
        .iter()
        .find(|p| key.starts_with(*p))
        .map_or(0, |p| p.len());
    let body = &key[prefix_len..];
    let mut needles = vec![key];
    if !body.is_ascii() || body.len() <= MIN_BODY_RUN {
        if prefix_len > 0 && body.len() >= 8 {
            needles.push(body);
        }
        return needles;
    }
    needles.extend((0..=body.len() - MIN_BODY_RUN).map(|i| &body[i..i + MIN_BODY_RUN]));
    needles
}

/// The text with `%XX` escapes decoded and NUL bytes dropped; `origin[i]` is the byte range of
/// the original text that decoded byte `i` came from.
struct DecodedView {
    bytes: Vec<u8>,
    origin: Vec<(usize, usize)>,
}

impl DecodedView {
    fn percent_and_nul(text: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(text.len());
        let mut origin = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            let byte = text[i];
            if byte == b'%'
                && let Some(decoded) = text
                    .get(i + 1..i + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                bytes.push(decoded);
                origin.push((i, i + 3));
                i += 3;
                continue;
            }
            if byte != 0 {
                bytes.push(byte);
                origin.push((i, i + 1));
            }
            i += 1;
        }
        DecodedView { bytes, origin }
    }
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return Vec::new();
    }
    memchr::memmem::find_iter(haystack, needle).collect()
}

fn base64_runs(text: &[u8]) -> Vec<(usize, usize)> {
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=');
    let mut runs = Vec::new();
    let mut start = None;
    for (i, byte) in text.iter().copied().chain([b' ']).enumerate() {
        match (is_b64(byte), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s >= MIN_BASE64_RUN {
                    runs.push((s, i));
                }
                start = None;
            }
            _ => {}
        }
    }
    runs
}

/// Sorts and merges overlapping spans, widened to char boundaries of `text`.
fn merge(mut spans: Vec<(usize, usize, usize)>, text: &str) -> Vec<(usize, usize, usize)> {
    for span in &mut spans {
        while !text.is_char_boundary(span.0) {
            span.0 -= 1;
        }
        while !text.is_char_boundary(span.1) {
            span.1 += 1;
        }
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize, usize)> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last) if span.0 <= last.1 => last.1 = last.1.max(span.1),
            _ => merged.push(span),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        crate::test_support::live_key(901)
    }

    fn scrubbed(text: &str) -> String {
        let key = key();
        let out = Scrubber::new([SecretValue::new(key.clone())]).scrub(text);
        let body = &key[9..];
        for window in body.as_bytes().windows(MIN_BODY_RUN) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(!out.contains(window), "{window} left in {out}");
        }
        out
    }

    #[test]
    fn every_form_of_the_key_is_removed() {
        let key = key();
        let body = &key[9..];
        let encoded = key.replace('_', "%5F");
        let lower = key.replace('_', "%5f");
        let every_char: String = key.bytes().map(|b| format!("%{b:02X}")).collect();
        let utf16: String = key.chars().flat_map(|c| [c, '\0']).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("k={key}"));
        let b64_url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{key}!"));
        for form in [
            key.clone(),
            body.to_owned(),
            encoded,
            lower,
            every_char,
            utf16,
            b64,
            b64_url,
            body[..20].to_owned(),
        ] {
            let text = format!("401: bad key {form} (see docs)");
            let out = scrubbed(&text);
            let redacted = format!("401: bad key tsk_live_{}…", &key[9..13]);
            assert!(out.starts_with(&redacted), "{out}");
            assert!(out.ends_with(" (see docs)"), "{out}");
        }
    }

    #[test]
    fn other_text_is_left_alone() {
        let text = "rate limited: 100 requests per minute, id key_abc, é ü";
        assert_eq!(scrubbed(text), text);
        assert!(!Scrubber::new([SecretValue::new(key())]).finds_key(text));
        assert_eq!(Scrubber::default().scrub("anything"), "anything");
    }

    #[test]
    fn forms_next_to_multibyte_text_keep_it_valid() {
        let key = key();
        let text = format!("é{}é%5Fé", &key[9..]);
        let out = scrubbed(&text);
        assert!(out.starts_with('é') && out.ends_with("%5Fé"), "{out}");
    }
}
