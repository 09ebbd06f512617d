//! A fake Tusky API on 127.0.0.1, faithful to SPEC §1: `Api-Key` and `Authorization: Bearer`,
//! the `{"error": {"code", "message", "details"}}` shape, cursor pagination (`limit`, `cursor`,
//! `hasMore`, `nextCursor`), 401/403/404/429 (with `X-RateLimit-*`)/500, slow and malformed
//! answers, admin / scoped / revoked / expired keys, list items with or without identifying
//! fields, and a DELETE it can "forget". It records every request and flags any key seen in a URL.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tiny_http::{Header, Response, Server};

#[derive(Clone, Debug)]
pub struct FakeKey {
    pub id: String,
    pub name: String,
    pub value: String,
    /// `None`: an admin key (created without scopes).
    pub scopes: Option<Vec<String>>,
    pub revoked: bool,
    pub expired: bool,
    pub created_at: String,
}

impl FakeKey {
    pub fn admin(id: &str, value: &str) -> Self {
        FakeKey {
            id: id.into(),
            name: format!("{id}-name"),
            value: value.into(),
            scopes: None,
            revoked: false,
            expired: false,
            created_at: "2026-01-02T03:04:05Z".into(),
        }
    }

    pub fn scoped(id: &str, value: &str, scopes: &[&str]) -> Self {
        FakeKey {
            scopes: Some(scopes.iter().map(|s| (*s).to_owned()).collect()),
            ..FakeKey::admin(id, value)
        }
    }

    pub fn revoked(mut self) -> Self {
        self.revoked = true;
        self
    }

    pub fn expired(mut self) -> Self {
        self.expired = true;
        self
    }
}

/// Which identifying field list items carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hints {
    None,
    Key,
    KeyPrefix,
    Prefix,
    Last4,
    LastFour,
    Suffix,
}

#[derive(Clone, Debug)]
pub struct Behaviour {
    pub hints: Hints,
    pub page_size: usize,
    /// DELETE answers 204 but the key keeps working.
    pub forget_revoke: bool,
    /// The first N calls to /v2/account/usage get 429.
    pub usage_429_times: usize,
    /// `X-RateLimit-Reset` = now + this many seconds.
    pub reset_in_secs: u64,
    pub usage_500: bool,
    pub usage_malformed: bool,
    pub usage_delay: Option<Duration>,
    /// An API generation that only knows `Authorization: Bearer`.
    pub bearer_only: bool,
    /// A hostile server: error messages echo the presented key's body and its `%5F`-encoded form.
    pub echo_key: bool,
    /// A hostile server: list items carry the key inside their id (`id_<key>`).
    pub key_in_id: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            hints: Hints::Key,
            page_size: 100,
            forget_revoke: false,
            usage_429_times: 0,
            reset_in_secs: 1,
            usage_500: false,
            usage_malformed: false,
            usage_delay: None,
            bearer_only: false,
            echo_key: false,
            key_in_id: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub url: String,
    /// `api-key`, `bearer` or `none`.
    pub auth: &'static str,
    /// The id of the key that authenticated, if any.
    pub caller: Option<String>,
}

#[derive(Default)]
struct State {
    keys: Vec<FakeKey>,
    behaviour: Behaviour,
    requests: Vec<Recorded>,
    violations: Vec<String>,
    usage_calls: usize,
}

pub struct FakeTusky {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: Arc<Server>,
    thread: Option<JoinHandle<()>>,
}

impl FakeTusky {
    pub fn start(keys: Vec<FakeKey>, behaviour: Behaviour) -> Self {
        let server = Arc::new(Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let port = server.server_addr().to_ip().expect("ip address").port();
        let state = Arc::new(Mutex::new(State {
            keys,
            behaviour,
            ..State::default()
        }));
        let thread = {
            let server = Arc::clone(&server);
            let state = Arc::clone(&state);
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    let state = Arc::clone(&state);
                    std::thread::spawn(move || handle(request, &state));
                }
            })
        };
        FakeTusky {
            url: format!("http://127.0.0.1:{port}"),
            state,
            server,
            thread: Some(thread),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn count(&self, method: &str, path_prefix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.url.starts_with(path_prefix))
            .count()
    }

    pub fn key(&self, id: &str) -> FakeKey {
        let state = self.state.lock().unwrap();
        state.keys.iter().find(|k| k.id == id).cloned().unwrap()
    }

    /// Fails the test if any request carried a key in its URL.
    pub fn assert_no_key_in_urls(&self) {
        let violations = self.state.lock().unwrap().violations.clone();
        assert!(violations.is_empty(), "{violations:?}");
    }
}

