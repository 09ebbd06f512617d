//! Command-line arguments (clap derive). Sizes, durations, counts and thresholds are parsed into
//! typed values here, by the parsers in `values`; `cli` builds the library's settings from them.

use std::path::PathBuf;

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::output::FailOn;
use super::values::{parse_count, parse_duration, parse_fail_on, parse_size};
pub use crate::reports::Format;

#[derive(Parser, Debug)]
#[command(
    name = "tuskguard",
    version,
    about = "Keeps Tusky API keys out of git: scans trees, staged changes and history",
    propagate_version = true,
    after_help = super::examples::TOP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Print only findings and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more about what is scanned and skipped.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan a working tree or any directory (default: .), or with --staged what the next commit adds.
    #[command(after_help = super::examples::SCAN)]
    Scan(ScanArgs),
    /// Scan every blob reachable from every ref, once, and say which commit introduced each key.
    #[command(after_help = super::examples::HISTORY)]
    History(HistoryArgs),
    /// Check the keys of a JSON report (or - for stdin) against the Tusky API.
    #[command(after_help = super::examples::VERIFY)]
    Verify(VerifyArgs),
    /// Revoke the live keys of a JSON report through the Tusky API (dry run unless --yes).
    #[command(after_help = super::examples::REVOKE)]
    Revoke(RevokeArgs),
    /// Write the current findings as a baseline file.
    #[command(after_help = super::examples::BASELINE)]
    Baseline(BaselineArgs),
    /// Show or check the built-in and custom rules.
    #[command(after_help = super::examples::RULES)]
    Rules(RulesArgs),
    /// Install (or remove) a git pre-commit hook that runs `tuskguard scan --staged`.
    #[command(after_help = super::examples::INSTALL_HOOK)]
    InstallHook(InstallHookArgs),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// Where and how results are written.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print full keys (off by default: every key is redacted).
    #[arg(long)]
    pub show_secrets: bool,
    /// Exit 1 when a finding at or above this severity remains (critical, high, medium, low, info),
    /// or with `live`: only when a verified live key remains.
    #[arg(long, value_name = "SEVERITY", default_value = "low", value_parser = parse_fail_on)]
    pub fail_on: FailOn,
    /// Colour in text output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Also write a SARIF report to FILE, whatever --format says (CI: annotations and SARIF from
    /// one run).
    #[arg(long, value_name = "FILE")]
    pub sarif_output: Option<PathBuf>,
}

/// What is scanned and which suppressions apply; shared by `scan`, `history` and `baseline`.
#[derive(Args, Debug, Clone)]
pub struct ScanOptions {
    /// Config file (default: .tuskguard.toml at the repository root, else the scan root).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Do not read the scanned tree's own .tuskguard.toml (CI: a pull request must not be able
    /// to switch off or replace the built-in key rules); --config FILE is still read.
    #[arg(long)]
    pub no_repo_config: bool,
    /// Report only findings whose fingerprints are not in this baseline.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Scan files that .gitignore and friends would hide.
    #[arg(long)]
    pub no_ignore: bool,
    /// Skip files larger than this (e.g. 10M, 512K, 1G); skipped files are counted and said.
    #[arg(long, value_name = "SIZE", default_value = "50M", value_parser = parse_size)]
    pub max_file_size: u64,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_count)]
    pub threads: Option<usize>,
    /// Check every key found against the Tusky API (network; off by default).
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    pub api: ApiOptions,
}

/// How tuskguard talks to the Tusky API (`--verify`, `verify`, `revoke`). The URL is never read
/// from a config file: a hostile repository must not be able to redirect keys to its server.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Tusky API (with --verify, verify, revoke)")]
pub struct ApiOptions {
    /// API base URL; http:// only for loopback hosts.
    #[arg(
        long,
        env = "TUSKY_API_URL",
        value_name = "URL",
        default_value = "https://api.tusky.io"
    )]
    pub api_url: String,
    /// Timeout per request (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Time budget for all API calls of the run (e.g. 2m); keys not checked in time are unknown.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub time_budget: Duration,
    /// Keys checked at the same time.
    #[arg(long, value_name = "N", default_value = "4", value_parser = parse_count)]
    pub concurrency: usize,
    /// Also probe read-only endpoints of each live key to show the scopes it evidently holds.
    #[arg(long)]
    pub access_map: bool,
    /// Append-only log of revocations (default: $XDG_STATE_HOME/tuskguard/audit.jsonl).
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// With revoke: also revoke TUSKY_ADMIN_API_KEY when it leaked, last, after every other key
    /// (without this flag it is kept, so the run can still revoke the others).
    #[arg(long)]
    pub revoke_admin_key: bool,
    /// Proxy for API calls (proxy environment variables are ignored: a proxy sees every key).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ScanArgs {
    /// Files or directories to scan (default: .). With --staged: limit to these staged paths.
    pub paths: Vec<PathBuf>,
    /// Scan what the next commit would add (index vs HEAD), read from the index.
    #[arg(long)]
    pub staged: bool,
    /// After --verify, revoke the live keys (dry run unless --yes or a confirmation on a TTY).
    #[arg(long, requires = "verify")]
    pub revoke: bool,
    /// With --revoke: really revoke, without asking.
    #[arg(long, requires = "revoke")]
    pub yes: bool,
    #[command(flatten)]
    pub scan: ScanOptions,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone)]
