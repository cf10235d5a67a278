//! The Consentry banner, compiled to WebAssembly.
//!
//! Every consent rule comes from consentry-core, the same code the server
//! middleware runs, so the browser and the server always agree. This crate
//! only does the browser's part: read the policy and the cookie, ask
//! (hydrating the server-rendered banner when there is one), write the
//! cookie, and apply the choice to the page at once.
//!
//! The JavaScript API (`init`, `show`, `showPreferences`, `hide`, `get`,
//! `set`, `acceptAll`, `rejectAll`, `reset`, `onChange`) is exposed by the
//! loader `www/src/consentry.js`, which calls the functions below.

mod apply;
mod dom;
mod render;

use std::cell::RefCell;

use consentry_core::{Consent, ConsentId, Decision, Policy, Signals, consent_from_headers, decide};
use gloo_events::{EventListener, EventListenerOptions};
use wasm_bindgen::prelude::*;
use web_sys::{Document, Element, HtmlElement, KeyboardEvent};

struct Banner {
    policy: Policy,
    decision: Decision,
    consent: Option<Consent>,
    langs: Vec<String>,
    _listeners: Vec<EventListener>,
    dialog: Option<Dialog>,
}

struct Dialog {
    root: Element,
    return_focus: Option<HtmlElement>,
}

thread_local! {
    static STATE: RefCell<Option<Banner>> = const { RefCell::new(None) };
}

fn err(msg: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&format!("consentry: {msg}")).into()
}

fn signals() -> Signals {
    let Some(win) = web_sys::window() else { return Signals::NONE };
    let nav: JsValue = win.navigator().into();
    let dnt =
        dom::string_prop(&nav, "doNotTrack").or_else(|| dom::string_prop(&win.clone().into(), "doNotTrack"));
    let gpc = js_sys::Reflect::get(&nav, &JsValue::from_str("globalPrivacyControl"))
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    Signals::from_navigator(dnt.as_deref(), gpc)
}

fn read_consent(doc: &Document, policy: &Policy) -> Option<Consent> {
    let html = doc.dyn_ref::<web_sys::HtmlDocument>()?;
    let cookies = html.cookie().ok()?;
    consent_from_headers([cookies.as_bytes()], &policy.cookie().name)
}

fn languages(doc: &Document) -> Vec<String> {
    let mut langs = Vec::new();
    if let Some(l) = doc.document_element().and_then(|e| e.get_attribute("lang")).filter(|l| !l.is_empty()) {
        langs.push(l);
    }
    if let Some(win) = web_sys::window() {
        let list = win.navigator().languages();
        for i in 0..list.length() {
            if let Some(l) = list.get(i).as_string() {
                langs.push(l);
            }
        }
    }
    langs
}

fn is_https(doc: &Document) -> bool {
    doc.location().and_then(|l| l.protocol().ok()).is_some_and(|p| p == "https:")
}

fn write_cookie(doc: &Document, policy: &Policy, value: &str, max_age: u64) -> Result<(), JsValue> {
    let Some(html) = doc.dyn_ref::<web_sys::HtmlDocument>() else { return Ok(()) };
    let c = policy.cookie();
    let mut s = format!("{}={value}; Path={}; Max-Age={max_age}; SameSite=Lax", c.name, c.path);
    if let Some(d) = &c.domain {
        s.push_str("; Domain=");
        s.push_str(d);
    }
    if is_https(doc) {
        s.push_str("; Secure");
    }
    html.set_cookie(&s)
}

fn random_id() -> Result<ConsentId, JsValue> {
    let crypto = dom::window()?.crypto()?;
    let mut bytes = [0u8; 16];
    crypto.get_random_values_with_u8_array(&mut bytes)?;
    Ok(ConsentId::from_random(bytes))
}

