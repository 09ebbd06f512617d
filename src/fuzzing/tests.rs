//! The fuzz targets on their seeds and on a bounded number of deterministic mutations of them:
//! every `cargo nextest run` replays the corpus that `fuzz/` keeps, so a parser change that
//! panics on a seed fails here first (the coverage-guided runs are in `fuzz/`, see the README).

use std::path::PathBuf;

use super::*;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| std::fs::read(path).unwrap())
        .collect()
}

#[test]
fn every_target_has_seeds_and_none_panics_on_them() {
    for (name, target) in TARGETS {
        let seeds = seeds(name);
        assert!(!seeds.is_empty(), "fuzz/seeds/{name} is empty");
        for seed in &seeds {
            target(seed);
        }
    }
}

/// xorshift: the same mutations on every run.
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A few bit flips, byte overwrites, insertions, deletions or splices of another seed.
    fn mutate(&mut self, seed: &[u8], other: &[u8]) -> Vec<u8> {
        let mut data = seed.to_vec();
        for _ in 0..1 + self.below(4) {
            let at = self.below(data.len() + 1);
            match self.below(5) {
                0 if at < data.len() => data[at] ^= 1 << self.below(8),
                1 if at < data.len() => data[at] = self.next() as u8,
                2 => data.insert(at, self.next() as u8),
                3 if at < data.len() => {
                    data.remove(at);
                }
                _ => {
                    let from = self.below(other.len() + 1);
                    let len = self.below(other.len() - from + 1).min(64);
                    data.splice(at..at, other[from..from + len].iter().copied());
                }
            }
        }
        data
    }
}

#[test]
fn no_target_panics_on_mutated_seeds() {
    const PER_TARGET: usize = 1500;
    let mut mutator = Mutator(0x5EED_F022);
    for (name, target) in TARGETS {
        let seeds = seeds(name);
        for _ in 0..PER_TARGET {
            let seed = &seeds[mutator.below(seeds.len())];
            let other = &seeds[mutator.below(seeds.len())];
            target(&mutator.mutate(seed, other));
        }
    }
}

#[test]
fn key_markers_reach_every_decoder() {
    let scanner = builtin_scanner().expect("built-in rules compile");
    for selector in 0..15u8 {
        let text = expand_keys(&[b'k', b'=', 1, selector, b'\n']);
        assert!(!text.contains(&1), "marker left in {text:?}");
        let found = scanner.scan_blob("notes.txt", &text).occurrences;
        // Every key in every form, legacy (UUID) keys next to their name included.
        assert_eq!(found.len(), 1, "selector {selector}: {found:?}");
    }
}

#[test]
fn matcher_seeds_hold_markers_not_keys() {
    let scanner = builtin_scanner().expect("built-in rules compile");
    let seeds = seeds("matcher");
    assert!(seeds.iter().any(|seed| seed.contains(&1)));
    for seed in seeds {
        let raw = scanner.scan_blob("notes.txt", &seed).occurrences;
        assert!(raw.is_empty(), "a seed holds a key literal: {raw:?}");
    }
}

/// Inputs the fuzzers once crashed on, replayed on every test run.
#[test]
fn crashes_found_by_fuzzing_stay_fixed() {
    // matcher, 2026-12-03: a key-definition list whose region began inside a character that
    // lossy decoding had widened (`\xfe\xff` → two U+FFFD) sliced a str off a char boundary.
    let definitions_mid_char: &[u8] = &[
        255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 5, 80, 79, 83, 84, 32, 47,
        105, 111, 93, 118, 50, 47, 97, 112, 105, 45, 107, 101, 121, 115, 10, 5, 254, 255, 72, 69,
        110, 58, 32, 66, 101, 97, 114, 101, 114, 32, 1, 0, 91, 10, 123, 34, 111, 99, 115, 112, 101,
        115, 49, 58, 32, 117, 65, 117, 116, 105, 111, 93, 125, 10,
    ];
    matcher(definitions_mid_char);
}
