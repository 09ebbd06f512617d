//! The one collector: turns occurrences from many workers into one finding per fingerprint,
//! then applies fingerprint-level suppression.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use super::suppression::Suppressions;
use super::{Finding, Location, Occurrence, SecretInfo, SuppressedCounts};

#[derive(Default)]
pub struct Collector {
    by_fingerprint: HashMap<String, Pending>,
    /// Hashes the locations of every finding (one key for the whole run).
    hasher: RandomState,
    /// Whole-`Location` comparisons made to deduplicate (hash collisions and true duplicates
    /// only): a key at N paths costs O(N), not O(N²).
    location_comparisons: u64,
}

/// A finding being collected, with its locations indexed by hash: a key vendored into 50,000
/// files, or present at that many history paths, must not cost a scan of the list per path.
struct Pending {
    finding: Finding,
    /// Location hash → positions in `finding.locations`.
    seen: HashMap<u64, Vec<u32>>,
}

impl Pending {
    /// Adds `location` unless an equal one is already there.
    fn add_location(&mut self, location: Location, hash: u64, comparisons: &mut u64) {
        let positions = self.seen.entry(hash).or_default();
        for position in positions.iter() {
            *comparisons += 1;
            if self.finding.locations[*position as usize] == location {
                return;
            }
        }
        positions.push(self.finding.locations.len() as u32);
        self.finding.locations.push(location);
    }
}

impl Collector {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, occurrence: Occurrence) {
        let key = occurrence.fingerprint.as_str().to_owned();
        let hash = self.hasher.hash_one(&occurrence.location);
        match self.by_fingerprint.get_mut(&key) {
            Some(pending) => {
                pending.add_location(occurrence.location, hash, &mut self.location_comparisons);
                let finding = &mut pending.finding;
                finding.confidence = finding.confidence.max(occurrence.confidence);
            }
            None => {
                let secret = occurrence.secret.as_ref().map(|s| SecretInfo {
                    redacted: s.redacted(),
                    length: s.char_len(),
                    value: None,
                });
                let finding = Finding {
                    rule_id: occurrence.rule_id,
                    kind: occurrence.kind,
                    severity: occurrence.severity,
                    confidence: occurrence.confidence,
                    title: occurrence.title,
                    remediation: occurrence.remediation,
                    fingerprint: key.clone(),
                    secret,
                    locations: vec![occurrence.location],
                    history: None,
                    verification: None,
                    secret_value: occurrence.secret,
                };
                let seen = HashMap::from([(hash, vec![0])]);
                self.by_fingerprint.insert(key, Pending { finding, seen });
            }
        }
    }

    pub fn extend(&mut self, occurrences: impl IntoIterator<Item = Occurrence>) {
        for occurrence in occurrences {
            self.add(occurrence);
        }
    }

    /// Findings sorted most severe first, then by path and line, with suppressed ones removed
    /// and counted.
    pub fn finish(self, suppressions: &Suppressions) -> (Vec<Finding>, SuppressedCounts) {
        let mut counts = SuppressedCounts::default();
        let mut findings: Vec<Finding> = self
            .by_fingerprint
            .into_values()
            .map(|pending| pending.finding)
            .filter(|f| {
                if suppressions.ignored.contains(&f.fingerprint) {
                    counts.ignore_file += 1;
                    false
                } else if suppressions.baseline.contains(&f.fingerprint) {
                    counts.baseline += 1;
                    false
                } else {
                    true
                }
            })
            .collect();
        // Every tie is broken, down to the commit and the fingerprint: the same repository must
        // give the same report byte for byte, whichever thread finished first.
        let commit_order = |location: &Location| {
            location
                .commit
                .as_ref()
                .map(|commit| (commit.time.clone(), commit.id.clone()))
        };
        for finding in &mut findings {
            finding.locations.sort_by(|a, b| {
                (&a.path, a.line, a.column, a.end_column, a.encoding)
                    .cmp(&(&b.path, b.line, b.column, b.end_column, b.encoding))
                    .then_with(|| commit_order(a).cmp(&commit_order(b)))
                    .then_with(|| a.raw_path.cmp(&b.raw_path))
            });
        }
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| {
                    let (la, lb) = (a.primary_location(), b.primary_location());
                    (&la.path, la.line, la.column).cmp(&(&lb.path, lb.line, lb.column))
                })
                .then_with(|| a.rule_id.cmp(&b.rule_id))
                .then_with(|| a.fingerprint.cmp(&b.fingerprint))
        });
        (findings, counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Confidence, Encoding, FindingKind, Fingerprint, SecretValue, Severity};

    fn occurrence(end_column: usize, encoding: Encoding) -> Occurrence {
        let key = crate::test_support::live_key(5);
        Occurrence {
            rule_id: "tusky-live-key".into(),
            kind: FindingKind::Secret,
            severity: Severity::Critical,
            confidence: Confidence::High,
            title: "t".into(),
            remediation: "r".into(),
            fingerprint: Fingerprint::for_secret("tusky-live-key", &key),
            secret: Some(SecretValue::new(key)),
            location: Location {
                path: "a.txt".into(),
                raw_path: None,
                line: 1,
                column: 3,
                end_column,
                encoding,
                commit: None,
            },
        }
    }

    /// Locations that differ only in end column or encoding come out in one order, whatever
    /// order the workers delivered them in.
    #[test]
    fn every_location_field_breaks_ties() {
        let order = |arrivals: Vec<Occurrence>| {
            let mut collector = Collector::new();
            for occurrence in arrivals {
                collector.add(occurrence);
            }
            let (findings, _) = collector.finish(&Suppressions::default());
            findings[0].locations.clone()
        };
        let a = occurrence(44, Encoding::Plain);
        let b = occurrence(44, Encoding::Base64);
        let c = occurrence(90, Encoding::Plain);
        let forward = order(vec![a.clone(), b.clone(), c.clone()]);
        let backward = order(vec![c, b, a]);
        assert_eq!(forward.len(), 3);
        assert_eq!(forward, backward);
    }

    /// One key at 50,000 paths, each delivered twice (as from two workers): every duplicate is
    /// dropped, and the dedupe compares a location only with the ones sharing its hash (about
    /// one comparison per duplicate), where a scan of the list costs 50,000²/2.
    #[test]
    fn location_dedupe_is_linear_in_the_locations() {
        let paths = 50_000usize;
        let mut collector = Collector::new();
        for round in 0..2 {
            for index in 0..paths {
                let mut hit = occurrence(44, Encoding::Plain);
                hit.location.path = format!("vendor/copy{index}/a.txt");
                if round == 1 && index % 2 == 0 {
                    // Same path, another line: a distinct location.
                    hit.location.line = 2;
                }
                collector.add(hit);
            }
        }
        let comparisons = collector.location_comparisons;
        let (findings, _) = collector.finish(&Suppressions::default());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].locations.len(), paths + paths / 2);
        // The 25,000 true duplicates each cost one comparison; a 64-bit hash collision among
        // 75,000 locations is all but impossible, so this bound is not a timing.
        assert!(comparisons <= (paths / 2) as u64 + 16, "{comparisons}");
    }
}
