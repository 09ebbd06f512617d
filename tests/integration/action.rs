//! The GitHub Action: `scripts/action-run.sh` run with a simulated GitHub environment (event
//! payloads, `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`) against a recording fake tuskguard, once
//! with the real binary; and `action.yml` / README checked against the script.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_fs::TempDir;
use serde_json::{Value, json};
use yaml_rust2::{Yaml, YamlLoader};

use crate::helpers::*;
use crate::sarif::assert_valid_sarif;

pub(crate) const ZERO_SHA: &str = "0000000000000000000000000000000000000000";

pub(crate) fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A shell script standing in for tuskguard: logs its arguments one per line, copies a canned
/// SARIF to `--sarif-output`, adds a line to the step summary and exits with `FAKE_EXIT`.
const FAKE_TUSKGUARD: &str = r####"#!/bin/sh
{ printf '%s\n' "$@"; echo "--- end of call"; } >> "$FAKE_LOG"
while [ $# -gt 0 ]; do
    if [ "$1" = "--sarif-output" ] || [ "$1" = "--output" ]; then cp "$FAKE_SARIF" "$2"; fi
    shift
done
if [ -n "$GITHUB_STEP_SUMMARY" ]; then echo "### fake tuskguard summary" >> "$GITHUB_STEP_SUMMARY"; fi
exit "${FAKE_EXIT:-1}"
"####;

pub(crate) struct Sandbox {
    pub(crate) dir: TempDir,
}

pub(crate) struct Outcome {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) outputs: BTreeMap<String, String>,
    pub(crate) summary: String,
    /// The fake's arguments on its first call; `None` if it never ran.
    pub(crate) args: Option<Vec<String>>,
    /// The arguments of every call of the fake, in order.
    pub(crate) calls: Vec<Vec<String>>,
}

impl Outcome {
    pub(crate) fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .unwrap_or_else(|| panic!("no output {name}: {:?}", self.outputs))
    }
}

impl Sandbox {
    pub(crate) fn new() -> Sandbox {
        let sandbox = Sandbox {
            dir: TempDir::new().unwrap(),
        };
        std::fs::create_dir_all(sandbox.path("tmp")).unwrap();
        std::fs::write(sandbox.path("fake-tuskguard"), FAKE_TUSKGUARD).unwrap();
        make_executable(&sandbox.path("fake-tuskguard"));
        let canned = json!({
            "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": "tuskguard"}}, "results": [],
                      "properties": {"findings": 2}}]
        });
        std::fs::write(sandbox.path("canned.sarif"), canned.to_string()).unwrap();
        sandbox
    }

    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// A repository with three commits; returns their ids, oldest first.
    pub(crate) fn repo_with_commits(&self) -> (PathBuf, Vec<String>) {
        let repo = self.path("repo");
        std::fs::create_dir_all(&repo).unwrap();
        init_repo(&repo);
        let mut ids = Vec::new();
        for n in 1..=3 {
            std::fs::write(repo.join(format!("file{n}.txt")), format!("change {n}\n")).unwrap();
            commit_all(&repo, &format!("commit {n}"));
            ids.push(git(&repo, &["rev-parse", "HEAD"]).trim().to_owned());
        }
        (repo, ids)
    }

    /// Runs the action script in `repo` for `event` with `payload` and `inputs` (name → value).
    pub(crate) fn run(
        &self,
        repo: &Path,
        event: &str,
        payload: &Value,
        inputs: &[(&str, &str)],
        bin: Option<&Path>,
    ) -> Outcome {
        let event_path = self.path("event.json");
        std::fs::write(&event_path, payload.to_string()).unwrap();
        let output_file = self.path("github_output");
        let summary_file = self.path("step_summary.md");
        let log = self.path("fake.log");
        for file in [&output_file, &summary_file, &log] {
            let _ = std::fs::remove_file(file);
        }
        let fake = self.path("fake-tuskguard");
        let mut command = Command::new("bash");
        command
            .arg(repo_file("scripts/action-run.sh"))
            .current_dir(repo)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary_file)
            .env("RUNNER_TEMP", self.path("tmp"))
            .env("FAKE_LOG", &log)
            .env("FAKE_SARIF", self.path("canned.sarif"));
        match bin {
            Some(bin) => command.env("TUSKGUARD_BIN", bin),
            None => command.env("TUSKGUARD_BIN", &fake),
        };
        for (name, value) in inputs {
            command.env(input_env(name), value);
        }
        let output = command.output().unwrap();
        let mut calls: Vec<Vec<String>> = Vec::new();
        let mut current = Vec::new();
        for line in std::fs::read_to_string(&log).unwrap_or_default().lines() {
            if line == "--- end of call" {
                calls.push(std::mem::take(&mut current));
            } else {
                current.push(line.to_owned());
            }
        }
        let outputs = std::fs::read_to_string(&output_file)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Outcome {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            outputs,
            summary: std::fs::read_to_string(&summary_file).unwrap_or_default(),
            args: calls.first().cloned(),
            calls,
        }
    }

    fn sarif_path(&self) -> String {
        self.path("tmp/tuskguard.sarif").display().to_string()
    }
}

