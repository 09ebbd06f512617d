//! The lints on `tuskguard scan`: env files git would commit (checked against `git check-ignore`
//! on the same tree) and over-broad key scopes (every case with a positive and a negative twin).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command as StdCommand;

use assert_fs::TempDir;
use assert_fs::prelude::*;
use serde_json::Value;

use crate::helpers::*;

/// `tuskguard scan --format json DIR`, with HOME pointing at the test dir so no global git
/// config (core.excludesFile) of the developer can leak in.
fn scan_json(dir: &Path) -> Value {
    let output = tuskguard()
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["scan", "--format", "json"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "scan failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    json_of(&output)
}

fn scan_text(dir: &Path) -> (i32, String) {
    let output = tuskguard()
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .arg("scan")
        .arg(dir)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// `(rule_id, path, line)` of every finding.
fn findings(report: &Value) -> Vec<(String, String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["locations"][0]["path"].as_str().unwrap().to_owned(),
                f["locations"][0]["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn finding<'a>(report: &'a Value, rule: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {report:#}"))
}

fn paths_of(report: &Value, rule: &str) -> BTreeSet<String> {
    findings(report)
        .into_iter()
        .filter(|(r, _, _)| r == rule)
        .map(|(_, path, _)| path)
        .collect()
}

/// git's own verdict: `git check-ignore -q PATH` exits 0 when ignored, 1 when not.
fn git_ignores(dir: &Path, path: &str) -> bool {
    let status = StdCommand::new("git")
        .args(["check-ignore", "-q", "--no-index", path])
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap();
    match status.code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!("git check-ignore {path}: {other:?}"),
    }
}

/// Writes a fixture file. Request fixtures spell the collection name `%api-keys%` (also
/// `%apiKeys%`, `%api_keys%`) so this repository's own source holds no key-creation request and
/// scans itself clean; the real name is put back here.
fn write(dir: &TempDir, path: &str, content: &str) {
    dir.child(path)
        .write_str(&unescape_fixture(content))
        .unwrap();
}

fn unescape_fixture(content: &str) -> String {
    ["api-keys", "apiKeys", "api_keys"]
        .iter()
        .fold(content.to_owned(), |text, name| {
            text.replace(&format!("%{name}%"), name)
        })
}

/// Every env file of the ignore-rule scenario (all untracked).
const SCENARIO_ENV_FILES: &[&str] = &[
    ".env",
    "app/.env",
    "root-only.env",
    "app/root-only.env",
    "a/deep/b/x.env",
    "deep/y.env",
    "build/.env.prod",
    "build.d/.env.prod",
    "trailing.env",
    "secrets/.env.x",
    "svc/a.env",
    "svc/keep.env",
    "svc/sub/keep.env",
    "vendor/.env",
    "pkg/.env.local",
    "pkg/.env.staging",
    "excluded.env",
    "global.env",
    "other/prod.env",
    "docs/#weird.env",
];

/// A tree exercising every ignore feature the issue lists.
fn write_ignore_scenario(dir: &TempDir) {
    write(
        dir,
        ".gitignore",
        "# comment\n\
         .env\n\
         /root-only.env\n\
         **/deep/**/*.env\n\
         build/\n\
         trailing.env   \n\
         secrets\n\
         vendor/\n\
         !vendor/.env\n\
         .env.*\n",
    );
    // CRLF line endings and a negation that re-includes one file.
    write(dir, "svc/.gitignore", "*.env\r\n!keep.env\r\n");
    write(dir, "svc/sub/.gitignore", "keep.env\n");
    write(dir, "pkg/.gitignore", "!.env.local\n");
    for path in SCENARIO_ENV_FILES {
        write(dir, path, "A=1\n");
    }
    write(dir, "build.d/keep.txt", "not an env file\n");
}

