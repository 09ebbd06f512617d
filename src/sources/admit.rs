//! The one decision every source makes about a file or blob: read and scan it, or count and say
//! why not. The tree reader, the staged source, the pack reader and the libgit2 reader all call
//! it in the same order:
//!
//! 1. the size known **before** reading or inflating (file metadata, object header, pack entry
//!    header, delta header) against `--max-file-size` ([`Admission::check_size`]): nothing over
//!    it is read or inflated, and each skip is counted as `too-large` and named the same way;
//! 2. the bytes read, which never exceed the limit (a file that grew while it was read is caught
//!    by [`Admission::check_length`]);
//! 3. a git blob that is an LFS pointer holds no content (the file is stored elsewhere): counted
//!    as `lfs-pointer`, not scanned ([`Admission::check_blob`]). A working-tree file is scanned as
//!    it is, pointer or not ([`Admission::check_file`]): it is what the user has;
//! 4. what is scanned is counted in files and bytes.
//!
//! There is no binary policy: binary files and blobs are scanned whole (a key compiled into a
//! binary is still a key).

use crate::model::{ScanStats, SkipReason};

/// `--max-file-size` and the counters every skip goes to.
#[derive(Clone, Copy)]
pub struct Admission<'a> {
    max_file_size: u64,
    stats: &'a ScanStats,
}

impl<'a> Admission<'a> {
    pub fn new(max_file_size: u64, stats: &'a ScanStats) -> Self {
        Admission {
            max_file_size,
            stats,
        }
    }

    /// The limit, for readers that must stop at it (a bounded read, the pack reader, which never
    /// inflates an object its headers say is larger).
    pub fn max_file_size(&self) -> u64 {
        self.max_file_size
    }

    /// Whether something of `size` bytes may be read; counts nothing (for readers that decide
    /// before they know whether, or by what name, the blob will be reported).
    pub fn within_limit(&self, size: u64) -> bool {
        size <= self.max_file_size
    }

    /// Step 1: `size`, known before reading, is within the limit; or the skip is counted and
    /// said, naming it with `name` (a path; for a blob, `path (blob ID)`).
    pub fn check_size(&self, size: u64, name: impl FnOnce() -> String) -> bool {
        if self.within_limit(size) {
            return true;
        }
        self.skip_too_large(size, name);
        false
    }

    /// Step 1 decided ahead (by `within_limit`, or by the pack reader against `max_file_size`,
    /// before the blob had a name): counts and says the skip as `check_size` does.
    pub fn skip_too_large(&self, size: u64, name: impl FnOnce() -> String) {
        self.stats.skip(
            SkipReason::TooLarge,
            Some(format!(
                "{}: skipped, {size} bytes is over --max-file-size ({}); raise it to scan this file",
                name(),
                self.max_file_size
            )),
        );
    }

    /// Step 2: `length` bytes were read from a file whose size was within the limit; false (and
    /// counted, said) when the file grew over it while it was read.
    pub fn check_length(&self, length: u64, name: impl FnOnce() -> String) -> bool {
        if self.within_limit(length) {
            return true;
        }
        self.stats.skip(
            SkipReason::TooLarge,
            Some(format!(
                "{}: skipped, it grew over --max-file-size ({}) while it was read",
                name(),
                self.max_file_size
            )),
        );
        false
    }

    /// Steps 3 and 4 for a git blob: false (counted) for an LFS pointer; otherwise its bytes
    /// are counted as scanned.
    pub fn check_blob(&self, bytes: &[u8]) -> bool {
        if is_lfs_pointer(bytes) {
            self.skip_lfs_pointer();
            return false;
        }
        self.stats.scanned(bytes.len() as u64);
        true
    }

    /// Steps 3 and 4 for a working-tree file: scanned as it is, its bytes counted.
    pub fn check_file(&self, length: u64) {
        self.stats.scanned(length);
    }

    /// Step 3 decided ahead (the pack reader looks at the bytes before the blob has a name):
    /// counts an LFS pointer.
    pub fn skip_lfs_pointer(&self) {
        self.stats.skip(SkipReason::LfsPointer, None);
    }

    /// Step 4 decided ahead: counts a blob of `size` bytes the pack reader scanned.
    pub fn scanned_blob(&self, size: u64) {
        self.stats.scanned(size);
    }
}

/// Git LFS pointer files hold no content, only the id of a file stored elsewhere.
pub fn is_lfs_pointer(bytes: &[u8]) -> bool {
    const HEADER: &[u8] = b"version https://git-lfs.github.com/spec/v1";
    bytes.len() < 1024 && bytes.starts_with(HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Summary;

    fn summary(stats: &ScanStats) -> Summary {
        let mut summary = Summary::default();
        stats.fill(&mut summary);
        summary
    }

    /// Every source names a skipped file the same way, and the limit itself is within it.
    #[test]
    fn sizes_over_the_limit_are_counted_and_named_once() {
        let stats = ScanStats::default();
        let admission = Admission::new(100, &stats);
        assert!(admission.check_size(100, || unreachable!("not named when admitted")));
        assert!(!admission.check_size(101, || "a/b.txt (blob 1234)".to_owned()));
        assert!(!admission.check_length(150, || "grown.log".to_owned()));
        assert!(admission.check_length(99, || unreachable!()));
        let summary = summary(&stats);
        assert_eq!(summary.skipped.get(&SkipReason::TooLarge), Some(&2));
        assert_eq!(
            summary.warnings,
            [
                "a/b.txt (blob 1234): skipped, 101 bytes is over --max-file-size (100); raise it \
                 to scan this file",
                "grown.log: skipped, it grew over --max-file-size (100) while it was read",
            ]
        );
        assert_eq!(summary.files_scanned, 0);
    }

    /// A blob that is an LFS pointer is counted, not scanned; a working-tree file is scanned as
    /// it is.
    #[test]
    fn lfs_pointers_are_skipped_in_git_and_scanned_in_the_working_tree() {
        let pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n";
        assert!(is_lfs_pointer(pointer));
        assert!(!is_lfs_pointer(b"plain text"));
        let stats = ScanStats::default();
        let admission = Admission::new(u64::MAX, &stats);
        assert!(!admission.check_blob(pointer));
        assert!(admission.check_blob(b"plain text"));
        admission.check_file(pointer.len() as u64);
        let summary = summary(&stats);
        assert_eq!(summary.skipped.get(&SkipReason::LfsPointer), Some(&1));
        assert_eq!(summary.files_scanned, 2);
        assert_eq!(summary.bytes_scanned, (10 + pointer.len()) as u64);
        assert!(summary.warnings.is_empty());
    }
}
