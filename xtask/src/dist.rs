//! `cargo xtask dist`: the browser bundle in `www/dist/`.

use std::path::{Path, PathBuf};

use crate::run::{self, Step};
use crate::{bootstrap, root};

/// Builds the browser bundle into `www/dist/`: the wasm banner (release
/// profile for size, pinned wasm-bindgen, `wasm-opt -Oz`), its loader,
/// types and stylesheet.
pub fn dist() -> Result<PathBuf, String> {
    dist_with(&bootstrap::all()?)
}

/// `dist` for callers that have already bootstrapped.
pub fn dist_with(tools: &bootstrap::Tools) -> Result<PathBuf, String> {
    let root = root();
    let www = root.join("www");
    bootstrap::npm_ci(&www)?;
    let out = www.join("dist");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut step = Step::new(3);
    step.begin("dist: compiling the banner and the policy builder to wasm (profile wasm-release)");
    // One build each: built together, Cargo would unify consentry-core's
    // features and hand the banner the policy builder's std.
    let rustflags = reproducible_wasm_rustflags();
    for krate in ["consentry-banner", "consentry-policy"] {
        run::cargo(
            &root,
            &["build", "--package", krate, "--target", "wasm32-unknown-unknown", "--profile", "wasm-release"],
            &[("CARGO_ENCODED_RUSTFLAGS", &rustflags)],
        )?;
    }
    step.begin("dist: wasm-bindgen (JS glue) and wasm-opt -Oz");
    let bindgen_out = root.join("target/wasm-bindgen");
    // (crate's wasm file, output name, wasm-bindgen target): the banner every
    // visitor downloads, and the policy builder fetched only for policy
    // sources (and used by Node). The banner's glue is the `bundler` target's
    // `consentry_wasm_bg.js`: its exports and string helpers without a
    // loader (a bundler, here the page layer's `loadRuntime`, instantiates
    // the wasm with that module as its imports): -372 B gzip against the
    // `web` target's loader, whose fallbacks and warnings the page never needs.
    for (krate, name, target) in
        [("consentry_banner", "consentry_wasm", "bundler"), ("consentry_policy", "consentry_policy", "web")]
    {
        let wasm = root.join("target/wasm32-unknown-unknown/wasm-release").join(format!("{krate}.wasm"));
        run::program(
            &root,
            &tools.wasm_bindgen.to_string_lossy(),
            &[
                &wasm.to_string_lossy(),
                "--target",
                target,
                "--out-dir",
                &bindgen_out.to_string_lossy(),
                "--out-name",
                name,
                "--no-typescript",
                // TextEncoder.encodeInto is in every browser the page layer
                // runs in (its syntax needs Safari 14 anyway), so no fallback
                // encoder; and no default wasm URL (the page layer names it):
                // -45 B gzip of glue.
                "--encode-into",
                "always",
                "--omit-default-module-path",
            ],
        )?;
        let optimised = out.join(format!("{name}_bg.wasm"));
        wasm_opt(&www, &bindgen_out.join(format!("{name}_bg.wasm")), &optimised)?;
        if name == "consentry_wasm" {
            blank_panic_text(&www, &optimised)?;
        }
    }
    step.begin("dist: page layer + glue as one minified module, stylesheet, types (esbuild)");
    // One file for the page layer and the rules module's glue: one request
    // fewer before the banner, and no comment or long name on the wire.
    let stage = root.join("target/bundle");
    std::fs::create_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    for (from, name) in [
        (www.join("src/consentry.js"), "consentry.js"),
        (bindgen_out.join("consentry_wasm_bg.js"), "consentry_wasm_bg.js"),
    ] {
        std::fs::copy(&from, stage.join(name)).map_err(|e| format!("{}: {e}", from.display()))?;
    }
    esbuild(
        &www,
        &[
            &stage.join("consentry.js").to_string_lossy(),
            "--bundle",
            "--format=esm",
            "--minify",
            "--target=es2020",
            "--legal-comments=none",
            // Fetched only for policy sources, beside consentry.js.
            "--external:./consentry_policy.js",
            &format!("--outfile={}", out.join("consentry.js").display()),
        ],
    )?;
    for (from, name) in [
        (bindgen_out.join("consentry_policy.js"), "consentry_policy.js"),
        (root.join("crates/consentry-engine/assets/consentry.css"), "consentry.css"),
    ] {
        esbuild(
            &www,
            &[
                &from.to_string_lossy(),
                "--minify",
                "--legal-comments=none",
                &format!("--outfile={}", out.join(name).display()),
            ],
        )?;
    }
    // The npm package's licence files (npm packs the package directory only).
    for licence in ["LICENSE-MIT", "LICENSE-APACHE"] {
        std::fs::copy(root.join(licence), www.join(licence)).map_err(|e| format!("{licence}: {e}"))?;
    }
    let types = www.join("src/consentry.d.ts");
    std::fs::copy(&types, out.join("consentry.d.ts")).map_err(|e| format!("{}: {e}", types.display()))?;
    // The glue now lives inside consentry.js; an old copy would only mislead.
    let _ = std::fs::remove_file(out.join("consentry_wasm.js"));
    step.done();
    for name in BUNDLE.iter().chain(&["consentry_policy.js", "consentry_policy_bg.wasm"]) {
        let len = std::fs::metadata(out.join(name)).map(|m| m.len()).unwrap_or(0);
        println!("  www/dist/{name}: {len} bytes");
    }
    Ok(out)
}