/// `fail-on` → `INPUT_FAIL_ON`, as action.yml maps it.
fn input_env(name: &str) -> String {
    format!("INPUT_{}", name.to_ascii_uppercase().replace('-', "_"))
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn push_scans_the_pushed_range_and_reports_outputs() {
    let sandbox = Sandbox::new();
    let (repo, ids) = sandbox.repo_with_commits();
    let range = format!("{}..{}", ids[0], ids[2]);
    let outcome = sandbox.run(
        &repo,
        "push",
        &json!({"before": ids[0], "after": ids[2]}),
        &[],
        None,
    );
    assert_eq!(
        outcome.status, 1,
        "findings fail the step: {}",
        outcome.stderr
    );
    let sarif = sandbox.sarif_path();
    let diff_sarif = sandbox
        .path("tmp/tuskguard-diff.sarif")
        .display()
        .to_string();
    assert_eq!(
        outcome.args.as_deref().unwrap(),
        strings(&[
            "history",
            ".",
            "--since",
            &range,
            "--format",
            "github",
            "--sarif-output",
            &diff_sarif,
            "--fail-on",
            "low"
        ])
    );
    // What code scanning receives is a full scan of the checkout, not the diff.
    assert_eq!(outcome.calls.len(), 2, "{:?}", outcome.calls);
    assert_eq!(
        outcome.calls[1],
        strings(&[
            "scan",
            ".",
            "--format",
            "sarif",
            "--output",
            &sarif,
            "--fail-on",
            "low"
        ])
    );
    assert_eq!(outcome.output("findings"), "2");
    assert_eq!(outcome.output("sarif-file"), sarif);
    assert_eq!(outcome.output("category"), "tuskguard-tree");
    assert_eq!(outcome.output("mode"), "diff");
    assert_eq!(outcome.output("range"), range);
    assert_eq!(outcome.output("exit-code"), "1");
    assert!(outcome.summary.contains(&format!("Scope: push {range}")));
    assert!(outcome.summary.contains("### fake tuskguard summary"));
}

#[test]
fn new_branch_push_scans_the_full_history() {
    let sandbox = Sandbox::new();
    let (repo, ids) = sandbox.repo_with_commits();
    let outcome = sandbox.run(
        &repo,
        "push",
        &json!({"before": ZERO_SHA, "after": ids[2]}),
        &[],
        None,
    );
    assert_eq!(outcome.status, 1, "{}", outcome.stderr);
    let args = outcome.args.clone().unwrap();
    assert_eq!(args[..2], strings(&["history", "."]));
    assert!(!args.contains(&"--since".to_owned()), "{args:?}");
    assert_eq!(outcome.output("range"), "");
    assert!(outcome.summary.contains("new branch: full history"));
}

#[test]
fn pull_request_scans_base_to_head_with_every_input() {
    let sandbox = Sandbox::new();
    let (repo, ids) = sandbox.repo_with_commits();
    let payload = json!({"pull_request": {"base": {"sha": ids[0]}, "head": {"sha": ids[2]}}});
    let outcome = sandbox.run(
        &repo,
        "pull_request",
        &payload,
        &[
            ("fail-on", "high"),
            ("baseline", ".tuskguard-baseline.json"),
            ("verify", "true"),
            ("sarif-file", "out.sarif"),
            ("args", "--max-file-size 10M\n  --no-ignore"),
        ],
        None,
    );
    assert_eq!(outcome.status, 1);
    let range = format!("{}..{}", ids[0], ids[2]);
    let diff_sarif = sandbox
        .path("tmp/tuskguard-diff.sarif")
        .display()
        .to_string();
    assert_eq!(
        outcome.args.as_deref().unwrap(),
        strings(&[
            "history",
            ".",
            "--since",
            &range,
            "--format",
            "github",
            "--sarif-output",
            &diff_sarif,
            "--fail-on",
            "high",
            "--baseline",
            ".tuskguard-baseline.json",
            "--verify",
            "--max-file-size",
            "10M",
            "--no-ignore",
        ])
    );
    // The upload: the whole checkout with the same baseline and extra arguments, into the
    // sarif-file input; no second round of API calls.
    assert_eq!(
        outcome.calls[1],
        strings(&[
            "scan",
            ".",
            "--format",
            "sarif",
            "--output",
            "out.sarif",
            "--fail-on",
            "high",
            "--baseline",
            ".tuskguard-baseline.json",
            "--max-file-size",
            "10M",
            "--no-ignore",
        ])
    );
    assert_eq!(outcome.output("sarif-file"), "out.sarif");
    assert!(repo.join("out.sarif").is_file());
}

#[test]
fn a_clean_scan_passes_and_an_error_is_exit_two() {
    let sandbox = Sandbox::new();
    let (repo, ids) = sandbox.repo_with_commits();
    let payload = json!({"before": ids[1], "after": ids[2]});
    let wrapper = sandbox.path("fake-clean");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nFAKE_EXIT=0 exec sh {} \"$@\"\n",
            sandbox.path("fake-tuskguard").display()
        ),
    )
    .unwrap();
    make_executable(&wrapper);
    let outcome = sandbox.run(&repo, "push", &payload, &[], Some(&wrapper));
    assert_eq!(outcome.status, 0);
    assert_eq!(outcome.output("exit-code"), "0");

    let failing = sandbox.path("fake-error");
    std::fs::write(
        &failing,
        "#!/bin/sh\necho 'tuskguard: error: boom' >&2\nexit 2\n",
    )
    .unwrap();
    make_executable(&failing);
    let outcome = sandbox.run(&repo, "push", &payload, &[], Some(&failing));
    assert_eq!(outcome.status, 2);
    assert_eq!(
        outcome.output("sarif-file"),
        "",
        "no SARIF, nothing to upload"
    );
    assert_eq!(outcome.output("findings"), "");
}

