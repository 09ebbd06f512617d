use super::*;
use crate::engine::rules::load_rules;
use crate::test_support::{legacy_key, live_key, random_body};

fn engine() -> Engine {
    Engine::new(load_rules(&[], &[]).unwrap()).unwrap()
}

#[test]
fn every_rule_example_and_negative_example_holds() {
    let failures = engine().check_examples();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn utf16_without_bom_gets_its_column_and_byte_order() {
    let engine = engine();
    let key = live_key(11);
    let text = format!("a\nb\nhello world, the key is {key}\n");
    for (bytes, encoding) in [
        (
            text.encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>(),
            Encoding::Utf16le,
        ),
        (
            text.encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect::<Vec<u8>>(),
            Encoding::Utf16be,
        ),
    ] {
        let found = engine.find_secrets(&bytes);
        assert_eq!(found.len(), 1, "{encoding:?}");
        assert_eq!(
            (found[0].line, found[0].column, found[0].encoding),
            (3, 25, encoding)
        );
        assert_eq!(found[0].end_column - found[0].column, key.len());
    }
}

#[test]
fn line_and_columns_count_characters() {
    let key = live_key(1);
    let text = format!("first\r\nπ = \"{key}\"\n");
    let found = engine().find_secrets(text.as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].line, found[0].column), (2, 6));
    assert_eq!(found[0].end_column - found[0].column, key.len());
    assert_eq!(found[0].secret, key);
}

#[test]
fn adjacent_keys_are_each_found_whole() {
    let (a, b) = (live_key(2), live_key(3));
    let text = format!("{a},{b}");
    let found = engine().find_secrets(text.as_bytes());
    let secrets: Vec<_> = found.iter().map(|m| m.secret.as_str()).collect();
    assert_eq!(secrets, [a.as_str(), b.as_str()]);
}

#[test]
fn encoded_keys_are_found_and_located() {
    use base64::Engine as _;
    let key = live_key(4);
    let engine = engine();
    let standard = &base64::engine::general_purpose::STANDARD;
    for lead in ["", "K=", "KEY=", "TUSKY_API_KEY="] {
        let yaml = format!(
            "data:\n  key: {}\n",
            standard.encode(format!("{lead}{key}\n"))
        );
        let found = engine.find_secrets(yaml.as_bytes());
        assert_eq!(found.len(), 1, "{yaml}");
        assert_eq!(
            (found[0].line, found[0].column, found[0].encoding),
            (2, 8, Encoding::Base64)
        );
        assert_eq!(found[0].secret, key);
    }
    let url = format!("GET /x?k={}", key.replace('_', "%5F"));
    let found = engine.find_secrets(url.as_bytes());
    assert_eq!((found.len(), found[0].encoding), (1, Encoding::Percent));
    assert_eq!(found[0].secret, key);
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            format!("a\r\nk={key}")
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let found = engine.find_secrets(&utf16);
    assert_eq!(
        (found.len(), found[0].line, found[0].encoding),
        (1, 2, Encoding::Utf16le)
    );
    let mut binary = vec![0u8, 159, 146, 150, 255];
    binary.extend(format!("k={key}").encode_utf16().flat_map(u16::to_le_bytes));
    binary.extend([0, 0, 7]);
    let found = engine.find_secrets(&binary);
    assert_eq!((found.len(), found[0].encoding), (1, Encoding::Utf16le));
    assert_eq!(found[0].secret, key);
}

