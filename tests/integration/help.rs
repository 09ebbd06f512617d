//! Every example in every `--help` runs, in a repository built here, and does what a user
//! expects of it (exit 0 or 1, never a usage or runtime error); the README shows each of them, and
//! the README's own shell lines and `.tuskguard.toml` example run the same way.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_fs::TempDir;

use crate::fake_tusky::{Behaviour, FakeKey, FakeTusky};
use crate::helpers::*;

const SUBCOMMANDS: [&str; 7] = [
    "scan",
    "history",
    "verify",
    "revoke",
    "baseline",
    "rules",
    "install-hook",
];

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The lines of the README's fenced blocks of `language`.
fn readme_blocks(language: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme().lines() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed == format!("```{language}") => current = Some(String::new()),
            Some(_) if trimmed == "```" => blocks.push(current.take().unwrap()),
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// The README's `.tuskguard.toml` example (the only toml block that holds `[allowlist]`).
pub fn readme_config() -> String {
    readme_blocks("toml")
        .into_iter()
        .find(|block| block.contains("[allowlist]"))
        .expect("the README shows a .tuskguard.toml example")
}

fn help_of(subcommand: Option<&str>) -> String {
    let mut cmd = tuskguard();
    if let Some(sub) = subcommand {
        cmd.arg(sub);
    }
    let output = cmd.arg("--help").output().unwrap();
    assert!(output.status.success(), "{subcommand:?} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

/// The example commands of a help text: the lines under `Examples:` that run tuskguard.
fn examples_in(help: &str) -> Vec<String> {
    let Some((_, examples)) = help.split_once("\nExamples:\n") else {
        return Vec::new();
    };
    examples
        .lines()
        .filter_map(|line| line.strip_prefix("  "))
        .filter(|line| line.starts_with("tuskguard "))
        .map(|line| line.split(" # ").next().unwrap().trim().to_owned())
        .collect()
}

/// A repository with everything the examples name: keys in `a.py` and `b/`, `src/`, a tag `v1.2`,
/// branches `feature` and `release`, a bare clone at `path/to/repo.git`, the README's config,
/// a JSON report and a baseline.
struct Playground {
    dir: TempDir,
    fake: FakeTusky,
    bin_dir: PathBuf,
}

impl Playground {
    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let root = dir.path();
        init_repo(root);
        let live = live_key(1501);
        std::fs::write(root.join("a.py"), format!("KEY = \"{live}\"\n")).unwrap();
        std::fs::create_dir_all(root.join("b")).unwrap();
        std::fs::write(
            root.join("b/client.js"),
            format!("const k = '{}';\n", test_key(1502)),
        )
        .unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/app.py"), "import os\n").unwrap();
        std::fs::write(root.join("config.py"), "DEBUG = True\n").unwrap();
        std::fs::write(root.join(".tuskguard.toml"), readme_config()).unwrap();
        std::fs::write(root.join(".gitignore"), "path/\n*.json\n*.jsonl\n*.sarif\n").unwrap();
        commit_all(root, "first");
        git(root, &["tag", "v1.2"]);
        std::fs::write(root.join("src/more.py"), "X = 1\n").unwrap();
        commit_all(root, "second");
        git(root, &["branch", "release"]);
        git(root, &["checkout", "-q", "-b", "feature"]);
        std::fs::write(root.join("src/feature.py"), "Y = 2\n").unwrap();
        commit_all(root, "feature");
        git(root, &["checkout", "-q", "main"]);
        git(root, &["clone", "-q", "--bare", ".", "path/to/repo.git"]);
        let fake = FakeTusky::start(vec![FakeKey::admin("k1", &live)], Behaviour::default());
        let bin = assert_cmd::cargo::cargo_bin("tuskguard");
        let playground = Playground {
            bin_dir: bin.parent().unwrap().to_owned(),
            fake,
            dir,
        };
        for setup in [
            "tuskguard scan --format json -o report.json",
            "tuskguard baseline",
        ] {
            let output = playground.run(setup);
            assert!(
                matches!(output.status.code(), Some(0 | 1)),
                "setup `{setup}` failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        playground
    }

    fn run(&self, command: &str) -> Output {
        let path = format!(
            "{}:{}",
            self.bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(self.dir.path())
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("XDG_STATE_HOME", self.dir.path().join("state"))
            .env("TUSKY_API_URL", &self.fake.url)
            .env_remove("TUSKY_API_KEY")
            .env_remove("TUSKY_ADMIN_API_KEY")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test Author")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "Test Author")
            .env("GIT_COMMITTER_EMAIL", "author@example.com")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs an example as a user would; it must exit 0 (clean) or 1 (findings), with no error.
    fn assert_example_runs(&self, command: &str) {
        let output = self.run(command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            matches!(output.status.code(), Some(0 | 1)) && !stderr.contains("error"),
            "example `{command}` exited {:?}\nstdout: {}\nstderr: {stderr}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

#[test]
fn every_help_example_runs_in_a_real_repository() {
    let mut ran = 0;
    for sub in SUBCOMMANDS {
        let examples = examples_in(&help_of(Some(sub)));
        assert!(
            (2..=8).contains(&examples.len()),
            "`tuskguard {sub} --help` should show two to eight examples, has {examples:?}"
        );
        // A fresh repository per command, so no example depends on another command's.
        let playground = Playground::new();
        for example in &examples {
            playground.assert_example_runs(example);
            ran += 1;
        }
    }
    let playground = Playground::new();
    for example in examples_in(&help_of(None)) {
        playground.assert_example_runs(&example);
        ran += 1;
    }
    assert!(ran >= 20, "only {ran} examples ran");
}

#[test]
fn the_examples_do_what_their_comments_say() {
    let playground = Playground::new();
    let root = playground.dir.path();
    // `scan` finds the key in a.py (exit 1); the baseline then hides it (exit 0).
    assert_eq!(playground.run("tuskguard scan").status.code(), Some(1));
    assert_eq!(
        playground
            .run("tuskguard scan --baseline .tuskguard-baseline.json")
            .status
            .code(),
        Some(0)
    );
    // `scan --format sarif -o` writes the file; `history --since main..feature` sees no key.
    playground.assert_example_runs("tuskguard scan --format sarif -o tuskguard.sarif");
    assert!(root.join("tuskguard.sarif").is_file());
    assert_eq!(
        playground
            .run("tuskguard history --since main..feature")
            .status
            .code(),
        Some(0)
    );
    // `revoke --yes --audit-log FILE` really revokes the live key and logs it there.
    let output = playground.run("tuskguard revoke report.json --yes --audit-log revocations.jsonl");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(
        playground.fake.key("k1").revoked,
        "the live key was not revoked"
    );
    assert!(root.join("revocations.jsonl").is_file());
}

#[test]
fn every_help_example_is_in_the_readme() {
    let readme = readme();
    for sub in SUBCOMMANDS.iter().map(|s| Some(*s)).chain([None]) {
        for example in examples_in(&help_of(sub)) {
            assert!(
                readme.contains(&example),
                "README.md does not show the `{sub:?} --help` example `{example}`"
            );
        }
    }
}

#[test]
fn every_tuskguard_line_in_the_readme_shell_blocks_runs() {
    let commands: Vec<String> = readme_blocks("sh")
        .iter()
        .flat_map(|block| block.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter(|line| line.starts_with("tuskguard "))
        .map(|line| line.split(" # ").next().unwrap().trim().to_owned())
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    let playground = Playground::new();
    for command in commands {
        playground.assert_example_runs(&command);
    }
}

#[test]
fn the_readme_config_example_is_accepted_and_its_rule_is_proved() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("c.toml"), readme_config()).unwrap();
    let output = tuskguard()
        .current_dir(dir.path())
        .args(["rules", "check", "--config", "c.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let listed = tuskguard()
        .current_dir(dir.path())
        .args(["rules", "list", "--format", "json", "--config", "c.toml"])
        .output()
        .unwrap();
    let json = json_of(&listed);
    let ids: Vec<&str> = json["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"acme-token"), "{ids:?}");
    assert!(
        !ids.contains(&"tusky-legacy-key"),
        "disabled_rules was ignored: {ids:?}"
    );
}

#[test]
fn help_lists_no_flag_that_does_nothing_there() {
    // The options, not the examples (which may show other commands' flags).
    let options_of = |sub: &str| {
        let help = help_of(Some(sub));
        help.split("\nExamples:\n").next().unwrap().to_owned()
    };
    let history = options_of("history");
    assert!(!history.contains("--no-ignore"), "{history}");
    let baseline = options_of("baseline");
    for flag in [
        "--verify",
        "--baseline",
        "--api-url",
        "--access-map",
        "--audit-log",
        "--revoke-admin-key",
    ] {
        assert!(!baseline.contains(flag), "baseline --help lists {flag}");
    }
    assert!(options_of("scan").contains("--no-ignore"));
}

/// The refs the README's YAML tells people to copy: pre-commit `rev:` and the Action's `@ref`.
fn readme_yaml_refs() -> Vec<String> {
    readme_blocks("yaml")
        .iter()
        .flat_map(|block| block.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|line| {
            let line = line.split(" #").next().unwrap().trim().to_owned();
            if let Some(rev) = line.strip_prefix("rev:") {
                Some(rev.trim().to_owned())
            } else {
                line.split_once("uses: tuskguard/tuskguard@")
                    .map(|(_, r)| r.trim().to_owned())
            }
        })
        .collect()
}

#[test]
fn the_readme_names_only_refs_and_installs_that_exist() {
    let refs = readme_yaml_refs();
    assert!(refs.len() >= 3, "{refs:?}");
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tags = git_tags(manifest_dir);
    for reference in &refs {
        let is_sha = reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit());
        assert!(
            reference == "main" || is_sha || tags.contains(reference),
            "README tells people to use ref {reference:?}, which is neither main, a commit nor \
             an existing tag ({tags:?})"
        );
    }
    // tuskguard is not on crates.io: every `cargo install` of it names --git or --path.
    // (The hook's own hint is checked by a unit test in src/cli/install_hook.rs.)
    for file in ["README.md", "action.yml", "scripts/action-install.sh"] {
        let text = std::fs::read_to_string(manifest_dir.join(file)).unwrap();
        for line in text.lines().filter(|l| l.contains("cargo install")) {
            let installs_us = line.contains("tuskguard") && !line.contains("cargo-nextest");
            assert!(
                !installs_us || line.contains("--git") || line.contains("--path"),
                "{file}: `{line}` installs from a registry that has no tuskguard"
            );
        }
    }
}

/// Tags of the repository at `dir` (none when it is not a git checkout, e.g. a crate package).
fn git_tags(dir: &Path) -> Vec<String> {
    Command::new("git")
        .args(["tag", "--list"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
