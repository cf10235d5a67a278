//! The policy builder for JavaScript: consentry-core's validator and
//! ready-policy writer, compiled to WebAssembly.
//!
//! The banner itself reads only ready policies (see
//! [`consentry_core::ready`]); this module, much larger because it holds the
//! whole validator and the language packs, is fetched only when a page hands
//! the banner a policy source instead, and runs in Node for front-end
//! projects (`npx consentry-policy build policy.json --out dist/`). Its
//! output is byte for byte what `consentry policy build` writes.

use consentry_core::Policy;
use wasm_bindgen::prelude::*;

/// What `npx consentry-policy build` writes: the ready policy (JSON text)
/// for `languages` as `consentry policy build --lang` takes it (`all`, a
/// comma-separated list, or nothing: the languages the policy writes texts
/// for). Throws an `Error` naming the JSON path of the first problem.
#[wasm_bindgen(js_name = build)]
pub fn build(source: &str, languages: Option<String>) -> Result<String, JsValue> {
    let policy = read(source)?;
    let langs = policy.build_languages(languages.as_deref()).map_err(|e| js_sys::Error::new(&e))?;
    Ok(policy.to_ready_json(&langs))
}

/// What the banner's loader asks for when a page hands it a policy source:
/// the ready policy in the best of the visitor's `preferred` languages.
#[wasm_bindgen(js_name = readyFor)]
pub fn ready_for(source: &str, preferred: Vec<String>) -> Result<String, JsValue> {
    let policy = read(source)?;
    let preferred: Vec<&str> = preferred.iter().map(String::as_str).collect();
    let lang = policy.texts_for(&preferred).lang();
    Ok(policy.to_ready_json(&[lang]))
}

fn read(source: &str) -> Result<Policy, JsValue> {
    Policy::from_json(source).map_err(|e| js_sys::Error::new(&e.to_string()).into())
}

/// Validates a policy source; throws like [`build`], returns nothing.
#[wasm_bindgen(js_name = check)]
pub fn check(source: &str) -> Result<(), JsValue> {
    read(source).map(|_| ())
}
