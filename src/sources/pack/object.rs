//! One packed object: its header, its zlib stream, and git's delta format.

use libdeflater::Decompressor;

use super::index::OID_LEN;

/// The kinds an entry of a pack can have (the numbers are the pack format's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Commit,
    Tree,
    Blob,
    Tag,
    /// A delta against the object that starts at this pack offset.
    OffsetDelta(u64),
    /// A delta against the object with this id.
    RefDelta([u8; OID_LEN]),
}

pub struct EntryHeader {
    pub kind: EntryKind,
    /// Inflated size (of the delta itself for delta entries).
    pub size: u64,
    /// Where the zlib stream starts.
    pub data_start: usize,
}

/// Parses the entry header at `offset`: type and size in a varint, then the delta base.
pub fn parse_header(pack: &[u8], offset: usize) -> Option<EntryHeader> {
    let mut at = offset;
    let mut byte = *pack.get(at)?;
    at += 1;
    let type_bits = (byte >> 4) & 0b111;
    let mut size = u64::from(byte & 0x0f);
    let mut shift = 4;
    while byte & 0x80 != 0 {
        byte = *pack.get(at)?;
        at += 1;
        if shift > 57 {
            return None;
        }
        size |= u64::from(byte & 0x7f) << shift;
        shift += 7;
    }
    let kind = match type_bits {
        1 => EntryKind::Commit,
        2 => EntryKind::Tree,
        3 => EntryKind::Blob,
        4 => EntryKind::Tag,
        6 => {
            // A big-endian base-128 number where each continuation also adds one.
            let mut byte = *pack.get(at)?;
            at += 1;
            let mut distance = u64::from(byte & 0x7f);
            while byte & 0x80 != 0 {
                byte = *pack.get(at)?;
                at += 1;
                distance = distance.checked_add(1)?.checked_mul(128)? | u64::from(byte & 0x7f);
            }
            EntryKind::OffsetDelta(
                (offset as u64)
                    .checked_sub(distance)
                    .filter(|_| distance > 0)?,
            )
        }
        7 => {
            let base = pack.get(at..at + OID_LEN)?.try_into().ok()?;
            at += OID_LEN;
            EntryKind::RefDelta(base)
        }
        _ => return None,
    };
    Some(EntryHeader {
        kind,
        size,
        data_start: at,
    })
}

/// zlib never expands data by more than about 1032:1, so a size a header claims beyond that is
/// a lie and must not decide how much memory we reserve.
const MAX_INFLATE_RATIO: u64 = 1032;

/// Inflates a zlib stream that must produce exactly `size` bytes.
pub fn inflate(inflater: &mut Decompressor, input: &[u8], size: u64) -> Option<Vec<u8>> {
    let bound = (input.len() as u64)
        .saturating_mul(MAX_INFLATE_RATIO)
        .saturating_add(64);
    if size > bound || size > isize::MAX as u64 {
        return None;
    }
    let mut out = vec![0u8; size as usize];
    // libdeflate checks the adler32 trailer and refuses output longer than the buffer.
    let written = inflater.zlib_decompress(input, &mut out).ok()?;
    (written == out.len()).then_some(out)
}

/// Reads a delta's size varint (little-endian base-128).
fn delta_size(delta: &[u8], at: &mut usize) -> Option<u64> {
    let mut size = 0u64;
    let mut shift = 0;
    loop {
        let byte = *delta.get(*at)?;
        *at += 1;
        if shift > 63 {
            return None;
        }
        size |= u64::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            return Some(size);
        }
    }
}

/// The two size varints that open a delta take at most this many bytes.
pub const MAX_DELTA_HEADER: u64 = 20;

/// The size of the object a delta builds (its second varint), read before anything is built.
pub fn delta_target_size(delta: &[u8]) -> Option<u64> {
    let mut at = 0;
    delta_size(delta, &mut at)?;
    delta_size(delta, &mut at)
}

