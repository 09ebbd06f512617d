//! The memory budget of a history audit: how many bytes the parts that grow with the size of a
//! history may keep in memory at once.
//!
//! What a full audit holds, besides a fixed cost per object (ids, indexes, the commit graph:
//! 170 to 270 bytes per object, see the README's memory model):
//!
//! - trees rebuilt ahead of the walk (past their share no more are rebuilt: the walk reads the
//!   rest through libgit2 when it gets to them);
//! - the last tree the walk saw at each directory path (the next version there is compared
//!   with it, byte for byte);
//! - the walk's graph edges (one u32 per tree entry, the largest part on big histories): past
//!   their share they go to an unlinked temporary file and are read back by attribution;
//! - pages of the mapped packs: released behind the reader once their share is resident;
//! - libgit2's own mapped pack windows (set process-wide by the command line).

/// Default for `tuskguard history --memory-budget` (MiB): git/git (about a million objects)
/// stays under 400 MiB peak RSS with it.
pub const DEFAULT_MEMORY_BUDGET_MIB: u64 = 96;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryBudget {
    bytes: u64,
}

impl Default for MemoryBudget {
    fn default() -> Self {
        MemoryBudget::from_mib(DEFAULT_MEMORY_BUDGET_MIB)
    }
}

impl MemoryBudget {
    pub fn from_mib(mib: u64) -> Self {
        MemoryBudget {
            bytes: mib.saturating_mul(1 << 20),
        }
    }

    pub fn bytes(self) -> u64 {
        self.bytes
    }

    /// Trees rebuilt ahead of the walk.
    pub fn tree_cache(self) -> usize {
        usize::try_from(self.bytes * 3 / 8).unwrap_or(usize::MAX)
    }

    /// The last tree seen at each directory path, which the next version there is compared
    /// with.
    pub fn reference_trees(self) -> usize {
        usize::try_from(self.bytes / 8).unwrap_or(usize::MAX)
    }

    /// The walk's graph edges kept in memory (in edges of 4 bytes).
    pub fn edges_in_memory(self) -> usize {
        usize::try_from(self.bytes / 4 / 4).unwrap_or(usize::MAX)
    }

    /// Resident pages of our own pack mappings, all packs together.
    pub fn pack_pages(self) -> u64 {
        self.bytes / 8
    }

    /// libgit2's mapped pack windows (its fallback reads).
    pub fn libgit2_mapped(self) -> u64 {
        self.bytes / 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shares_add_up_to_the_budget() {
        for mib in [0, 1, 192, 4096] {
            let budget = MemoryBudget::from_mib(mib);
            let total = budget.tree_cache() as u64
                + budget.reference_trees() as u64
                + budget.edges_in_memory() as u64 * 4
                + budget.pack_pages()
                + budget.libgit2_mapped();
            assert!(total <= budget.bytes(), "{mib}");
            assert!(total + 16 >= budget.bytes(), "{mib}");
        }
    }
}
