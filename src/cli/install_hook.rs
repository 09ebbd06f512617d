//! `tuskguard install-hook`: a plain git pre-commit hook that runs `tuskguard scan --staged`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use git2::Repository;

use super::args::{GlobalArgs, InstallHookArgs};
use super::output::ExitStatus;

/// Marks hooks we wrote, so a re-install may replace them and a foreign hook is never clobbered.
const MARKER: &str = "# installed by tuskguard install-hook";

pub fn run(global: &GlobalArgs, args: &InstallHookArgs) -> Result<ExitStatus> {
    let target = args.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let repo = Repository::discover(&target).with_context(|| {
        format!(
            "{}: not a git repository (install-hook needs one)",
            target.display()
        )
    })?;
    if repo.is_bare() {
        bail!("this repository is bare: nobody commits in it, so it needs no pre-commit hook");
    }
    let hooks_dir = hooks_dir(&repo)?;
    let hook = hooks_dir.join("pre-commit");
    let existing = std::fs::read(&hook).ok();
    let ours = existing
        .as_deref()
        .is_some_and(|text| String::from_utf8_lossy(text).contains(MARKER));
    if let Some(text) = &existing
        && !ours
    {
        if !args.force {
            bail!(
                "{} already exists and was not written by tuskguard; not touching it. \
                 Add `tuskguard scan --staged || exit 1` to it yourself, or rerun with --force \
                 (the old hook is kept as pre-commit.tuskguard-backup)",
                hook.display()
            );
        }
        let backup = hooks_dir.join("pre-commit.tuskguard-backup");
        std::fs::write(&backup, text)
            .with_context(|| format!("cannot back up the old hook to {}", backup.display()))?;
    }
    std::fs::create_dir_all(&hooks_dir)
        .with_context(|| format!("cannot create {}", hooks_dir.display()))?;
    let fallback = std::env::current_exe().ok();
    std::fs::write(&hook, hook_script(fallback.as_deref()))
        .with_context(|| format!("cannot write {}", hook.display()))?;
    make_executable(&hook)?;
    if !global.quiet {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "Installed {}: every `git commit` now runs `tuskguard scan --staged`.",
            hook.display()
        )?;
    }
    Ok(ExitStatus::Clean)
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

fn hook_script(fallback: Option<&Path>) -> String {
    let fallback = fallback
        .and_then(|p| p.to_str())
        .filter(|p| !p.contains('\''))
        .unwrap_or("");
    format!(
        r#"#!/bin/sh
{MARKER}
# Blocks commits that add Tusky API keys. Remove this file to uninstall.
tuskguard_bin=tuskguard
command -v tuskguard >/dev/null 2>&1 || tuskguard_bin='{fallback}'
if [ -z "$tuskguard_bin" ] || ! command -v "$tuskguard_bin" >/dev/null 2>&1; then
    echo "tuskguard: not found on PATH, so the staged content was not scanned; commit blocked." >&2
    echo "  install it (cargo install tuskguard), or skip once with: git commit --no-verify" >&2
    exit 1
fi
exec "$tuskguard_bin" scan --staged
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
        let script = hook_script(Some(Path::new("/opt/bin/tuskguard")));
        assert!(script.starts_with("#!/bin/sh\n"));
        assert!(script.contains(MARKER));
        assert!(script.contains("scan --staged"));
        assert!(script.contains("'/opt/bin/tuskguard'"));
    }
}
