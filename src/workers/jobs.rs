//! What a worker does with each descriptor a source sends: the one sequence of
//! `sources::admit` (the size known before reading, the read, the LFS check, the counts), then
//! the scan. The sources list; these read and scan; the collector gathers.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use git2::Odb;

use crate::findings::{Occurrence, SkipReason};
use crate::model::ScanStats;
use crate::model::text::{display_path, raw_path, shown_path, slash_path};
use crate::scanner::{BlobScan, Scanner};
use crate::sources::admit::Admission;
use crate::sources::git::{BlobOrigin, read_blob_to_scan};
use crate::sources::history::{BlobHit, BlobJob, finish_scan};
use crate::sources::staged::StagedBlob;

/// Bytes read before a file's size is asked for (see `scan_file`).
const FIRST_READ: u64 = 64 * 1024;

/// Reads and scans one file, counting it as scanned or skipped (`admission` decides, in its
/// order). Returns occurrences, if any. `stable` gives the path relative to the repository root,
/// which lint fingerprints hash.
pub fn scan_file<'a>(
    path: &Path,
    relative_root: Option<&Path>,
    stable: &dyn Fn() -> Option<&'a Path>,
    admission: Admission,
    scanner: &Scanner,
    stats: &ScanStats,
    buffer: &mut Vec<u8>,
) -> Option<Vec<Occurrence>> {
    // Built only for a message or a finding: most files need no name at all.
    let shown = || display_path(path, relative_root);
    let unreadable = |err: std::io::Error| {
        stats.skip(
            SkipReason::Unreadable,
            Some(format!(
                "{}: cannot read ({err}); skipped, the scan went on",
                shown()
            )),
        );
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) => {
            unreadable(err);
            return None;
        }
    };
    // Most files fit in the first read, and a file that ends inside it is within any limit
    // that large, so only a file that fills it costs a stat: the limit is still checked before
    // more than FIRST_READ bytes are read (a stat per file was 3% of a tree scan's CPU).
    let max_file_size = admission.max_file_size();
    let first_read = FIRST_READ.min(max_file_size.saturating_add(1));
    buffer.clear();
    if let Err(err) = (&mut file).take(first_read).read_to_end(buffer) {
        unreadable(err);
        return None;
    }
    if buffer.len() as u64 == first_read {
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if !admission.check_size(size, shown) {
            return None;
        }
        // `take` bounds the read even if the file grows while we read it.
        let rest = max_file_size.saturating_add(1) - first_read;
        if let Err(err) = (&mut file).take(rest).read_to_end(buffer) {
            unreadable(err);
            return None;
        }
    }
    if !admission.check_length(buffer.len() as u64, shown) {
        return None;
    }
    admission.check_file(buffer.len() as u64);
    let mut result = scanner.scan_named_blob(buffer, || {
        let shown = shown();
        let stable = stable().map_or_else(|| shown.clone(), slash_path);
        (shown, stable)
    });
    stats.suppressed(result.inline_suppressed, result.config_suppressed);
    if result.occurrences.is_empty() {
        return None;
    }
    if let Some(raw) = raw_path(shown_path(path, relative_root)) {
        for occurrence in &mut result.occurrences {
            occurrence.location.raw_path = Some(raw.clone());
        }
    }
    Some(result.occurrences)
}

/// Reads and scans one staged blob (`odb` is the worker's own handle on the repository).
pub fn scan_staged_blob(
    odb: &Odb<'_>,
    entry: &StagedBlob,
    admission: Admission,
    scanner: &Scanner,
    stats: &ScanStats,
) -> Vec<Occurrence> {
    let origin = BlobOrigin::Staged { path: &entry.path };
    let allow_listed = scanner.path_allowed(Path::new(&entry.path), false);
    let Some(object) = read_blob_to_scan(odb, entry.blob, origin, admission, allow_listed, stats)
    else {
        return Vec::new();
    };
    let result = scanner.scan_blob(&entry.path, object.data());
    stats.suppressed(result.inline_suppressed, result.config_suppressed);
    result.occurrences
}

