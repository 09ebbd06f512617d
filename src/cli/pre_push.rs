//! `tuskguard history --pre-push`: the commits a `git push` is about to send, from the lines git
//! gives a pre-push hook on standard input, or from the pre-commit framework's `PRE_COMMIT_*`
//! variables (pre-commit reads stdin itself and passes the first pushed ref on).

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use git2::{Oid, Repository};

use crate::findings::{FindingKind, Report};
use crate::sources::history::push::{CommitSet, PushedRef, parse_pushed_refs, pushed_commits};

/// Limits what is read from standard input: git writes one short line per pushed ref.
const MAX_INPUT: u64 = 16 << 20;

pub fn commit_set(repo: &Repository, remote: Option<&str>) -> Result<CommitSet> {
    let framework_remote = std::env::var("PRE_COMMIT_REMOTE_NAME").ok();
    let remote = remote.map(str::to_owned).or(framework_remote.clone());
    let refs = if framework_remote.is_some() || std::env::var_os("PRE_COMMIT_TO_REF").is_some() {
        from_framework(repo)?
    } else {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            bail!(
                "--pre-push reads the refs being pushed from standard input, the way git runs a \
                 pre-push hook (`<local ref> <local sha> <remote ref> <remote sha>` per line); \
                 install the hook with `tuskguard install-hook --pre-push`"
            );
        }
        let mut input = String::new();
        stdin
            .lock()
            .take(MAX_INPUT)
            .read_to_string(&mut input)
            .context("cannot read the pushed refs from standard input")?;
        parse_pushed_refs(&input)?
    };
    Ok(pushed_commits(repo, remote.as_deref(), &refs))
}

/// pre-commit sets PRE_COMMIT_FROM_REF/TO_REF for an update (or a new branch forked from a pushed
/// commit), and only PRE_COMMIT_LOCAL_BRANCH when the push holds a root commit.
fn from_framework(repo: &Repository) -> Result<Vec<PushedRef>> {
    let resolve = |variable: &str| -> Result<Option<Oid>> {
        let Some(value) = std::env::var(variable).ok().filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let commit = repo
            .revparse_single(&value)
            .and_then(|object| object.peel_to_commit())
            .map_err(|err| {
                anyhow::anyhow!(
                    "{variable}={value} does not name a commit ({})",
                    err.message()
                )
            })?;
        Ok(Some(commit.id()))
    };
    let local = match resolve("PRE_COMMIT_TO_REF")? {
        Some(local) => local,
        None => match resolve("PRE_COMMIT_LOCAL_BRANCH")? {
            Some(local) => local,
            None => return Ok(Vec::new()),
        },
    };
    Ok(vec![PushedRef {
        local_ref: std::env::var("PRE_COMMIT_LOCAL_BRANCH").unwrap_or_default(),
        local,
        remote_ref: std::env::var("PRE_COMMIT_REMOTE_BRANCH").unwrap_or_default(),
        remote: resolve("PRE_COMMIT_FROM_REF")?.unwrap_or(Oid::ZERO_SHA1),
    }])
}

/// What to tell someone whose push was just blocked.
pub fn blocked_push_help(report: &Report) -> String {
    let secrets = report
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::Secret);
    let mut text = String::from(
        "tuskguard: this push was blocked: the commits it would send hold the findings above.\n",
    );
    if secrets {
        text.push_str(
            "  fix:    a key in any pushed commit leaks, even if a later commit deletes it. Rewrite the\n          \
             commits that hold it (`git rebase -i`, or `git commit --amend` for the last one), read\n          \
             the key from TUSKY_API_KEY instead, and revoke it if it was ever shared.\n",
        );
    }
    text.push_str(
        "  allow:  a false alarm? add `tuskguard:allow` in a comment on that line, or add the fingerprint\n          \
         to .tuskguardignore.\n  \
         last resort: `git push --no-verify` skips the pre-push check.",
    );
    text
}
