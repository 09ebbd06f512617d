//! The red team's revocation and hostile-server defects (D1, D4, D5, D7, review finding 6/7):
//! the credential in use is never revoked behind the user's back, unknown is never "not live",
//! the audit log is written before each DELETE, and no form of a key survives a hostile answer.

use std::process::Output;

use assert_fs::TempDir;
use serde_json::Value;

use crate::api::{assert_no_key_in, revocation, run, write_report};
use crate::fake_tusky::{Behaviour, FakeKey, FakeTusky};
use crate::helpers::*;

/// Every form a hostile server echoed in the red team's cases: the key, its body, `%5F`-encoded.
fn assert_no_form_of(output: &Output, keys: &[&str]) {
    assert_no_key_in(output, keys);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for key in keys {
        let body = &key[9..];
        assert!(!text.contains(body), "key body in the output: {text}");
        assert!(
            !text.contains(&key.replace('_', "%5F")),
            "percent-encoded key in the output: {text}"
        );
    }
}

fn revoke_with_admin(
    fake: &FakeTusky,
    dir: &TempDir,
    admin: &str,
    keys: &[&str],
    extra: &[&str],
) -> (Output, String) {
    let report = write_report(dir, keys);
    let audit = dir.path().join("audit.jsonl");
    let output = tuskguard()
        .current_dir(dir.path())
        .env("TUSKY_API_URL", &fake.url)
        .env("TUSKY_ADMIN_API_KEY", admin)
        .args([
            "revoke",
            report.to_str().unwrap(),
            "--yes",
            "--format",
            "json",
        ])
        .arg("--audit-log")
        .arg(&audit)
        .args(extra)
        .output()
        .unwrap();
    let mut all = keys.to_vec();
    all.push(admin);
    assert_no_form_of(&output, &all);
    fake.assert_no_key_in_urls();
    (output, std::fs::read_to_string(&audit).unwrap_or_default())
}

fn outcome_of(output: &Output, key_id: &str) -> Value {
    json_of(output)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["verification"]["revocation"].clone())
        .find(|r| r["key_id"] == key_id)
        .unwrap_or_else(|| panic!("no revocation for {key_id}: {output:?}"))
}

fn admin_and_two_scoped() -> (String, String, String, FakeTusky) {
    let (admin, a, b) = (live_key(70), live_key(71), live_key(72));
    let fake = FakeTusky::start(
        vec![
            FakeKey::admin("key_adm", &admin),
            FakeKey::scoped("key_a", &a, &["files:read"]),
            FakeKey::scoped("key_b", &b, &["files:read"]),
        ],
        Behaviour::default(),
    );
    (admin, a, b, fake)
}

/// D1: the management key among the findings, listed first. It is kept, and every other key is
/// revoked with it.
#[test]
fn the_admin_key_in_use_is_kept_and_every_other_key_revoked() {
    let (admin, a, b, fake) = admin_and_two_scoped();
    let dir = TempDir::new().unwrap();
    let (output, _) = revoke_with_admin(&fake, &dir, &admin, &[&admin, &a, &b], &[]);
    assert!(
        fake.key("key_a").revoked && fake.key("key_b").revoked,
        "{output:?}"
    );
    assert!(
        !fake.key("key_adm").revoked,
        "the credential in use was revoked"
    );
    assert_eq!(outcome_of(&output, "key_adm")["outcome"], "kept-in-use");
    assert!(
        outcome_of(&output, "key_adm")["reason"]
            .as_str()
            .unwrap()
            .contains("--revoke-admin-key")
    );
    assert_eq!(outcome_of(&output, "key_a")["outcome"], "revoked");
    assert_eq!(outcome_of(&output, "key_b")["outcome"], "revoked");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("1 kept-in-use"), "{stderr}");
    assert_eq!(output.status.code(), Some(1), "a live key remains");
    assert!(!fake.requests().iter().any(|r| r.url.contains("key_adm")));
}

/// D1: with the explicit flag the management key is revoked too, after every other key, and the
/// run says so.
#[test]
fn revoke_admin_key_revokes_it_last_and_says_so() {
    let (admin, a, b, fake) = admin_and_two_scoped();
    let dir = TempDir::new().unwrap();
    let (output, _) = revoke_with_admin(
        &fake,
        &dir,
        &admin,
        &[&admin, &a, &b],
        &["--revoke-admin-key"],
    );
    for id in ["key_adm", "key_a", "key_b"] {
        assert!(fake.key(id).revoked, "{id}: {output:?}");
        assert_eq!(outcome_of(&output, id)["outcome"], "revoked");
    }
    let deletes: Vec<String> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.url)
        .collect();
    assert_eq!(deletes.len(), 3);
    assert!(deletes[2].ends_with("/key_adm"), "{deletes:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("last: it is the credential this run uses"),
        "{stderr}"
    );
    assert_eq!(output.status.code(), Some(0));
}

