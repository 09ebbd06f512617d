//! Verification of a report's keys: each distinct key is probed once, by a bounded pool of
//! workers, and the verdict is copied to every finding that holds that key.

use std::collections::HashMap;
use std::sync::Mutex;

use crossbeam_channel::unbounded;

use super::access::map_access;
use super::client::Client;
use super::probe::{Probe, probe, unknown};
use crate::findings::{Finding, FindingKind, SecretValue};

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
    for finding in findings.iter() {
        if let Some(key) = &finding.secret_value
            && !distinct.contains(key)
        {
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
