//! `tuskguard history` on repositories built at test time.

use std::path::Path;

use assert_fs::TempDir;
use assert_fs::prelude::*;
use serde_json::Value;

use crate::helpers::*;

/// Runs `tuskguard history --format json` on `repo` and returns (exit code, report, stderr).
pub fn audit(repo: &Path, extra: &[&str]) -> (i32, Value, String) {
    let output = tuskguard()
        .arg("history")
        .arg(repo)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let report = json_of(&output);
    (
        output.status.code().unwrap_or(-1),
        report,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub fn secrets(report: &Value) -> Vec<&Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "secret")
        .collect()
}

pub fn write_commit(dir: &Path, file: &str, text: &str, message: &str) -> String {
    std::fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
    std::fs::write(dir.join(file), text).unwrap();
    commit_all(dir, message);
    rev_parse(dir, "HEAD")
}

pub fn new_repo() -> TempDir {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    write_commit(dir.path(), "README.md", "hello\n", "initial");
    dir
}

#[test]
fn key_deleted_later_is_found_with_its_introducing_commit() {
    let dir = new_repo();
    let key = live_key(401);
    let introduced = write_commit(
        dir.path(),
        "app/config.py",
        &format!("K = '{key}'\n"),
        "add config",
    );
    write_commit(dir.path(), "other.txt", "x\n", "unrelated");
    git(dir.path(), &["rm", "-q", "app/config.py"]);
    git(dir.path(), &["commit", "-q", "-m", "remove key"]);
    let (code, report, _) = audit(dir.path(), &[]);
    assert_eq!(code, 1);
    let found = secrets(&report);
    assert_eq!(found.len(), 1, "{report}");
    let history = &found[0]["history"];
    assert_eq!(history["introduced"]["id"], introduced.as_str());
    assert_eq!(history["introduced"]["summary"], "add config");
    assert_eq!(history["introduced"]["author"], "Test Author");
    assert_eq!(history["present_at_head"], false);
    assert_eq!(history["in_working_tree"], false);
    assert_eq!(history["pushed"], false);
    assert_eq!(history["refs"], serde_json::json!(["refs/heads/main"]));
    assert_eq!(found[0]["locations"][0]["path"], "app/config.py");
    assert_eq!(
        found[0]["locations"][0]["commit"]["id"],
        introduced.as_str()
    );
    assert_eq!(report["summary"]["commits_scanned"], 4);
    assert!(
        !report.to_string().contains(&key),
        "the key must be redacted"
    );
}

#[test]
fn one_finding_per_key_however_many_commits_hold_it() {
    let dir = new_repo();
    let key = live_key(402);
    let first = write_commit(
        dir.path(),
        "a.env.json",
        &format!("{{\"k\":\"{key}\"}}\n"),
        "key",
    );
    for i in 0..5 {
        write_commit(
            dir.path(),
            "log.txt",
            &format!("{i}\n"),
            &format!("change {i}"),
        );
    }
    write_commit(
        dir.path(),
        "copy.txt",
        &format!("again {key}\n"),
        "copy the key",
    );
    let (_, report, _) = audit(dir.path(), &[]);
    let found = secrets(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["history"]["introduced"]["id"], first.as_str());
    assert_eq!(found[0]["history"]["present_at_head"], true);
    assert_eq!(found[0]["history"]["in_working_tree"], true);
    let paths: Vec<&str> = found[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["a.env.json", "copy.txt"]);
    // Each unique blob is scanned once: README, the key file, 5 versions of log.txt, the copy.
    assert_eq!(report["summary"]["files_scanned"], 8);
}

#[test]
fn key_reachable_only_from_an_annotated_tag() {
    let dir = new_repo();
    git(dir.path(), &["checkout", "-q", "-b", "release"]);
    let tagged = write_commit(
        dir.path(),
        "deploy.sh",
        &format!("export TUSKY_API_KEY={}\n", live_key(403)),
        "deploy",
    );
    git(dir.path(), &["tag", "-a", "v1.0", "-m", "release 1.0"]);
    git(dir.path(), &["checkout", "-q", "main"]);
    git(dir.path(), &["branch", "-q", "-D", "release"]);
    let (_, report, _) = audit(dir.path(), &[]);
    let found = secrets(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["history"]["introduced"]["id"], tagged.as_str());
    assert_eq!(
        found[0]["history"]["refs"],
        serde_json::json!(["refs/tags/v1.0"])
    );
    assert_eq!(found[0]["history"]["present_at_head"], false);
}