/// D7: with the API unreachable nothing was checked: exit 2, and the keys are named.
#[test]
fn revoke_with_the_api_unreachable_exits_two_and_names_the_keys() {
    let key = live_key(73);
    let dir = TempDir::new().unwrap();
    let report = write_report(&dir, &[&key]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let output = tuskguard()
        .current_dir(dir.path())
        .env("TUSKY_API_URL", &url)
        .args(["revoke", report.to_str().unwrap(), "--yes"])
        .arg("--audit-log")
        .arg(dir.path().join("audit.jsonl"))
        .output()
        .unwrap();
    assert_no_form_of(&output, &[&key]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("no live key to revoke"), "{stdout}");
    assert!(stdout.contains("1 key(s) could not be checked"), "{stdout}");
    assert!(
        stdout.contains(&key[..13]),
        "the key is named (redacted): {stdout}"
    );
    assert!(stdout.contains("connection refused"), "{stdout}");
    assert_eq!(output.status.code(), Some(2));
}

/// Review finding 6/7: the attempt is logged before the DELETE; a log that cannot be written
/// (here a full disk) stops the run before anything is revoked.
#[test]
fn an_unwritable_audit_log_stops_the_run_before_any_delete() {
    let (a, b) = (live_key(74), live_key(75));
    let fake = FakeTusky::start(
        vec![FakeKey::admin("k1", &a), FakeKey::admin("k2", &b)],
        Behaviour::default(),
    );
    let dir = TempDir::new().unwrap();
    let report = write_report(&dir, &[&a, &b]);
    let output = run(
        &fake,
        &[
            "revoke",
            report.to_str().unwrap(),
            "--yes",
            "--audit-log",
            "/dev/full",
        ],
        dir.path(),
    );
    assert_no_form_of(&output, &[&a, &b]);
    assert_eq!(fake.count("DELETE", "/"), 0, "{output:?}");
    assert!(!fake.key("k1").revoked && !fake.key("k2").revoked);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("audit log could not be written"),
        "{stdout}"
    );
    assert_eq!(output.status.code(), Some(2));
}

/// D4: a key id that contains the key is refused, and never printed.
#[test]
fn a_key_id_holding_the_key_is_refused_and_never_printed() {
    let key = live_key(76);
    let fake = FakeTusky::start(
        vec![FakeKey::admin("k1", &key)],
        Behaviour {
            key_in_id: true,
            ..Behaviour::default()
        },
    );
    let dir = TempDir::new().unwrap();
    let report = write_report(&dir, &[&key]);
    let audit = dir.path().join("audit.jsonl");
    let output = run(
        &fake,
        &[
            "revoke",
            report.to_str().unwrap(),
            "--yes",
            "--format",
            "json",
            "--audit-log",
            audit.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_no_form_of(&output, &[&key]);
    assert_eq!(fake.count("DELETE", "/"), 0);
    assert_eq!(revocation(&output, 0)["outcome"], "failed");
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(!log.contains(&key[9..]));
}

/// D5: a server that echoes the key's body and its `%5F` form in its error message.
#[test]
fn echoed_key_forms_are_scrubbed_from_every_format() {
    let key = live_key(77);
    let fake = FakeTusky::start(
        vec![FakeKey::admin("k1", &key).revoked()],
        Behaviour {
            echo_key: true,
            ..Behaviour::default()
        },
    );
    let dir = TempDir::new().unwrap();
    let report = write_report(&dir, &[&key]);
    for format in ["text", "json", "sarif", "github"] {
        let output = run(
            &fake,
            &["verify", report.to_str().unwrap(), "--format", format],
            dir.path(),
        );
        assert_no_form_of(&output, &[&key]);
        if format == "json" {
            let reason = json_of(&output)["findings"][0]["verification"]["reason"].clone();
            assert!(
                reason.as_str().unwrap().contains("bad key body"),
                "the server's words are kept, scrubbed: {reason}"
            );
        }
    }
}
