//! `consentry`: check and build policies, and work with the consent receipts
//! a site has stored.
//!
//! ```text
//! consentry policy check POLICY.json                                  validate (exit 1 on error)
//! consentry policy build POLICY.json [--out PATH] [--lang fr,en|all]  the ready policy for the banner
//! consentry receipts export --db PATH [--since DATE] [--until DATE]   JSON Lines on stdout
//! consentry receipts prune  --db PATH --older-than DAYS               retention
//! consentry serve --policy POLICY.json --upstream URL | --dir DIR      enforce it in front of any site
//! consentry audit URL [--policy POLICY.json]                           prove the site asks before it tracks
//! ```
//! DATE is `YYYY-MM-DD` (UTC midnight) or Unix seconds; `--until` is exclusive.

mod audit;
mod policy;
mod serve;

use std::process::ExitCode;

use consentry_tower::receipts::SqliteStore;

const USAGE: &str = "\
usage:
  consentry policy check|build ...   (consentry policy --help)
  consentry receipts export --db PATH [--since DATE] [--until DATE]
      every receipt made in [since, until) as JSON Lines on stdout
  consentry receipts prune --db PATH --older-than DAYS
      delete receipts older than DAYS (your retention period)
  consentry serve --policy POLICY.json --upstream URL | --dir DIR [...]   (consentry serve --help)
      enforce the policy in front of any website: a reverse proxy or a static file server
  consentry audit URL [--policy POLICY.json] [...]   (consentry audit --help)
      check in headless Chromium that the site asks before it tracks; JSON and HTML reports

DATE is YYYY-MM-DD (UTC) or Unix seconds; --until is exclusive.";

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` or Unix seconds.
fn parse_date(s: &str) -> Result<u64, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| format!("`{s}` is too large"));
    }
    let parts: Vec<&str> = s.split('-').collect();
    let bad = || format!("`{s}` is not a date (YYYY-MM-DD) nor Unix seconds");
    let [y, m, d] = parts.as_slice() else { return Err(bad()) };
    let (y, m, d): (i64, i64, i64) =
        (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    u64::try_from(days_from_civil(y, m, d) * 86_400).map_err(|_| bad())
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn run(args: &[String]) -> Result<(), String> {
    let (Some("receipts"), Some(cmd)) = (args.first().map(String::as_str), args.get(1).map(String::as_str))
    else {
        return Err(USAGE.to_owned());
    };
    let mut db = None;
    let mut since = 0u64;
    let mut until = u64::MAX;
    let mut older_than = None;
    let mut it = args[2..].iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"));
        match flag.as_str() {
            "--db" => db = Some(value()?),
            "--since" => since = parse_date(&value()?)?,
            "--until" => until = parse_date(&value()?)?,
            "--older-than" => {
                let v = value()?;
                older_than = Some(
                    v.parse::<u64>().map_err(|_| format!("--older-than: `{v}` is not a number of days"))?,
                );
            }
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    let db = db.ok_or_else(|| format!("--db PATH is required\n\n{USAGE}"))?;
    if !std::path::Path::new(&db).is_file() {
        return Err(format!("no receipts database at {db}"));
    }
    match cmd {
        "export" => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let n = SqliteStore::export_jsonl(&db, since, until, &mut out).map_err(|e| e.to_string())?;
            eprintln!("consentry: exported {n} receipts");
            Ok(())
        }
        "prune" => {
            let days = older_than.ok_or_else(|| format!("--older-than DAYS is required\n\n{USAGE}"))?;
            let n = SqliteStore::delete_before(&db, now().saturating_sub(days * 86_400))
                .map_err(|e| e.to_string())?;
            eprintln!("consentry: deleted {n} receipts older than {days} days");
            Ok(())
        }
        other => Err(format!("unknown command `receipts {other}`\n\n{USAGE}")),
    }
}

/// The help a `--help`/`-h` anywhere on the command line asks for, if any:
/// printed on stdout with exit status 0, like every mature command line tool.
fn help(args: &[String]) -> Option<String> {
    if !args.iter().any(|a| a == "--help" || a == "-h") {
        return None;
    }
    Some(match args.first().map(String::as_str) {
        Some("policy") => format!("usage:\n{}", policy::USAGE),
        Some("serve") => serve::USAGE.to_owned(),
        Some("audit") => audit::USAGE.to_owned(),
        _ => USAGE.to_owned(),
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(text) = help(&args) {
        println!("{text}");
        return ExitCode::SUCCESS;
    }
    let result = if args.first().map(String::as_str) == Some("policy") {
        policy::run(&args[1..])
    } else if args.first().map(String::as_str) == Some("serve") {
        serve::run(&args[1..])
    } else if args.first().map(String::as_str) == Some("audit") {
        audit::run(&args[1..])
    } else {
        run(&args).map_err(policy::Failure::Usage)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(policy::Failure::Invalid(e)) => {
            eprintln!("consentry: {e}");
            ExitCode::from(1)
        }
        Err(policy::Failure::Usage(e)) => {
            eprintln!("consentry: {e}");
            ExitCode::from(2)
        }
        Err(policy::Failure::Quiet(code)) => ExitCode::from(code),
    }
}

/// A command line written as one string, split at white space (for tests).
#[cfg(test)]
pub(crate) fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_asked_for_anywhere_and_names_the_subcommand() {
        let args = words;
        assert_eq!(help(&args("serve --policy p.json")), None);
        assert!(help(&args("serve --help")).is_some_and(|h| h.contains("--upstream URL")));
        assert!(help(&args("policy build -h")).is_some_and(|h| h.contains("policy build POLICY.json")));
        assert!(help(&args("receipts export --help")).is_some_and(|h| h.contains("receipts prune")));
        assert!(help(&args("--help")).is_some_and(|h| h.contains("consentry serve")));
    }

    #[test]
    fn dates_parse_as_utc_midnight_or_unix_seconds() {
        assert_eq!(parse_date("1970-01-01"), Ok(0));
        assert_eq!(parse_date("2026-11-23"), Ok(1_795_392_000));
        assert_eq!(parse_date("1795392000"), Ok(1_795_392_000));
        for bad in ["2026-13-01", "26-11-23", "yesterday", "2026-11", ""] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_arguments_get_the_usage() {
        assert!(run(&[]).is_err_and(|e| e.contains("usage")));
        let args: Vec<String> = ["receipts", "export"].iter().map(|s| s.to_string()).collect();
        assert!(run(&args).is_err_and(|e| e.contains("--db PATH is required")));
    }
}
