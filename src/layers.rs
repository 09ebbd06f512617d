//! The import rules of the pipeline's layers, checked on the source text: a `use` that breaks
//! one fails here, not in review.

use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, as (path relative to `src/`, text).
fn rust_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut pending = vec![src.join(dir)];
    while let Some(next) = pending.pop() {
        if next.is_file() {
            let text = fs::read_to_string(&next).unwrap();
            files.push((next.strip_prefix(&src).unwrap().to_path_buf(), text));
            continue;
        }
        for entry in fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() || path.extension().is_some_and(|ext| ext == "rs") {
                pending.push(path);
            }
        }
    }
    assert!(
        !files.is_empty(),
        "no Rust files under src/{}",
        dir.display()
    );
    files
}

/// The files under `dir` that refer to one of `modules` (`crate::NAME`).
fn referring(dir: &str, modules: &[&str]) -> Vec<String> {
    rust_files(Path::new(dir))
        .into_iter()
        .filter(|(_, text)| {
            modules
                .iter()
                .any(|module| text.contains(&format!("crate::{module}")))
        })
        .map(|(path, _)| path.display().to_string())
        .collect()
}

#[test]
fn lower_layers_never_import_cli() {
    let offenders: Vec<String> = referring("", &["cli"])
        .into_iter()
        .filter(|path| !path.starts_with("cli/") && path != "main.rs" && path != "lib.rs")
        .collect();
    assert!(offenders.is_empty(), "{offenders:?}");
}

/// Sources enumerate and read; what a path or a blob means (a lint rule) is decided above them,
/// and handed down as data (`tree::KeepFile`, `history::PathWatch`) when a walk must know it.
#[test]
fn sources_never_import_lints() {
    let offenders = referring("sources", &["lints"]);
    assert!(offenders.is_empty(), "{offenders:?}");
}

/// Sources only list what there is to read: every read-and-scan runs in the worker stage
/// (`workers::jobs`), on the run's one pool. Two files read a file again on purpose, and are
/// not scans of what a source lists: `recover.rs` reads back the keys at the locations a saved
/// report names (for verify and revoke), and the history audit's `attribution/facts.rs` asks
/// whether the working-tree copy of a file still holds a key it found.
#[test]
fn sources_never_scan_what_they_list() {
    let scans = [
        ".scan_blob(",
        ".scan_secrets(",
        ".scan_named_blob(",
        ".scan_file_blob(",
        ".add_path_lints(",
        "may_need_path_lints(",
    ];
    let offenders: Vec<String> = rust_files(Path::new("sources"))
        .into_iter()
        .filter(|(path, text)| {
            path != Path::new("sources/recover.rs")
                && path != Path::new("sources/history/attribution/facts.rs")
                && scans.iter().any(|call| text.contains(call))
        })
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(offenders.is_empty(), "{offenders:?}");
}

/// The worker stage moves jobs and results and knows nothing of what a job does: its pool and
/// queue import nothing from the crate, so any source can feed it.
#[test]
fn the_worker_pool_imports_nothing_from_the_crate() {
    let text = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/workers/mod.rs"))
        .unwrap();
    assert!(
        !text.contains("crate::"),
        "src/workers/mod.rs imports from the crate"
    );
}

/// The bottom layer imports nothing from the crate above it.
#[test]
fn the_model_imports_nothing_above_it() {
    let above = [
        "cli", "config", "engine", "findings", "lints", "pipeline", "reports", "scanner",
        "sources", "tusky", "time",
    ];
    let offenders = referring("model", &above);
    assert!(offenders.is_empty(), "{offenders:?}");
}

/// History attribution is a pure function of what the walk collected: its algorithm
/// (`sources/history/attribution/mod.rs`) reads nothing, and every read (the repository, the
/// walk's graph, the working tree) is in `facts.rs` beside it, behind the `HistoryFacts` trait.
#[test]
fn history_attribution_reads_nothing() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sources/history/attribution/mod.rs");
    let text = fs::read_to_string(path).unwrap();
    // Comments may name what the code must not touch.
    let code: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect();
    let reads = [
        "git2",
        "Repository",
        "Oid",
        "std::fs",
        "std::io",
        "std::path",
        "std::env",
        "std::process",
        "std::net",
        "File",
        "crate::scanner",
        "crate::config",
        "crate::sources",
        "TreeGraph",
    ];
    let offenders: Vec<String> = code
        .iter()
        .filter(|line| reads.iter().any(|word| line.contains(word)))
        .map(|line| line.trim().to_owned())
        .collect();
    assert!(offenders.is_empty(), "{offenders:?}");
    // Its imports: std collections, the model's and findings' types, and the walk's plain
    // index helpers (constants and the edge encoding).
    let allowed = [
        "use std::borrow::Cow;",
        "use std::collections::{HashMap, HashSet};",
        "use std::rc::Rc;",
        "use super::PathWatch;",
        "use super::graph::{MAX_TREE_DEPTH, NONE, split_edge};",
        "use crate::findings::{CommitRef, HistoryInfo, Occurrence};",
    ];
    let imports: Vec<&str> = code
        .iter()
        .map(|line| line.trim())
        .filter(|line| line.starts_with("use ") || line.starts_with("pub use "))
        .filter(|line| !allowed.contains(line))
        .collect();
    assert!(imports.is_empty(), "{imports:?}");
}
