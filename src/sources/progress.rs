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

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `wanted` is false for machine formats and `--quiet`.
    pub fn new(wanted: bool, what: &str) -> Self {
        let show = wanted && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
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