#[test]
fn keys_planted_in_random_bytes_are_always_found_whole() {
    let engine = engine();
    let mut state = 42u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..300 {
        let key = live_key(round);
        let mut text: Vec<u8> = (0..(next() % 4096)).map(|_| next() as u8).collect();
        let at = (next() as usize) % (text.len() + 1);
        let mut planted = key.clone().into_bytes();
        planted.push(b'"');
        text.splice(at..at, planted);
        let found = engine.find_secrets(&text);
        assert!(
            found.iter().any(|m| m.secret == key),
            "round {round}: {:?}",
            found.iter().map(|m| &m.secret).collect::<Vec<_>>()
        );
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

fn legacy_secrets(engine: &Engine, text: &str) -> Vec<(String, Encoding, usize)> {
    engine
        .find_secrets(text.as_bytes())
        .into_iter()
        .map(|m| {
            assert_eq!(engine.rules()[m.rule_index].id, "tusky-legacy-key");
            (m.secret, m.encoding, m.line)
        })
        .collect()
}

#[test]
fn legacy_keys_in_every_config_format_and_sdk_style() {
    use base64::Engine as _;
    let engine = engine();
    let key = legacy_key(11);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&key);
    let b64_newline = base64::engine::general_purpose::STANDARD.encode(format!("{key}\n"));
    let plain_forms = [
        format!("export TUSKY_API_KEY='{key}'"),
        format!("tusky_upload_key: {key}"),
        format!("{{\n  \"tuskyApiKey\": \"{key}\"\n}}"),
        format!("tusky.api.key={key}"),
        format!("variable \"tusky\" {{\n  default = {{\n    api_key = \"{key}\"\n  }}\n}}"),
        format!("settings:\n  tusky:\n    url: https://api.tusky.io\n    api_key: \"{key}\"\n"),
        format!("[tusky]\nendpoint = \"x\"\n\napi_key = \"{key}\"\n"),
        format!("tusky = Tusky(\n    api_key=\"{key}\",\n)"),
        format!("client := tusky.NewClient(\"{key}\")"),
        format!("let client = Tusky::builder()\n    .api_key(\"{key}\")\n    .build();"),
        format!("$tusky = new Tusky(['apiKey' => '{key}']);"),
        format!("curl https://api.tusky.io/v2/files \\\n  -H 'Authorization: Bearer {key}'"),
    ];
    for text in &plain_forms {
        assert_eq!(
            legacy_secrets(&engine, text),
            [(key.clone(), Encoding::Plain, line_of(text, &key))],
            "{text}"
        );
    }
    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n  TUSKY_API_KEY: {b64}\n  OTHER: {b64_newline}\n"
    );
    assert_eq!(
        legacy_secrets(&engine, &secret),
        [(key.clone(), Encoding::Base64, 6)]
    );
    let named =
        format!("kind: Secret\nmetadata:\n  name: tusky\ndata:\n  api-key: {b64_newline}\n");
    assert_eq!(
        legacy_secrets(&engine, &named),
        [(key.clone(), Encoding::Base64, 5)]
    );
}

#[test]
fn uuids_without_a_tusky_key_context_are_not_keys() {
    use base64::Engine as _;
    let engine = engine();
    let id = legacy_key(12);
    let not_uuid = base64::engine::general_purpose::STANDARD.encode(random_body(3, 36));
    for text in [
        format!("INFO tusky request {id} took 20ms"),
        format!("tusky: downloaded {id}"),
        format!("TUSKY_KEY_ID={id}"),
        format!("await tusky.file.get(\"{id}\")"),
        format!("tusky.volumes.delete(\"{id}\")"),
        format!("curl -X DELETE https://api.tusky.io/v2/api-keys/{id}"),
        format!("stripe:\n  api_key: {id}\n"),
        format!("api_key = \"{id}\"  # used by the tusky uploader? no: payments"),
        format!("TUSKY_API_KEY: {not_uuid}"),
        format!("kind: Secret\nmetadata:\n  name: payments\ndata:\n  api-key: {not_uuid}\n"),
    ] {
        assert_eq!(legacy_secrets(&engine, &text), [], "{text}");
    }
}

