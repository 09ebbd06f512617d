//! The order a full audit walks commits in: every commit reachable from the tips, each after
//! its parents and otherwise oldest first (as `git rev-list --reverse --topo-order
//! --date-order`), computed on the commit headers the pack reader already rebuilt rather than
//! by a second, single-threaded libgit2 walk that would read every commit again.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use git2::Oid;

use super::CommitHeader;
use crate::sources::ScanStats;
use crate::sources::object_id::{ObjectId, OidMap};

/// Orders the commits reachable from `tips`. Headers missing from `headers` (loose commits)
/// come from `read`; a commit that cannot be read ends its line of history, said unless the
/// clone is shallow (where missing parents are the expected boundary, already said).
pub fn order_commits(
    tips: &[Oid],
    headers: &mut OidMap<CommitHeader>,
    read: &mut dyn FnMut(ObjectId) -> Option<CommitHeader>,
    shallow: bool,
    stats: &ScanStats,
) -> Vec<Oid> {
    let mut index: OidMap<u32> = OidMap::default();
    let mut ids: Vec<ObjectId> = Vec::new();
    let mut stack: Vec<ObjectId> = tips.iter().map(|tip| ObjectId::from(*tip)).collect();
    while let Some(id) = stack.pop() {
        if index.contains_key(&id) {
            continue;
        }
        if let std::collections::hash_map::Entry::Vacant(slot) = headers.entry(id) {
            match read(id) {
                Some(header) => {
                    slot.insert(header);
                }
                None => {
                    if !shallow {
                        stats.damaged(format!(
                            "commit {id} cannot be read; the history behind it was not audited"
                        ));
                    }
                    continue;
                }
            }
        }
        index.insert(id, ids.len() as u32);
        ids.push(id);
        stack.extend(headers[&id].parents.iter().copied());
    }

    let mut waiting_on = vec![0u32; ids.len()];
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); ids.len()];
    for (at, id) in ids.iter().enumerate() {
        for parent in &headers[id].parents {
            if let Some(parent) = index.get(parent) {
                waiting_on[at] += 1;
                children[*parent as usize].push(at as u32);
            }
        }
    }
    // Ready commits, oldest first; the id breaks ties so the order never depends on the tips'.
    let mut ready: BinaryHeap<Reverse<(i64, ObjectId, u32)>> = ids
        .iter()
        .enumerate()
        .filter(|(at, _)| waiting_on[*at] == 0)
        .map(|(at, id)| Reverse((headers[id].time, *id, at as u32)))
        .collect();
    let mut ordered = Vec::with_capacity(ids.len());
    while let Some(Reverse((_, id, at))) = ready.pop() {
        ordered.push(id.to_oid());
        for child in std::mem::take(&mut children[at as usize]) {
            waiting_on[child as usize] -= 1;
            if waiting_on[child as usize] == 0 {
                let child_id = ids[child as usize];
                ready.push(Reverse((headers[&child_id].time, child_id, child)));
            }
        }
    }
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId([n; 20])
    }

    fn header(parents: &[u8], time: i64) -> CommitHeader {
        CommitHeader {
            tree: id(0),
            parents: parents.iter().map(|p| id(*p)).collect(),
            time,
        }
    }

    #[test]
    fn parents_come_first_then_the_oldest() {
        // 1 ← 2 ← 4 (merge of 2 and 3), 1 ← 3; 3 is older than 2; 5 is a second root.
        let mut headers = OidMap::default();
        headers.insert(id(1), header(&[], 10));
        headers.insert(id(2), header(&[1], 30));
        headers.insert(id(3), header(&[1], 20));
        headers.insert(id(4), header(&[2, 3], 40));
        headers.insert(id(5), header(&[], 35));
        let stats = ScanStats::default();
        let tips = [id(4).to_oid(), id(5).to_oid()];
        let order = order_commits(&tips, &mut headers, &mut |_| None, false, &stats);
        let expected: Vec<Oid> = [1, 3, 2, 5, 4].iter().map(|n| id(*n).to_oid()).collect();
        assert_eq!(order, expected);
    }

    #[test]
    fn a_commit_older_than_its_parent_still_follows_it() {
        let mut headers = OidMap::default();
        headers.insert(id(1), header(&[], 50));
        headers.insert(id(2), header(&[1], 5));
        let stats = ScanStats::default();
        let order = order_commits(
            &[id(2).to_oid()],
            &mut headers,
            &mut |_| None,
            false,
            &stats,
        );
        assert_eq!(order, vec![id(1).to_oid(), id(2).to_oid()]);
    }

    #[test]
    fn missing_commits_are_read_or_said() {
        let mut headers = OidMap::default();
        headers.insert(id(3), header(&[2], 30));
        let stats = ScanStats::default();
        // 2 is loose (read on demand); its parent 1 is gone.
        let mut read = |wanted: ObjectId| (wanted == id(2)).then(|| header(&[1], 20));
        let order = order_commits(&[id(3).to_oid()], &mut headers, &mut read, false, &stats);
        assert_eq!(order, vec![id(2).to_oid(), id(3).to_oid()]);
        let mut summary = crate::findings::Summary::default();
        stats.fill(&mut summary);
        let incomplete = summary
            .incomplete
            .expect("a missing commit makes the audit partial");
        assert_eq!(incomplete.unread_objects, 1, "{:?}", incomplete.objects);
        // In a shallow clone the missing parent is the boundary: nothing more to say.
        let stats = ScanStats::default();
        let mut headers = OidMap::default();
        headers.insert(id(3), header(&[2], 30));
        let order = order_commits(&[id(3).to_oid()], &mut headers, &mut |_| None, true, &stats);
        assert_eq!(order, vec![id(3).to_oid()]);
        let mut summary = crate::findings::Summary::default();
        stats.fill(&mut summary);
        assert!(summary.warnings.is_empty());
        assert!(summary.incomplete.is_none());
    }
}
