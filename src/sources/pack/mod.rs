//! Reads a repository's packs the way `git index-pack` does: every object of a delta family is
//! rebuilt from its already-inflated base, families in parallel, so each object is inflated
//! exactly once, and families of kinds not asked for are never opened.
//!
//! Going through libgit2 instead means one lookup per object, a delta chain replayed from its
//! base whenever the shared delta cache missed, and a lock on that cache per read. Anything this
//! module cannot read (loose objects, an unknown index version, a corrupt entry, a base in
//! another pack) is simply not delivered, and the caller reads it through libgit2.

pub(crate) mod index;
pub(crate) mod object;
mod pages;

use std::cell::RefCell;
use std::fs::File;
use std::path::{Path, PathBuf};

use libdeflater::Decompressor;
use memmap2::Mmap;

use self::index::{OID_LEN, PackIndex};
use self::object::{
    EntryKind, MAX_DELTA_HEADER, apply_delta, delta_target_size, inflate, parse_header,
};
use self::pages::PageWindow;
use super::object_id::ObjectId;

/// The object kinds a caller can ask for (tags are never needed: refs are peeled by libgit2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Commit,
    Tree,
    Blob,
}

/// One rebuilt object as handed to the caller.
#[derive(Clone, Copy, Debug)]
pub struct Packed {
    pub kind: ObjectKind,
    pub id: ObjectId,
    /// This entry's number among all entries of all packs: callers keep per-object state in a
    /// plain array instead of a map.
    pub slot: usize,
}

/// What the reader hands over for one object.
#[derive(Clone, Copy, Debug)]
pub enum Content<'a> {
    Bytes(&'a [u8]),
    /// Over the caller's size limit: never inflated (a non-delta's size is in its entry header,
    /// a delta's target size in its delta header), so never allocated. Its delta children are
    /// not rebuilt either (they would need it as their base): they are left to the caller.
    TooLarge(u64),
}

/// Git itself refuses delta chains deeper than 4095 (`pack.depth`); deeper ones come only from
/// a hostile pack and would exhaust the stack.
const MAX_DELTA_DEPTH: u32 = 4096;

/// An entry header (type and size varint, then an offset or a 20-byte base id) is shorter.
const MAX_ENTRY_HEADER: u64 = 64;

/// Marks "no entry".
const NONE: u32 = u32::MAX;

struct Entry {
    offset: u64,
    /// Where the next entry (or the pack trailer) starts: the zlib stream ends before it.
    end: u64,
    /// Position in the pack index (its object id).
    position: u32,
    /// The entry this one is a delta against, or NONE.
    base: u32,
    kind: Option<ObjectKind>,
}

struct Pack {
    data: Mmap,
    /// Which pages of `data` we made resident; released past the budget.
    pages: PageWindow,
    index: PackIndex,
    /// In pack order.
    entries: Vec<Entry>,
    /// Delta children of each entry, as ranges into `child_list`.
    child_ranges: Vec<(u32, u32)>,
    child_list: Vec<u32>,
    /// Entries that are not deltas.
    roots: Vec<u32>,
    entry_of_position: Vec<u32>,
    /// Per entry: also stored in an earlier pack (overlapping packs, alternates), so never
    /// delivered from this one; rebuilt only when a delta of this pack needs it as its base.
    duplicate: Vec<bool>,
    /// Per entry: rebuilt at all (not a duplicate, or the base of something that is not).
    needed: Vec<bool>,
}

/// The packs of one repository, parsed once.
pub struct PackSet {
    packs: Vec<Pack>,
    /// Per pack, the slot of its first entry.
    first_slots: Vec<usize>,
}

impl PackSet {
    /// Opens every readable `objects/pack/*.pack` (with its `.idx`), and those of the object
    /// stores `objects/info/alternates` names (shared clones, reference repositories). Packs that
    /// cannot be parsed are left out: their objects are then read through libgit2, which
    /// reports them.
    #[cfg(any(test, fuzzing))]
    pub fn open(objects_dir: &Path) -> PackSet {
        PackSet::open_with_page_budget(objects_dir, u64::MAX)
    }