#[test]
fn env_verdicts_match_git_check_ignore_in_a_repository() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    write_ignore_scenario(&dir);
    write(&dir, ".git/info/exclude", "excluded.env\n");
    let global = dir.child("global-excludes");
    global.write_str("global.env\n").unwrap();
    git(
        dir.path(),
        &[
            "config",
            "core.excludesFile",
            global.path().to_str().unwrap(),
        ],
    );

    let report = scan_json(dir.path());
    let reported = paths_of(&report, "env-file-not-ignored");
    let mut ignored = 0;
    for path in SCENARIO_ENV_FILES {
        let git_says_ignored = git_ignores(dir.path(), path);
        ignored += usize::from(git_says_ignored);
        assert_eq!(
            !reported.contains(*path),
            git_says_ignored,
            "{path}: tuskguard and git check-ignore disagree (reported: {reported:?})"
        );
    }
    // The scenario must exercise both outcomes, including the tricky ones.
    assert!(ignored >= 10, "only {ignored} ignored");
    for expected in [
        "app/root-only.env",
        "svc/keep.env",
        "pkg/.env.local",
        "other/prod.env",
    ] {
        assert!(reported.contains(expected), "{expected}: {reported:?}");
    }
    for expected_ignored in [
        "vendor/.env",
        "svc/sub/keep.env",
        "trailing.env",
        "excluded.env",
        "global.env",
        "build/.env.prod",
    ] {
        assert!(!reported.contains(expected_ignored), "{expected_ignored}");
    }
    assert!(paths_of(&report, "env-file-committed").is_empty());
}

#[test]
fn env_verdicts_match_git_check_ignore_in_a_plain_directory() {
    let dir = TempDir::new().unwrap();
    write_ignore_scenario(&dir);
    // No repository: only the tree's .gitignore files count.
    let report = scan_json(dir.path());
    let reported = paths_of(&report, "env-file-not-ignored");
    // Make the same tree a repository only now, to ask git what it would have ignored.
    init_repo(dir.path());
    for path in SCENARIO_ENV_FILES {
        assert_eq!(
            !reported.contains(*path),
            git_ignores(dir.path(), path),
            "{path}: tuskguard (plain directory) and git check-ignore disagree ({reported:?})"
        );
    }
    // Without .git/info/exclude or core.excludesFile these two are not ignored.
    assert!(reported.contains("excluded.env") && reported.contains("global.env"));
}

#[test]
fn suggestion_names_the_line_and_the_gitignore_that_will_work() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    write(&dir, "app/.gitignore", "!prod.env\n");
    write(&dir, "app/prod.env", "A=1\n");
    write(&dir, "config/.env.local", "A=1\n");
    let report = scan_json(dir.path());
    let reincluded = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["locations"][0]["path"] == "app/prod.env")
        .unwrap();
    let fix = reincluded["remediation"].as_str().unwrap();
    assert!(fix.contains("`/prod.env` to app/.gitignore"), "{fix}");
    let plain = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["locations"][0]["path"] == "config/.env.local")
        .unwrap();
    let fix = plain["remediation"].as_str().unwrap();
    assert!(
        fix.contains("`.env.local` to the repository's top-level .gitignore"),
        "{fix}"
    );

    // Following both suggestions makes git ignore both files, and the scan clean.
    write(&dir, "app/.gitignore", "!prod.env\n/prod.env\n");
    write(&dir, ".gitignore", ".env.local\n");
    assert!(git_ignores(dir.path(), "app/prod.env"));
    assert!(git_ignores(dir.path(), "config/.env.local"));
    let after = scan_json(dir.path());
    assert!(findings(&after).is_empty(), "{after:#}");
}

#[test]
fn tracked_env_files_are_committed_even_when_ignored_later() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    write(&dir, ".env", "A=1\n");
    write(&dir, "deploy/prod.env", "A=1\n");
    write(&dir, "forced/.env", "A=1\n");
    write(&dir, "gone/.env", "A=1\n");
    write(&dir, ".env.example", "A=\n");
    write(&dir, ".gitignore", "forced/\n");
    git(
        dir.path(),
        &["add", ".env", "deploy", ".env.example", ".gitignore"],
    );
    git(dir.path(), &["add", "-f", "forced/.env", "gone/.env"]);
    git(dir.path(), &["commit", "-q", "-m", "oops"]);
    // Ignoring them afterwards does not untrack them; deleting from disk does not either.
    write(&dir, ".gitignore", "forced/\n.env\n*.env\n");
    std::fs::remove_file(dir.path().join("gone/.env")).unwrap();

    let report = scan_json(dir.path());
    let committed = paths_of(&report, "env-file-committed");
    let expected: BTreeSet<String> = [".env", "deploy/prod.env", "forced/.env", "gone/.env"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(committed, expected);
    assert!(paths_of(&report, "env-file-not-ignored").is_empty());
    let first = finding(&report, "env-file-committed");
    assert_eq!(first["kind"], "env-not-ignored");
    assert_eq!(first["severity"], "high");
    let fix = first["remediation"].as_str().unwrap();
    assert!(fix.contains("ignoring it now does not untrack it"), "{fix}");
    assert!(fix.contains("git rm --cached"), "{fix}");
}

