//! What a script-tag page downloads to show and run the banner, gzip -9:
//! measured by `cargo xtask bench` and held to a committed budget by
//! `cargo xtask test`.

use std::path::{Path, PathBuf};

/// The committed budget: `cargo xtask test` fails when the bundle grows past
/// it. Lower it when the bundle shrinks, so it cannot silently grow back.
pub const BUDGET_FILE: &str = "www/size-budget.json";

/// One downloaded file: its name, raw and gzip -9 sizes.
pub struct Measured {
    pub name: String,
    pub raw: u64,
    pub gzip: u64,
}

pub fn gzip9(path: &Path) -> Result<u64, String> {
    let out = std::process::Command::new("gzip")
        .args(["-9", "-c", "-n"])
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run gzip ({e}); install it with `apt-get install gzip`"))?;
    if !out.status.success() {
        return Err(format!("gzip {} failed", path.display()));
    }
    Ok(out.stdout.len() as u64)
}

/// The reference site's ready policy as a script-tag page serves it: the
/// `redis` preset (5 categories, 4 services) built for English, written to
/// `target/size/policy.ready.json`.
pub fn reference_policy(root: &Path) -> Result<PathBuf, String> {
    let source = root.join("www/policies/redis.json");
    let text = std::fs::read_to_string(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let policy =
        consentry_core::Policy::from_json(&text).map_err(|e| format!("{}: {e}", source.display()))?;
    let dir = root.join("target/size");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("policy.ready.json");
    std::fs::write(&path, policy.to_ready_json(&["en"])).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Every file of the bundle in `dist`, then the reference ready policy.
pub fn measure(root: &Path, dist: &Path) -> Result<Vec<Measured>, String> {
    let mut files: Vec<(String, PathBuf)> =
        crate::dist::BUNDLE.iter().map(|f| ((*f).to_owned(), dist.join(f))).collect();
    files.push(("policy.ready.json (redis preset, en)".to_owned(), reference_policy(root)?));
    files
        .into_iter()
        .map(|(name, p)| {
            let raw = std::fs::metadata(&p).map(|m| m.len()).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(Measured { name, raw, gzip: gzip9(&p)? })
        })
        .collect()
}

/// Fails when the bundle (gzip -9, every file plus the ready policy) is
/// larger than the committed budget.
pub fn check_budget(root: &Path, dist: &Path) -> Result<(), String> {
    let path = root.join(BUDGET_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let budget =
        json["gzip_bytes"].as_u64().ok_or_else(|| format!("{}: no `gzip_bytes` number", path.display()))?;
    let files = measure(root, dist)?;
    let total: u64 = files.iter().map(|f| f.gzip).sum();
    for f in &files {
        println!("    {:<42} {:>7} B raw {:>6} B gzip -9", f.name, f.raw, f.gzip);
    }
    println!("    total {total} B gzip -9, budget {budget} B ({BUDGET_FILE})");
    if total > budget {
        return Err(format!(
            "the banner grew past its size budget: {total} B > {budget} B gzip -9; make it smaller, or raise \
             `gzip_bytes` in {BUDGET_FILE} in a commit that says why"
        ));
    }
    Ok(())
}
