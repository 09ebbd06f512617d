//! Pack index files (`.idx`, version 2): the sorted object ids of a pack and where each starts.

use memmap2::Mmap;

/// SHA-1 object ids; a SHA-256 repository's index does not add up and is not used.
pub const OID_LEN: usize = 20;
const MAGIC: &[u8; 4] = b"\xfftOc";
const HEADER: usize = 8;
const FANOUT: usize = 256 * 4;
const TRAILER: usize = 2 * OID_LEN;

pub struct PackIndex {
    map: Mmap,
    count: usize,
}

impl PackIndex {
    /// Checks the layout once, so that every later read is in bounds. None for anything but a
    /// well-formed version 2 index (version 1 is pre-2008; those packs are read through libgit2).
    pub fn parse(map: Mmap) -> Option<PackIndex> {
        if map.len() < HEADER + FANOUT + TRAILER || &map[..4] != MAGIC {
            return None;
        }
        if u32::from_be_bytes(map[4..8].try_into().ok()?) != 2 {
            return None;
        }
        let mut previous = 0;
        for bucket in 0..256 {
            let at = HEADER + bucket * 4;
            let value = u32::from_be_bytes(map[at..at + 4].try_into().ok()?);
            if value < previous {
                return None;
            }
            previous = value;
        }
        let count = previous as usize;
        let fixed = HEADER + FANOUT + count.checked_mul(OID_LEN + 4 + 4)? + TRAILER;
        // Whatever follows the 32-bit offsets is the table of 64-bit ones.
        if map.len() < fixed || !(map.len() - fixed).is_multiple_of(8) {
            return None;
        }
        Some(PackIndex { map, count })
    }

    /// Drops the pages read so far (opening reads the whole offset table) from the process.
    pub fn release_pages(&self) {
        super::pages::release_pages(&self.map);
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn oid(&self, position: usize) -> &[u8] {
        let at = HEADER + FANOUT + position * OID_LEN;
        &self.map[at..at + OID_LEN]
    }

    /// Where the object at `position` starts in the pack; None when the index points outside
    /// its own table of large offsets.
    pub fn offset(&self, position: usize) -> Option<u64> {
        let table = HEADER + FANOUT + self.count * (OID_LEN + 4);
        let at = table + position * 4;
        let small = u32::from_be_bytes(self.map[at..at + 4].try_into().ok()?);
        if small & 0x8000_0000 == 0 {
            return Some(u64::from(small));
        }
        let large = table + self.count * 4 + (small & 0x7fff_ffff) as usize * 8;
        let bytes = self.map.get(large..large + 8)?;
        // The large-offset table ends before the trailer.
        if large + 8 > self.map.len() - TRAILER {
            return None;
        }
        Some(u64::from_be_bytes(bytes.try_into().ok()?))
    }

    /// The position of `oid`, by the fan-out table and a binary search.
    pub fn find(&self, oid: &[u8]) -> Option<usize> {
        let first = *oid.first()? as usize;
        let bucket_end = |bucket: usize| -> usize {
            let at = HEADER + bucket * 4;
            u32::from_be_bytes([
                self.map[at],
                self.map[at + 1],
                self.map[at + 2],
                self.map[at + 3],
            ]) as usize
        };
        let (mut low, mut high) = (
            if first == 0 { 0 } else { bucket_end(first - 1) },
            bucket_end(first),
        );
        while low < high {
            let middle = (low + high) / 2;
            match self.oid(middle).cmp(oid) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }
}
