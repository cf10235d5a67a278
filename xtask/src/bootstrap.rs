//! Installs what the other commands need, and is a fast no-op when all is there.
//!
//! Each missing prerequisite that cannot be installed here gets one line saying
//! how to fix it.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// wasm-bindgen-cli must match the `wasm-bindgen` crate in Cargo.lock exactly.
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";
/// Crates compiled by `cargo install wasm-bindgen-cli` (measured), for progress.
const WASM_BINDGEN_CRATES: usize = 161;

/// What the machine has, after bootstrapping.
#[derive(Debug)]
pub struct Tools {
    /// cargo-nextest is available (the tests run faster with it).
    pub nextest: bool,
    /// The pinned `wasm-bindgen` binary.
    pub wasm_bindgen: PathBuf,
}

/// The tool cache, outside the clone.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CONSENTRY_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("consentry");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("consentry"),
        None => crate::root().join("target").join("tool-cache"),
    }
}

/// Everything `demo` and `test` need.
pub fn all() -> Result<Tools, String> {
    let started = Instant::now();
    println!("bootstrap: checking prerequisites (tool cache: {})", cache_dir().display());
    wasm_target()?;
    let wasm_bindgen = wasm_bindgen_cli()?;
    let nextest = output_ok("cargo", &["nextest", "--version"]);
    if !nextest {
        println!(
            "  cargo-nextest: not found, using `cargo test` (optional: cargo install --locked cargo-nextest)"
        );
    }
    println!("bootstrap: ready ({:.1}s)", started.elapsed().as_secs_f64());
    Ok(Tools { nextest, wasm_bindgen })
}

fn output_ok(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn stdout_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn wasm_target() -> Result<(), String> {
    const TARGET: &str = "wasm32-unknown-unknown";
    let sysroot = stdout_of("rustc", &["--print", "sysroot"]).unwrap_or_default();
    let installed = Path::new(sysroot.trim()).join("lib").join("rustlib").join(TARGET).is_dir();
    if installed {
        println!("  {TARGET} target: present");
        return Ok(());
    }
    println!("  {TARGET} target: missing, installing with rustup (about 30 s)");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .map_err(|_| format!("rustup not found; install the {TARGET} target for your Rust toolchain"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`rustup target add {TARGET}` failed; run it by hand and retry"))
    }
}

fn wasm_bindgen_cli() -> Result<PathBuf, String> {
    let root = cache_dir().join("tools");
    let bin = root.join("bin").join("wasm-bindgen");
    let wanted = format!("wasm-bindgen {WASM_BINDGEN_VERSION}");
    let have = stdout_of(&bin.to_string_lossy(), &["--version"]).map(|v| v.trim().to_owned());
    if have.as_deref() == Some(wanted.as_str()) {
        println!("  wasm-bindgen-cli {WASM_BINDGEN_VERSION}: present");
        return Ok(bin);
    }
    println!(
        "  wasm-bindgen-cli {WASM_BINDGEN_VERSION}: {}, installing into {} (once per machine; about 4 minutes on 2 cores)",
        if have.is_some() { "other version" } else { "missing" },
        root.display()
    );
    let root_s = root.to_string_lossy().into_owned();
    let base = ["install", "wasm-bindgen-cli", "--version", WASM_BINDGEN_VERSION, "--root", root_s.as_str()];
    let mut locked = base.to_vec();
    locked.push("--locked");
    if cargo_install_with_progress(&locked, WASM_BINDGEN_CRATES)? {
        return Ok(bin);
    }
    // The crate's lock file pins a transitive version that the registry may
    // lack; the unlocked resolution builds the same wasm-bindgen version.
    println!("  the locked install could not resolve; retrying without --locked");
    if cargo_install_with_progress(&base, WASM_BINDGEN_CRATES)? {
        Ok(bin)
    } else {
        Err(format!(
            "could not install wasm-bindgen-cli; run `cargo install wasm-bindgen-cli --version {WASM_BINDGEN_VERSION} --root {root_s}` to see why"
        ))
    }
}

/// Runs `cargo install`, printing one progress line per compiled crate.
fn cargo_install_with_progress(args: &[&str], expected_crates: usize) -> Result<bool, String> {
    let started = Instant::now();
    let mut child = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut compiled = 0usize;
    let mut last_error = Vec::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let t = line.trim_start();
            if let Some(krate) = t.strip_prefix("Compiling ") {
                compiled += 1;
                let secs = started.elapsed().as_secs();
                println!(
                    "    [{compiled:>3}/~{expected_crates} crates, {}m{:02}s] {krate}",
                    secs / 60,
                    secs % 60
                );
                let _ = std::io::stdout().flush();
            } else if t.starts_with("error") || !last_error.is_empty() {
                last_error.push(line);
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        for l in last_error.iter().take(6) {
            println!("    {l}");
        }
    }
    Ok(status.success())
}

/// twiggy (wasm size profiler) for `cargo xtask bench`, pinned, installed
/// into the tool cache once.
pub fn twiggy() -> Result<PathBuf, String> {
    const VERSION: &str = "0.8.0";
    let root = cache_dir().join("tools");
    let bin = root.join("bin").join("twiggy");
    if stdout_of(&bin.to_string_lossy(), &["--version"]).is_some_and(|v| v.contains(VERSION)) {
        return Ok(bin);
    }
    println!(
        "  twiggy {VERSION}: missing, installing into {} (once per machine; about 2 minutes)",
        root.display()
    );
    let root_s = root.to_string_lossy().into_owned();
    if cargo_install_with_progress(
        &["install", "twiggy", "--version", VERSION, "--locked", "--root", &root_s],
        66,
    )? {
        Ok(bin)
    } else {
        Err(format!(
            "could not install twiggy; run `cargo install twiggy --version {VERSION} --locked --root {root_s}`"
        ))
    }
}

/// Headless Chromium for the browser tests: `/usr/bin/chromium`, installed
/// with apt-get when missing and running as root.
pub fn chromium() -> Result<PathBuf, String> {
    let driver = Path::new("/usr/bin/chromedriver").is_file();
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).is_file() && driver {
            println!("  chromium and chromedriver: present");
            return Ok(PathBuf::from(candidate));
        }
    }
    let root = stdout_of("id", &["-u"]).is_some_and(|u| u.trim() == "0");
    if !root {
        return Err(
            "chromium is missing; install it with `sudo apt-get install chromium chromium-driver`".into()
        );
    }
    println!("  chromium: missing, installing chromium and chromium-driver with apt-get (a few minutes)");
    crate::run::program(Path::new("/"), "apt-get", &["update", "-q"])?;
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if status.success()
        && Path::new("/usr/bin/chromium").is_file()
        && Path::new("/usr/bin/chromedriver").is_file()
    {
        Ok(PathBuf::from("/usr/bin/chromium"))
    } else {
        Err("apt-get could not install chromium; run `apt-get install chromium chromium-driver`".into())
    }
}