    /// Like `open`, keeping at most about `resident_pages` bytes of the packs mapped in at once
    /// (shared evenly among the packs): pages already read are released behind the reader, so
    /// a pack of any size costs that much RSS, not its size.
    pub fn open_with_page_budget(objects_dir: &Path, resident_pages: u64) -> PackSet {
        let mut packs = Vec::new();
        let mut visited = Vec::new();
        open_store(objects_dir, 0, &mut visited, &mut packs);
        let share = resident_pages / packs.len().max(1) as u64;
        for pack in &mut packs {
            pack.pages.set_limit(share);
            // Opening read every entry header: those pages are not needed again soon.
            pack.pages.release(&pack.data);
            pack.index.release_pages();
        }
        for later in 1..packs.len() {
            let (earlier, rest) = packs.split_at_mut(later);
            rest[0].mark_duplicates(earlier);
        }
        let mut next = 0;
        let first_slots = packs
            .iter()
            .map(|pack| {
                let first = next;
                next += pack.entries.len();
                first
            })
            .collect();
        PackSet { packs, first_slots }
    }

    /// How many slots `Packed::slot` numbers.
    pub fn slot_count(&self) -> usize {
        self.packs.iter().map(|pack| pack.entries.len()).sum()
    }

    /// The slots holding `id` (more than one when packs overlap).
    pub fn slots_of(&self, id: ObjectId) -> impl Iterator<Item = usize> + '_ {
        self.packs
            .iter()
            .zip(&self.first_slots)
            .filter_map(move |(pack, first)| {
                let position = pack.index.find(&id.0)?;
                Some(first + pack.entry_of_position[position] as usize)
            })
    }

    /// Rebuilds, on `pool` (the run's workers, `workers::Workers::pool`, whose threads have the
    /// deep stacks a delta chain's recursion needs), every packed object of the given kinds and hands it to
    /// `deliver` (an object stored in several packs comes once, from the first), or says it is
    /// over `max_size` without inflating it. Objects not delivered are the caller's to read
    /// another way.
    pub fn for_each_object<D>(
        &self,
        kinds: &[ObjectKind],
        pool: &rayon::ThreadPool,
        max_size: u64,
        deliver: D,
    ) where
        D: Fn(Packed, Content<'_>) + Sync,
    {
        self.for_each_object_while(kinds, pool, max_size, &|_| true, deliver);
    }

    /// `for_each_object`, but objects of a kind stop coming (no family of it is started or gone
    /// on with) once `wanted` says no more of that kind: what is not delivered is the caller's
    /// to read another way.
    pub fn for_each_object_while<D>(
        &self,
        kinds: &[ObjectKind],
        pool: &rayon::ThreadPool,
        max_size: u64,
        wanted: &(dyn Fn(ObjectKind) -> bool + Sync),
        deliver: D,
    ) where
        D: Fn(Packed, Content<'_>) + Sync,
    {
        for (pack, first_slot) in self.packs.iter().zip(&self.first_slots) {
            let run = Resolution {
                pack,
                first_slot: *first_slot,
                max_size,
                wanted,
                deliver: &deliver,
            };
            pool.install(|| {
                use rayon::prelude::*;
                pack.roots
                    .par_iter()
                    .filter(|root| {
                        pack.needed[**root as usize]
                            && pack.entries[**root as usize]
                                .kind
                                .is_some_and(|kind| kinds.contains(&kind) && wanted(kind))
                    })
                    .for_each(|root| run.resolve(*root, None, 0));
            });
        }
    }
}

/// Git follows alternates five levels deep; so do we (and never twice into one store).
const MAX_ALTERNATE_DEPTH: usize = 5;

fn open_store(objects_dir: &Path, depth: usize, visited: &mut Vec<PathBuf>, packs: &mut Vec<Pack>) {
    let Ok(canonical) = objects_dir.canonicalize() else {
        return;
    };
    if depth > MAX_ALTERNATE_DEPTH || visited.contains(&canonical) {
        return;
    }
    visited.push(canonical);
    if let Ok(listing) = std::fs::read_dir(objects_dir.join("pack")) {
        let mut index_paths: Vec<_> = listing
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "idx"))
            .collect();
        index_paths.sort();
        packs.extend(index_paths.iter().filter_map(|path| Pack::open(path)));
    }
    let Ok(alternates) = std::fs::read_to_string(objects_dir.join("info/alternates")) else {
        return;
    };
    for line in alternates.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Relative entries are relative to this object store.
        open_store(&objects_dir.join(line), depth + 1, visited, packs);
    }
}

