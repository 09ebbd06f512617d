//! Entry points for the fuzz targets in `fuzz/`: each takes arbitrary bytes and drives one parser
//! the way the product does. Any panic is a bug; the `assert!`s state invariants the callers rely
//! on. Built only for tests and for `cargo fuzz` (which sets `--cfg fuzzing`), not in the shipped
//! library, and kept here rather than in `fuzz/` so that a refactor that moves a parser breaks
//! this file in the ordinary build instead of the fuzz crate in silence.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine as _;
use memmap2::{Mmap, MmapMut};
use percent_encoding::NON_ALPHANUMERIC;

use crate::config::ConfigFile;
use crate::findings::{Fingerprint, Report};
use crate::reports::{self, Format, RenderOptions};
use crate::scanner::Scanner;
use crate::sources::index_file;
use crate::sources::pack::index::PackIndex;
use crate::sources::pack::object::{apply_delta, delta_target_size, inflate, parse_header};
use crate::sources::pack::{Content, ObjectKind, PackSet};
use crate::test_support::{legacy_key, live_key, test_key};

/// A fuzz target: any bytes in, a panic only on a bug.
pub type Target = fn(&[u8]);

/// The targets, by the names `fuzz/fuzz_targets/*.rs` and `fuzz/seeds/*` use.
pub const TARGETS: &[(&str, Target)] = &[
    ("pack_index", pack_index),
    ("pack_entry", pack_entry),
    ("pack", pack),
    ("git_index", git_index),
    ("matcher", matcher),
    ("config", config),
    ("report", report),
];

/// Ids and offsets of an index are only read this far: inputs are small, but a count may not be.
const MAX_POSITIONS: usize = 4096;

/// A pack `.idx` file: the layout check, then every accessor on every position.
pub fn pack_index(data: &[u8]) {
    let Some(index) = read_only_map(data).and_then(PackIndex::parse) else {
        return;
    };
    for position in 0..index.len().min(MAX_POSITIONS) {
        let oid = index.oid(position).to_vec();
        let _ = index.offset(position);
        if let Some(found) = index.find(&oid) {
            assert_eq!(index.oid(found), &oid[..], "find returned another id");
        }
    }
    let _ = index.find(data.get(..20).unwrap_or(data));
}

/// One pack entry: its header at an offset the input picks, its zlib stream, and the inflated
/// bytes as a delta against the input's start (as well as the raw input as a delta).
pub fn pack_entry(data: &[u8]) {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let (base, delta) = rest.split_at(usize::from(split).min(rest.len()));
    check_delta(base, delta);
    if let Some(header) = parse_header(rest, usize::from(split) % (rest.len() + 1)) {
        let stream = rest.get(header.data_start..).unwrap_or_default();
        let mut inflater = libdeflater::Decompressor::new();
        if let Some(inflated) = inflate(&mut inflater, stream, header.size) {
            assert_eq!(inflated.len() as u64, header.size);
            check_delta(base, &inflated);
        }
    }
}

/// The size the reader checks before building must be the size it builds.
fn check_delta(base: &[u8], delta: &[u8]) {
    if let Some(built) = apply_delta(base, delta) {
        assert_eq!(delta_target_size(delta), Some(built.len() as u64));
    }
}