// History reads git objects, never the file system, so ignore files play no part in it.
#[command(mut_arg("no_ignore", |arg| arg.hide(true)))]
pub struct HistoryArgs {
    /// Repository to audit (default: the one containing the current directory).
    pub repo: Option<PathBuf>,
    /// Only commits after REV, or a range A..B.
    #[arg(long, value_name = "REV|A..B")]
    pub since: Option<String>,
    /// Only history reachable from this branch.
    #[arg(long)]
    pub branch: Option<String>,
    /// At most N commits.
    #[arg(long, value_name = "N")]
    pub max_count: Option<usize>,
    /// Accept a partial audit: git objects that cannot be read (a damaged repository) are still
    /// reported, but the exit code is decided by the findings alone instead of being 2.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Memory (MiB) the audit may keep for trees, graph edges and mapped pack pages; beyond it,
    /// trees are read again and edges go to a temporary file. Per-object bookkeeping (about 150
    /// bytes per object) comes on top. See "Memory" in the README.
    #[arg(long, value_name = "MIB", default_value_t = crate::sources::budget::DEFAULT_MEMORY_BUDGET_MIB)]
    pub memory_budget: u64,
    /// Report only findings in files under PATH (relative to the repository root; repeatable).
    #[arg(long, value_name = "PATH")]
    pub include_path: Vec<String>,
    /// Audit exactly the commits a `git push` sends: reads the pre-push hook's stdin lines (or the
    /// pre-commit framework's PRE_COMMIT_* variables). See `install-hook --pre-push`.
    #[arg(long, conflicts_with_all = ["since", "branch", "max_count"])]
    pub pre_push: bool,
    /// With --pre-push: the remote pushed to (git passes it to the hook as $1); its
    /// remote-tracking refs are what it already has.
    #[arg(long, value_name = "NAME", requires = "pre_push")]
    pub remote: Option<String>,
    #[command(flatten)]
    pub scan: ScanOptions,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// A tuskguard JSON report, or - for stdin.
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub api: ApiOptions,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone)]
pub struct RevokeArgs {
    /// A tuskguard JSON report, or - for stdin.
    pub report: Option<PathBuf>,
    /// Really revoke (otherwise a dry run).
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub api: ApiOptions,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone)]
// A baseline records every finding, offline: an older baseline and the API options play no part.
#[command(
    mut_arg("baseline", |arg| arg.hide(true)),
    mut_arg("verify", |arg| arg.hide(true)),
    mut_arg("api_url", |arg| arg.hide(true)),
    mut_arg("timeout", |arg| arg.hide(true)),
    mut_arg("time_budget", |arg| arg.hide(true)),
    mut_arg("concurrency", |arg| arg.hide(true)),
    mut_arg("access_map", |arg| arg.hide(true)),
    mut_arg("audit_log", |arg| arg.hide(true)),
    mut_arg("revoke_admin_key", |arg| arg.hide(true)),
    mut_arg("proxy", |arg| arg.hide(true))
)]
pub struct BaselineArgs {
    /// Directory to scan (default: .).
    pub path: Option<PathBuf>,
    /// Where to write the baseline (default: .tuskguard-baseline.json in the scanned directory).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub scan: ScanOptions,
}

#[derive(Args, Debug, Clone)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub action: RulesAction,
    /// Config file with custom rules.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum RulesAction {
    /// List built-in and custom rules.
    List {
        /// Output format (json: one object with `rules` and `lints`, for scripts).
        #[arg(long, value_enum, default_value = "text")]
        format: RulesFormat,
    },
    /// Run every rule's examples and negative examples.
    Check,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RulesFormat {
    Text,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct InstallHookArgs {
    /// Repository (default: the one containing the current directory).
    pub repo: Option<PathBuf>,
    /// Replace an existing hook that tuskguard did not write (kept as pre-commit.tuskguard-backup).
    #[arg(long, conflicts_with_all = ["chain", "uninstall"])]
    pub force: bool,
    /// Keep an existing hook that tuskguard did not write: it runs first, then tuskguard; the
    /// commit is blocked if either fails.
    #[arg(long, conflicts_with = "uninstall")]
    pub chain: bool,
    /// Remove the hook tuskguard wrote, and put back the hook it chained or replaced.
    #[arg(long)]
    pub uninstall: bool,
    /// Install (or with --uninstall remove) a pre-push hook instead: every `git push` audits
    /// exactly the commits it sends (`tuskguard history --pre-push`), offline.
    #[arg(long)]
    pub pre_push: bool,
}
