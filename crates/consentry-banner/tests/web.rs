//! The banner's rules module in a real browser (headless Chromium through
//! wasm-bindgen-test-runner and chromedriver): `cargo xtask test` runs these.
//! The page layer around it is tested end to end in `tests/browser/`.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const POLICY: &str = r#"{"revision": 2, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
  "consent_endpoint": "/consentry/consent",
  "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-WBT12345"}, "cookies": ["_ga", "_ga_*"]}]}"#;

/// The `rules` of the ready policy the middleware or `consentry policy build` serves.
fn rules() -> String {
    let policy = consentry_core::Policy::from_json(POLICY).expect("policy");
    let ready: serde_json::Value = serde_json::from_str(&policy.to_ready_json(&["en"])).expect("ready");
    ready["rules"].as_str().expect("no rules").to_owned()
}

/// A consent id as the page layer makes it: 16 random bytes in base64url.
fn id(byte: u8) -> String {
    consentry_core::ConsentId::from_random([byte; 16]).as_str().to_owned()
}

fn state() -> serde_json::Value {
    serde_json::from_str(&consentry_banner::state()).expect("state JSON")
}

#[wasm_bindgen_test]
fn a_first_visit_needs_the_banner_and_grants_nothing_optional() {
    assert_eq!(
        consentry_banner::start(&rules(), "theme=dark", "", false, 1_000.0, ""),
        consentry_banner::STARTED
    );
    let s = state();
    assert_eq!(s["needsBanner"], true);
    assert_eq!(s["reason"], "no-consent");
    assert_eq!(s["categories"]["essential"], true);
    assert_eq!(s["categories"]["analytics"], false);
    assert_eq!(s["services"]["ga4"], false);
    assert_eq!(s["optional"], serde_json::json!(["analytics"]));
    assert_eq!(s["google"]["analytics_storage"], "denied");
    assert!(!consentry_banner::allows("analytics", true, "", false));
    assert!(!consentry_banner::allows("", false, "", false), "an element naming no gate never runs");
}

