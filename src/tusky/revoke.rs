//! Revocation (SPEC §7). The list endpoint returns no key values, so a leaked key is resolved to its
//! id by listing the account's keys (with the key itself when it may, else with the management key
//! in `TUSKY_ADMIN_API_KEY`), following `nextCursor` while `hasMore`, and matching an identifying
//! field. Only a unique match is revoked: never a guess. After the DELETE the key is probed again,
//! and only a `401` counts as "revoked (confirmed)".

use std::time::Duration;

use serde_json::Value;

use super::client::{AuthStyle, Client};
use super::probe::{Probe, parse_error_body, probe, server_words};
use crate::findings::{
    KeyCandidate, Revocation, RevocationOutcome, SecretValue, VerificationStatus,
};
use crate::model::text::percent_encode;

pub const DASHBOARD_URL: &str = "https://app.tusky.io/account/api-keys";
pub const ADMIN_KEY_ENV: &str = "TUSKY_ADMIN_API_KEY";
const LIST_PATH: &str = "/v2/api-keys";
const PAGE_LIMIT: u32 = 100;
/// A server that never stops saying `hasMore` must not keep us forever.
const MAX_PAGES: usize = 1000;
/// Identifying hints shorter than this (beyond the `tsk_live_` prefix) match too many keys.
const MIN_HINT_CHARS: usize = 4;
/// Candidates shown when a key cannot be resolved.
const MAX_CANDIDATES: usize = 20;
/// A revocation may take a moment to reach every API node: probe again once before doubting it.
const RECHECK_DELAY: Duration = Duration::from_secs(1);

/// One item of `GET /v2/api-keys`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedKey {
    pub id: String,
    pub name: Option<String>,
    pub created_at: Option<String>,
    /// `key`: the full value, as an older API generation returned.
    pub full: Option<String>,
    /// `keyPrefix` or `prefix`.
    pub prefix: Option<String>,
    /// `last4`, `lastFour` or `suffix`.
    pub suffix: Option<String>,
}

impl ListedKey {
    fn from_json(item: &Value) -> Option<Self> {
        let text = |names: &[&str]| {
            names.iter().find_map(|name| {
                item.get(*name)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            })
        };
        let id = match item.get("id")? {
            Value::String(id) if !id.is_empty() => id.clone(),
            Value::Number(id) => id.to_string(),
            _ => return None,
        };
        Some(ListedKey {
            id,
            name: text(&["name"]),
            created_at: text(&["createdAt", "created_at"]),
            full: text(&["key"]),
            prefix: text(&["keyPrefix", "prefix"]),
            suffix: text(&["last4", "lastFour", "suffix"]),
        })
    }

    fn has_hint(&self) -> bool {
        self.full.is_some() || self.prefix.is_some() || self.suffix.is_some()
    }

    pub fn candidate(&self) -> KeyCandidate {
        KeyCandidate {
            id: clean(&self.id),
            name: self.name.as_deref().map(clean),
            created_at: self.created_at.as_deref().map(clean),
        }
    }
}

/// Server-provided text made safe to print.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListError {
    /// 401/403: this credential may not list keys.
    NotAllowed(String),
    Failed(String),
}

