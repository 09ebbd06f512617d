//! A history audit that does not reach the first commit (shallow clone, `--max-count`,
//! `--since`, a range) says so in every format, and never names its boundary as the commit that
//! introduced a key.

use std::path::Path;

use assert_fs::TempDir;
use serde_json::Value;

use crate::helpers::*;

/// A repository: `initial`, `add key` (a live key in conf.py), then three clean commits.
/// Returns (dir, key, commit ids oldest first).
fn repo_with_old_key() -> (TempDir, String, Vec<String>) {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    let key = live_key(1301);
    let mut ids = Vec::new();
    for (file, text, message) in [
        ("README.md", "hello\n".to_owned(), "initial"),
        ("conf.py", format!("KEY = '{key}'\n"), "add key"),
        ("a.txt", "a\n".to_owned(), "clean 1"),
        ("b.txt", "b\n".to_owned(), "clean 2"),
        ("c.txt", "c\n".to_owned(), "clean 3"),
    ] {
        std::fs::write(dir.path().join(file), text).unwrap();
        commit_all(dir.path(), message);
        ids.push(rev_parse(dir.path(), "HEAD"));
    }
    (dir, key, ids)
}

/// Every format of one audit: JSON, text, SARIF, and github (stdout plus the step summary).
struct Formats {
    json: Value,
    text: String,
    sarif: Value,
    github: String,
    step_summary: String,
}

fn audit_all_formats(repo: &Path, extra: &[&str], key: &str) -> Formats {
    let run = |format: &str| {
        let output = tuskguard()
            .arg("history")
            .arg(repo)
            .args(["--format", format])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{format}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!stdout.contains(key) && !stderr.contains(key));
        (output, stdout)
    };
    let (json_output, _) = run("json");
    let (_, text) = run("text");
    let (_, sarif) = run("sarif");
    let summary_dir = TempDir::new().unwrap();
    let summary_file = summary_dir.path().join("summary.md");
    let output = tuskguard()
        .arg("history")
        .arg(repo)
        .args(["--format", "github"])
        .args(extra)
        .env("GITHUB_STEP_SUMMARY", &summary_file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let step_summary = std::fs::read_to_string(&summary_file).unwrap();
    assert!(!step_summary.contains(key));
    Formats {
        json: json_of(&json_output),
        text,
        sarif: serde_json::from_str(&sarif).unwrap(),
        github: String::from_utf8_lossy(&output.stdout).into_owned(),
        step_summary,
    }
}

/// Asserts that every format says the audit was cut for `reason`, and that the key reads
/// "at or before" `boundary`.
fn assert_cut_at(formats: &Formats, reason: &str, boundary: &str) {
    let short = &boundary[..12];
    let cut = &formats.json["summary"]["history_cut"];
    assert_eq!(cut["reasons"], serde_json::json!([reason]), "{cut}");
    assert_eq!(cut["boundary"], serde_json::json!([boundary]), "{cut}");
    let introduced = &formats.json["findings"][0]["history"]["introduced"];
    assert_eq!(introduced["id"], boundary);
    assert_eq!(introduced["at_or_before"], true, "{introduced}");
    assert_eq!(
        formats.json["findings"][0]["locations"][0]["commit"]["at_or_before"],
        true
    );

    assert!(
        formats
            .text
            .contains(&format!("first seen: at or before commit {short}")),
        "{}",
        formats.text
    );
    assert!(!formats.text.contains("first seen: commit"));
    assert!(
        formats.text.contains("Not a full audit: history was cut"),
        "{}",
        formats.text
    );
    assert!(formats.text.contains(reason), "{}", formats.text);

    let run = &formats.sarif["runs"][0];
    assert_eq!(run["properties"]["historyCut"]["reasons"][0], reason);
    assert_eq!(run["properties"]["historyCut"]["boundary"][0], boundary);
    let result = &run["results"][0];
    assert_eq!(result["properties"]["commit"]["atOrBefore"], true);
    let message = result["message"]["text"].as_str().unwrap();
    assert!(
        message.contains(&format!("First seen at or before commit {short}")),
        "{message}"
    );
    assert!(!message.contains("Introduced in"), "{message}");
    let notifications = run["invocations"][0]["toolExecutionNotifications"].to_string();
    assert!(notifications.contains("history was cut"), "{notifications}");

    assert!(
        formats
            .github
            .contains("::warning title=tuskguard%3A history was cut::Not a full audit:"),
        "{}",
        formats.github
    );
    assert!(
        formats
            .github
            .contains(&format!("First seen at or before commit {short}")),
        "{}",
        formats.github
    );
    assert!(
        formats.step_summary.contains("**Not a full audit:**"),
        "{}",
        formats.step_summary
    );
    assert!(
        formats
            .step_summary
            .contains(&format!("at or before {short}")),
        "{}",
        formats.step_summary
    );
}

#[test]
fn a_full_audit_names_the_introducing_commit_and_no_cut() {
    let (dir, key, ids) = repo_with_old_key();
    let formats = audit_all_formats(dir.path(), &[], &key);
    assert!(formats.json["summary"].get("history_cut").is_none());
    let introduced = &formats.json["findings"][0]["history"]["introduced"];
    assert_eq!(introduced["id"], ids[1].as_str());
    assert!(introduced.get("at_or_before").is_none(), "{introduced}");
    assert!(
        formats
            .text
            .contains(&format!("first seen: commit {}", &ids[1][..12]))
    );
    assert!(!formats.text.contains("Not a full audit"));
    assert!(
        formats.sarif["runs"][0]["properties"]
            .get("historyCut")
            .is_none()
    );
    assert!(!formats.github.contains("history was cut"));
    assert!(!formats.step_summary.contains("Not a full audit"));
}

