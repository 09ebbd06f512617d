//! The access map (SPEC §7): which documented read endpoints a live key can reach, and so which
//! scopes it evidently holds. GET only: a write scope can not be observed without a write call,
//! and tuskguard never makes one to find out.

use super::client::{AuthStyle, Client};
use super::probe::{LIVENESS_PATH, parse_error_body};
use crate::findings::SecretValue;

/// The label for a key that can list API keys: it acts as the account owner.
pub const ADMIN: &str = "admin";

/// (scope the endpoint needs, read-only endpoint). `environments` (generation 1) and `volumes`
/// (generation 2) are both probed; the one the API does not know answers 404 and is left out.
pub const ACCESS_PROBES: &[(&str, &str)] = &[
    ("account:read", LIVENESS_PATH),
    ("environments:read", "/v2/environments?limit=1"),
    ("volumes:read", "/v2/volumes?limit=1"),
    ("files:read", "/v2/files?limit=1"),
    ("members:read", "/v2/members?limit=1"),
    ("aggregators:read", "/v2/aggregators?limit=1"),
    ("publisher:read", "/v2/publisher?limit=1"),
    (ADMIN, "/v2/api-keys?limit=1"),
];

/// What the probes showed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessMap {
    /// Scopes evidently held; `admin` first when the key can list API keys.
    pub scopes: Vec<String>,
    /// Endpoints that gave no clear answer, with why.
    pub unclear: Vec<String>,
}

/// `liveness_status` is the status the liveness probe already got for `account:read`.
pub fn map_access(
    client: &Client,
    key: &SecretValue,
    style: AuthStyle,
    liveness_status: Option<u16>,
) -> AccessMap {
    let mut map = AccessMap::default();
    let mut admin = false;
    for (scope, path) in ACCESS_PROBES {
        let status = if *path == LIVENESS_PATH && liveness_status.is_some() {
            liveness_status
        } else {
            match client.get(path, key, style) {
                Ok(response) => match response.status {
                    200 | 404 => Some(response.status),
                    403 if parse_error_body(&response.body).is_some() => Some(403),
                    other => {
                        map.unclear
                            .push(format!("{}: HTTP {other}", endpoint_name(path)));
                        None
                    }
                },
                Err(err) => {
                    map.unclear.push(format!("{}: {err}", endpoint_name(path)));
                    None
                }
            }
        };
        if status == Some(200) {
            if *scope == ADMIN {
                admin = true;
            } else {
                map.scopes.push((*scope).to_owned());
            }
        }
    }
    if admin {
        map.scopes.insert(0, ADMIN.to_owned());
    }
    map
}

fn endpoint_name(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}