/// Every key of the account, page by page.
pub fn list_keys(
    client: &Client,
    credential: &SecretValue,
    style: AuthStyle,
) -> Result<Vec<ListedKey>, ListError> {
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut path = format!("{LIST_PATH}?limit={PAGE_LIMIT}");
        if let Some(cursor) = &cursor {
            path.push_str("&cursor=");
            path.push_str(&percent_encode(cursor));
        }
        let response = client
            .get(&path, credential, style)
            .map_err(|err| ListError::Failed(format!("listing API keys: {err}")))?;
        match response.status {
            200 => {}
            401 | 403 => {
                let error = parse_error_body(&response.body);
                return Err(ListError::NotAllowed(format!(
                    "HTTP {} {}",
                    response.status,
                    server_words(error.as_ref(), credential)
                )));
            }
            status => {
                return Err(ListError::Failed(format!(
                    "listing API keys: unexpected HTTP {status}"
                )));
            }
        }
        let page: Value = serde_json::from_str(&response.body).map_err(|_| {
            ListError::Failed("listing API keys: the answer is not JSON".to_owned())
        })?;
        let items = page.get("data").and_then(Value::as_array).ok_or_else(|| {
            ListError::Failed("listing API keys: the answer has no `data` list".to_owned())
        })?;
        keys.extend(items.iter().filter_map(ListedKey::from_json));
        let has_more = page.get("hasMore").and_then(Value::as_bool) == Some(true);
        let next = page
            .get("nextCursor")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        match (has_more, next) {
            (false, _) => return Ok(keys),
            (true, None) => {
                return Err(ListError::Failed(
                    "listing API keys: `hasMore` without a `nextCursor`".to_owned(),
                ));
            }
            (true, Some(next)) => {
                if cursor.as_deref() == Some(next.as_str()) {
                    return Err(ListError::Failed(
                        "listing API keys: the cursor does not advance".to_owned(),
                    ));
                }
                cursor = Some(next);
            }
        }
    }
    Err(ListError::Failed(format!(
        "listing API keys: more than {MAX_PAGES} pages"
    )))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMatch {
    Unique(ListedKey),
    /// Items carry hints, none agrees with the key.
    NoMatch,
    /// No item carries `key`, a prefix or a suffix: nothing to match on.
    NoIdentifyingField,
    Ambiguous(Vec<ListedKey>),
}

/// An item matches when every hint it carries agrees with the key and at least one of them is
/// long enough to mean something.
pub fn match_key(key: &str, items: &[ListedKey]) -> KeyMatch {
    let known_prefix = ["tsk_live_", "tsk_test_"]
        .iter()
        .find(|p| key.starts_with(*p))
        .map_or(0, |p| p.len());
    let agrees = |item: &ListedKey| {
        let mut strong = false;
        if let Some(full) = &item.full {
            if full != key {
                return false;
            }
            strong = true;
        }
        if let Some(prefix) = &item.prefix {
            if !key.starts_with(prefix.as_str()) {
                return false;
            }
            strong |= prefix.len() >= known_prefix + MIN_HINT_CHARS;
        }
        if let Some(suffix) = &item.suffix {
            if !key.ends_with(suffix.as_str()) {
                return false;
            }
            strong |= suffix.len() >= MIN_HINT_CHARS;
        }
        strong
    };
    let matches: Vec<&ListedKey> = items.iter().filter(|item| agrees(item)).collect();
    match matches.as_slice() {
        [one] => KeyMatch::Unique((*one).clone()),
        [] if items.iter().any(ListedKey::has_hint) => KeyMatch::NoMatch,
        [] => KeyMatch::NoIdentifyingField,
        many => KeyMatch::Ambiguous(many.iter().map(|k| (*k).clone()).collect()),
    }
}

/// Who makes the list and DELETE calls.
#[derive(Clone, Debug)]
pub struct Credential {
    pub key: SecretValue,
    pub style: AuthStyle,
    /// For the audit log: `leaked-key` or `TUSKY_ADMIN_API_KEY`.
    pub label: &'static str,
}

/// A leaked key resolved to exactly one key id.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub item: ListedKey,
    pub credential: Credential,
}

pub struct Revoker<'a> {
    client: &'a Client,
    admin: Option<SecretValue>,
    /// The management key's listing, fetched once for every leaked key.
    admin_listing: Option<Result<(Vec<ListedKey>, AuthStyle), ListError>>,
}

impl<'a> Revoker<'a> {
    pub fn new(client: &'a Client, admin: Option<SecretValue>) -> Self {
        Revoker {
            client,
            admin,
            admin_listing: None,
        }
    }

