//! One phase in a fresh Chromium, driven over the DevTools protocol
//! (chromiumoxide): the page is loaded with the phase's signals, every
//! request and `Set-Cookie` is recorded, the banner is found (Consentry's by
//! its markup contract, any other through DuckDuckGo's autoconsent rule
//! set), the phase's choice is made by clicking, same-site links are
//! followed, and cookies, storage and a screenshot are collected.

use consentry_core::markup::{
    ACTION_ATTR, Action, BANNER_ID, DIALOG_ID, LEGACY_ACTION_ATTR, POLICY_SCRIPT_ID,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::network::{
    EventRequestWillBeSent, EventResponseReceivedExtraInfo, Headers, SetExtraHttpHeadersParams,
};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::cdp::js_protocol::runtime::{AddBindingParams, EvaluateParams, EventBindingCalled};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::{Page, ScreenshotParams};
use futures::StreamExt;

use super::model::{Banner, Cookie, Phase, PhaseId, Request, Storage};

/// DuckDuckGo's autoconsent content script and rules (MPL-2.0, unmodified; data/DATASETS.md).
const AUTOCONSENT_JS: &str = include_str!("../../data/autoconsent/autoconsent.playwright.js");
const AUTOCONSENT_RULES: &str = include_str!("../../data/autoconsent/rules.json");

/// The CDP binding autoconsent's messages come through.
const BINDING: &str = "__consentryAutoconsent";

/// What a phase needs besides its id.
pub struct PhaseOptions<'a> {
    /// The Chromium binary.
    pub chrome: &'a Path,
    /// The audited URL.
    pub url: &'a str,
    /// Same-site links to follow after the choice.
    pub pages: usize,
    /// The longest wait for one page to settle.
    pub settle: Duration,
    /// Whether to load the autoconsent rule set (banners other than Consentry's).
    pub autoconsent: bool,
    /// Whether Chromium runs in its sandbox.
    pub sandbox: Sandbox,
}

/// Whether the audited site's pages run in Chromium's sandbox. They are
/// untrusted: the sandbox is used wherever it can run, which is anywhere but
/// as root (Chromium refuses to start sandboxed as root) or where the
/// operator says it cannot (a container without user namespaces).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sandbox {
    /// Chromium's sandbox is on.
    On,
    /// Off because the process runs as root.
    OffAsRoot,
    /// Off because `--no-sandbox` was given.
    OffAsked,
}

impl Sandbox {
    /// The choice for a process with this effective user id (`None`: not
    /// known, as on a system without `/proc`) and this `--no-sandbox` flag.
    pub fn choose(no_sandbox_flag: bool, uid: Option<u32>) -> Self {
        if uid == Some(0) {
            Self::OffAsRoot
        } else if no_sandbox_flag {
            Self::OffAsked
        } else {
            Self::On
        }
    }

    /// The one line said before the audit when the sandbox is off.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            Self::On => None,
            Self::OffAsRoot => Some(
                "running as root, so Chromium runs WITHOUT its sandbox and the audited pages are not \
                 isolated from this machine; run the audit as an unprivileged user to keep the sandbox",
            ),
            Self::OffAsked => Some(
                "--no-sandbox: Chromium runs WITHOUT its sandbox; the audited pages are not isolated from this machine",
            ),
        }
    }
}

/// This process's effective user id, from the owner of `/proc/self` (no
/// `unsafe` call to `geteuid`). `None` where there is no `/proc`.
pub fn effective_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").ok().map(|m| m.uid())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// What the phase learnt beyond its record.
pub struct PhaseExtras {
    /// `<html lang>` of the first page.
    pub page_lang: String,
    /// The browser's product string.
    pub browser: String,
    /// `/.well-known/gpc.json` said `{"gpc": true}` (asked in the GPC phase only).
    pub gpc_well_known: Option<bool>,
    /// The consent platform autoconsent recognised, if any.
    pub cmp: Option<String>,
    /// The policy a Consentry page embeds (`#consentry-policy`), and where it was read.
    pub embedded_policy: Option<(consentry_core::Policy, String)>,
}

