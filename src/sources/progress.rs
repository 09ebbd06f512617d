//! A progress line on stderr for long scans: only when stderr is a terminal and a person reads
//! text output, never in CI logs or with machine formats.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::ScanStats;
use crate::model::text::human_bytes;

/// Starts showing nothing; the line appears only once a scan has run for a moment.
const FIRST_DRAW_AFTER: Duration = Duration::from_millis(300);

/// `TERM=dumb`: a terminal without cursor movement or colour (Emacs shells, some CI consoles).
pub fn dumb_terminal() -> bool {
    std::env::var_os("TERM").is_some_and(|term| term == "dumb")
}

/// A progress line is drawn only for a person at a capable terminal: never in CI logs, pipes or
/// `TERM=dumb`, where its cursor movements would be garbage.
pub fn stderr_shows_progress() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() && !dumb_terminal()
}

/// `pos/len commits` and a bar once the number of commits is known; nothing before (never
/// `0/0 commits` while the commit graph is still being read).
pub fn commit_meter(position: u64, length: Option<u64>, width: usize) -> String {
    match length {
        Some(length) if length > 0 => {
            let done = ((position.min(length) as u128 * width as u128) / length as u128) as usize;
            format!(
                "{}{} {position}/{length} commits",
                "█".repeat(done),
                "░".repeat(width - done)
            )
        }
        _ => String::new(),
    }
}

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `wanted` is false for machine formats and `--quiet`.
    pub fn new(wanted: bool, what: &str) -> Self {
        let show = wanted && stderr_shows_progress();
        let bar = show.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(what.to_owned());
            bar
        });
        Progress { bar }
    }

    /// Refreshes the line from the shared counters; cheap enough to call from a ticker.
    pub fn update(&self, stats: &ScanStats, elapsed: Duration) {
        if let Some(bar) = &self.bar
            && elapsed >= FIRST_DRAW_AFTER
        {
            bar.set_message(format!(
                "{} files, {}",
                stats.files_scanned.load(Ordering::Relaxed),
                human_bytes(stats.bytes_scanned.load(Ordering::Relaxed))
            ));
            bar.tick();
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commit_meter_is_empty_until_the_count_is_known() {
        assert_eq!(commit_meter(0, None, 10), "");
        assert_eq!(commit_meter(0, Some(0), 10), "");
        let meter = commit_meter(5, Some(10), 10);
        assert_eq!(meter, "█████░░░░░ 5/10 commits");
        assert!(commit_meter(12, Some(10), 4).starts_with("████ "));
    }
}
