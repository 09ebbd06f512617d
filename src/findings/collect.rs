//! The one collector: turns occurrences from many workers into one finding per fingerprint,
//! then applies fingerprint-level suppression.

use std::collections::HashMap;

use super::suppression::Suppressions;
use super::{Finding, Location, Occurrence, SecretInfo, SuppressedCounts};

#[derive(Default)]
pub struct Collector {
    by_fingerprint: HashMap<String, Finding>,
}

impl Collector {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, occurrence: Occurrence) {
        let key = occurrence.fingerprint.as_str().to_owned();
        match self.by_fingerprint.get_mut(&key) {
            Some(finding) => {
                if !finding.locations.contains(&occurrence.location) {
                    finding.locations.push(occurrence.location);
                }
                finding.confidence = finding.confidence.max(occurrence.confidence);
            }
            None => {
                let secret = occurrence.secret.as_ref().map(|s| SecretInfo {
                    redacted: s.redacted(),
                    length: s.char_len(),
                    value: None,
                });
                self.by_fingerprint.insert(
                    key.clone(),
                    Finding {
                        rule_id: occurrence.rule_id,
                        kind: occurrence.kind,
                        severity: occurrence.severity,
                        confidence: occurrence.confidence,
                        title: occurrence.title,
                        remediation: occurrence.remediation,
                        fingerprint: key,
                        secret,
                        locations: vec![occurrence.location],
                        history: None,
                        verification: None,
                        secret_value: occurrence.secret,
                    },
                );
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
}
