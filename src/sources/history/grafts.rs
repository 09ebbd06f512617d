//! `info/grafts`: a deprecated file that gives commits other parents than the ones they record.
//! Git (and libgit2's walk) follow it, so the audit does too, with every walk (the pack reader's
//! included), and says so: a graft that cuts history hides the commits behind it from git log,
//! and from this audit, while the real objects (and any clone without the file) still have them.

use std::path::Path;

use super::{CommitHeader, parse_hex_id};
use crate::model::ScanStats;
use crate::sources::object_id::{ObjectId, OidMap};

#[derive(Default)]
pub struct Grafts {
    parents: OidMap<Vec<ObjectId>>,
}

impl Grafts {
    /// Reads `<common dir>/info/grafts`, if any, and says in the report that it is followed.
    pub fn load(common_dir: &Path, stats: &ScanStats) -> Grafts {
        let Ok(text) = std::fs::read(common_dir.join("info/grafts")) else {
            return Grafts::default();
        };
        let grafts = Grafts::parse(&text);
        if !grafts.parents.is_empty() {
            stats.warn(format!(
                "info/grafts gives {} commit(s) other parents: the audit follows git's view, so \
                 commits a graft hides are not audited (move .git/info/grafts away for an audit \
                 of the recorded history)",
                grafts.parents.len()
            ));
        }
        grafts
    }

    fn parse(text: &[u8]) -> Grafts {
        let mut parents = OidMap::default();
        for line in text.split(|b| *b == b'\n') {
            let mut ids = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|word| !word.is_empty());
            let Some(commit) = ids.next() else {
                continue;
            };
            if commit.starts_with(b"#") {
                continue;
            }
            // Git ignores a malformed line; so do we.
            let Some(commit) = parse_hex_id(commit) else {
                continue;
            };
            let listed: Option<Vec<ObjectId>> = ids.map(parse_hex_id).collect();
            if let Some(listed) = listed {
                parents.insert(commit, listed);
            }
        }
        Grafts { parents }
    }

    /// `header` as git sees it: with the grafted parents, when the file names its commit.
    pub fn apply(&self, id: ObjectId, header: &mut CommitHeader) {
        if let Some(parents) = self.parents.get(&id) {
            header.parents.clone_from(parents);
        }
    }

    pub fn apply_all(&self, headers: &mut OidMap<CommitHeader>) {
        for (id, parents) in &self.parents {
            if let Some(header) = headers.get_mut(id) {
                header.parents.clone_from(parents);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafts_replace_parents_and_skip_bad_lines() {
        let a = "1111111111111111111111111111111111111111";
        let b = "2222222222222222222222222222222222222222";
        let text = format!("{a}\n# comment\n{b} {a}\nnot-an-id {a}\n\n");
        let grafts = Grafts::parse(text.as_bytes());
        assert_eq!(grafts.parents.len(), 2);
        let mut header = CommitHeader {
            tree: ObjectId([0; 20]),
            parents: vec![ObjectId([9; 20])],
            time: 0,
        };
        grafts.apply(parse_hex_id(a.as_bytes()).unwrap(), &mut header);
        assert!(header.parents.is_empty());
        grafts.apply(parse_hex_id(b.as_bytes()).unwrap(), &mut header);
        let parents: Vec<String> = header.parents.iter().map(ToString::to_string).collect();
        assert_eq!(parents, vec![a.to_owned()]);
    }
}
