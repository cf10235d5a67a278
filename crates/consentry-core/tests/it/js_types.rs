//! The npm package's types (`www/src/consentry.d.ts`) and page layer
//! (`www/src/consentry.js`) cannot drift from core: the text keys a policy
//! may write and the reasons a state reports are the ones core knows, no more
//! and no fewer, and the page layer uses the markup contract's names.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use consentry_core::{Reason, TextKey};

fn types() -> String {
    let path = format!("{}/../../www/src/consentry.d.ts", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The text between `start` and the next line that is exactly `end`.
fn block<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no `{start}`"));
    let rest = &text[from..];
    let to = rest.lines().position(|l| l == end).unwrap_or_else(|| panic!("no end after `{start}`"));
    let len: usize = rest.lines().take(to).map(|l| l.len() + 1).sum();
    &rest[..len]
}

#[test]
fn the_text_keys_in_the_types_are_cores() {
    let text = types();
    let fields: Vec<&str> = block(&text, "export interface PolicyTexts {", "}")
        .lines()
        .skip(1)
        .filter_map(|l| l.trim().split_once("?:").map(|(k, _)| k))
        .filter(|k| !matches!(*k, "privacy_policy_url" | "categories"))
        .collect();
    let keys: Vec<&str> = TextKey::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(fields, keys, "PolicyTexts in consentry.d.ts, in core's order");
}

#[test]
fn the_reasons_in_the_types_are_cores() {
    let text = types();
    let union: Vec<&str> = block(&text, "export type Reason =", "")
        .lines()
        .skip(1)
        .filter_map(|l| {
            l.trim().trim_start_matches("| ").trim_end_matches(';').strip_prefix('"')?.strip_suffix('"')
        })
        .collect();
    let reasons: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(union, reasons);
}

fn page_layer() -> String {
    let path = format!("{}/../../www/src/consentry.js", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_page_layer_uses_the_markup_contracts_names() {
    use consentry_core::markup::{
        ACTION_ATTR, Action, BANNER_ID, DIALOG_ID, LEGACY_ACTION_ATTR, POLICY_SCRIPT_ID,
    };
    let js = page_layer();
    for (name, value) in [("BANNER", BANNER_ID), ("DIALOG", DIALOG_ID), ("POLICY", POLICY_SCRIPT_ID)] {
        assert!(
            js.contains(&format!("const {name} = \"{value}\";")),
            "consentry.js: const {name} = \"{value}\""
        );
    }
    for attr in [ACTION_ATTR, LEGACY_ACTION_ATTR] {
        assert!(js.contains(&format!("[{attr}]")), "consentry.js listens to [{attr}]");
    }
    // Every action is one the click handler knows, and it knows no other.
    let handler = block(&js, "function onAction(action) {", "}");
    let mut named: Vec<&str> =
        handler.split("action === \"").skip(1).filter_map(|s| s.split('"').next()).collect();
    named.sort_unstable();
    let mut core: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    core.sort_unstable();
    assert_eq!(named, core);
}

#[test]
fn the_page_layer_restores_exactly_the_attributes_the_server_gates() {
    use consentry_core::markup::{GATE_META, GATED_ATTR, GATED_ATTRIBUTES, GATED_MARKUP, ROOT_ATTR};
    let js = page_layer();
    let between = |start: &str, end: char| -> String {
        let from = js.find(start).map(|i| i + start.len()).unwrap_or_else(|| panic!("no `{start}`"));
        js[from..].split(end).next().unwrap_or_default().to_owned()
    };
    let gated = between("const GATED_ATTRIBUTES = \"", '"');
    assert_eq!(gated.split(' ').collect::<Vec<_>>(), GATED_ATTRIBUTES, "consentry.js GATED_ATTRIBUTES");
    let markup = between("const MARKUP = [", ']');
    let markup: Vec<&str> =
        markup.split('"').enumerate().filter(|(i, _)| i % 2 == 1).map(|(_, s)| s).collect();
    assert_eq!(markup, GATED_MARKUP, "consentry.js MARKUP");
    assert!(js.contains(&format!("const GATE = \"{GATE_META}\";")), "consentry.js: const GATE");
    assert!(js.contains(&format!("getAttribute(\"{GATED_ATTR}\")")), "consentry.js reads {GATED_ATTR}");
    assert!(js.contains(&format!("getAttribute(\"{ROOT_ATTR}\")")), "consentry.js reads {ROOT_ATTR}");
}

/// The strings of a JavaScript array literal `const NAME = [...]` in the page layer.
fn js_list(js: &str, name: &str) -> Vec<String> {
    let start = format!("const {name} = [");
    let from = js.find(&start).map(|i| i + start.len()).unwrap_or_else(|| panic!("no `{start}`"));
    let body = js[from..].split(']').next().unwrap_or_default();
    body.split('"').enumerate().filter(|(i, _)| i % 2 == 1).map(|(_, s)| s.to_owned()).collect()
}

#[test]
fn the_page_layer_applies_cores_rules_for_urls_and_choices() {
    use consentry_core::markup::{ACTIVATABLE_SCHEMES, Action};
    let js = page_layer();
    assert_eq!(js_list(&js, "SCHEMES"), ACTIVATABLE_SCHEMES, "consentry.js SCHEMES");
    let anywhere: Vec<&str> =
        Action::ALL.iter().filter(|a| !a.records_choice()).map(|a| a.as_str()).collect();
    assert_eq!(js_list(&js, "ANYWHERE"), anywhere, "consentry.js ANYWHERE");
}