#[wasm_bindgen_test]
fn a_choice_returns_the_documented_cookie_and_the_receipt_request() {
    consentry_banner::start(&rules(), "", "", false, 1_000.0, "");
    let out = consentry_banner::choose("analytics~nope", &id(7), 1_000.0, true, false);
    let parts: Vec<&str> = out.split('\t').collect();
    let [cookie, endpoint, body] = parts.as_slice() else { panic!("{out}") };
    assert!(cookie.starts_with("consentry=v1.2.1000.analytics."), "{cookie}");
    assert!(cookie.ends_with("; Path=/; Max-Age=15552000; SameSite=Lax; Secure"), "{cookie}");
    assert_eq!(*endpoint, "/consentry/consent");
    assert_eq!(*body, r#"{"granted":["analytics"]}"#, "unknown ids are not recorded");
    let s = state();
    assert_eq!(s["categories"]["analytics"], true);
    assert_eq!(s["reason"], "consented");
    assert_eq!(s["date"], 1000);
    assert!(consentry_banner::allows("analytics", true, "ga4", true));
    assert!(consentry_banner::allows("", false, "ga4", true), "an absent data-category names no gate");
    assert!(
        !consentry_banner::allows("", true, "ga4", true),
        "an empty data-category names an unknown gate, as the server reads it"
    );
    assert_eq!(consentry_banner::refused_cookies("_ga=1; _ga_X=2; other=3"), "");
}

#[wasm_bindgen_test]
fn a_signal_decides_and_withdrawal_names_the_cookies_to_delete() {
    consentry_banner::start(&rules(), "", "", true, 1_000.0, "");
    let s = state();
    assert_eq!(s["needsBanner"], false);
    assert_eq!(s["signal"], true);
    assert_eq!(s["reason"], "gpc");
    assert_eq!(consentry_banner::refused_cookies("_ga=1; _ga_X=2; other=3; _ga=4"), "_ga\n_ga_X\n");
    let delete = consentry_banner::reset(2_000.0, false);
    assert_eq!(delete, "consentry=; Path=/; Max-Age=0; SameSite=Lax");
}

#[wasm_bindgen_test]
fn broken_rules_are_refused_with_their_code_and_grant_nothing() {
    consentry_banner::start(&rules(), "", "", false, 1_000.0, "");
    consentry_banner::choose("analytics", &id(1), 1_000.0, false, false);
    assert!(consentry_banner::allows("analytics", true, "", false));
    // A broken policy replaces the good one: from then on nothing is granted.
    assert_eq!(consentry_banner::start("revision\t1\ncolour\tred", "", "", false, 1.0, ""), 3);
    assert_eq!(consentry_banner::state(), "");
    assert!(!consentry_banner::allows("analytics", true, "", false));
    assert_eq!(consentry_banner::choose("analytics", &id(1), 1.0, false, false), "", "no cookie to write");
}

#[wasm_bindgen_test]
fn the_language_is_the_visitors_best_among_those_the_policy_carries() {
    consentry_banner::start(&rules(), "", "", false, 1_000.0, "");
    assert_eq!(consentry_banner::language("fr,en", "de-CH,en-GB"), "en");
    assert_eq!(consentry_banner::language("fr,en", "fr-CA"), "fr");
    assert_eq!(consentry_banner::language("fr,en", "ja"), "en", "the policy's default language");
}

#[wasm_bindgen_test]
fn the_model_the_server_found_applies_and_is_written_into_the_cookie() {
    // The page's <meta name="consentry-region" content="US-CA header opt-out">.
    consentry_banner::start(&rules(), "", "", false, 1_000.0, "opt-out");
    let s = state();
    assert_eq!(s["model"], "opt-out");
    assert_eq!(s["reason"], "not-opted-out");
    assert_eq!(s["categories"]["analytics"], true, "runs until the visitor opts out");
    assert_eq!(s["needsBanner"], true, "the notice is shown");
    let out = consentry_banner::choose("analytics", &id(7), 1_000.0, false, false);
    let cookie = out.split('\t').next().unwrap_or_default();
    assert!(cookie.starts_with("consentry=v2.2.1000.analytics.") && cookie.contains(".o;"), "{cookie}");
    // The same cookie where no model is said (the policy's default, opt-in): no consent.
    let value = cookie.split(';').next().unwrap_or_default();
    consentry_banner::start(&rules(), value, "", false, 1_000.0, "");
    let s = state();
    assert_eq!((s["model"].as_str(), s["categories"]["analytics"].as_bool()), (Some("opt-in"), Some(false)));
    assert_eq!(s["needsBanner"], true);
    // An unknown word is no model: the default applies.
    consentry_banner::start(&rules(), "", "", false, 1_000.0, "opt-whatever");
    assert_eq!(state()["model"], "opt-in");
}

#[wasm_bindgen_test]
fn a_single_service_is_recorded_and_allowed_on_its_own() {
    consentry_banner::start(&rules(), "", "", false, 1_000.0, "");
    assert_eq!(state()["of"]["ga4"], "analytics", "a choice may name a service; it is gated by its category");
    let out = consentry_banner::choose("ga4", &id(7), 1_000.0, false, false);
    let mut parts = out.split('\t');
    assert!(parts.next().unwrap_or_default().starts_with("consentry=v1.2.1000.ga4."), "{out}");
    assert_eq!(parts.nth(1), Some(r#"{"granted":["ga4"]}"#));
    let s = state();
    assert_eq!(
        (s["categories"]["analytics"].as_bool(), s["services"]["ga4"].as_bool()),
        (Some(false), Some(true))
    );
    assert!(consentry_banner::allows("analytics", true, "ga4", true));
    assert!(!consentry_banner::allows("analytics", true, "", false));
}

#[wasm_bindgen_test]
fn do_not_sell_keeps_a_service_granted_on_its_own() {
    consentry_banner::start(
        &rules(),
        "consentry=v1.2.900.ga4.AAAAAAAAAAAAAAAAAAAAAA",
        "",
        false,
        1_000.0,
        "opt-out",
    );
    let out = consentry_banner::choose("", &id(7), 1_000.0, false, true);
    assert!(out.starts_with("consentry=v2.2.1000.ga4."), "core's rule, not the page's list: {out}");
}

#[wasm_bindgen_test]
fn a_choice_with_an_id_that_is_no_consent_id_records_nothing() {
    consentry_banner::start(&rules(), "", "", false, 1_000.0, "");
    for bad in ["", "short", "not base64url: spaces and a colon", &"A".repeat(44)] {
        assert_eq!(consentry_banner::choose("analytics", bad, 1_000.0, false, false), "", "{bad:?}");
    }
    assert_eq!(state()["reason"], "no-consent", "the visitor is still asked");
}

#[wasm_bindgen_test]
fn the_one_export_answers_each_question_by_its_number() {
    // The page layer's way of asking: the texts NUL-separated.
    let ask = |q: u32, texts: &[&str], now: f64, flags: u32| {
        consentry_banner::ask(q, &texts.join("\0"), now, flags)
    };
    // 0: start, answering its code in decimal.
    assert_eq!(ask(0, &[&rules(), "", "1"], 1_000.0, 0), "0");
    assert_eq!(ask(0, &["revision\t1\ncolour\tred"], 1_000.0, 0), "3");
    // The flags' bit 0 is GPC.
    assert_eq!(ask(0, &[&rules()], 1_000.0, 1), "0");
    assert_eq!(state()["reason"], "gpc");
    // The fourth text is the model.
    ask(0, &[&rules(), "", "", "opt-out"], 1_000.0, 0);
    assert_eq!(state()["model"], "opt-out");
    ask(0, &[&rules()], 1_000.0, 0);
    assert_eq!(ask(1, &["fr,en", "fr-CA"], 0.0, 0), "fr");
    assert_eq!(ask(2, &[], 0.0, 0), consentry_banner::state());
    // 5: allows, with "has category" and "has service" as bits 0 and 1.
    assert_eq!(ask(5, &["analytics"], 0.0, 1), "");
    // 3: choose (bit 0 secure, bit 1 opt-out), then 5 and 6 see the choice.
    let out = ask(3, &["analytics", &id(3)], 1_000.0, 1);
    assert!(out.starts_with("consentry=v1.2.1000.analytics.") && out.contains("; Secure\t"), "{out}");
    assert_eq!(ask(5, &["analytics"], 0.0, 1), "1");
    assert_eq!(ask(5, &["", "ga4"], 0.0, 2), "1");
    assert_eq!(ask(5, &["", "ga4"], 0.0, 3), "", "an empty data-category names an unknown gate");
    assert_eq!(ask(6, &["_ga=1; other=2"], 0.0, 0), "");
    // 4: reset (bit 0 secure) forgets it.
    assert_eq!(ask(4, &[], 2_000.0, 0), "consentry=; Path=/; Max-Age=0; SameSite=Lax");
    assert_eq!(ask(6, &["_ga=1; other=2"], 0.0, 0), "_ga\n");
    assert_eq!(ask(7, &[], 0.0, 0), "", "an unknown question answers nothing");
}