#[test]
fn untracked_unignored_env_file_is_a_medium_warning_and_ignored_is_fine() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    write(&dir, ".env", "A=1\n");
    let report = scan_json(dir.path());
    let found = finding(&report, "env-file-not-ignored");
    assert_eq!(found["severity"], "medium");
    assert_eq!(found["locations"][0]["path"], ".env");
    assert!(
        found["remediation"]
            .as_str()
            .unwrap()
            .contains("one `git add .` away from a leak")
    );

    write(&dir, ".gitignore", ".env\n");
    let (code, out) = scan_text(dir.path());
    assert_eq!(code, 0, "{out}");
}

#[test]
fn templates_and_look_alikes_are_not_env_files() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    for name in [
        ".env.example",
        ".env.sample",
        ".env.template",
        ".env.dist",
        ".env.defaults",
        ".envrc",
        "environment.ts",
    ] {
        write(&dir, name, "A=1\n");
    }
    commit_all(dir.path(), "templates");
    let (code, out) = scan_text(dir.path());
    assert_eq!(code, 0, "{out}");
}

#[test]
fn env_file_holding_a_key_gets_both_findings_that_read_together() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    let key = live_key(41);
    write(&dir, ".env", &format!("DEBUG=1\nTUSKY_API_KEY={key}\n"));
    commit_all(dir.path(), "add env");
    let report = scan_json(dir.path());
    let rules: BTreeSet<String> = findings(&report).into_iter().map(|f| f.0).collect();
    assert!(rules.contains("env-file-committed"), "{rules:?}");
    let secret = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "secret")
        .unwrap_or_else(|| panic!("no secret finding: {report:#}"));
    assert_eq!(secret["locations"][0]["line"], 2);
    let env = finding(&report, "env-file-committed");
    assert!(
        env["remediation"]
            .as_str()
            .unwrap()
            .contains("also holds a Tusky key (the finding at .env:2)")
    );
    let (code, text) = scan_text(dir.path());
    assert_eq!(code, 1);
    assert!(text.contains("Env file committed to git"), "{text}");
    assert!(!text.contains(&key), "full key printed");
    assert!(!serde_json::to_string(&report).unwrap().contains(&key));

    // Negative twin: an env file without a key says nothing about one.
    let clean = TempDir::new().unwrap();
    init_repo(clean.path());
    write(&clean, ".env", "DEBUG=1\n");
    commit_all(clean.path(), "add env");
    let report = scan_json(clean.path());
    let env = finding(&report, "env-file-committed");
    assert!(
        !env["remediation"]
            .as_str()
            .unwrap()
            .contains("also holds a Tusky key")
    );
}

#[test]
fn env_findings_are_suppressed_by_ignore_file_baseline_and_config() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    write(&dir, ".env", "A=1\n");
    let report = scan_json(dir.path());
    let fingerprint = finding(&report, "env-file-not-ignored")["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    // The fingerprint is stable across runs.
    assert_eq!(
        finding(&scan_json(dir.path()), "env-file-not-ignored")["fingerprint"],
        fingerprint.as_str()
    );

    write(
        &dir,
        ".tuskguardignore",
        &format!("{fingerprint} # local only\n"),
    );
    let (code, out) = scan_text(dir.path());
    assert_eq!(code, 0, "{out}");
    std::fs::remove_file(dir.path().join(".tuskguardignore")).unwrap();

    let baseline = dir.child("baseline.json");
    std::fs::write(baseline.path(), serde_json::to_vec(&report).unwrap()).unwrap();
    tuskguard()
        .env("HOME", dir.path())
        .args(["scan", "--baseline"])
        .arg(baseline.path())
        .arg(dir.path())
        .assert()
        .code(0);

    write(
        &dir,
        ".tuskguard.toml",
        "disabled_rules = [\"env-file-not-ignored\"]\n",
    );
    let (code, out) = scan_text(dir.path());
    assert_eq!(code, 0, "{out}");
}

