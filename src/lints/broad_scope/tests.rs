//! Tests of the broad-scope lint, end to end through `check` and for the value reader.

use super::body::{list_items, parse_scopes_value};
use std::collections::HashSet;

use super::judgement::REQUEST_TEXT_BYTES;
use super::*;
use crate::lints::{ADMIN_KEY_CREATED, BROAD_SCOPES, UNKNOWN_SCOPE, WRITE_SCOPES};

/// Fixtures spell `%api-keys%` so this file holds no request itself (the repo scans clean).
fn fixture(text: &str) -> String {
    ["api-keys", "apiKeys", "api_keys", "APIKeys"]
        .iter()
        .fold(text.to_owned(), |t, name| {
            t.replace(&format!("%{name}%"), name)
        })
}

fn lint(path: &str, text: &str) -> Vec<(String, usize)> {
    check(path, fixture(text).as_bytes(), &|_| true)
        .occurrences
        .into_iter()
        .map(|o| (o.rule_id, o.location.line))
        .collect()
}

fn rules(path: &str, text: &str) -> Vec<String> {
    lint(path, text).into_iter().map(|(r, _)| r).collect()
}

#[test]
fn list_items_read_every_quoting() {
    assert_eq!(
        list_items(r#""files:read", 'volumes:read', `members:write`"#),
        vec!["files:read", "volumes:read", "members:write"]
    );
    assert_eq!(
        list_items(r#"\n  \"files:read\",\n  \"*\"\n"#),
        vec!["files:read", "*"]
    );
    assert_eq!(
        list_items("files:read, volumes:read"),
        vec!["files:read", "volumes:read"]
    );
    assert_eq!(list_items("SCOPE_A, \"files:read\""), vec!["files:read"]);
}

#[test]
fn scopes_values() {
    let value = |s: &str| parse_scopes_value(s, 0);
    assert_eq!(value(": null"), ScopesValue::Null);
    assert_eq!(value("=None,"), ScopesValue::Null);
    assert_eq!(value(": SCOPES"), ScopesValue::Unreadable);
    assert_eq!(
        value(": []string{\"files:read\"}"),
        ScopesValue::List(vec!["files:read".into()])
    );
    assert_eq!(
        value(":\n  - files:read\n  - volumes:read\nname: x"),
        ScopesValue::List(vec!["files:read".into(), "volumes:read".into()])
    );
    assert_eq!(value(":\nname: x"), ScopesValue::Null);
    assert_eq!(
        value("\\\": [\\\"files:read\\\"]"),
        ScopesValue::List(vec!["files:read".into()])
    );
}

#[test]
fn fetch_post_with_admin_and_narrow_twins() {
    let admin = "const r = await fetch(`${BASE}/v2/%api-keys%`, {\n  method: 'POST',\n  body: JSON.stringify({ name: 'ci' }),\n});\n";
    assert_eq!(lint("a.ts", admin), vec![(ADMIN_KEY_CREATED.to_owned(), 1)]);
    let narrow = admin.replace("name: 'ci'", "name: 'ci', scopes: ['files:read']");
    assert!(lint("a.ts", &narrow).is_empty());
    let get = "const r = await fetch(`${BASE}/v2/%api-keys%`);\nconst x = { name: 'ci' };\n";
    assert!(lint("a.ts", get).is_empty());
}

#[test]
fn url_in_a_variable_is_followed_to_the_call() {
    let js = "const url = `${BASE}/v2/%api-keys%`;\nconst res = await fetch(url, {\n  method: 'POST',\n  body: JSON.stringify({ name: 'ci', scopes: ['members:write'] }),\n});\n";
    assert_eq!(lint("a.js", js), vec![(WRITE_SCOPES.to_owned(), 2)]);
    let get = "const url = `${BASE}/v2/%api-keys%`;\nconst res = await fetch(url);\nconst x = { name: 'ci', scopes: null };\n";
    assert!(lint("a.js", get).is_empty());
    let python =
        "url = f\"{BASE}/v2/%api-keys%\"\n\nr = requests.post(url, json={\"name\": \"x\"})\n";
    assert_eq!(
        lint("a.py", python),
        vec![(ADMIN_KEY_CREATED.to_owned(), 3)]
    );
    let other_call =
        "url = f\"{BASE}/v2/%api-keys%\"\nr = requests.post(other_url, json={\"name\": \"x\"})\n";
    assert!(lint("a.py", other_call).is_empty());
}

#[test]
fn go_sdk_and_mapping_style_specs() {
    let go = "key, err := client.%APIKeys%.Create(ctx, tusky.CreateAPIKeyParams{\n\tName:   \"ci\",\n\tScopes: []string{\"*\"},\n})\n";
    assert_eq!(lint("k.go", go), vec![(UNKNOWN_SCOPE.to_owned(), 1)]);
    let go_narrow = go.replace("\\\"*\\\"", "\\\"files:read\\\"");
    let go_narrow = go_narrow.replace("\"*\"", "\"files:read\"");
    assert!(lint("k.go", &go_narrow).is_empty());

    let yaml = "%api_keys%:\n  ci:\n    scopes: [members:write]\n  reader:\n    scopes: [files:read]\n  root:\n    expires_at: 2027-01-01\n";
    assert_eq!(
        lint("keys.yml", yaml),
        vec![
            (WRITE_SCOPES.to_owned(), 2),
            (ADMIN_KEY_CREATED.to_owned(), 6)
        ]
    );
    let json = "{\"%api_keys%\": {\"ci\": {\"scopes\": [\"volumes:write\"]}, \"r\": {\"scopes\": [\"files:read\"]}}}";
    assert_eq!(lint("keys.json", json), vec![(WRITE_SCOPES.to_owned(), 1)]);
    // A scalar or a list of names is no key definition.
    assert!(lint("c.yml", "%api_keys%: 3\n").is_empty());
    assert!(lint("c.json", "{\"%apiKeys%\": [\"ci\", \"ops\"]}").is_empty());
}

#[test]
fn other_languages_http_clients() {
    let php = "$res = $client->post('/v2/%api-keys%', ['json' => ['name' => 'ci', 'scopes' => ['members:write']]]);\n";
    assert_eq!(lint("k.php", php), vec![(WRITE_SCOPES.to_owned(), 1)]);
    assert!(lint("k.php", &php.replace("->post(", "->get(")).is_empty());
    let csharp =
        "var res = await http.PostAsJsonAsync(\"/v2/%api-keys%\", new { name = \"ci\" });\n";
    assert_eq!(
        lint("K.cs", csharp),
        vec![(ADMIN_KEY_CREATED.to_owned(), 1)]
    );
    assert!(
        lint(
            "K.cs",
            &csharp.replace("PostAsJsonAsync", "GetFromJsonAsync")
        )
        .is_empty()
    );
}

#[test]
fn per_key_urls_are_not_creation() {
    let delete = "await fetch(`${BASE}/v2/%api-keys%/${id}`, { method: 'DELETE', body: JSON.stringify({ name: 'x' }) });";
    assert!(lint("a.js", delete).is_empty());
}

#[test]
fn definitions_are_not_calls() {
    let def = "async function createApiKey(name) {\n  return 1;\n}\n";
    assert!(rules("a.js", def).is_empty());
    let python = "def create_api_key(name, scopes=None):\n    pass\n";
    assert!(rules("a.py", python).is_empty());
}

#[test]
fn arbitrary_text_around_anchors_never_panics() {
    let pieces = [
        "/v2/%api-keys%",
        "%apiKeys%.create(",
        "create_api_key(",
        "%api_keys%:",
        "scopes",
        ": [",
        "]",
        "\\",
        "\"",
        "'",
        "`",
        "{",
        "}",
        "(",
        ")",
        "\n",
        "\r\n",
        "POST ",
        "curl -d '",
        "- ",
        "é",
        "日本",
        "\u{0}",
        " ",
        "null",
        ",",
        "files:write",
        "\\\"",
        "#",
        "//",
        "keys: [{",
        "\"keys\": [",
        "[]tusky.P{",
        "{name: 'x'}",
        "\n  - name: x",
        "\nmethod: POST\n",
        "endpoint: /v2/%api-keys%",
        "createdAt: 1",
        "→keys: [{",
        "\u{2192}keys\": {",
        "scopes.push(",
        "scopes = append(scopes, ",
    ];
    let mut state = 7u64;
    for _ in 0..300 {
        let mut text = String::new();
        for _ in 0..60 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(pieces[(state % pieces.len() as u64) as usize]);
        }
        for path in ["f.http", "f.yaml", "f.json", "f.go"] {
            let _ = check(path, fixture(&text).as_bytes(), &|_| true);
        }
        let _ = check(
            "f.json",
            fixture(&format!("_postman_id {text}")).as_bytes(),
            &|_| true,
        );
    }
    let _ = check("f", b"/v2/api-keys\xff\xfe scopes: [\"\xc3", &|_| true);
}

#[test]
fn minified_bundles_are_bounded_and_pointed_at_exactly() {
    let request =
        fixture("fetch(u+'/v2/%api-keys%',{method:'POST',body:JSON.stringify({name:'x'})});");
    let bundle = format!("{}{}", "var a=1;".repeat(10_000), request.repeat(500));
    let found = check("bundle.min.js", bundle.as_bytes(), &|_| true);
    assert_eq!(found.occurrences.len(), 500);
    // Identical requests share one fingerprint: one finding with every location.
    let fingerprints: HashSet<_> = found.occurrences.iter().map(|o| &o.fingerprint).collect();
    assert_eq!(fingerprints.len(), 1);
    let location = &found.occurrences[0].location;
    assert_eq!(location.line, 1);
    assert!(location.column > 80_000, "{location:?}");
    assert!(location.end_column - location.column <= REQUEST_TEXT_BYTES);
}

#[test]
fn no_anchor_no_work() {
    for anchor in COLLECTION_ANCHORS.iter().chain(CREATE_ANCHORS) {
        assert!(
            may_contain_request(format!("x {anchor}(").as_bytes()),
            "{anchor}"
        );
        assert!(may_contain_request(anchor.as_bytes()), "{anchor}");
    }
    assert!(!may_contain_request(
        b"they keep the key in a keystore; api-key"
    ));
    assert!(!may_contain_request(
        b"fetch('/v2/files', {method: 'POST'})"
    ));
    assert!(may_contain_request(fixture("/v2/%api-keys%").as_bytes()));
}

/// Found by the `matcher` fuzz target: a token starting with U+00A0 (Unicode whitespace, two
/// bytes) made the list reader step into the middle of the character and panic.
#[test]
fn list_items_step_over_unicode_whitespace() {
    assert_eq!(
        list_items("\u{a0}[se:]} \u{2003}\"files:read\""),
        vec!["[se:".to_owned(), "files:read".to_owned()]
    );
}

/// `rules/broad-scope-examples.toml`: every example gives exactly its findings (one per key
/// definition, each with its own fingerprint) and no negative example gives any.
#[test]
fn every_lint_example_and_negative_example_holds() {
    assert!(example_count() >= 10);
    let failures = check_examples();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A key definition's fingerprint covers its own text: alike first lines (`{` alone) still give
/// two findings, and reindenting or moving a definition keeps its fingerprint.
#[test]
fn each_key_definition_has_its_own_stable_fingerprint() {
    let fingerprints = |text: &str| -> Vec<String> {
        check("keys.json", fixture(text).as_bytes(), &|_| true)
            .occurrences
            .into_iter()
            .map(|o| o.fingerprint.to_string())
            .collect()
    };
    let spec = "{\n  \"method\": \"POST\", \"url\": \"/v2/%api-keys%\",\n  \"keys\": [\n    {\n      \"name\": \"root\"\n    },\n    {\n      \"name\": \"root-2\"\n    }\n  ]\n}\n";
    let found = fingerprints(spec);
    assert_eq!(found.len(), 2);
    assert_ne!(found[0], found[1]);
    let reflowed = "{\n  \"method\": \"POST\", \"url\": \"/v2/%api-keys%\",\n\n  \"keys\": [{\"name\": \"root-2\"}, {\"name\": \"root\"}]\n}\n";
    let mut again = fingerprints(reflowed);
    again.reverse();
    assert_eq!(again, found);
}

/// Lint fingerprints hash stable data only: the rule, the path and the request's own text with
/// its sorted scopes. The advice in the message (which follows hints in the surrounding code)
/// and the title may change without invalidating a baseline; the hashed subject is pinned here so
/// a change to it is a deliberate, visible one.
#[test]
fn lint_fingerprints_hash_the_request_not_the_message() {
    let request = "const r = await fetch(API + '/v2/%api-keys%', { method: 'POST', body: JSON.stringify({ name: 'x', scopes: null }) });";
    let found = |before: &str| {
        let text = fixture(&format!("{before}\n{request}\n"));
        check("app/keys.js", text.as_bytes(), &|_| true)
            .occurrences
            .remove(0)
    };
    let plain = found("// nothing here");
    let hinted = found("import { upload } from './store'; upload(file);");
    assert_ne!(plain.remediation, hinted.remediation);
    assert_eq!(plain.fingerprint, hinted.fingerprint);
    assert_eq!(
        plain.fingerprint,
        crate::model::Fingerprint::for_lint(
            ADMIN_KEY_CREATED,
            "app/keys.js",
            &format!(
                "{} | admin",
                // The request's text: from the start of its line to the end of the call.
                fixture(request.trim_end_matches(");"))
            )
        )
    );
    let other_path = check(
        "other/keys.js",
        fixture(&format!("{request}\n")).as_bytes(),
        &|_| true,
    );
    assert_ne!(other_path.occurrences[0].fingerprint, plain.fingerprint);
}

/// A scopes variable grown on the lines before the call (push, append, +=, <<, Go append) is
/// judged with every scope added; additions to another list are not counted.
#[test]
fn scopes_lists_built_over_several_lines_are_judged_whole() {
    let call = "await fetch(`${BASE}/v2/%api-keys%`, { method: 'POST', body: JSON.stringify({ name: 'x', scopes }) });\n";
    for (grow, expected) in [
        (
            "scopes.push('members:write');\n",
            vec![(WRITE_SCOPES.to_owned(), 3)],
        ),
        ("scopes.push('volumes:read');\n", vec![]),
        ("others.push('members:write');\n", vec![]),
        (
            "scopes.unshift('aggregators:write');\n",
            vec![(WRITE_SCOPES.to_owned(), 3)],
        ),
    ] {
        let js = format!("const scopes = ['files:read'];\n{grow}{call}");
        assert_eq!(lint("a.js", &js), expected, "{js}");
    }
    let python = "scopes = [\n    \"files:read\",\n]\nscopes.extend([\"files:write\", \"volumes:write\"])\nscopes += [\"members:write\"]\nscopes.append(\"aggregators:write\")\nkey = client.%api_keys%.create(name=\"ops\", scopes=scopes)\n";
    assert_eq!(lint("a.py", python), vec![(BROAD_SCOPES.to_owned(), 7)]);
    let ruby = "scopes = ['files:read']\nscopes << 'members:write'\nclient.%api_keys%.create(name: 'ops', scopes: scopes)\n";
    assert_eq!(lint("a.rb", ruby), vec![(WRITE_SCOPES.to_owned(), 3)]);
    // A `scopes=None` before the call may be a parameter default, not the variable's value;
    // a call that names `scopes` only in a string passes no variable (this repository's own
    // tests once tripped the self-scan that way).
    let default_param = "def make(name, scopes=None):\n    pass\n\nkey = client.%api_keys%.create(name=\"x\", scopes=scopes)\n";
    assert!(lint("c.py", default_param).is_empty());
    let in_a_string = "def make(name, scopes=None):\n    pass\n\nx = create_api_key(\n    \"scopes\",\n    \": [\",\n)\n";
    assert!(lint("d.py", in_a_string).is_empty());
    // An SDK call that passes no scopes variable is not given an earlier list.
    let unrelated =
        "scopes = ['members:write']\nclient.%api_keys%.create(name: 'ops', expires_at: x)\n";
    assert_eq!(
        lint("b.rb", unrelated),
        vec![(ADMIN_KEY_CREATED.to_owned(), 2)]
    );
}

/// A collection named right after a multi-byte character (`→keys`) is read without slicing into
/// that character.
#[test]
fn collection_names_after_multibyte_characters() {
    let text = "{\"endpoint\": \"POST /v2/%api-keys%\",\n\u{2192}keys: [{\"name\": \"r\", \"scopes\": null}, {\"name\": \"w\", \"scopes\": [\"members:write\"]}]}\n";
    assert_eq!(
        lint("a.json", text),
        vec![
            (ADMIN_KEY_CREATED.to_owned(), 2),
            (WRITE_SCOPES.to_owned(), 2)
        ]
    );
}
