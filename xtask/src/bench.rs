//! `cargo xtask bench`: runs the benchmarks and writes BENCHMARKS.md.
//!
//! Every figure is reported next to a baseline measured in the same run, as a
//! ratio, so numbers from different machines or days stay comparable.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::postgres::Postgres;
use crate::run::{self, Step};
use crate::server::{free_port, wait_for, while_serving};

struct Estimate {
    mean_ns: f64,
    low_ns: f64,
    high_ns: f64,
}

/// Runs the criterion benchmarks of `group` in `package`'s `bench` target
/// and reads the estimates of `names`, in that order.
fn criterion<const N: usize>(
    root: &Path,
    package: &str,
    bench: &str,
    group: &str,
    names: [&str; N],
) -> Result<[Estimate; N], String> {
    let filter = format!("{group}/");
    run::cargo(root, &["bench", "--package", package, "--bench", bench, "--", "--noplot", &filter], &[])?;
    let estimates = names.iter().map(|name| estimate(root, group, name)).collect::<Result<Vec<_>, _>>()?;
    estimates.try_into().map_err(|_| format!("criterion: not {N} estimates in group {group}"))
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

/// One wrk run: requests per second and 99th-percentile latency.
#[derive(Debug, Clone, Copy)]
struct Load {
    rps: f64,
    p99_ms: f64,
}

fn parse_latency_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let v: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => v / 1000.0,
        "ms" => v,
        "s" => v * 1000.0,
        _ => return None,
    })
}

fn parse_wrk(out: &str) -> Option<Load> {
    let rps = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())?;
    let p99 = out.lines().find_map(|l| l.trim().strip_prefix("99%")).and_then(parse_latency_ms)?;
    Some(Load { rps, p99_ms: p99 })
}

