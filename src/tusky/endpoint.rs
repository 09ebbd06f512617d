//! The API base URL, validated once. It comes only from `--api-url` / `TUSKY_API_URL` (SPEC §7):
//! whoever controls it receives every key we check, so plain `http://` is accepted only for
//! loopback hosts, and credentials, queries and fragments are refused.

use std::fmt;
use std::net::IpAddr;

use anyhow::{Result, bail};

pub const DEFAULT_API_URL: &str = "https://api.tusky.io";

/// A validated base URL without a trailing slash, e.g. `https://api.tusky.io`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiBase(String);

impl ApiBase {
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => bail!("--api-url '{text}': expected https://HOST[:PORT][/PATH]"),
        };
        if scheme != "https" && scheme != "http" {
            bail!("--api-url '{text}': only https:// (or http:// for loopback) is supported");
        }
        if rest.contains(['?', '#']) {
            bail!("--api-url '{text}': must not carry a query or fragment");
        }
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.contains('@') {
            bail!("--api-url must not contain credentials (user:password@); keys go in headers");
        }
        let host = host_of(authority);
        if host.is_empty() {
            bail!("--api-url '{text}': no host");
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            bail!("--api-url '{text}': invalid host");
        }
        if scheme == "http" && !is_loopback(host) {
            bail!(
                "--api-url '{text}': plain http:// is allowed only for loopback hosts \
                 (127.0.0.1, ::1, localhost); use https:// so keys are not sent in clear text"
            );
        }
        Ok(ApiBase(format!(
            "{scheme}://{}",
            rest.trim_end_matches('/')
        )))
    }

    /// The full URL of an API path such as `/v2/account/usage`. Paths never contain a key.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ApiBase {
    fn default() -> Self {
        ApiBase(DEFAULT_API_URL.to_owned())
    }
}

impl fmt::Display for ApiBase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The host of `host[:port]` or `[v6]:port`.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(ApiBase::parse("https://api.tusky.io").is_ok());
        assert!(ApiBase::parse("https://api.example.com:8443/base/").is_ok());
        assert!(ApiBase::parse("http://127.0.0.1:4000").is_ok());
        assert!(ApiBase::parse("http://127.8.9.10").is_ok());
        assert!(ApiBase::parse("http://[::1]:9000").is_ok());
        assert!(ApiBase::parse("http://localhost:1234").is_ok());
        assert!(ApiBase::parse("http://api.tusky.io").is_err());
        assert!(ApiBase::parse("http://10.0.0.1").is_err());
        assert!(ApiBase::parse("http://127.0.0.1.evil.example").is_err());
        assert!(ApiBase::parse("http://localhost.evil.example").is_err());
    }

    #[test]
    fn rejects_odd_urls() {
        assert!(ApiBase::parse("api.tusky.io").is_err());
        assert!(ApiBase::parse("ftp://api.tusky.io").is_err());
        assert!(ApiBase::parse("https://user:pw@api.tusky.io").is_err());
        assert!(ApiBase::parse("https://api.tusky.io/?x=1").is_err());
        assert!(ApiBase::parse("https://").is_err());
    }

    #[test]
    fn joins_without_double_slash() {
        let base = ApiBase::parse("https://api.tusky.io/").unwrap();
        assert_eq!(
            base.join("/v2/account/usage"),
            "https://api.tusky.io/v2/account/usage"
        );
    }
}
