//! The Tusky API client: verification, access map and revocation (SPEC §7). Opt-in only: nothing
//! here runs unless the user asks with `--verify`, `verify` or `revoke`.

pub mod access;
pub mod audit;
pub mod client;
pub mod endpoint;
pub mod online;
pub mod probe;
pub mod revoke;
mod summary;
pub mod verify;

pub use client::{Client, ClientSettings};
pub use endpoint::{ApiBase, DEFAULT_API_URL};
pub use revoke::{ADMIN_KEY_ENV, DASHBOARD_URL};