pub(crate) fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn shallow_checkout_fails_loudly_with_the_fetch_depth_fix() {
    let sandbox = Sandbox::new();
    let (repo, ids) = sandbox.repo_with_commits();
    let shallow = sandbox.path("shallow");
    git(
        sandbox.dir.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &format!("file://{}", repo.display()),
            shallow.to_str().unwrap(),
        ],
    );
    let cases = [
        ("push", json!({"before": ids[0], "after": ids[2]})),
        ("push", json!({"before": ZERO_SHA, "after": ids[2]})),
        (
            "pull_request",
            json!({"pull_request": {"base": {"sha": ids[0]}, "head": {"sha": ids[2]}}}),
        ),
    ];
    // The remote the checkout came from is gone, so the action cannot deepen the clone itself.
    let moved = sandbox.path("origin-gone");
    std::fs::rename(&repo, &moved).unwrap();
    for (event, payload) in cases {
        let outcome = sandbox.run(&shallow, event, &payload, &[], None);
        assert_eq!(outcome.status, 2, "{event} {payload}: {}", outcome.stderr);
        assert!(outcome.args.is_none(), "no partial scan may run");
        assert!(
            outcome.stdout.starts_with("::error title=tuskguard::"),
            "{}",
            outcome.stdout
        );
        assert!(outcome.stdout.contains("fetch-depth: 0"));
        assert!(outcome.summary.contains("fetch-depth: 0"));
        assert!(
            outcome
                .summary
                .contains("git fetch --unshallow origin` failed"),
            "{}",
            outcome.summary
        );
        assert_eq!(outcome.output("exit-code"), "2");
    }
    std::fs::rename(&moved, &repo).unwrap();
    // A clone deep enough for the pushed range is fine, shallow or not.
    let deeper = sandbox.path("deeper");
    git(
        sandbox.dir.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "2",
            &format!("file://{}", repo.display()),
            deeper.to_str().unwrap(),
        ],
    );
    let outcome = sandbox.run(
        &deeper,
        "push",
        &json!({"before": ids[1], "after": ids[2]}),
        &[],
        None,
    );
    assert_eq!(outcome.status, 1, "{}", outcome.stderr);
    assert_eq!(outcome.output("range"), format!("{}..{}", ids[1], ids[2]));
    // The same shallow clone is fine for what it does hold: the last commit alone.
    let outcome = sandbox.run(
        &shallow,
        "push",
        &json!({"before": ids[2], "after": ids[2]}),
        &[],
        None,
    );
    assert_eq!(outcome.status, 1, "{}", outcome.stderr);
}