/// The visitor's state as a plain object (what `consentry.get()` returns).
fn snapshot(b: &Banner) -> JsValue {
    let o = js_sys::Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), &v);
    };
    let cats = js_sys::Object::new();
    for (id, g) in b.decision.categories() {
        let _ = js_sys::Reflect::set(&cats, &JsValue::from_str(id), &JsValue::from_bool(g.granted));
    }
    let svcs = js_sys::Object::new();
    for s in b.policy.services() {
        let _ = js_sys::Reflect::set(
            &svcs,
            &JsValue::from_str(&s.id),
            &JsValue::from_bool(b.decision.service_may_run(s)),
        );
    }
    set("categories", cats.into());
    set("services", svcs.into());
    set("revision", JsValue::from_f64(f64::from(b.policy.revision())));
    set("needsBanner", JsValue::from_bool(b.decision.needs_banner()));
    set("reason", JsValue::from_str(b.decision.basis().as_str()));
    match &b.consent {
        Some(c) if b.decision.basis() != consentry_core::Reason::RevisionChanged => {
            set("id", JsValue::from_str(c.id().as_str()));
            let d = js_sys::Date::new(&JsValue::from_f64(c.given_at() as f64 * 1000.0));
            set("date", d.to_iso_string().into());
        }
        _ => {
            set("id", JsValue::NULL);
            set("date", JsValue::NULL);
        }
    }
    o.into()
}

fn dispatch(doc: &Document, name: &str, detail: &JsValue) {
    let init = web_sys::CustomEventInit::new();
    init.set_detail(detail);
    if let Ok(ev) = web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = doc.dispatch_event(&ev);
    }
}

/// What must happen to the page after the state changed; done outside the
/// state borrow because activated scripts and event listeners may call back.
struct Effects {
    policy: Policy,
    before: Decision,
    after: Decision,
    detail: JsValue,
    notify: bool,
}

fn run_effects(doc: &Document, fx: Effects) -> Result<(), JsValue> {
    let withdrew =
        fx.policy.services().iter().any(|s| fx.before.service_may_run(s) && !fx.after.service_may_run(s));
    if withdrew || !fx.after.needs_banner() {
        apply::delete_refused_cookies(doc, &fx.policy, &fx.after);
    }
    apply::activate(doc, &fx.policy, &fx.after)?;
    if fx.notify {
        apply::notify_tools(&fx.policy, &fx.after);
    }
    refresh_chrome(doc)?;
    dispatch(doc, "consentry:change", &fx.detail);
    Ok(())
}

/// Where and what to POST so the server stores a receipt: (URL, JSON body).
type ReceiptPost = (String, String);

/// Records a choice: cookie, receipt POST, new decision, effects.
fn choose(granted: Vec<String>) -> Result<(), JsValue> {
    let doc = dom::document()?;
    let id = random_id()?;
    let fx = STATE.with(|s| -> Result<Option<(Effects, Option<ReceiptPost>)>, JsValue> {
        let mut guard = s.try_borrow_mut().map_err(|_| err("busy"))?;
        let Some(b) = guard.as_mut() else { return Ok(None) };
        let optional: Vec<String> = b
            .policy
            .categories()
            .iter()
            .filter(|c| !c.required && granted.contains(&c.id))
            .map(|c| c.id.clone())
            .collect();
        let consent = Consent::new(b.policy.revision(), dom::now_seconds(), optional.clone(), id);
        write_cookie(&doc, &b.policy, &consent.encode(), b.policy.cookie().max_age_seconds())?;
        let before = b.decision.clone();
        b.decision = decide(&b.policy, Some(&consent), signals(), dom::now_seconds());
        b.consent = Some(consent);
        let post = b.policy.consent_endpoint().map(|url| {
            let list: Vec<String> = optional.iter().map(|g| format!("\"{g}\"")).collect();
            (url.to_owned(), format!("{{\"granted\":[{}]}}", list.join(",")))
        });
        Ok(Some((
            Effects {
                policy: b.policy.clone(),
                before,
                after: b.decision.clone(),
                detail: snapshot(b),
                notify: true,
            },
            post,
        )))
    })?;
    let Some((fx, post)) = fx else { return Err(err("call init() first")) };
    if let Some((url, body)) = post {
        post_choice(&url, &body);
    }
    close_dialog(&doc, false);
    run_effects(&doc, fx)
}

