//! Applying a decision to the page without a reload: inert tags become live,
//! Google Consent Mode and Matomo are told, and the cookies of services that
//! lost consent are deleted.

use consentry_core::{Decision, MatomoConsentMode, Policy, ServiceConfig, ServiceKind};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, HtmlElement, HtmlScriptElement};

use crate::dom::{self, dom_add};

/// Activates every inert script, frame and image the decision now allows.
/// Scripts are replaced by fresh elements (a browser never runs a script
/// element whose type changed after insertion); external ones keep document
/// order (`async = false`).
pub fn activate(doc: &Document, policy: &Policy, decision: &Decision) -> Result<(), JsValue> {
    let marked = "script[type='text/plain'][data-category], script[type='text/plain'][data-service]";
    for old in dom::all(doc, marked) {
        let category = old.get_attribute("data-category");
        let service = old.get_attribute("data-service");
        if !decision.allows_marked(policy, category.as_deref(), service.as_deref()) {
            continue;
        }
        let fresh: HtmlScriptElement = doc.create_element("script")?.unchecked_into();
        let names = old.get_attribute_names();
        for i in 0..names.length() {
            let Some(name) = names.get(i).as_string() else { continue };
            if name == "type" {
                continue;
            }
            if let Some(v) = old.get_attribute(&name) {
                fresh.set_attribute(&name, &v)?;
            }
        }
        if let Some(t) = old.get_attribute("data-type").filter(|t| !t.is_empty()) {
            fresh.set_attribute("type", &t)?;
        }
        if old.has_attribute("src") && !old.has_attribute("async") {
            fresh.set_async(false);
        }
        // A script inserted by script runs without the page's nonce unless copied.
        if let Some(n) = old.dyn_ref::<web_sys::HtmlElement>().map(|h| h.nonce()).filter(|n| !n.is_empty()) {
            fresh.set_nonce(&n);
        }
        fresh.set_text(&old.text_content().unwrap_or_default())?;
        old.replace_with_with_node_1(&fresh)?;
    }
    for frame in dom::all(doc, "iframe[data-src], img[data-src]") {
        if frame.has_attribute("src") {
            continue;
        }
        let category = frame.get_attribute("data-category");
        let service = frame.get_attribute("data-service");
        if decision.allows_marked(policy, category.as_deref(), service.as_deref()) {
            if let Some(src) = frame.get_attribute("data-src") {
                frame.set_attribute("src", &src)?;
            }
            remove_placeholder(doc, &frame);
        }
    }
    Ok(())
}

/// Puts a click-to-load notice before every embed whose category is refused.
pub fn placeholders(
    doc: &Document,
    policy: &Policy,
    decision: &Decision,
    notice: &str,
    button: &str,
) -> Result<Vec<(Element, String)>, JsValue> {
    let mut created = Vec::new();
    for frame in dom::all(doc, "iframe[data-src]") {
        if frame.has_attribute("src") {
            continue;
        }
        let category = frame.get_attribute("data-category");
        let service = frame.get_attribute("data-service");
        if decision.allows_marked(policy, category.as_deref(), service.as_deref()) {
            continue;
        }
        let prev = frame.previous_element_sibling();
        if prev.as_ref().is_some_and(|p| p.class_list().contains("consentry-placeholder")) {
            continue;
        }
        let cat = category
            .or_else(|| service.as_deref().and_then(|s| policy.service(s)).map(|s| s.category.clone()))
            .unwrap_or_default();
        if cat.is_empty() {
            continue;
        }
        // The placeholder takes the frame's box (size, and inline or block),
        // so swapping one for the other moves nothing on the page: no layout
        // shift. Sizes go through the CSSOM, which a strict CSP allows.
        let inline = dom::window()?
            .get_computed_style(&frame)?
            .is_some_and(|c| c.get_property_value("display").is_ok_and(|d| d == "inline"));
        let class = if inline {
            "consentry consentry-placeholder consentry-placeholder--inline"
        } else {
            "consentry consentry-placeholder"
        };
        let ph = dom::el(doc, "div", class, &[("data-consentry-placeholder", &cat)], None)?;
        let inner = dom::el(doc, "div", "consentry-placeholder__inner", &[], None)?;
        dom_add(&inner, dom::el(doc, "p", "", &[], Some(notice))?)?;
        let b = dom::el(
            doc,
            "button",
            "consentry-btn",
            &[("type", "button"), ("data-consentry-load", &cat)],
            Some(button),
        )?;
        inner.append_child(&b)?;
        ph.append_child(&inner)?;
        let rect = frame.get_bounding_client_rect();
        if let (true, Some(ph)) = (rect.height() > 0.0, ph.dyn_ref::<HtmlElement>()) {
            let style = ph.style();
            style.set_property("width", &px(rect.width()))?;
            style.set_property("min-height", &px(rect.height()))?;
        }
        frame.before_with_node_1(&ph)?;
        // The empty frame would show as a blank box under the notice.
        if !frame.has_attribute("hidden") {
            frame.set_attribute("hidden", "")?;
            frame.set_attribute("data-consentry-hid", "")?;
        }
        created.push((b, cat));
    }
    Ok(created)
}