fn wrk(url: &str, seconds: u32) -> Result<Load, String> {
    // wrk on core 1, the server on core 0 (see `middleware_load`), so they
    // do not steal each other's time slices.
    let out = std::process::Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1", "-c32", &format!("-d{seconds}s"), "--latency"])
        // What a browser sends: the template app compresses its pages.
        .args(["-H", "Accept-Encoding: gzip, deflate, br", url])
        .output()
        .map_err(|e| format!("cannot run wrk ({e}); install it with `apt-get install wrk`"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_wrk(&text).ok_or_else(|| format!("could not read wrk output:\n{text}"))
}

/// `baseline` and `candidate` under wrk: a 2 s warm-up each, then 3 rounds
/// of 8 s taken in turn (so drift hits both alike), means returned.
fn interleaved(label: &str, baseline: &str, candidate: &str) -> Result<(Load, Load), String> {
    wrk(baseline, 2)?;
    wrk(candidate, 2)?;
    let (mut b, mut c) = (Vec::new(), Vec::new());
    for round in 0..3 {
        println!("  wrk {label}: round {}/3", round + 1);
        b.push(wrk(baseline, 8)?);
        c.push(wrk(candidate, 8)?);
    }
    let mean = |v: &[Load]| Load {
        rps: v.iter().map(|l| l.rps).sum::<f64>() / v.len() as f64,
        p99_ms: v.iter().map(|l| l.p99_ms).sum::<f64>() / v.len() as f64,
    };
    Ok((mean(&b), mean(&c)))
}

/// Builds a consentry-tower example in release mode; returns its binary.
fn release_example(root: &Path, name: &str) -> Result<PathBuf, String> {
    release_example_of(root, "consentry-tower", name)
}

/// Builds an example of `package` in release mode; returns its binary.
fn release_example_of(root: &Path, package: &str, name: &str) -> Result<PathBuf, String> {
    run::cargo(root, &["build", "--release", "--quiet", "--package", package, "--example", name], &[])?;
    Ok(root.join("target").join("release").join("examples").join(name))
}

/// wrk against both adapters, each beside its own framework without the
/// middleware, in one run: the same 50 KB page and small JSON.
fn adapters_load(root: &Path, md: &mut String) -> Result<(), String> {
    let servers = [
        ("axum + consentry-tower", release_example(root, "bench_server")?),
        ("actix-web + consentry-actix", release_example_of(root, "consentry-actix", "bench_actix")?),
    ];
    let mut rows = Vec::new();
    for (name, bin) in &servers {
        let addr = format!("127.0.0.1:{}", free_port()?);
        let mut server = std::process::Command::new("taskset");
        server.args(["-c", "0"]).arg(bin).arg(&addr);
        let pairs = while_serving(&mut server, &addr, || {
            let mut pairs = Vec::new();
            for what in ["page", "json"] {
                let plain = format!("http://{addr}/plain/{what}");
                let layer = format!("http://{addr}/layer/{what}");
                pairs.push((what, interleaved(&format!("{name} {what}"), &plain, &layer)?));
            }
            Ok(pairs)
        })?;
        rows.extend(pairs.into_iter().map(|(what, (plain, layer))| (*name, what, plain, layer)));
    }
    let _ = writeln!(md, "\n## Both adapters: the same page and JSON, each against its own framework\n");
    let _ = writeln!(
        md,
        "Command: `cargo xtask bench` (section `adapters`) → `bench_server` (axum, 1 worker thread) and `bench_actix` \
         (actix-web, 1 worker), each serving `/plain/…` bare and `/layer/…` behind its adapter, with the same 50 KB page and \
         policy (`crates/consentry-engine/tests/shared/bench_page.rs`); `wrk -t1 -c32 -d8s --latency` on core 1, the server \
         on core 0; 3 interleaved rounds after a 2 s warm-up, means.\n"
    );
    let _ =
        writeln!(md, "| server | response | without | with | throughput ratio | p99 without | p99 with |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for (name, what, plain, layer) in rows {
        let label =
            if what == "page" { "50 KB HTML page (GA, Matomo gated)" } else { "small JSON (passed through)" };
        let _ = writeln!(
            md,
            "| {name} | {label} | {:.0} req/s | {:.0} req/s | {:.3} | {:.2} ms | {:.2} ms |",
            plain.rps,
            layer.rps,
            layer.rps / plain.rps,
            plain.p99_ms,
            layer.p99_ms
        );
    }
    Ok(())
}

/// wrk against the same axum app with and without the layer, interleaved.
fn middleware_load(root: &Path, md: &mut String) -> Result<(), String> {
    let bin = release_example(root, "bench_server")?;
    let addr = format!("127.0.0.1:{}", free_port()?);
    let bare = format!("127.0.0.1:{}", free_port()?);
    let wrapped = format!("127.0.0.1:{}", free_port()?);
    let mut server = std::process::Command::new("taskset");
    server.args(["-c", "0"]).arg(&bin).arg(&addr).arg(&bare).arg(&wrapped);
    let rows = while_serving(&mut server, &addr, || {
        wait_for(&wrapped)?;
        let mut rows = Vec::new();
        for what in ["page", "json", "json-noop", "json-outer", "template"] {
            let (plain_url, layer_url) = match what {
                "json-noop" => (format!("http://{addr}/plain/json"), format!("http://{addr}/noop/json")),
                "template" => {
                    (format!("http://{addr}/tpl-plain/page"), format!("http://{addr}/tpl-layer/page"))
                }
                "json-outer" => (format!("http://{bare}/json"), format!("http://{wrapped}/json")),
                _ => (format!("http://{addr}/plain/{what}"), format!("http://{addr}/layer/{what}")),
            };
            let (plain, layer) = interleaved(what, &plain_url, &layer_url)?;
            rows.push((what.to_owned(), plain, layer));
        }
        Ok(rows)
    })?;
    let _ = writeln!(md, "\n## consentry-tower: throughput and latency under load\n");
    let _ = writeln!(
        md,
        "Command: `cargo xtask bench` → `bench_server` example (axum, 1 worker thread) serving the same routes with and \
         without `ConsentLayer`; `wrk -t1 -c32 -d8s --latency` pinned to core 1, server pinned to core 0; 3 interleaved rounds each after a \
         2 s warm-up, means reported.\n"
    );
    let _ = writeln!(
        md,
        "| response | without layer | with layer | throughput ratio | p99 without | p99 with | p99 ratio | goal |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    for (what, plain, layer) in rows {
        let (label, goal) = match what.as_str() {
            "page" => ("50 KB HTML page, prebuilt string (GA, Matomo tags gated)", "≥ 0.95"),
            "template" => (
                "50 KB page rendered from a minijinja template per request, behind `CompressionLayer` (gzip)",
                "≥ 0.7",
            ),
            "json" => ("small JSON (passed through), `Router::layer` on the routes", "≥ 0.99"),
            "json-noop" => (
                "floor: small JSON through a layer that only wraps the body (tower-http `MapResponseBodyLayer`, identity)",
                "—",
            ),
            _ => ("small JSON (passed through), the layer wrapping the whole app once", "≥ 0.99"),
        };
        let _ = writeln!(
            md,
            "| {label} | {:.0} req/s | {:.0} req/s | {:.3} | {:.2} ms | {:.2} ms | {:.2} | {goal} |",
            plain.rps,
            layer.rps,
            layer.rps / plain.rps,
            plain.p99_ms,
            layer.p99_ms,
            layer.p99_ms / plain.p99_ms
        );
    }
    let _ = writeln!(
        md,
        "\nThe prebuilt-string row is the worst case: its handler costs a memcpy, so the ratio is the rewriter's \
         own cost against next to nothing (see the rewrite table for that cost per page). The template row is what an \
         app sees: rendering, gating and compressing. The floor row is what any layer that changes the response's body \
         type costs in axum (the body is boxed once more), before it does any work: the JSON rows are best read \
         against it."
    );
    Ok(())
}

fn stream_memory(root: &Path, md: &mut String) -> Result<(), String> {
    let bin = release_example(root, "stream_rss")?;
    let probe = |mode: &str| -> Result<serde_json::Value, String> {
        let out = std::process::Command::new(&bin).arg(mode).output().map_err(|e| e.to_string())?;
        serde_json::from_slice(&out.stdout).map_err(|e| format!("stream_rss {mode}: {e}"))
    };
    let plain = probe("plain")?;
    let layer = probe("layer")?;
    let kb = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let _ = writeln!(md, "\n## consentry-tower: memory while streaming 100 MB of HTML\n");
    let _ = writeln!(
        md,
        "Command: `cargo run --release -p consentry-tower --example stream_rss -- plain|layer` (one process each). A 100 MiB \
         HTML body in 16 KiB chunks, with a GA tag and an inline gtag call every ~330 bytes, drained through the layer; \
         peak RSS (VmHWM) of the whole process.\n"
    );
    let _ = writeln!(md, "| mode | peak RSS | above its own start | throughput | tags made inert |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    for v in [&plain, &layer] {
        let _ = writeln!(
            md,
            "| {} | {:.1} MB | {:.1} MB | {} | {} |",
            v["mode"].as_str().unwrap_or("?"),
            kb(v, "hwm_after_kb") / 1024.0,
            (kb(v, "hwm_after_kb") - kb(v, "hwm_before_kb")) / 1024.0,
            if v["mode"] == "layer" { format!("{:.0} MB/s", kb(v, "mb_per_s")) } else { "—".to_owned() },
            v["inert_tags"]
        );
    }
    let _ = writeln!(
        md,
        "\nPeak RSS with the layer is {:.1} MB above the pass-through baseline (goal: flat, under 16 MB).",
        (kb(&layer, "hwm_after_kb") - kb(&plain, "hwm_after_kb")) / 1024.0
    );
    Ok(())
}

fn rewrite_throughput(root: &Path, md: &mut String) -> Result<(), String> {
    let [layer, gzip, base] = criterion(
        root,
        "consentry-tower",
        "rewrite",
        "rewrite",
        ["layer_50k_page", "layer_50k_page_gzip", "baseline_lol_html_no_handlers"],
    )?;
    let size_mb = 48_000.0 / 1_048_576.0;
    let _ = writeln!(md, "\n## consentry-tower: rewrite throughput\n");
    let _ = writeln!(
        md,
        "Command: `cargo bench -p consentry-tower --bench rewrite` (criterion). One ~50 KB page through the whole layer \
         (decide, gate, inject, banner) against the same bytes through lol_html with no handlers; and the same page \
         sent gzip-compressed by the app (decoded by the layer, sent on uncompressed).\n"
    );
    let _ = writeln!(md, "| what | time per page | throughput | ratio to baseline (time) |");
    let _ = writeln!(md, "|---|---|---|---|");
    for (label, e) in [
        ("through ConsentLayer", &layer),
        ("through ConsentLayer, page gzip-compressed by the app", &gzip),
        ("baseline: lol_html, no handlers", &base),
    ] {
        let _ = writeln!(
            md,
            "| {label} | {:.0} µs | {:.0} MB/s | {:.2} |",
            e.mean_ns / 1000.0,
            size_mb / (e.mean_ns / 1e9),
            e.mean_ns / base.mean_ns
        );
    }
    let _ = writeln!(
        md,
        "\nDecoding a gzip page costs {:.0} µs per 50 KB page ({:.2}× the identity page through the layer).",
        (gzip.mean_ns - layer.mean_ns) / 1000.0,
        gzip.mean_ns / layer.mean_ns
    );
    Ok(())
}

/// The layer's cost on a request it does not rewrite, per request and
/// in-process (no network, so the few hundred nanoseconds are not lost in
/// the noise of a load test): bare, behind a body-only wrapper, behind the layer.
fn passthrough_cost(root: &Path, md: &mut String) -> Result<(), String> {
    let [bare, floor, layer] =
        criterion(root, "consentry-tower", "rewrite", "passthrough", ["bare", "body_wrapper", "layer"])?;
    let _ = writeln!(md, "\n## consentry-tower: cost per request passed through\n");
    let _ = writeln!(
        md,
        "Command: `cargo bench -p consentry-tower --bench rewrite -- passthrough/` (criterion, mean with 95% interval). \
         A browser's `fetch()` of an API route (11 headers, the consent cookie among three cookies) answered with a small \
         JSON body, sent through the service in-process and the body read to the end; the response boxed into axum's \
         `Body` as a router does.\n"
    );
    let _ = writeln!(md, "| path | per request | 95% interval | above bare |");
    let _ = writeln!(md, "|---|---|---|---|");
    for (label, e) in [
        ("bare service", &bare),
        ("behind a layer that only wraps the body (the floor for any body-changing layer)", &floor),
        ("behind `ConsentLayer`", &layer),
    ] {
        let _ = writeln!(
            md,
            "| {label} | {:.0} ns | {:.0}–{:.0} ns | {:+.0} ns |",
            e.mean_ns,
            e.low_ns,
            e.high_ns,
            e.mean_ns - bare.mean_ns
        );
    }
    let _ = writeln!(
        md,
        "\nThe layer's own work (decide from the cookie and the signals, the request extension, `Tk`, the \
         content-type check) costs {:.0} ns per request above the floor.",
        layer.mean_ns - floor.mean_ns
    );
    Ok(())
}

/// An npm package installed once under `target/bench/<dir>` as a baseline;
/// returns `node_modules/<name>/<sub>`, the directory holding `marker`.
fn npm_baseline(
    root: &Path,
    dir: &str,
    spec: &str,
    sub: &str,
    marker: &str,
    what: &str,
) -> Result<PathBuf, String> {
    let prefix = root.join("target").join("bench").join(dir);
    let name = spec.rsplit_once('@').map_or(spec, |(n, _)| n);
    let files = prefix.join("node_modules").join(name).join(sub);
    if !files.join(marker).is_file() {
        std::fs::create_dir_all(&prefix).map_err(|e| e.to_string())?;
        println!("  npm install {spec} ({what}) into {}", prefix.display());
        run::program(
            &prefix,
            "npm",
            &["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", ".", spec],
        )?;
    }
    Ok(files)
}

/// vanilla-cookieconsent 3.1.0 from npm; returns its `dist` directory.
fn vanilla_cookieconsent(root: &Path) -> Result<PathBuf, String> {
    npm_baseline(
        root,
        "vanilla-cookieconsent",
        "vanilla-cookieconsent@3.1.0",
        "dist",
        "cookieconsent.umd.js",
        "the baseline",
    )
}

/// The Osano cookie banner (npm `cookieconsent` 3.1.1); returns its `build` directory.
fn osano(root: &Path) -> Result<PathBuf, String> {
    npm_baseline(
        root,
        "osano",
        "cookieconsent@3.1.1",
        "build",
        "cookieconsent.min.js",
        "Osano's banner, a second baseline",
    )
}

/// Bytes a visitor downloads for the banner (gzip -9), against
/// vanilla-cookieconsent 3.1 and Osano's banner installed in the same run,
/// with twiggy's largest items of the wasm.
fn bundle_size(root: &Path, md: &mut String) -> Result<(), String> {
    let vcc = vanilla_cookieconsent(root)?;
    let osano = osano(root)?;
    let dist = root.join("www").join("dist");
    let _ = writeln!(md, "\n## consentry-banner: bytes transferred\n");
    let _ = writeln!(
        md,
        "Command: `cargo xtask bench` (section `size`, after `cargo xtask dist`): everything a script-tag page \
         downloads to show and run the banner, each file compressed with `gzip -9`: the page layer with the \
         rules module's glue (one minified module), the rules module's wasm, the stylesheet and the ready policy (`www/policies/redis.json` built for English: 5 categories, 4 services). \
         Baselines installed from npm in the same run: vanilla-cookieconsent 3.1.0 (its dist JS and CSS; its \
         configuration, texts included, is written by the site on top) and Osano's `cookieconsent` 3.1.1 (its \
         minified JS and CSS). `cargo xtask test` fails above the budget in `{}`.\n",
        crate::size::BUDGET_FILE
    );
    let _ = writeln!(md, "| file | raw | gzip -9 |");
    let _ = writeln!(md, "|---|---|---|");
    let ours = crate::size::measure(root, &dist)?;
    let total_ours: u64 = ours.iter().map(|f| f.gzip).sum();
    for f in &ours {
        let _ = writeln!(md, "| consentry `{}` | {} B | {} B |", f.name, f.raw, f.gzip);
    }
    let mut totals = Vec::new();
    for (label, dir, files) in [
        ("vanilla-cookieconsent 3.1.0", &vcc, ["cookieconsent.umd.js", "cookieconsent.css"]),
        ("Osano cookieconsent 3.1.1", &osano, ["cookieconsent.min.js", "cookieconsent.min.css"]),
    ] {
        let mut total = 0;
        for f in files {
            let p = dir.join(f);
            let raw = std::fs::metadata(&p).map(|m| m.len()).map_err(|e| format!("{}: {e}", p.display()))?;
            let gz = crate::size::gzip9(&p)?;
            total += gz;
            let _ = writeln!(md, "| {label} `{f}` | {raw} B | {gz} B |");
        }
        totals.push((label, total));
    }
    let _ = writeln!(md, "\nTotal gzip -9: consentry **{total_ours} B**.");
    for (label, total) in &totals {
        let _ = writeln!(
            md,
            "{label}: {total} B, consentry at **{:.2}×** its size.",
            total_ours as f64 / *total as f64
        );
    }
    let builder: u64 = ["consentry_policy.js", "consentry_policy_bg.wasm"]
        .iter()
        .map(|f| crate::size::gzip9(&dist.join(f)))
        .sum::<Result<u64, String>>()?;
    let source = crate::size::gzip9(&root.join("www/policies/redis.json"))?;
    let _ = writeln!(
        md,
        "\nA page that hands the banner a policy *source* instead of a ready policy also downloads the policy \
         builder (`consentry_policy.js` + `consentry_policy_bg.wasm`, {builder} B gzip -9) and the source itself \
         ({source} B for redis.json, all its languages): {} B in all. `consentry policy build` spares that.",
        total_ours - ours.last().map_or(0, |f| f.gzip) + builder + source
    );
    twiggy(root, md)
}

/// twiggy's 15 largest items of the banner's wasm (as wasm-bindgen wrote it,
/// names kept; wasm-opt then shrinks it further).
fn twiggy(root: &Path, md: &mut String) -> Result<(), String> {
    let bin = crate::bootstrap::twiggy()?;
    let wasm = root.join("target/wasm-bindgen/consentry_wasm_bg.wasm");
    let out = std::process::Command::new(&bin)
        .args(["top", "-n", "15", "-f", "csv"])
        .arg(&wasm)
        .output()
        .map_err(|e| format!("cannot run twiggy: {e}"))?;
    if !out.status.success() {
        return Err(format!("twiggy failed on {}", wasm.display()));
    }
    let _ = writeln!(
        md,
        "\ntwiggy's 15 largest items of `consentry_wasm_bg.wasm` before wasm-opt (`twiggy top -n 15`; the \
         \"function names\" section is debug data that wasm-opt strips):\n"
    );
    let _ = writeln!(md, "| item | bytes | share |");
    let _ = writeln!(md, "|---|---|---|");
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines().skip(1) {
        // Name,ShallowSize,ShallowSizePercent,RetainedSize,RetainedSizePercent
        // (a name may hold commas: split from the right).
        let parts: Vec<&str> = line.rsplitn(5, ',').collect();
        if let [_, _, pct, size, name] = parts.as_slice() {
            let pct: f64 = pct.parse().unwrap_or(0.0);
            // CSV quoting: one pair of outer quotes, `""` for a quote inside.
            let name = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(name);
            let name = name.replace("\"\"", "\"").replace('|', "\\|");
            let _ = writeln!(md, "| `{name}` | {size} B | {pct:.1}% |");
        }
    }
    Ok(())
}

/// Navigations per variant and network profile in the browser benchmark.
const BROWSER_RUNS: u32 = 25;

/// Time to a visible banner, first contentful paint and layout shift in
/// headless Chromium: consentry with the server-rendered banner, consentry as
/// a plain script tag, and vanilla-cookieconsent 3.1, on the same page from
/// the same server (`banner_bench` example, `tests/browser/bench-banner.mjs`).
/// Needs `www/dist` (built by the caller).
fn browser_timing(root: &Path, md: &mut String) -> Result<(), String> {
    let vcc = vanilla_cookieconsent(root)?;
    crate::bootstrap::chromium()?;
    let tests = root.join("tests").join("browser");
    crate::bootstrap::npm_ci(&tests)?;
    let bin = release_example(root, "banner_bench")?;
    let addr = format!("127.0.0.1:{}", free_port()?);
    let policy = root.join("www").join("policies").join("redis.json");
    let mut server = std::process::Command::new(&bin);
    server.arg(&addr).arg(root.join("www").join("dist")).arg(&policy).arg(&vcc);
    let out = root.join("target").join("bench").join("banner-timing.json");
    while_serving(&mut server, &addr, || {
        println!(
            "  {BROWSER_RUNS} navigations per variant and profile, 6 variants, 2 profiles (about 12 minutes)"
        );
        let status = std::process::Command::new("node")
            .current_dir(&tests)
            .arg("bench-banner.mjs")
            .arg(format!("http://{addr}"))
            .arg(BROWSER_RUNS.to_string())
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .map_err(|e| format!("cannot run node: {e} (install Node.js 20+)"))?;
        if status.success() { Ok(()) } else { Err(run::fail("node bench-banner.mjs", status.code())) }
    })?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", out.display()))?;
    write_browser_timing(&json, md)
}

fn write_browser_timing(json: &serde_json::Value, md: &mut String) -> Result<(), String> {
    let num = |v: &serde_json::Value, variant: &str, key: &str| -> Result<f64, String> {
        v["stats"][variant][key].as_f64().ok_or_else(|| format!("banner timing: no {variant}.{key}"))
    };
    let _ = writeln!(md, "\n## consentry-banner: time to a visible banner in Chromium\n");
    let _ = writeln!(
        md,
        "Command: `cargo xtask bench` (section `browser`) → `banner_bench` example serving one 6 KB article page in six \
         ways from the same process, every file from memory with `no-store`: **server** = through `ConsentLayer` \
         with the server-rendered banner (the wasm widget hydrates it); **script** = the page of a static site with \
         the README's snippet: a preload hint for the ready policy, `<link>` + \
         `<script type=\"module\" src=\"consentry.js\" data-policy=\"policy.ready.json\">` (the page layer shows the first \
         layer once it and the policy are in; the wasm follows); **script + both hints**: the wasm preloaded too; \
         **script without hints**: no hint; **script handed the policy source**: no hints, `data-policy` names the policy \
         source, so the banner also fetches the policy builder; **vanilla** = the same page with \
         vanilla-cookieconsent 3.1.0 from npm (its CSS, UMD bundle and a `CookieConsent.run` configuration with the \
         same categories and texts, `hideFromBots: false`). Same policy (`www/policies/redis.json`), tags at the end of \
         `<head>` in all six. `tests/browser/bench-banner.mjs` drives headless Chromium {} (playwright-core): a \
         fresh context per navigation (empty cache, no cookies), variants interleaved, {} measured navigations each \
         after one warm-up round. *Banner visible* = `performance.now()` in the first animation frame in which the \
         banner element is laid out inside the viewport and `checkVisibility({{opacityProperty, visibilityProperty}})` \
         holds, i.e. the frame that paints it (this frame callback runs before that frame's paint, so for a banner \
         already in the HTML it can precede FCP); FCP and CLS from `PerformanceObserver`, CLS summed until 1 s after \
         the banner showed and `load` fired. Milliseconds from navigation start; ratios are against vanilla-cookieconsent \
         in the same run (below 1 = sooner).\n",
        json["chromium"].as_str().unwrap_or("?"),
        json["runs"].as_u64().unwrap_or(0),
    );
    let profiles = json["profiles"].as_array().ok_or("banner timing: no profiles")?;
    for p in profiles {
        let _ = writeln!(md, "**{}**\n", p["label"].as_str().unwrap_or("?"));
        let _ = writeln!(
            md,
            "| variant | banner visible, median (p10–p90) | ratio to vanilla | FCP median | FCP ratio | CLS median (max) | runs with a shift |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|");
        let mut moved = Vec::new();
        let base_visible = num(p, "vanilla", "visible_median")?;
        let base_fcp = num(p, "vanilla", "fcp_median")?;
        for (id, label) in [
            ("server", "consentry, server-rendered banner"),
            ("script", "consentry, script tag + the policy hint (README snippet)"),
            ("script-both", "consentry, script tag + wasm and policy hints"),
            ("script-plain", "consentry, script tag without hints"),
            ("script-source", "consentry, script tag handed the policy source"),
            ("vanilla", "vanilla-cookieconsent 3.1.0"),
        ] {
            let visible = num(p, id, "visible_median")?;
            let fcp = num(p, id, "fcp_median")?;
            let _ = writeln!(
                md,
                "| {label} | {visible:.0} ms ({:.0}–{:.0}) | {:.2} | {fcp:.0} ms | {:.2} | {:.4} ({:.4}) | {} |",
                num(p, id, "visible_p10")?,
                num(p, id, "visible_p90")?,
                visible / base_visible,
                fcp / base_fcp,
                num(p, id, "cls_median")?,
                num(p, id, "cls_max")?,
                num(p, id, "runs_with_shift")?,
            );
            let nodes: Vec<&str> = p["stats"][id]["shifted"]
                .as_array()
                .map(|a| a.iter().filter_map(|n| n.as_str()).collect())
                .unwrap_or_default();
            if !nodes.is_empty() {
                moved.push(format!("{label}: {}", nodes.join(", ")));
            }
        }
        if !moved.is_empty() {
            let _ = writeln!(md, "\nElements that moved (layout-shift sources): {}.", moved.join("; "));
        }
        let _ = writeln!(md);
    }
    Ok(())
}

/// What one wrk run against the consent endpoint saw.
struct ConsentLoad {
    load: Load,
    acked: u64,
    refused: u64,
    errors: u64,
}

fn wrk_consent(root: &Path, url: &str, seconds: u32) -> Result<ConsentLoad, String> {
    let script = root.join("xtask").join("bench").join("consent.lua");
    let out = std::process::Command::new("taskset")
        .args(["-c", "1", "wrk", "-t1", "-c32", &format!("-d{seconds}s"), "--latency", "-s"])
        .arg(&script)
        .arg(url)
        .output()
        .map_err(|e| format!("cannot run wrk ({e}); install it with `apt-get install wrk`"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let load = parse_wrk(&text).ok_or_else(|| format!("could not read wrk output:\n{text}"))?;
    let field = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with("CONSENTRY "))
            .and_then(|l| {
                l.split_whitespace().find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
            })
            .unwrap_or(0)
    };
    let socket_errors: u64 = text
        .lines()
        .find(|l| l.trim_start().starts_with("Socket errors:"))
        .map(|l| l.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<u64>().ok()).sum())
        .unwrap_or(0);
    Ok(ConsentLoad {
        load,
        acked: field("acked"),
        refused: field("refused"),
        errors: field("non200") + socket_errors,
    })
}

/// wrk POSTing consents for 30 s against the release demo, with SQLite and
/// with PostgreSQL; receipts stored must equal receipts acknowledged.
fn receipts_load(root: &Path, md: &mut String) -> Result<(), String> {
    run::cargo(
        root,
        &["build", "--release", "--quiet", "--package", "consentry-demo", "--package", "consentry-cli"],
        &[],
    )?;
    let release = root.join("target").join("release");
    let work = root.join("target").join("bench").join("receipts");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for backend in ["SQLite", "PostgreSQL"] {
        println!("  receipts load: {backend}");
        let port = free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let db = work.join("receipts.db");
        let pg_dir = work.join("pg");
        let mut pg = None;
        let mut args: Vec<String> = vec![
            "--addr".into(),
            addr.clone(),
            "--assets".into(),
            root.join("www/dist").to_string_lossy().into_owned(),
        ];
        if backend == "SQLite" {
            args.extend(["--db".into(), db.to_string_lossy().into_owned()]);
        } else {
            // Pinned to the first CPU, as the demo server is.
            let server = Postgres::start(&pg_dir, &["max_connections=50"], &["taskset", "-c", "0"])?;
            args.extend(["--postgres".into(), server.config()]);
            pg = Some(server);
        }
        let mut demo = std::process::Command::new("taskset");
        demo.args(["-c", "0"]).arg(release.join("consentry-demo")).args(&args);
        let result = while_serving(&mut demo, &addr, || {
            let url = format!("http://{addr}/redis/consentry/consent");
            let warm = wrk_consent(root, &url, 2)?;
            let run = wrk_consent(root, &url, 30)?;
            std::thread::sleep(std::time::Duration::from_millis(300));
            let stored = if backend == "SQLite" {
                let out = std::process::Command::new(release.join("consentry"))
                    .args(["receipts", "export", "--db"])
                    .arg(&db)
                    .output()
                    .map_err(|e| e.to_string())?;
                String::from_utf8_lossy(&out.stdout).lines().count() as u64
            } else {
                let out = std::process::Command::new("psql")
                    .args([
                        "-h",
                        &pg_dir.to_string_lossy(),
                        "-U",
                        "postgres",
                        "-tAc",
                        "SELECT count(*) FROM consentry_receipts",
                    ])
                    .output()
                    .map_err(|e| format!("psql: {e}"))?;
                String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0)
            };
            Ok((
                ConsentLoad {
                    load: run.load,
                    acked: run.acked + warm.acked,
                    refused: run.refused + warm.refused,
                    errors: run.errors + warm.errors,
                },
                stored,
            ))
        });
        drop(pg);
        let (load, stored) = result?;
        rows.push((backend, load, stored));
    }
    let _ = writeln!(md, "\n## receipts: consent POSTs under load\n");
    let _ = writeln!(
        md,
        "Command: `cargo xtask bench` → release `consentry-demo` (pinned to core 0) storing receipts in SQLite, then in a \
         PostgreSQL 15 started for the run (Unix socket); `wrk -t1 -c32 -d30s --latency -s xtask/bench/consent.lua` (core 1) \
         POSTing `{{\"granted\": \"all\"}}` to `/redis/consentry/consent`. Acknowledged = responses saying \
         `\"receipt\":true` (warm-up included); stored = rows counted afterwards.\n"
    );
    let _ = writeln!(
        md,
        "| store | requests/s | p99 | errors | receipt not stored | acknowledged | stored | goal |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    for (backend, l, stored) in rows {
        let goal = if backend == "SQLite" {
            "0 errors, ≥ 5 000/s, stored = acknowledged"
        } else {
            "0 errors, stored = acknowledged"
        };
        let _ = writeln!(
            md,
            "| {backend} | {:.0} | {:.2} ms | {} | {} | {} | {stored} | {goal} |",
            l.load.rps, l.load.p99_ms, l.errors, l.refused, l.acked
        );
    }
    let _ = writeln!(
        md,
        "\nStored may exceed acknowledged by at most the requests in flight when wrk stops (32 connections × 2 runs): \
         the server committed them, wrk did not read the answers. Fewer stored than acknowledged would be a lost receipt."
    );
    Ok(())
}

