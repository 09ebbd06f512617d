//! Keeps the resident part of a mapped pack within a budget.
//!
//! Every page of a mapping that the process has touched counts in its RSS until it is unmapped,
//! so reading a 500 MiB pack once costs 500 MiB of RSS although each entry is read once and
//! never again. The reader marks the 64 KiB chunks it touches (the kernel maps pages around a
//! fault in blocks of that size); once the marked chunks exceed the limit, the whole mapping is
//! released with `madvise(MADV_DONTNEED)` and the marks cleared. The file's pages stay in the
//! page cache: a later read of a released page costs a minor fault, not a disk read.

use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::Mmap;

/// The kernel's fault-around block (`fault_around_bytes`, 64 KiB by default).
const CHUNK: u64 = 64 << 10;

/// What opening a pack (reading every entry header once, in order) may keep resident.
pub const OPENING_WINDOW: u64 = 16 << 20;

pub struct PageWindow {
    /// One bit per chunk of the mapping: touched since the last release.
    touched: Vec<AtomicU64>,
    /// Bytes of the chunks marked in `touched`.
    resident: AtomicU64,
    limit: AtomicU64,
    releases: AtomicU64,
}

impl PageWindow {
    pub fn new(len: u64, limit: u64) -> PageWindow {
        let chunks = len.div_ceil(CHUNK);
        PageWindow {
            touched: (0..chunks.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            resident: AtomicU64::new(0),
            limit: AtomicU64::new(limit),
            releases: AtomicU64::new(0),
        }
    }

    pub fn set_limit(&self, limit: u64) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// How many times the mapping was released.
    #[cfg(test)]
    pub fn releases(&self) -> u64 {
        self.releases.load(Ordering::Relaxed)
    }

    /// Notes that bytes `start..end` of `map` are about to be read, and releases the mapping
    /// first if that would take it over the limit.
    pub fn touch(&self, map: &Mmap, start: u64, end: u64) {
        let end = end.min(map.len() as u64);
        if start >= end {
            return;
        }
        let (added, resident) = self.mark(start, end);
        if added > 0 && resident > self.limit.load(Ordering::Relaxed) {
            self.release(map);
            // The range about to be read is resident again right away (even past a limit
            // smaller than the range itself).
            self.mark(start, end);
        }
    }

    /// Marks the chunks of `start..end`; returns the bytes newly marked and the resident bytes
    /// after it.
    fn mark(&self, start: u64, end: u64) -> (u64, u64) {
        let mut added = 0;
        for chunk in start / CHUNK..=(end - 1) / CHUNK {
            let (word, bit) = ((chunk / 64) as usize, 1u64 << (chunk % 64));
            let Some(word) = self.touched.get(word) else {
                break;
            };
            if word.fetch_or(bit, Ordering::Relaxed) & bit == 0 {
                added += CHUNK;
            }
        }
        (
            added,
            self.resident.fetch_add(added, Ordering::Relaxed) + added,
        )
    }

    /// Releases every page of `map` that we made resident.
    pub fn release(&self, map: &Mmap) {
        // One thread releases; the others go on reading (a released page refaults, from the
        // page cache).
        if self.resident.swap(0, Ordering::Relaxed) == 0 {
            return;
        }
        for word in &self.touched {
            word.store(0, Ordering::Relaxed);
        }
        self.releases.fetch_add(1, Ordering::Relaxed);
        release_pages(map);
    }
}

/// Drops `map`'s resident pages from the process.
pub fn release_pages(map: &Mmap) {
    #[cfg(unix)]
    // Safety: `map` is a shared, read-only mapping of a file nobody writes (git writes new
    // packs under new names), so dropping its pages loses nothing: the next access maps the
    // same file bytes again. Slices borrowed from it stay valid and read the same contents.
    unsafe {
        let _ = map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed);
    }
    #[cfg(not(unix))]
    let _ = map;
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    #[cfg(unix)]
    fn the_mapping_is_released_once_the_limit_is_passed() {
        let mut file = tempfile_in_target();
        file.write_all(&vec![7u8; (CHUNK * 10) as usize]).unwrap();
        let map = unsafe { Mmap::map(&file) }.unwrap();
        let window = PageWindow::new(map.len() as u64, 3 * CHUNK);
        // Three chunks fit; touching them again costs nothing.
        for chunk in 0..3 {
            window.touch(&map, chunk * CHUNK, chunk * CHUNK + 10);
        }
        window.touch(&map, 0, 3 * CHUNK);
        assert_eq!(window.releases(), 0);
        // A fourth is one too many: released, and only the range being read is marked.
        window.touch(&map, 5 * CHUNK + 1, 5 * CHUNK + 2);
        assert_eq!(window.releases(), 1);
        assert_eq!(window.resident.load(Ordering::Relaxed), CHUNK);
        // The bytes read the same after a release.
        assert!(map.iter().all(|byte| *byte == 7));
        // Ranges past the end of the mapping are clamped.
        window.touch(&map, 10 * CHUNK - 1, 20 * CHUNK);
        // A limit of nothing releases before every new chunk, and still reads.
        let tight = PageWindow::new(map.len() as u64, 0);
        tight.touch(&map, 0, 2 * CHUNK);
        tight.touch(&map, 4 * CHUNK, 4 * CHUNK + 1);
        assert_eq!(tight.releases(), 2);
    }

    fn tempfile_in_target() -> std::fs::File {
        let dir = assert_fs::TempDir::new().unwrap();
        let path = dir.path().join("pack");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        // Unlinked now; the open file lives on (Unix) until dropped.
        drop(dir);
        file
    }
}
