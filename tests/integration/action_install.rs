//! `scripts/action-install.sh`, the Action's install step, against a release server on 127.0.0.1:
//! a matching release binary is downloaded and verified against SHA256SUMS; a checksum mismatch is
//! refused with a clear error; a missing asset, a missing SHA256SUMS or a ref that is no release
//! falls back to building from source (a fake `cargo` records how). Plus the release workflow's
//! shape.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use assert_fs::TempDir;
use sha2::{Digest, Sha256};
use tiny_http::{Response, Server};
use yaml_rust2::YamlLoader;

const TARGET: &str = "x86_64-unknown-linux-musl";
const RELEASED: &str = "#!/bin/sh\necho tuskguard-from-the-release\n";

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A static file server on 127.0.0.1 that records every path asked for.
struct ReleaseServer {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    server: Arc<Server>,
}

impl ReleaseServer {
    fn start(files: HashMap<String, Vec<u8>>) -> Self {
        let server = Arc::new(Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        {
            let server = Arc::clone(&server);
            let requests = Arc::clone(&requests);
            std::thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    let path = request.url().to_owned();
                    requests.lock().unwrap().push(path.clone());
                    let _ = match files.get(&path) {
                        Some(body) => request.respond(Response::from_data(body.clone())),
                        None => request
                            .respond(Response::from_string("Not Found").with_status_code(404)),
                    };
                }
            });
        }
        ReleaseServer {
            url: format!("http://127.0.0.1:{port}/releases/download"),
            requests,
            server,
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

/// The archive the release workflow publishes for `tag`, holding a stand-in binary.
fn release_archive(dir: &Path, tag: &str) -> (String, Vec<u8>) {
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("tuskguard"), RELEASED).unwrap();
    let name = format!("tuskguard-{tag}-{TARGET}.tar.gz");
    let archive = dir.join(&name);
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&pkg)
        .arg("tuskguard")
        .status()
        .unwrap();
    assert!(status.success());
    (name, std::fs::read(archive).unwrap())
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Install {
    dir: TempDir,
}