/// A CSS length in whole pixels.
fn px(v: f64) -> String {
    let mut s = (v.round() as i64).to_string();
    s.push_str("px");
    s
}

fn remove_placeholder(_doc: &Document, frame: &Element) {
    if frame.has_attribute("data-consentry-hid") {
        let _ = frame.remove_attribute("hidden");
        let _ = frame.remove_attribute("data-consentry-hid");
    }
    if let Some(p) = frame.previous_element_sibling() {
        if p.class_list().contains("consentry-placeholder") {
            p.remove();
        }
    }
}

fn call(target: &JsValue, name: &str, args: &[JsValue]) {
    let Ok(f) = js_sys::Reflect::get(target, &JsValue::from_str(name)) else { return };
    let Some(f) = f.dyn_ref::<js_sys::Function>() else { return };
    let arr: js_sys::Array = args.iter().collect();
    let _ = f.apply(target, &arr);
}

fn obj(pairs: &[(&str, &str)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    o.into()
}

/// `gtag('consent','update',…)` and Matomo's consent API, after a choice.
pub fn notify_tools(policy: &Policy, decision: &Decision) {
    let Some(win) = web_sys::window() else { return };
    let win: JsValue = win.into();
    let google: Vec<_> =
        policy.services().iter().filter(|s| matches!(s.kind, ServiceKind::Ga4 | ServiceKind::Gtm)).collect();
    if !google.is_empty() {
        let g = |b: bool| if b { "granted" } else { "denied" };
        let analytics = google.iter().any(|s| decision.allows(&s.category));
        let ads = decision.allows("advertising");
        let update = obj(&[
            ("ad_storage", g(ads)),
            ("ad_user_data", g(ads)),
            ("ad_personalization", g(ads)),
            ("analytics_storage", g(analytics)),
        ]);
        call(&win, "gtag", &["consent".into(), "update".into(), update]);
    }
    for s in policy.services() {
        let ServiceConfig::Matomo(m) = &s.config else { continue };
        let Ok(paq) = js_sys::Reflect::get(&win, &JsValue::from_str("_paq")) else { continue };
        if paq.is_undefined() || paq.is_null() {
            continue;
        }
        let granted = decision.allows_service(&s.id);
        let command = match (m.consent_mode, granted) {
            (MatomoConsentMode::RequireConsent, true) => "rememberConsentGiven",
            (MatomoConsentMode::RequireConsent, false) => "forgetConsentGiven",
            (MatomoConsentMode::RequireCookieConsent, true) => "rememberCookieConsentGiven",
            (MatomoConsentMode::RequireCookieConsent, false) => "forgetCookieConsentGiven",
        };
        let arr: js_sys::Array = [JsValue::from_str(command)].iter().collect();
        call(&paq, "push", &[arr.into()]);
    }
}

/// Names of the cookies visible to the page.
fn cookie_names(doc: &Document) -> Vec<String> {
    let Some(html) = doc.dyn_ref::<web_sys::HtmlDocument>() else { return Vec::new() };
    let all = html.cookie().unwrap_or_default();
    all.split(';')
        .filter_map(|p| p.split('=').next())
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect()
}

/// Deletes the cookies of every service the decision no longer allows, on
/// this host and its parent domains, for `/` and every prefix of the path.
pub fn delete_refused_cookies(doc: &Document, policy: &Policy, decision: &Decision) -> Vec<String> {
    let names = cookie_names(doc);
    let Some(html) = doc.dyn_ref::<web_sys::HtmlDocument>() else { return Vec::new() };
    let location = doc.location();
    let host = location.as_ref().and_then(|l| l.hostname().ok()).unwrap_or_default();
    let path = location.as_ref().and_then(|l| l.pathname().ok()).unwrap_or_else(|| "/".to_owned());
    let mut paths = vec!["/".to_owned()];
    let mut acc = String::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        acc.push('/');
        acc.push_str(seg);
        paths.push(acc.clone());
        paths.push(format!("{acc}/"));
    }
    let mut domains = vec![String::new()];
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() > 1 && !host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        for i in 0..labels.len() - 1 {
            domains.push(format!("; Domain={}", labels[i..].join(".")));
        }
    }
    let mut deleted = Vec::new();
    for s in policy.services() {
        if decision.service_may_run(s) {
            continue;
        }
        for name in &names {
            if s.cookies.iter().any(|g| g.matches(name)) && !deleted.contains(name) {
                for p in &paths {
                    for d in &domains {
                        let _ = html.set_cookie(&format!("{name}=; Max-Age=0; Path={p}{d}"));
                    }
                }
                deleted.push(name.clone());
            }
        }
    }
    deleted
}
