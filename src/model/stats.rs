//! Why inputs were skipped, and the run's counters: updated by every worker while the run goes,
//! read once at the end into the report's summary.

use std::collections::{BTreeMap, BinaryHeap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::Severity;

/// Why a file was not scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    TooLarge,
    Unreadable,
    SymlinkLoop,
    NotAFile,
    LfsPointer,
    CorruptObject,
    ConfigAllowed,
}

impl SkipReason {
    /// Every reason, so that reports can show each one, counted or not.
    pub const ALL: [SkipReason; 7] = [
        SkipReason::TooLarge,
        SkipReason::Unreadable,
        SkipReason::SymlinkLoop,
        SkipReason::NotAFile,
        SkipReason::LfsPointer,
        SkipReason::CorruptObject,
        SkipReason::ConfigAllowed,
    ];

    /// Reads after a count of any size ("1 unreadable", "60 under a config allow-listed path").
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::TooLarge => "over --max-file-size",
            SkipReason::Unreadable => "unreadable",
            SkipReason::SymlinkLoop => "in a symlink loop",
            SkipReason::NotAFile => "not regular file(s)",
            SkipReason::LfsPointer => "git LFS pointer(s) (content not in the repo)",
            SkipReason::CorruptObject => "corrupt git object(s)",
            SkipReason::ConfigAllowed => "under a config allow-listed path",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressedCounts {
    pub inline: u64,
    pub ignore_file: u64,
    pub baseline: u64,
    pub config: u64,
}

impl SuppressedCounts {
    pub fn total(&self) -> u64 {
        self.inline + self.ignore_file + self.baseline + self.config
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    pub files_scanned: u64,
    pub bytes_scanned: u64,
    pub findings: usize,
    pub by_severity: BTreeMap<Severity, usize>,
    pub skipped: BTreeMap<SkipReason, u64>,
    pub suppressed: SuppressedCounts,
    /// Messages about inputs that could not be read, each naming the file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub duration_ms: u64,
    /// Built-in rules the config switched off or replaced: said in every format, even with `-q`,
    /// because a repository's own config must not be able to silence the key rules unseen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules_weakened: Vec<String>,
    /// What the run loaded and left out, for `--verbose` (people only; not in any report).
    #[serde(skip)]
    pub notes: Vec<String>,
    /// Commits walked by `tuskguard history` (each unique blob is still scanned once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits_scanned: Option<u64>,
    /// Set when git objects the run needed could not be read: the result is partial, and a
    /// partial audit must never pass for a clean one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<Incomplete>,
    /// Set when a history audit did not reach the start of history; every format says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_cut: Option<HistoryCut>,
}

/// What a damaged repository kept the run from reading.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incomplete {
    /// Objects (commits, trees, blobs, tags) that could not be read.
    pub unread_objects: u64,
    /// One message per unread object, naming it (the `MAX_WARNINGS` that sort first).
    pub objects: Vec<String>,
}

/// Where and why a history audit stopped short of the first commit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryCut {
    /// Why: `shallow clone`, `--max-count N`, `--since REV` or `--since A..B`.
    pub reasons: Vec<String>,
    /// Audited commits with parents that were not audited. A key found in one of them came in
    /// at or before it; the report never names it as the commit that introduced the key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boundary: Vec<String>,
    /// Commits just before an audited range (`--since`), not audited themselves: what they hold
    /// counts as already there, so only what the range added is reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base: Vec<String>,
}

impl HistoryCut {
    /// One sentence for people: what was not audited, where, and how to audit it all.
    pub fn describe(&self) -> String {
        let mut text = format!("history was cut ({})", self.reasons.join(", "));
        if !self.base.is_empty() {
            text.push_str(&format!(
                ": only commits after {} were audited; older history was not, and what it \
                 already held counts as not new",
                short_ids(&self.base)
            ));
        }
        if !self.boundary.is_empty() {
            text.push_str(if self.base.is_empty() { ": " } else { "; " });
            text.push_str(&format!(
                "the audit stops at {}: history before it was not read, so a key found there \
                 reads \"at or before\" that commit",
                short_ids(&self.boundary)
            ));
        }
        if self.reasons.iter().any(|r| r == SHALLOW_CLONE) {
            text.push_str(
                " (this is a shallow clone: history is truncated; run `git fetch --unshallow` \
                 for a full audit)",
            );
        }
        text
    }
}

/// The reason a shallow clone gives for a cut.
pub const SHALLOW_CLONE: &str = "shallow clone";

/// "commit 1a2b3c4d5e6f", "commits 1a2b…, 3c4d… and 7 more".
fn short_ids(ids: &[String]) -> String {
    const SHOWN: usize = 3;
    let shown: Vec<&str> = ids
        .iter()
        .take(SHOWN)
        .map(|id| id.get(..12).unwrap_or(id))
        .collect();
    let noun = if ids.len() == 1 { "commit" } else { "commits" };
    let more = ids.len().saturating_sub(SHOWN);
    if more > 0 {
        format!("{noun} {} and {more} more", shown.join(", "))
    } else {
        format!("{noun} {}", shown.join(", "))
    }
}

/// How many warnings the summary keeps verbatim; the rest are counted.
const MAX_WARNINGS: usize = 50;

