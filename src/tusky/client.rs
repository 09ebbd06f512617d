//! A small blocking client for the Tusky API on ureq + rustls.
//!
//! Safety choices, each deliberate:
//! - keys travel only in a header (`Api-Key`, or `Authorization: Bearer` as the older docs say),
//!   never in a URL; error messages are built here and scrubbed of the key;
//! - no proxy from the environment (ureq reads `HTTPS_PROXY` by default): a proxy sees every key,
//!   so one is used only when given with `--proxy`;
//! - no redirects: a 3xx must not carry a key to another host;
//! - every request has a timeout, and the whole run a time budget;
//! - only GETs are retried (on 429 and 5xx); a 429 waits until `X-RateLimit-Reset`, capped, and
//!   pauses every worker, not just the one that was told.

use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use ureq::Agent;

use super::endpoint::ApiBase;
use crate::model::{Scrubber, SecretValue};

/// Attempts per GET (the first plus retries).
const MAX_GET_ATTEMPTS: u32 = 3;
/// The longest a 429 may make us wait; a later reset gives up with `unknown` instead.
pub const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);
/// Larger bodies are not a Tusky answer.
const MAX_BODY_BYTES: u64 = 1 << 20;
const USER_AGENT: &str = concat!("tuskguard/", env!("CARGO_PKG_VERSION"));

/// Which documented header carries the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStyle {
    /// `Api-Key: <key>` (newer docs): tried first.
    ApiKey,
    /// `Authorization: Bearer <key>` (older docs).
    Bearer,
}

/// A response as the probes need it.
#[derive(Clone, Debug)]
pub struct ApiResponse {
    pub status: u16,
    pub body: String,
    /// `X-RateLimit-Reset`, unix seconds.
    pub rate_limit_reset: Option<u64>,
    /// How many requests were made to get this answer (retries included).
    pub attempts: u32,
}

/// Why no HTTP answer came back. Messages never contain a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("timed out")]
    Timeout,
    #[error("time budget exhausted (--time-budget)")]
    BudgetExhausted,
    #[error("DNS lookup failed")]
    Dns,
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("TLS error: {0}")]
    Tls(String),
    #[error("{0}")]
    Other(String),
}

pub struct ClientSettings {
    pub base: ApiBase,
    pub timeout: Duration,
    pub time_budget: Duration,
    pub proxy: Option<String>,
}

pub struct Client {
    agent: Agent,
    base: ApiBase,
    timeout: Duration,
    deadline: Instant,
    /// Set by a 429: no worker sends before this instant.
    paused_until: Mutex<Option<Instant>>,
}

impl Client {
    pub fn new(settings: &ClientSettings) -> Result<Self> {
        let proxy = match &settings.proxy {
            Some(url) => Some(
                ureq::Proxy::new(url)
                    .map_err(|_| anyhow::anyhow!("--proxy: invalid proxy URL"))
                    .context("expected e.g. http://proxy.internal:3128")?,
            ),
            None => None,
        };
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .proxy(proxy)
            .max_redirects(0)
            .user_agent(USER_AGENT)
            .timeout_global(Some(settings.timeout))
            .build()
            .into();
        Ok(Client {
            agent,
            base: settings.base.clone(),
            timeout: settings.timeout,
            deadline: Instant::now() + settings.time_budget,
            paused_until: Mutex::new(None),
        })
    }

    pub fn base(&self) -> &ApiBase {
        &self.base
    }