/// Flags that make the wasm the same bytes on every machine. The panic
/// locations compiled into it name source files: the standard library's
/// as `/rustc/<commit>/library/…`, unless the `rust-src` component is
/// installed (rust-analyzer users have it), when rustc names the real files
/// under the toolchain's directory instead, +172 bytes here, enough to
/// cross the size budget on one machine and not another. Dependencies'
/// files are under `$CARGO_HOME`, whose path differs between machines.
fn reproducible_wasm_rustflags() -> String {
    let output = |args: &[&str]| {
        std::process::Command::new("rustc")
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let sysroot = output(&["--print", "sysroot"]);
    let version = output(&["-vV"]);
    let commit = version.lines().find_map(|l| l.strip_prefix("commit-hash: ")).unwrap_or("unknown");
    let mut flags = Vec::new();
    if !sysroot.is_empty() {
        flags.push(format!("--remap-path-prefix={sysroot}/lib/rustlib/src/rust=/rustc/{commit}"));
    }
    let cargo_home = std::env::var("CARGO_HOME")
        .ok()
        .or_else(|| std::env::var("HOME").ok().map(|h| format!("{h}/.cargo")));
    if let Some(home) = cargo_home {
        flags.push(format!("--remap-path-prefix={home}/registry/src=/cargo/registry/src"));
    }
    // Cargo's encoding: one flag per field, so paths may hold spaces. With
    // `--target`, these reach the wasm crates and not build scripts.
    flags.join("\u{1f}")
}

/// esbuild (npm package `esbuild`, pinned in www/package.json), quiet unless it fails.
fn esbuild(www: &Path, args: &[&str]) -> Result<(), String> {
    let bin = www.join("node_modules/.bin/esbuild");
    run::program(www, &bin.to_string_lossy(), &[args, &["--log-level=warning"]].concat())
}

/// The files a page downloads to show and run the banner (besides its
/// ready policy), in `www/dist/`.
pub const BUNDLE: [&str; 3] = ["consentry.js", "consentry_wasm_bg.wasm", "consentry.css"];

/// Blanks the banner's panic-only text (see `panic_text`) and lets
/// binaryen's memory packing drop the zeros.
fn blank_panic_text(www: &Path, wasm: &Path) -> Result<(), String> {
    let mut bytes = std::fs::read(wasm).map_err(|e| format!("{}: {e}", wasm.display()))?;
    let dis = www.join("node_modules/.bin/wasm-dis");
    let text = std::process::Command::new(&dis)
        .arg(wasm)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .ok_or_else(|| format!("{} {} failed", dis.display(), wasm.display()))?;
    let blanked = crate::panic_text::blank(&mut bytes, |first, last| {
        crate::panic_text::text_addresses(&text, first, last)
    })
    .map_err(|e| format!("{}: {e}", wasm.display()))?;
    std::fs::write(wasm, &bytes).map_err(|e| format!("{}: {e}", wasm.display()))?;
    let wasm_opt = www.join("node_modules/.bin/wasm-opt");
    let path = wasm.to_string_lossy();
    run::program(
        www,
        &wasm_opt.to_string_lossy(),
        &[&[&*path, "--memory-packing"], &FEATURES[..], &["-o", &path]].concat(),
    )?;
    println!(
        "  panic-only text blanked in the banner's wasm: {} B (digit table: {} B)",
        blanked.panic_text, blanked.digit_table
    );
    Ok(())
}

/// binaryen's optimiser for size (npm package `binaryen`; Debian's is too old).
fn wasm_opt(www: &Path, input: &Path, output: &Path) -> Result<(), String> {
    let wasm_opt = www.join("node_modules/.bin/wasm-opt");
    let input = input.to_string_lossy();
    let output = output.to_string_lossy();
    let args: Vec<&str> = [
        &[
            &*input as &str,
            // Rust's wasm32 layout leaves the first kilobyte of memory unused
            // (the stack starts at 1 MiB and grows down, statics and the heap
            // lie above it; the stack would reach that kilobyte only 1 MiB
            // deep, where it has already overflowed: the banner's calls are a
            // few frames deep, the policy builder's JSON reader stops at 128
            // levels), which lets binaryen fold constant offsets into loads
            // and stores. Then the control flow is flattened and rebuilt
            // (`--flatten --rereloop`) before two size passes: each measured
            // alone, together -261 B gzip on the banner. A function with one
            // caller is inlined only when small (at most 50 instructions):
            // inlining the larger ones made the wasm smaller but compress
            // worse; measured from 20 to 120, the plateau is 20 to 60, above
            // it the gain falls away (-286 B gzip at 50 in
            // `cargo xtask bench size`).
            "--low-memory-unused",
            "--one-caller-inline-max-function-size=50",
            "--flatten",
            "--rereloop",
            "-Oz",
            "-Oz",
        ][..],
        &FEATURES,
        &[
            // Until the size stops changing, and without the two custom
            // sections (toolchain names, feature list) no browser reads.
            "--converge",
            "--strip-producers",
            "--strip-target-features",
            "-o",
            &output,
        ],
    ]
    .concat();
    run::program(www, &wasm_opt.to_string_lossy(), &args)
}

/// The wasm features the banner is built with (Rust's wasm32 defaults).
const FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
];
