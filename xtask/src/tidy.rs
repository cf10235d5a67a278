//! `cargo xtask tidy`: the repository's maps stay true, and every crate's
//! modules form layers.
//!
//! - Every source file README.md and ARCHITECTURE.md name exists,
//!   ARCHITECTURE.md names every source file of the crates, and its crate
//!   map (the `crate-map` block) is the workspace's, as `cargo metadata`
//!   tells it.
//! - No import cycle of any length between the modules of one crate. A
//!   module's file depends on every module it names in code: `crate::…`,
//!   `super::…`, `self::…`, and a child module by its bare name (so a
//!   `mod.rs` re-exporting `pub use child::Item` depends on `child`).
//!   Comments, string literals and `#[cfg(test)]` code are not
//!   dependencies, and neither is the crate root's facade (`lib.rs` /
//!   `main.rs` declare and re-export everything; everything may use the root).
//!
//! Cycles found in code that predates this check are listed in
//! [`KNOWN_CYCLES`]: a new cycle fails, and so does a listed one that is
//! gone, so the list only shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Import cycles that predate the check, each as its sorted module files
/// (relative to the repository root, joined by ` ↔ `). Each is debt: fix it
/// and delete the line.
const KNOWN_CYCLES: &[&str] = &[
    "crates/consentry-engine/src/rewrite/elements.rs ↔ crates/consentry-engine/src/rewrite/inline.rs ↔ crates/consentry-engine/src/rewrite/mod.rs ↔ crates/consentry-engine/src/rewrite/prescan.rs ↔ crates/consentry-engine/src/rewrite/sheets.rs",
];

/// Runs every check; the error lists every problem found.
pub fn tidy(root: &Path) -> Result<(), String> {
    let mut problems = Vec::new();
    problems.extend(docs_name_existing_files(root));
    problems.extend(architecture_names_every_source(root));
    problems.extend(cycles(root));
    problems.extend(crate_map(root));
    if problems.is_empty() {
        println!("  maps true (files, crate map), no import cycle between modules");
        Ok(())
    } else {
        Err(format!("tidy found {} problem(s):\n  {}", problems.len(), problems.join("\n  ")))
    }
}

/// Every `.rs` file under `dir`, recursively, sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The `src` folders of the workspace's crates, and xtask's.
fn source_roots(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .map(|rd| rd.flatten().map(|e| e.path().join("src")).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    dirs.push(root.join("xtask/src"));
    dirs.sort();
    dirs
}

/// The `` `….rs` `` names a document mentions.
fn mentioned(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.ends_with(".rs") && !s.contains(' '))
        .map(str::to_owned)
        .collect()
}

fn docs_name_existing_files(root: &Path) -> Vec<String> {
    let mut all = Vec::new();
    for extra in ["crates", "xtask/src", "fuzz/fuzz_targets"] {
        all.extend(sources(&root.join(extra)));
    }
    let mut problems = Vec::new();
    for doc in ["README.md", "ARCHITECTURE.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap_or_default();
        for name in mentioned(&text) {
            let found =
                all.iter().any(|p| p.to_string_lossy().replace('\\', "/").ends_with(&format!("/{name}")))
                    || root.join(&name).is_file();
            if !found {
                problems.push(format!("{doc} names `{name}`, which is not in the repository"));
            }
        }
    }
    problems
}

fn architecture_names_every_source(root: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap_or_default();
    let mut missing: Vec<String> = source_roots(root)
        .iter()
        .filter(|src| !src.starts_with(root.join("xtask")))
        .flat_map(|src| sources(src))
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| n != "lib.rs" && n != "main.rs" && n != "mod.rs" && !text.contains(n.as_str()))
        .collect();
    missing.sort();
    missing.dedup();
    missing.into_iter().map(|n| format!("ARCHITECTURE.md does not mention `{n}`")).collect()
}