/// Events recorded while the phase runs.
#[derive(Default)]
struct Log {
    requests: Vec<Request>,
    /// Request id → URL, to name the response that set a cookie.
    urls: HashMap<String, String>,
    /// Cookie name → URL of the last response that set it.
    set_by: HashMap<String, String>,
    /// When the phase's choice was made.
    choice_at: Option<Instant>,
}

/// autoconsent's state, as its messages report it.
#[derive(Default)]
struct AutoconsentState {
    popup: Option<String>,
    detected: Option<String>,
    result: Option<bool>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs one phase from a fresh profile.
pub async fn run_phase(id: PhaseId, opts: &PhaseOptions<'_>) -> Result<(Phase, PhaseExtras), String> {
    let started = Instant::now();
    let profile = fresh_profile(id)?;
    let mut config = BrowserConfig::builder().chrome_executable(opts.chrome).user_data_dir(&profile);
    if opts.sandbox != Sandbox::On {
        config = config.no_sandbox();
    }
    let config = config
        .window_size(1280, 800)
        .viewport(Viewport {
            width: 1280,
            height: 800,
            device_scale_factor: None,
            emulating_mobile: false,
            is_landscape: true,
            has_touch: false,
        })
        .args([
            // `navigator.webdriver` stays false, as in a visitor's browser:
            // many banners (vanilla-cookieconsent's `hideFromBots`, the
            // default) hide from automation, and would escape the audit.
            "disable-blink-features=AutomationControlled",
            "disable-gpu",
            "disable-quic",
            "no-first-run",
            "disable-background-networking",
            "disable-component-update",
            "disable-sync",
        ])
        .launch_timeout(Duration::from_secs(30))
        .request_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("browser settings: {e}"))?;
    let (mut browser, mut handler) =
        Browser::launch(config).await.map_err(|e| format!("cannot start {}: {e}", opts.chrome.display()))?;
    let handler_task = tokio::spawn(async move {
        // Errors here are per message (an event this crate does not know):
        // the stream ends when the connection closes.
        while handler.next().await.is_some() {}
    });
    let result = drive(&browser, id, opts, started).await;
    if browser.close().await.is_err() {
        let _ = browser.kill().await;
    }
    let _ = browser.wait().await;
    handler_task.abort();
    let _ = std::fs::remove_dir_all(&profile);
    result
}