    /// A GET, retried on 429 (honouring `X-RateLimit-Reset` up to a cap) and on 5xx. Returns the
    /// last response, so the caller can say "429 after 3 attempts".
    pub fn get(
        &self,
        path: &str,
        key: &SecretValue,
        style: AuthStyle,
    ) -> Result<ApiResponse, CallError> {
        let mut attempt = 1;
        loop {
            let mut response = self.send(Method::Get, path, key, style)?;
            response.attempts = attempt;
            if attempt >= MAX_GET_ATTEMPTS {
                return Ok(response);
            }
            let wait = match response.status {
                429 => match rate_limit_wait(response.rate_limit_reset) {
                    Some(wait) => {
                        self.pause_all(wait);
                        wait
                    }
                    None => return Ok(response),
                },
                500..=599 => with_jitter(Duration::from_millis(250 << (attempt - 1))),
                _ => return Ok(response),
            };
            if Instant::now() + wait >= self.deadline {
                return Ok(response);
            }
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// A DELETE, sent once: revocation is never retried blindly.
    pub fn delete(
        &self,
        path: &str,
        key: &SecretValue,
        style: AuthStyle,
    ) -> Result<ApiResponse, CallError> {
        let mut response = self.send(Method::Delete, path, key, style)?;
        response.attempts = 1;
        Ok(response)
    }

    fn pause_all(&self, wait: Duration) {
        if let Ok(mut paused) = self.paused_until.lock() {
            let until = Instant::now() + wait;
            if paused.is_none_or(|p| p < until) {
                *paused = Some(until);
            }
        }
    }

    fn wait_if_paused(&self) {
        let until = self.paused_until.lock().ok().and_then(|p| *p);
        let pause = pause_within_budget(until, Instant::now(), self.deadline);
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }

    fn send(
        &self,
        method: Method,
        path: &str,
        key: &SecretValue,
        style: AuthStyle,
    ) -> Result<ApiResponse, CallError> {
        self.wait_if_paused();
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(CallError::BudgetExhausted);
        }
        let timeout = self.timeout.min(remaining);
        let url = self.base.join(path);
        let (name, value) = match style {
            AuthStyle::ApiKey => ("Api-Key", key.expose().to_owned()),
            AuthStyle::Bearer => ("Authorization", format!("Bearer {}", key.expose())),
        };
        let request = match method {
            Method::Get => self.agent.get(&url),
            Method::Delete => self.agent.delete(&url),
        };
        let result = request
            .header(name, &value)
            .header("Accept", "application/json")
            .config()
            .timeout_global(Some(timeout))
            .build()
            .call();
        let mut response = result.map_err(|err| describe_error(err, key))?;
        let status = response.status().as_u16();
        let rate_limit_reset = response
            .headers()
            .get("X-RateLimit-Reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_string()
            .map_err(|err| describe_error(err, key))?;
        Ok(ApiResponse {
            status,
            body,
            rate_limit_reset,
            attempts: 1,
        })
    }
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Delete,
}

/// How long to sleep for a shared 429 pause: never past the run's deadline (the caller then sees
/// the budget spent), never more than [`MAX_RATE_LIMIT_WAIT`].
fn pause_within_budget(until: Option<Instant>, now: Instant, deadline: Instant) -> Duration {
    let Some(until) = until else {
        return Duration::ZERO;
    };
    until
        .min(deadline)
        .saturating_duration_since(now)
        .min(MAX_RATE_LIMIT_WAIT)
}

/// `wait` plus up to half of it again, so workers that all got a 5xx do not retry in lockstep.
fn with_jitter(wait: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    // A fresh RandomState is randomly keyed per instance: enough randomness for a backoff.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let half = wait.as_millis() as u64 / 2;
    wait + Duration::from_millis(hasher.finish() % (half + 1))
}

/// How long a 429 asks us to wait, or `None` when that is longer than we are willing to.
fn rate_limit_wait(reset_unix_secs: Option<u64>) -> Option<Duration> {
    let Some(reset) = reset_unix_secs else {
        return Some(Duration::from_secs(1));
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let wait = Duration::from_millis(reset.saturating_mul(1000).saturating_sub(now_ms))
        .max(Duration::from_millis(200));
    (wait <= MAX_RATE_LIMIT_WAIT).then_some(wait)
}

/// Turns a ureq error into a message of our own. ureq's messages could in principle echo request
/// data, so only the kind of failure survives, and any trace of the key is scrubbed on top.
fn describe_error(err: ureq::Error, key: &SecretValue) -> CallError {
    let described = match err {
        ureq::Error::Timeout(_) => CallError::Timeout,
        ureq::Error::HostNotFound => CallError::Dns,
        ureq::Error::ConnectionFailed => CallError::Connect("could not connect".into()),
        ureq::Error::Io(io) => match io.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => CallError::Timeout,
            io::ErrorKind::ConnectionRefused => CallError::Connect("connection refused".into()),
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
                CallError::Connect("connection reset by the server".into())
            }
            io::ErrorKind::UnexpectedEof => {
                CallError::Other("the server closed the connection early".into())
            }
            kind => CallError::Other(format!("I/O error ({kind})")),
        },
        ureq::Error::Tls(what) => CallError::Tls(what.to_owned()),
        ureq::Error::Rustls(err) => CallError::Tls(err.to_string()),
        ureq::Error::BodyExceedsLimit(_) => {
            CallError::Other("response body too large for a Tusky answer".into())
        }
        ureq::Error::TooManyRedirects | ureq::Error::RedirectFailed => {
            CallError::Other("the server answered with a redirect (not followed)".into())
        }
        ureq::Error::RequireHttpsOnly(_) | ureq::Error::TlsRequired => {
            CallError::Tls("https required".into())
        }
        ureq::Error::ConnectProxyFailed(_) | ureq::Error::InvalidProxyUrl => {
            CallError::Connect("proxy failed".into())
        }
        ureq::Error::Protocol(_) => CallError::Other("malformed HTTP response".into()),
        _ => CallError::Other("HTTP client error".into()),
    };
    scrub_error(described, key)
}

fn scrub_error(err: CallError, key: &SecretValue) -> CallError {
    let scrub = |text: String| scrub(&text, key);
    match err {
        CallError::Connect(m) => CallError::Connect(scrub(m)),
        CallError::Tls(m) => CallError::Tls(scrub(m)),
        CallError::Other(m) => CallError::Other(scrub(m)),
        other => other,
    }
}

/// Replaces every known form of the key in `text` (exact, body only, percent-encoded, base64,
/// UTF-16) by its redacted form.
pub fn scrub(text: &str, key: &SecretValue) -> String {
    Scrubber::new([key.clone()]).scrub(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::live_key;

    #[test]
    fn rate_limit_waits_are_capped() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(rate_limit_wait(Some(now + 2)).is_some());
        assert!(rate_limit_wait(Some(now + 3600)).is_none());
        assert_eq!(
            rate_limit_wait(Some(now.saturating_sub(10))),
            Some(Duration::from_millis(200))
        );
        assert_eq!(rate_limit_wait(None), Some(Duration::from_secs(1)));
    }

    #[test]
    fn a_rate_limit_pause_never_outlasts_the_budget() {
        let now = Instant::now();
        let deadline = now + Duration::from_secs(2);
        let far = now + Duration::from_secs(25);
        assert_eq!(
            pause_within_budget(Some(far), now, deadline),
            Duration::from_secs(2)
        );
        assert_eq!(pause_within_budget(None, now, deadline), Duration::ZERO);
        let late = now + Duration::from_secs(3600);
        assert_eq!(
            pause_within_budget(Some(late), now, now + Duration::from_secs(7200)),
            MAX_RATE_LIMIT_WAIT
        );
    }

    #[test]
    fn backoff_jitter_stays_within_half_again() {
        let base = Duration::from_millis(250);
        let waits: Vec<Duration> = (0..50).map(|_| with_jitter(base)).collect();
        assert!(waits.iter().all(|w| *w >= base && *w <= base * 3 / 2));
        assert!(
            waits.iter().any(|w| *w != waits[0]),
            "50 backoffs all equal: no jitter"
        );
    }

    #[test]
    fn scrub_removes_the_key() {
        let key = SecretValue::new(crate::test_support::live_key(904));
        let text = format!("failed for {} at host", key.expose());
        let cleaned = scrub(&text, &key);
        assert!(!cleaned.contains(key.expose()));
        assert!(cleaned.contains(&format!("tsk_live_{}…", &key.expose()[9..13])));
    }

    /// A client for a server on this machine's `port`.
    fn local_client(port: u16) -> Client {
        Client::new(&ClientSettings {
            base: ApiBase::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
            timeout: Duration::from_secs(5),
            time_budget: Duration::from_secs(10),
            proxy: None,
        })
        .unwrap()
    }

    #[test]
    fn redirects_are_returned_not_followed() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/steal\r\nContent-Length: 0\r\n\r\n",
            );
        });
        let client = local_client(port);
        let key = SecretValue::new(live_key(7));
        let response = client
            .delete("/v2/api-keys/k1", &key, AuthStyle::ApiKey)
            .unwrap();
        assert_eq!(response.status, 302);
        server.join().unwrap();
    }

    #[test]
    fn unreachable_port_is_a_connect_error_without_key() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = local_client(port);
        let key = SecretValue::new(live_key(9));
        let err = client
            .get("/v2/account/usage", &key, AuthStyle::ApiKey)
            .unwrap_err();
        assert!(matches!(err, CallError::Connect(_)), "{err:?}");
        assert!(!err.to_string().contains(key.expose()));
    }
}