#[test]
fn scanning_a_subdirectory_or_one_file_judges_with_the_whole_repository() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    write(&dir, ".gitignore", "*.local\n");
    write(&dir, "app/.env.local", "A=1\n");
    write(&dir, "app/.env", "A=1\n");
    write(&dir, "app/prod.env", "A=1\n");
    git(dir.path(), &["add", "app/prod.env"]);

    let report = scan_json(&dir.path().join("app"));
    // Paths are relative to the scanned directory; git commands name the repository path.
    assert_eq!(
        paths_of(&report, "env-file-not-ignored"),
        [".env".to_owned()].into()
    );
    assert_eq!(
        paths_of(&report, "env-file-committed"),
        ["prod.env".to_owned()].into()
    );
    let committed = finding(&report, "env-file-committed");
    assert!(
        committed["remediation"]
            .as_str()
            .unwrap()
            .contains("git rm --cached app/prod.env")
    );

    let output = tuskguard()
        .env("HOME", dir.path())
        .args(["scan", "--format", "json"])
        .arg(dir.path().join("app/.env.local"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "an ignored env file is fine");
    let output = tuskguard()
        .env("HOME", dir.path())
        .args(["scan", "--format", "json"])
        .arg(dir.path().join("app/.env"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        json_of(&output)["findings"][0]["rule_id"],
        "env-file-not-ignored"
    );
}

#[test]
fn a_repository_inside_a_plain_directory_answers_for_its_own_files() {
    let dir = TempDir::new().unwrap();
    write(&dir, "loose/.env", "A=1\n");
    write(&dir, "project/.env", "A=1\n");
    write(&dir, "project/.env.local", "A=1\n");
    init_repo(&dir.path().join("project"));
    write(&dir, "project/.git/info/exclude", ".env.local\n");
    git(&dir.path().join("project"), &["add", ".env"]);
    let report = scan_json(dir.path());
    assert_eq!(
        paths_of(&report, "env-file-not-ignored"),
        ["loose/.env".to_owned()].into()
    );
    assert_eq!(
        paths_of(&report, "env-file-committed"),
        ["project/.env".to_owned()].into()
    );
}

/// A repository nested in a repository (not a submodule) judges its own env files, by its own
/// index and ignore rules, and a tracked env file its own rules ignore is still found.
#[test]
fn a_repository_inside_a_repository_answers_for_its_own_files() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    write(&dir, ".gitignore", "inner/.env.local\n");
    write(&dir, "outer.env", "A=1\n");
    let inner = dir.path().join("inner");
    write(&dir, "inner/.env.local", "A=1\n");
    write(&dir, "inner/app.env", "A=1\n");
    write(&dir, "inner/kept.env", "A=1\n");
    init_repo(&inner);
    git(&inner, &["add", "kept.env"]);
    write(&dir, "inner/.gitignore", "kept.env\n");
    let report = scan_json(dir.path());
    assert_eq!(
        paths_of(&report, "env-file-not-ignored"),
        [
            "inner/.env.local".to_owned(),
            "inner/app.env".to_owned(),
            "outer.env".to_owned()
        ]
        .into()
    );
    assert_eq!(
        paths_of(&report, "env-file-committed"),
        ["inner/kept.env".to_owned()].into()
    );
}

#[test]
fn a_tracked_file_that_is_also_ignored_says_so() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    write(&dir, ".env", "A=1\n");
    commit_all(dir.path(), "env");
    let report = scan_json(dir.path());
    let fix = finding(&report, "env-file-committed")["remediation"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!fix.contains("already matches"), "{fix}");
    write(&dir, ".gitignore", ".env\n");
    let report = scan_json(dir.path());
    let fix = finding(&report, "env-file-committed")["remediation"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(fix.contains("already matches"), "{fix}");
}

#[test]
fn hostile_env_file_names_are_quoted_and_escaped() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    write(&dir, "odd dir/it's.env", "A=1\n");
    write(&dir, "new\nline.env", "A=1\n");
    git(dir.path(), &["add", "odd dir/it's.env"]);
    let report = scan_json(dir.path());
    let committed = finding(&report, "env-file-committed");
    let fix = committed["remediation"].as_str().unwrap();
    assert!(
        fix.contains(r#"git rm --cached 'odd dir/it'\''s.env'"#),
        "{fix}"
    );
    assert_eq!(
        paths_of(&report, "env-file-not-ignored"),
        ["new\nline.env".to_owned()].into()
    );
    let (_, text) = scan_text(dir.path());
    assert!(text.contains("new\\nline.env:1:1"), "{text}");
    // The fix line stays one line: the name is quoted for bash, not broken.
    assert!(
        text.contains("git check-ignore -v $'new\\nline.env'"),
        "{text}"
    );
}

