//! `consentry policy check|build`: validate a policy source, and write the
//! ready policy the browser banner reads (see `consentry_core::ready`).

use std::path::{Path, PathBuf};

use consentry_core::Policy;

pub const USAGE: &str = "  consentry policy check POLICY.json
      validate a policy; errors name the JSON path (exit 1 on error)
  consentry policy build POLICY.json [--out PATH] [--lang fr,en | --lang all]
      write the ready policy the banner reads (validated, texts resolved, markup
      rendered) to PATH (a .json file, or a directory: DIR/<name>.ready.json;
      default: beside POLICY.json). --lang: the languages to include (default:
      those the policy writes texts for, else its default language)
      e.g. consentry policy build www/policy.json --out dist/ --lang fr,en";

/// A failure of the command: usage (exit 2) or a policy/file problem (exit 1).
pub enum Failure {
    Usage(String),
    Invalid(String),
    /// Exit with this status, everything already said (e.g. an audit that found errors).
    Quiet(u8),
}

fn read(path: &str) -> Result<Policy, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::Invalid(format!("{path}: cannot read: {e}")))?;
    Policy::from_json(&text).map_err(|e| Failure::Invalid(format!("{path}: {e}")))
}

/// Where `build` writes for `--out` (or its absence).
fn output_path(source: &str, out: Option<&str>) -> PathBuf {
    let src = Path::new(source);
    let stem = src.file_stem().and_then(|s| s.to_str()).unwrap_or("policy");
    let name = format!("{stem}.ready.json");
    match out {
        Some(o) if o.ends_with(".json") => PathBuf::from(o),
        Some(dir) => Path::new(dir).join(name),
        None => src.with_file_name(name),
    }
}

pub fn run(args: &[String]) -> Result<(), Failure> {
    let usage = || Failure::Usage(format!("usage:\n{USAGE}"));
    let Some(cmd) = args.first() else { return Err(usage()) };
    let mut source = None;
    let mut out = None;
    let mut langs: Option<String> = None;
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next().cloned().ok_or_else(|| Failure::Usage(format!("{a} needs a value\n\nusage:\n{USAGE}")))
        };
        match a.as_str() {
            "--out" if cmd == "build" => out = Some(value()?),
            "--lang" if cmd == "build" => langs = Some(value()?),
            "--help" | "-h" => return Err(usage()),
            flag if flag.starts_with('-') => {
                return Err(Failure::Usage(format!("unknown option `{flag}`\n\nusage:\n{USAGE}")));
            }
            path if source.is_none() => source = Some(path.to_owned()),
            extra => return Err(Failure::Usage(format!("unexpected argument `{extra}`\n\nusage:\n{USAGE}"))),
        }
    }
    let source = source.ok_or_else(|| Failure::Usage(format!("which policy file?\n\nusage:\n{USAGE}")))?;
    let policy = read(&source)?;
    match cmd.as_str() {
        "check" => {
            println!(
                "{source}: valid (revision {}, {} categories, {} services, default language {})",
                policy.revision(),
                policy.categories().len(),
                policy.services().len(),
                policy.language()
            );
            Ok(())
        }
        "build" => {
            let wanted = policy
                .build_languages(langs.as_deref())
                .map_err(|e| Failure::Invalid(format!("--lang: {e}")))?;
            let json = policy.to_ready_json(&wanted);
            let path = output_path(&source, out.as_deref());
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Failure::Invalid(format!("{}: cannot create: {e}", dir.display())))?;
            }
            std::fs::write(&path, &json)
                .map_err(|e| Failure::Invalid(format!("{}: cannot write: {e}", path.display())))?;
            println!("{}: ready policy, {} bytes", path.display(), json.len());
            Ok(())
        }
        other => Err(Failure::Usage(format!("unknown command `policy {other}`\n\nusage:\n{USAGE}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_file_goes_beside_the_source_or_where_out_says() {
        assert_eq!(output_path("www/policy.json", None), PathBuf::from("www/policy.ready.json"));
        assert_eq!(output_path("www/policy.json", Some("dist")), PathBuf::from("dist/policy.ready.json"));
        assert_eq!(output_path("p.json", Some("out/site.json")), PathBuf::from("out/site.json"));
    }
}
