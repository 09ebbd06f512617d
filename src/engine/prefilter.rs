//! The literal prefilter: one Aho-Corasick automaton over every rule anchor and every encoded form
//! of the long anchors (base64 shapes, percent-encoded, UTF-16). The hot loop is this search alone;
//! everything else runs only near its hits.

use aho_corasick::{AhoCorasick, MatchKind};
use anyhow::{Context, Result};

use super::decode::{ESCAPE_STEM_LEN, base64_shapes, escape_literals};
use super::rules::RuleDef;

/// Anchors shorter than this get no encoded forms: their encodings are too short to be rare.
const MIN_ENCODED_ANCHOR: usize = 6;

/// What a prefilter hit asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HitKind {
    /// Run the rule with this index around the hit.
    Rule(usize),
    Base64,
    Percent,
    /// String-literal escapes (`\x73`, `\u0073`, …) spelling an anchor.
    Escape,
    /// An anchor's plain stem: an escape may follow a few letters on (`tsk_liv\x65_…`).
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
        for rule in rules {
            for anchor in &rule.anchors {
                let anchor = anchor.as_bytes();
                if anchor.len() < MIN_ENCODED_ANCHOR {
                    continue;
                }
                for shape in base64_shapes(anchor) {
                    add(shape.into_bytes(), HitKind::Base64);
                }
                for literal in escape_literals(anchor) {
                    add(literal, HitKind::Escape);
                }
                add(anchor[..ESCAPE_STEM_LEN].to_vec(), HitKind::EscapeStem);
                if let Some(underscore) = anchor.iter().position(|b| *b == b'_') {
                    for escape in [&b"%5F"[..], b"%5f"] {
                        let mut encoded = anchor[..underscore].to_vec();
                        encoded.extend_from_slice(escape);
                        add(encoded, HitKind::Percent);
                    }
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