impl Pack {
    fn open(index_path: &Path) -> Option<Pack> {
        let pack_path = index_path.with_extension("pack");
        // Safety: git never rewrites a pack or index in place (new ones get new names), and a
        // pack deleted by a concurrent gc stays mapped until we unmap it.
        let index = PackIndex::parse(unsafe { Mmap::map(&File::open(index_path).ok()?) }.ok()?)?;
        let data = unsafe { Mmap::map(&File::open(&pack_path).ok()?) }.ok()?;
        // Limited by the caller once every pack is open; opening itself stays within a window.
        let pages = PageWindow::new(data.len() as u64, pages::OPENING_WINDOW);
        if data.len() < 12 + OID_LEN || &data[..4] != b"PACK" {
            return None;
        }
        let version = u32::from_be_bytes(data[4..8].try_into().ok()?);
        let count = u32::from_be_bytes(data[8..12].try_into().ok()?) as usize;
        if !(version == 2 || version == 3) || count != index.len() || count >= NONE as usize {
            return None;
        }
        let trailer = (data.len() - OID_LEN) as u64;
        let mut by_offset = Vec::with_capacity(count);
        for position in 0..count {
            let offset = index.offset(position)?;
            if offset < 12 || offset >= trailer {
                return None;
            }
            by_offset.push((offset, position as u32));
        }
        by_offset.sort_unstable();
        let mut entries: Vec<Entry> = Vec::with_capacity(count);
        for (at, (offset, position)) in by_offset.iter().enumerate() {
            let end = by_offset.get(at + 1).map_or(trailer, |next| next.0);
            entries.push(Entry {
                offset: *offset,
                end,
                position: *position,
                base: NONE,
                kind: None,
            });
        }
        let mut entry_of_position = vec![NONE; count];
        for (at, entry) in entries.iter().enumerate() {
            entry_of_position[entry.position as usize] = at as u32;
        }
        let mut pack = Pack {
            data,
            pages,
            index,
            entries,
            child_ranges: Vec::new(),
            child_list: Vec::new(),
            roots: Vec::new(),
            entry_of_position,
            duplicate: vec![false; count],
            needed: vec![true; count],
        };
        pack.link_deltas(&by_offset);
        Some(pack)
    }