/// A whole pack and its index, as `PackSet` opens them from disk: linking deltas (offset and ref
/// bases, cycles, chains), then rebuilding every object under a size limit. The input is a small
/// table of objects (count and limit in one byte, then per object an id byte and an offset into
/// the body) followed by the pack body; the `.idx` is built from the table, so fuzzing reaches
/// the pack reader past the index checks (`pack_index` fuzzes those).
pub fn pack(data: &[u8]) {
    const MAX_OBJECTS: usize = 32;
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    // The same byte picks the size limit the reader applies.
    let max_size = [u64::MAX, 64, 16, 0][usize::from(count) / (MAX_OBJECTS + 1) % 4];
    let count = usize::from(count) % (MAX_OBJECTS + 1);
    let Some(table) = rest.get(..count * 3) else {
        return;
    };
    let body = &rest[count * 3..];
    let mut objects: Vec<([u8; 20], u32)> = table
        .chunks(3)
        .enumerate()
        .map(|(at, row)| {
            let mut id = [0u8; 20];
            id[0] = row[0];
            id[1] = at as u8;
            (id, 12 + u32::from(u16::from_le_bytes([row[1], row[2]])))
        })
        .collect();
    objects.sort();
    let mut index = b"\xfftOc\x00\x00\x00\x02".to_vec();
    for bucket in 0..=255u8 {
        let up_to = objects.iter().filter(|(id, _)| id[0] <= bucket).count() as u32;
        index.extend_from_slice(&up_to.to_be_bytes());
    }
    objects
        .iter()
        .for_each(|(id, _)| index.extend_from_slice(id));
    index.extend(std::iter::repeat_n(0u8, count * 4));
    for (_, offset) in &objects {
        index.extend_from_slice(&offset.to_be_bytes());
    }
    index.extend_from_slice(&[0u8; 40]);
    let mut pack_file = b"PACK\x00\x00\x00\x02".to_vec();
    pack_file.extend_from_slice(&(count as u32).to_be_bytes());
    pack_file.extend_from_slice(body);
    pack_file.extend_from_slice(&[0u8; 20]);

    let objects_dir = scratch_dir().join("objects");
    let pack_dir = objects_dir.join("pack");
    if std::fs::create_dir_all(&pack_dir).is_err()
        || std::fs::write(pack_dir.join("fuzz.idx"), &index).is_err()
        || std::fs::write(pack_dir.join("fuzz.pack"), &pack_file).is_err()
    {
        return;
    }
    let packs = PackSet::open(&objects_dir);
    let slots = packs.slot_count();
    let kinds = [ObjectKind::Commit, ObjectKind::Tree, ObjectKind::Blob];
    let workers = crate::workers::Workers::new(1);
    let Ok(pool) = workers.pool() else {
        return;
    };
    packs.for_each_object(&kinds, pool, max_size, |packed, content| {
        match content {
            Content::Bytes(bytes) => assert!(bytes.len() as u64 <= max_size, "over the limit"),
            Content::TooLarge(size) => assert!(size > max_size, "not over the limit"),
        }
        assert!(packed.slot < slots, "slot out of range");
        assert!(
            packs.slots_of(packed.id).any(|slot| slot == packed.slot),
            "delivered object not found by its id"
        );
    });
}

/// This process's directory for files a parser must read from disk.
fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Memory-backed where there is one: the pack target rewrites two files per input.
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        base.join(format!("tuskguard-fuzz-{}", std::process::id()))
    })
}

/// Copies `data` into an anonymous read-only map: `PackIndex` reads mapped files.
fn read_only_map(data: &[u8]) -> Option<Mmap> {
    let mut map = MmapMut::map_anon(data.len().max(1)).ok()?;
    map[..data.len()].copy_from_slice(data);
    let map = map.make_read_only().ok()?;
    // An anonymous map cannot be empty; an empty input is one byte of zero, which no index is.
    Some(map)
}

/// git's index file (what `scan --staged` reads).
pub fn git_index(data: &[u8]) {
    let Some(index) = index_file::parse(data) else {
        return;
    };
    for entry in &index.entries {
        assert!(
            entry.path.len() <= data.len(),
            "a path longer than the file"
        );
    }
    let _ = (index.conflicted.len(), index.cache_tree.len());
}

