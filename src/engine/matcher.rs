//! The engine proper: prefilter hits → windowed regexes → judge → matches with line and column.
//! Encoded runs found by the prefilter are decoded and scanned again (bounded depth); their
//! matches point at the encoded text in the file.

use std::collections::HashSet;
use std::sync::OnceLock;

use anyhow::Result;
use regex::bytes::Regex;

use super::decode::{
    decode_base64_run, decode_base64_uuid, decode_escape_run, decode_percent_run, decode_utf16_run,
    escape_follows, percent_follows, transcode_utf16_bom,
};
use super::inline::inline_allowed;
use super::judge::{judge_key_body, judge_uuid};
use super::policy::Policy;
use super::prefilter::{HitKind, Prefilter};
use super::rules::{JudgeKind, RuleDef, compile_pattern, is_builtin};
use crate::model::{Confidence, Encoding};

/// base64 inside percent-encoding inside UTF-16 is as deep as real files go.
const MAX_DECODE_DEPTH: usize = 2;
const DEFAULT_WINDOW_AFTER: usize = 192;

/// One secret found in one buffer.
#[derive(Clone, Debug)]
pub struct SecretMatch {
    /// Index into `Engine::rules()`.
    pub rule_index: usize,
    pub secret: String,
    pub confidence: Confidence,
    /// 1-based line and character columns (end exclusive) in the file as stored.
    pub line: usize,
    pub column: usize,
    pub end_column: usize,
    pub encoding: Encoding,
    /// The line (or the line before) carries `tuskguard:allow`.
    pub allowed_inline: bool,
}

struct CompiledRule {
    /// Built-in patterns compile on the rule's first anchor hit: most files a pre-commit hook sees
    /// have none, and compiling every rule up front was most of its start-up. Custom patterns are
    /// compiled in `Engine::new`, so a bad one is an error before the scan, not during it.
    patterns: OnceLock<Vec<Regex>>,
    group: &'static str,
    judge: JudgeKind,
    window_before: usize,
    window_after: usize,
    confidence: Confidence,
}

/// A match before line numbers: `start..end` is the region in the scanned buffer.
#[derive(Clone, Debug)]
struct RawMatch {
    rule_index: usize,
    secret: String,
    confidence: Confidence,
    start: usize,
    end: usize,
    encoding: Encoding,
}

pub struct Engine {
    rules: Vec<RuleDef>,
    compiled: Vec<CompiledRule>,
    prefilter: Prefilter,
    policy: Policy,
}

impl Engine {
    pub fn new(rules: Vec<RuleDef>) -> Result<Self> {
        let compiled = rules
            .iter()
            .map(|rule| {
                let patterns = OnceLock::new();
                if !is_builtin(rule) {
                    let compiled = rule
                        .patterns
                        .iter()
                        .map(|p| compile_pattern(rule, p))
                        .collect::<Result<_>>()?;
                    let _ = patterns.set(compiled);
                }
                let longest_anchor = rule.anchors.iter().map(String::len).max().unwrap_or(0);
                Ok(CompiledRule {
                    patterns,
                    group: if rule.judge == JudgeKind::KeyBody {
                        "body"
                    } else {
                        "secret"
                    },
                    judge: rule.judge,
                    window_before: rule.window_before.unwrap_or(0),
                    window_after: rule
                        .window_after
                        .unwrap_or(DEFAULT_WINDOW_AFTER)
                        .max(longest_anchor + 1),
                    confidence: rule.confidence,
                })
            })
            .collect::<Result<_>>()?;
        let prefilter = Prefilter::new(&rules)?;
        Ok(Engine {
            rules,
            compiled,
            prefilter,
            policy: Policy::builtin()?,
        })
    }

    pub fn rules(&self) -> &[RuleDef] {
        &self.rules
    }

    /// Every secret in `bytes` (any encoding the engine knows), in order of position.
    pub fn find_secrets(&self, bytes: &[u8]) -> Vec<SecretMatch> {
        if let Some((text, little_endian)) = transcode_utf16_bom(bytes) {
            let encoding = if little_endian {
                Encoding::Utf16le
            } else {
                Encoding::Utf16be
            };
            let mut raw = self.raw_matches(&text, 0);
            for m in &mut raw {
                if m.encoding == Encoding::Plain {
                    m.encoding = encoding;
                }
            }
            return locate(&text, raw);
        }
        let raw = self.raw_matches(bytes, 0);
        locate(bytes, raw)
    }

