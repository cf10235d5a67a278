//! `cargo xtask <command>`: the project's build, test and demo entry points.
//!
//! One Rust binary instead of shell scripts, so the commands behave the same
//! on every machine. Everything it installs goes under the tool cache
//! (`$CONSENTRY_CACHE`, else `$XDG_CACHE_HOME/consentry`, else
//! `~/.cache/consentry`), outside the clone, so a fresh clone reuses it.

mod bench;
mod bootstrap;
mod demo;
mod dist;
mod panic_text;
#[path = "../../tests/support/postgres.rs"]
mod postgres;
mod run;
mod server;
mod size;
mod test;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <command>

  demo [--addr HOST:PORT] [--db PATH]
                builds everything and serves the five demo sites
                (default http://127.0.0.1:8080)
  test          the whole suite: fmt, clippy, doc, unit/integration/property
                tests, wasm build, browser tests
  bench [SECTION]
                benchmarks; writes BENCHMARKS.md (one SECTION, printed only:
                {sections})
  tidy          the maps (README, ARCHITECTURE) name real files and every
                source file; no import cycle between a crate's modules
  dist          writes the browser bundle to www/dist/
  package       dry runs of publishing the crates and the npm package (after dist)
  bootstrap     installs what the other commands need (a fast no-op when all
                is present)
";

fn help() -> String {
    HELP.replace("{sections}", &bench::section_names())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprint!("{}", help());
        return ExitCode::FAILURE;
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "bootstrap" => bootstrap::all().map(|_| ()),
        "test" => test::test(),
        "demo" => demo::demo(rest),
        "bench" => match rest.first() {
            Some(section) => bench::run_section(section),
            None => bench::run(),
        },
        "dist" => dist::dist().map(|_| ()),
        "tidy" => tidy::tidy(&root()),
        "package" => test::packages(&root()),
        "help" | "--help" | "-h" => {
            print!("{}", help());
            Ok(())
        }
        other => Err(format!("unknown command `{other}`; run `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_root_contains_the_workspace_manifest() {
        assert!(super::root().join("Cargo.toml").is_file());
    }
}