/// The scanner on one file: prefilter, rules, decoders (base64, percent, UTF-16), judge, and the
/// path lints. The first byte picks the file name (the lints depend on it). Seeds hold no key:
/// each `0x01 S` pair becomes a fake key built now, its kind and encoding chosen by `S` (see
/// `expand_keys`), so that the fuzzer starts from inputs that reach every decoder.
pub fn matcher(data: &[u8]) {
    const NAMES: &[&str] = &[
        "notes.txt",
        ".env",
        "config/secrets.yaml",
        "src/main.rs",
        "deploy/.env.production",
        "api.http",
        "client.py",
        "data.json",
    ];
    let Some((&name, body)) = data.split_first() else {
        return;
    };
    let Some(scanner) = builtin_scanner() else {
        return;
    };
    let text = expand_keys(body);
    let name = NAMES[usize::from(name) % NAMES.len()];
    let result = scanner.scan_blob(name, &text);
    for occurrence in &result.occurrences {
        assert!(occurrence.location.line >= 1, "lines count from 1");
    }
}

fn builtin_scanner() -> Option<&'static Scanner> {
    static SCANNER: OnceLock<Option<Scanner>> = OnceLock::new();
    SCANNER.get_or_init(|| Scanner::builtin().ok()).as_ref()
}

/// Replaces each `0x01 S` pair with a fake key: `S % 3` picks live, testnet or legacy (with its
/// variable name), `S / 3 % 5`
/// the form (plain, base64, percent-encoded, UTF-16LE, UTF-16BE), and `S` seeds its body.
pub fn expand_keys(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut at = 0;
    while at < data.len() {
        match (data[at], data.get(at + 1)) {
            (1, Some(&selector)) => {
                let seed = u64::from(selector);
                let key = match selector % 3 {
                    0 => live_key(seed),
                    1 => test_key(seed),
                    // A legacy (UUID) key is only a key next to its name.
                    _ => format!("TUSKY_API_KEY={}", legacy_key(seed)),
                };
                match selector / 3 % 5 {
                    0 => out.extend_from_slice(key.as_bytes()),
                    1 => out.extend_from_slice(
                        base64::engine::general_purpose::STANDARD
                            .encode(&key)
                            .as_bytes(),
                    ),
                    2 => out.extend_from_slice(
                        percent_encoding::utf8_percent_encode(&key, NON_ALPHANUMERIC)
                            .to_string()
                            .as_bytes(),
                    ),
                    3 => key.bytes().for_each(|b| out.extend_from_slice(&[b, 0])),
                    _ => key.bytes().for_each(|b| out.extend_from_slice(&[0, b])),
                }
                at += 2;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    out
}

/// A `.tuskguard.toml`: parsed, then the scanner built from it (custom rules, allow-lists), its
/// rules' examples checked (`rules check`), and the file itself scanned with it.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new(".tuskguard.toml");
    let Ok(config) = ConfigFile::parse(text, path) else {
        return;
    };
    let _ = config.ignored_api_settings(path);
    if let Ok(scanner) = Scanner::new(&config, Path::new(".")) {
        let _ = scanner.engine().check_examples();
        let _ = scanner.scan_blob("notes.txt", data);
        let _ = scanner.path_allowed(Path::new("src/main.rs"), false);
    }
}

/// A saved JSON report (the input of `verify` and `revoke`): read, its secret values checked
/// against their fingerprints, rendered in every format, and the JSON it renders read back.
pub fn report(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(report) = Report::from_json(text, "report.json") else {
        return;
    };
    for finding in &report.findings {
        if let Some(value) = finding.secret.as_ref().and_then(|s| s.value.as_deref()) {
            let _ = Fingerprint::for_secret(&finding.rule_id, value);
        }
    }
    let options = RenderOptions {
        color: true,
        quiet: false,
        verbose: true,
    };
    let base = reports::UriBase::new(report.mode == "history", None, None);
    for format in [Format::Text, Format::Sarif, Format::Github] {
        let _ = reports::write_report(&report, format, &options, &base, &mut io::sink());
    }
    let mut json = Vec::new();
    if reports::write_report(&report, Format::Json, &options, &base, &mut json).is_ok() {
        let again = std::str::from_utf8(&json).expect("the JSON report is UTF-8");
        if let Err(err) = Report::from_json(again, "rewritten.json") {
            panic!("a report we wrote cannot be read back: {err:#}");
        }
    }
}

#[cfg(test)]
mod tests;
