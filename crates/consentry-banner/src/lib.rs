//! The Consentry banner's rules, compiled to WebAssembly.
//!
//! Every consent rule the banner applies comes from consentry-core, the
//! same code the server middleware runs, so the browser and the server
//! always agree: reading the ready policy's rules, decoding and writing the
//! consent cookie, interpreting DNT/GPC, `decide`, which marked element may
//! run, which cookies a withdrawal deletes, what Consent Mode and Matomo are
//! told, the language. The page work around them — inserting the ready
//! markup, activating scripts, the dialog's focus trap, the JS API — is a
//! small hand-written layer in `www/src/consentry.js` that asks this module
//! at every step.
//!
//! Why the split (measured, see BENCHMARKS.md): with the DOM driven from
//! Rust through web-sys, every browser call costs marshalling code in the
//! wasm and a glue function in JavaScript; that version weighed 38.7 KB gzip
//! of wasm plus 6 KB of glue even with the ready policy, no texts and a small
//! allocator, more than twice the whole budget. Here the interface takes and
//! returns only strings, numbers and booleans (no JavaScript objects cross
//! it), through a single export, [`ask`], that answers each of the
//! functions below by number; failures are numeric codes that the loader
//! turns into words.
//!
//! State (policy, consent, decision) lives here, behind one lock: the
//! loader calls [`start`] once per page (again to replace the policy), then
//! [`choose`] / [`reset`] on each choice, and reads [`state`].

#![cfg_attr(all(target_arch = "wasm32", not(feature = "std")), no_std)]

extern crate alloc;

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use consentry_core::split::split;
use consentry_core::{
    Consent, ConsentId, Decision, Location, Model, Policy, Signals, consent_from_cookie_string, decide_in,
};
use wasm_bindgen::prelude::*;

// The banner's allocator: a free-list allocator of a few hundred bytes
// instead of dlmalloc's several kilobytes, for a module that allocates little.
// This is the workspace's only `unsafe`: `AssumeSingleThreaded::new` is unsafe
// because the allocator has no lock. It is sound because the banner is built
// for `wasm32-unknown-unknown` without the atomics feature, where there is
// exactly one thread, so no two allocations can ever run at once.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
#[allow(unsafe_code)]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

// Without std there is no panic machinery: a panic (which the rules module
// never meant to reach: every failure is a code) traps at once, and no
// formatter or std panic hook is compiled in: 4.7 KB less wasm (12 %)
// than with std's panic machinery.
#[cfg(all(target_arch = "wasm32", not(feature = "std"), not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// The code [`start`] returns when it has started.
pub const STARTED: u32 = 0;

struct Banner {
    policy: Policy,
    consent: Option<Consent>,
    decision: Decision,
    signals: Signals,
}

// A spin lock rather than a thread-local (half a kilobyte less wasm; and
// without std there is no std lock). It is never contended nor re-entered: the module
// calls no JavaScript, so no call can come back in while another holds it.
static STATE: spin::Mutex<Option<Banner>> = spin::Mutex::new(None);

/// Replaces the state. The previous one is leaked, not dropped: a page
/// replaces its policy rarely (a second `init` with another policy), and
/// dropping a policy would add two kilobytes of destructor code to the wasm
/// every visitor downloads.
fn replace(new: Option<Banner>) {
    core::mem::forget(core::mem::replace(&mut *lock(), new));
}

/// The state, locked.
fn lock() -> spin::MutexGuard<'static, Option<Banner>> {
    STATE.lock()
}

fn with<T: Default>(f: impl FnOnce(&Banner) -> T) -> T {
    lock().as_ref().map(f).unwrap_or_default()
}

/// A JSON string literal of an id-like value: policy ids, reasons, models,
/// the consent id and Matomo's commands, every one of which is validated
/// or fixed text in `[A-Za-z0-9_-]`, so nothing needs escaping.
fn quoted(out: &mut String, s: &str) {
    out.push('"');
    out.push_str(s);
    out.push('"');
}

/// `"key":` with a comma before it unless it opens the object.
fn key(out: &mut String, k: &str) {
    if !out.ends_with("{") {
        out.push(',');
    }
    quoted(out, k);
    out.push(':');
}