/// The `crate-map` block of ARCHITECTURE.md against `cargo metadata`:
/// each workspace crate and the workspace crates it depends on.
fn crate_map(root: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap_or_default();
    let Some(block) = text.split("```crate-map\n").nth(1).and_then(|b| b.split("```").next()) else {
        return vec!["ARCHITECTURE.md has no ```crate-map block".to_owned()];
    };
    let written: BTreeMap<String, BTreeSet<String>> = block
        .lines()
        .filter_map(|l| {
            let (name, deps) = l.split_once("->")?;
            let deps = deps.split(',').map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned).collect();
            Some((name.trim().to_owned(), deps))
        })
        .collect();
    let out = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output();
    let Ok(out) = out else { return vec!["cannot run cargo metadata".to_owned()] };
    let Ok(meta) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
        return vec![format!("cargo metadata: {}", String::from_utf8_lossy(&out.stderr))];
    };
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let names: BTreeSet<String> =
        packages.iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect();
    let actual: BTreeMap<String, BTreeSet<String>> = packages
        .iter()
        .filter_map(|p| {
            let name = p["name"].as_str()?.to_owned();
            let deps = p["dependencies"]
                .as_array()?
                .iter()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .filter(|d| names.contains(*d) && *d != name)
                .map(str::to_owned)
                .collect();
            Some((name, deps))
        })
        .collect();
    if written == actual {
        Vec::new()
    } else {
        let show = |m: &BTreeMap<String, BTreeSet<String>>| {
            m.iter()
                .map(|(k, v)| format!("{k} -> {}", v.iter().cloned().collect::<Vec<_>>().join(", ")))
                .collect::<Vec<_>>()
                .join("\n    ")
        };
        vec![format!(
            "ARCHITECTURE.md's crate map is not the workspace's; cargo metadata says:\n    {}",
            show(&actual)
        )]
    }
}

/// A module's path inside its crate (`[]` for the root) from its file.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file).to_string_lossy().replace('\\', "/");
    let mut parts: Vec<String> = rel.trim_end_matches(".rs").split('/').map(str::to_owned).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The code of a file that builds outside tests: comments, string and char
/// literals blanked, everything from the first `#[cfg(test)]` on dropped.
pub fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            i += end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(rest.len(), |e| e + 2);
            i += end;
            out.push(' ');
        } else if let Some(len) = raw_string_len(rest) {
            i += len;
            out.push_str("\"\"");
        } else if rest.starts_with('"') {
            let mut j = 1;
            while j < rest.len() {
                match rest.as_bytes()[j] {
                    b'\\' => j += 2,
                    b'"' => break,
                    _ => j += 1,
                }
            }
            i += (j + 1).min(rest.len());
            out.push_str("\"\"");
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The length of a raw string literal (`r"…"`, `r#"…"#`, `br"…"`) at the
/// start of `s`, if one starts there.
fn raw_string_len(s: &str) -> Option<usize> {
    let body = s.strip_prefix("br").or_else(|| s.strip_prefix('r'))?;
    let hashes = body.len() - body.trim_start_matches('#').len();
    let after = body[hashes..].strip_prefix('"')?;
    let close = format!("\"{}", "#".repeat(hashes));
    let end = after.find(&close)?;
    Some(s.len() - after.len() + end + close.len())
}

/// Every path a piece of code names from a module at `here`, resolved to
/// absolute segments in its crate. `children` are the modules `here`
/// declares (reachable by their bare name).
pub fn named_paths(code: &str, here: &[String], children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        if !is_ident(b[i]) || (i > 0 && (is_ident(b[i - 1]) || b[i - 1] == b':')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        let first = &code[start..i];
        if !code[i..].starts_with("::") {
            continue;
        }
        let base: Vec<String> = match first {
            "crate" => Vec::new(),
            "self" => here.to_vec(),
            "super" => here[..here.len().saturating_sub(1)].to_vec(),
            name if children.contains(name) => [here, &[name.to_owned()]].concat(),
            _ => continue,
        };
        let tails = path_tails(&code[i + 2..]);
        for tail in tails {
            let mut path = base.clone();
            let mut segs = tail.into_iter().peekable();
            // `super::super::x`
            while segs.peek().is_some_and(|s| s == "super") {
                segs.next();
                path.pop();
            }
            path.extend(segs);
            out.push(path);
        }
    }
    out
}

/// The segment lists after `prefix::`: one for `a::b::C`, several for a
/// group `{a::B, c, d::{E, F}}` (nested groups flattened one level deep,
/// which is as far as module resolution needs).
fn path_tails(rest: &str) -> Vec<Vec<String>> {
    let ident =
        |s: &str| -> String { s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect() };
    let mut segs = Vec::new();
    let mut rest = rest;
    loop {
        let rest_trim = rest.trim_start();
        if let Some(group) = rest_trim.strip_prefix('{') {
            // Up to the matching brace.
            let mut depth = 1;
            let mut end = group.len();
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = k;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let inner = &group[..end];
            let mut items = Vec::new();
            let mut depth = 0;
            let mut from = 0;
            for (k, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&inner[from..k]);
                        from = k + 1;
                    }
                    _ => {}
                }
            }
            items.push(&inner[from..]);
            let mut out = Vec::new();
            for item in items {
                for tail in path_tails(item) {
                    out.push([segs.clone(), tail].concat());
                }
            }
            if out.is_empty() {
                out.push(segs);
            }
            return out;
        }
        let name = ident(rest_trim);
        if name.is_empty() {
            return vec![segs];
        }
        let after = &rest_trim[name.len()..];
        segs.push(name);
        match after.strip_prefix("::") {
            Some(next) => rest = next,
            None => return vec![segs],
        }
    }
}