impl Drop for FakeTusky {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn error(status: u16, code: &str, message: &str) -> (u16, String) {
    (
        status,
        json!({"error": {"code": code, "message": message, "details": {}}}).to_string(),
    )
}

fn handle(mut request: tiny_http::Request, state: &Mutex<State>) {
    let method = request.method().to_string();
    let url = request.url().to_owned();
    let header = |name: &'static str| {
        request
            .headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_owned())
    };
    let api_key = header("Api-Key");
    let bearer = header("Authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned));
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);

    let presented_key = api_key.clone().or_else(|| bearer.clone());
    let (behaviour, caller, auth, delay) = {
        let mut state = state.lock().unwrap();
        let behaviour = state.behaviour.clone();
        let leaked: Vec<String> = state
            .keys
            .iter()
            .map(|k| k.value.clone())
            .filter(|v| url.contains(v.as_str()))
            .collect();
        if !leaked.is_empty() || url.contains("tsk_live_") || url.contains("tsk_test_") {
            state.violations.push(format!("key in URL: {method} {url}"));
        }
        let (auth, presented) = match (&api_key, &bearer) {
            (Some(key), _) if !behaviour.bearer_only => ("api-key", Some(key.clone())),
            (_, Some(key)) => ("bearer", Some(key.clone())),
            (Some(_), None) => ("api-key", None),
            (None, None) => ("none", None),
        };
        let caller = presented.and_then(|v| state.keys.iter().find(|k| k.value == v).cloned());
        state.requests.push(Recorded {
            method: method.clone(),
            url: url.clone(),
            auth,
            caller: caller.as_ref().map(|k| k.id.clone()),
        });
        let delay = if url.starts_with("/v2/account/usage") {
            behaviour.usage_delay
        } else {
            None
        };
        (behaviour, caller, auth, delay)
    };
    if let Some(delay) = delay {
        std::thread::sleep(delay);
    }
    let mut extra_headers = Vec::new();
    let (status, text) = route(
        state,
        &behaviour,
        &method,
        &url,
        caller,
        auth,
        &mut extra_headers,
    );
    let (status, text) = match presented_key {
        Some(presented) if behaviour.echo_key && status >= 400 => {
            let body = presented.get(9..).unwrap_or_default().to_owned();
            let encoded = presented.replace('_', "%5F");
            error(
                status,
                "UNAUTHORIZED",
                &format!("bad key body {body} and pct {encoded} and {presented}"),
            )
        }
        _ => (status, text),
    };
    let mut response = Response::from_string(text).with_status_code(status);
    response.add_header(Header::from_bytes("Content-Type", "application/json").unwrap());
    for (name, value) in extra_headers {
        response.add_header(Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap());
    }
    let _ = request.respond(response);
}

