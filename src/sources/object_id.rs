//! Object ids as plain bytes, and the map keyed by them that the history walk lives on.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use git2::Oid;

/// A SHA-1 object id. git2's `Oid` compares and converts through FFI calls that cannot be
/// inlined; the history walk makes one per tree entry, millions on a large repository.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub [u8; 20]);

impl ObjectId {
    /// None unless `bytes` is exactly 20 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<ObjectId> {
        bytes.try_into().ok().map(ObjectId)
    }

    pub fn to_oid(self) -> Oid {
        Oid::from_bytes(&self.0).unwrap_or(Oid::ZERO_SHA1)
    }
}

impl From<Oid> for ObjectId {
    fn from(oid: Oid) -> ObjectId {
        ObjectId::from_slice(oid.as_bytes()).unwrap_or(ObjectId([0; 20]))
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Object ids are already uniformly random: hashing their first 8 bytes is enough and far
/// cheaper than SipHash over millions of tree entries.
#[derive(Default)]
pub struct OidHasher(u64);

impl Hasher for OidHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
    }

    fn write_usize(&mut self, _length: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

pub type OidMap<V> = HashMap<ObjectId, V, BuildHasherDefault<OidHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_both_ways_and_prints_like_git() {
        let hex = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
        let oid = Oid::from_str(hex).unwrap();
        let id = ObjectId::from(oid);
        assert_eq!(id.to_string(), hex);
        assert_eq!(id.to_oid(), oid);
        assert!(ObjectId::from_slice(&[1, 2, 3]).is_none());
    }
}
