//! Lints: env files git would commit, and API keys created with over-broad scopes.
//!
//! Lint findings flow through the same collector, suppression and reports as secrets; they are
//! fingerprinted on (rule id, path, normalised offending text).

pub mod broad_scope;
pub mod env_check;
pub mod env_files;
pub mod env_verdict;
pub mod gitignore_plain;
pub mod scopes;
mod text;

use crate::model::{
    CommitRef, Confidence, Encoding, FindingKind, Fingerprint, Location, Occurrence, Severity,
};

/// A lint rule as `tuskguard rules list` shows it.
#[derive(Clone, Copy, Debug)]
pub struct LintRule {
    pub id: &'static str,
    pub title: &'static str,
    pub kind: FindingKind,
    pub severity: Severity,
    pub description: &'static str,
}

pub const ENV_FILE_COMMITTED: &str = "env-file-committed";
pub const ENV_FILE_NOT_IGNORED: &str = "env-file-not-ignored";
pub const ENV_FILE_STAGED: &str = "env-file-staged";
pub const ADMIN_KEY_CREATED: &str = "tusky-admin-key-created";
pub const BROAD_SCOPES: &str = "tusky-broad-scopes";
pub const WRITE_SCOPES: &str = "tusky-write-scopes";
pub const UNKNOWN_SCOPE: &str = "tusky-unknown-scope";

/// Every lint rule. Ids are stable: fingerprints, baselines and `disabled_rules` use them.
pub const LINT_RULES: &[LintRule] = &[
    LintRule {
        id: ENV_FILE_COMMITTED,
        title: "Env file committed to git",
        kind: FindingKind::EnvNotIgnored,
        severity: Severity::High,
        description: "An env file (.env, .env.*, *.env; templates like .env.example excepted) is \
                      tracked in the git index (in `history`: held by any commit). Ignoring it now \
                      does not untrack it.",
    },
    LintRule {
        id: ENV_FILE_NOT_IGNORED,
        title: "Env file not ignored by git",
        kind: FindingKind::EnvNotIgnored,
        severity: Severity::Medium,
        description: "An untracked env file that git's ignore rules (.gitignore files, \
                      .git/info/exclude, core.excludesFile) do not ignore: one `git add .` away \
                      from a commit.",
    },
    LintRule {
        id: ENV_FILE_STAGED,
        title: "Env file staged for commit",
        kind: FindingKind::EnvNotIgnored,
        severity: Severity::High,
        description: "`scan --staged` (the pre-commit hook): the next commit would add or change \
                      an env file. In `history`, `env-file-committed` names every env file that \
                      was ever committed.",
    },
    LintRule {
        id: ADMIN_KEY_CREATED,
        title: "Tusky admin key created (scopes omitted or null)",
        kind: FindingKind::BroadScope,
        severity: Severity::High,
        description: "A key-creation request (POST /v2/api-keys, SDK call or provisioning spec) \
                      without `scopes`, or with `scopes: null`, creates an admin key equivalent \
                      to the account owner.",
    },
    LintRule {
        id: BROAD_SCOPES,
        title: "Tusky key created with every scope or every write scope",
        kind: FindingKind::BroadScope,
        severity: Severity::High,
        description: "A key-creation request asks for every scope, or every write scope, of \
                      either naming generation (environments:* or volumes:*), with or without \
                      publisher:*.",
    },
    LintRule {
        id: WRITE_SCOPES,
        title: "Tusky key created with write access to members, volumes or aggregators",
        kind: FindingKind::BroadScope,
        severity: Severity::Medium,
        description: "A key-creation request grants write scopes on members, environments/volumes \
                      or aggregators, which few keys need.",
    },
    LintRule {
        id: UNKNOWN_SCOPE,
        title: "Unknown Tusky scope in a key-creation request",
        kind: FindingKind::BroadScope,
        severity: Severity::High,
        description: "A scope name that neither generation of the Tusky API defines: a typo \
                      (file:write) or a wildcard (*, files:*). The request fails or the key does \
                      not get the access the code expects.",
    },
];

/// The descriptor of a lint rule id (every id this module emits has one).
pub fn lint_rule(id: &str) -> Option<&'static LintRule> {
    LINT_RULES.iter().find(|rule| rule.id == id)
}

/// `env-file-staged`: the finding for a staged path, when it names an env file.
pub fn staged_env_file(path: &str) -> Option<Occurrence> {
    env_files::is_env_file_path(path).then(|| {
        env_file_occurrence(
            ENV_FILE_STAGED,
            path.to_owned(),
            "",
            format!(
                "unstage it (`git rm --cached {}`) and add it to .gitignore; commit a template \
                 such as .env.example instead",
                crate::model::text::shell_quote(path)
            ),
            None,
        )
    })
}

/// `env-file-committed` in `history`: the finding for an env file a commit (`commit`, the first
/// to hold it at `path`) or a ref holds.
pub fn committed_env_file(path: &str, commit: Option<CommitRef>) -> Occurrence {
    env_file_occurrence(
        ENV_FILE_COMMITTED,
        path.to_owned(),
        "",
        "rotate every secret this file ever held; `git rm --cached` it, add it to .gitignore, \
         and purge it from history (git filter-repo --invert-paths --path <file>)"
            .to_owned(),
        commit,
    )
}

/// A finding about a whole env file (reported at 1:1), titled and ranked by its lint rule.
/// `fingerprint_text` is the normalised offending text the fingerprint covers.
pub fn env_file_occurrence(
    rule_id: &str,
    path: String,
    fingerprint_text: &str,
    remediation: String,
    commit: Option<CommitRef>,
) -> Occurrence {
    let rule = lint_rule(rule_id);
    Occurrence {
        rule_id: rule_id.to_owned(),
        kind: FindingKind::EnvNotIgnored,
        severity: rule.map_or(Severity::High, |r| r.severity),
        confidence: Confidence::High,
        title: rule.map_or("Env file", |r| r.title).to_owned(),
        remediation,
        fingerprint: Fingerprint::for_lint(rule_id, &path, fingerprint_text),
        secret: None,
        location: Location {
            path,
            raw_path: None,
            line: 1,
            column: 1,
            end_column: 2,
            encoding: Encoding::Plain,
            commit,
        },
    }
}

/// True when `id` names a lint rule (so `disabled_rules` may name it).
pub fn is_lint_rule(id: &str) -> bool {
    lint_rule(id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lint_rule_ids_are_unique_and_well_formed() {
        let mut ids: Vec<_> = LINT_RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), LINT_RULES.len());
        for id in ids {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}"
            );
        }
    }
}
