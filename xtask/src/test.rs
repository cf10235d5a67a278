//! `cargo xtask test`: the whole suite, in the order a failure is cheapest
//! to find — formatting, lints, docs, the wasm build, Rust tests, then the
//! browser tests — with one closing count across every runner.

use std::path::Path;
use std::process::Command;

use crate::run::{self, Step};
use crate::{bootstrap, dist, root, size, tidy};

pub fn test() -> Result<(), String> {
    let tools = bootstrap::all()?;
    bootstrap::postgres()?;
    let root = root();
    let mut step = Step::new(8);

    step.begin("formatting and tidiness (cargo fmt --check, cargo xtask tidy)");
    run::cargo(&root, &["fmt", "--all", "--", "--check"], &[])
        .map_err(|e| format!("{e}\n  fix: run `cargo fmt --all`"))?;
    tidy::tidy(&root)?;

    step.begin("lints (cargo clippy --all-targets -D warnings)");
    run::cargo(&root, &["clippy", "--workspace", "--all-targets", "--quiet", "--", "-D", "warnings"], &[])?;

    step.begin("documentation (cargo doc, warnings are errors)");
    run::cargo(&root, &["doc", "--workspace", "--no-deps", "--quiet"], &[("RUSTDOCFLAGS", "-D warnings")])?;

    step.begin("consentry-core builds for wasm32-unknown-unknown, with std and without (no_std + alloc)");
    for features in [&[][..], &["--no-default-features"][..]] {
        run::cargo(
            &root,
            &[&["build", "--quiet", "--package", "consentry-core", "--target", "wasm32-unknown-unknown"][..], features]
                .concat(),
            &[],
        )?;
    }

    step.begin("unit, integration and property tests");
    let mut counts = run::TestCounts::default();
    if tools.nextest {
        counts += run::cargo_tests(
            &root,
            &["nextest", "run", "--workspace", "--no-fail-fast", "--status-level", "fail"],
        )?;
    } else {
        counts += run::cargo_tests(
            &root,
            &["test", "--workspace", "--no-fail-fast", "--lib", "--bins", "--tests"],
        )?;
    }

    step.begin("documentation examples (doc tests)");
    counts += run::cargo_tests(&root, &["test", "--workspace", "--doc", "--quiet"])?;

    step.begin("browser tests (headless Chromium): banner unit tests, bundle, static site, Vite, demo");
    bootstrap::chromium()?;
    let runner = tools.wasm_bindgen.with_file_name("wasm-bindgen-test-runner");
    counts += run::counted(
        &root,
        &std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()),
        &["test", "--package", "consentry-banner", "--features", "std", "--target", "wasm32-unknown-unknown"],
        &[
            ("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", &runner.to_string_lossy()),
            ("CHROMEDRIVER", "/usr/bin/chromedriver"),
        ],
    )?;
    let dist = dist::dist_with(&tools)?;
    println!("  bundle size (gzip -9) against the budget in {}", size::BUDGET_FILE);
    size::check_budget(&root, &dist)?;
    // The demo, the CLI and the `embed_cases` example, built with the
    // features the tests were built with (the whole workspace, every
    // target): a build of those packages alone would unify features
    // differently and compile a third of the tree again.
    run::cargo(&root, &["build", "--quiet", "--workspace", "--all-targets"], &[])?;
    let browser = root.join("tests").join("browser");
    bootstrap::npm_ci(&browser)?;
    let demo = root.join("target").join("debug").join("consentry-demo");
    let cli = root.join("target").join("debug").join("consentry");
    let embeds = root.join("target").join("debug").join("examples").join("embed_cases");
    counts += run::counted(
        &browser,
        "node",
        &["--test", "--test-concurrency=1", "--test-reporter=tap"],
        &[
            ("CONSENTRY_DEMO_BIN", &demo.to_string_lossy()),
            ("CONSENTRY_CLI_BIN", &cli.to_string_lossy()),
            ("CONSENTRY_EMBEDS_BIN", &embeds.to_string_lossy()),
        ],
    )?;

    step.begin("packages: cargo publish --workspace --dry-run, npm publish --dry-run");
    packages(&root)?;

    step.done();
    // Plain closing line: the real number of tests run across all runners.
    println!("{} passed, {} failed", counts.passed, counts.failed);
    if counts.failed > 0 { Err(format!("{} test(s) failed", counts.failed)) } else { Ok(()) }
}

/// The crates and the npm package as they would be published: Cargo
/// packages core, engine, tower, actix and cli and builds each from its package alone
/// (so a file left out of an `include` list, or a path outside the crate,
/// fails here); npm must have nothing to correct or warn about. (What the
/// npm tarball holds is checked by `tests/browser/package.test.mjs`.)
pub fn packages(root: &Path) -> Result<(), String> {
    forget_packaged_sources();
    // --allow-dirty: the suite also runs before a commit.
    // The verifying builds are of the packages alone, so the workspace's
    // profile does not reach them: no debug info, as in the workspace's
    // debug builds of dependencies (a build check, nothing is debugged).
    run::cargo(
        root,
        &["publish", "--workspace", "--dry-run", "--allow-dirty", "--quiet"],
        &[("CARGO_PROFILE_DEV_DEBUG", "false")],
    )?;
    println!(
        "  crates: consentry-core, consentry-engine, consentry-tower, consentry-actix, consentry-cli package and build on their own"
    );

    let out = Command::new("npm")
        .args(["publish", "--dry-run"])
        .current_dir(root.join("www"))
        .output()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("npm publish --dry-run failed:\n{stderr}"));
    }
    // Without an npm login, npm says so even in a dry run; anything else it
    // warns about (a field it had to correct, say) is a defect.
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("npm warn") && !l.contains("requires you to be logged in"))
        .collect();
    if !warnings.is_empty() {
        return Err(format!("npm publish --dry-run warns:\n{}", warnings.join("\n")));
    }
    println!("  npm: `npm publish --dry-run` of www/ is clean");
    Ok(())
}

/// Cargo unpacks the crates a dry run packaged into its registry's source
/// folder, under a name derived from the temporary registry's path, and
/// keeps them: a later dry run from the same clone, at the same version,
/// finds the old unpacked copy and builds against it (a change to
/// consentry-core would then fail, or pass, against yesterday's core). Our
/// crates' copies in those local-registry folders (named `-<hash>`) go first.
fn forget_packaged_sources() {
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    let Some(src) = home.map(|h| h.join("registry").join("src")) else { return };
    let Ok(registries) = std::fs::read_dir(&src) else { return };
    for registry in registries.flatten() {
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue; // crates.io's and other real registries' sources
        }
        let Ok(crates) = std::fs::read_dir(registry.path()) else { continue };
        for krate in crates.flatten() {
            if krate.file_name().to_string_lossy().starts_with("consentry-") {
                let _ = std::fs::remove_dir_all(krate.path());
            }
        }
    }
}