/// `consentry serve` and a plain hyper reverse proxy (the same server, client
/// and `CompressionLayer`, no consent layer: the `plain_proxy` example) in
/// front of the same upstream (`bench_server`), interleaved wrk rounds.
fn serve_load(root: &Path, md: &mut String) -> Result<(), String> {
    let upstream_bin = release_example(root, "bench_server")?;
    run::cargo(
        root,
        &[
            "build",
            "--release",
            "--quiet",
            "--package",
            "consentry-cli",
            "--bin",
            "consentry",
            "--example",
            "plain_proxy",
        ],
        &[],
    )?;
    let release = root.join("target").join("release");
    let [up, ours, plain] = [free_port()?, free_port()?, free_port()?].map(|p| format!("127.0.0.1:{p}"));
    let db = release.join("bench-serve-receipts.db");
    let _ = std::fs::remove_file(&db);
    let mut upstream = std::process::Command::new("taskset");
    upstream.args(["-c", "0"]).arg(&upstream_bin).arg(&up);
    let policy = root.join("www").join("policies").join("redis.json");
    let rows = while_serving(&mut upstream, &up, || {
        let mut serve = std::process::Command::new("taskset");
        serve.args(["-c", "0"]).arg(release.join("consentry")).arg("serve").arg("--policy").arg(&policy);
        serve
            .args([
                "--upstream",
                &format!("http://{up}"),
                "--addr",
                &ours,
                "--consent-rate-limit",
                "0",
                "--db",
            ])
            .arg(&db);
        serve.stderr(std::process::Stdio::null());
        while_serving(&mut serve, &ours, || {
            let mut baseline = std::process::Command::new("taskset");
            baseline.args(["-c", "0"]).arg(release.join("examples").join("plain_proxy")).arg(&plain);
            baseline.arg(format!("http://{up}"));
            while_serving(&mut baseline, &plain, || {
                let mut rows = Vec::new();
                for what in ["page", "json"] {
                    let (base_url, our_url) =
                        (format!("http://{plain}/plain/{what}"), format!("http://{ours}/plain/{what}"));
                    let (base, ours) = interleaved(&format!("serve {what}"), &base_url, &our_url)?;
                    rows.push((what, base, ours));
                }
                Ok(rows)
            })
        })
    })?;
    let _ = std::fs::remove_file(&db);
    let _ = writeln!(md, "\n## consentry serve: against a plain hyper reverse proxy\n");
    let _ = writeln!(
        md,
        "Command: `cargo xtask bench` (section `serve`): `bench_server` as the upstream, in front of it either \
         `consentry serve --upstream` (release; policy `www/policies/redis.json`, rate limit off) or the `plain_proxy` \
         example (the same hyper-util server and pooled client and the same `CompressionLayer`, no consent layer). \
         Upstream and proxy share core 0, wrk (`-t1 -c32 -d8s`, a browser's `Accept-Encoding`) runs on core 1; \
         3 interleaved rounds after a warm-up, means reported.\n"
    );
    let _ = writeln!(
        md,
        "| response | plain proxy | consentry serve | throughput ratio | p99 plain | p99 serve | p99 ratio |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|");
    for (what, base, ours) in rows {
        let label = if what == "page" {
            "50 KB HTML page (GA, Matomo tags gated), compressed for the client"
        } else {
            "small JSON (passed through)"
        };
        let _ = writeln!(
            md,
            "| {label} | {:.0} req/s | {:.0} req/s | {:.3} | {:.2} ms | {:.2} ms | {:.2} |",
            base.rps,
            ours.rps,
            ours.rps / base.rps,
            base.p99_ms,
            ours.p99_ms,
            ours.p99_ms / base.p99_ms
        );
    }
    Ok(())
}

