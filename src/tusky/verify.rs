//! Verification of a report's keys: each distinct key is probed once, by a bounded pool of
//! workers, and the verdict is copied to every finding that holds that key.

use std::collections::HashMap;
use std::sync::Mutex;

use crossbeam_channel::unbounded;

use super::access::map_access;
use super::client::Client;
use super::probe::{Probe, probe, unknown};
use crate::findings::{Finding, FindingKind, SecretValue};

/// Why a finding's value was not probed: it is no Tusky key (a custom rule's token of some other
/// service), and Tusky's API must never receive another service's secret.
pub const NOT_A_TUSKY_KEY: &str =
    "not a Tusky key (a custom rule's finding): never sent to the Tusky API";

pub const KEY_NOT_AVAILABLE: &str = "the key could not be recovered from the report or its locations \
     (file changed or moved?): re-run `tuskguard scan --verify`";

#[derive(Clone, Copy, Debug)]
pub struct VerifyOptions {
    pub concurrency: usize,
    pub access_map: bool,
}

/// Probes the distinct keys of `findings` and fills `finding.verification`. Returns the probes by
/// key, for revocation.
pub fn verify_findings(
    client: &Client,
    findings: &mut [Finding],
    options: VerifyOptions,
) -> HashMap<SecretValue, Probe> {
    let mut distinct: Vec<SecretValue> = Vec::new();
    for finding in findings.iter_mut() {
        let Some(key) = &finding.secret_value else {
            continue;
        };
        if finding.kind != FindingKind::Secret || !has_tusky_key_shape(key.expose()) {
            finding.verification = Some(unknown(NOT_A_TUSKY_KEY));
            continue;
        }
        if !distinct.contains(key) {
            distinct.push(key.clone());
        }
    }
    let probes = probe_all(client, distinct, options);
    for finding in findings.iter_mut() {
        if finding.kind != FindingKind::Secret {
            continue;
        }
        match finding.secret_value.as_ref().and_then(|k| probes.get(k)) {
            Some(probe) => finding.verification = Some(probe.verification.clone()),
            None => {
                if finding.verification.is_none() {
                    finding.verification = Some(unknown(KEY_NOT_AVAILABLE));
                }
            }
        }
    }
    probes
}

/// Whether `value` has the shape of a Tusky key (SPEC §1): `tsk_live_`/`tsk_test_` and an
/// alphanumeric body, or a legacy UUID. Decided on the value, not on the rule id, because a
/// repository's config can reuse a built-in rule's id for a pattern of its own.
pub fn has_tusky_key_shape(value: &str) -> bool {
    let prefixed = ["tsk_live_", "tsk_test_"].iter().any(|prefix| {
        value.strip_prefix(prefix).is_some_and(|body| {
            !body.is_empty() && body.len() <= 128 && body.bytes().all(|b| b.is_ascii_alphanumeric())
        })
    });
    let uuid = value.len() == 36
        && value.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    prefixed || uuid
}

fn probe_all(
    client: &Client,
    keys: Vec<SecretValue>,
    options: VerifyOptions,
) -> HashMap<SecretValue, Probe> {
    let results = Mutex::new(HashMap::with_capacity(keys.len()));
    let workers = options.concurrency.clamp(1, keys.len().max(1));
    let (sender, receiver) = unbounded();
    for key in keys {
        // The receiver lives until the end of this function; sending cannot fail.
        let _ = sender.send(key);
    }
    drop(sender);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let receiver = receiver.clone();
            let results = &results;
            scope.spawn(move || {
                for key in receiver {
                    let mut outcome = probe(client, &key);
                    if options.access_map
                        && outcome.is_live()
                        && let Some(style) = outcome.style
                    {
                        let map = map_access(client, &key, style, outcome.status);
                        outcome.verification.scopes = Some(map.scopes);
                        if !map.unclear.is_empty() {
                            let note = format!("access map incomplete: {}", map.unclear.join("; "));
                            outcome.verification.reason = Some(match outcome.verification.reason {
                                Some(reason) => format!("{reason}; {note}"),
                                None => note,
                            });
                        }
                    }
                    if let Ok(mut results) = results.lock() {
                        results.insert(key, outcome);
                    }
                }
            });
        }
    });
    results.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::has_tusky_key_shape;
    use crate::test_support::{live_key, test_key};

    #[test]
    fn only_tusky_shaped_values_may_be_probed() {
        assert!(has_tusky_key_shape(&live_key(1)));
        assert!(has_tusky_key_shape(&test_key(2)));
        assert!(has_tusky_key_shape("4e4f8a9c-9c92-4856-ad5a-db3a10b9b658"));
        for other in [
            "ghp_0123456789abcdef0123456789abcdef0123",
            "tsk_live_",
            "tsk_live_abc-def",
            "4e4f8a9c9c924856ad5adb3a10b9b658",
            "4e4f8a9c-9c92-4856-ad5a-db3a10b9b65g",
            "xtsk_live_abc",
        ] {
            assert!(!has_tusky_key_shape(other), "{other}");
        }
    }
}
