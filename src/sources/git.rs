//! Small git helpers shared by the staged and history sources, and the libgit2 form of the one
//! read sequence (`sources::admit`): header (size) → size limit → allow-list → read → LFS pointer
//! check.

use git2::{Odb, OdbObject, Oid};

use super::admit::Admission;
use crate::model::{CommitRef, ScanStats, SkipReason};
use crate::time::rfc3339_utc;

/// Where a blob came from, which decides how a skipped blob is named in the warnings.
#[derive(Clone, Copy, Debug)]
pub enum BlobOrigin<'a> {
    /// A blob of the audited history, at the first path it was seen under.
    History { path: &'a str },
    /// A staged blob (`scan --staged`): the file the next commit adds.
    Staged { path: &'a str },
}

impl BlobOrigin<'_> {
    fn unreadable(self, blob: Oid, err: &git2::Error) -> String {
        match self {
            BlobOrigin::History { path } => format!(
                "{path} (blob {blob}): cannot be read ({}); skipped, the audit went on",
                err.message()
            ),
            BlobOrigin::Staged { path } => format!(
                "{path}: the staged blob {blob} cannot be read ({}); skipped",
                err.message()
            ),
        }
    }

    /// How a skip names the blob: by path, and in history by id too (one path of many).
    pub fn name(self, blob: impl std::fmt::Display) -> String {
        match self {
            BlobOrigin::History { path } => format!("{path} (blob {blob})"),
            BlobOrigin::Staged { path } => path.to_owned(),
        }
    }
}

/// Reads a blob to scan it, in `Admission`'s order: the size from the object header first (nothing
/// is inflated for a blob over the limit), then the config allow-list (`allow_listed`), the read,
/// and the LFS pointer check. `None` when the blob is not to be scanned; every such case is
/// counted in `stats`, and said when it is a problem.
pub fn read_blob_to_scan<'o>(
    odb: &'o Odb<'_>,
    blob: Oid,
    origin: BlobOrigin<'_>,
    admission: Admission<'_>,
    allow_listed: bool,
    stats: &ScanStats,
) -> Option<OdbObject<'o>> {
    let unreadable = |err: git2::Error| {
        stats.damaged(origin.unreadable(blob, &err));
    };
    let size = match odb.read_header(blob) {
        Ok((size, _)) => size as u64,
        Err(err) => {
            unreadable(err);
            return None;
        }
    };
    if !admission.check_size(size, || origin.name(blob)) {
        return None;
    }
    if allow_listed {
        stats.skip(SkipReason::ConfigAllowed, None);
        return None;
    }
    let object = match odb.read(blob) {
        Ok(object) => object,
        Err(err) => {
            unreadable(err);
            return None;
        }
    };
    admission.check_blob(object.data()).then_some(object)
}

/// A commit as reports show it.
pub fn commit_ref(commit: &git2::Commit<'_>) -> CommitRef {
    let author = commit.author();
    CommitRef {
        id: commit.id().to_string(),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        time: rfc3339_utc(author.when().seconds()),
        summary: commit
            .summary_bytes()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
        at_or_before: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use assert_fs::TempDir;
    use git2::Repository;

    /// A repository holding one blob per content given; returns their ids.
    fn blobs(contents: &[&[u8]]) -> (TempDir, Repository, Vec<Oid>) {
        let dir = TempDir::new().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let ids = contents.iter().map(|c| repo.blob(c).unwrap()).collect();
        (dir, repo, ids)
    }

    #[test]
    fn every_limit_is_applied_before_the_blob_is_read() {
        let lfs = b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n";
        let (_dir, repo, ids) = blobs(&[b"small", &[b'x'; 100], lfs]);
        let odb = repo.odb().unwrap();
        let stats = ScanStats::default();
        let origin = BlobOrigin::Staged { path: "a.txt" };
        let admission = Admission::new(80, &stats);
        let read =
            |id, allow_listed| read_blob_to_scan(&odb, id, origin, admission, allow_listed, &stats);
        assert_eq!(read(ids[0], false).unwrap().data(), b"small");
        assert!(read(ids[1], false).is_none(), "over the limit");
        assert!(read(ids[0], true).is_none(), "allow-listed");
        assert!(read(ids[2], false).is_none(), "LFS pointer");
        // The size limit wins over the allow-list: an allow-listed blob over it counts as too large.
        assert!(read(ids[1], true).is_none());
        let missing = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        assert!(read(missing, false).is_none(), "unreadable");
        let mut summary = crate::model::Summary::default();
        stats.fill(&mut summary);
        let skipped = |reason| summary.skipped.get(&reason).copied().unwrap_or(0);
        assert_eq!(summary.files_scanned, 1);
        assert_eq!(skipped(SkipReason::TooLarge), 2);
        assert_eq!(skipped(SkipReason::ConfigAllowed), 1);
        assert_eq!(skipped(SkipReason::LfsPointer), 1);
        assert_eq!(skipped(SkipReason::CorruptObject), 1);
        assert_eq!(summary.warnings.len(), 3, "{:?}", summary.warnings);
        assert!(
            summary
                .warnings
                .iter()
                .any(|w| w.contains("a.txt: skipped, 100 bytes"))
        );
    }
}