/// `consentry audit` (release) against each demo site, and as the floor a
/// bare headless Chromium doing the same six page loads (`--dump-dom`,
/// fresh profile each) in the same run.
fn audit_time(root: &Path, md: &mut String) -> Result<(), String> {
    run::cargo(
        root,
        &["build", "--release", "--quiet", "--package", "consentry-cli", "--package", "consentry-demo"],
        &[],
    )?;
    let release = root.join("target").join("release");
    let addr = format!("127.0.0.1:{}", free_port()?);
    let out = root.join("target").join("bench").join("audit");
    let db = out.join("demo-receipts.db");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let chrome = std::env::var("CONSENTRY_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let mut demo = std::process::Command::new(release.join("consentry-demo"));
    demo.current_dir(root).args(["--addr", &addr, "--db"]).arg(&db);
    demo.stderr(std::process::Stdio::null());
    let rows = while_serving(&mut demo, &addr, || {
        let mut rows = Vec::new();
        for site in ["rackslab", "redis", "mailjet", "alkaes", "kisslabs"] {
            let url = format!("http://{addr}/{site}/");
            let policy = root.join("www").join("policies").join(format!("{site}.json"));
            let started = std::time::Instant::now();
            let result = std::process::Command::new(release.join("consentry"))
                .current_dir(root)
                .args(["audit", &url, "--chrome", &chrome, "--out"])
                .arg(out.join(site))
                .arg("--policy")
                .arg(&policy)
                .stderr(std::process::Stdio::null())
                .output()
                .map_err(|e| format!("consentry audit: {e}"))?;
            let audit = started.elapsed().as_secs_f64();
            let summary = String::from_utf8_lossy(&result.stdout)
                .lines()
                .last()
                .and_then(|l| l.split_once(": ").map(|(_, r)| r.split(" (").next().unwrap_or(r).to_owned()))
                .unwrap_or_default();
            let started = std::time::Instant::now();
            for i in 0..6 {
                let profile = out.join(format!("bare-profile-{site}-{i}"));
                let _ = std::fs::remove_dir_all(&profile);
                std::process::Command::new(&chrome)
                    .args([
                        "--headless",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-quic",
                        "--no-first-run",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--disable-sync",
                        "--dump-dom",
                    ])
                    .arg(format!("--user-data-dir={}", profile.display()))
                    .arg(&url)
                    .output()
                    .map_err(|e| format!("{chrome}: {e}"))?;
                let _ = std::fs::remove_dir_all(&profile);
            }
            let bare = started.elapsed().as_secs_f64();
            rows.push((site, audit, bare, summary));
        }
        Ok(rows)
    })?;
    let _ = writeln!(md, "\n## consentry audit: time per site\n");
    let _ = writeln!(
        md,
        "Command: `cargo xtask bench` (section `audit`): the release `consentry audit URL --policy www/policies/<site>.json` \
         against the release demo on loopback, all six phases (each a fresh Chromium: launch, load, wait until no request \
         starts for 500 ms, the choice, cookies, storage, a screenshot). Baseline in the same run: a bare headless \
         Chromium loading the same page six times (`--dump-dom`, a fresh profile each), the floor of six browser visits.\n"
    );
    let _ = writeln!(md, "| site | audit | 6 bare Chromium loads | ratio | verdict |");
    let _ = writeln!(md, "|---|---|---|---|---|");
    for (site, audit, bare, summary) in rows {
        let _ = writeln!(md, "| {site} | {audit:.1} s | {bare:.1} s | {:.2} | {summary} |", audit / bare);
    }
    Ok(())
}

/// One part of `cargo xtask bench`: its name on the command line, the title
/// its progress line shows, whether it measures the browser bundle, and
/// the function that appends its Markdown.
pub struct Section {
    /// `cargo xtask bench <name>`.
    pub name: &'static str,
    title: &'static str,
    needs_dist: bool,
    run: fn(&Path, &mut String) -> Result<(), String>,
}

/// Every section, in the order of BENCHMARKS.md.
pub const SECTIONS: [Section; 11] = [
    Section {
        name: "core",
        title: "consentry-core: Cookie header (10 cookies) + decide, criterion",
        needs_dist: false,
        run: core_decide,
    },
    Section {
        name: "rewrite",
        title: "consentry-tower: rewrite throughput, criterion",
        needs_dist: false,
        run: rewrite_throughput,
    },
    Section {
        name: "passthrough",
        title: "consentry-tower: cost per request passed through, criterion",
        needs_dist: false,
        run: passthrough_cost,
    },
    Section {
        name: "load",
        title: "consentry-tower: wrk with and without the layer",
        needs_dist: false,
        run: middleware_load,
    },
    Section {
        name: "adapters",
        title: "consentry-tower and consentry-actix: wrk, each against its own framework",
        needs_dist: false,
        run: adapters_load,
    },
    Section {
        name: "memory",
        title: "consentry-tower: peak memory streaming 100 MB",
        needs_dist: false,
        run: stream_memory,
    },
    Section {
        name: "size",
        title: "consentry-banner: bundle size against vanilla-cookieconsent 3.1",
        needs_dist: true,
        run: bundle_size,
    },
    Section {
        name: "browser",
        title: "consentry-banner: time to banner in Chromium against vanilla-cookieconsent 3.1",
        needs_dist: true,
        run: browser_timing,
    },
    Section {
        name: "receipts",
        title: "receipts: wrk POSTing consents, SQLite and PostgreSQL",
        needs_dist: true,
        run: receipts_load,
    },
    Section {
        name: "serve",
        title: "consentry serve: wrk against a plain hyper reverse proxy",
        needs_dist: false,
        run: serve_load,
    },
    Section {
        name: "audit",
        title: "consentry audit: time per demo site against six bare Chromium loads",
        needs_dist: true,
        run: audit_time,
    },
];

/// The section names, for help and errors.
pub fn section_names() -> String {
    SECTIONS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// One section only, printed and not written to BENCHMARKS.md.
pub fn run_section(name: &str) -> Result<(), String> {
    let section = SECTIONS
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| format!("unknown bench section `{name}` ({})", section_names()))?;
    let root = crate::root();
    if section.needs_dist {
        crate::dist::dist()?;
    }
    let mut md = String::new();
    (section.run)(&root, &mut md)?;
    println!("{md}");
    Ok(())
}

/// Every section; writes BENCHMARKS.md.
pub fn run() -> Result<(), String> {
    let root = crate::root();
    let mut step = Step::new(SECTIONS.len());
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `cargo xtask bench` (do not edit by hand). Machine: {}.\n\
         Every figure sits next to a baseline measured in the same run; compare ratios, not raw times, \
         across machines.",
        machine()
    );
    let mut dist_built = false;
    for section in &SECTIONS {
        step.begin(section.title);
        if section.needs_dist && !dist_built {
            crate::dist::dist()?;
            dist_built = true;
        }
        (section.run)(&root, &mut md)?;
    }
    step.done();

    let path = root.join("BENCHMARKS.md");
    std::fs::write(&path, &md).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("\n{md}\nwritten to {}", path.display());
    Ok(())
}

fn core_decide(root: &Path, md: &mut String) -> Result<(), String> {
    let [ours, base, bare] = criterion(
        root,
        "consentry-core",
        "decide",
        "core",
        ["parse_and_decide", "baseline_cookie_crate_find", "decide_without_cookie"],
    )?;
    let _ = writeln!(md, "\n## consentry-core: per-request cost\n");
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_requests_per_second_and_p99() {
        let out = "Running 8s test @ http://127.0.0.1:1/x\n  Latency Distribution\n     50%  1.10ms\n     75%    1.50ms\n     90%    2.00ms\n     99%  850.00us\n  80000 requests in 8.00s, 1.00GB read\nRequests/sec:  10000.50\nTransfer/sec:    128.00MB\n";
        let l = parse_wrk(out).expect("parsed");
        assert!((l.rps - 10000.5).abs() < 1e-9);
        assert!((l.p99_ms - 0.85).abs() < 1e-9);
        assert_eq!(parse_latency_ms("1.5s"), Some(1500.0));
    }
}