fn fresh_profile(id: PhaseId) -> Result<PathBuf, String> {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let dir =
        std::env::temp_dir().join(format!("consentry-audit-{}-{}-{nanos}", std::process::id(), id.as_str()));
    let default = dir.join("Default");
    std::fs::create_dir_all(&default)
        .map_err(|e| format!("cannot create a browser profile in {}: {e}", dir.display()))?;
    // Third-party cookies allowed, as most visitors' browsers still do
    // (a fresh Chromium profile blocks them, which would hide what a
    // third-party tracker sets).
    std::fs::write(default.join("Preferences"), r#"{"profile":{"cookie_controls_mode":0}}"#)
        .map_err(|e| format!("cannot write the browser profile in {}: {e}", dir.display()))?;
    Ok(dir)
}

async fn drive(
    browser: &Browser,
    id: PhaseId,
    opts: &PhaseOptions<'_>,
    started: Instant,
) -> Result<(Phase, PhaseExtras), String> {
    let cdp = |what: &'static str| move |e: chromiumoxide::error::CdpError| format!("{what}: {e}");
    let product = browser.version().await.map(|v| v.product).unwrap_or_default();
    let page = browser.new_page("about:blank").await.map_err(cdp("new page"))?;
    let log = Arc::new(Mutex::new(Log::default()));
    let ac = Arc::new(Mutex::new(AutoconsentState::default()));

    // Listeners first: nothing the first page does may be missed.
    let mut requests = page.event_listener::<EventRequestWillBeSent>().await.map_err(cdp("listen"))?;
    let mut extra = page.event_listener::<EventResponseReceivedExtraInfo>().await.map_err(cdp("listen"))?;
    let mut bindings = page.event_listener::<EventBindingCalled>().await.map_err(cdp("listen"))?;
    let req_log = Arc::clone(&log);
    let req_task = tokio::spawn(async move {
        while let Some(ev) = requests.next().await {
            let mut l = lock(&req_log);
            let after_choice = l.choice_at.is_some();
            l.urls.insert(ev.request_id.inner().clone(), ev.request.url.clone());
            let initiator = match &ev.initiator.url {
                Some(u) => format!("{:?} {u}", ev.initiator.r#type),
                None => format!("{:?}", ev.initiator.r#type),
            };
            l.requests.push(Request {
                url: ev.request.url.clone(),
                resource_type: ev.r#type.as_ref().map_or("Other", |t| t.as_ref()).to_owned(),
                initiator: Some(initiator.to_lowercase()),
                at_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                after_choice,
                set_cookies: Vec::new(),
                class: None,
            });
        }
    });
    let extra_log = Arc::clone(&log);
    let extra_task = tokio::spawn(async move {
        while let Some(ev) = extra.next().await {
            // Several `Set-Cookie` headers arrive as one value, joined by newlines.
            let names: Vec<String> = ev
                .headers
                .inner()
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
                .filter_map(|(_, v)| v.as_str())
                .flat_map(|v| v.split('\n'))
                .filter_map(|line| line.split_once('=').map(|(n, _)| n.trim().to_owned()))
                .filter(|n| !n.is_empty())
                .collect();
            if names.is_empty() {
                continue;
            }
            let mut l = lock(&extra_log);
            let Some(url) = l.urls.get(ev.request_id.inner()).cloned() else { continue };
            for n in &names {
                l.set_by.insert(n.clone(), url.clone());
            }
            if let Some(r) = l.requests.iter_mut().rev().find(|r| r.url == url) {
                r.set_cookies.extend(names);
            }
        }
    });

    // The phase's signals, for every request and every document.
    let mut headers = serde_json::Map::new();
    let mut init = String::new();
    if id == PhaseId::Dnt {
        headers.insert("DNT".into(), "1".into());
        init.push_str(
            "Object.defineProperty(Navigator.prototype,'doNotTrack',{get:()=>'1',configurable:true});",
        );
    }
    if id == PhaseId::Gpc {
        headers.insert("Sec-GPC".into(), "1".into());
        init.push_str(
            "Object.defineProperty(Navigator.prototype,'globalPrivacyControl',{get:()=>true,configurable:true});",
        );
    }
    if !headers.is_empty() {
        page.execute(SetExtraHttpHeadersParams::new(Headers::new(serde_json::Value::Object(headers))))
            .await
            .map_err(cdp("headers"))?;
    }
    if opts.autoconsent {
        page.execute(AddBindingParams::new(BINDING)).await.map_err(cdp("binding"))?;
        init.push_str(&format!(
            "window.autoconsentSendMessage=(m)=>{{try{{window.{BINDING}(JSON.stringify(m))}}catch(e){{}}return Promise.resolve()}};\n{AUTOCONSENT_JS}\n"
        ));
    }
    if !init.is_empty() {
        page.evaluate_on_new_document(init).await.map_err(cdp("init script"))?;
    }
    let ac_page = page.clone();
    let ac_state = Arc::clone(&ac);
    let ac_task = tokio::spawn(async move {
        while let Some(ev) = bindings.next().await {
            if ev.name != BINDING {
                continue;
            }
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(&ev.payload) else { continue };
            let field = |k: &str| msg.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            match field("type").as_deref() {
                Some("init") => {
                    let reply = format!(
                        "autoconsentReceiveMessage({{type:'initResp',config:{{enabled:true,autoAction:null,disabledCmps:[],\
                         enablePrehide:false,enableCosmeticRules:false,enableGeneratedRules:true,\
                         enableHeuristicDetection:false,detectRetries:20,isMainWorld:true,heuristicMode:'off'}},rules:{AUTOCONSENT_RULES}}})"
                    );
                    let params = EvaluateParams::builder()
                        .expression(reply)
                        .context_id(ev.execution_context_id)
                        .build();
                    if let Ok(params) = params {
                        let _ = ac_page.execute(params).await;
                    }
                }
                Some("cmpDetected") => lock(&ac_state).detected = field("cmp"),
                Some("popupFound") => lock(&ac_state).popup = field("cmp"),
                Some("optOutResult" | "optInResult") => {
                    lock(&ac_state).result = msg.get("result").and_then(serde_json::Value::as_bool);
                }
                _ => {}
            }
        }
    });

    let mut phase = Phase::new(id, opts.url);
    let mut extras = PhaseExtras {
        page_lang: String::new(),
        browser: product,
        gpc_well_known: None,
        cmp: None,
        embedded_policy: None,
    };

    goto(&page, opts.url, &log, opts.settle).await?;
    extras.page_lang = eval_string(&page, "document.documentElement.lang || ''").await;
    let embedded =
        eval_string(&page, &format!("(document.getElementById('{POLICY_SCRIPT_ID}')||{{}}).textContent||''"))
            .await;
    extras.embedded_policy =
        read_embedded(&embedded).map(|p| (p, format!("{} (#{POLICY_SCRIPT_ID})", opts.url)));
    let loads_consentry = extras.embedded_policy.is_some()
        || eval_string(
            &page,
            &format!("String(!!document.querySelector('script[data-policy], #{BANNER_ID}'))"),
        )
        .await
            == "true";
    phase.banner = find_banner(&page).await;
    // A page that runs Consentry needs no rule set; any other may carry
    // another tool's banner: give the rule set its detection retries.
    if phase.banner.is_none() && opts.autoconsent && !loads_consentry {
        wait_for(opts.settle, || lock(&ac).popup.is_some()).await;
        let popup = lock(&ac).popup.clone();
        if let Some(cmp) = popup {
            // The rule set's name for it; its text and buttons when our reader knows its markup.
            let found = find_banner(&page).await.unwrap_or_else(|| Banner {
                tool: String::new(),
                text: String::new(),
                accept: None,
                reject: None,
                links: vec![],
                prechecked: vec![],
            });
            phase.banner = Some(Banner { tool: cmp, ..found });
        }
    }
    extras.cmp = {
        let s = lock(&ac);
        s.popup.clone().or_else(|| s.detected.clone())
    };

    match id {
        PhaseId::FirstVisit | PhaseId::Dnt | PhaseId::Gpc => {
            phase.screenshot_png = screenshot(&page).await;
        }
        PhaseId::RejectAll | PhaseId::AcceptAll | PhaseId::Withdraw => {
            phase.cookies_before_choice = cookies(browser, opts.url, &log).await;
            let accept = id != PhaseId::RejectAll;
            if id == PhaseId::Withdraw {
                // Accept first; the withdrawal is the phase's choice.
                if choose(&page, true, &ac, opts.settle).await {
                    settle(&log, opts.settle).await;
                    lock(&log).choice_at = Some(Instant::now());
                    phase.choice_made = withdraw(&page).await;
                    if phase.choice_made {
                        settle(&log, opts.settle).await;
                        goto_reload(&page, &log, opts.settle).await?;
                    } else {
                        phase.notes.push(
                            "no way to withdraw was found on the page (Consentry's settings button)".into(),
                        );
                    }
                } else {
                    phase.notes.push("no \"accept all\" button could be clicked".into());
                }
            } else {
                lock(&log).choice_at = Some(Instant::now());
                phase.choice_made = choose(&page, accept, &ac, opts.settle).await;
                if !phase.choice_made {
                    phase.notes.push(format!(
                        "no \"{}\" button could be clicked",
                        if accept { "accept all" } else { "reject all" }
                    ));
                }
                settle(&log, opts.settle).await;
            }
            phase.screenshot_png = screenshot(&page).await;
            if phase.choice_made {
                let links = same_site_links(&page, opts.pages).await;
                for (i, link) in links.iter().enumerate() {
                    eprintln!("    page {}/{}: {link}", i + 1, links.len());
                    goto(&page, link, &log, opts.settle).await?;
                    phase.pages.push(link.clone());
                }
            }
        }
    }
    if id == PhaseId::Gpc {
        let said = eval_string(
            &page,
            "fetch('/.well-known/gpc.json',{cache:'no-store'}).then(r=>r.ok?r.json():null)\
             .then(j=>String(!!(j&&j.gpc===true))).catch(()=>'false')",
        )
        .await;
        extras.gpc_well_known = Some(said == "true");
    }
    phase.storage = storage(&page).await;
    phase.cookies = cookies(browser, opts.url, &log).await;
    req_task.abort();
    extra_task.abort();
    ac_task.abort();
    // A static site's banner reads its ready policy from `data-policy`
    // (or a server's layer serves it under its prefix): fetched now that
    // nothing is recorded any more.
    if extras.embedded_policy.is_none() && loads_consentry {
        let (text, url) = fetch_policy(&page).await;
        extras.embedded_policy = read_embedded(&text).map(|p| (p, url));
    }
    let _ = page.clone().close().await;
    phase.requests = std::mem::take(&mut lock(&log).requests);
    phase.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok((phase, extras))
}

/// Navigates and waits for the page to settle.
async fn goto(page: &Page, url: &str, log: &Arc<Mutex<Log>>, limit: Duration) -> Result<(), String> {
    loaded(page.goto(url), &format!("load {url}"), log, limit).await
}

async fn goto_reload(page: &Page, log: &Arc<Mutex<Log>>, limit: Duration) -> Result<(), String> {
    loaded(page.reload(), "reload", log, limit).await
}

/// Waits for a navigation (at most 45 s: chromiumoxide's own wait is
/// fixed), then for the page to settle.
async fn loaded<T>(
    navigation: impl std::future::Future<Output = Result<T, chromiumoxide::error::CdpError>>,
    what: &str,
    log: &Arc<Mutex<Log>>,
    limit: Duration,
) -> Result<(), String> {
    match tokio::time::timeout(Duration::from_secs(45), navigation).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(format!("cannot {what}: {e}")),
        Err(_) => return Err(format!("cannot {what}: no answer within 45 s")),
    }
    settle(log, limit).await;
    Ok(())
}

/// Waits until no request has started for 500 ms, at most `limit`.
async fn settle(log: &Arc<Mutex<Log>>, limit: Duration) {
    let start = Instant::now();
    let mut last = usize::MAX;
    let mut quiet = 0;
    while start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(125)).await;
        let n = lock(log).requests.len();
        if n == last {
            quiet += 1;
            if quiet >= 4 {
                return;
            }
        } else {
            quiet = 0;
            last = n;
        }
    }
}

async fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit && !done() {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Evaluates `expr` in the page; empty on an error, or after 10 s (a page
/// stuck in a navigation may never answer).
async fn eval_string(page: &Page, expr: &str) -> String {
    match tokio::time::timeout(Duration::from_secs(10), page.evaluate(expr)).await {
        Ok(Ok(v)) => v.into_value::<String>().unwrap_or_default(),
        _ => String::new(),
    }
}

/// Clicks the first element matching `selector`; false if there is none.
async fn click(page: &Page, selector: &str) -> bool {
    let attempt = async {
        match page.find_element(selector).await {
            Ok(el) => el.click().await.is_ok(),
            Err(_) => false,
        }
    };
    tokio::time::timeout(Duration::from_secs(10), attempt).await.unwrap_or(false)
}

/// Makes the phase's choice: Consentry's first-layer buttons, else
/// autoconsent's opt-in / opt-out for the platform it found.
async fn choose(page: &Page, accept: bool, ac: &Arc<Mutex<AutoconsentState>>, limit: Duration) -> bool {
    let action = if accept { Action::AcceptAll } else { Action::RejectAll };
    if click(page, &action.selector_in(BANNER_ID)).await {
        return true;
    }
    // Another tool's banner: once the rule set has recognised it.
    wait_for(limit, || lock(ac).popup.is_some()).await;
    if lock(ac).popup.is_none() {
        return false;
    }
    lock(ac).result = None;
    let msg = if accept { "optIn" } else { "optOut" };
    let _ = page
        .evaluate(format!(
            "window.autoconsentReceiveMessage&&window.autoconsentReceiveMessage({{type:'{msg}'}}),''"
        ))
        .await;
    wait_for(limit.max(Duration::from_secs(5)), || lock(ac).result.is_some()).await;
    lock(ac).result == Some(true)
}

/// Consentry's withdrawal as a visitor does it: the settings button, then
/// "reject all" in the dialog.
async fn withdraw(page: &Page) -> bool {
    // The settings button (or the site's own), not the banner's.
    let settings =
        format!("[{ACTION_ATTR}='preferences']:not(#{BANNER_ID} *), [{LEGACY_ACTION_ATTR}='preferences']");
    if !click(page, &settings).await {
        return false;
    }
    // The dialog opens (and moves focus) before its buttons take clicks.
    tokio::time::sleep(Duration::from_millis(200)).await;
    click(page, &Action::RejectAll.selector_in(DIALOG_ID)).await
}

const FIND_BANNER: &str = r##"(() => {
  const visible = (el) => {
    if (!el) return false;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) return false;
    return el.checkVisibility ? el.checkVisibility({ opacityProperty: true, visibilityProperty: true }) : true;
  };
  const rgb = (s) => (String(s).match(/[\d.]+/g) || []).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      const v = rgb(c);
      if (v.length >= 3 && (v.length < 4 || v[3] > 0)) return c;
    }
    return "rgb(255, 255, 255)";
  };
  const label = (el) => ((el.innerText || el.value || "") + "").trim();
  const button = (el) => {
    if (!visible(el)) return null;
    const r = el.getBoundingClientRect();
    const cs = getComputedStyle(el);
    const bg = background(el);
    const l1 = lum(rgb(cs.color)), l2 = lum(rgb(bg));
    return { label: label(el), width: r.width, height: r.height, color: cs.color, background: bg,
             contrast: (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05) };
  };
  const KNOWN = [
    ["consentry", "#{BANNER}"], ["cookieconsent3", "#cc-main .cm"], ["onetrust", "#onetrust-banner-sdk"],
    ["cookiebot", "#CybotCookiebotDialog"], ["didomi", "#didomi-notice"], ["quantcast", ".qc-cmp2-container"],
    ["klaro", ".klaro .cookie-notice"], ["tarteaucitron", "#tarteaucitronAlertBig"],
  ];
  let tool = null, root = null;
  for (const [name, sel] of KNOWN) {
    const el = document.querySelector(sel);
    if (visible(el)) { tool = name; root = el; break; }
  }
  if (!root) return "null";
  const buttons = [...root.querySelectorAll("button, [role=button], input[type=button], input[type=submit], a")].filter(visible);
  const find = (selector, words) => root.querySelector(selector) || buttons.find((b) => words.test(label(b))) || null;
  const accept = find("[{ACTION}='accept-all'], [data-role='all']",
    /^(accept|allow|agree|i agree|ok\b|tout accepter|accepter|j'accepte|alle akzeptieren|akzeptieren|zustimmen)/i);
  const reject = find("[{ACTION}='reject-all'], [data-role='necessary']",
    /^(reject|decline|refuse|deny|necessary only|only necessary|tout refuser|refuser|continuer sans accepter|alle ablehnen|ablehnen)/i);
  const links = [...root.querySelectorAll("a[href]")].filter(visible)
    .filter((a) => !/^(javascript:|#)/.test(a.getAttribute("href") || "")).map((a) => [label(a), a.href]);
  const prechecked = [...document.querySelectorAll("input[type=checkbox]")]
    .filter((i) => i.checked && !i.disabled && (root.contains(i) || i.closest("#{DIALOG}, #cc-main")))
    .map((i) => i.dataset.category || i.value || i.name || i.id);
  return JSON.stringify({ tool, text: root.innerText.trim(), accept: accept && button(accept),
    reject: reject && button(reject), links, prechecked });
})()"##;

/// The policy a Consentry page embeds: the ready policy (its rules), or a full policy.
fn read_embedded(text: &str) -> Option<consentry_core::Policy> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    if v.get("format").is_some() {
        return consentry_core::ready::read(&v).ok().map(|r| r.policy);
    }
    consentry_core::Policy::from_json(text).ok()
}

/// The ready policy a static page's banner loads (`data-policy`), else
/// `/consentry/policy.json`: its text and URL (empty if none).
async fn fetch_policy(page: &Page) -> (String, String) {
    let json = eval_string(
        page,
        "(async()=>{const s=document.querySelector('script[data-policy]');const urls=[];\
         if(s)urls.push(new URL(s.dataset.policy,location.href).href);\
         urls.push(new URL('/consentry/policy.json',location.href).href);\
         for(const u of urls){try{const r=await fetch(u);if(r.ok)return JSON.stringify([await r.text(),u])}catch(e){}}\
         return JSON.stringify(['',''])})()",
    )
    .await;
    serde_json::from_str::<(String, String)>(&json).unwrap_or_default()
}

async fn find_banner(page: &Page) -> Option<Banner> {
    // Consentry's names from core's markup contract, not copies.
    let script = FIND_BANNER
        .replace("{BANNER}", BANNER_ID)
        .replace("{DIALOG}", DIALOG_ID)
        .replace("{ACTION}", ACTION_ATTR);
    let json = eval_string(page, &script).await;
    serde_json::from_str::<Option<Banner>>(&json).ok().flatten()
}

/// Up to `n` distinct same-origin links of the current page (not itself).
async fn same_site_links(page: &Page, n: usize) -> Vec<String> {
    if n == 0 {
        return vec![];
    }
    let json = eval_string(
        page,
        "JSON.stringify([...new Set([...document.querySelectorAll('a[href]')].map(a=>a.href)\
         .filter(h=>{try{const u=new URL(h);return u.origin===location.origin&&u.href.split('#')[0]!==location.href.split('#')[0]}catch(e){return false}})\
         .map(h=>h.split('#')[0]))])",
    )
    .await;
    let mut links: Vec<String> = serde_json::from_str(&json).unwrap_or_default();
    links.truncate(n);
    links
}

async fn storage(page: &Page) -> Vec<Storage> {
    let json = eval_string(
        page,
        "JSON.stringify({local:(()=>{try{return Object.keys(localStorage)}catch(e){return []}})(),\
         session:(()=>{try{return Object.keys(sessionStorage)}catch(e){return []}})()})",
    )
    .await;
    #[derive(serde::Deserialize, Default)]
    struct Keys {
        local: Vec<String>,
        session: Vec<String>,
    }
    let keys: Keys = serde_json::from_str(&json).unwrap_or_default();
    let mut out = Vec::new();
    for (area, list) in [("local", keys.local), ("session", keys.session)] {
        out.extend(list.into_iter().map(|key| Storage { area, key, class: None }));
    }
    out
}

async fn cookies(browser: &Browser, url: &str, log: &Arc<Mutex<Log>>) -> Vec<Cookie> {
    let site = super::hosts::host(url);
    let set_by = lock(log).set_by.clone();
    let mut out: Vec<Cookie> = browser
        .get_cookies()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let domain = c.domain.trim_start_matches('.').to_ascii_lowercase();
            let third_party = !(super::hosts::within(&site, &domain) || super::hosts::within(&domain, &site));
            Cookie {
                class: None,
                set_by: set_by.get(&c.name).cloned().unwrap_or_else(|| "script".into()),
                expires: (!c.session).then_some(c.expires),
                name: c.name,
                domain: c.domain,
                path: c.path,
                third_party,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.domain, &a.name).cmp(&(&b.domain, &b.name)));
    out
}

async fn screenshot(page: &Page) -> Option<String> {
    let params = ScreenshotParams::builder().format(CaptureScreenshotFormat::Png).full_page(false).build();
    let png = page.screenshot(params).await.ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(png))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_is_used_unless_running_as_root_or_told_not_to() {
        assert_eq!(Sandbox::choose(false, Some(1000)), Sandbox::On);
        assert_eq!(Sandbox::choose(false, None), Sandbox::On);
        assert_eq!(Sandbox::choose(false, Some(0)), Sandbox::OffAsRoot);
        assert_eq!(Sandbox::choose(true, Some(0)), Sandbox::OffAsRoot);
        assert_eq!(Sandbox::choose(true, Some(1000)), Sandbox::OffAsked);
        assert!(Sandbox::On.warning().is_none());
        assert!(Sandbox::OffAsRoot.warning().is_some_and(|w| w.contains("root") && w.contains("WITHOUT")));
        assert!(Sandbox::OffAsked.warning().is_some_and(|w| w.contains("--no-sandbox")));
    }

    #[test]
    fn this_process_knows_its_user() {
        // The tests run on Linux here: /proc is there.
        #[cfg(target_os = "linux")]
        assert!(effective_uid().is_some());
    }
}