#[test]
fn linked_worktrees_use_the_shared_exclude_file_and_their_own_index() {
    let dir = TempDir::new().unwrap();
    let main = dir.path().join("main");
    std::fs::create_dir(&main).unwrap();
    init_repo(&main);
    std::fs::write(main.join("prod.env"), "A=1\n").unwrap();
    commit_all(&main, "oops");
    std::fs::create_dir_all(main.join(".git/info")).unwrap();
    std::fs::write(main.join(".git/info/exclude"), "local.env\n").unwrap();
    git(&main, &["worktree", "add", "-q", "../linked"]);
    let linked = dir.path().join("linked");
    std::fs::write(linked.join("local.env"), "A=1\n").unwrap();
    std::fs::write(linked.join("other.env"), "A=1\n").unwrap();
    let report = scan_json(&linked);
    assert_eq!(
        paths_of(&report, "env-file-committed"),
        ["prod.env".to_owned()].into()
    );
    assert_eq!(
        paths_of(&report, "env-file-not-ignored"),
        ["other.env".to_owned()].into()
    );
}

// ---- broad-scope -------------------------------------------------------------------------

/// Scans a directory holding one file and returns `(rule_id, line)` of its findings.
fn lint_file(name: &str, content: &str) -> (Vec<(String, u64)>, Value) {
    let dir = TempDir::new().unwrap();
    write(&dir, name, content);
    let report = scan_json(dir.path());
    let found = findings(&report)
        .into_iter()
        .map(|(rule, _, line)| (rule, line))
        .collect();
    (found, report)
}

fn rules_of(name: &str, content: &str) -> Vec<String> {
    lint_file(name, content)
        .0
        .into_iter()
        .map(|f| f.0)
        .collect()
}

const GEN1_ALL: &str = r#""environments:read", "environments:write", "files:read", "files:write", "members:read", "members:write", "account:read", "aggregators:read", "aggregators:write""#;
const GEN1_ALL_READ: &str =
    r#""environments:read", "files:read", "members:read", "account:read", "aggregators:read""#;