    /// Resolves a live key to its id, or says why it can not (as an `unresolved` revocation).
    pub fn resolve(&mut self, key: &SecretValue, probe: &Probe) -> Result<Resolved, Revocation> {
        let mut reasons = Vec::new();
        let mut candidates = Vec::new();
        if let Some(style) = probe.style {
            match list_keys(self.client, key, style) {
                Ok(items) => match match_key(key.expose(), &items) {
                    KeyMatch::Unique(item) => {
                        return Ok(Resolved {
                            item,
                            credential: Credential {
                                key: key.clone(),
                                style,
                                label: "leaked-key",
                            },
                        });
                    }
                    other => {
                        reasons.push(format!("in the key's own listing: {}", describe(&other)));
                        candidates = candidates_of(&other, &items);
                    }
                },
                Err(ListError::NotAllowed(why)) => {
                    reasons.push(format!("the key itself may not list API keys ({why})"))
                }
                Err(ListError::Failed(why)) => reasons.push(why),
            }
        }
        match self.admin_listing() {
            None => reasons.push(format!(
                "{ADMIN_KEY_ENV} is not set (a management key lets tuskguard find the key id)"
            )),
            Some(Err(ListError::NotAllowed(why))) => {
                reasons.push(format!("{ADMIN_KEY_ENV} may not list API keys ({why})"))
            }
            Some(Err(ListError::Failed(why))) => reasons.push(format!("{ADMIN_KEY_ENV}: {why}")),
            Some(Ok((items, style))) => match match_key(key.expose(), &items) {
                KeyMatch::Unique(item) => {
                    let admin = self.admin.clone().unwrap_or_else(|| key.clone());
                    return Ok(Resolved {
                        item,
                        credential: Credential {
                            key: admin,
                            style,
                            label: ADMIN_KEY_ENV,
                        },
                    });
                }
                other => {
                    reasons.push(format!(
                        "in the listing of {ADMIN_KEY_ENV}: {}",
                        describe(&other)
                    ));
                    let more = candidates_of(&other, &items);
                    if !more.is_empty() {
                        candidates = more;
                    }
                }
            },
        }
        Err(Revocation {
            outcome: RevocationOutcome::Unresolved,
            key_id: None,
            key_name: None,
            reason: Some(format!(
                "no unique key id: {}. Nothing was revoked; revoke it by hand at {DASHBOARD_URL}",
                reasons.join("; ")
            )),
            candidates,
        })
    }

    fn admin_listing(&mut self) -> Option<Result<(Vec<ListedKey>, AuthStyle), ListError>> {
        let admin = self.admin.clone()?;
        if self.admin_listing.is_none() {
            let mut listing = list_keys(self.client, &admin, AuthStyle::ApiKey)
                .map(|items| (items, AuthStyle::ApiKey));
            if matches!(listing, Err(ListError::NotAllowed(_))) {
                let bearer = list_keys(self.client, &admin, AuthStyle::Bearer)
                    .map(|items| (items, AuthStyle::Bearer));
                if bearer.is_ok() {
                    listing = bearer;
                }
            }
            self.admin_listing = Some(listing);
        }
        self.admin_listing.clone()
    }

    /// Deletes the resolved id, then probes the leaked key again.
    pub fn revoke(&self, key: &SecretValue, resolved: &Resolved) -> Revocation {
        let item = &resolved.item;
        let credential = &resolved.credential;
        let base = Revocation {
            outcome: RevocationOutcome::Failed,
            key_id: Some(clean(&item.id)),
            key_name: item.name.as_deref().map(clean),
            reason: None,
            candidates: Vec::new(),
        };
        // A hostile or broken server could hand back a key as an "id": it would land in a URL.
        if item.id.contains(key.expose()) || item.id.contains(credential.key.expose()) {
            return Revocation {
                key_id: None,
                reason: Some("the API returned a key id that contains a key: refused".into()),
                ..base
            };
        }
        let path = format!("{LIST_PATH}/{}", percent_encode(&item.id));
        let deleted = self.client.delete(&path, &credential.key, credential.style);
        let delete_note = match &deleted {
            Ok(response) if matches!(response.status, 200 | 202 | 204) => None,
            Ok(response) => Some(format!(
                "DELETE answered HTTP {} {}",
                response.status,
                server_words(parse_error_body(&response.body).as_ref(), &credential.key)
            )),
            Err(err) => Some(format!("DELETE had no answer: {err}")),
        };
        let mut after = probe(self.client, key);
        if after.verification.status == VerificationStatus::Live {
            std::thread::sleep(RECHECK_DELAY);
            after = probe(self.client, key);
        }
        match (after.verification.status, delete_note) {
            (VerificationStatus::NotLive, _) => Revocation {
                outcome: RevocationOutcome::Revoked,
                reason: Some("confirmed: the key now gets 401".into()),
                ..base
            },
            (status, None) => Revocation {
                outcome: RevocationOutcome::NotConfirmed,
                reason: Some(match status {
                    VerificationStatus::Live => format!(
                        "the API accepted the DELETE but the key still works: revoke it at {DASHBOARD_URL}"
                    ),
                    _ => format!(
                        "the API accepted the DELETE but the re-check had no clear answer ({}); check {DASHBOARD_URL}",
                        after.verification.reason.unwrap_or_default()
                    ),
                }),
                ..base
            },
            (_, Some(note)) => Revocation {
                outcome: RevocationOutcome::Failed,
                reason: Some(format!(
                    "{note}; the key still works or its state is unknown: revoke it at {DASHBOARD_URL}"
                )),
                ..base
            },
        }
    }
}