/// Reads and scans one blob the history audit listed (`odb` is the worker's own handle), or
/// finishes one the pack reader scanned already: its bytes hinted at a key-creation request, so
/// it is read again for the lints that read a file the way its path says.
pub fn scan_history_blob(
    odb: &Odb<'_>,
    mut job: BlobJob,
    admission: Admission,
    scanner: &Scanner,
    stats: &ScanStats,
) -> Option<BlobHit> {
    if let Some(mut scan) = job.secrets_found.take() {
        match odb.read(job.blob) {
            Ok(object) => scanner.add_path_lints(&job.path, object.data(), &mut scan),
            // The secrets found are still reported.
            Err(err) => stats.damaged(format!(
                "{} (blob {}): cannot be read again for the scope lints ({})",
                job.path,
                job.blob,
                err.message()
            )),
        }
        return finish_scan(job.blob, scan, stats);
    }
    let origin = BlobOrigin::History { path: &job.path };
    let object = read_blob_to_scan(odb, job.blob, origin, admission, false, stats)?;
    finish_scan(job.blob, scanner.scan_blob(&job.path, object.data()), stats)
}

/// Scans the bytes of a blob the pack reader rebuilt, before the walk names it: its secrets
/// (located at no path yet), and whether the path-dependent lints must read it again.
pub fn scan_packed_blob(bytes: &[u8], scanner: &Scanner) -> (BlobScan, bool) {
    (
        scanner.scan_secrets("", bytes),
        Scanner::may_need_path_lints(bytes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Summary;

    /// Permissions cannot make a file unreadable for root (CI runs as root), but reading a
    /// directory as a file fails the same way on every machine.
    #[test]
    fn unreadable_input_is_counted_and_named() {
        let dir = std::env::temp_dir();
        let scanner = Scanner::builtin().unwrap();
        let stats = ScanStats::default();
        let mut buffer = Vec::new();
        assert!(
            scan_file(
                &dir,
                None,
                &|| None,
                Admission::new(u64::MAX, &stats),
                &scanner,
                &stats,
                &mut buffer
            )
            .is_none()
        );
        let mut summary = Summary::default();
        stats.fill(&mut summary);
        assert_eq!(summary.skipped.get(&SkipReason::Unreadable), Some(&1));
        assert!(
            summary.warnings[0].contains("cannot read"),
            "{:?}",
            summary.warnings
        );
        assert_eq!(summary.files_scanned, 0);
    }

    /// The size is asked for only when the first read fills up, yet every limit holds: a key
    /// past the first read is found, a file over the limit is skipped with its exact size, and
    /// a file of exactly the limit is scanned.
    #[test]
    fn limits_hold_around_the_first_read() {
        let dir = assert_fs::TempDir::new().unwrap();
        let key = crate::test_support::live_key(7);
        let mut big = vec![b'a'; FIRST_READ as usize + 1000];
        big.extend_from_slice(format!("\nk = \"{key}\"\n").as_bytes());
        let big_path = dir.path().join("big.txt");
        std::fs::write(&big_path, &big).unwrap();
        let small_path = dir.path().join("small.txt");
        std::fs::write(&small_path, vec![b'b'; 100]).unwrap();
        let scanner = Scanner::builtin().unwrap();
        let run = |path: &Path, max: u64| {
            let stats = ScanStats::default();
            let mut buffer = Vec::new();
            let admission = Admission::new(max, &stats);
            let found = scan_file(
                path,
                None,
                &|| None,
                admission,
                &scanner,
                &stats,
                &mut buffer,
            );
            let mut summary = Summary::default();
            stats.fill(&mut summary);
            (found.map_or(0, |f| f.len()), summary)
        };
        let (found, summary) = run(&big_path, u64::MAX);
        assert_eq!(found, 1, "{summary:?}");
        assert_eq!(summary.bytes_scanned, big.len() as u64);
        let (found, summary) = run(&big_path, big.len() as u64 - 1);
        assert_eq!(found, 0);
        assert_eq!(summary.skipped.get(&SkipReason::TooLarge), Some(&1));
        assert!(
            summary.warnings[0].contains(&format!("{} bytes is over", big.len())),
            "{:?}",
            summary.warnings
        );
        let (_, summary) = run(&big_path, big.len() as u64);
        assert_eq!(summary.bytes_scanned, big.len() as u64);
        for max in [99, 100] {
            let (_, summary) = run(&small_path, max);
            let skipped = summary.skipped.get(&SkipReason::TooLarge).copied();
            assert_eq!(skipped, (max < 100).then_some(1), "max {max}: {summary:?}");
        }
    }
}