fn boolean(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// `"key":true` or `"key":false`.
fn flag(out: &mut String, k: &str, b: bool) {
    key(out, k);
    out.push_str(boolean(b));
}

/// Starts (or restarts) with the `rules` of a ready policy and the page's
/// situation: `document.cookie`, `navigator.doNotTrack` (or
/// `window.doNotTrack`; empty when both are null), `navigator.globalPrivacyControl` and the time in
/// Unix seconds, and the consent model the server found for the visitor's
/// region (`opt-out`, from the page's `<meta name="consentry-region"
/// content="US-CA header opt-out">`), or empty: the ready policy's default
/// model (a static site, or a server that does not know the region). Returns [`STARTED`], or the
/// [`ReadyError`](consentry_core::ReadyError) code of rules it refuses
/// (nothing is granted then: the loader does not go on).
pub fn start(rules: &str, cookies: &str, dnt: &str, gpc: bool, now: f64, model: &str) -> u32 {
    let policy = match consentry_core::ready::read_rules(rules) {
        Ok(read) => read,
        Err(e) => {
            // Refused rules replace earlier ones: from now on nothing is granted.
            replace(None);
            return e.code();
        }
    };
    let signals = Signals::from_navigator(Some(dnt), gpc);
    let consent = consent_from_cookie_string(cookies, &policy.cookie().name);
    let model = Model::parse(model).unwrap_or(policy.regions().default);
    let decision = decide_in(&policy, consent.as_ref(), signals, now as u64, Location::UNKNOWN, model);
    replace(Some(Banner { policy, consent, decision, signals }));
    STARTED
}

/// The language to show: the best of `preferred` (comma-separated:
/// `<html lang>`, then `navigator.languages`) among `available` (the ready
/// policy's markup languages), else the policy's default language.
pub fn language(available: &str, preferred: &str) -> String {
    // A loop rather than collecting a chained iterator: less wasm.
    fn list(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for l in split(s, b',') {
            let l = l.trim_ascii();
            if !l.is_empty() {
                out.push(l);
            }
        }
        out
    }
    let (available, preferred) = (list(available), list(preferred));
    let state = lock();
    let default = state.as_ref().map_or("", |b| b.policy.language());
    let fallback =
        if available.contains(&default) { default } else { available.first().copied().unwrap_or("") };
    consentry_core::negotiate(&available, &preferred, fallback).to_owned()
}

/// The visitor's state as JSON: `categories`, `services`, `revision`,
/// `needsBanner`, `reason`, `id` and `date` as `consentry.get()` documents
/// them (`date` in Unix seconds here; the loader makes it an ISO string),
/// plus what the page layer needs: `of` (each service's category: what
/// a click-to-load notice offers, and with `categories` and `services` the
/// ids a choice may name), `signal` (an honoured DNT/GPC decided),
/// `chosen` (a current choice exists), `optional` (the optional category
/// ids), `model` (the consent model: `opt-in`, `opt-out`, `notice`,
/// `none`), `sale` (the sale/sharing categories an opt-out turns off), `google` (the Consent Mode update, or `null` without Google
/// services) and `matomo` (one `_paq` command per Matomo service). Empty
/// before [`start`].
pub fn state() -> String {
    with(|b| {
        let d = &b.decision;
        let mut o = String::from("{");
        key(&mut o, "categories");
        o.push('{');
        for c in b.policy.categories() {
            flag(&mut o, &c.id, d.allows(&c.id));
        }
        o.push('}');
        key(&mut o, "services");
        o.push('{');
        for s in b.policy.services() {
            flag(&mut o, &s.id, d.service_may_run(s));
        }
        o.push('}');
        key(&mut o, "of");
        o.push('{');
        for s in b.policy.services() {
            key(&mut o, &s.id);
            quoted(&mut o, &s.category);
        }
        o.push('}');
        key(&mut o, "revision");
        consentry_core::consent::push_decimal(&mut o, u64::from(b.policy.revision()));
        flag(&mut o, "needsBanner", d.needs_banner());
        key(&mut o, "reason");
        quoted(&mut o, d.basis().as_str());
        let current = b.consent.as_ref().filter(|_| d.basis() != consentry_core::Reason::RevisionChanged);
        key(&mut o, "id");
        match current {
            Some(c) => quoted(&mut o, c.id().as_str()),
            None => o.push_str("null"),
        }
        key(&mut o, "date");
        match current {
            Some(c) => consentry_core::consent::push_decimal(&mut o, c.given_at()),
            None => o.push_str("null"),
        }
        flag(&mut o, "signal", d.signal_honoured());
        flag(&mut o, "chosen", b.consent.is_some() && !d.needs_banner());
        key(&mut o, "optional");
        o.push('[');
        for (i, c) in b.policy.categories().iter().filter(|c| !c.required).enumerate() {
            if i > 0 {
                o.push(',');
            }
            quoted(&mut o, &c.id);
        }
        o.push(']');
        key(&mut o, "model");
        quoted(&mut o, d.model().as_str());
        key(&mut o, "sale");
        o.push('[');
        for (i, c) in b.policy.categories().iter().filter(|c| c.is_sale_sharing()).enumerate() {
            if i > 0 {
                o.push(',');
            }
            quoted(&mut o, &c.id);
        }
        o.push(']');
        key(&mut o, "google");
        match d.google_consent(&b.policy) {
            Some(g) => {
                let word = |on: bool| if on { "granted" } else { "denied" };
                o.push('{');
                for k in ["ad_storage", "ad_user_data", "ad_personalization"] {
                    key(&mut o, k);
                    quoted(&mut o, word(g.ads));
                }
                key(&mut o, "analytics_storage");
                quoted(&mut o, word(g.analytics));
                o.push('}');
            }
            None => o.push_str("null"),
        }
        key(&mut o, "matomo");
        o.push('[');
        for (i, cmd) in b.policy.services().iter().filter_map(|s| d.matomo_command(s)).enumerate() {
            if i > 0 {
                o.push(',');
            }
            quoted(&mut o, cmd);
        }
        o.push_str("]}");
        o
    })
}

/// Decides again after a choice, under the same model. The old decision is
/// forgotten rather than dropped: it holds nothing of its own but a count on
/// the catalog, which the policy keeps alive for the page's life anyway, and
/// dropping it would compile in the catalog's whole destructor.
fn redecide(b: &mut Banner, consent: Option<&Consent>, now: f64) {
    let new = decide_in(&b.policy, consent, b.signals, now as u64, Location::UNKNOWN, b.decision.model());
    core::mem::forget(core::mem::replace(&mut b.decision, new));
}

/// Records a choice: the optional categories and the services granted on
/// their own in `granted` (`~`-separated; required categories are implied,
/// unknown ids ignored — the loader checks the ids of [`state`] first where
/// an unknown one is an error); with `opt_out`, `granted` is ignored and the
/// choice is core's "Do Not Sell or Share" rule
/// ([`Decision::opt_out_choice`]). `id` is the consent id: 16 bytes from
/// `crypto.getRandomValues` in base64url (22 characters, as
/// [`ConsentId::from_random`] writes them); nothing is recorded with an
/// id [`ConsentId::parse`] refuses. Returns the
/// consent cookie to write, then — when the policy has an endpoint — a tab,
/// the endpoint and a tab and the JSON body to POST there for a receipt.
pub fn choose(granted: &str, id: &str, now: f64, secure: bool, opt_out: bool) -> String {
    let mut guard = lock();
    let (Some(b), Some(id)) = (guard.as_mut(), ConsentId::parse(id)) else { return String::new() };
    let choice =
        if opt_out { b.decision.opt_out_choice(&b.policy) } else { b.policy.choice(split(granted, b'~')) };
    let consent =
        Consent::new(b.policy.revision(), now as u64, choice.iter().copied(), id).under(b.decision.model());
    let mut out = b.policy.cookie().set_cookie(&consent.encode(), secure);
    if let Some(url) = b.policy.consent_endpoint() {
        out.push('\t');
        out.push_str(url);
        out.push('\t');
        out.push_str(&consentry_core::choice_json(&choice));
    }
    redecide(b, Some(&consent), now);
    b.consent = Some(consent);
    out
}

/// Forgets the choice; returns the cookie line that deletes the consent cookie.
pub fn reset(now: f64, secure: bool) -> String {
    let mut guard = lock();
    let Some(b) = guard.as_mut() else { return String::new() };
    b.consent = None;
    redecide(b, None, now);
    b.policy.cookie().delete_cookie(secure)
}

/// Whether an element the author marked with `data-category` and/or
/// `data-service` may be live now: each attribute's value, and whether the
/// element has it (an empty attribute names an unknown gate, as on the
/// server; an absent one names none). Strings and booleans rather than
/// `Option<String>`: that conversion costs the wasm about 350 bytes gzip.
pub fn allows(category: &str, has_category: bool, service: &str, has_service: bool) -> bool {
    let (category, service) =
        (Some(category).filter(|_| has_category), Some(service).filter(|_| has_service));
    with(|b| b.decision.allows_marked(&b.policy, category, service))
}

/// Of the cookies in `document.cookie`, the names (one per line) that
/// belong to a service the visitor has not (or no longer) allowed: what
/// withdrawal deletes.
pub fn refused_cookies(cookies: &str) -> String {
    let names = split(cookies, b';')
        .filter_map(|p| split(p, b'=').next())
        .map(str::trim_ascii)
        .filter(|n| !n.is_empty());
    with(|b| {
        let mut out = String::new();
        for name in b.decision.refused_cookies(&b.policy, names) {
            out.push_str(name);
            out.push('\n');
        }
        out
    })
}

/// The module's one export: each question of the page layer by its number,
/// with its texts (`texts`: up to four, separated by NUL; missing ones are
/// empty), the time and its booleans (`flags` bit 0 and bit 1), answered in
/// text. One export rather than seven, and one string rather than four:
/// every wasm-bindgen export, and every string it takes, costs conversion
/// code in the wasm and in the glue (measured: see BENCHMARKS.md). No text
/// may hold a NUL: the page layer, the one caller, writes U+FFFD for one
/// (as the HTML parser does; no id or language tag holds it), so texts
/// never shift; a fifth text is ignored. The page layer names each
/// question once (`www/src/consentry.js`); the numbers are:
///
/// | # | question | texts | flags |
/// |---|---|---|---|
/// | 0 | [`start`] (answer: the code, in decimal) | rules, `document.cookie`, DNT, model | GPC |
/// | 1 | [`language`] | available, preferred | |
/// | 2 | [`state`] | | |
/// | 3 | [`choose`] | granted, consent id | secure, opt-out |
/// | 4 | [`reset`] | | secure |
/// | 5 | [`allows`] (answer: `1` or empty) | category, service | has category, has service |
/// | 6 | [`refused_cookies`] | `document.cookie` | |
///
/// Any other number answers nothing.
#[wasm_bindgen]
pub fn ask(question: u32, texts: &str, now: f64, flags: u32) -> String {
    let mut f = split(texts, 0);
    let mut next = || f.next().unwrap_or("");
    // The texts and flags by position; each question names them below.
    let texts = [next(), next(), next(), next()];
    let flags = (flags & 1 != 0, flags & 2 != 0);
    match question {
        0 => {
            let [rules, cookie, dnt, model] = texts;
            let gpc = flags.0;
            let mut out = String::new();
            consentry_core::consent::push_decimal(
                &mut out,
                u64::from(start(rules, cookie, dnt, gpc, now, model)),
            );
            out
        }
        1 => {
            let [available, preferred, ..] = texts;
            language(available, preferred)
        }
        2 => state(),
        3 => {
            let [granted, consent_id, ..] = texts;
            let (secure, opt_out) = flags;
            choose(granted, consent_id, now, secure, opt_out)
        }
        4 => reset(now, flags.0),
        5 => {
            let [category, service, ..] = texts;
            let (has_category, has_service) = flags;
            String::from(if allows(category, has_category, service, has_service) { "1" } else { "" })
        }
        6 => refused_cookies(texts[0]),
        _ => String::new(),
    }
}
