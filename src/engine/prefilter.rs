//! The literal prefilter: one Aho-Corasick automaton over every rule anchor and every encoded form
//! of the long anchors (base64 shapes, percent-encoded, UTF-16). The hot loop is this search alone;
//! everything else runs only near its hits.

use aho_corasick::{AhoCorasick, MatchKind};
use anyhow::{Context, Result};

use super::decode::{ESCAPE_STEM_LEN, base64_shapes, escape_literals};
use super::rules::RuleDef;

/// Anchors shorter than this get no encoded forms: their encodings are too short to be rare.
const MIN_ENCODED_ANCHOR: usize = 6;

/// The literal count up to which the automaton's SIMD search (aho-corasick's "slim" Teddy) stays
/// at full speed; past it, "fat" Teddy reads half as many bytes per step. The built-in rules use
/// exactly this many; a test keeps them there.
pub const MAX_FAST_LITERALS: usize = 32;

/// What a prefilter hit asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HitKind {
    /// Run the rule with this index around the hit.
    Rule(usize),
    Base64,
    /// String-literal escapes (`\x73`, `\u0073`, …) spelling an anchor.
    Escape,
    /// An anchor's plain stem: a string escape or a percent escape may follow a few letters on
    /// (`tsk_liv\x65_…`, `tsk%5Flive…`).
    EscapeStem,
    Utf16 {
        little_endian: bool,
    },
}

pub struct Prefilter {
    automaton: AhoCorasick,
    /// Per automaton pattern: what a hit on it means (one literal can serve several rules).
    kinds: Vec<Vec<HitKind>>,
}

impl Prefilter {
    pub fn new(rules: &[RuleDef]) -> Result<Self> {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut kinds: Vec<Vec<HitKind>> = Vec::new();
        let mut add =
            |literal: Vec<u8>, kind: HitKind| match literals.iter().position(|l| *l == literal) {
                Some(i) => {
                    if !kinds[i].contains(&kind) {
                        kinds[i].push(kind);
                    }
                }
                None => {
                    literals.push(literal);
                    kinds.push(vec![kind]);
                }
            };
        // Every anchor before any encoded form: the search is leftmost-first, so a shorter form
        // (the escape stem `tsk_`) must not win over an anchor starting at the same byte.
        for (index, rule) in rules.iter().enumerate() {
            for anchor in &rule.anchors {
                add(anchor.as_bytes().to_vec(), HitKind::Rule(index));
            }
        }
        // Long anchors get every encoded form; a rule's `encoded_anchors` (context for a short
        // anchor, like `TUSKY_`) get base64 and UTF-16 forms but no string-escape forms: each
        // literal costs speed on every file.
        let encoded: Vec<(&[u8], bool)> = rules
            .iter()
            .flat_map(|rule| {
                let long = rule
                    .anchors
                    .iter()
                    .filter(|a| a.len() >= MIN_ENCODED_ANCHOR)
                    .map(|a| (a.as_bytes(), true));
                let context = rule
                    .encoded_anchors
                    .iter()
                    .filter(|a| a.len() >= MIN_ENCODED_ANCHOR)
                    .map(|a| (a.as_bytes(), false));
                long.chain(context)
            })
            .collect();
        for (anchor, with_escapes) in encoded {
            for shape in base64_shapes(anchor) {
                add(shape.into_bytes(), HitKind::Base64);
            }
            // Percent forms need no literal of their own: a long anchor's plain stem, or a
            // context anchor's rule anchor, is followed by `%XX` ([`super::decode::percent_follows`]).
            if with_escapes {
                for literal in escape_literals(anchor) {
                    add(literal, HitKind::Escape);
                }
                add(anchor[..ESCAPE_STEM_LEN].to_vec(), HitKind::EscapeStem);
            }
            let stem = &anchor[..anchor.len().min(4)];
            add(
                stem.iter().flat_map(|b| [*b, 0]).collect(),
                HitKind::Utf16 {
                    little_endian: true,
                },
            );
            add(
                stem.iter().flat_map(|b| [0, *b]).collect(),
                HitKind::Utf16 {
                    little_endian: false,
                },
            );
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&literals)
            .context("building the prefilter")?;
        Ok(Prefilter { automaton, kinds })
    }

    /// Every hit as (start, end, what to run there), left to right.
    pub fn hits<'a>(
        &'a self,
        text: &'a [u8],
    ) -> impl Iterator<Item = (usize, usize, &'a [HitKind])> + 'a {
        self.automaton.find_iter(text).map(|m| {
            (
                m.start(),
                m.end(),
                self.kinds[m.pattern().as_usize()].as_slice(),
            )
        })
    }

    pub fn literal_count(&self) -> usize {
        self.kinds.len()
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use crate::engine::matcher::Engine;
    use crate::engine::rules::load_rules;
    use crate::model::Encoding;
    use crate::test_support::legacy_key;

    /// The built-in rules keep the automaton on its fast path (see [`MAX_FAST_LITERALS`]).
    #[test]
    fn builtin_literals_stay_on_the_fast_path() {
        let prefilter = super::Prefilter::new(&load_rules(&[], &[]).unwrap()).unwrap();
        assert!(
            prefilter.literal_count() <= super::MAX_FAST_LITERALS,
            "{} literals",
            prefilter.literal_count()
        );
    }

    /// A rule's `encoded_anchors` (`TUSKY_` for legacy keys) reach base64, percent and BOM-less
    /// UTF-16 forms of `TUSKY_API_KEY=<uuid>`; the same forms of a name that is not a key do not.
    #[test]
    fn legacy_env_lines_are_found_in_every_encoding() {
        let engine = Engine::new(load_rules(&[], &[]).unwrap()).unwrap();
        let key = legacy_key(31);
        let line = format!("TUSKY_API_KEY={key}\n");
        let base64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        let utf16 = |text: &str, little: bool| -> Vec<u8> {
            text.encode_utf16()
                .flat_map(|u| {
                    if little {
                        u.to_le_bytes()
                    } else {
                        u.to_be_bytes()
                    }
                })
                .collect()
        };
        let forms: Vec<(Vec<u8>, Encoding)> = vec![
            (
                format!("  .env: {}\n", base64(&format!("DEBUG=0\n{line}"))).into_bytes(),
                Encoding::Base64,
            ),
            (
                format!("?l=TUSKY%5FAPI%5FKEY%3D{key}%0A").into_bytes(),
                Encoding::Percent,
            ),
            (
                format!("?l=TUSKY_API_KEY%3D{key}&x=1").into_bytes(),
                Encoding::Percent,
            ),
            (utf16(&format!("A=1\r\n{line}"), true), Encoding::Utf16le),
            (utf16(&format!("A=1\r\n{line}"), false), Encoding::Utf16be),
        ];
        for (bytes, encoding) in forms {
            let found = engine.find_secrets(&bytes);
            let got: Vec<_> = found
                .iter()
                .map(|m| (m.secret.as_str(), m.encoding))
                .collect();
            assert_eq!(
                got,
                [(key.as_str(), encoding)],
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        }
        let not_keys = format!("TUSKY_API_KEY_ID={key}\nTUSKY_REQUEST_ID={key}\n");
        for bytes in [
            base64(&not_keys).into_bytes(),
            format!("?q=TUSKY%5FREQUEST%5FID%3D{key}").into_bytes(),
            utf16(&not_keys, true),
        ] {
            assert!(
                engine.find_secrets(&bytes).is_empty(),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
}
