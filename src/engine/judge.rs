//! Is a candidate a key or a placeholder? Principled, testable measures instead of a deny-list
//! alone: length, repetition and sequences, the character-class mix a random base62 string would
//! have, Shannon entropy relative to the maximum for the length, and dictionary-word coverage.

use super::policy::{KeyBodyPolicy, UuidPolicy};
use crate::model::Confidence;

/// Why a candidate is not a key (shown by `rules check` and in verbose output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    TooShort,
    TooLong,
    Placeholder,
    RepeatedCharacter,
    Sequence,
    SingleCharacterClass,
    LowEntropy,
    Words,
    TooFewDistinct,
}

pub fn judge_key_body(body: &str, policy: &KeyBodyPolicy) -> Result<Confidence, Rejection> {
    let len = body.len();
    if len < policy.min_length {
        return Err(Rejection::TooShort);
    }
    if len > policy.max_length {
        return Err(Rejection::TooLong);
    }
    let lower = body.to_ascii_lowercase();
    if policy.placeholder_bodies.iter().any(|p| p == &lower) {
        return Err(Rejection::Placeholder);
    }
    let bytes = body.as_bytes();
    if longest_repeat_run(bytes) > policy.max_repeat_run {
        return Err(Rejection::RepeatedCharacter);
    }
    if longest_sequence_run(bytes) > policy.max_sequence_run {
        return Err(Rejection::Sequence);
    }
    if single_class_probability(bytes) < policy.min_class_mix_probability {
        return Err(Rejection::SingleCharacterClass);
    }
    if entropy_ratio(bytes, apparent_alphabet(bytes)) < policy.min_entropy_ratio {
        return Err(Rejection::LowEntropy);
    }
    if word_coverage(&lower, &policy.words) > policy.max_word_coverage {
        return Err(Rejection::Words);
    }
    Ok(if len >= policy.high_confidence_length {
        Confidence::High
    } else {
        Confidence::Medium
    })
}

pub fn judge_uuid(value: &str, policy: &UuidPolicy) -> Result<Confidence, Rejection> {
    let lower = value.to_ascii_lowercase();
    if policy.placeholder_values.iter().any(|p| p == &lower) {
        return Err(Rejection::Placeholder);
    }
    let hex: Vec<u8> = lower.bytes().filter(|b| *b != b'-').collect();
    if longest_repeat_run(&hex) > policy.max_repeat_run {
        return Err(Rejection::RepeatedCharacter);
    }
    if longest_sequence_run(&hex) > policy.max_sequence_run {
        return Err(Rejection::Sequence);
    }
    let mut seen = [false; 256];
    hex.iter().for_each(|b| seen[*b as usize] = true);
    if seen.iter().filter(|s| **s).count() < policy.min_distinct_chars {
        return Err(Rejection::TooFewDistinct);
    }
    // Context (TUSKY_…KEY= or new Tusky({apiKey})) is what makes a UUID a key; it never is certain.
    Ok(Confidence::Medium)
}

fn longest_repeat_run(bytes: &[u8]) -> usize {
    let mut longest = 0;
    let mut run = 0;
    let mut previous = None;
    for &b in bytes {
        run = if Some(b) == previous { run + 1 } else { 1 };
        previous = Some(b);
        longest = longest.max(run);
    }
    longest
}

/// Longest run of consecutive ascending or descending characters (`abcd`, `4321`).
fn longest_sequence_run(bytes: &[u8]) -> usize {
    let mut longest = bytes.len().min(1);
    for step in [1i16, -1] {
        let mut run = 1;
        for pair in bytes.windows(2) {
            run = if i16::from(pair[1]) - i16::from(pair[0]) == step {
                run + 1
            } else {
                1
            };
            longest = longest.max(run);
        }
    }
    longest
}

/// The probability that a random base62 string of this length would use only the one character
/// class (lowercase, uppercase or digits) this one uses; 1.0 when it mixes classes.
fn single_class_probability(bytes: &[u8]) -> f64 {
    let lower = bytes.iter().any(u8::is_ascii_lowercase);
    let upper = bytes.iter().any(u8::is_ascii_uppercase);
    let digit = bytes.iter().any(u8::is_ascii_digit);
    let class_size = match (lower, upper, digit) {
        (true, false, false) | (false, true, false) => 26.0,
        (false, false, true) => 10.0,
        _ => return 1.0,
    };
    (class_size / 62.0f64).powi(bytes.len() as i32)
}

