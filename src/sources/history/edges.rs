//! The walk's graph edges (one u32 per entry of every unique tree: on a large history, the
//! biggest thing the audit holds). Up to a limit they stay in memory; past it, they are written
//! to an unlinked temporary file and read back by attribution, which needs only the trees on
//! the way to a finding, and only when there are findings.

use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Edges written to the spill file per write call.
const WRITE_CHUNK: usize = 16 << 10;

pub struct EdgeStore {
    /// Edges from number `spilled` on.
    memory: Vec<u32>,
    /// Edges before this number are in `file`.
    spilled: u64,
    limit: usize,
    file: Option<SpillFile>,
}

struct SpillFile {
    file: File,
    /// Still to delete (where an open file cannot be unlinked).
    path: Option<PathBuf>,
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Default for EdgeStore {
    fn default() -> Self {
        EdgeStore::with_limit(usize::MAX)
    }
}

impl EdgeStore {
    /// Keeps at most `limit` edges in memory (plus one tree's worth).
    pub fn with_limit(limit: usize) -> Self {
        EdgeStore {
            memory: Vec::new(),
            spilled: 0,
            limit,
            file: None,
        }
    }

    /// How many edges there are.
    pub fn len(&self) -> u64 {
        self.spilled + self.memory.len() as u64
    }

    /// Edges held in memory now.
    #[cfg(test)]
    pub fn in_memory(&self) -> usize {
        self.memory.len()
    }

    /// Appends one tree's edges; returns their range. A tree's edges stay together (in memory
    /// or in the file). Err when the spill file cannot be written: the edges then stay in
    /// memory, and the caller says the budget is not kept.
    pub fn push(&mut self, edges: &[u32]) -> (std::io::Result<()>, (u64, u64)) {
        let mut outcome = Ok(());
        if !self.memory.is_empty() && self.memory.len() + edges.len() > self.limit {
            outcome = self.spill();
        }
        let start = self.len();
        self.memory.extend_from_slice(edges);
        (outcome, (start, self.len()))
    }

    fn spill(&mut self) -> std::io::Result<()> {
        if self.file.is_none() {
            self.file = Some(create_spill_file()?);
        }
        let Some(spill) = &mut self.file else {
            return Ok(());
        };
        spill.file.seek(SeekFrom::Start(self.spilled * 4))?;
        // Written in small pieces: a copy of the whole buffer would double what it holds.
        let mut bytes = Vec::with_capacity(WRITE_CHUNK * 4);
        for chunk in self.memory.chunks(WRITE_CHUNK) {
            bytes.clear();
            bytes.extend(chunk.iter().flat_map(|edge| edge.to_le_bytes()));
            spill.file.write_all(&bytes)?;
        }
        self.spilled += self.memory.len() as u64;
        // The buffer is kept for the next edges: growing it again would cost copies.
        self.memory.clear();
        Ok(())
    }

    /// The edges `start..end` (one tree's); empty if they cannot be read back.
    pub fn get(&self, (start, end): (u64, u64)) -> Cow<'_, [u32]> {
        if start >= self.spilled {
            let range = (start - self.spilled) as usize..(end - self.spilled) as usize;
            return Cow::Borrowed(self.memory.get(range).unwrap_or(&[]));
        }
        let Some(spill) = &self.file else {
            return Cow::Borrowed(&[]);
        };
        let mut bytes = vec![0u8; (end.saturating_sub(start) * 4) as usize];
        let mut file = &spill.file;
        if file.seek(SeekFrom::Start(start * 4)).is_err() || file.read_exact(&mut bytes).is_err() {
            return Cow::Borrowed(&[]);
        }
        Cow::Owned(
            bytes
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        )
    }
}

/// A new file in the temporary directory (`TMPDIR`), unlinked at once where the system allows.
fn create_spill_file() -> std::io::Result<SpillFile> {
    let dir = std::env::temp_dir();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let path = dir.join(format!(
        "tuskguard-edges-{}-{stamp}.tmp",
        std::process::id()
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    let path = std::fs::remove_file(&path).is_err().then_some(path);
    Ok(SpillFile { file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_past_the_limit_go_to_the_file_and_come_back() {
        let mut store = EdgeStore::with_limit(10);
        let trees: Vec<Vec<u32>> = (0..50u32)
            .map(|tree| (0..tree % 7).map(|edge| tree * 100 + edge).collect())
            .collect();
        let mut ranges = Vec::new();
        for edges in &trees {
            let (outcome, range) = store.push(edges);
            outcome.unwrap();
            ranges.push(range);
            assert!(store.in_memory() <= 10 + 7);
        }
        assert!(store.spilled > 0);
        for (edges, range) in trees.iter().zip(ranges) {
            assert_eq!(&*store.get(range), edges.as_slice());
        }
        // Nothing over the limit: everything stays in memory.
        let mut roomy = EdgeStore::default();
        let (_, range) = roomy.push(&[1, 2, 3]);
        assert_eq!((roomy.spilled, &*roomy.get(range)), (0, &[1u32, 2, 3][..]));
    }
}