/// Counters every worker updates; read once at the end into the summary.
#[derive(Default)]
pub struct ScanStats {
    pub files_scanned: AtomicU64,
    pub bytes_scanned: AtomicU64,
    pub inline_suppressed: AtomicU64,
    pub config_suppressed: AtomicU64,
    skipped: Mutex<BTreeMap<SkipReason, u64>>,
    warnings: Mutex<Listed>,
    damage: Mutex<Listed>,
    notes: Mutex<Vec<String>>,
    rules_weakened: Mutex<Vec<String>>,
}

impl ScanStats {
    pub fn scanned(&self, bytes: u64) {
        self.files_scanned.fetch_add(1, Ordering::Relaxed);
        self.bytes_scanned.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts a skipped input; `message` (naming the file) is kept for the summary when given.
    pub fn skip(&self, reason: SkipReason, message: Option<String>) {
        *lock(&self.skipped).entry(reason).or_default() += 1;
        if let Some(message) = message {
            self.warn(message);
        }
    }

    /// Counts a git object that could not be read (`message` names it): the run is partial.
    pub fn damaged(&self, message: String) {
        *lock(&self.skipped)
            .entry(SkipReason::CorruptObject)
            .or_default() += 1;
        lock(&self.damage).add(message.clone());
        // Also a warning: said on stderr as it happens, whatever the format.
        self.warn(message);
    }

    /// How many objects `damaged` has counted so far.
    pub fn damage_count(&self) -> u64 {
        lock(&self.damage).total()
    }

    pub fn warn(&self, message: String) {
        lock(&self.warnings).add(message);
    }

    /// Something `--verbose` says about the run (what was loaded, what was left out and why).
    pub fn note(&self, message: String) {
        lock(&self.notes).push(message);
    }

    /// A built-in rule the config switched off or replaced (also a warning).
    pub fn rule_weakened(&self, message: String) {
        lock(&self.rules_weakened).push(message.clone());
        self.warn(message);
    }

    pub fn suppressed(&self, inline: u64, config: u64) {
        self.inline_suppressed.fetch_add(inline, Ordering::Relaxed);
        self.config_suppressed.fetch_add(config, Ordering::Relaxed);
    }

    /// Fills the counters of `summary` (findings and timing are the caller's).
    pub fn fill(&self, summary: &mut Summary) {
        summary.files_scanned = self.files_scanned.load(Ordering::Relaxed);
        summary.bytes_scanned = self.bytes_scanned.load(Ordering::Relaxed);
        summary.skipped = lock(&self.skipped).clone();
        summary.suppressed.inline += self.inline_suppressed.load(Ordering::Relaxed);
        summary.suppressed.config += self.config_suppressed.load(Ordering::Relaxed);
        let damage = lock(&self.damage);
        if damage.total() > 0 {
            summary.incomplete = Some(Incomplete {
                unread_objects: damage.total(),
                objects: damage.sorted(),
            });
        }
        summary.notes = lock(&self.notes).clone();
        summary.rules_weakened = lock(&self.rules_weakened).clone();
        let warnings = lock(&self.warnings);
        summary.warnings = warnings.sorted();
        if warnings.left_out > 0 {
            summary.warnings.push(format!(
                "… and {} more warnings not listed",
                warnings.left_out
            ));
        }
    }
}

/// Messages kept verbatim for the summary (at most `MAX_WARNINGS`) and a count of the rest.
///
/// Workers add messages in whatever order their threads finish. Keeping the ones that sort first,
/// not the first to arrive, makes a capped list name the same files on every run.
#[derive(Default)]
struct Listed {
    kept: BinaryHeap<String>,
    left_out: u64,
}

impl Listed {
    fn add(&mut self, message: String) {
        if self.kept.len() < MAX_WARNINGS {
            self.kept.push(message);
            return;
        }
        self.left_out += 1;
        if let Some(mut last) = self.kept.peek_mut()
            && message < *last
        {
            *last = message;
        }
    }

    fn total(&self) -> u64 {
        self.kept.len() as u64 + self.left_out
    }

    fn sorted(&self) -> Vec<String> {
        self.kept.clone().into_sorted_vec()
    }
}

/// A poisoned lock only means another worker panicked; the counters are still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary_after(messages: impl Iterator<Item = String>) -> Summary {
        let stats = ScanStats::default();
        for message in messages {
            stats.damaged(message);
        }
        let mut summary = Summary::default();
        stats.fill(&mut summary);
        summary
    }

    #[test]
    fn a_capped_list_names_the_same_files_whatever_order_they_came_in() {
        let messages: Vec<String> = (0..3 * MAX_WARNINGS).map(|i| format!("f{i:03}")).collect();
        let forwards = summary_after(messages.iter().cloned());
        let backwards = summary_after(messages.iter().rev().cloned());
        assert_eq!(forwards.warnings, backwards.warnings);
        assert_eq!(forwards.incomplete, backwards.incomplete);

        let mut expected: Vec<String> = messages[..MAX_WARNINGS].to_vec();
        assert_eq!(forwards.incomplete.as_ref().unwrap().objects, expected);
        assert_eq!(forwards.incomplete.unwrap().unread_objects, 150);
        expected.push("… and 100 more warnings not listed".to_owned());
        assert_eq!(forwards.warnings, expected);
    }
}
