//! Where the audit starts: every ref, peeled through any chain of tags. Most refs end at a
//! commit; a tag may also point straight at a tree or a blob (`git tag keyblob <blob>`), and
//! those objects are reachable too, so they are audited and their findings carry the tag as ref.

use anyhow::{Context, Result};
use git2::{ObjectType, Oid, Repository};

use crate::model::{CommitRef, ScanStats};
use crate::time::rfc3339_utc;

/// A ref tip the audit starts from (branch, tag, remote-tracking ref, stash, detached HEAD).
pub struct Tip {
    pub name: String,
    pub commit: Oid,
}

/// A ref that ends at a tree or a blob rather than a commit.
pub struct ObjectTip {
    pub name: String,
    pub object: Oid,
    pub is_tree: bool,
    /// What reports name as "introduced": the outermost annotated tag (tagger, date, message),
    /// or for a lightweight tag the object itself.
    pub origin: CommitRef,
}

/// All the tips: refs ending at commits, refs ending at trees or blobs.
#[derive(Default)]
pub struct Tips {
    pub commits: Vec<Tip>,
    pub objects: Vec<ObjectTip>,
}

/// Git peels tags without a limit, but a chain longer than this is hostile, not history.
const MAX_TAG_CHAIN: usize = 64;

/// Every ref, peeled; symbolic refs are skipped (their targets are listed). A ref whose object
/// cannot be read is damage: counted, and it makes the audit partial.
pub fn collect_tips(repo: &Repository, stats: &ScanStats) -> Result<Tips> {
    let odb = repo.odb().context("cannot open the object database")?;
    let mut tips = Tips::default();
    let references = repo
        .references()
        .context("cannot list the repository's refs")?;
    for reference in references {
        let reference = match reference {
            Ok(reference) => reference,
            Err(err) => {
                stats.damaged(format!("a ref could not be read ({})", err.message()));
                continue;
            }
        };
        if reference.kind() == Some(git2::ReferenceType::Symbolic) {
            continue;
        }
        let name = String::from_utf8_lossy(reference.name_bytes()).into_owned();
        match reference.target() {
            Some(target) => peel(repo, &odb, name, target, stats, &mut tips),
            None => stats.damaged(format!("{name}: has no target; not audited")),
        }
    }
    if repo.head_detached().unwrap_or(false)
        && let Ok(head) = repo.head()
        && let Some(target) = head.target()
    {
        peel(repo, &odb, "HEAD".to_owned(), target, stats, &mut tips);
    }
    let replaced = tips
        .commits
        .iter()
        .map(|tip| &tip.name)
        .chain(tips.objects.iter().map(|tip| &tip.name))
        .filter(|name| name.starts_with("refs/replace/"))
        .count();
    if replaced > 0 {
        stats.warn(format!(
            "{replaced} replace ref(s) (git replace): objects are audited as recorded, so both \
             the replaced objects and their replacements are audited"
        ));
    }
    tips.commits.sort_by(|a, b| a.name.cmp(&b.name));
    tips.objects.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(tips)
}

fn peel(
    repo: &Repository,
    odb: &git2::Odb<'_>,
    name: String,
    target: Oid,
    stats: &ScanStats,
    tips: &mut Tips,
) {
    let mut object = target;
    let mut outer_tag: Option<CommitRef> = None;
    for _ in 0..MAX_TAG_CHAIN {
        // The header only: a tag may point at a huge blob, which is read (or not) later.
        let kind = match odb.read_header(object) {
            Ok((_, kind)) => kind,
            Err(err) => {
                stats.damaged(format!(
                    "{name}: points to object {object}, which cannot be read ({}); not audited",
                    err.message()
                ));
                return;
            }
        };
        match kind {
            ObjectType::Commit => {
                tips.commits.push(Tip {
                    name,
                    commit: object,
                });
                return;
            }
            ObjectType::Tree | ObjectType::Blob => {
                let is_tree = kind == ObjectType::Tree;
                let origin = outer_tag.unwrap_or_else(|| CommitRef {
                    id: object.to_string(),
                    author: String::new(),
                    email: String::new(),
                    time: String::new(),
                    at_or_before: false,
                    summary: format!(
                        "{name} points at this {} (no commit holds it)",
                        if is_tree { "tree" } else { "blob" }
                    ),
                });
                tips.objects.push(ObjectTip {
                    name,
                    object,
                    is_tree,
                    origin,
                });
                return;
            }
            ObjectType::Tag => match repo.find_tag(object) {
                Ok(tag) => {
                    if outer_tag.is_none() {
                        outer_tag = Some(tag_origin(&tag));
                    }
                    object = tag.target_id();
                }
                Err(err) => {
                    stats.damaged(format!(
                        "{name}: tag object {object} cannot be read ({}); not audited",
                        err.message()
                    ));
                    return;
                }
            },
            _ => {
                stats.damaged(format!(
                    "{name}: points to object {object} of an unknown kind; not audited"
                ));
                return;
            }
        }
    }
    stats.damaged(format!(
        "{name}: a chain of more than {MAX_TAG_CHAIN} tags; not audited"
    ));
}

/// An annotated tag as reports show an "introduced" commit: its id, tagger, date and message.
fn tag_origin(tag: &git2::Tag<'_>) -> CommitRef {
    let tagger = tag.tagger();
    CommitRef {
        id: tag.id().to_string(),
        author: tagger
            .as_ref()
            .map(|t| String::from_utf8_lossy(t.name_bytes()).into_owned())
            .unwrap_or_default(),
        email: tagger
            .as_ref()
            .map(|t| String::from_utf8_lossy(t.email_bytes()).into_owned())
            .unwrap_or_default(),
        time: tagger
            .as_ref()
            .map(|t| rfc3339_utc(t.when().seconds()))
            .unwrap_or_default(),
        at_or_before: false,
        summary: tag
            .message_bytes()
            .and_then(|m| m.split(|b| *b == b'\n').next())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default(),
    }
}
