//! Reading a config, ignore file, baseline or report with a size limit: `--config /dev/zero` or an
//! endless stdin must be an error naming the input, not an out-of-memory kill.

use std::io::{self, Read};
use std::path::Path;

/// Config and ignore files: far larger than any real one.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;
/// Reports and baselines: a report of 150,000 findings is about 130 MB.
pub const MAX_REPORT_BYTES: u64 = 1 << 30;

/// Reads all of `reader` as UTF-8, failing once it passes `limit` bytes.
pub fn read_limited(reader: impl Read, limit: u64) -> io::Result<String> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB: not a file tuskguard wrote or reads",
                limit >> 20
            ),
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// [`read_limited`] on a file.
pub fn read_file_limited(path: &Path, limit: u64) -> io::Result<String> {
    read_limited(std::fs::File::open(path)?, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_past_the_limit() {
        assert_eq!(read_limited(&b"abc"[..], 3).unwrap(), "abc");
        let err = read_limited(io::repeat(0), 1 << 20).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("larger than 1 MiB"), "{err}");
        assert!(read_limited(&b"\xff"[..], 3).is_err());
    }
}
