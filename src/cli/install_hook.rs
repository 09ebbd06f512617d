//! `tuskguard install-hook`: a plain git pre-commit hook that runs `tuskguard scan --staged`,
//! alone, after a hook that was there before (`--chain`), or removed again (`--uninstall`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use git2::Repository;

use super::args::{GlobalArgs, InstallHookArgs};
use super::output::ExitStatus;

/// Marks hooks we wrote, so a re-install may replace them and a foreign hook is never clobbered.
const MARKER: &str = "# installed by tuskguard install-hook";
/// The hook we chained (`--chain`): ours runs it first.
const CHAINED_SUFFIX: &str = ".tuskguard-chained";
/// The hook we replaced (`--force`), kept for `--uninstall` to restore.
const BACKUP_SUFFIX: &str = ".tuskguard-backup";
/// Which git hook is installed: `pre-commit` (the default) or `pre-push` (`--pre-push`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hook {
    PreCommit,
    PrePush,
}

impl Hook {
    fn name(self) -> &'static str {
        match self {
            Hook::PreCommit => "pre-commit",
            Hook::PrePush => "pre-push",
        }
    }

    /// The tuskguard command the hook runs, as written in the script.
    fn command(self) -> &'static str {
        match self {
            Hook::PreCommit => "scan --staged",
            Hook::PrePush => r#"history --pre-push --remote "$1""#,
        }
    }

    /// What the hook scans, for messages.
    fn scans(self) -> &'static str {
        match self {
            Hook::PreCommit => "the staged content",
            Hook::PrePush => "the commits being pushed",
        }
    }

    /// The git command the hook guards.
    fn guards(self) -> &'static str {
        match self {
            Hook::PreCommit => "commit",
            Hook::PrePush => "push",
        }
    }
}
/// Where a user who has no tuskguard yet can get it (no crates.io release exists yet).
pub const INSTALL_HINT: &str =
    "cargo install --locked --git https://github.com/tuskguard/tuskguard tuskguard";

pub fn run(global: &GlobalArgs, args: &InstallHookArgs) -> Result<ExitStatus> {
    let target = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let repo = Repository::discover(&target).map_err(|err| {
        anyhow::anyhow!(
            "{}: not a git repository ({}); install-hook needs one: run it inside a clone or pass its path",
            target.display(),
            err.message()
        )
    })?;
    if repo.is_bare() {
        bail!("this repository is bare: nobody commits in it, so it needs no pre-commit hook");
    }
    let kind = if args.pre_push {
        Hook::PrePush
    } else {
        Hook::PreCommit
    };
    let hooks_dir = hooks_dir(&repo)?;
    let hook = hooks_dir.join(kind.name());
    let message = if args.uninstall {
        uninstall(kind, &hooks_dir, &hook)?
    } else {
        install(kind, &hooks_dir, &hook, args)?
    };
    if !global.quiet {
        writeln!(std::io::stdout().lock(), "{message}")?;
    }
    Ok(ExitStatus::Clean)
}