#[test]
fn max_count_cut_reads_at_or_before_the_oldest_audited_commit() {
    let (dir, key, ids) = repo_with_old_key();
    let formats = audit_all_formats(dir.path(), &["--max-count", "2"], &key);
    assert_cut_at(&formats, "--max-count 2", &ids[3]);
    // A limit the history never reaches cuts nothing.
    let formats = audit_all_formats(dir.path(), &["--max-count", "50"], &key);
    assert!(formats.json["summary"].get("history_cut").is_none());
    assert_eq!(
        formats.json["findings"][0]["history"]["introduced"]["id"],
        ids[1].as_str()
    );
}

#[test]
fn shallow_clone_cut_reads_at_or_before_the_shallow_boundary() {
    let (dir, key, ids) = repo_with_old_key();
    let clones = TempDir::new().unwrap();
    let url = format!("file://{}", dir.path().display());
    git(clones.path(), &["clone", "-q", "--depth", "2", &url, "c"]);
    let clone = clones.path().join("c");
    let formats = audit_all_formats(&clone, &[], &key);
    assert_cut_at(&formats, "shallow clone", &ids[3]);
    assert!(formats.text.contains("git fetch --unshallow"));
    // Deepened, the same clone names the real commit.
    git(&clone, &["fetch", "-q", "--unshallow"]);
    let formats = audit_all_formats(&clone, &[], &key);
    assert!(formats.json["summary"].get("history_cut").is_none());
    assert_eq!(
        formats.json["findings"][0]["history"]["introduced"]["id"],
        ids[1].as_str()
    );
}

#[test]
fn since_and_ranges_say_where_the_audit_starts() {
    let (dir, key, ids) = repo_with_old_key();
    // The range holds the key's commit: it is introduced there, exactly, and the report still
    // says that older history was not audited.
    for since in [ids[0].clone(), format!("{}..{}", ids[0], ids[4])] {
        let formats = audit_all_formats(dir.path(), &["--since", &since], &key);
        let cut = &formats.json["summary"]["history_cut"];
        assert_eq!(
            cut["reasons"],
            serde_json::json!([format!("--since {since}")])
        );
        assert_eq!(cut["base"], serde_json::json!([ids[0]]), "{cut}");
        assert!(cut.get("boundary").is_none(), "{cut}");
        let introduced = &formats.json["findings"][0]["history"]["introduced"];
        assert_eq!(introduced["id"], ids[1].as_str());
        assert!(introduced.get("at_or_before").is_none());
        let short = &ids[0][..12];
        for (format, text) in [
            ("text", &formats.text),
            ("github", &formats.github),
            ("step summary", &formats.step_summary),
        ] {
            assert!(
                text.contains("Not a full audit") && text.contains(short),
                "{format}: {text}"
            );
        }
        assert_eq!(
            formats.sarif["runs"][0]["properties"]["historyCut"]["base"][0],
            ids[0].as_str()
        );
        // A range the run asked for is a notice; only a boundary (uncertain "first seen") warns.
        assert!(
            formats
                .github
                .contains("::notice title=tuskguard%3A history was cut::Not a full audit:"),
            "{}",
            formats.github
        );
        assert!(formats.step_summary.contains("> [!NOTE]"));
    }
}

#[test]
fn a_range_does_not_blame_a_merged_branch_for_a_key_older_than_the_range() {
    let dir = TempDir::new().unwrap();
    init_repo(dir.path());
    std::fs::write(dir.path().join("README.md"), "hello\n").unwrap();
    commit_all(dir.path(), "initial");
    let old_key = live_key(1302);
    std::fs::write(dir.path().join("old.py"), format!("K = '{old_key}'\n")).unwrap();
    commit_all(dir.path(), "old key");
    git(dir.path(), &["branch", "side"]);
    git(dir.path(), &["rm", "-q", "old.py"]);
    commit_all(dir.path(), "remove old key");
    let from = rev_parse(dir.path(), "HEAD");
    git(dir.path(), &["checkout", "-q", "side"]);
    let new_key = live_key(1303);
    std::fs::write(dir.path().join("side.py"), format!("K = '{new_key}'\n")).unwrap();
    commit_all(dir.path(), "side work");
    let side = rev_parse(dir.path(), "HEAD");
    git(dir.path(), &["checkout", "-q", "main"]);
    git(dir.path(), &["merge", "-q", "--no-edit", "side"]);
    let output = tuskguard()
        .arg("history")
        .arg(dir.path())
        .args(["--format", "json", "--since", &format!("{from}..HEAD")])
        .output()
        .unwrap();
    let report = json_of(&output);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(
        findings.len(),
        1,
        "only the side branch's own key: {report}"
    );
    assert_eq!(findings[0]["locations"][0]["path"], "side.py");
    assert_eq!(findings[0]["history"]["introduced"]["id"], side.as_str());
    let text = report.to_string();
    assert!(!text.contains(&old_key) && !text.contains(&new_key));
}

#[test]
fn history_sarif_from_a_subdirectory_is_rooted_at_the_repository() {
    let (dir, key, _) = repo_with_old_key();
    let sub = dir.path().join("app");
    std::fs::create_dir_all(&sub).unwrap();
    let output = tuskguard()
        .current_dir(&sub)
        .args(["history", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&output.stdout).unwrap();
    let run = &sarif["runs"][0];
    let root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    let repo_root = format!("{}/", dir.path().canonicalize().unwrap().display());
    assert_eq!(root, format!("file://{repo_root}"), "{run:#}");
    assert_eq!(
        run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "conf.py"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains(&key));
}
