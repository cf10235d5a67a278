//! `cargo xtask bench`: runs the benchmarks and writes BENCHMARKS.md.
//!
//! Every figure is reported next to a baseline measured in the same run, as a
//! ratio, so numbers from different machines or days stay comparable.

use std::fmt::Write as _;
use std::path::Path;

use crate::run::{self, Step};

struct Estimate {
    mean_ns: f64,
    low_ns: f64,
    high_ns: f64,
}

fn estimate(root: &Path, group: &str, name: &str) -> Result<Estimate, String> {
    let path =
        root.join("target").join("criterion").join(group).join(name).join("new").join("estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let get = |k: &str| v["mean"][k].as_f64().or_else(|| v["mean"]["confidence_interval"][k].as_f64());
    Ok(Estimate {
        mean_ns: get("point_estimate").ok_or("no mean in criterion output")?,
        low_ns: get("lower_bound").unwrap_or(f64::NAN),
        high_ns: get("upper_bound").unwrap_or(f64::NAN),
    })
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cpus} cores ({model}), {rustc}")
}

pub fn run() -> Result<(), String> {
    let root = crate::root();
    let mut step = Step::new(1);
    step.begin("consentry-core: Cookie header (10 cookies) + decide, criterion");
    run::cargo(&root, &["bench", "--package", "consentry-core", "--bench", "decide", "--", "--noplot"], &[])?;
    let ours = estimate(&root, "core", "parse_and_decide")?;
    let base = estimate(&root, "core", "baseline_cookie_crate_find")?;
    let bare = estimate(&root, "core", "decide_without_cookie")?;
    step.done();

    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `cargo xtask bench` (do not edit by hand). Machine: {}.\n\
         Every figure sits next to a baseline measured in the same run; compare ratios, not raw times, \
         across machines.\n",
        machine()
    );
    let _ = writeln!(md, "## consentry-core: per-request cost\n");
    let _ = writeln!(
        md,
        "Command: `cargo bench -p consentry-core --bench decide` (criterion, mean with 95% interval).\n\
         Input: a realistic `Cookie` header of 10 cookies (GA, session, CSRF, ... and the consent cookie) and \
         the `redis` preset (5 categories, 4 services).\n"
    );
    let _ = writeln!(md, "| what | mean | 95% interval | ratio to baseline |");
    let _ = writeln!(md, "|---|---|---|---|");
    for (label, e) in [
        ("find + decode the consent cookie, read DNT, decide", &ours),
        ("decide alone (no cookie)", &bare),
        ("baseline: find one cookie with the `cookie` crate (no decoding)", &base),
    ] {
        let _ = writeln!(
            md,
            "| {label} | {:.0} ns | {:.0}–{:.0} ns | {:.2} |",
            e.mean_ns,
            e.low_ns,
            e.high_ns,
            e.mean_ns / base.mean_ns
        );
    }
    let _ = writeln!(md, "\nGoal: parse + decide well under 1 µs.");
    let path = root.join("BENCHMARKS.md");
    std::fs::write(&path, &md).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("\n{md}\nwritten to {}", path.display());
    Ok(())
}
