//! The liveness probe (SPEC §7): one read-only documented endpoint. `200` or `403` → live (403 is
//! a valid key without the scope), `401` → not live, anything else → unknown with the reason.
//!
//! A 401 with `Api-Key` is confirmed with `Authorization: Bearer` before calling a key dead: an
//! API generation that only knows the older header must not make a live key look revoked.

use serde_json::Value;

use super::client::{ApiResponse, AuthStyle, CallError, Client, scrub};
use crate::findings::{SecretValue, Verification, VerificationStatus};

/// Read-only, documented, and answered for every valid key (403 without `account:read`).
pub const LIVENESS_PATH: &str = "/v2/account/usage";

/// Tusky's error body: `{"error": {"code", "message", "details"}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

pub fn parse_error_body(body: &str) -> Option<ApiError> {
    let value: Value = serde_json::from_str(body).ok()?;
    let error = value.get("error")?.as_object()?;
    Some(ApiError {
        code: error.get("code")?.as_str()?.to_owned(),
        message: error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    })
}

/// The outcome of probing one key.
#[derive(Clone, Debug)]
pub struct Probe {
    pub verification: Verification,
    /// The header the API accepted, for the calls that follow (access map, revocation).
    pub style: Option<AuthStyle>,
    /// Status of the liveness call, when it was answered.
    pub status: Option<u16>,
}

impl Probe {
    pub fn is_live(&self) -> bool {
        self.verification.status == VerificationStatus::Live
    }
}

pub fn probe(client: &Client, key: &SecretValue) -> Probe {
    let first = client.get(LIVENESS_PATH, key, AuthStyle::ApiKey);
    if let Ok(response) = &first
        && response.status == 401
        && parse_error_body(&response.body).is_some()
    {
        let second = client.get(LIVENESS_PATH, key, AuthStyle::Bearer);
        if let Ok(again) = &second
            && again.status != 401
        {
            return judge(second, key, AuthStyle::Bearer);
        }
    }
    judge(first, key, AuthStyle::ApiKey)
}

fn judge(result: Result<ApiResponse, CallError>, key: &SecretValue, style: AuthStyle) -> Probe {
    let response = match result {
        Ok(response) => response,
        Err(err) => {
            return Probe {
                verification: unknown(format!("no answer from the API: {err}")),
                style: None,
                status: None,
            };
        }
    };
    let error = parse_error_body(&response.body);
    let (status, reason) = match response.status {
        200 if serde_json::from_str::<Value>(&response.body).is_ok() => {
            (VerificationStatus::Live, None)
        }
        200 => (
            VerificationStatus::Unknown,
            Some("HTTP 200 with a body that is not JSON (not a Tusky answer?)".to_owned()),
        ),
        403 if error.is_some() => (
            VerificationStatus::Live,
            Some(format!(
                "valid key without access to {LIVENESS_PATH} (403 {})",
                server_words(error.as_ref(), key)
            )),
        ),
        401 if error.is_some() => (
            VerificationStatus::NotLive,
            Some(format!(
                "401 {} (revoked, invalid or expired)",
                server_words(error.as_ref(), key)
            )),
        ),
        401 | 403 => (
            VerificationStatus::Unknown,
            Some(format!(
                "HTTP {} without Tusky's error body (a proxy or firewall answered?)",
                response.status
            )),
        ),
        429 => (
            VerificationStatus::Unknown,
            Some(format!(
                "rate limited (429) after {} attempt(s){}; try again later",
                response.attempts,
                response
                    .rate_limit_reset
                    .map(|reset| format!(", limit resets at unix time {reset}"))
                    .unwrap_or_default()
            )),
        ),
        status @ 500..=599 => (
            VerificationStatus::Unknown,
            Some(format!(
                "server error (HTTP {status}) after {} attempt(s)",
                response.attempts
            )),
        ),
        status => (
            VerificationStatus::Unknown,
            Some(format!("unexpected HTTP {status} from {LIVENESS_PATH}")),
        ),
    };
    let live_or_dead = status != VerificationStatus::Unknown;
    Probe {
        verification: Verification {
            status,
            reason,
            scopes: None,
            revocation: None,
        },
        style: live_or_dead.then_some(style),
        status: Some(response.status),
    }
}

pub fn unknown(reason: impl Into<String>) -> Verification {
    Verification {
        status: VerificationStatus::Unknown,
        reason: Some(reason.into()),
        scopes: None,
        revocation: None,
    }
}

/// The server's code and message, cut short and made safe to print.
pub fn server_words(error: Option<&ApiError>, key: &SecretValue) -> String {
    let Some(error) = error else {
        return String::new();
    };
    let text = if error.message.is_empty() {
        error.code.clone()
    } else {
        format!("{}: {}", error.code, error.message)
    };
    let cleaned: String = scrub(&text, key)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(160)
        .collect();
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_shape() {
        let body = r#"{"error":{"code":"UNAUTHORIZED","message":"API key revoked","details":{}}}"#;
        assert_eq!(
            parse_error_body(body),
            Some(ApiError {
                code: "UNAUTHORIZED".into(),
                message: "API key revoked".into()
            })
        );
        assert_eq!(parse_error_body("<html>"), None);
        assert_eq!(parse_error_body(r#"{"message":"x"}"#), None);
    }

    #[test]
    fn server_words_never_echo_the_key() {
        let key = SecretValue::new(crate::test_support::live_key(906));
        let error = ApiError {
            code: "UNAUTHORIZED".into(),
            message: format!("bad key {}\n", key.expose()),
        };
        let words = server_words(Some(&error), &key);
        assert!(!words.contains(key.expose()));
        assert!(!words.contains('\n'));
    }
}
