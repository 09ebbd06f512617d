//! Small git helpers shared by the staged and history sources.

use crate::findings::CommitRef;
use crate::time::rfc3339_utc;

/// Git LFS pointer files hold no content, only the id of a file stored elsewhere.
pub fn is_lfs_pointer(bytes: &[u8]) -> bool {
    const HEADER: &[u8] = b"version https://git-lfs.github.com/spec/v1";
    bytes.len() < 1024 && bytes.starts_with(HEADER)
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfs_pointers_are_recognised() {
        let pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n";
        assert!(is_lfs_pointer(pointer));
        assert!(!is_lfs_pointer(b"plain text"));
    }
}