    /// Finds each entry's base and kind, and the delta children of each entry. An entry whose
    /// header is unreadable or whose base is missing is simply left out of every family.
    fn link_deltas(&mut self, by_offset: &[(u64, u32)]) {
        let mut parents = vec![NONE; self.entries.len()];
        for (at, parent) in parents.iter_mut().enumerate() {
            let offset = self.entries[at].offset;
            self.pages
                .touch(&self.data, offset, offset + MAX_ENTRY_HEADER);
            let Some(header) = parse_header(&self.data, offset as usize) else {
                continue;
            };
            let kind = match header.kind {
                EntryKind::Commit => Some(ObjectKind::Commit),
                EntryKind::Tree => Some(ObjectKind::Tree),
                EntryKind::Blob => Some(ObjectKind::Blob),
                EntryKind::Tag => None,
                EntryKind::OffsetDelta(base) => {
                    if let Ok(base) = by_offset.binary_search_by_key(&base, |entry| entry.0) {
                        *parent = base as u32;
                    }
                    continue;
                }
                EntryKind::RefDelta(base) => {
                    if let Some(position) = self.index.find(&base) {
                        *parent = self.entry_of_position[position];
                    }
                    continue;
                }
            };
            // Tags are never asked for: they stay unlinked.
            if kind.is_some() {
                self.roots.push(at as u32);
            }
            self.entries[at].kind = kind;
        }
        // A delta has its family's kind; offset deltas point backwards, ref deltas may not,
        // so follow each chain to its root (chains deeper than git allows, or cycles, stay out).
        let mut orphaned = vec![false; self.entries.len()];
        for at in 0..self.entries.len() {
            if parents[at] == NONE || self.entries[at].kind.is_some() {
                continue;
            }
            let mut chain = vec![at as u32];
            let mut current = parents[at];
            let mut kind = None;
            while current != NONE && !orphaned[current as usize] {
                if let Some(found) = self.entries[current as usize].kind {
                    kind = Some(found);
                    break;
                }
                if chain.len() > MAX_DELTA_DEPTH as usize {
                    break;
                }
                chain.push(current);
                current = parents[current as usize];
            }
            for link in chain {
                match kind {
                    Some(kind) => self.entries[link as usize].kind = Some(kind),
                    // Remembered, so that a hostile cycle is walked once, not once per member.
                    None => orphaned[link as usize] = true,
                }
            }
        }
        let mut counts = vec![0u32; self.entries.len()];
        for (at, parent) in parents.iter().enumerate() {
            if *parent != NONE && self.entries[at].kind.is_some() {
                counts[*parent as usize] += 1;
            }
        }
        let mut start = 0u32;
        self.child_ranges = counts
            .iter()
            .map(|count| {
                let range = (start, start);
                start += count;
                range
            })
            .collect();
        self.child_list = vec![NONE; start as usize];
        for (at, parent) in parents.iter().enumerate() {
            if *parent != NONE && self.entries[at].kind.is_some() {
                let range = &mut self.child_ranges[*parent as usize];
                self.child_list[range.1 as usize] = at as u32;
                range.1 += 1;
            }
        }
        for (entry, parent) in self.entries.iter_mut().zip(parents) {
            entry.base = parent;
        }
    }

    /// Marks the entries `earlier` packs already hold, and which entries still need rebuilding:
    /// the rest, and every base on the way to one of them.
    fn mark_duplicates(&mut self, earlier: &[Pack]) {
        for at in 0..self.entries.len() {
            let id = self.index.oid(self.entries[at].position as usize);
            self.duplicate[at] = earlier.iter().any(|pack| pack.index.find(id).is_some());
        }
        self.needed.clone_from(&self.duplicate);
        for flag in &mut self.needed {
            *flag = !*flag;
        }
        for at in 0..self.entries.len() {
            if !self.needed[at] {
                continue;
            }
            let mut base = self.entries[at].base;
            let mut depth = 0;
            while base != NONE && !self.needed[base as usize] && depth <= MAX_DELTA_DEPTH {
                self.needed[base as usize] = true;
                base = self.entries[base as usize].base;
                depth += 1;
            }
        }
    }

    fn children(&self, entry: u32) -> &[u32] {
        let (start, end) = self.child_ranges[entry as usize];
        &self.child_list[start as usize..end as usize]
    }

    fn oid(&self, entry: u32) -> ObjectId {
        let position = self.entries[entry as usize].position as usize;
        // The index was checked to hold 20 bytes per id.
        ObjectId::from_slice(self.index.oid(position)).unwrap_or(ObjectId([0; 20]))
    }

    fn zlib_stream(&self, entry: u32) -> Option<(&[u8], u64)> {
        let entry = &self.entries[entry as usize];
        self.pages.touch(&self.data, entry.offset, entry.end);
        let header = parse_header(&self.data, entry.offset as usize)?;
        let stream = self.data.get(header.data_start..entry.end as usize)?;
        Some((stream, header.size))
    }
}

thread_local! {
    // A decompressor holds tens of KiB of tables: one per thread, reused for every object.
    static INFLATER: RefCell<Decompressor> = RefCell::new(Decompressor::new());
}

struct Resolution<'a, D> {
    pack: &'a Pack,
    first_slot: usize,
    max_size: u64,
    /// Asked before each object is delivered: false leaves the rest of its family undone.
    wanted: &'a (dyn Fn(ObjectKind) -> bool + Sync),
    deliver: &'a D,
}

/// What rebuilding one entry came to.
enum Rebuilt {
    Bytes(Vec<u8>),
    TooLarge(u64),
    /// Unreadable, or a delta too big to look into: left to the caller's fallback.
    Failed,
}

