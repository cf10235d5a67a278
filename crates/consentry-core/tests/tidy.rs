//! The repository's maps stay true: every source file README.md and
//! ARCHITECTURE.md name exists, and every source file of the crates is named
//! in ARCHITECTURE.md (so the map covers the code).

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn crate_sources() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let crates = root().join("crates");
    for krate in std::fs::read_dir(&crates).unwrap().flatten() {
        let src = krate.path().join("src");
        if src.is_dir() {
            sources(&src, &mut out);
        }
    }
    out
}

/// The `` `….rs` `` names a document mentions.
fn mentioned(doc: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.ends_with(".rs") && !s.contains(' '))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_source_file_the_docs_name_exists() {
    let mut all = Vec::new();
    for extra in ["crates", "xtask/src", "fuzz/fuzz_targets"] {
        sources(&root().join(extra), &mut all);
    }
    for doc in ["README.md", "ARCHITECTURE.md"] {
        for name in mentioned(doc) {
            let found =
                all.iter().any(|p| p.to_string_lossy().replace('\\', "/").ends_with(&format!("/{name}")))
                    || root().join(&name).is_file();
            assert!(found, "{doc} names `{name}`, which is not in the repository");
        }
    }
}

#[test]
fn architecture_names_every_source_file_of_the_crates() {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut missing: Vec<String> = crate_sources()
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| n != "lib.rs" && n != "main.rs" && n != "mod.rs" && !text.contains(n.as_str()))
        .collect();
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "ARCHITECTURE.md does not mention {missing:?}");
}