impl Install {
    fn new() -> Self {
        let dir = TempDir::new().unwrap();
        let fakebin = dir.path().join("fakebin");
        std::fs::create_dir_all(&fakebin).unwrap();
        // Stands in for `cargo install`: records its arguments and puts a binary under --root.
        let cargo = fakebin.join("cargo");
        std::fs::write(
            &cargo,
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$FAKE_CARGO_LOG\"\n\
             while [ $# -gt 0 ]; do\n  if [ \"$1\" = --root ]; then mkdir -p \"$2/bin\"; \
             echo built-from-source > \"$2/bin/tuskguard\"; fi\n  shift\ndone\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
        Install { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    fn run(&self, server: &ReleaseServer, version: &str, action_ref: &str) -> Output {
        let path = format!(
            "{}:{}",
            self.dir.path().join("fakebin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("bash")
            .arg(repo_file("scripts/action-install.sh"))
            .env("PATH", path)
            .env("TUSKGUARD_ROOT", self.root())
            .env("TUSKGUARD_VERSION", version)
            .env("TUSKGUARD_ACTION_REF", action_ref)
            .env("TUSKGUARD_RELEASES_URL", &server.url)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("GITHUB_ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
            .env("FAKE_CARGO_LOG", self.dir.path().join("cargo.log"))
            .output()
            .unwrap()
    }

    fn cargo_args(&self) -> Option<Vec<String>> {
        std::fs::read_to_string(self.dir.path().join("cargo.log"))
            .ok()
            .map(|log| log.lines().map(str::to_owned).collect())
    }

    fn installed(&self) -> Option<String> {
        std::fs::read_to_string(self.root().join("bin/tuskguard")).ok()
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn release(tag: &str, sums: Option<&str>) -> (TempDir, HashMap<String, Vec<u8>>, String) {
    let dir = TempDir::new().unwrap();
    let (name, archive) = release_archive(dir.path(), tag);
    let mut files = HashMap::new();
    let digest = sha256_hex(&archive);
    files.insert(format!("/releases/download/{tag}/{name}"), archive);
    let sums = match sums {
        Some(sums) => sums.to_owned(),
        None => format!("{digest}  {name}\n"),
    };
    files.insert(
        format!("/releases/download/{tag}/SHA256SUMS"),
        sums.into_bytes(),
    );
    (dir, files, name)
}

#[test]
fn a_matching_release_is_downloaded_verified_and_installed_without_a_build() {
    let (_keep, files, name) = release("v0.2.0", None);
    let server = ReleaseServer::start(files);
    let install = Install::new();
    let output = install.run(&server, "0.2.0", "main");
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(install.installed().as_deref(), Some(RELEASED));
    assert_eq!(
        install.cargo_args(),
        None,
        "cargo ran although a release matched"
    );
    assert!(
        text(&output).contains("checksum verified"),
        "{}",
        text(&output)
    );
    let installed = Command::new(install.root().join("bin/tuskguard"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&installed.stdout),
        "tuskguard-from-the-release\n"
    );
    assert!(
        server
            .requests()
            .contains(&format!("/releases/download/v0.2.0/{name}"))
    );
}

#[test]
fn the_actions_own_version_tag_selects_its_release() {
    let (_keep, files, _) = release("v0.2.0", None);
    let server = ReleaseServer::start(files);
    let install = Install::new();
    let output = install.run(&server, "", "v0.2.0");
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(install.installed().as_deref(), Some(RELEASED));
    assert_eq!(install.cargo_args(), None);
}

#[test]
fn a_checksum_mismatch_is_refused_with_a_clear_error() {
    let (_keep, files, name) = release(
        "v0.2.0",
        Some(&format!(
            "{}  tuskguard-v0.2.0-{TARGET}.tar.gz\n",
            "0".repeat(64)
        )),
    );
    let server = ReleaseServer::start(files);
    let install = Install::new();
    let output = install.run(&server, "0.2.0", "");
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("::error"), "{said}");
    assert!(
        said.contains(&format!("checksum mismatch for {name}")),
        "{said}"
    );
    assert!(said.contains("Refusing to run it"), "{said}");
    assert_eq!(
        install.installed(),
        None,
        "a mismatched binary was installed"
    );
    assert_eq!(
        install.cargo_args(),
        None,
        "a mismatch must not quietly build instead"
    );
}

#[test]
fn a_checksum_list_without_the_asset_is_refused() {
    let (_keep, files, _) = release("v0.2.0", Some("abc  some-other-file.tar.gz\n"));
    let server = ReleaseServer::start(files);
    let install = Install::new();
    let output = install.run(&server, "0.2.0", "");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("lists no checksum"),
        "{}",
        text(&output)
    );
    assert_eq!(install.installed(), None);
}

#[test]
fn a_missing_asset_falls_back_to_building_that_tag_from_source() {
    let (_keep, files, _) = release("v0.2.0", None);
    let server = ReleaseServer::start(files);
    let install = Install::new();
    let output = install.run(&server, "0.3.0", "");
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("has no asset"), "{said}");
    let args = install.cargo_args().expect("cargo install ran");
    assert_eq!(args[..2], ["install", "--locked"]);
    assert!(
        args.windows(2).any(|w| w == ["--tag", "v0.3.0"]),
        "{args:?}"
    );
    assert!(args.contains(&"--git".to_owned()), "{args:?}");
    assert_eq!(install.installed().as_deref(), Some("built-from-source\n"));
}

#[test]
fn a_release_without_checksums_is_not_used() {
    let (_keep, mut files, _) = release("v0.2.0", None);
    files.retain(|path, _| !path.ends_with("SHA256SUMS"));
    let server = ReleaseServer::start(files);
    let install = Install::new();
    let output = install.run(&server, "0.2.0", "");
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("no SHA256SUMS"), "{}", text(&output));
    assert_eq!(install.installed().as_deref(), Some("built-from-source\n"));
}

#[test]
fn a_branch_or_commit_ref_builds_the_actions_source_without_asking_the_server() {
    let server = ReleaseServer::start(HashMap::new());
    let install = Install::new();
    let output = install.run(&server, "", "0123456789abcdef0123456789abcdef01234567");
    assert!(output.status.success(), "{}", text(&output));
    let args = install.cargo_args().expect("cargo install ran");
    let path_arg = args.iter().position(|a| a == "--path").expect("--path");
    assert_eq!(args[path_arg + 1], env!("CARGO_MANIFEST_DIR"));
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[test]
fn the_action_installs_through_the_script() {
    let action = std::fs::read_to_string(repo_file("action.yml")).unwrap();
    let action = &YamlLoader::load_from_str(&action).unwrap()[0];
    let steps = action["runs"]["steps"].as_vec().unwrap();
    let install = steps
        .iter()
        .find(|s| s["name"].as_str() == Some("Install tuskguard"))
        .expect("an install step");
    assert_eq!(
        install["run"].as_str(),
        Some("bash \"$GITHUB_ACTION_PATH/scripts/action-install.sh\"")
    );
    assert_eq!(
        install["env"]["TUSKGUARD_ACTION_REF"].as_str(),
        Some("${{ github.action_ref }}")
    );
    assert_eq!(
        install["env"]["TUSKGUARD_VERSION"].as_str(),
        Some("${{ inputs.version }}")
    );
}

#[test]
fn the_release_workflow_builds_every_platform_the_install_script_downloads() {
    let workflow = std::fs::read_to_string(repo_file(".github/workflows/release.yml")).unwrap();
    let workflow = &YamlLoader::load_from_str(&workflow).unwrap()[0];
    let tags = workflow["on"]["push"]["tags"].as_vec().unwrap();
    assert!(
        tags.iter()
            .any(|t| t.as_str().unwrap().starts_with("v[0-9]"))
    );
    let targets: Vec<&str> = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|entry| entry["target"].as_str().unwrap())
        .collect();
    let script = std::fs::read_to_string(repo_file("scripts/action-install.sh")).unwrap();
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(
            targets.contains(&target),
            "release.yml does not build {target}"
        );
        assert!(
            script.contains(target),
            "action-install.sh does not map a runner to {target}"
        );
    }
    let publish = format!("{:?}", workflow["jobs"]["publish"]);
    assert!(
        publish.contains("sha256sum tuskguard-*.tar.gz > SHA256SUMS"),
        "{publish}"
    );
    assert!(publish.contains("dist/SHA256SUMS"), "{publish}");
    // The archive names the workflow writes are the ones the script asks for.
    let build = format!("{:?}", workflow["jobs"]["build"]);
    assert!(
        build.contains("tuskguard-${TAG}-${TARGET}.tar.gz"),
        "{build}"
    );
    assert!(script.contains("asset=\"tuskguard-${tag}-${target}.tar.gz\""));
}