fn route(
    state: &Mutex<State>,
    behaviour: &Behaviour,
    method: &str,
    url: &str,
    caller: Option<FakeKey>,
    auth: &str,
    extra_headers: &mut Vec<(String, String)>,
) -> (u16, String) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let query: BTreeMap<&str, &str> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    if path == "/v2/account/usage" {
        let mut state = state.lock().unwrap();
        state.usage_calls += 1;
        if state.usage_calls <= behaviour.usage_429_times {
            let reset = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs()
                + behaviour.reset_in_secs;
            extra_headers.push(("X-RateLimit-Limit".into(), "100".into()));
            extra_headers.push(("X-RateLimit-Remaining".into(), "0".into()));
            extra_headers.push(("X-RateLimit-Reset".into(), reset.to_string()));
            return error(429, "RATE_LIMIT_EXCEEDED", "too many requests");
        }
        if behaviour.usage_500 {
            return error(500, "INTERNAL_ERROR", "something broke");
        }
        if behaviour.usage_malformed {
            return (200, "{\"data\": [unterminated".into());
        }
    }
    let Some(key) = caller else {
        return if auth == "none" {
            error(401, "UNAUTHORIZED", "missing API key")
        } else {
            error(401, "UNAUTHORIZED", "invalid API key")
        };
    };
    if key.revoked {
        return error(401, "UNAUTHORIZED", "API key has been revoked");
    }
    if key.expired {
        return error(401, "UNAUTHORIZED", "API key has expired");
    }
    let holds = |resource: &str| match &key.scopes {
        None => true,
        Some(scopes) => scopes
            .iter()
            .any(|s| s == &format!("{resource}:read") || s == &format!("{resource}:write")),
    };
    let forbidden = || error(403, "FORBIDDEN", "the API key lacks the required scope");
    match (method, path) {
        ("GET", "/v2/account/usage") => {
            if holds("account") {
                (
                    200,
                    json!({"data": {"storageBytes": 1024, "files": 3}}).to_string(),
                )
            } else {
                forbidden()
            }
        }
        ("GET", "/v2/environments") => error(404, "NOT_FOUND", "renamed to volumes"),
        (
            "GET",
            p @ ("/v2/volumes" | "/v2/files" | "/v2/members" | "/v2/aggregators" | "/v2/publisher"),
        ) => {
            let resource = p.trim_start_matches("/v2/");
            if holds(resource) {
                (
                    200,
                    json!({"data": [], "hasMore": false, "nextCursor": null}).to_string(),
                )
            } else {
                forbidden()
            }
        }
        ("GET", "/v2/api-keys") => {
            if key.scopes.is_some() {
                return forbidden();
            }
            list_page(state, behaviour, &query)
        }
        ("DELETE", p) if p.starts_with("/v2/api-keys/") => {
            if key.scopes.is_some() {
                return forbidden();
            }
            let id = &p["/v2/api-keys/".len()..];
            let mut state = state.lock().unwrap();
            match state.keys.iter_mut().find(|k| k.id == id && !k.revoked) {
                Some(target) => {
                    if !behaviour.forget_revoke {
                        target.revoked = true;
                    }
                    (204, String::new())
                }
                None => error(404, "NOT_FOUND", "no such API key"),
            }
        }
        _ => error(404, "NOT_FOUND", "no such endpoint"),
    }
}

fn list_page(
    state: &Mutex<State>,
    behaviour: &Behaviour,
    query: &BTreeMap<&str, &str>,
) -> (u16, String) {
    let state = state.lock().unwrap();
    let active: Vec<&FakeKey> = state.keys.iter().filter(|k| !k.revoked).collect();
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(20)
        .min(behaviour.page_size)
        .max(1);
    let start = match query.get("cursor") {
        None => 0,
        Some(cursor) => match cursor
            .strip_prefix("c")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => n,
            None => return error(400, "BAD_REQUEST", "invalid cursor"),
        },
    };
    let page: Vec<Value> = active
        .iter()
        .skip(start)
        .take(limit)
        .map(|k| {
            let id = if behaviour.key_in_id {
                format!("id_{}", k.value)
            } else {
                k.id.clone()
            };
            let mut item = json!({
                "id": id,
                "name": k.name,
                "scopes": k.scopes,
                "expiresAt": null,
                "createdAt": k.created_at,
                "lastUsedAt": null,
            });
            let body_start = if k.value.starts_with("tsk_") { 9 } else { 0 };
            let tail = &k.value[k.value.len() - 4..];
            let head = &k.value[..body_start + 6];
            let hint = match behaviour.hints {
                Hints::None => None,
                Hints::Key => Some(("key", k.value.as_str())),
                Hints::KeyPrefix => Some(("keyPrefix", head)),
                Hints::Prefix => Some(("prefix", head)),
                Hints::Last4 => Some(("last4", tail)),
                Hints::LastFour => Some(("lastFour", tail)),
                Hints::Suffix => Some(("suffix", tail)),
            };
            if let Some((field, value)) = hint {
                item[field] = json!(value);
            }
            item
        })
        .collect();
    let has_more = start + limit < active.len();
    let next = has_more.then(|| format!("c{}", start + limit));
    (
        200,
        json!({"data": page, "hasMore": has_more, "nextCursor": next}).to_string(),
    )
}