#[test]
fn fetch_without_scopes_creates_an_admin_key() {
    let code = "import { upload } from './store';\n\nexport async function makeKey() {\n  const res = await fetch(`${BASE}/v2/%api-keys%`, {\n    method: 'POST',\n    headers: { 'Api-Key': process.env.TUSKY_API_KEY },\n    body: JSON.stringify({ name: 'uploader', expiresAt: null }),\n  });\n  return upload(res);\n}\n";
    let (found, report) = lint_file("keys.ts", code);
    assert_eq!(found, vec![("tusky-admin-key-created".to_owned(), 4)]);
    let admin = finding(&report, "tusky-admin-key-created");
    assert_eq!(admin["kind"], "broad-scope");
    assert_eq!(admin["severity"], "high");
    assert_eq!(admin["locations"][0]["column"], 3);
    let fix = admin["remediation"].as_str().unwrap();
    assert!(fix.contains("admin key"), "{fix}");
    // The code uploads: the narrowest set that fits is files:write.
    assert!(fix.contains(r#"["files:write"]"#), "{fix}");

    let narrow = code.replace(
        "name: 'uploader', expiresAt: null",
        "name: 'uploader', scopes: ['files:write'], expiresAt: null",
    );
    assert!(rules_of("keys.ts", &narrow).is_empty());
}

#[test]
fn scopes_null_is_an_admin_key_and_listing_is_fine() {
    let code = "const res = await fetch(API + '/v2/%api-keys%', { method: 'POST', body: JSON.stringify({ name: 'x', scopes: null }) });\n";
    let (found, report) = lint_file("a.js", code);
    assert_eq!(found, vec![("tusky-admin-key-created".to_owned(), 1)]);
    let fix = finding(&report, "tusky-admin-key-created")["remediation"]
        .as_str()
        .unwrap()
        .to_owned();
    // No hint in the code: the least-privilege advice.
    assert!(fix.contains("grant only what the key's job needs"), "{fix}");

    let list = "const res = await fetch(API + '/v2/%api-keys%');\nconst body = { name: 'x', scopes: null };\n";
    assert!(rules_of("a.js", list).is_empty());
    let list_paged =
        "const res = await fetch(API + '/v2/%api-keys%?limit=10', { method: 'GET' });\n";
    assert!(rules_of("a.js", list_paged).is_empty());
}

#[test]
fn axios_every_scope_is_high_and_every_read_is_fine() {
    let code = format!(
        "await axios.post(`${{BASE}}/v2/%api-keys%`, {{\n  name: 'everything',\n  scopes: [{GEN1_ALL}],\n}}, {{ headers }});\n"
    );
    let (found, report) = lint_file("a.js", &code);
    assert_eq!(found, vec![("tusky-broad-scopes".to_owned(), 1)]);
    assert!(
        finding(&report, "tusky-broad-scopes")["title"]
            .as_str()
            .unwrap()
            .contains("every scope")
    );
    let reads = code.replace(GEN1_ALL, GEN1_ALL_READ);
    assert!(rules_of("a.js", &reads).is_empty());
}

#[test]
fn python_requests_every_scope_gen2_with_publisher_and_narrow_twin() {
    let all =
        GEN1_ALL.replace("environments", "volumes") + r#", "publisher:read", "publisher:write""#;
    let code = format!(
        "import requests\n\nresp = requests.post(\n    f\"{{BASE}}/v2/%api-keys%\",\n    headers={{\"Api-Key\": os.environ.get(\"TUSKY_API_KEY\")}},\n    json={{\"name\": \"ops\", \"scopes\": [{all}]}},\n)\n"
    );
    let (found, _) = lint_file("make_key.py", &code);
    assert_eq!(found, vec![("tusky-broad-scopes".to_owned(), 3)]);
    let narrow = code.replace(&all, r#""files:read", "volumes:read""#);
    assert!(rules_of("make_key.py", &narrow).is_empty());
}

#[test]
fn go_every_write_scope_and_narrow_twin() {
    let code = "package main\n\nfunc create() {\n\tpayload, _ := json.Marshal(map[string]any{\n\t\t\"name\":   \"ci\",\n\t\t\"scopes\": []string{\"environments:write\", \"files:write\", \"members:write\", \"aggregators:write\"},\n\t})\n\treq, _ := http.NewRequest(http.MethodPost, baseURL+\"/v2/%api-keys%\", bytes.NewReader(payload))\n\t_ = req\n}\n";
    let (found, report) = lint_file("main.go", code);
    assert_eq!(found, vec![("tusky-broad-scopes".to_owned(), 8)]);
    assert!(
        finding(&report, "tusky-broad-scopes")["title"]
            .as_str()
            .unwrap()
            .contains("every write scope")
    );
    let narrow = code.replace(
        r#""environments:write", "files:write", "members:write", "aggregators:write""#,
        r#""files:read""#,
    );
    assert!(rules_of("main.go", &narrow).is_empty());
    let get = code.replace("http.MethodPost", "http.MethodGet");
    assert!(rules_of("main.go", &get).is_empty());
}

#[test]
fn curl_data_with_write_scopes_and_get_or_delete_twins() {
    let code = "#!/bin/sh\ncurl -X POST \"https://api.tusky.io/v2/%api-keys%\" \\\n  -H \"Api-Key: $TUSKY_API_KEY\" \\\n  -H 'Content-Type: application/json' \\\n  -d '{\"name\": \"deploy\", \"scopes\": [\"volumes:write\", \"files:read\"]}'\necho done\n";
    let (found, report) = lint_file("make-key.sh", code);
    assert_eq!(found, vec![("tusky-write-scopes".to_owned(), 2)]);
    let medium = finding(&report, "tusky-write-scopes");
    assert_eq!(medium["severity"], "medium");
    assert!(medium["title"].as_str().unwrap().contains("volumes:write"));

    // -d without -X is a POST too.
    let implicit = code.replace("-X POST ", "");
    assert_eq!(
        rules_of("make-key.sh", &implicit),
        vec!["tusky-write-scopes"]
    );
    let narrow = code.replace(r#"\"volumes:write\", "#, "");
    let narrow = narrow.replace(r#""volumes:write", "#, "");
    assert!(rules_of("make-key.sh", &narrow).is_empty());
    let list = "curl -H \"Api-Key: $TUSKY_API_KEY\" https://api.tusky.io/v2/%api-keys%\n";
    assert!(rules_of("list.sh", list).is_empty());
    let delete =
        "curl -X DELETE https://api.tusky.io/v2/%api-keys%/key_123 -d '{\"name\": \"x\"}'\n";
    assert!(rules_of("revoke.sh", delete).is_empty());
}

#[test]
fn http_file_members_write_and_files_only_twin() {
    let code = "### Create an ops key\nPOST {{host}}/v2/%api-keys%\nContent-Type: application/json\nApi-Key: {{key}}\n\n{\n  \"name\": \"ops\",\n  \"scopes\": [\"members:write\", \"files:read\"]\n}\n\n###\nGET {{host}}/v2/%api-keys%\n";
    let (found, _) = lint_file("keys.http", code);
    assert_eq!(found, vec![("tusky-write-scopes".to_owned(), 2)]);
    let narrow = code.replace(r#""members:write", "#, "");
    assert!(rules_of("keys.http", &narrow).is_empty());
}

#[test]
fn postman_collection_admin_key_and_scoped_twin() {
    let collection = r#"{
  "info": {
    "_postman_id": "0c1f",
    "name": "Tusky",
    "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
  },
  "item": [
    {
      "name": "List keys",
      "request": {
        "method": "GET",
        "url": {"raw": "{{baseUrl}}/v2/%api-keys%", "path": ["v2", "%api-keys%"]}
      }
    },
    {
      "name": "Create key",
      "request": {
        "method": "POST",
        "header": [{"key": "Api-Key", "value": "{{apiKey}}"}],
        "body": {"mode": "raw", "raw": "{\n  \"name\": \"ci\"\n}"},
        "url": {"raw": "{{baseUrl}}/v2/%api-keys%", "path": ["v2", "%api-keys%"]}
      }
    }
  ]
}
"#;
    let (found, _) = lint_file("tusky.postman_collection.json", collection);
    assert_eq!(found, vec![("tusky-admin-key-created".to_owned(), 17)]);
    let scoped = collection.replace(
        r#"\"name\": \"ci\"\n"#,
        r#"\"name\": \"ci\",\n  \"scopes\": [\"files:read\"]\n"#,
    );
    assert!(rules_of("tusky.postman_collection.json", &scoped).is_empty());
}

#[test]
fn yaml_provisioning_spec_each_key_judged() {
    let spec = "tusky:\n  %api_keys%:\n    - name: uploader\n      scopes: [files:write]\n    - name: ops\n      scopes:\n        - volumes:write\n        - files:read\n    - name: root\n";
    let (found, _) = lint_file("keys.yaml", spec);
    let expected = vec![
        ("tusky-admin-key-created".to_owned(), 9),
        ("tusky-write-scopes".to_owned(), 5),
    ];
    assert_eq!(found, expected);
    let fine = "tusky:\n  %api_keys%:\n    - name: uploader\n      scopes: [files:write]\n    - name: reader\n      scopes:\n        - volumes:read\n        - files:read\n";
    assert!(rules_of("keys.yaml", fine).is_empty());
}

#[test]
fn json_spec_wildcard_is_an_unknown_scope() {
    let spec = "{\n  \"%apiKeys%\": [\n    {\"name\": \"ci\", \"scopes\": [\"*\"]}\n  ]\n}\n";
    let (found, report) = lint_file("keys.json", spec);
    assert_eq!(found, vec![("tusky-unknown-scope".to_owned(), 3)]);
    let unknown = finding(&report, "tusky-unknown-scope");
    assert_eq!(unknown["severity"], "high");
    assert!(
        unknown["remediation"]
            .as_str()
            .unwrap()
            .contains("no wildcard scopes")
    );
    let fine = spec.replace(r#"[\"*\"]"#, r#"[\"files:read\"]"#);
    let fine = fine.replace(r#"["*"]"#, r#"["files:read"]"#);
    assert!(rules_of("keys.json", &fine).is_empty());
}

#[test]
fn sdk_create_with_resource_wildcard_and_list_twin() {
    let code = "const tusky = new Tusky({ apiKey: process.env.TUSKY_API_KEY });\nconst key = await tusky.%apiKeys%.create({ name: 'sync', scopes: ['files:*'] });\n";
    let (found, _) = lint_file("sdk.ts", code);
    assert_eq!(found, vec![("tusky-unknown-scope".to_owned(), 2)]);
    let list = "const tusky = new Tusky({ apiKey: process.env.TUSKY_API_KEY });\nconst keys = await tusky.%apiKeys%.list();\n";
    assert!(rules_of("sdk.ts", list).is_empty());
}

#[test]
fn python_sdk_scopes_none_and_scoped_twin() {
    let code = "key = client.%api_keys%.create(name=\"nightly\", scopes=None)\n";
    assert_eq!(rules_of("sdk.py", code), vec!["tusky-admin-key-created"]);
    let scoped = "key = client.%api_keys%.create(name=\"nightly\", scopes=[\"files:read\"])\n";
    assert!(rules_of("sdk.py", scoped).is_empty());
    // Scopes from a variable: nothing the lint can judge, so nothing reported.
    let unknowable = "key = client.%api_keys%.create(name=\"nightly\", scopes=SCOPES)\n";
    assert!(rules_of("sdk.py", unknowable).is_empty());
}

#[test]
fn typo_scope_suggests_the_real_name() {
    let code = "await fetch(`${BASE}/v2/%api-keys%`, { method: 'POST', body: JSON.stringify({ name: 'u', scopes: ['file:write'] }) });\n";
    let (found, report) = lint_file("a.ts", code);
    assert_eq!(found, vec![("tusky-unknown-scope".to_owned(), 1)]);
    assert!(
        finding(&report, "tusky-unknown-scope")["remediation"]
            .as_str()
            .unwrap()
            .contains("did you mean `files:write`?")
    );
    let fixed = code.replace("file:write", "files:write");
    assert!(rules_of("a.ts", &fixed).is_empty());
}

#[test]
fn sensitive_write_scopes_in_either_generation_are_medium() {
    for scope in ["aggregators:write", "environments:write", "members:write"] {
        let code = format!(
            "await fetch(`${{BASE}}/v2/%api-keys%`, {{ method: 'POST', body: JSON.stringify({{ name: 'k', scopes: ['files:read', '{scope}'] }}) }});\n"
        );
        assert_eq!(
            rules_of("a.ts", &code),
            vec!["tusky-write-scopes"],
            "{scope}"
        );
    }
    let files_only = "await fetch(`${BASE}/v2/%api-keys%`, { method: 'POST', body: JSON.stringify({ name: 'k', scopes: ['files:read', 'files:write'] }) });\n";
    assert!(rules_of("a.ts", files_only).is_empty());
}

#[test]
fn inline_allow_silences_a_request_and_is_counted() {
    let code = "// tuskguard:allow: bootstrap script, runs once by hand\nawait fetch(`${BASE}/v2/%api-keys%`, { method: 'POST', body: JSON.stringify({ name: 'root' }) });\n";
    let dir = TempDir::new().unwrap();
    write(&dir, "bootstrap.ts", code);
    let report = scan_json(dir.path());
    assert!(findings(&report).is_empty(), "{report:#}");
    assert_eq!(report["summary"]["suppressed"]["inline"], 1);
    let without = code.replacen(
        "// tuskguard:allow: bootstrap script, runs once by hand\n",
        "",
        1,
    );
    assert_eq!(
        rules_of("bootstrap.ts", &without),
        vec!["tusky-admin-key-created"]
    );
}

#[test]
fn broad_scope_findings_survive_moves_and_respect_the_ignore_file() {
    let code = "await fetch(`${BASE}/v2/%api-keys%`, { method: 'POST', body: JSON.stringify({ name: 'root' }) });\n";
    let dir = TempDir::new().unwrap();
    write(&dir, "a.ts", code);
    let first = scan_json(dir.path());
    let fingerprint = finding(&first, "tusky-admin-key-created")["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    // Moving the request down does not change its fingerprint.
    write(&dir, "a.ts", &format!("// setup\n\n{code}"));
    let moved = scan_json(dir.path());
    assert_eq!(
        finding(&moved, "tusky-admin-key-created")["fingerprint"],
        fingerprint.as_str()
    );
    write(&dir, ".tuskguardignore", &format!("{fingerprint}\n"));
    let (code_after, out) = scan_text(dir.path());
    assert_eq!(code_after, 0, "{out}");

    write(
        &dir,
        ".tuskguard.toml",
        "disabled_rules = [\"tusky-admin-key-created\"]\n",
    );
    std::fs::remove_file(dir.path().join(".tuskguardignore")).unwrap();
    let (code_after, out) = scan_text(dir.path());
    assert_eq!(code_after, 0, "{out}");
}

#[test]
fn text_output_names_the_rule_and_the_fix() {
    let dir = TempDir::new().unwrap();
    write(
        &dir,
        "a.py",
        "r = requests.post(BASE + \"/v2/%api-keys%\", json={\"name\": \"x\"})\n",
    );
    let (code, out) = scan_text(dir.path());
    assert_eq!(code, 1);
    assert!(out.contains("[tusky-admin-key-created]"), "{out}");
    assert!(out.contains("a.py:1:1"), "{out}");
    assert!(out.contains("fix:"), "{out}");
}