/// The module declarations (`mod x;`, `pub(crate) mod x;`) of some code.
fn declared_children(code: &str) -> BTreeSet<String> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("mod ") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + 4..];
        if before.is_some_and(is_ident) {
            continue;
        }
        let name: String = rest.trim_start().chars().take_while(|c| is_ident(*c)).collect();
        let after = rest.trim_start()[name.len()..].trim_start();
        if !name.is_empty() && after.starts_with(';') {
            out.insert(name);
        }
    }
    out
}

/// The import cycles of every crate, except the known ones; and the known
/// ones that are gone.
fn cycles(root: &Path) -> Vec<String> {
    let mut found = BTreeSet::new();
    for src in source_roots(root) {
        for cycle in crate_cycles(&src) {
            let names: Vec<String> = cycle
                .iter()
                .map(|f| f.strip_prefix(root).unwrap_or(f).to_string_lossy().replace('\\', "/"))
                .collect();
            found.insert(names.join(" ↔ "));
        }
    }
    let mut problems: Vec<String> = found
        .iter()
        .filter(|c| !KNOWN_CYCLES.contains(&c.as_str()))
        .map(|c| format!("import cycle: {c}"))
        .collect();
    for known in KNOWN_CYCLES {
        if !found.contains(*known) {
            problems.push(format!("fixed, so delete it from KNOWN_CYCLES in xtask/src/tidy.rs: {known}"));
        }
    }
    problems
}

/// The cycles (strongly connected groups of two or more module files) of
/// the crate whose sources are in `src`.
pub fn crate_cycles(src: &Path) -> Vec<Vec<PathBuf>> {
    let files = sources(src);
    let modules: BTreeMap<Vec<String>, PathBuf> =
        files.iter().map(|f| (module_path(src, f), f.clone())).collect();
    // What the crate root re-exports, by name: `crate::Name` is a use of
    // the module the root took `Name` from.
    let mut reexports: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(root_file) = modules.get(&Vec::new()) {
        let code = code_of(&std::fs::read_to_string(root_file).unwrap_or_default());
        let children = declared_children(&code);
        let uses: String =
            code.split(';').filter(|st| st.trim_start().starts_with("pub use")).collect::<Vec<_>>().join(";");
        for path in named_paths(&uses, &[], &children) {
            if let Some(name) = path.last() {
                let module = (0..path.len()).rev().map(|n| &path[..n]).find(|p| modules.contains_key(*p));
                if let Some(m) = module.filter(|m| !m.is_empty()) {
                    reexports.insert(name.clone(), m.to_vec());
                }
            }
        }
    }
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (here, file) in &modules {
        if here.is_empty() {
            continue; // the crate root's facade
        }
        let code = code_of(&std::fs::read_to_string(file).unwrap_or_default());
        let children = declared_children(&code);
        for path in named_paths(&code, here, &children) {
            // The longest prefix of the path that is a module file.
            let target = (0..=path.len()).rev().map(|n| &path[..n]).find(|p| modules.contains_key(*p));
            let through_root = match (target, path.first()) {
                (Some([]), Some(name)) => reexports.get(name).map(Vec::as_slice),
                _ => None,
            };
            if let Some(t) = through_root.or(target) {
                if !t.is_empty() && t != here.as_slice() {
                    edges.entry(here.clone()).or_default().insert(t.to_vec());
                }
            }
        }
    }
    strongly_connected(&modules.keys().cloned().collect::<Vec<_>>(), &edges)
        .into_iter()
        .filter(|group| group.len() > 1)
        .map(|group| {
            let mut files: Vec<PathBuf> = group.iter().filter_map(|m| modules.get(m).cloned()).collect();
            files.sort();
            files
        })
        .collect()
}