#[test]
fn deleted_branch_and_other_events() {
    let sandbox = Sandbox::new();
    let (repo, ids) = sandbox.repo_with_commits();
    let deleted = sandbox.run(
        &repo,
        "push",
        &json!({"before": ids[2], "after": ZERO_SHA}),
        &[],
        None,
    );
    assert_eq!(deleted.status, 0);
    assert!(deleted.args.is_none());
    assert_eq!(deleted.output("findings"), "0");

    let scheduled = sandbox.run(&repo, "schedule", &json!({}), &[], None);
    assert_eq!(scheduled.status, 1);
    assert_eq!(
        scheduled.args.clone().unwrap()[..2],
        strings(&["scan", "."])
    );
    assert_eq!(scheduled.output("mode"), "tree");

    let history = sandbox.run(
        &repo,
        "workflow_dispatch",
        &json!({}),
        &[("mode", "history")],
        None,
    );
    assert_eq!(
        history.args.unwrap()[..3],
        strings(&["history", ".", "--format"])
    );

    let diff_without_range = sandbox.run(&repo, "schedule", &json!({}), &[("mode", "diff")], None);
    assert_eq!(diff_without_range.status, 2);
    assert!(
        diff_without_range
            .stdout
            .contains("needs a push or pull_request event")
    );

    let bad_mode = sandbox.run(&repo, "push", &json!({}), &[("mode", "everything")], None);
    assert_eq!(bad_mode.status, 2);
    assert!(bad_mode.stdout.contains("Unknown mode 'everything'"));
}

#[test]
fn real_binary_in_tree_mode_writes_sarif_annotations_and_summary() {
    let sandbox = Sandbox::new();
    let repo = sandbox.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    init_repo(&repo);
    let key = live_key(777);
    std::fs::write(repo.join("config.ini"), format!("TUSKY_API_KEY={key}\n")).unwrap();
    commit_all(&repo, "add config");
    let binary = assert_cmd::cargo::cargo_bin("tuskguard");
    let outcome = sandbox.run(
        &repo,
        "push",
        &json!({}),
        &[("mode", "tree"), ("fail-on", "high")],
        Some(&binary),
    );
    assert_eq!(outcome.status, 1, "{}", outcome.stderr);
    assert_eq!(outcome.output("findings"), "1");
    assert_eq!(outcome.output("mode"), "tree");
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(outcome.output("sarif-file")).unwrap()).unwrap();
    assert_valid_sarif(&sarif);
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "config.ini"
    );
    assert!(
        outcome
            .stdout
            .contains("::error file=config.ini,line=1,endLine=1,col=15,"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome
            .summary
            .contains("### tuskguard (scan): 1 finding (1 critical)"),
        "{}",
        outcome.summary
    );
    assert!(!outcome.stdout.contains(&key) && !outcome.summary.contains(&key));
    let sarif_text = std::fs::read_to_string(outcome.output("sarif-file")).unwrap();
    assert!(!sarif_text.contains(&key));
}

/// Parses one YAML document, failing the test with the parser's message.
fn load_yaml(text: &str, origin: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(text)
        .unwrap_or_else(|err| panic!("{origin} is not valid YAML: {err}\n{text}"));
    assert_eq!(docs.len(), 1, "{origin}: one YAML document");
    docs.remove(0)
}

fn action_yml() -> Yaml {
    load_yaml(
        &std::fs::read_to_string(repo_file("action.yml")).unwrap(),
        "action.yml",
    )
}