/// The size of the alphabet a string evidently draws from: hex, or the union of the classes used.
fn apparent_alphabet(bytes: &[u8]) -> usize {
    let lower = bytes.iter().any(u8::is_ascii_lowercase);
    let upper = bytes.iter().any(u8::is_ascii_uppercase);
    let digit = bytes.iter().any(u8::is_ascii_digit);
    let hex_only = bytes.iter().all(u8::is_ascii_hexdigit);
    if hex_only && !(lower && upper) {
        return 16;
    }
    [(lower, 26), (upper, 26), (digit, 10)]
        .iter()
        .filter(|(used, _)| *used)
        .map(|(_, size)| size)
        .sum()
}

/// Shannon entropy divided by the highest entropy a string of this length over an alphabet of
/// `alphabet` symbols can reach.
fn entropy_ratio(bytes: &[u8], alphabet: usize) -> f64 {
    if bytes.len() < 2 {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    bytes.iter().for_each(|b| counts[*b as usize] += 1);
    let n = bytes.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum();
    entropy / (bytes.len().min(alphabet) as f64).log2()
}

/// Share of characters covered by dictionary words (longest match first, words of 3+ letters).
fn word_coverage(lower: &str, words: &[String]) -> f64 {
    let bytes = lower.as_bytes();
    let mut covered = 0;
    let mut i = 0;
    while i < bytes.len() {
        match words
            .iter()
            .find(|w| w.len() >= 3 && bytes[i..].starts_with(w.as_bytes()))
        {
            Some(word) => {
                covered += word.len();
                i += word.len();
            }
            None => i += 1,
        }
    }
    covered as f64 / bytes.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::policy::Policy;
    use crate::test_support::{BASE62, random_from};

    fn policy() -> Policy {
        Policy::builtin().unwrap()
    }

    #[test]
    fn random_bodies_of_every_plausible_length_are_keys() {
        let policy = policy();
        for len in 20..=64 {
            for seed in 0..50 {
                let body = random_from(seed * 1000 + len as u64, len, BASE62);
                assert_eq!(
                    judge_key_body(&body, &policy.key_body),
                    Ok(Confidence::High),
                    "{body}"
                );
            }
        }
    }

    #[test]
    fn random_hex_and_lowercase_alnum_bodies_are_keys() {
        let policy = policy();
        for seed in 0..200 {
            let hex = random_from(seed, 32, b"0123456789abcdef");
            assert!(judge_key_body(&hex, &policy.key_body).is_ok(), "{hex}");
            let alnum = random_from(seed, 40, b"abcdefghijklmnopqrstuvwxyz0123456789");
            assert!(judge_key_body(&alnum, &policy.key_body).is_ok(), "{alnum}");
        }
    }

    #[test]
    fn non_random_bodies_are_rejected_with_a_reason() {
        let policy = policy();
        let cases = [
            ("abc123", Rejection::TooShort),
            ("x".repeat(32).as_str(), Rejection::RepeatedCharacter),
            ("0".repeat(32).as_str(), Rejection::RepeatedCharacter),
            ("abcdefghijklmnopqrstuvwxyz123456", Rejection::Sequence),
            ("1234567890123456789012345678", Rejection::Sequence),
            (
                "YOURAPIKEYGOESHEREREPLACEME",
                Rejection::SingleCharacterClass,
            ),
            ("yourProductionApiKeyGoesHere", Rejection::Words),
            ("thisIsMyTestKeyForLocalDev", Rejection::Words),
            ("aAbBaAbBaAbBaAbBaAbBaAbB", Rejection::LowEntropy),
        ]
        .map(|(body, why)| (body.to_owned(), why));
        for (body, why) in cases {
            assert_eq!(judge_key_body(&body, &policy.key_body), Err(why), "{body}");
        }
    }

    #[test]
    fn uuids() {
        let policy = policy();
        let uuid = |hex: &str| {
            format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            )
        };
        for seed in 0..100 {
            let value = uuid(&random_from(seed, 32, b"0123456789abcdef"));
            assert!(judge_uuid(&value, &policy.uuid).is_ok(), "{value}");
        }
        for fake in [
            "00000000-0000-0000-0000-000000000000",
            "12345678-1234-1234-1234-123456789abc",
            "abcdefab-cdef-abcd-efab-cdefabcdefab",
            "11111111-2222-3333-4444-555555555555",
        ] {
            assert!(judge_uuid(fake, &policy.uuid).is_err(), "{fake}");
        }
    }
}
