//! What to tell someone whose commit `scan --staged` just blocked, fitted to what was found: a
//! key needs removing (and maybe revoking); an env file needs unstaging, by name; a key-creation
//! request needs narrower scopes.

use crate::findings::{FindingKind, Report};
use crate::model::text::shell_quote;

pub fn blocked_commit_help(report: &Report) -> String {
    let has = |kind: FindingKind| report.findings.iter().any(|f| f.kind == kind);
    let env_files: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::EnvNotIgnored)
        .flat_map(|f| f.locations.first())
        .map(|location| shell_quote(&location.path))
        .collect();
    let mut what = Vec::new();
    let mut fixes = Vec::new();
    if has(FindingKind::Secret) {
        what.push("holds a secret");
        fixes.push(
            "remove the key from the file (read it from TUSKY_API_KEY instead), then `git add` \
             it again;\n          if the key was ever pushed or shared, revoke it and create a new one."
                .to_owned(),
        );
    }
    if !env_files.is_empty() {
        what.push(if env_files.len() == 1 {
            "adds an env file"
        } else {
            "adds env files"
        });
        fixes.push(format!(
            "unstage it: `git rm --cached {}`, add it to .gitignore, and commit a template such \
             as .env.example instead.",
            env_files.join(" ")
        ));
    }
    if has(FindingKind::BroadScope) {
        what.push("creates a Tusky key with more scope than it needs");
        fixes.push(
            "pass the narrowest `scopes` list that works (e.g. [\"files:read\"]), then `git add` \
             it again."
                .to_owned(),
        );
    }
    if what.is_empty() {
        what.push("holds a finding");
    }
    let mut text = format!(
        "tuskguard: this commit was blocked because the staged content above {}.\n",
        what.join(" and ")
    );
    for fix in fixes {
        text.push_str(&format!("  fix:    {fix}\n"));
    }
    text.push_str(
        "  allow:  a false alarm? add `tuskguard:allow` in a comment on that line, or add the fingerprint\n          \
         to .tuskguardignore (one per line, with a comment saying why).\n  \
         last resort: `git commit --no-verify` skips every pre-commit check.",
    );
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Finding, Severity};
    use crate::reports::fixtures::{finding, location, report};

    fn env_file(path: &str) -> Finding {
        let mut env = finding(
            "env-file-staged",
            Severity::High,
            path,
            location(path, 1, 1, 1),
        );
        env.kind = FindingKind::EnvNotIgnored;
        env.secret = None;
        env
    }

    #[test]
    fn an_env_file_alone_is_unstaged_by_name_and_no_key_is_mentioned() {
        let text = blocked_commit_help(&report(vec![env_file("config/.env")]));
        assert!(text.contains("adds an env file"), "{text}");
        assert!(text.contains("`git rm --cached config/.env`"), "{text}");
        assert!(!text.contains("remove the key"), "{text}");
        assert!(!text.contains("holds a secret"), "{text}");
    }

    #[test]
    fn a_key_gets_the_key_advice_and_odd_names_are_quoted() {
        let key = finding(
            "tusky-live-key",
            Severity::Critical,
            "f2",
            location("a.py", 1, 1, 2),
        );
        let text = blocked_commit_help(&report(vec![key, env_file("my dir/.env")]));
        assert!(
            text.contains("holds a secret and adds an env file"),
            "{text}"
        );
        assert!(text.contains("remove the key from the file"), "{text}");
        assert!(text.contains("`git rm --cached 'my dir/.env'`"), "{text}");
        assert!(text.contains("--no-verify"), "{text}");
    }
}