/// A scalar as the text GitHub would pass on (`true`, `0`, `"x"` → `true`, `0`, `x`).
fn scalar(value: &Yaml) -> String {
    match value {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

fn keys(map: &Yaml) -> BTreeSet<String> {
    map.as_hash()
        .map(|hash| hash.keys().map(scalar).collect())
        .unwrap_or_default()
}

/// The names declared under `inputs:` or `outputs:` of action.yml.
fn declared(section: &str) -> BTreeSet<String> {
    keys(&action_yml()[section])
}

fn step_with_id<'a>(steps: &'a [Yaml], id: &str) -> &'a Yaml {
    steps
        .iter()
        .find(|step| step["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("no step with id {id}"))
}

fn step_using<'a>(steps: &'a [Yaml], prefix: &str) -> Option<&'a Yaml> {
    steps
        .iter()
        .find(|step| step["uses"].as_str().is_some_and(|u| u.starts_with(prefix)))
}

#[test]
fn action_yml_declares_and_passes_every_input_the_script_reads() {
    let script = std::fs::read_to_string(repo_file("scripts/action-run.sh")).unwrap();
    let action = action_yml();
    let inputs = declared("inputs");
    for expected in [
        "mode",
        "path",
        "fail-on",
        "baseline",
        "sarif-file",
        "upload-sarif",
        "verify",
        "version",
        "args",
    ] {
        assert!(inputs.contains(expected), "missing input {expected}");
        let input = &action["inputs"][expected];
        assert!(input["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    assert_eq!(scalar(&action["inputs"]["upload-sarif"]["default"]), "true");
    assert_eq!(scalar(&action["inputs"]["verify"]["default"]), "false");
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let steps = action["runs"]["steps"].as_vec().unwrap();

    let scan = step_with_id(steps, "scan");
    assert_eq!(
        scan["run"].as_str(),
        Some(r#"bash "$GITHUB_ACTION_PATH/scripts/action-run.sh""#)
    );
    let used: BTreeSet<String> = regex::Regex::new(r"\bINPUT_([A-Z_]+)")
        .unwrap()
        .captures_iter(&script)
        .map(|c| c[1].to_ascii_lowercase().replace('_', "-"))
        .collect();
    assert!(used.len() >= 7, "{used:?}");
    for name in &used {
        assert!(
            inputs.contains(name),
            "the script reads input '{name}' that action.yml lacks"
        );
        assert_eq!(
            scan["env"][input_env(name).as_str()].as_str(),
            Some(format!("${{{{ inputs.{name} }}}}").as_str()),
            "the scan step must pass input '{name}' as {}",
            input_env(name)
        );
    }
    let action_text = std::fs::read_to_string(repo_file("action.yml")).unwrap();
    for reference in regex::Regex::new(r"inputs\.([a-z-]+)")
        .unwrap()
        .captures_iter(&action_text)
    {
        assert!(
            inputs.contains(&reference[1]),
            "action.yml uses undeclared input {}",
            &reference[1]
        );
    }

    assert_eq!(
        declared("outputs"),
        BTreeSet::from([
            "findings".to_owned(),
            "sarif-file".to_owned(),
            "category".to_owned()
        ])
    );
    for output in ["findings", "sarif-file", "mode", "category"] {
        assert!(script.contains(&format!("set_output {output} ")));
    }
    assert!(step_using(steps, "actions/cache@").is_some());
    let install = steps
        .iter()
        .find(|s| s["name"].as_str() == Some("Install tuskguard"))
        .unwrap();
    // The install step runs scripts/action-install.sh (tests/integration/action_install.rs),
    // which downloads a verified release or builds the action's own source.
    assert_eq!(
        install["run"].as_str(),
        Some(r#"bash "$GITHUB_ACTION_PATH/scripts/action-install.sh""#)
    );
    let installer = std::fs::read_to_string(repo_file("scripts/action-install.sh")).unwrap();
    assert!(installer.contains(
        r#"cargo install --locked --root "$root" --path "${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}""#
    ));
    let upload = step_using(steps, "github/codeql-action/upload-sarif@v3").unwrap();
    assert!(upload["if"].as_str().unwrap().contains("always()"));
    assert!(
        upload["if"]
            .as_str()
            .unwrap()
            .contains("inputs.upload-sarif == 'true'")
    );
    assert_eq!(
        upload["with"]["sarif_file"].as_str(),
        Some("${{ steps.scan.outputs.sarif-file }}")
    );
    // The category comes from the script (stable per kind of complete scan), never from the
    // mode: a diff must not get a category of its own (README, alert lifecycle).
    assert_eq!(
        upload["with"]["category"].as_str(),
        Some("${{ steps.scan.outputs.category }}")
    );
    // D13: x64 and arm64 runners of one repository must not share a cached binary.
    let key_step = step_with_id(steps, "key")["run"].as_str().unwrap();
    let keys: Vec<&str> = key_step
        .lines()
        .filter(|line| line.contains("key=tuskguard-"))
        .collect();
    assert!(!keys.is_empty(), "{key_step}");
    for key in keys {
        assert!(key.contains("${RUNNER_OS}-${RUNNER_ARCH}"), "{key}");
    }
}

/// The ```yaml blocks of the README, each parsed.
fn readme_yaml_blocks() -> Vec<Yaml> {
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(_), "```") => {
                let text = current.take().unwrap();
                blocks.push(load_yaml(&text, "a README yaml block"));
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// Every step of every job of a workflow.
fn workflow_steps(workflow: &Yaml) -> Vec<&Yaml> {
    workflow["jobs"]
        .as_hash()
        .map(|jobs| {
            jobs.values()
                .filter_map(|job| job["steps"].as_vec())
                .flatten()
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn readme_workflows_use_only_declared_inputs_and_run_as_written() {
    let blocks = readme_yaml_blocks();
    let workflows: Vec<&Yaml> = blocks
        .iter()
        .filter(|b| {
            workflow_steps(b).iter().any(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("tuskguard/tuskguard@"))
            })
        })
        .collect();
    assert_eq!(workflows.len(), 2, "code scanning and PR gating workflows");
    let inputs = declared("inputs");
    let sandbox = Sandbox::new();
    let (repo, ids) = sandbox.repo_with_commits();
    for workflow in workflows {
        let steps = workflow_steps(workflow);
        let action_step = steps
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("tuskguard/tuskguard@"))
            })
            .unwrap();
        let with: Vec<(String, String)> = action_step["with"]
            .as_hash()
            .expect("a with: block")
            .iter()
            .map(|(k, v)| (scalar(k), scalar(v)))
            .collect();
        for (name, _) in &with {
            assert!(
                inputs.contains(name),
                "README uses undeclared input '{name}'"
            );
        }
        let input = |name: &str| {
            with.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let checkout = steps
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
            })
            .expect("a checkout step");
        if input("mode") != Some("tree") {
            assert_eq!(
                checkout["with"]["fetch-depth"].as_i64(),
                Some(0),
                "diff and history need the full history"
            );
        }
        if input("upload-sarif").unwrap_or("true") == "true" {
            assert_eq!(
                workflow["permissions"]["security-events"].as_str(),
                Some("write"),
                "uploading SARIF needs security-events: write"
            );
        }
        // Run the script with exactly these inputs, for the workflow's own trigger.
        let triggers = keys(&workflow["on"]);
        let (event, payload) = if triggers.contains("pull_request") {
            (
                "pull_request",
                json!({"pull_request": {"base": {"sha": ids[0]}, "head": {"sha": ids[2]}}}),
            )
        } else {
            assert!(triggers.contains("push"), "{triggers:?}");
            ("push", json!({"before": ids[0], "after": ids[2]}))
        };
        let script_inputs: Vec<(&str, &str)> = with
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "upload-sarif" | "version"))
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let outcome = sandbox.run(&repo, event, &payload, &script_inputs, None);
        assert_eq!(outcome.status, 1, "{}", outcome.stderr);
        let args = outcome.args.unwrap();
        if let Some(baseline) = input("baseline") {
            assert!(args.windows(2).any(|w| w == ["--baseline", baseline]));
        }
        if let Some(fail_on) = input("fail-on") {
            assert!(args.windows(2).any(|w| w == ["--fail-on", fail_on]));
        }
        match input("mode") {
            Some("tree") => assert_eq!(args[0], "scan"),
            _ => assert!(args.windows(2).any(|w| w[0] == "--since")),
        }
    }
}

#[test]
fn readme_pre_commit_snippet_names_a_real_hook_and_help_anchors_exist() {
    let blocks = readme_yaml_blocks();
    let snippet = blocks
        .iter()
        .find(|b| !b["repos"].is_badvalue())
        .expect("a pre-commit snippet in the README");
    let repo = &snippet["repos"][0];
    assert_eq!(
        repo["repo"].as_str(),
        Some("https://github.com/tuskguard/tuskguard")
    );
    let id = repo["hooks"][0]["id"].as_str().expect("a hook id");
    let hooks = repo_file(".pre-commit-hooks.yaml");
    if hooks.exists() {
        let hooks = load_yaml(
            &std::fs::read_to_string(hooks).unwrap(),
            ".pre-commit-hooks.yaml",
        );
        assert!(
            hooks
                .as_vec()
                .unwrap()
                .iter()
                .any(|hook| hook["id"].as_str() == Some(id)),
            "hook '{id}' is not offered by .pre-commit-hooks.yaml"
        );
    } else {
        assert_eq!(id, "tuskguard");
    }
    // Rule help links in SARIF point at README headings; GitHub makes anchors by lowercasing,
    // dropping punctuation other than '-' and turning spaces into '-'.
    let readme = std::fs::read_to_string(repo_file("README.md")).unwrap();
    let anchors: BTreeSet<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|heading| {
            heading
                .trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect();
    for anchor in tuskguard::reports::sarif::HELP_ANCHORS {
        assert!(
            anchors.contains(anchor),
            "README lacks the heading for #{anchor}"
        );
    }
}

#[test]
fn real_binary_in_diff_mode_reports_a_key_that_a_later_commit_deleted() {
    let sandbox = Sandbox::new();
    let repo = sandbox.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    init_repo(&repo);
    std::fs::write(repo.join("README.md"), "hello\n").unwrap();
    commit_all(&repo, "start");
    let start = git(&repo, &["rev-parse", "HEAD"]).trim().to_owned();
    let key = live_key(4242);
    std::fs::write(repo.join("config.ini"), format!("TUSKY_API_KEY={key}\n")).unwrap();
    commit_all(&repo, "add config");
    let leak = git(&repo, &["rev-parse", "HEAD"]).trim().to_owned();
    std::fs::remove_file(repo.join("config.ini")).unwrap();
    commit_all(&repo, "remove config");
    let head = git(&repo, &["rev-parse", "HEAD"]).trim().to_owned();

    let binary = assert_cmd::cargo::cargo_bin("tuskguard");
    let outcome = sandbox.run(
        &repo,
        "push",
        &json!({"before": start, "after": head}),
        &[],
        Some(&binary),
    );
    assert_eq!(outcome.status, 1, "{}\n{}", outcome.stdout, outcome.stderr);
    assert_eq!(outcome.output("findings"), "1");
    assert_eq!(outcome.output("range"), format!("{start}..{head}"));
    // The change's own SARIF (annotations and exit code come from it) holds the key...
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(sandbox.path("tmp/tuskguard-diff.sarif")).unwrap())
            .unwrap();
    assert_valid_sarif(&sarif);
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["properties"]["historyOnly"], true, "{result:#}");
    // ...while what code scanning receives is the checkout, where the key no longer is.
    let uploaded: Value =
        serde_json::from_slice(&std::fs::read(outcome.output("sarif-file")).unwrap()).unwrap();
    assert_valid_sarif(&uploaded);
    assert_eq!(uploaded["runs"][0]["properties"]["mode"], "scan");
    assert_eq!(uploaded["runs"][0]["results"], json!([]));
    assert_eq!(outcome.output("category"), "tuskguard-tree");
    assert_eq!(result["properties"]["commit"]["id"], leak.as_str());
    assert_ne!(
        result["partialFingerprints"]["tuskguardFingerprint/v1"],
        leak.as_str()
    );
    assert!(outcome.summary.contains(&leak[..12]), "{}", outcome.summary);
    for text in [&outcome.stdout, &outcome.summary, &sarif.to_string()] {
        assert!(!text.contains(&key));
    }

    // The deletion alone adds no key.
    let outcome = sandbox.run(
        &repo,
        "push",
        &json!({"before": leak, "after": head}),
        &[],
        Some(&binary),
    );
    assert_eq!(outcome.status, 0, "{}\n{}", outcome.stdout, outcome.stderr);
    assert_eq!(outcome.output("findings"), "0");
}