/// Tarjan's strongly connected components.
fn strongly_connected(
    nodes: &[Vec<String>],
    edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
) -> Vec<Vec<Vec<String>>> {
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<Vec<String>, usize>,
        low: BTreeMap<Vec<String>, usize>,
        on_stack: BTreeSet<Vec<String>>,
        stack: Vec<Vec<String>>,
        next: usize,
        groups: Vec<Vec<Vec<String>>>,
    }
    fn visit(s: &mut State<'_>, v: &Vec<String>) {
        s.index.insert(v.clone(), s.next);
        s.low.insert(v.clone(), s.next);
        s.next += 1;
        s.stack.push(v.clone());
        s.on_stack.insert(v.clone());
        let targets: Vec<Vec<String>> =
            s.edges.get(v).map(|t| t.iter().cloned().collect()).unwrap_or_default();
        for w in &targets {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v.clone(), lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v.clone(), lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                let done = &w == v;
                group.push(w);
                if done {
                    break;
                }
            }
            s.groups.push(group);
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        on_stack: BTreeSet::new(),
        stack: Vec::new(),
        next: 0,
        groups: Vec::new(),
    };
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn paths_in_code_count_and_comments_strings_and_tests_do_not() {
        let text = "use crate::policy::{A, B};\nuse crate::{texts, json::X};\n// see crate::ready\n/// [`crate::region`]\n\
                    fn f() { crate::decimal::push(); let s = \"crate::consent\"; }\n#[cfg(test)]\nmod tests { use crate::consent; }";
        let code = code_of(text);
        let paths = named_paths(&code, &v(&["a"]), &BTreeSet::new());
        assert_eq!(
            paths,
            [
                v(&["policy", "A"]),
                v(&["policy", "B"]),
                v(&["texts"]),
                v(&["json", "X"]),
                v(&["decimal", "push"])
            ]
        );
    }

    #[test]
    fn super_self_and_children_by_their_bare_name_resolve_from_the_module() {
        let children: BTreeSet<String> = ["sqlite".to_owned()].into();
        let code = code_of(
            "pub use sqlite::SqliteStore;\nuse super::{store::Trait, other};\nuse self::x::Y;\nuse super::super::top;",
        );
        let paths = named_paths(&code, &v(&["a", "b"]), &children);
        assert_eq!(
            paths,
            [
                v(&["a", "b", "sqlite", "SqliteStore"]),
                v(&["a", "store", "Trait"]),
                v(&["a", "other"]),
                v(&["a", "b", "x", "Y"]),
                v(&["top"]),
            ]
        );
    }

    #[test]
    fn nested_groups_and_raw_strings() {
        let code = code_of("use crate::{a::{B, c::D}, e}; let s = r#\"crate::zzz\"#;");
        let paths = named_paths(&code, &v(&["m"]), &BTreeSet::new());
        assert_eq!(paths, [v(&["a", "B"]), v(&["a", "c", "D"]), v(&["e"])]);
    }

    #[test]
    fn a_cycle_of_three_through_a_re_export_is_found() {
        let dir = std::env::temp_dir().join(format!("consentry-tidy-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("r")).unwrap();
        std::fs::write(dir.join("lib.rs"), "mod a; mod b; mod r; pub use a::X;").unwrap();
        std::fs::write(dir.join("a.rs"), "use crate::b::Y; pub struct X;").unwrap();
        std::fs::write(dir.join("b.rs"), "use crate::r::Z; pub struct Y;").unwrap();
        std::fs::write(dir.join("r/mod.rs"), "mod c; pub use c::Z;").unwrap();
        std::fs::write(dir.join("r/c.rs"), "use crate::a::X; pub struct Z;").unwrap();
        let cycles = crate_cycles(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        assert_eq!(cycles[0].len(), 4, "a → b → r → r/c → a: {cycles:?}");
    }

    #[test]
    fn a_use_of_the_roots_re_export_is_a_use_of_its_module() {
        let dir = std::env::temp_dir().join(format!("consentry-tidy-root-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lib.rs"), "mod error;\nmod policy;\npub use policy::{Policy, MAX};")
            .unwrap();
        std::fs::write(dir.join("error.rs"), "fn f() -> usize { crate::MAX }").unwrap();
        std::fs::write(dir.join("policy.rs"), "use crate::error::E; pub const MAX: usize = 1;").unwrap();
        let cycles = crate_cycles(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(cycles.len(), 1, "error → (root) → policy → error: {cycles:?}");
    }

    #[test]
    fn mod_declarations_are_children() {
        let code = "mod a;\npub mod b;\npub(crate) mod c;\nmod tests {\n#[cfg(feature = \"x\")]\nmod d;";
        assert_eq!(declared_children(code), ["a", "b", "c", "d"].iter().map(|s| (*s).to_owned()).collect());
    }
}
