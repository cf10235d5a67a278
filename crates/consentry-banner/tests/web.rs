//! DOM behaviour of the banner in a real browser (headless Chromium through
//! wasm-bindgen-test-runner and chromedriver): `cargo xtask test` runs these.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsValue;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const POLICY: &str = r#"{"revision": 2, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
  "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-WBT12345"}, "cookies": ["_ga", "_ga_*"]}],
  "texts": {"en": {"title": "<b>Not bold</b>"}}}"#;

fn doc() -> web_sys::Document {
    web_sys::window().and_then(|w| w.document()).unwrap_or_else(|| panic!("document"))
}

fn cookie() -> String {
    use wasm_bindgen::JsCast;
    doc().dyn_ref::<web_sys::HtmlDocument>().and_then(|d| d.cookie().ok()).unwrap_or_default()
}

fn clear() {
    use wasm_bindgen::JsCast;
    if let Some(d) = doc().dyn_ref::<web_sys::HtmlDocument>() {
        for c in ["consentry", "_ga", "_ga_X"] {
            let _ = d.set_cookie(&format!("{c}=; Max-Age=0; Path=/"));
        }
    }
    // Only our elements: the test runner reports through its own ones.
    for sel in ["#consentry-banner", "#consentry-preferences", ".consentry-settings"] {
        while let Some(e) = doc().query_selector(sel).ok().flatten() {
            e.remove();
        }
    }
}

fn start() {
    let policy = js_sys::JSON::parse(POLICY).unwrap_or_else(|_| panic!("policy JSON"));
    consentry_banner::start(policy).unwrap_or_else(|e| panic!("start: {e:?}"));
}

#[wasm_bindgen_test]
fn a_first_visit_draws_the_banner_with_texts_as_text() {
    clear();
    start();
    let banner = doc().get_element_by_id("consentry-banner").unwrap_or_else(|| panic!("banner drawn"));
    assert_eq!(banner.get_attribute("role").as_deref(), Some("region"));
    let title = doc().get_element_by_id("consentry-banner-title").unwrap_or_else(|| panic!("title"));
    assert_eq!(title.text_content().as_deref(), Some("<b>Not bold</b>"));
    assert_eq!(title.child_element_count(), 0, "policy texts are never parsed as HTML");
    let actions: Vec<String> = (0..3)
        .filter_map(|i| banner.query_selector_all("[data-consentry-action]").ok()?.item(i))
        .filter_map(|n| {
            wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok()?.get_attribute("data-consentry-action")
        })
        .collect();
    assert_eq!(actions, ["accept-all", "reject-all", "preferences"]);
}

#[wasm_bindgen_test]
fn accept_all_writes_the_documented_cookie_and_hides_the_banner() {
    clear();
    start();
    consentry_banner::accept_all().unwrap_or_else(|e| panic!("{e:?}"));
    let c = cookie();
    assert!(c.contains("consentry=v1.2."), "{c}");
    assert!(c.contains(".analytics."), "{c}");
    assert!(doc().get_element_by_id("consentry-banner").is_none());
    assert!(doc().query_selector(".consentry-settings").ok().flatten().is_some());
    let state = consentry_banner::get();
    let cats = js_sys::Reflect::get(&state, &JsValue::from_str("categories")).unwrap_or(JsValue::NULL);
    assert_eq!(
        js_sys::Reflect::get(&cats, &JsValue::from_str("analytics")).ok().and_then(|v| v.as_bool()),
        Some(true)
    );
}

#[wasm_bindgen_test]
fn the_dialog_lists_categories_with_none_pre_ticked() {
    clear();
    start();
    consentry_banner::show_preferences().unwrap_or_else(|e| panic!("{e:?}"));
    let dialog = doc().get_element_by_id("consentry-preferences").unwrap_or_else(|| panic!("dialog"));
    assert_eq!(dialog.get_attribute("aria-modal").as_deref(), Some("true"));
    let toggle = doc().get_element_by_id("consentry-toggle-analytics").unwrap_or_else(|| panic!("toggle"));
    assert!(!toggle.has_attribute("checked"), "nothing optional is pre-ticked");
    let essential = doc().get_element_by_id("consentry-toggle-essential").unwrap_or_else(|| panic!("toggle"));
    assert!(essential.has_attribute("disabled") && essential.has_attribute("checked"));
    let label = doc().query_selector("label[for='consentry-toggle-analytics']").ok().flatten();
    assert!(label.is_some(), "every toggle is labelled");
    consentry_banner::hide().unwrap_or_else(|e| panic!("{e:?}"));
    assert!(doc().get_element_by_id("consentry-preferences").is_none());
}

#[wasm_bindgen_test]
fn an_invalid_policy_is_an_error_naming_the_field() {
    let bad = js_sys::JSON::parse(r#"{"revision": 1, "categories": [{"id": "a", "colour": 1}]}"#)
        .unwrap_or(JsValue::NULL);
    let e = consentry_banner::start(bad).err().unwrap_or_else(|| panic!("accepted a bad policy"));
    let msg = js_sys::Error::from(e).message().as_string().unwrap_or_default();
    assert!(msg.contains("categories[0].colour"), "{msg}");
}