    fn raw_matches(&self, text: &[u8], depth: usize) -> Vec<RawMatch> {
        let mut out = Vec::new();
        // Encoded runs already decoded: later hits inside them add nothing.
        let mut decoded_until = 0;
        // Per rule, the window still open: overlapping windows merge, so a file dense with
        // anchors costs one regex pass, not one per hit.
        let mut open: Vec<Option<(usize, usize)>> = vec![None; self.compiled.len()];
        // Runs whose escapes spelled a key: the plain reading of the same run is a fragment.
        let mut escaped: Vec<(usize, usize)> = Vec::new();
        for (start, end, kinds) in self.prefilter.hits(text) {
            for kind in kinds {
                match *kind {
                    HitKind::Rule(index) => {
                        let rule = &self.compiled[index];
                        let window = (
                            start.saturating_sub(rule.window_before),
                            (start + rule.window_after).min(text.len()),
                        );
                        open[index] = match open[index] {
                            Some(span) if window.0 <= span.1 => {
                                Some((span.0, span.1.max(window.1)))
                            }
                            Some(span) => {
                                self.run_rule(index, text, span, &mut out);
                                Some(window)
                            }
                            None => Some(window),
                        };
                        // A plain anchor whose key goes on in escapes (`tsk_live_ab\x43…`).
                        if depth < MAX_DECODE_DEPTH
                            && start >= decoded_until
                            && escape_follows(text, end)
                        {
                            decoded_until =
                                self.push_escaped(text, start, end, depth, &mut escaped, &mut out);
                        }
                        // A short anchor whose context goes on percent-encoded
                        // (`TUSKY%5FAPI%5FKEY%3D…`): its rule names that context in
                        // `encoded_anchors`.
                        if depth < MAX_DECODE_DEPTH
                            && start >= decoded_until
                            && !self.rules[index].encoded_anchors.is_empty()
                            && percent_follows(text, end)
                        {
                            let (region, decoded) = decode_percent_run(text, start, end);
                            decoded_until = region.1;
                            self.push_decoded(&decoded, region, Encoding::Percent, depth, &mut out);
                        }
                    }
                    _ if depth >= MAX_DECODE_DEPTH || start < decoded_until => {}
                    HitKind::Base64 => {
                        let (region, decodings) = decode_base64_run(text, start, end);
                        decoded_until = region.1;
                        for decoded in decodings {
                            if self.push_decoded(
                                &decoded,
                                region,
                                Encoding::Base64,
                                depth,
                                &mut out,
                            ) {
                                break;
                            }
                        }
                    }
                    HitKind::Escape => {
                        decoded_until =
                            self.push_escaped(text, start, end, depth, &mut escaped, &mut out);
                    }
                    HitKind::EscapeStem => {
                        if escape_follows(text, end) {
                            decoded_until =
                                self.push_escaped(text, start, end, depth, &mut escaped, &mut out);
                        } else if percent_follows(text, end) {
                            let (region, decoded) = decode_percent_run(text, start, end);
                            decoded_until = region.1;
                            self.push_decoded(&decoded, region, Encoding::Percent, depth, &mut out);
                        }
                    }
                    HitKind::Utf16 { .. } => {
                        // Little- and big-endian anchors overlap inside either text; the reading
                        // that gives the longer run is the real one.
                        let le_start = if text[start] == 0 { start + 1 } else { start };
                        let be_start = if text[start] == 0 {
                            start
                        } else {
                            start.saturating_sub(1)
                        };
                        let le = decode_utf16_run(text, le_start, true);
                        let be = decode_utf16_run(text, be_start, false);
                        // Equal runs: one reading is the other shifted by a byte. Text without a
                        // BOM starts its code units at even offsets, so that reading is the real one.
                        let little_endian = match le.1.len().cmp(&be.1.len()) {
                            std::cmp::Ordering::Greater => true,
                            std::cmp::Ordering::Less => false,
                            std::cmp::Ordering::Equal => {
                                le.0.0.is_multiple_of(2) || !be.0.0.is_multiple_of(2)
                            }
                        };
                        let (region, decoded) = if little_endian { le } else { be };
                        decoded_until = region.1;
                        let encoding = if little_endian {
                            Encoding::Utf16le
                        } else {
                            Encoding::Utf16be
                        };
                        self.push_decoded(&decoded, region, encoding, depth, &mut out);
                    }
                }
            }
        }
        for (index, span) in open.into_iter().enumerate() {
            if let Some(span) = span {
                self.run_rule(index, text, span, &mut out);
            }
        }
        let mut seen = HashSet::new();
        out.retain(|m| {
            let fragment = m.encoding == Encoding::Plain
                && escaped.iter().any(|(s, e)| (*s..*e).contains(&m.start));
            !fragment && seen.insert((m.rule_index, m.start, m.secret.clone()))
        });
        out
    }

