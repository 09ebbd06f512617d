//! The Tusky API client: verification and revocation.
