//! The repository's maps stay true: every source file README.md and
//! ARCHITECTURE.md name exists, and every source file of the crates is named
//! in ARCHITECTURE.md (so the map covers the code), and no module of a crate
//! uses a module that uses it back (each rule has one home to start from).

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

/// The top-level modules a source file uses through `crate::…` (code only:
/// comments, doc links and `#[cfg(test)]` modules are not dependencies).
fn uses(text: &str) -> Vec<String> {
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or("")
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            group.split('}').next().unwrap_or("").split(',').collect()
        } else {
            vec![rest]
        };
        for name in names {
            let name: String =
                name.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn no_module_uses_a_module_that_uses_it_back() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.push(root().join("xtask/src"));
    let mut cycles = Vec::new();
    for src in dirs {
        let mut files = Vec::new();
        sources(&src, &mut files);
        // (top-level module, the top-level modules it uses)
        let mut edges: Vec<(String, String)> = Vec::new();
        for file in &files {
            let rel = file.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            let top = rel.split('/').next().unwrap().trim_end_matches(".rs").to_owned();
            if top == "lib" || top == "main" {
                continue;
            }
            for used in uses(&std::fs::read_to_string(file).unwrap()) {
                if used != top {
                    edges.push((top.clone(), used));
                }
            }
        }
        for (a, b) in &edges {
            if a < b && edges.iter().any(|(x, y)| x == b && y == a) {
                cycles.push(format!("{}: `{a}` and `{b}` use each other", src.display()));
            }
        }
    }
    cycles.sort();
    cycles.dedup();
    assert!(cycles.is_empty(), "modules that use each other:\n{}", cycles.join("\n"));
}

#[test]
fn the_cycle_check_sees_uses_in_code_and_not_in_comments() {
    let text = "use crate::policy::{A, B};\nuse crate::{texts, json::X};\n// see crate::ready\n/// [`crate::region`]\nfn f() { crate::decimal::push(); }\n#[cfg(test)]\nmod tests { use crate::consent; }";
    assert_eq!(uses(text), ["policy", "texts", "json", "decimal"]);
}
