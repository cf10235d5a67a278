//! `consentry audit URL`: checks, in a real browser, that a site asks before
//! it tracks.
//!
//! Six phases, each in a fresh Chromium profile ([`browser`]): a first visit
//! with no interaction; "reject all"; "accept all"; `DNT: 1`; `Sec-GPC: 1`;
//! "accept all" then withdrawal and a reload. Every request, cookie and
//! storage key is classified ([`classify`]: the policy first, then the Open
//! Cookie Database and third-party-web), the rules ([`rules`]) are evaluated
//! over them, and the JSON and HTML reports ([`report`]) are written.

mod browser;
mod classify;
mod hosts;
mod model;
mod report;
mod rules;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use consentry_core::Policy;

use crate::policy::Failure;
use hosts::host;
use model::{Dataset, PhaseId, PolicySource, Report, Severity, Status, Summary};

/// `consentry audit --help`.
pub const USAGE: &str = "\
usage:
  consentry audit URL [options]
      visit URL in headless Chromium six times (first visit; reject all; accept all;
      DNT; GPC; accept then withdraw), record every request, cookie and storage key,
      and check them against the consent rules; exit 1 if a rule at or above
      --fail-on fails

options:
  --policy FILE      the site's policy (classifies by its services, categories and
                     cookie patterns and checks the first layer against its texts);
                     default: the policy the page embeds, if it runs Consentry
  --chrome PATH      the Chromium binary (default: chromium, chromium-browser,
                     google-chrome on PATH, or $CONSENTRY_CHROMIUM)
  --pages N          after each choice, follow up to N same-site links (default 0)
  --out DIR          where to write audit.json and audit.html (default .)
  --fail-on LEVEL    error (default), warning or notice
  --only PHASES      run only these phases (comma-separated: first-visit, reject-all,
                     accept-all, dnt, gpc, withdraw)
  --settle MS        longest wait for a page to go quiet (default 4000)
  --no-autoconsent   do not load the open rule set for other consent tools' banners
  --no-sandbox       run Chromium without its sandbox (for containers without user
                     namespaces); as root it always runs without, with a warning

example:
  consentry audit http://127.0.0.1:8080/redis/ --policy www/policies/redis.json --out audit/";

