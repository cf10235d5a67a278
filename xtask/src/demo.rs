//! `cargo xtask demo`: builds everything and serves the five demo sites.

use crate::{dist, root, run};

/// Builds the bundle, then runs the demo server (`--db` defaults to
/// `target/consentry-demo.db`).
pub fn demo(args: &[String]) -> Result<(), String> {
    dist::dist()?;
    let root = root();
    let mut cmd_args: Vec<&str> = vec!["run", "--package", "consentry-demo", "--"];
    let default_db = root.join("target").join("consentry-demo.db");
    let default_db = default_db.to_string_lossy().into_owned();
    if !args.iter().any(|a| a == "--db") {
        cmd_args.extend(["--db", default_db.as_str()]);
    }
    cmd_args.extend(args.iter().map(String::as_str));
    println!(
        "xtask demo: building and starting the demo server (first build takes a few minutes on 2 cores)"
    );
    run::cargo(&root, &cmd_args, &[])
}
