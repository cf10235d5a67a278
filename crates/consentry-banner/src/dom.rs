//! Small helpers over web-sys: texts are always inserted as text nodes, never
//! parsed as HTML.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, HtmlElement, Window};

pub fn window() -> Result<Window, JsValue> {
    web_sys::window().ok_or_else(|| JsValue::from_str("consentry: no window"))
}

pub fn document() -> Result<Document, JsValue> {
    window()?.document().ok_or_else(|| JsValue::from_str("consentry: no document"))
}

/// `<tag class=…>` with attributes and, optionally, a text child.
pub fn el(
    doc: &Document,
    tag: &str,
    class: &str,
    attrs: &[(&str, &str)],
    text: Option<&str>,
) -> Result<Element, JsValue> {
    let e = doc.create_element(tag)?;
    if !class.is_empty() {
        e.set_attribute("class", class)?;
    }
    for (k, v) in attrs {
        e.set_attribute(k, v)?;
    }
    if let Some(t) = text {
        e.set_text_content(Some(t));
    }
    Ok(e)
}

pub fn html_el(e: &Element) -> Option<HtmlElement> {
    e.clone().dyn_into::<HtmlElement>().ok()
}

/// Every element matching `selector`, as a Vec (NodeList is live-ish and awkward).
pub fn all(root: &Document, selector: &str) -> Vec<Element> {
    let Ok(list) = root.query_selector_all(selector) else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.dyn_into::<Element>().ok()).collect()
}

pub fn all_in(root: &Element, selector: &str) -> Vec<Element> {
    let Ok(list) = root.query_selector_all(selector) else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.dyn_into::<Element>().ok()).collect()
}

/// A property of a JS object, if it is a string.
pub fn string_prop(target: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(target, &JsValue::from_str(key)).ok()?.as_string()
}

pub fn now_seconds() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// Appends `child` to `parent`.
pub fn dom_add(parent: &Element, child: Element) -> Result<(), JsValue> {
    parent.append_child(&child)?;
    Ok(())
}