/// Sends the choice so the server stores a receipt. The cookie written above
/// already works if this fails; when it succeeds the server's cookie (same
/// name and path, the receipt's id) replaces it.
fn post_choice(url: &str, body: &str) {
    let Ok(win) = dom::window() else { return };
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    if let Ok(h) = web_sys::Headers::new() {
        let _ = h.set("content-type", "application/json");
        init.set_headers(&h);
    }
    let promise = win.fetch_with_str_and_init(url, &init);
    // Ignore failures: swallow the rejection so it is not reported as unhandled.
    let noop = Closure::<dyn FnMut(JsValue)>::new(|_| {});
    let _ = promise.catch(&noop);
    noop.forget();
}

/// Shows or removes the banner and the settings button to match the state.
fn refresh_chrome(doc: &Document) -> Result<(), JsValue> {
    let existing = doc.get_element_by_id("consentry-banner");
    // The banner is built only when one is needed and none is on the page.
    let (needs, optional, settings_label, fresh_banner) = STATE.with(|s| {
        let g = s.borrow();
        match g.as_ref() {
            Some(b) => {
                let langs: Vec<&str> = b.langs.iter().map(String::as_str).collect();
                let needs = b.decision.needs_banner();
                let t = b.policy.texts_for(&langs);
                let fresh =
                    if needs && existing.is_none() { render_banner_html(&b.policy, &langs) } else { None };
                (
                    needs,
                    b.policy.has_optional_categories(),
                    Some(t.get(consentry_core::TextKey::settings_link).to_owned()),
                    fresh,
                )
            }
            None => (false, false, None, None),
        }
    });
    if needs {
        match existing {
            Some(e) => e.remove_attribute("hidden")?,
            None => {
                if let (Some(banner), Some(body)) = (&fresh_banner, doc.body()) {
                    body.append_child(banner)?;
                }
            }
        }
    } else if let Some(e) = existing {
        e.remove();
    }
    let settings = doc.query_selector(".consentry-settings")?;
    if !needs && optional {
        if settings.is_none() {
            if let (Some(label), Some(body)) = (&settings_label, doc.body()) {
                let b = dom::el(
                    doc,
                    "button",
                    "consentry-settings",
                    &[("type", "button"), ("data-consentry", "preferences")],
                    Some(label),
                )?;
                body.append_child(&b)?;
            }
        }
    } else if let Some(s) = settings {
        s.remove();
    }
    Ok(())
}

fn render_banner_html(policy: &Policy, langs: &[&str]) -> Option<Element> {
    let doc = dom::document().ok()?;
    let t = policy.texts_for(langs);
    render::banner(&doc, &t, policy.consent_endpoint()).ok()
}

fn focusables(root: &Element) -> Vec<HtmlElement> {
    dom::all_in(root, "input:not([disabled]), button:not([disabled]), a[href]")
        .iter()
        .filter_map(dom::html_el)
        .collect()
}

fn open_dialog() -> Result<(), JsValue> {
    let doc = dom::document()?;
    let built = STATE.with(|s| -> Result<Option<Element>, JsValue> {
        let mut g = s.try_borrow_mut().map_err(|_| err("busy"))?;
        let Some(b) = g.as_mut() else { return Ok(None) };
        if b.dialog.is_some() {
            return Ok(None);
        }
        let langs: Vec<&str> = b.langs.iter().map(String::as_str).collect();
        let t = b.policy.texts_for(&langs);
        let has_choice = b.consent.is_some() && !b.decision.needs_banner();
        let root = render::dialog(&doc, &b.policy, &t, &b.decision, has_choice)?;
        let return_focus = doc.active_element().and_then(|e| dom::html_el(&e));
        b.dialog = Some(Dialog { root: root.clone(), return_focus });
        Ok(Some(root))
    })?;
    if let (Some(root), Some(body)) = (built, doc.body()) {
        body.append_child(&root)?;
        if let Some(first) = focusables(&root).first() {
            first.focus()?;
        }
    }
    Ok(())
}