impl<D: Fn(Packed, Content<'_>) + Sync> Resolution<'_, D> {
    fn packed(&self, entry: u32) -> Option<Packed> {
        let kind = self.pack.entries[entry as usize].kind?;
        (!self.pack.duplicate[entry as usize]).then(|| Packed {
            kind,
            id: self.pack.oid(entry),
            slot: self.first_slot + entry as usize,
        })
    }

    /// Children worth rebuilding.
    fn needed_children(&self, entry: u32) -> impl Iterator<Item = u32> + '_ {
        self.pack
            .children(entry)
            .iter()
            .copied()
            .filter(|child| self.pack.needed[*child as usize])
    }

    /// Rebuilds `entry` (from `base` when it is a delta), delivers it, then its
    /// children. A chain is followed in a loop, dropping each link once the next is built; where
    /// a family branches, the other children become tasks any idle thread can take.
    fn resolve(&self, entry: u32, base: Option<&[u8]>, depth: u32) {
        let mut bytes = match self.rebuild(entry, base) {
            Rebuilt::Bytes(bytes) => bytes,
            Rebuilt::TooLarge(size) => {
                // Said without inflating; its children would need it whole, so they are left
                // to the caller's fallback, which reads their sizes from their headers.
                if let Some(packed) = self.packed(entry) {
                    (self.deliver)(packed, Content::TooLarge(size));
                }
                return;
            }
            // Unreadable: it and its family are left to the caller's fallback.
            Rebuilt::Failed => return,
        };
        let (mut entry, mut depth) = (entry, depth);
        loop {
            // A family has one kind, its root's: every member is delivered, as long as the
            // caller wants that kind.
            if let Some(packed) = self.packed(entry) {
                if !(self.wanted)(packed.kind) {
                    return;
                }
                (self.deliver)(packed, Content::Bytes(&bytes));
            }
            let mut children = self.needed_children(entry);
            let Some(first) = children.next() else {
                return;
            };
            depth += 1;
            if depth > MAX_DELTA_DEPTH {
                return;
            }
            let rest: Vec<u32> = children.collect();
            if !rest.is_empty() {
                let shared = bytes.as_slice();
                rayon::scope(|scope| {
                    for child in rest {
                        scope.spawn(move |_| self.resolve(child, Some(shared), depth));
                    }
                    self.resolve(first, Some(shared), depth);
                });
                return;
            }
            // Dropped before the child is built: one link of a chain in memory at a time.
            let base = std::mem::take(&mut bytes);
            match self.rebuild(first, Some(&base)) {
                Rebuilt::Bytes(next) => {
                    bytes = next;
                    entry = first;
                }
                Rebuilt::TooLarge(size) => {
                    if let Some(packed) = self.packed(first) {
                        (self.deliver)(packed, Content::TooLarge(size));
                    }
                    return;
                }
                Rebuilt::Failed => return,
            }
        }
    }

    fn rebuild(&self, entry: u32, base: Option<&[u8]>) -> Rebuilt {
        let Some((stream, size)) = self.pack.zlib_stream(entry) else {
            return Rebuilt::Failed;
        };
        let Some(base) = base else {
            // A whole object: its size is in the entry header.
            if size > self.max_size {
                return Rebuilt::TooLarge(size);
            }
            return match INFLATER.with(|inflater| inflate(&mut inflater.borrow_mut(), stream, size))
            {
                Some(bytes) => Rebuilt::Bytes(bytes),
                None => Rebuilt::Failed,
            };
        };
        // Every delta instruction yields at least one byte from at most eight, so a delta this
        // big builds something over the limit: not even the delta is inflated.
        if size.saturating_sub(MAX_DELTA_HEADER) / 8 > self.max_size {
            return Rebuilt::Failed;
        }
        let Some(delta) =
            INFLATER.with(|inflater| inflate(&mut inflater.borrow_mut(), stream, size))
        else {
            return Rebuilt::Failed;
        };
        match delta_target_size(&delta) {
            Some(target) if target > self.max_size => Rebuilt::TooLarge(target),
            Some(_) => apply_delta(base, &delta).map_or(Rebuilt::Failed, Rebuilt::Bytes),
            None => Rebuilt::Failed,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
