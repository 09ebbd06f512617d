//! Fake keys for tests, built at run time from a seed so that no key-shaped literal sits in the
//! repository (it must scan itself clean, history included). The one generator for both the unit
//! tests (`crate::test_support`) and the integration tests, which include this file by path.

/// The alphabet of Tusky key bodies.
pub const BASE62: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A random-looking string over `alphabet`, deterministic per seed (xorshift).
pub fn random_from(seed: u64, len: usize, alphabet: &[u8]) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            alphabet[(state % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

/// A random-looking base62 string, deterministic per seed.
pub fn random_body(seed: u64, len: usize) -> String {
    random_from(seed, len, BASE62)
}

/// A fake production key: `tsk_live_` + 32 random base62 characters.
pub fn live_key(seed: u64) -> String {
    format!("tsk_{}_{}", "live", random_body(seed, 32))
}

/// A fake testnet key.
pub fn test_key(seed: u64) -> String {
    format!("tsk_{}_{}", "test", random_body(seed, 32))
}

/// A fake legacy (UUID-shaped) key.
pub fn legacy_key(seed: u64) -> String {
    let hex: String = random_body(seed, 64)
        .bytes()
        .map(|b| char::from(b"0123456789abcdef"[(b % 16) as usize]))
        .take(32)
        .collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}