fn close_dialog(doc: &Document, restore: bool) {
    let dialog =
        STATE.with(|s| s.try_borrow_mut().ok().and_then(|mut g| g.as_mut().and_then(|b| b.dialog.take())));
    if let Some(d) = dialog {
        d.root.remove();
        if restore {
            let target = d.return_focus.filter(|e| e.is_connected()).or_else(|| {
                doc.query_selector(".consentry-settings").ok().flatten().and_then(|e| dom::html_el(&e))
            });
            if let Some(t) = target {
                let _ = t.focus();
            }
        }
    }
}

fn dialog_root() -> Option<Element> {
    STATE.with(|s| {
        s.try_borrow().ok().and_then(|g| g.as_ref().and_then(|b| b.dialog.as_ref().map(|d| d.root.clone())))
    })
}

fn optional_ids() -> Vec<String> {
    STATE.with(|s| {
        s.try_borrow()
            .ok()
            .and_then(|g| {
                g.as_ref().map(|b| {
                    b.policy.categories().iter().filter(|c| !c.required).map(|c| c.id.clone()).collect()
                })
            })
            .unwrap_or_default()
    })
}

fn on_action(action: &str) -> Result<(), JsValue> {
    match action {
        "accept-all" => choose(optional_ids()),
        "reject-all" => choose(Vec::new()),
        "preferences" => open_dialog(),
        "close" => {
            close_dialog(&dom::document()?, true);
            Ok(())
        }
        "save" => {
            let checked: Vec<String> = dialog_root()
                .map(|root| {
                    dom::all_in(&root, "input.consentry-toggle[data-category]")
                        .into_iter()
                        .filter_map(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
                        .filter(|i| i.checked())
                        .filter_map(|i| i.get_attribute("data-category"))
                        .collect()
                })
                .unwrap_or_default();
            choose(checked)
        }
        _ => Ok(()),
    }
}

fn closest(target: &JsValue, selector: &str) -> Option<Element> {
    target.dyn_ref::<Element>().and_then(|e| e.closest(selector).ok().flatten())
}

fn on_click(event: &web_sys::Event) {
    let Some(target) = event.target() else { return };
    let target: JsValue = target.into();
    if let Some(b) = closest(
        &target,
        "#consentry-banner [data-consentry-action], #consentry-preferences [data-consentry-action]",
    ) {
        event.prevent_default();
        if let Some(action) = b.get_attribute("data-consentry-action") {
            let _ = on_action(&action);
        }
    } else if let Some(b) = closest(&target, "[data-consentry-load]") {
        if let Some(cat) = b.get_attribute("data-consentry-load") {
            let mut granted = current_granted();
            granted.push(cat);
            let _ = choose(granted);
        }
    } else if closest(&target, "[data-consentry='preferences']").is_some() {
        event.prevent_default();
        let _ = open_dialog();
    }
}

fn current_granted() -> Vec<String> {
    STATE.with(|s| {
        s.try_borrow()
            .ok()
            .and_then(|g| g.as_ref().map(|b| b.decision.granted().map(str::to_owned).collect()))
            .unwrap_or_default()
    })
}

fn on_keydown(event: &web_sys::Event) {
    let Some(key) = event.dyn_ref::<KeyboardEvent>() else { return };
    let Some(root) = dialog_root() else { return };
    match key.key().as_str() {
        "Escape" => {
            if let Ok(doc) = dom::document() {
                close_dialog(&doc, true);
            }
        }
        "Tab" => {
            let items = focusables(&root);
            let (Some(first), Some(last)) = (items.first(), items.last()) else { return };
            let active = dom::document().ok().and_then(|d| d.active_element());
            let inside = active.as_ref().is_some_and(|a| root.contains(Some(a)));
            let on = |e: &HtmlElement| active.as_ref().is_some_and(|a| a == e.unchecked_ref::<Element>());
            if key.shift_key() && (on(first) || !inside) {
                key.prevent_default();
                let _ = last.focus();
            } else if !key.shift_key() && (on(last) || !inside) {
                key.prevent_default();
                let _ = first.focus();
            }
        }
        _ => {}
    }
}

/// A value made by the browser's `JSON.parse`, as the policy reader sees it:
/// the policy is read without compiling a JSON library into the banner.
struct Js(JsValue);

impl consentry_core::JsonValue for Js {
    fn is_null(&self) -> bool {
        self.0.is_null() || self.0.is_undefined()
    }
    fn as_string(&self) -> Option<String> {
        self.0.as_string()
    }
    fn as_bool(&self) -> Option<bool> {
        self.0.as_bool()
    }
    fn as_f64(&self) -> Option<f64> {
        self.0.as_f64()
    }
    fn as_array(&self) -> Option<Vec<Self>> {
        js_sys::Array::is_array(&self.0).then(|| js_sys::Array::from(&self.0).iter().map(Js).collect())
    }
    fn as_object(&self) -> Option<Vec<(String, Self)>> {
        if !self.0.is_object() || js_sys::Array::is_array(&self.0) {
            return None;
        }
        let entries = js_sys::Object::entries(self.0.unchecked_ref());
        Some(
            entries
                .iter()
                .filter_map(|e| {
                    let pair = js_sys::Array::from(&e);
                    Some((pair.get(0).as_string()?, Js(pair.get(1))))
                })
                .collect(),
        )
    }
}

/// Starts the banner with a policy (the object `JSON.parse` made of the
/// policy document). Called by the loader's `init()`; a second call
/// replaces the first.
#[wasm_bindgen(js_name = start)]
pub fn start(policy: JsValue) -> Result<(), JsValue> {
    let policy = Policy::from_value(&Js(policy)).map_err(err)?;
    let doc = dom::document()?;
    let consent = read_consent(&doc, &policy);
    let decision = decide(&policy, consent.as_ref(), signals(), dom::now_seconds());
    let langs = languages(&doc);
    let opts = EventListenerOptions::enable_prevent_default();
    let listeners = vec![
        EventListener::new_with_options(&doc, "click", opts, on_click),
        EventListener::new_with_options(&doc, "keydown", opts, on_keydown),
        EventListener::new_with_options(&doc, "submit", opts, |e| {
            if closest(&e.target().map(JsValue::from).unwrap_or(JsValue::NULL), "#consentry-banner").is_some()
            {
                e.prevent_default();
            }
        }),
    ];
    if let Some(server) = doc.get_element_by_id("consentry-banner") {
        server.set_attribute("data-consentry-hydrated", "")?;
    }
    let b = Banner {
        policy: policy.clone(),
        decision: decision.clone(),
        consent,
        langs: langs.clone(),
        _listeners: listeners,
        dialog: None,
    };
    let detail = snapshot(&b);
    STATE.with(|s| -> Result<(), JsValue> {
        *s.try_borrow_mut().map_err(|_| err("busy"))? = Some(b);
        Ok(())
    })?;
    apply::activate(&doc, &policy, &decision)?;
    let langs: Vec<&str> = langs.iter().map(String::as_str).collect();
    let t = policy.texts_for(&langs);
    apply::placeholders(
        &doc,
        &policy,
        &decision,
        t.get(consentry_core::TextKey::embed_notice),
        t.get(consentry_core::TextKey::embed_load),
    )?;
    refresh_chrome(&doc)?;
    dispatch(&doc, "consentry:ready", &detail);
    Ok(())
}

/// `consentry.get()`: categories and services granted, revision, date, id.
#[wasm_bindgen(js_name = get)]
pub fn get() -> JsValue {
    STATE.with(|s| s.try_borrow().ok().and_then(|g| g.as_ref().map(snapshot)).unwrap_or(JsValue::NULL))
}

/// `consentry.set({analytics: true, ...})`: records that choice (categories
/// not named are refused). Unknown category ids are an error.
#[wasm_bindgen(js_name = set)]
pub fn set(choice: JsValue) -> Result<(), JsValue> {
    let keys =
        js_sys::Object::keys(choice.dyn_ref::<js_sys::Object>().ok_or_else(|| err("set() takes an object"))?);
    let known = optional_ids();
    let all: Vec<String> = STATE.with(|s| {
        s.try_borrow()
            .ok()
            .and_then(|g| g.as_ref().map(|b| b.policy.categories().iter().map(|c| c.id.clone()).collect()))
            .unwrap_or_default()
    });
    let mut granted = Vec::new();
    for k in keys.iter().filter_map(|k| k.as_string()) {
        if !all.contains(&k) {
            return Err(err(format!("unknown category `{k}` (declared: {})", all.join(", "))));
        }
        let on = js_sys::Reflect::get(&choice, &JsValue::from_str(&k))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        if on && known.contains(&k) {
            granted.push(k);
        }
    }
    choose(granted)
}

/// `consentry.acceptAll()`.
#[wasm_bindgen(js_name = acceptAll)]
pub fn accept_all() -> Result<(), JsValue> {
    choose(optional_ids())
}

/// `consentry.rejectAll()`.
#[wasm_bindgen(js_name = rejectAll)]
pub fn reject_all() -> Result<(), JsValue> {
    choose(Vec::new())
}

/// `consentry.show()`: shows the banner again.
#[wasm_bindgen(js_name = show)]
pub fn show() -> Result<(), JsValue> {
    let doc = dom::document()?;
    let banner = STATE.with(|s| {
        s.try_borrow().ok().and_then(|g| {
            g.as_ref().map(|b| {
                let langs: Vec<&str> = b.langs.iter().map(String::as_str).collect();
                render_banner_html(&b.policy, &langs)
            })
        })
    });
    match doc.get_element_by_id("consentry-banner") {
        Some(e) => e.remove_attribute("hidden"),
        None => {
            if let (Some(Some(b)), Some(body)) = (banner, doc.body()) {
                body.append_child(&b)?;
            }
            Ok(())
        }
    }
}

/// `consentry.showPreferences()`: opens the preferences dialog.
#[wasm_bindgen(js_name = showPreferences)]
pub fn show_preferences() -> Result<(), JsValue> {
    open_dialog()
}

/// `consentry.hide()`: hides the banner and closes the dialog.
#[wasm_bindgen(js_name = hide)]
pub fn hide() -> Result<(), JsValue> {
    let doc = dom::document()?;
    close_dialog(&doc, true);
    if let Some(e) = doc.get_element_by_id("consentry-banner") {
        e.set_attribute("hidden", "")?;
    }
    Ok(())
}

/// `consentry.reset()`: forgets the choice (cookie and the services'
/// cookies) and asks again.
#[wasm_bindgen(js_name = reset)]
pub fn reset() -> Result<(), JsValue> {
    let doc = dom::document()?;
    let fx = STATE.with(|s| -> Result<Option<Effects>, JsValue> {
        let mut g = s.try_borrow_mut().map_err(|_| err("busy"))?;
        let Some(b) = g.as_mut() else { return Ok(None) };
        write_cookie(&doc, &b.policy, "", 0)?;
        let before = b.decision.clone();
        b.consent = None;
        b.decision = decide(&b.policy, None, signals(), dom::now_seconds());
        Ok(Some(Effects {
            policy: b.policy.clone(),
            before,
            after: b.decision.clone(),
            detail: snapshot(b),
            notify: true,
        }))
    })?;
    let Some(fx) = fx else { return Err(err("call init() first")) };
    apply::delete_refused_cookies(&doc, &fx.policy, &fx.after);
    close_dialog(&doc, false);
    run_effects(&doc, fx)
}