fn describe(found: &KeyMatch) -> String {
    match found {
        KeyMatch::Unique(_) => "one match".into(),
        KeyMatch::NoMatch => "no listed key matches it".into(),
        KeyMatch::NoIdentifyingField => {
            "the list carries no identifying field (key, prefix or last four characters)".into()
        }
        KeyMatch::Ambiguous(many) => format!("{} listed keys match it", many.len()),
    }
}

fn candidates_of(found: &KeyMatch, items: &[ListedKey]) -> Vec<KeyCandidate> {
    let source: &[ListedKey] = match found {
        KeyMatch::Ambiguous(many) => many,
        _ => items,
    };
    source
        .iter()
        .take(MAX_CANDIDATES)
        .map(ListedKey::candidate)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        crate::test_support::live_key(905)
    }

    fn item(id: &str) -> ListedKey {
        ListedKey {
            id: id.into(),
            name: Some(format!("name-{id}")),
            created_at: None,
            full: None,
            prefix: None,
            suffix: None,
        }
    }

    #[test]
    fn full_value_prefix_and_suffix_match() {
        let k = key();
        let full = ListedKey {
            full: Some(k.clone()),
            ..item("a")
        };
        assert_eq!(
            match_key(&k, &[item("x"), full.clone()]),
            KeyMatch::Unique(full)
        );
        let prefixed = ListedKey {
            prefix: Some(k[..13].to_owned()),
            ..item("b")
        };
        assert_eq!(
            match_key(&k, std::slice::from_ref(&prefixed)),
            KeyMatch::Unique(prefixed)
        );
        let suffixed = ListedKey {
            suffix: Some(k[k.len() - 4..].to_owned()),
            ..item("c")
        };
        assert_eq!(
            match_key(&k, std::slice::from_ref(&suffixed)),
            KeyMatch::Unique(suffixed)
        );
    }

    #[test]
    fn weak_or_conflicting_hints_do_not_match() {
        let k = key();
        let bare_prefix = ListedKey {
            prefix: Some("tsk_live_".into()),
            ..item("a")
        };
        assert_eq!(match_key(&k, &[bare_prefix]), KeyMatch::NoMatch);
        let conflicting = ListedKey {
            prefix: Some(k[..13].to_owned()),
            suffix: Some("zzzz".into()),
            ..item("b")
        };
        assert_eq!(match_key(&k, &[conflicting]), KeyMatch::NoMatch);
        assert_eq!(
            match_key(&k, &[item("c"), item("d")]),
            KeyMatch::NoIdentifyingField
        );
    }

    #[test]
    fn two_matches_are_ambiguous() {
        let k = key();
        let a = ListedKey {
            suffix: Some(k[k.len() - 4..].to_owned()),
            ..item("a")
        };
        let b = ListedKey {
            id: "b".into(),
            ..a.clone()
        };
        assert!(matches!(match_key(&k, &[a, b]), KeyMatch::Ambiguous(v) if v.len() == 2));
    }

    #[test]
    fn list_items_parse_every_documented_hint() {
        let value: Value = serde_json::from_str(
            r#"{"id":7,"name":"ci","createdAt":"2026-01-01T00:00:00Z","lastFour":"wXy4"}"#,
        )
        .unwrap();
        let parsed = ListedKey::from_json(&value).unwrap();
        assert_eq!(parsed.id, "7");
        assert_eq!(parsed.suffix.as_deref(), Some("wXy4"));
        assert!(ListedKey::from_json(&serde_json::json!({"name": "no id"})).is_none());
    }

    #[test]
    fn percent_encoding_keeps_ids_in_the_path() {
        assert_eq!(percent_encode("key_1-a.b~c"), "key_1-a.b~c");
        assert_eq!(percent_encode("a/b?c"), "a%2Fb%3Fc");
    }
}
