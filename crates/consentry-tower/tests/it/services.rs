//! Consent per service through the layer, over HTTP: `{"granted": ["ga4"]}`
//! grants Google Analytics alone; the page then carries GA live and Tag
//! Manager inert; the receipt records the service.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use crate::common;

use std::sync::Arc;

use common::{app, get_page, live, post_json, preset, seed_page, send, set_cookie_value};
use consentry_core::{ChoiceMethod, Consent};
use consentry_tower::{ConsentLayer, MemoryStore};

#[tokio::test]
async fn a_service_granted_on_its_own_runs_alone() {
    let store = Arc::new(MemoryStore::new());
    let router = app(
        ConsentLayer::new(preset("redis")).inject_services(false).receipts(store.clone()),
        seed_page("en"),
    );
    let r = send(router.clone(), post_json(r#"{"granted": ["ga4"]}"#, &[])).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["granted"], serde_json::json!(["essential", "account", "ga4"]));
    assert_eq!(body["method"], "custom");
    let value = set_cookie_value(&r);
    let consent = Consent::decode(&value).unwrap_or_else(|e| panic!("{e}: {value}"));
    assert_eq!(consent.granted(), ["ga4"]);
    assert!(value.starts_with("v1."), "an opt-in consent, same version as before: {value}");
    let receipts = store.all();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].method, ChoiceMethod::Custom);
    assert!(receipts[0].denied.contains(&"analytics".to_owned()), "the category is not granted whole");

    let cookie = format!("consentry={value}");
    let page = get_page(&router, &[("cookie", cookie.as_str())]).await;
    let l = live(&page.text());
    assert!(l.any_url_contains("/_trackers/gtag/js"), "GA runs");
    assert!(l.any_inline_contains("gtag('config'"), "and its inline snippet");
    assert!(!l.any_url_contains("/_trackers/gtm.js"), "Tag Manager, same category, stays inert");
    assert!(!l.any_url_contains("/_trackers/ads/"));

    // Granting the category later covers its services: no withdrawal.
    let headers = [("cookie", cookie.as_str())];
    let r = send(router.clone(), post_json(r#"{"granted": ["analytics"]}"#, &headers)).await;
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["method"], "custom");
    // And turning GA off again is a withdrawal.
    let r = send(router, post_json(r#"{"granted": []}"#, &headers)).await;
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["method"], "withdrawal");
}