/// `npm ci` in `dir` when its `node_modules` is missing or older than its
/// lock file; a no-op otherwise.
pub fn npm_ci(dir: &Path) -> Result<(), String> {
    let lock = dir.join("package-lock.json");
    let marker = dir.join("node_modules").join(".package-lock.json");
    let fresh = match (
        std::fs::metadata(&lock).and_then(|m| m.modified()),
        std::fs::metadata(&marker).and_then(|m| m.modified()),
    ) {
        (Ok(l), Ok(m)) => m >= l,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    if Command::new("npm").arg("--version").output().is_err() {
        return Err("npm not found; install Node.js 20+ with npm (e.g. `apt-get install nodejs npm`)".into());
    }
    println!("  npm ci in {} (installs the pinned JavaScript tools once)", dir.display());
    crate::run::program(dir, "npm", &["ci", "--no-audit", "--no-fund", "--loglevel=error"])
}

/// PostgreSQL's server binaries (for the PostgreSQL receipt-store tests),
/// from Debian's `postgresql` package, installed when missing and root.
/// Without them those tests say they were skipped and why.
pub fn postgres() -> Result<(), String> {
    let present = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(Result::ok).any(|v| v.path().join("bin").join("initdb").is_file()))
        .unwrap_or(false);
    if present {
        println!("  postgresql server: present");
        return Ok(());
    }
    let root = stdout_of("id", &["-u"]).is_some_and(|u| u.trim() == "0");
    if !root {
        println!(
            "  postgresql server: missing; its receipt-store tests will be skipped (fix: sudo apt-get install postgresql)"
        );
        return Ok(());
    }
    println!("  postgresql server: missing, installing Debian's postgresql with apt-get (a minute or two)");
    crate::run::program(Path::new("/"), "apt-get", &["update", "-q"])?;
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends", "postgresql"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("apt-get could not install postgresql; run `apt-get install postgresql`".into())
    }
}
