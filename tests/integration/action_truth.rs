//! The Action across runs and on real checkouts: what each run uploads (and so which alerts stay
//! open), shallow checkouts deepened or refused, tuskguard's own errors surfaced, and `path`
//! meaning the same in every mode. The real binary runs `scripts/action-run.sh` under simulated
//! GitHub events (and `scripts/action-replay.sh` plays sequences of them).

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::action::{Sandbox, ZERO_SHA, make_executable, repo_file};
use crate::fake_tusky::{Behaviour, FakeKey, FakeTusky};
use crate::helpers::*;

fn binary() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("tuskguard")
}

fn sarif_at(path: &str) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

fn fingerprints(sarif: &Value) -> Vec<String> {
    sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["partialFingerprints"]["tuskguardFingerprint/v1"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Runs scripts/action-replay.sh on `repo` with the real binary; returns (exit code, stdout).
fn replay(repo: &Path, out: &Path, args: &[&str]) -> (i32, String) {
    let output = Command::new("bash")
        .arg(repo_file("scripts/action-replay.sh"))
        .args(["--repo", repo.to_str().unwrap()])
        .args(["--bin", binary().to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), stdout)
}

/// The replay's lines for event number `step` (from its `== step.` header to the next one).
fn step_lines(text: &str, step: usize) -> Vec<String> {
    let header = format!("== {step}. ");
    let next = format!("== {}. ", step + 1);
    text.lines()
        .skip_while(|l| !l.starts_with(&header))
        .take_while(|l| {
            l.starts_with(&header) || (!l.starts_with(&next) && !l.starts_with("SARIF files"))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn two_pushes_keep_the_alert_open_while_the_key_is_in_the_branch() {
    let sandbox = Sandbox::new();
    let repo = sandbox.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    init_repo(&repo);
    std::fs::write(repo.join("README.md"), "hello\n").unwrap();
    commit_all(&repo, "start");
    let key = live_key(1331);
    std::fs::write(repo.join("config.ini"), format!("TUSKY_API_KEY={key}\n")).unwrap();
    commit_all(&repo, "add config");
    std::fs::write(repo.join("README.md"), "hello again\n").unwrap();
    commit_all(&repo, "docs only");
    git(&repo, &["checkout", "-q", "-b", "fix"]);
    std::fs::remove_file(repo.join("config.ini")).unwrap();
    commit_all(&repo, "remove the key");
    git(&repo, &["checkout", "-q", "main"]);

    let out = sandbox.path("replay");
    let (_, text) = replay(
        &repo,
        &out,
        &[
            "push:main~2..main~1",
            "push:main~1..main",
            "pr:main..fix",
            "push:main..fix",
        ],
    );
    assert!(!text.contains(&key), "{text}");
    // Push 1 adds the key: the gate fails and the uploaded full scan opens the alert.
    let first = step_lines(&text, 1);
    assert!(first[0].contains("gate exit 1"), "{text}");
    assert!(
        first[1].contains("category tuskguard-tree, 1 result(s)"),
        "{text}"
    );
    assert!(first[2].starts_with("   alert opened"), "{text}");
    let fingerprint = first[2].split_whitespace().nth(2).unwrap().to_owned();
    // Push 2 changes only the README: the gate passes (the change is clean), and the upload,
    // under the same category, still holds the key: the alert stays open.
    let second = step_lines(&text, 2);
    assert!(second[0].contains("gate exit 0, 0 finding(s)"), "{text}");
    assert!(
        second[1].contains("category tuskguard-tree, 1 result(s)"),
        "{text}"
    );
    assert_eq!(
        second[2],
        format!("   alert kept   {fingerprint} tusky-live-key config.ini")
    );
    assert!(!second.iter().any(|l| l.contains("alert closed")), "{text}");
    let first_upload = sarif_at(&out.join("1-push.sarif").display().to_string());
    let second_upload = sarif_at(&out.join("2-push.sarif").display().to_string());
    assert_eq!(fingerprints(&first_upload), vec![fingerprint.clone()]);
    assert_eq!(fingerprints(&second_upload), vec![fingerprint.clone()]);
    // The pull request that removes the key shows it as fixed there, without touching the
    // branch's alerts; once pushed, the alert closes.
    let pr = step_lines(&text, 3);
    assert!(
        pr.iter()
            .any(|l| l.starts_with("   fixed by PR") && l.contains(&fingerprint)),
        "{text}"
    );
    let merged = step_lines(&text, 4);
    assert!(
        merged
            .iter()
            .any(|l| l.starts_with("   alert closed") && l.contains(&fingerprint)),
        "{text}"
    );
}

#[test]
fn history_mode_uploads_history_and_closes_only_keys_verified_not_live() {
    let sandbox = Sandbox::new();
    let repo = sandbox.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    init_repo(&repo);
    let live = live_key(1332);
    let revoked = live_key(1333);
    std::fs::write(repo.join("a.ini"), format!("TUSKY_API_KEY={live}\n")).unwrap();
    std::fs::write(repo.join("b.ini"), format!("TUSKY_API_KEY={revoked}\n")).unwrap();
    commit_all(&repo, "two keys");
    git(&repo, &["rm", "-q", "a.ini", "b.ini"]);
    commit_all(&repo, "remove both");
    let fake = FakeTusky::start(
        vec![
            FakeKey::admin("k-live", &live),
            FakeKey::admin("k-revoked", &revoked).revoked(),
        ],
        Behaviour::default(),
    );
    let wrapper = sandbox.path("tuskguard-with-api");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nTUSKY_API_URL='{}' exec '{}' \"$@\"\n",
            fake.url,
            binary().display()
        ),
    )
    .unwrap();
    make_executable(&wrapper);

    // Without verify: both keys are still in history, both alerts stay open.
    let plain = sandbox.run(
        &repo,
        "schedule",
        &json!({}),
        &[("mode", "history")],
        Some(&binary()),
    );
    assert_eq!(plain.status, 1, "{}", plain.stderr);
    assert_eq!(plain.output("category"), "tuskguard-history");
    assert_eq!(fingerprints(&sarif_at(plain.output("sarif-file"))).len(), 2);

    let verified = sandbox.run(
        &repo,
        "schedule",
        &json!({}),
        &[("mode", "history"), ("verify", "true")],
        Some(&wrapper),
    );
    assert_eq!(verified.status, 1, "{}", verified.stderr);
    let uploaded = sarif_at(verified.output("sarif-file"));
    let results = uploaded["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{uploaded:#}");
    assert_eq!(results[0]["properties"]["verification"], "live");
    assert!(
        verified
            .summary
            .contains("1 key(s) verified not live are left out of the upload"),
        "{}",
        verified.summary
    );
    for text in [&verified.stdout, &verified.summary, &uploaded.to_string()] {
        assert!(!text.contains(&live) && !text.contains(&revoked));
    }
}

#[test]
fn without_upload_no_full_scan_runs_and_nothing_is_offered_for_upload() {
    let sandbox = Sandbox::new();
    let (repo, ids) = sandbox.repo_with_commits();
    let outcome = sandbox.run(
        &repo,
        "push",
        &json!({"before": ids[0], "after": ids[2]}),
        &[("upload-sarif", "false")],
        None,
    );
    assert_eq!(outcome.status, 1, "{}", outcome.stderr);
    assert_eq!(outcome.calls.len(), 1, "{:?}", outcome.calls);
    assert_eq!(outcome.output("sarif-file"), "");
    assert_eq!(outcome.output("category"), "");
    let bad = sandbox.run(
        &repo,
        "push",
        &json!({"before": ids[0], "after": ids[2]}),
        &[("upload-sarif", "yes")],
        None,
    );
    assert_eq!(bad.status, 2);
    assert!(bad.stdout.contains("upload-sarif must be true or false"));
}

/// A repository with a live key added in its second commit, and a depth-1 clone of it.
fn origin_and_shallow_clone(sandbox: &Sandbox) -> (std::path::PathBuf, Vec<String>, String) {
    let origin = sandbox.path("origin");
    std::fs::create_dir_all(&origin).unwrap();
    init_repo(&origin);
    let key = live_key(1334);
    let mut ids = Vec::new();
    for (file, text) in [
        ("README.md", "hello\n".to_owned()),
        ("config.ini", format!("TUSKY_API_KEY={key}\n")),
        ("a.txt", "a\n".to_owned()),
        ("b.txt", "b\n".to_owned()),
    ] {
        std::fs::write(origin.join(file), text).unwrap();
        commit_all(&origin, &format!("add {file}"));
        ids.push(rev_parse(&origin, "HEAD"));
    }
    let url = format!("file://{}", origin.display());
    git(
        sandbox.dir.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    (sandbox.path("shallow"), ids, key)
}

#[test]
fn a_shallow_checkout_is_deepened_from_its_remote_before_a_history_audit() {
    let sandbox = Sandbox::new();
    let (shallow, ids, key) = origin_and_shallow_clone(&sandbox);
    let outcome = sandbox.run(
        &shallow,
        "workflow_dispatch",
        &json!({}),
        &[("mode", "history")],
        Some(&binary()),
    );
    assert_eq!(outcome.status, 1, "{}\n{}", outcome.stdout, outcome.stderr);
    assert!(
        outcome.stderr.contains("git fetch --unshallow"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .summary
            .contains("tuskguard fetched its full history from `origin`"),
        "{}",
        outcome.summary
    );
    assert_eq!(
        git(&shallow, &["rev-parse", "--is-shallow-repository"]).trim(),
        "false"
    );
    let sarif = sarif_at(outcome.output("sarif-file"));
    let result = &sarif["runs"][0]["results"][0];
    // The real commit, not the shallow boundary, and no cut.
    assert_eq!(result["properties"]["commit"]["id"], ids[1].as_str());
    assert!(result["properties"]["commit"].get("atOrBefore").is_none());
    assert!(sarif["runs"][0]["properties"].get("historyCut").is_none());
    assert!(!outcome.summary.contains("Not a full audit"));
    assert!(!outcome.stdout.contains(&key) && !outcome.summary.contains(&key));
}

#[test]
fn a_shallow_checkout_is_deepened_for_a_push_range() {
    let sandbox = Sandbox::new();
    let (shallow, ids, _) = origin_and_shallow_clone(&sandbox);
    let outcome = sandbox.run(
        &shallow,
        "push",
        &json!({"before": ids[0], "after": ids[3]}),
        &[],
        Some(&binary()),
    );
    assert_eq!(outcome.status, 1, "{}\n{}", outcome.stdout, outcome.stderr);
    assert_eq!(outcome.output("range"), format!("{}..{}", ids[0], ids[3]));
    assert_eq!(outcome.output("findings"), "1");
}

#[test]
fn a_shallow_checkout_that_cannot_be_deepened_fails_with_the_fetch_depth_fix() {
    let sandbox = Sandbox::new();
    let (shallow, _, _) = origin_and_shallow_clone(&sandbox);
    std::fs::remove_dir_all(sandbox.path("origin")).unwrap();
    let outcome = sandbox.run(
        &shallow,
        "workflow_dispatch",
        &json!({}),
        &[("mode", "history")],
        Some(&binary()),
    );
    assert_eq!(outcome.status, 2, "{}", outcome.stderr);
    assert!(
        outcome.stdout.starts_with("::error title=tuskguard::"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains("fetch-depth: 0"));
    assert!(!outcome.stdout.contains("Audited"), "no partial audit ran");
    // D5: the summary keeps its lines: a heading, then the advice as its own paragraph.
    let lines: Vec<&str> = outcome.summary.lines().collect();
    assert_eq!(lines[0], "### tuskguard: not run", "{}", outcome.summary);
    assert_eq!(lines[1], "");
    assert!(lines[2].contains("fetch-depth: 0"), "{}", outcome.summary);
    assert_eq!(outcome.output("sarif-file"), "");
}

#[test]
fn tuskguards_own_errors_become_an_annotation_and_a_summary_entry() {
    let sandbox = Sandbox::new();
    let repo = sandbox.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    init_repo(&repo);
    std::fs::write(repo.join("README.md"), "hello\n").unwrap();
    commit_all(&repo, "start");
    for (inputs, expected) in [
        (
            vec![("mode", "tree"), ("baseline", "missing.json")],
            "missing.json",
        ),
        (vec![("mode", "tree"), ("fail-on", "severe")], "severe"),
        (vec![("mode", "history"), ("fail-on", "severe")], "severe"),
    ] {
        let outcome = sandbox.run(&repo, "push", &json!({}), &inputs, Some(&binary()));
        assert_eq!(outcome.status, 2, "{inputs:?}: {}", outcome.stderr);
        let annotation = outcome
            .stdout
            .lines()
            .find(|l| l.starts_with("::error title=tuskguard::tuskguard could not run (exit 2)"))
            .unwrap_or_else(|| panic!("{inputs:?}: {}", outcome.stdout));
        assert!(annotation.contains(expected), "{annotation}");
        assert!(
            outcome.summary.starts_with("### tuskguard: error\n\n"),
            "{}",
            outcome.summary
        );
        assert!(outcome.summary.contains(expected), "{}", outcome.summary);
        assert_eq!(outcome.output("exit-code"), "2");
        assert_eq!(outcome.output("sarif-file"), "");
    }
}

#[test]
fn path_means_the_same_directory_in_every_mode() {
    let sandbox = Sandbox::new();
    let repo = sandbox.path("repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    init_repo(&repo);
    std::fs::write(repo.join("README.md"), "hello\n").unwrap();
    commit_all(&repo, "start");
    let start = rev_parse(&repo, "HEAD");
    let outside = live_key(1335);
    let inside = test_key(1336);
    std::fs::write(repo.join("new_b.py"), format!("K = '{outside}'\n")).unwrap();
    std::fs::write(repo.join("src/c.js"), format!("const k = '{inside}';\n")).unwrap();
    commit_all(&repo, "two keys");
    let head = rev_parse(&repo, "HEAD");
    let runs = [
        ("tree", "push", json!({})),
        ("diff", "push", json!({"before": start, "after": head})),
        ("history", "workflow_dispatch", json!({})),
    ];
    for (mode, event, payload) in runs {
        let outcome = sandbox.run(
            &repo,
            event,
            &payload,
            &[("mode", mode), ("path", "src")],
            Some(&binary()),
        );
        assert_eq!(outcome.status, 1, "{mode}: {}", outcome.stderr);
        let annotated: Vec<&str> = outcome
            .stdout
            .lines()
            .filter(|l| l.starts_with("::") && l.contains(" file="))
            .collect();
        assert_eq!(annotated.len(), 1, "{mode}: {}", outcome.stdout);
        assert!(
            annotated[0].contains("file=src/c.js,"),
            "{mode}: {}",
            annotated[0]
        );
        assert_eq!(outcome.output("findings"), "1", "{mode}");
        let uploaded = sarif_at(outcome.output("sarif-file"));
        let uris: Vec<&str> = uploaded["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(uris, ["src/c.js"], "{mode}");
        let expected_category = if mode == "history" {
            "tuskguard-history/src"
        } else {
            "tuskguard-tree/src"
        };
        assert_eq!(outcome.output("category"), expected_category);
    }
    let deleted = sandbox.run(
        &repo,
        "push",
        &json!({"before": head, "after": ZERO_SHA}),
        &[("path", "src")],
        Some(&binary()),
    );
    assert_eq!(deleted.status, 0);
}

#[test]
fn a_push_range_that_reaches_the_shallow_boundary_is_deepened_first() {
    let sandbox = Sandbox::new();
    let origin = sandbox.path("origin");
    std::fs::create_dir_all(&origin).unwrap();
    init_repo(&origin);
    std::fs::write(origin.join("README.md"), "hello\n").unwrap();
    commit_all(&origin, "start");
    git(&origin, &["checkout", "-q", "-b", "side"]);
    let key = live_key(1337);
    std::fs::write(origin.join("side.py"), format!("K = '{key}'\n")).unwrap();
    commit_all(&origin, "side adds a key");
    let side = rev_parse(&origin, "HEAD");
    git(&origin, &["checkout", "-q", "main"]);
    std::fs::write(origin.join("main.txt"), "main\n").unwrap();
    commit_all(&origin, "main moves on");
    let before = rev_parse(&origin, "HEAD");
    git(&origin, &["merge", "-q", "--no-edit", "side"]);
    let after = rev_parse(&origin, "HEAD");
    // Depth 2 holds the merge and both its parents, but not the parents' parent: the pushed
    // range's side commit sits on the shallow boundary.
    let url = format!("file://{}", origin.display());
    git(
        sandbox.dir.path(),
        &["clone", "-q", "--depth", "2", &url, "shallow"],
    );
    let shallow = sandbox.path("shallow");
    let outcome = sandbox.run(
        &shallow,
        "push",
        &json!({"before": before, "after": after}),
        &[],
        Some(&binary()),
    );
    assert_eq!(outcome.status, 1, "{}\n{}", outcome.stdout, outcome.stderr);
    assert!(
        outcome.stderr.contains("git fetch --unshallow"),
        "{}",
        outcome.stderr
    );
    let diff = sarif_at(
        &sandbox
            .path("tmp/tuskguard-diff.sarif")
            .display()
            .to_string(),
    );
    let commit = &diff["runs"][0]["results"][0]["properties"]["commit"];
    assert_eq!(commit["id"], side.as_str(), "{diff:#}");
    assert!(commit.get("atOrBefore").is_none(), "{commit}");
    assert!(!outcome.stdout.contains(&key) && !outcome.summary.contains(&key));
}