struct Options {
    url: String,
    policy: Option<PathBuf>,
    chrome: Option<PathBuf>,
    pages: usize,
    out: PathBuf,
    fail_on: Severity,
    only: Vec<PhaseId>,
    settle: Duration,
    autoconsent: bool,
    no_sandbox: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        url: String::new(),
        policy: None,
        chrome: None,
        pages: 0,
        out: PathBuf::from("."),
        fail_on: Severity::Error,
        only: PhaseId::ALL.to_vec(),
        settle: Duration::from_millis(4000),
        autoconsent: true,
        no_sandbox: false,
    };
    let mut url = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{a} needs a value\n\n{USAGE}"));
        match a.as_str() {
            "--policy" => o.policy = Some(PathBuf::from(value()?)),
            "--chrome" => o.chrome = Some(PathBuf::from(value()?)),
            "--pages" => {
                let v = value()?;
                o.pages = v.parse().map_err(|_| format!("--pages `{v}` is not a number"))?;
            }
            "--out" => o.out = PathBuf::from(value()?),
            "--fail-on" => {
                let v = value()?;
                o.fail_on = Severity::parse(&v)
                    .ok_or_else(|| format!("--fail-on `{v}`: give error, warning or notice"))?;
            }
            "--only" => {
                let v = value()?;
                o.only = v
                    .split(',')
                    .map(|p| {
                        PhaseId::ALL.into_iter().find(|id| id.as_str() == p.trim()).ok_or_else(|| {
                            format!("--only: unknown phase `{p}` (first-visit, reject-all, accept-all, dnt, gpc, withdraw)")
                        })
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--settle" => {
                let v = value()?;
                let ms: u64 =
                    v.parse().map_err(|_| format!("--settle `{v}` is not a number of milliseconds"))?;
                o.settle = Duration::from_millis(ms);
            }
            "--no-autoconsent" => o.autoconsent = false,
            "--no-sandbox" => o.no_sandbox = true,
            flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}`\n\n{USAGE}")),
            other if url.is_none() => url = Some(other.to_owned()),
            other => return Err(format!("unexpected argument `{other}`\n\n{USAGE}")),
        }
    }
    let url = url.ok_or_else(|| format!("which URL?\n\n{USAGE}"))?;
    if !(url.starts_with("http://") || url.starts_with("https://")) || host(&url).is_empty() {
        return Err(format!("`{url}` is not an http(s) URL (e.g. https://example.org/)"));
    }
    o.url = url;
    Ok(o)
}

/// The Chromium to drive: `--chrome`, `$CONSENTRY_CHROMIUM`, or the usual names on `PATH`.
fn find_chrome(given: Option<PathBuf>) -> Result<PathBuf, String> {
    let from_env = std::env::var_os("CONSENTRY_CHROMIUM").filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = given.or(from_env) {
        return if p.is_file() { Ok(p) } else { Err(format!("no browser at {}", p.display())) };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err("no Chromium found: install it (Debian/Ubuntu: apt-get install chromium) or give --chrome PATH"
        .into())
}

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Runs the command.
pub fn run(args: &[String]) -> Result<(), Failure> {
    let o = parse(args).map_err(Failure::Usage)?;
    let chrome = find_chrome(o.chrome.clone()).map_err(Failure::Invalid)?;
    let (policy, policy_source) = match &o.policy {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Invalid(format!("cannot read the policy {}: {e}", path.display())))?;
            let p =
                Policy::from_json(&text).map_err(|e| Failure::Invalid(format!("{}: {e}", path.display())))?;
            let source =
                PolicySource { source: "file", location: path.display().to_string(), revision: p.revision() };
            (Some(p), Some(source))
        }
        None => (None, None),
    };
    std::fs::create_dir_all(&o.out)
        .map_err(|e| Failure::Invalid(format!("cannot create {}: {e}", o.out.display())))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Invalid(format!("cannot start the runtime: {e}")))?;
    // Ctrl-C drops the audit, and with it each browser (chromiumoxide kills
    // the process it started): no Chromium is left behind.
    let report = runtime
        .block_on(async {
            tokio::select! {
                r = audit(&o, &chrome, policy, policy_source) => r,
                _ = tokio::signal::ctrl_c() => Err("interrupted".to_owned()),
            }
        })
        .map_err(Failure::Invalid)?;

    let json = serde_json::to_string_pretty(&report).map_err(|e| Failure::Invalid(format!("report: {e}")))?;
    let json_path = o.out.join("audit.json");
    let html_path = o.out.join("audit.html");
    std::fs::write(&json_path, json)
        .map_err(|e| Failure::Invalid(format!("{}: {e}", json_path.display())))?;
    std::fs::write(&html_path, report::html(&report))
        .map_err(|e| Failure::Invalid(format!("{}: {e}", html_path.display())))?;

    for v in report.rules.iter().filter(|v| v.status == Status::Fail) {
        eprintln!("  {:?} {}: {}", v.severity, v.rule, v.evidence.first().map_or("", String::as_str));
    }
    let s = &report.summary;
    println!(
        "consentry audit {}: {} passed, {} errors, {} warnings, {} notices, {} not applicable ({:.1} s); reports: {} and {}",
        report.url,
        s.passed,
        s.errors,
        s.warnings,
        s.notices,
        s.not_applicable,
        report.duration_ms as f64 / 1000.0,
        json_path.display(),
        html_path.display()
    );
    let failing = report.rules.iter().any(|v| v.status == Status::Fail && v.severity >= o.fail_on);
    if failing { Err(Failure::Quiet(1)) } else { Ok(()) }
}

async fn audit(
    o: &Options,
    chrome: &std::path::Path,
    policy: Option<Policy>,
    mut policy_source: Option<PolicySource>,
) -> Result<Report, String> {
    let started = Instant::now();
    let started_at = now_unix();
    let has_texts = policy.is_some();
    let mut policy = policy;
    let sandbox = browser::Sandbox::choose(o.no_sandbox, browser::effective_uid());
    if let Some(warning) = sandbox.warning() {
        eprintln!("consentry audit: {warning}");
    }
    let opts = browser::PhaseOptions {
        chrome,
        url: &o.url,
        pages: o.pages,
        settle: o.settle,
        autoconsent: o.autoconsent,
        sandbox,
    };
    let mut phases = Vec::new();
    let mut page_lang = String::new();
    let mut product = String::new();
    let mut gpc_well_known = None;
    let mut tool = None;
    for (i, &id) in o.only.iter().enumerate() {
        eprintln!("consentry audit: phase {}/{}: {} …", i + 1, o.only.len(), id.title());
        let (phase, extras) = run_phase_once_more_if_stalled(id, &opts).await?;
        eprintln!(
            "  {} requests, {} cookies, {} storage keys, banner: {}{} ({:.1} s)",
            phase.requests.len(),
            phase.cookies.len(),
            phase.storage.len(),
            phase.banner.as_ref().map_or("none", |b| b.tool.as_str()),
            phase
                .choice
                .map(|c| format!(", {c}: {}", if phase.choice_made { "done" } else { "not possible" }))
                .unwrap_or_default(),
            phase.duration_ms as f64 / 1000.0
        );
        if page_lang.is_empty() {
            page_lang = extras.page_lang;
        }
        if product.is_empty() {
            product = extras.browser;
        }
        if extras.gpc_well_known.is_some() {
            gpc_well_known = extras.gpc_well_known;
        }
        if tool.is_none() {
            tool = phase.banner.as_ref().map(|b| b.tool.clone()).or(extras.cmp);
        }
        // Without --policy, the policy a Consentry page embeds (or its banner loads).
        if policy.is_none() {
            if let Some((p, location)) = extras.embedded_policy {
                policy_source = Some(PolicySource { source: "site", location, revision: p.revision() });
                policy = Some(p);
            }
        }
        phases.push(phase);
    }
    // Classified once, when the policy is known: the phases record, this names.
    let classifier = classify::Classifier::new(policy)?;
    for ph in &mut phases {
        classify_phase(ph, &classifier);
    }
    let verdicts = rules::evaluate(&rules::Facts {
        phases: &phases,
        policy: classifier.policy(),
        policy_texts: has_texts,
        page_lang,
        gpc_well_known,
    });
    let mut summary = Summary::default();
    for v in &verdicts {
        match (v.status, v.severity) {
            (Status::Pass, _) => summary.passed += 1,
            (Status::NotApplicable, _) => summary.not_applicable += 1,
            (Status::Fail, Severity::Error) => summary.errors += 1,
            (Status::Fail, Severity::Warning) => summary.warnings += 1,
            (Status::Fail, Severity::Notice) => summary.notices += 1,
        }
    }
    let mut datasets: Vec<Dataset> = classify::DATASETS.to_vec();
    if o.autoconsent {
        datasets.push(Dataset {
            name: "autoconsent",
            source: "https://github.com/duckduckgo/autoconsent (npm @duckduckgo/autoconsent)",
            version: "16.23.0",
            licence: "MPL-2.0",
        });
    }
    Ok(Report {
        format: model::FORMAT,
        tool: format!("consentry {}", env!("CARGO_PKG_VERSION")),
        url: o.url.clone(),
        started_at,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        browser: product,
        policy: policy_source,
        consent_tool: tool,
        phases,
        rules: verdicts,
        summary,
        datasets,
    })
}

/// Classifies what a phase recorded.
fn classify_phase(phase: &mut model::Phase, c: &classify::Classifier) {
    for r in &mut phase.requests {
        r.class = c.request(&r.url);
    }
    for k in phase.cookies.iter_mut().chain(phase.cookies_before_choice.iter_mut()) {
        k.class = c.cookie(&k.name);
    }
    for s in &mut phase.storage {
        s.class = c.cookie(&s.key);
    }
}

/// The longest a phase may take before its browser is taken for stalled:
/// well past the sum of its own waits (a navigation, a reload, the quiet
/// periods) on a slow site, and 45 s more per extra page crawled.
fn phase_limit(opts: &browser::PhaseOptions<'_>) -> Duration {
    let per_page = Duration::from_secs(45) + opts.settle;
    Duration::from_secs(90) + per_page * u32::try_from(opts.pages).unwrap_or(u32::MAX)
}

/// Runs a phase; if its browser stops answering (Chromium can crash, and
/// its driver then waits for an answer that never comes), runs it once
/// more in a fresh browser, saying so, and gives up with one clear error
/// if that one stalls too.
async fn run_phase_once_more_if_stalled(
    id: PhaseId,
    opts: &browser::PhaseOptions<'_>,
) -> Result<(model::Phase, browser::PhaseExtras), String> {
    let limit = phase_limit(opts);
    for attempt in 1..=2 {
        match tokio::time::timeout(limit, browser::run_phase(id, opts)).await {
            Ok(done) => return done,
            Err(_) if attempt == 1 => eprintln!(
                "consentry audit: phase {}: the browser stopped answering after {} s; running the phase again in a fresh browser",
                id.title(),
                limit.as_secs()
            ),
            Err(_) => break,
        }
    }
    Err(format!(
        "phase {}: the browser stopped answering twice (after {} s each); is Chromium working? (`--chrome PATH` chooses another)",
        id.title(),
        limit.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::words as args;

    #[test]
    fn arguments_are_checked_with_one_clear_line() {
        let err = |s: &str| parse(&args(s)).err().unwrap_or_default();
        assert!(err("").starts_with("which URL?"));
        assert!(err("example.org").contains("is not an http(s) URL"));
        assert!(err("http://a.test/ --pages many").contains("--pages `many` is not a number"));
        assert!(err("http://a.test/ --fail-on fatal").contains("give error, warning or notice"));
        assert!(err("http://a.test/ --only first-visit,lunch").contains("unknown phase `lunch`"));
        let o = parse(&args("https://a.test/x --only reject-all,gpc --pages 2 --fail-on warning")).unwrap();
        assert_eq!(o.only, vec![PhaseId::RejectAll, PhaseId::Gpc]);
        assert_eq!((o.pages, o.fail_on), (2, Severity::Warning));
    }
}