fn install(kind: Hook, hooks_dir: &Path, hook: &Path, args: &InstallHookArgs) -> Result<String> {
    let existing = std::fs::read(hook).ok();
    let ours = existing.as_deref().is_some_and(is_ours);
    let chained = sibling(kind, hooks_dir, CHAINED_SUFFIX);
    let mut note = String::new();
    if let Some(text) = &existing
        && !ours
    {
        if args.chain {
            if chained.exists() {
                bail!(
                    "{} already exists: a hook was chained before. Move it away, then rerun",
                    chained.display()
                );
            }
            std::fs::rename(hook, &chained).with_context(|| {
                format!("cannot move {} to {}", hook.display(), chained.display())
            })?;
            note = format!(
                " The existing hook now runs first, from {}.",
                chained.display()
            );
        } else if args.force {
            let backup = sibling(kind, hooks_dir, BACKUP_SUFFIX);
            std::fs::write(&backup, text)
                .with_context(|| format!("cannot back up the old hook to {}", backup.display()))?;
            note = format!(" The old hook is kept as {} (not run).", backup.display());
        } else {
            bail!(
                "{} already exists and was not written by tuskguard; not touching it. \
                 Rerun with --chain to run it first and then tuskguard, or with --force to \
                 replace it (kept as {}{BACKUP_SUFFIX}), or add \
                 `tuskguard {} || exit 1` to it yourself",
                hook.display(),
                kind.name(),
                kind.command()
            );
        }
    } else if chained.exists() {
        note = format!(" It runs {} first.", chained.display());
    }
    std::fs::create_dir_all(hooks_dir)
        .with_context(|| format!("cannot create {}", hooks_dir.display()))?;
    let fallback = std::env::current_exe().ok();
    std::fs::write(hook, hook_script(kind, fallback.as_deref()))
        .with_context(|| format!("cannot write {}", hook.display()))?;
    make_executable(hook)?;
    Ok(format!(
        "Installed {}: every `git {}` now runs `tuskguard {}`.{note}",
        hook.display(),
        kind.guards(),
        kind.command().replace(r#" --remote "$1""#, "")
    ))
}

fn uninstall(kind: Hook, hooks_dir: &Path, hook: &Path) -> Result<String> {
    let Ok(text) = std::fs::read(hook) else {
        return Ok(format!(
            "No hook at {}: nothing to uninstall.",
            hook.display()
        ));
    };
    if !is_ours(&text) {
        bail!(
            "{} was not written by tuskguard; not touching it (remove tuskguard from it by hand)",
            hook.display()
        );
    }
    std::fs::remove_file(hook).with_context(|| format!("cannot remove {}", hook.display()))?;
    for suffix in [CHAINED_SUFFIX, BACKUP_SUFFIX] {
        let previous = sibling(kind, hooks_dir, suffix);
        if previous.exists() {
            std::fs::rename(&previous, hook).with_context(|| {
                format!(
                    "cannot restore {} to {}",
                    previous.display(),
                    hook.display()
                )
            })?;
            return Ok(format!(
                "Removed the tuskguard hook and restored the previous one ({} → {}).",
                previous.display(),
                hook.display()
            ));
        }
    }
    Ok(format!("Removed {}.", hook.display()))
}

fn is_ours(text: &[u8]) -> bool {
    String::from_utf8_lossy(text).contains(MARKER)
}

fn sibling(kind: Hook, hooks_dir: &Path, suffix: &str) -> PathBuf {
    hooks_dir.join(format!("{}{suffix}", kind.name()))
}

/// `core.hooksPath` when set (relative to the working tree, as git reads it), else `.git/hooks`
/// of the main repository (worktrees share it).
fn hooks_dir(repo: &Repository) -> Result<PathBuf> {
    let configured = repo
        .config()
        .ok()
        .and_then(|config| config.get_path("core.hooksPath").ok());
    Ok(match configured {
        Some(path) if path.is_absolute() => path,
        Some(path) => repo
            .workdir()
            .context("core.hooksPath is relative but there is no working tree")?
            .join(path),
        None => repo.commondir().join("hooks"),
    })
}

/// The hook runs a chained hook first (when one is there and executable, as git would), then
/// tuskguard, and fails when either failed: both always run, so one attempt shows every problem.
/// A pre-push hook reads git's ref lines from stdin once and hands both the same lines.
fn hook_script(kind: Hook, fallback: Option<&Path>) -> String {
    let fallback = fallback
        .and_then(|p| p.to_str())
        .filter(|p| !p.contains('\''))
        .unwrap_or("");
    let name = kind.name();
    let command = kind.command();
    let scans = kind.scans();
    let guards = kind.guards();
    let (uninstall, read_input, feed) = match kind {
        Hook::PreCommit => ("--uninstall", "", ""),
        Hook::PrePush => (
            "--pre-push --uninstall",
            "pushed_refs=\"$(cat)\"\n",
            "printf '%s\\n' \"$pushed_refs\" | ",
        ),
    };
    format!(
        r#"#!/bin/sh
{MARKER}
# Blocks {guards}s that add Tusky API keys. Remove with: tuskguard install-hook {uninstall}
{read_input}chained="$(dirname "$0")/{name}{CHAINED_SUFFIX}"
chained_status=0
if [ -x "$chained" ]; then
    {feed}"$chained" "$@" || chained_status=$?
fi
tuskguard_bin=tuskguard
command -v tuskguard >/dev/null 2>&1 || tuskguard_bin='{fallback}'
if [ -z "$tuskguard_bin" ] || ! command -v "$tuskguard_bin" >/dev/null 2>&1; then
    echo "tuskguard: not found on PATH, so {scans} was not scanned; {guards} blocked." >&2
    echo "  install it ({INSTALL_HINT}), or skip once with: git {guards} --no-verify" >&2
    exit 1
fi
{feed}"$tuskguard_bin" {command}
status=$?
if [ "$chained_status" -ne 0 ]; then
    echo "tuskguard: the chained hook $chained failed (exit $chained_status); {guards} blocked." >&2
    exit "$chained_status"
fi
exit "$status"
"#
    )
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut permissions = std::fs::metadata(path)?.permissions();
    permissions.set_mode(0o755);
    std::fs::set_permissions(path, permissions)
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_is_marked_and_runs_a_staged_scan() {
        let script = hook_script(Hook::PreCommit, Some(Path::new("/opt/bin/tuskguard")));
        assert!(script.starts_with("#!/bin/sh\n"));
        assert!(script.contains(MARKER));
        assert!(script.contains("scan --staged"));
        assert!(script.contains("'/opt/bin/tuskguard'"));
        assert!(script.contains("pre-commit.tuskguard-chained"));
        assert!(!script.contains("cargo install tuskguard"));
    }

    #[test]
    fn pre_push_script_reads_the_refs_once_and_hands_them_to_both() {
        let script = hook_script(Hook::PrePush, None);
        assert!(script.contains(MARKER));
        assert!(script.contains("pushed_refs=\"$(cat)\""));
        assert!(script.contains(
            "printf '%s\\n' \"$pushed_refs\" | \"$tuskguard_bin\" history --pre-push --remote \"$1\""
        ));
        assert!(script.contains("pre-push.tuskguard-chained"));
        assert!(script.contains("git push --no-verify"));
    }
}