#[test]
/// The prefilter finds a key whose first escaped character is `k` in uppercase hex
/// (`ts\u006B…`, `ts\x6B…`, `ts\u{6B}…`) or written with `\U` after a plain start; the same
/// spellings of placeholders stay silent.
fn uppercase_hex_and_late_long_escapes_are_found() {
    let engine = engine();
    let key = live_key(22);
    let from_k = |escape: &dyn Fn(u8) -> String| {
        format!("ts{}", key[2..].bytes().map(escape).collect::<String>())
    };
    let forms = [
        format!("ts\\u006B{}", &key[3..]),
        format!("ts\\x6B{}", &key[3..]),
        format!("ts\\u{{6B}}{}", &key[3..]),
        format!("ts\\U0000006B{}", &key[3..]),
        format!("t\\U00000073{}", &key[2..]),
        from_k(&|b| format!("\\u{b:04X}")),
        from_k(&|b| format!("\\x{b:02X}")),
    ];
    for form in forms {
        let text = format!("{{\"apiKey\": \"{form}\"}}");
        let found = engine.find_secrets(text.as_bytes());
        let got: Vec<_> = found
            .iter()
            .map(|m| (m.secret.as_str(), m.encoding))
            .collect();
        assert_eq!(got, [(key.as_str(), Encoding::Escaped)], "{text}");
    }
    for text in [
        r#"{"apiKey": "ts\u006B_live_abc123"}"#,
        r#"{"apiKey": "ts\u006B\u005Flive\u005F\u002E\u002E\u002E"}"#,
        r#"{"apiKey": "ts\U0000006B_live_<your-key>"}"#,
        r#"k = "ts\x6Bip""#,
    ] {
        assert!(engine.find_secrets(text.as_bytes()).is_empty(), "{text}");
    }
}

#[test]
fn keys_written_with_string_escapes_are_one_key() {
    let engine = engine();
    let key = live_key(21);
    let escape_all = |escape: &dyn Fn(u8) -> String| key.bytes().map(escape).collect::<String>();
    let escape_at = |at: usize| {
        format!(
            "{}\\x{:02x}{}",
            &key[..at],
            key.as_bytes()[at],
            &key[at + 1..]
        )
    };
    let forms = [
        escape_all(&|b| format!("\\u{b:04x}")),
        escape_all(&|b| format!("\\x{b:02X}")),
        escape_all(&|b| format!("\\u{{{b:x}}}")),
        escape_all(&|b| format!("\\{b:o}")),
        escape_all(&|b| format!("\\U{b:08x}")),
        key.replace('_', "\\u005f"),
        key.replacen('s', "\\163", 1),
        // the plain part before the escape is too short to be a key…
        escape_at(6),
        escape_at(20),
        // …or long enough to pass for one: still one key, the whole one
        escape_at(36),
    ];
    for form in forms {
        let text = format!("x\n{{\"apiKey\": \"{form}\"}}\n");
        let found = engine.find_secrets(text.as_bytes());
        let got: Vec<_> = found
            .iter()
            .map(|m| (m.secret.as_str(), m.encoding, m.line, m.column))
            .collect();
        assert_eq!(got, [(key.as_str(), Encoding::Escaped, 2, 13)], "{text}");
    }
    for text in [
        r#""tsk\u005flive\u005fabc123""#.to_owned(),
        r#""\u0074\u0073\u006b\u005f\u006c\u0069\u0076\u0065\u005f\u002a\u002a\u002a""#.to_owned(),
        format!(
            "\"{}\"",
            key.replacen('_', "\\\\x5f", 1).replacen('_', "\\x5f", 1)
        ),
    ] {
        assert!(engine.find_secrets(text.as_bytes()).is_empty(), "{text}");
    }
}

#[test]
fn hostile_bytes_do_not_panic() {
    let engine = engine();
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        b"tsk_".to_vec(),
        b"tsk%5F".to_vec(),
        b"dHNrX2xpdmVf".repeat(5000),
        b"t\0s\0k\0_\0".repeat(3000),
        vec![0xFF, 0xFE, 0x00],
        vec![0xFE, 0xFF],
        b"TUSKY".repeat(10000),
        b"tsk\\u{".repeat(5000),
        b"\\x74\\x73\\x6b\\".repeat(5000),
        b"tsk_live_\\".to_vec(),
        b"\\u{74}\\u{FFFFFFFF}\\U0000\\7".to_vec(),
    ];
    let mut state = 7u64;
    inputs.push(
        (0..100_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect(),
    );
    for input in inputs {
        let _ = engine.find_secrets(&input);
    }
}
