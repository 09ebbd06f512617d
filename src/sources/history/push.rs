//! The commits a `git push` sends, for the pre-push hook: git hands the hook one line per ref,
//! `<local ref> <local sha> <remote ref> <remote sha>`. The push sends every commit reachable
//! from the local shas that the remote does not have yet: not reachable from the remote's old
//! tip of that ref, nor from any remote-tracking ref of that remote (what we last saw it hold).

use anyhow::{Result, bail};
use git2::{Oid, Repository};

/// Commits to walk (and everything they reach), minus what the excluded commits reach.
#[derive(Clone, Debug, Default)]
pub struct CommitSet {
    pub include: Vec<Oid>,
    pub exclude: Vec<Oid>,
    /// Says in reports what the set is, e.g. "pre-push to origin".
    pub label: String,
}

/// One line of the pre-push hook's standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedRef {
    pub local_ref: String,
    pub local: Oid,
    pub remote_ref: String,
    pub remote: Oid,
}

impl PushedRef {
    /// A deletion pushes no commit.
    pub fn is_deletion(&self) -> bool {
        self.local.is_zero()
    }
}

/// Parses git's pre-push input; blank lines are skipped, anything else malformed is an error.
pub fn parse_pushed_refs(input: &str) -> Result<Vec<PushedRef>> {
    let mut refs = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let [local_ref, local, remote_ref, remote] = fields[..] else {
            bail!(
                "pre-push input line {}: expected `<local ref> <local sha> <remote ref> <remote sha>`, got {line:?}",
                number + 1
            );
        };
        let id = |text: &str| {
            Oid::from_str(text).map_err(|_| {
                anyhow::anyhow!(
                    "pre-push input line {}: '{text}' is not a commit id",
                    number + 1
                )
            })
        };
        refs.push(PushedRef {
            local_ref: local_ref.to_owned(),
            local: id(local)?,
            remote_ref: remote_ref.to_owned(),
            remote: id(remote)?,
        });
    }
    Ok(refs)
}

/// The commits `refs` would send to `remote` (a remote name, or a URL when the push named none).
pub fn pushed_commits(repo: &Repository, remote: Option<&str>, refs: &[PushedRef]) -> CommitSet {
    let mut set = CommitSet {
        label: format!("pre-push to {}", remote.unwrap_or("the remote")),
        ..CommitSet::default()
    };
    for pushed in refs.iter().filter(|r| !r.is_deletion()) {
        set.include.push(pushed.local);
        // The remote's old tip is only known if it was fetched; a force push may drop it.
        if !pushed.remote.is_zero() && repo.find_commit(pushed.remote).is_ok() {
            set.exclude.push(pushed.remote);
        }
    }
    if !set.include.is_empty() {
        set.exclude.extend(tracking_tips(repo, remote));
    }
    set.exclude.sort();
    set.exclude.dedup();
    set
}

/// Tips of the remote-tracking refs of `remote` (`refs/remotes/<remote>/*`): commits the remote
/// already has. Only that remote's: a commit another remote holds may still be new to this one
/// (a private mirror's history pushed to a public fork). A push to a URL with no configured
/// remote has no tracking refs, so every commit it reaches counts.
fn tracking_tips(repo: &Repository, remote: Option<&str>) -> Vec<Oid> {
    let Some(remote) = remote.filter(|name| repo.find_remote(name).is_ok()) else {
        return Vec::new();
    };
    let Ok(references) = repo.references_glob(&format!("refs/remotes/{remote}/*")) else {
        return Vec::new();
    };
    references
        .flatten()
        .filter(|reference| reference.kind() != Some(git2::ReferenceType::Symbolic))
        .filter_map(|reference| reference.peel_to_commit().ok().map(|c| c.id()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const Z: &str = "0000000000000000000000000000000000000000";

    #[test]
    fn lines_parse_and_deletions_are_marked() {
        let input =
            format!("refs/heads/main {A} refs/heads/main {Z}\n\n(delete) {Z} refs/heads/old {A}\n");
        let refs = parse_pushed_refs(&input).unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].local_ref, "refs/heads/main");
        assert!(refs[0].remote.is_zero() && !refs[0].is_deletion());
        assert!(refs[1].is_deletion());
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let err = parse_pushed_refs("refs/heads/main abc\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        let err = parse_pushed_refs(&format!("a {A} b nothex\n")).unwrap_err();
        assert!(err.to_string().contains("'nothex'"), "{err}");
    }
}