/// Rebuilds an object from its base and a git delta (copy-from-base and insert instructions).
pub fn apply_delta(base: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    let mut at = 0;
    if delta_size(delta, &mut at)? != base.len() as u64 {
        return None;
    }
    let target = delta_size(delta, &mut at)?;
    // Each instruction byte yields at most 64 KiB (copy) or 127 bytes (insert).
    if target > (delta.len() as u64).saturating_mul(0x10000) {
        return None;
    }
    let target = target as usize;
    let mut out = Vec::with_capacity(target);
    while at < delta.len() {
        let op = delta[at];
        at += 1;
        if op & 0x80 != 0 {
            let mut offset = 0usize;
            let mut length = 0usize;
            for bit in 0..4 {
                if op & (1 << bit) != 0 {
                    offset |= usize::from(*delta.get(at)?) << (8 * bit);
                    at += 1;
                }
            }
            for bit in 0..3 {
                if op & (0x10 << bit) != 0 {
                    length |= usize::from(*delta.get(at)?) << (8 * bit);
                    at += 1;
                }
            }
            if length == 0 {
                length = 0x10000;
            }
            let source = base.get(offset..offset.checked_add(length)?)?;
            if out.len() + length > target {
                return None;
            }
            out.extend_from_slice(source);
        } else if op != 0 {
            let length = usize::from(op);
            let literal = delta.get(at..at + length)?;
            at += length;
            if out.len() + length > target {
                return None;
            }
            out.extend_from_slice(literal);
        } else {
            // Instruction 0 is reserved by the format.
            return None;
        }
    }
    (out.len() == target).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use libdeflater::{CompressionLvl, Compressor};

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut compressor = Compressor::new(CompressionLvl::default());
        let mut out = vec![0; compressor.zlib_compress_bound(data.len())];
        let written = compressor.zlib_compress(data, &mut out).unwrap();
        out.truncate(written);
        out
    }

    #[test]
    fn inflates_exactly_the_declared_size() {
        let data = b"hello hello hello hello".repeat(100);
        let packed = deflate(&data);
        let mut inflater = Decompressor::new();
        assert_eq!(
            inflate(&mut inflater, &packed, data.len() as u64).unwrap(),
            data
        );
        // The inflater is reused between objects.
        assert_eq!(
            inflate(&mut inflater, &packed, data.len() as u64).unwrap(),
            data
        );
        assert!(inflate(&mut inflater, &packed, data.len() as u64 - 1).is_none());
        assert!(inflate(&mut inflater, &packed, data.len() as u64 + 1).is_none());
        assert!(
            inflate(
                &mut inflater,
                &packed[..packed.len() / 2],
                data.len() as u64
            )
            .is_none()
        );
        assert!(inflate(&mut inflater, &packed, u64::MAX).is_none());
        assert!(inflate(&mut inflater, b"not zlib at all", 10).is_none());
    }

    #[test]
    fn deltas_copy_and_insert() {
        let base = b"0123456789abcdef";
        // source 16, target 9: copy 4 bytes at offset 10, insert "xyz", copy 2 bytes at 0.
        let delta = [16, 9, 0x91, 10, 4, 3, b'x', b'y', b'z', 0x90, 2];
        assert_eq!(apply_delta(base, &delta).unwrap(), b"abcdxyz01");
        // Wrong base size, copy out of range, reserved instruction, short target.
        assert!(apply_delta(b"short", &delta).is_none());
        assert!(apply_delta(base, &[16, 4, 0x91, 15, 4]).is_none());
        assert!(apply_delta(base, &[16, 1, 0]).is_none());
        assert!(apply_delta(base, &[16, 5, 1, b'a']).is_none());
        assert!(apply_delta(base, &[16, 0x80]).is_none());
    }

    #[test]
    fn headers_name_kind_size_and_base() {
        // Blob of 300 bytes: type 3, size 300 = 0b1_0010_1100 → 0xbc, 0x12.
        let header = parse_header(&[0xbc, 0x12, 0x78], 0).unwrap();
        assert_eq!(
            (header.kind, header.size, header.data_start),
            (EntryKind::Blob, 300, 2)
        );
        // Offset delta at 1000, distance 1 (no continuation).
        let mut pack = vec![0u8; 1000];
        pack.extend_from_slice(&[0x65, 0x01, 0x78]);
        let header = parse_header(&pack, 1000).unwrap();
        assert_eq!(header.kind, EntryKind::OffsetDelta(999));
        // Distance 0 or past the start of the pack is corrupt; type 5 does not exist.
        assert!(parse_header(&[0x65, 0x00], 0).is_none());
        assert!(parse_header(&[0x65, 0x05], 0).is_none());
        assert!(parse_header(&[0x55, 0x00], 0).is_none());
        assert!(parse_header(&[0xff, 0xff], 0).is_none());
        let mut ref_delta = vec![0x75];
        ref_delta.extend_from_slice(&[7u8; 20]);
        assert_eq!(
            parse_header(&ref_delta, 0).unwrap().kind,
            EntryKind::RefDelta([7u8; 20])
        );
    }
}