    /// Decodes the escaped run around a hit and scans it; returns where the run ends. A run whose
    /// decoding spelled a key is remembered in `escaped`.
    fn push_escaped(
        &self,
        text: &[u8],
        start: usize,
        end: usize,
        depth: usize,
        escaped: &mut Vec<(usize, usize)>,
        out: &mut Vec<RawMatch>,
    ) -> usize {
        let (region, decoded) = decode_escape_run(text, start, end);
        if self.push_decoded(&decoded, region, Encoding::Escaped, depth, out) {
            escaped.push(region);
        }
        region.1
    }

    /// Scans decoded bytes; every match found there points at `region` of the outer buffer.
    fn push_decoded(
        &self,
        decoded: &[u8],
        region: (usize, usize),
        encoding: Encoding,
        depth: usize,
        out: &mut Vec<RawMatch>,
    ) -> bool {
        let inner = self.raw_matches(decoded, depth + 1);
        let found = !inner.is_empty();
        // A UTF-16 run decodes one byte per code unit, so a match maps back to its exact place
        // (and column); other encodings are placed at their run.
        let utf16 = matches!(encoding, Encoding::Utf16le | Encoding::Utf16be);
        out.extend(inner.into_iter().map(|m| {
            let (start, end) = if utf16 && m.encoding == Encoding::Plain {
                (region.0 + 2 * m.start, (region.0 + 2 * m.end).min(region.1))
            } else {
                region
            };
            RawMatch {
                start,
                end,
                encoding,
                ..m
            }
        }));
        found
    }

    /// Runs one rule's patterns over a window around its anchor hits.
    fn run_rule(
        &self,
        index: usize,
        text: &[u8],
        (window_start, window_end): (usize, usize),
        out: &mut Vec<RawMatch>,
    ) {
        let rule = &self.compiled[index];
        let window = &text[window_start..window_end];
        let patterns = rule.patterns.get_or_init(|| {
            let def = &self.rules[index];
            def.patterns
                .iter()
                .map(|p| compile_pattern(def, p).expect("built-in patterns compile (unit-tested)"))
                .collect()
        });
        for pattern in patterns {
            for caps in pattern.captures_iter(window) {
                let (Some(whole), Some(group)) = (caps.get(0), caps.name(rule.group)) else {
                    continue;
                };
                let (start, end) = (window_start + whole.start(), window_start + whole.end());
                // A match that ends where the window was cut may be the start of a longer value.
                if end == window_end && window_end < text.len() {
                    continue;
                }
                let Some((confidence, decoded)) = self.judge(rule, group.as_bytes()) else {
                    continue;
                };
                let encoding = if decoded.is_some() {
                    Encoding::Base64
                } else {
                    Encoding::Plain
                };
                let secret = match decoded {
                    Some(decoded) => decoded,
                    None if rule.judge == JudgeKind::KeyBody => {
                        String::from_utf8_lossy(whole.as_bytes()).into_owned()
                    }
                    None => String::from_utf8_lossy(group.as_bytes()).into_owned(),
                };
                let (start, end) = if rule.judge == JudgeKind::KeyBody {
                    (start, end)
                } else {
                    (window_start + group.start(), window_start + group.end())
                };
                out.push(RawMatch {
                    rule_index: index,
                    secret,
                    confidence,
                    start,
                    end,
                    encoding,
                });
            }
        }
    }