#[test]
fn key_on_an_unmerged_branch() {
    let dir = new_repo();
    git(dir.path(), &["checkout", "-q", "-b", "feature"]);
    write_commit(
        dir.path(),
        "f.txt",
        &format!("{}\n", test_key(404)),
        "feature work",
    );
    git(dir.path(), &["checkout", "-q", "main"]);
    write_commit(dir.path(), "m.txt", "main work\n", "main work");
    let (_, report, _) = audit(dir.path(), &[]);
    let found = secrets(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(
        found[0]["history"]["refs"],
        serde_json::json!(["refs/heads/feature"])
    );
    assert_eq!(found[0]["history"]["present_at_head"], false);
    // --branch main does not see it.
    let (code, report, _) = audit(dir.path(), &["--branch", "main"]);
    assert_eq!(code, 0, "{report}");
    assert!(secrets(&report).is_empty());
}

#[test]
fn key_introduced_by_a_merge_commit_itself() {
    let dir = new_repo();
    git(dir.path(), &["checkout", "-q", "-b", "side"]);
    write_commit(dir.path(), "side.txt", "side\n", "side work");
    git(dir.path(), &["checkout", "-q", "main"]);
    write_commit(dir.path(), "main.txt", "main\n", "main work");
    git(
        dir.path(),
        &["merge", "-q", "--no-ff", "--no-commit", "side"],
    );
    std::fs::write(
        dir.path().join("merged.txt"),
        format!("{}\n", live_key(405)),
    )
    .unwrap();
    git(dir.path(), &["add", "merged.txt"]);
    git(dir.path(), &["commit", "-q", "-m", "merge side"]);
    let merge = rev_parse(dir.path(), "HEAD");
    let (_, report, _) = audit(dir.path(), &[]);
    let found = secrets(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["history"]["introduced"]["id"], merge.as_str());
    assert_eq!(found[0]["history"]["introduced"]["summary"], "merge side");
}

#[test]
fn renamed_file_keeps_the_first_commit_and_lists_both_paths() {
    let dir = new_repo();
    let first = write_commit(
        dir.path(),
        "old/name.cfg",
        &format!("key={}\n", live_key(406)),
        "add",
    );
    git(dir.path(), &["mv", "old", "new"]);
    git(dir.path(), &["commit", "-q", "-m", "rename"]);
    let renamed = rev_parse(dir.path(), "HEAD");
    let (_, report, _) = audit(dir.path(), &[]);
    let found = secrets(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["history"]["introduced"]["id"], first.as_str());
    let locations = found[0]["locations"].as_array().unwrap();
    assert_eq!(locations.len(), 2, "{report}");
    assert_eq!(locations[0]["path"], "new/name.cfg");
    assert_eq!(locations[0]["commit"]["id"], renamed.as_str());
    assert_eq!(locations[1]["path"], "old/name.cfg");
    assert_eq!(locations[1]["commit"]["id"], first.as_str());
}

#[test]
fn pushed_key_is_marked_pushed_and_a_local_one_is_not() {
    let remote = TempDir::new().unwrap();
    git(remote.path(), &["init", "-q", "--bare", "-b", "main"]);
    let dir = new_repo();
    write_commit(
        dir.path(),
        "pushed.txt",
        &format!("{}\n", live_key(407)),
        "pushed key",
    );
    git(
        dir.path(),
        &["remote", "add", "origin", remote.path().to_str().unwrap()],
    );
    git(dir.path(), &["push", "-q", "origin", "main"]);
    git(dir.path(), &["fetch", "-q", "origin"]);
    write_commit(
        dir.path(),
        "local.txt",
        &format!("{}\n", live_key(408)),
        "local key",
    );
    let (_, report, _) = audit(dir.path(), &[]);
    let found = secrets(&report);
    assert_eq!(found.len(), 2, "{report}");
    let by_path = |path: &str| {
        found
            .iter()
            .find(|f| f["locations"][0]["path"] == path)
            .unwrap_or_else(|| panic!("{path} in {report}"))
    };
    let pushed = by_path("pushed.txt");
    assert_eq!(pushed["history"]["pushed"], true);
    assert!(
        pushed["history"]["refs"]
            .as_array()
            .unwrap()
            .contains(&Value::from("refs/remotes/origin/main"))
    );
    assert_eq!(by_path("local.txt")["history"]["pushed"], false);

    // The text report reads like an incident summary.
    let output = tuskguard().arg("history").arg(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("pushed: YES"), "{text}");
    assert!(text.contains("first seen: commit"), "{text}");
    assert!(text.contains("revoke"), "{text}");
    assert!(text.contains("git filter-repo"), "{text}");
    assert!(text.contains("Audited 3 commits"), "{text}");
}

#[test]
fn bare_repository_is_audited() {
    let dir = new_repo();
    write_commit(dir.path(), "k.txt", &format!("{}\n", live_key(409)), "key");
    let bare = TempDir::new().unwrap();
    let bare_path = bare.path().join("repo.git");
    git(
        dir.path(),
        &["clone", "-q", "--bare", ".", bare_path.to_str().unwrap()],
    );
    let (code, report, _) = audit(&bare_path, &[]);
    assert_eq!(code, 1);
    let found = secrets(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["history"]["present_at_head"], true);
    assert!(found[0]["history"].get("in_working_tree").is_none());
}

#[test]
fn shallow_clone_says_history_is_truncated() {
    let dir = new_repo();
    write_commit(
        dir.path(),
        "old.txt",
        &format!("{}\n", live_key(410)),
        "old key",
    );
    git(dir.path(), &["rm", "-q", "old.txt"]);
    git(dir.path(), &["commit", "-q", "-m", "drop"]);
    write_commit(
        dir.path(),
        "now.txt",
        &format!("{}\n", live_key(411)),
        "current key",
    );
    let clone = TempDir::new().unwrap();
    let url = format!("file://{}", dir.path().display());
    git(clone.path(), &["clone", "-q", "--depth", "1", &url, "c"]);
    let (code, report, stderr) = audit(&clone.path().join("c"), &[]);
    assert_eq!(code, 1);
    let found = secrets(&report);
    assert_eq!(
        found.len(),
        1,
        "only the key in the shallow tip exists: {report}"
    );
    assert_eq!(found[0]["locations"][0]["path"], "now.txt");
    let warnings = report["summary"]["warnings"].to_string();
    assert!(warnings.contains("shallow"), "{warnings}");
    assert!(stderr.contains("history is truncated"), "{stderr}");
}

#[test]
fn empty_repository_is_clean_and_says_so() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    let (code, report, stderr) = audit(dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(report["findings"], serde_json::json!([]));
    assert!(stderr.contains("no commits"), "{stderr}");
}

#[test]
fn detached_head_commits_are_audited() {
    let dir = new_repo();
    git(dir.path(), &["checkout", "-q", "--detach"]);
    let detached = write_commit(
        dir.path(),
        "d.txt",
        &format!("{}\n", live_key(412)),
        "detached work",
    );
    let (_, report, _) = audit(dir.path(), &[]);
    let found = secrets(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["history"]["introduced"]["id"], detached.as_str());
    assert_eq!(found[0]["history"]["refs"], serde_json::json!(["HEAD"]));
    assert_eq!(found[0]["history"]["present_at_head"], true);
}

#[test]
fn stash_is_audited() {
    let dir = new_repo();
    std::fs::write(dir.path().join("README.md"), format!("{}\n", live_key(413))).unwrap();
    git(dir.path(), &["stash", "-q"]);
    let (_, report, _) = audit(dir.path(), &[]);
    let found = secrets(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(
        found[0]["history"]["refs"],
        serde_json::json!(["refs/stash"])
    );
}

#[test]
fn since_and_ranges_limit_the_audit_to_new_commits() {
    let dir = new_repo();
    let old = write_commit(
        dir.path(),
        "old.txt",
        &format!("{}\n", live_key(414)),
        "old key",
    );
    let middle = write_commit(
        dir.path(),
        "mid.txt",
        &format!("{}\n", live_key(415)),
        "middle key",
    );
    write_commit(
        dir.path(),
        "new.txt",
        &format!("{}\n", live_key(416)),
        "new key",
    );
    let paths = |report: &Value| -> Vec<String> {
        let mut paths: Vec<String> = secrets(report)
            .iter()
            .map(|f| f["locations"][0]["path"].as_str().unwrap().to_owned())
            .collect();
        paths.sort();
        paths
    };
    let (_, report, _) = audit(dir.path(), &["--since", &old]);
    assert_eq!(paths(&report), ["mid.txt", "new.txt"]);
    assert_eq!(report["summary"]["commits_scanned"], 2);
    let (_, report, _) = audit(dir.path(), &["--since", &format!("{old}..{middle}")]);
    assert_eq!(paths(&report), ["mid.txt"]);
    let (_, report, _) = audit(dir.path(), &["--max-count", "1"]);
    assert_eq!(
        paths(&report),
        ["mid.txt", "new.txt", "old.txt"],
        "the tip's tree holds all three"
    );
    let (code, _, stderr) = audit_err(dir.path(), &["--since", "no-such-rev"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no-such-rev"), "{stderr}");
}

pub fn audit_err(repo: &Path, extra: &[&str]) -> (i32, String, String) {
    let output = tuskguard()
        .arg("history")
        .arg(repo)
        .args(extra)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn env_file_ever_committed_is_reported_with_its_commits() {
    let dir = new_repo();
    let first = write_commit(dir.path(), "svc/.env", "DEBUG=1\n", "add env");
    let second = write_commit(dir.path(), "svc/.env", "DEBUG=2\n", "change env");
    git(dir.path(), &["rm", "-q", "svc/.env"]);
    git(dir.path(), &["commit", "-q", "-m", "drop env"]);
    write_commit(dir.path(), ".env.example", "DEBUG=\n", "template");
    let (code, report, _) = audit(dir.path(), &[]);
    assert_eq!(code, 1);
    let env: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "env-not-ignored")
        .collect();
    assert_eq!(env.len(), 1, "{report}");
    assert_eq!(env[0]["rule_id"], "env-file-committed");
    assert_eq!(env[0]["history"]["introduced"]["id"], first.as_str());
    assert_eq!(env[0]["history"]["present_at_head"], false);
    let mut commits: Vec<&str> = env[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["commit"]["id"].as_str().unwrap())
        .collect();
    commits.sort();
    let mut expected = vec![first.as_str(), second.as_str()];
    expected.sort();
    assert_eq!(commits, expected);

    // The config can switch the lint off like any other rule.
    let config = TempDir::new().unwrap();
    config
        .child("off.toml")
        .write_str("disabled_rules = [\"env-file-committed\"]\n")
        .unwrap();
    let off = config.path().join("off.toml");
    let (code, report, _) = audit(dir.path(), &["--config", off.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn show_secrets_prints_the_key_and_the_default_does_not() {
    let dir = new_repo();
    let key = live_key(417);
    write_commit(dir.path(), "k.txt", &format!("{key}\n"), "key");
    let (_, hidden, stderr) = audit_err(dir.path(), &[]);
    assert!(!hidden.contains(&key) && !stderr.contains(&key));
    let (_, shown, _) = audit_err(dir.path(), &["--show-secrets"]);
    assert!(shown.contains(&key));
}

#[test]
fn not_a_repository_is_an_error() {
    let dir = TempDir::new().unwrap();
    dir.child("f.txt").write_str("x\n").unwrap();
    let output = tuskguard()
        .arg("history")
        .arg(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a git repository"));
}

#[test]
fn corrupt_blobs_lfs_pointers_and_large_blobs_are_counted_and_the_audit_goes_on() {
    let dir = new_repo();
    write_commit(
        dir.path(),
        "model.bin",
        "version https://git-lfs.github.com/spec/v1\noid sha256:0000\nsize 12345\n",
        "lfs",
    );
    write_commit(dir.path(), "big.txt", &"x".repeat(5000), "big");
    write_commit(
        dir.path(),
        "victim.txt",
        "this object gets corrupted\n",
        "victim",
    );
    write_commit(dir.path(), "k.txt", &format!("{}\n", live_key(418)), "key");
    let blob = git(dir.path(), &["rev-parse", "HEAD~1:victim.txt"]);
    let blob = blob.trim();
    let object = dir
        .path()
        .join(".git/objects")
        .join(&blob[..2])
        .join(&blob[2..]);
    let mut permissions = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&object, permissions).unwrap();
    std::fs::write(&object, b"not zlib at all").unwrap();
    // Damage makes the audit partial: exit 2 unless the user accepts that.
    let (code, report, stderr) = audit(dir.path(), &["--max-file-size", "4K"]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        report["summary"]["incomplete"]["unread_objects"], 1,
        "{report}"
    );
    let (code, report, stderr) =
        audit(dir.path(), &["--max-file-size", "4K", "--allow-incomplete"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(secrets(&report).len(), 1, "{report}");
    let skipped = &report["summary"]["skipped"];
    assert_eq!(skipped["lfs-pointer"], 1, "{report}");
    assert_eq!(skipped["too-large"], 1, "{report}");
    assert_eq!(skipped["corrupt-object"], 1, "{report}");
    assert!(stderr.contains("victim.txt"), "{stderr}");
}

/// Every source says a file over `--max-file-size` the same way, from the one admission step:
/// the working tree, the index, and history read through libgit2 (loose objects) and through the
/// pack reader, which names the blob too (one path of many).
#[test]
fn every_source_says_a_file_over_the_limit_the_same_way() {
    let dir = new_repo();
    let repo = dir.path();
    write_commit(repo, "big.txt", &"x".repeat(5000), "big");
    let blob = git(repo, &["rev-parse", "HEAD:big.txt"]);
    let said = "skipped, 5000 bytes is over --max-file-size (4096); raise it to scan this file";
    let warnings = |args: &[&str]| {
        let output = tuskguard()
            .args(args)
            .args(["--format", "json", "--max-file-size", "4K"])
            .current_dir(repo)
            .output()
            .unwrap();
        let report = json_of(&output);
        assert_eq!(report["summary"]["skipped"]["too-large"], 1, "{report:#}");
        report["summary"]["warnings"].to_string()
    };
    let tree = warnings(&["scan", "."]);
    assert!(tree.contains(&format!("big.txt: {said}")), "{tree}");
    std::fs::write(repo.join("staged.txt"), "y".repeat(5000)).unwrap();
    git(repo, &["add", "staged.txt"]);
    let staged = warnings(&["scan", "--staged"]);
    assert!(staged.contains(&format!("staged.txt: {said}")), "{staged}");
    let in_history = format!("big.txt (blob {}): {said}", blob.trim());
    let loose = warnings(&["history", "."]);
    assert!(loose.contains(&in_history), "{loose}");
    repack(repo);
    let packed = warnings(&["history", "."]);
    assert!(packed.contains(&in_history), "{packed}");
}

#[test]
fn history_from_a_linked_worktree_sees_every_ref() {
    let dir = new_repo();
    let worktree = TempDir::new().unwrap();
    let wt = worktree.path().join("wt");
    git(
        dir.path(),
        &["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()],
    );
    write_commit(&wt, "side.txt", &format!("{}\n", live_key(419)), "side key");
    write_commit(
        dir.path(),
        "main.txt",
        &format!("{}\n", test_key(420)),
        "main key",
    );
    let (_, report, _) = audit(&wt, &[]);
    let found = secrets(&report);
    assert_eq!(found.len(), 2, "{report}");
    let side = found
        .iter()
        .find(|f| f["locations"][0]["path"] == "side.txt")
        .unwrap();
    // HEAD and the working tree are the linked worktree's.
    assert_eq!(side["history"]["present_at_head"], true);
    assert_eq!(side["history"]["in_working_tree"], true);
}

#[test]
fn scope_requests_are_reported_while_at_head_and_counted_once_gone() {
    // Spelled in pieces so this repository's own source holds no key-creation request.
    let request = |scopes: &str| {
        format!(
            "await fetch(API + '/v2/{}', {{ method: 'POST', body: JSON.stringify({{ name: 'ci'{scopes} }}) }});\n",
            ["api", "keys"].join("-")
        )
    };
    let repo = new_repo();
    let gone = write_commit(
        repo.path(),
        "old.js",
        &request(""),
        "admin key, removed later",
    );
    std::fs::remove_file(repo.path().join("old.js")).unwrap();
    commit_all(repo.path(), "drop old.js");
    let kept = write_commit(
        repo.path(),
        "keep.js",
        &request(", scopes: null"),
        "admin key, still here",
    );

    let (code, report, stderr) = audit(repo.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    let broad: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "broad-scope")
        .collect();
    assert_eq!(broad.len(), 1, "{report:#}");
    assert_eq!(broad[0]["locations"][0]["path"], "keep.js");
    assert_eq!(broad[0]["history"]["introduced"]["id"], kept.as_str());
    assert!(!report.to_string().contains(&gone));
    assert!(
        stderr.contains("1 over-broad key-creation request(s) exist only in past commits"),
        "{stderr}"
    );
}

/// A report without what may differ between two runs of the same audit (its duration).
fn without_timing(report: &Value) -> Value {
    let mut report = report.clone();
    if let Some(summary) = report["summary"].as_object_mut() {
        summary.remove("duration_ms");
    }
    report
}

pub fn repack(repo: &Path) {
    git(repo, &["repack", "-adfq", "--depth=10", "--window=20"]);
    let counts = git(repo, &["count-objects", "-v"]);
    assert!(
        counts.contains("\ncount: 0\n") || counts.starts_with("count: 0\n"),
        "{counts}"
    );
}

#[test]
fn packed_history_reads_the_same_as_loose_objects() {
    let dir = new_repo();
    let repo = dir.path();
    // A file edited in small steps: once packed, most versions are deltas, one holds a key.
    let mut text: String = (0..120).map(|n| format!("setting_{n} = {n}\n")).collect();
    for step in 0..8 {
        text.push_str(&format!("step_{step} = True\n"));
        if step == 5 {
            text.push_str(&format!("TUSKY = '{}'\n", live_key(430)));
        }
        write_commit(repo, "app/settings.py", &text, &format!("step {step}"));
    }
    write_commit(
        repo,
        "old/key.txt",
        &format!("{}\n", test_key(431)),
        "old key",
    );
    std::fs::remove_file(repo.join("old/key.txt")).unwrap();
    commit_all(repo, "drop the old key");
    write_commit(repo, "a.txt", &format!("{}\n", live_key(432)), "a");
    git(repo, &["mv", "a.txt", "b.txt"]);
    commit_all(repo, "rename");
    git(repo, &["checkout", "-q", "-b", "side"]);
    write_commit(
        repo,
        "side.txt",
        &format!("{}\n", test_key(433)),
        "side key",
    );
    git(repo, &["checkout", "-q", "main"]);
    git(
        repo,
        &["merge", "-q", "--no-ff", "side", "-m", "merge side"],
    );
    git(repo, &["tag", "-a", "v1", "-m", "v1"]);
    write_commit(repo, ".env", "TOKEN=1\n", "env file");
    write_commit(
        repo,
        "model.bin",
        "version https://git-lfs.github.com/spec/v1\noid sha256:0000\nsize 12345\n",
        "lfs",
    );
    write_commit(repo, "big.txt", &"y".repeat(6000), "big");
    write_commit(
        repo,
        "allowed.txt",
        &format!("{} # tuskguard:allow\n", live_key(434)),
        "allowed",
    );
    let copied = format!("{}\n", live_key(435));
    write_commit(repo, "copy1.txt", &copied, "copy one");
    write_commit(repo, "copy2.txt", &copied, "copy two");
    // Spelled in pieces so this repository's own source holds no key-creation request.
    let request = format!(
        "await fetch(API + '/v2/{}', {{ method: 'POST', body: JSON.stringify({{ name: 'ci' }}) }});\n",
        ["api", "keys"].join("-")
    );
    write_commit(repo, "make-key.js", &request, "admin key request");

    let args = ["--max-file-size", "4K"];
    let (loose_code, loose, _) = audit(repo, &args);
    // A budget of nothing: every tree's edges go to the spill file and come back for
    // attribution, and the report is the same.
    let tight_args = ["--max-file-size", "4K", "--memory-budget", "0"];
    let (tight_code, tight, stderr) = audit(repo, &tight_args);
    assert_eq!(tight_code, loose_code, "{stderr}");
    assert_eq!(without_timing(&tight), without_timing(&loose));
    repack(repo);
    let (packed_code, packed, stderr) = audit(repo, &args);
    assert_eq!(packed_code, loose_code, "{stderr}");
    assert_eq!(without_timing(&packed), without_timing(&loose));
    // On the packs too: no tree kept ahead of the walk, pack pages released behind the reader.
    let (tight_code, tight, stderr) = audit(repo, &tight_args);
    assert_eq!(tight_code, loose_code, "{stderr}");
    assert_eq!(without_timing(&tight), without_timing(&loose));
    assert_eq!(secrets(&packed).len(), 5, "{packed:#}");
    let summary = &packed["summary"];
    assert_eq!(summary["skipped"]["lfs-pointer"], 1, "{summary}");
    assert_eq!(summary["skipped"]["too-large"], 1, "{summary}");
    assert_eq!(summary["suppressed"]["inline"], 1, "{summary}");
    let kinds: Vec<&Value> = packed["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| &f["kind"])
        .collect();
    assert!(kinds.contains(&&Value::from("broad-scope")), "{kinds:?}");

    // New loose objects on top of the pack: both ways of reading in one audit.
    write_commit(
        repo,
        "late.txt",
        &format!("{}\n", live_key(436)),
        "late key",
    );
    let (_, mixed, _) = audit(repo, &args);
    assert_eq!(secrets(&mixed).len(), 6, "{mixed:#}");
}

#[test]
fn a_damaged_packed_blob_is_counted_and_the_audit_goes_on() {
    let dir = new_repo();
    let repo = dir.path();
    write_commit(
        repo,
        "victim.txt",
        &"this object gets damaged in the pack\n".repeat(40),
        "victim",
    );
    write_commit(repo, "k.txt", &format!("{}\n", live_key(437)), "key");
    repack(repo);
    let blob = rev_parse(repo, "HEAD~1:victim.txt");
    let pack_dir = repo.join(".git/objects/pack");
    let index = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "idx"))
        .unwrap();
    // `verify-pack -v` lines: id, type, size, size in pack, offset.
    let listing = git(repo, &["verify-pack", "-v", index.to_str().unwrap()]);
    let line = listing
        .lines()
        .find(|line| line.starts_with(&blob))
        .unwrap();
    let fields: Vec<usize> = line
        .split_whitespace()
        .skip(2)
        .take(3)
        .map(|n| n.parse().unwrap())
        .collect();
    let (in_pack, offset) = (fields[1], fields[2]);
    let pack = index.with_extension("pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    for byte in &mut bytes[offset + in_pack / 2..offset + in_pack / 2 + 4] {
        *byte ^= 0xff;
    }
    let mut permissions = std::fs::metadata(&pack).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&pack, permissions).unwrap();
    std::fs::write(&pack, bytes).unwrap();

    let (code, _, stderr) = audit(repo, &[]);
    assert_eq!(code, 2, "{stderr}");
    let (code, report, stderr) = audit(repo, &["--allow-incomplete"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(secrets(&report).len(), 1, "{report}");
    assert_eq!(
        report["summary"]["incomplete"]["unread_objects"], 1,
        "{report}"
    );
    assert_eq!(
        report["summary"]["skipped"]["corrupt-object"], 1,
        "{report}"
    );
    assert!(stderr.contains("victim.txt"), "{stderr}");
}