    /// The confidence, or `None` when the value is no key; with the decoded value when the
    /// pattern captured a UUID in base64.
    fn judge(&self, rule: &CompiledRule, value: &[u8]) -> Option<(Confidence, Option<String>)> {
        let value = std::str::from_utf8(value).ok()?;
        let (verdict, decoded) = match rule.judge {
            JudgeKind::KeyBody => (judge_key_body(value, &self.policy.key_body), None),
            JudgeKind::Uuid => match decode_base64_uuid(value) {
                Some(uuid) => (judge_uuid(&uuid, &self.policy.uuid), Some(uuid)),
                None if value.contains('-') => (judge_uuid(value, &self.policy.uuid), None),
                None => return None,
            },
            JudgeKind::None => (Ok(rule.confidence), None),
        };
        verdict.ok().map(|c| (c.min(rule.confidence), decoded))
    }
}

/// Adds 1-based line and character columns, and the inline-allow verdict, to raw matches.
fn locate(text: &[u8], mut raw: Vec<RawMatch>) -> Vec<SecretMatch> {
    raw.sort_by_key(|m| (m.start, m.rule_index));
    let mut line = 1;
    let mut counted_to = 0;
    let mut line_start = 0;
    raw.into_iter()
        .map(|m| {
            for newline in memchr::memchr_iter(b'\n', &text[counted_to..m.start]) {
                line += 1;
                line_start = counted_to + newline + 1;
            }
            counted_to = m.start;
            let (column, end_column) =
                if matches!(m.encoding, Encoding::Utf16le | Encoding::Utf16be) {
                    // Two bytes per character; the line starts after the newline's unit (the byte
                    // after `\n` in little-endian is its NUL, hence the rounding down).
                    let column = (m.start - line_start) / 2 + 1;
                    (column, column + ((m.end - m.start) / 2).max(1))
                } else {
                    let column = char_count(&text[line_start..m.start]) + 1;
                    (column, column + char_count(&text[m.start..m.end]).max(1))
                };
            SecretMatch {
                rule_index: m.rule_index,
                secret: m.secret,
                confidence: m.confidence,
                line,
                column,
                end_column,
                encoding: m.encoding,
                allowed_inline: inline_allowed(text, m.start),
            }
        })
        .collect()
}

/// Characters in UTF-8 text; each invalid byte counts as one.
fn char_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| (**b & 0xC0) != 0x80).count()
}

/// A rule example that did not behave as its rule file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    pub rule_id: String,
    pub example: String,
    pub problem: String,
}

impl Engine {
    /// Runs every rule's examples (each must give exactly one finding, of that rule) and negative
    /// examples (each must give none). Used by a unit test and `tuskguard rules check`.
    pub fn check_examples(&self) -> Vec<ExampleFailure> {
        let rule_ids = |found: &[SecretMatch]| -> Vec<&str> {
            found
                .iter()
                .map(|m| self.rules[m.rule_index].id.as_str())
                .collect()
        };
        let mut failures = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            for example in &rule.examples {
                let found = self.find_secrets(example.as_bytes());
                let ok = found.len() == 1 && found[0].rule_index == index;
                if !ok {
                    let got = rule_ids(&found);
                    failures.push(ExampleFailure {
                        rule_id: rule.id.clone(),
                        example: example.clone(),
                        problem: format!("expected exactly one {} finding, got {got:?}", rule.id),
                    });
                }
            }
            for example in &rule.negative_examples {
                let found = self.find_secrets(example.as_bytes());
                if !found.is_empty() {
                    let got = rule_ids(&found);
                    failures.push(ExampleFailure {
                        rule_id: rule.id.clone(),
                        example: example.clone(),
                        problem: format!("negative example matched {got:?}"),
                    });
                }
            }
        }
        failures
    }
}

#[cfg(test)]
mod tests;
