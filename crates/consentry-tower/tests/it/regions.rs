//! The law of the visitor's place, through the layer over HTTP: a region
//! from headers the operator trusts (here Cloudflare's), never from one
//! nobody named; the opt-out model's notice, link, GPC confirmation and
//! one-click opt-out; the opt-in model unchanged.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use crate::common;

use std::sync::Arc;

use axum::body::Body;
use common::{app, consent_cookie, get_page, live, preset, request, seed_page, send, set_cookie_value};
use consentry_core::{ChoiceMethod, Consent, Model};
use consentry_tower::{ConsentLayer, MemoryStore, RegionHeaders};

const CALIFORNIA: &[(&str, &str)] = &[("cf-ipcountry", "US"), ("cf-region-code", "CA")];
const FRANCE: &[(&str, &str)] = &[("cf-ipcountry", "FR")];

fn trusting(store: Option<Arc<MemoryStore>>) -> axum::Router {
    let mut layer =
        ConsentLayer::new(preset("redis")).inject_services(false).region_headers(RegionHeaders::cloudflare());
    if let Some(s) = store {
        layer = layer.receipts(s);
    }
    app(layer, seed_page("en"))
}

fn with<'a>(extra: &[(&'a str, &'a str)], more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    extra.iter().chain(more).copied().collect()
}

fn banner_model(html: &str) -> Option<&'static str> {
    if !html.contains("id=\"consentry-banner\"") {
        None
    } else if html.contains("data-consentry-model=\"opt-out\"") {
        Some("opt-out")
    } else if html.contains("data-consentry-model=\"notice\"") {
        Some("notice")
    } else {
        Some("opt-in")
    }
}

#[tokio::test]
async fn california_first_visit_runs_with_a_notice_and_the_do_not_sell_link() {
    let r = get_page(&trusting(None), CALIFORNIA).await;
    let html = r.text();
    assert_eq!(banner_model(&html), Some("opt-out"), "{html}");
    assert!(html.contains("Do Not Sell or Share My Personal Information"), "the statutory label, in English");
    assert!(
        html.contains("data-consentry-action=\"opt-out\"") && html.contains("value=\"opt-out\""),
        "one click, a form"
    );
    assert!(
        !html.contains("class=\"consentry-optout__link\""),
        "the persistent link waits until the notice is gone"
    );
    assert!(html.contains("<meta name=\"consentry-region\" content=\"US-CA header opt-out\" />"));
    let l = live(&html);
    for t in ["/_trackers/gtag/js", "/_trackers/gtm.js", "/_trackers/ads/", "/_trackers/video/"] {
        assert!(l.any_url_contains(t), "{t} runs until the visitor opts out");
    }
    assert_eq!(r.header("tk"), Some("T"));
}

#[tokio::test]
async fn california_with_gpc_is_opted_out_of_sale_and_told_so() {
    let r = get_page(&trusting(None), &with(CALIFORNIA, &[("sec-gpc", "1")])).await;
    let html = r.text();
    assert_eq!(banner_model(&html), None, "GPC answered for the visitor");
    assert!(
        html.contains("role=\"status\"") && html.contains("Global Privacy Control"),
        "confirmation shown"
    );
    assert!(!html.contains("class=\"consentry-optout__link\""), "already opted out: no link");
    let l = live(&html);
    assert!(
        l.any_url_contains("/_trackers/gtag/js") && l.any_url_contains("/_trackers/gtm.js"),
        "analytics is not sold"
    );
    assert!(!l.any_url_contains("/_trackers/ads/"), "advertising is off");
    assert!(!l.any_url_contains("/_trackers/video/"), "third-party is marked sale_sharing: off");
}

#[tokio::test]
async fn the_eea_flow_is_unchanged() {
    for headers in [FRANCE, &[("cf-ipcountry", "DE"), ("cf-region-code", "BY")][..], &[][..]] {
        let r = get_page(&trusting(None), headers).await;
        let html = r.text();
        assert_eq!(banner_model(&html), Some("opt-in"), "{headers:?}");
        let l = live(&html);
        for t in ["/_trackers/gtag/js", "/_trackers/gtm.js", "/_trackers/ads/", "/_trackers/video/"] {
            assert!(!l.any_url_contains(t), "{headers:?}: {t} inert before consent");
        }
        assert_eq!(html.contains("consentry-region"), !headers.is_empty());
        assert!(!html.contains("class=\"consentry-optout__link\""));
        assert_eq!(r.header("tk"), Some("N"));
    }
}

#[tokio::test]
async fn a_header_nobody_named_moves_no_one() {
    // The operator did not name CF-IPCountry: a visitor sending it stays opt-in.
    let untrusting = app(ConsentLayer::new(preset("redis")).inject_services(false), seed_page("en"));
    let r = get_page(&untrusting, CALIFORNIA).await;
    assert_eq!(banner_model(&r.text()), Some("opt-in"));
    assert!(!live(&r.text()).any_url_contains("/_trackers/ads/"));
    assert!(!r.text().contains("consentry-region"));
    // Trusting Vercel's headers, Cloudflare's are just as foreign.
    let vercel = app(
        ConsentLayer::new(preset("redis")).inject_services(false).region_headers(RegionHeaders::vercel()),
        seed_page("en"),
    );
    assert_eq!(banner_model(&get_page(&vercel, CALIFORNIA).await.text()), Some("opt-in"));
    let r = get_page(&vercel, &[("x-vercel-ip-country", "US"), ("x-vercel-ip-country-region", "CA")]).await;
    assert_eq!(banner_model(&r.text()), Some("opt-out"));
    // A second copy of the trusted header (someone besides the CDN added
    // one): the region is unknown, so the default (opt-in) applies.
    let r = get_page(&trusting(None), &with(CALIFORNIA, &[("cf-ipcountry", "US")])).await;
    assert_eq!(banner_model(&r.text()), Some("opt-in"));
    // A US state without an opt-out law: the policy's default (opt-in).
    let r = get_page(&trusting(None), &[("cf-ipcountry", "US"), ("cf-region-code", "WA")]).await;
    assert_eq!(banner_model(&r.text()), Some("opt-in"));
}

#[tokio::test]
async fn one_click_opt_out_without_javascript_is_recorded_and_kept() {
    let store = Arc::new(MemoryStore::new());
    let router = trusting(Some(store.clone()));
    let headers = with(
        CALIFORNIA,
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("host", "site.example"),
            ("origin", "http://site.example"),
        ],
    );
    let r = send(
        router.clone(),
        request("POST", "/consentry/consent", &headers, "granted=opt-out&return_to=%2F"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let value = set_cookie_value(&r);
    let consent = Consent::decode(&value).unwrap_or_else(|e| panic!("{e}: {value}"));
    assert!(value.starts_with("v2.") && value.ends_with(".o"), "written under opt-out: {value}");
    assert_eq!(consent.model(), Model::OptOut);
    assert_eq!(consent.granted(), ["analytics"], "everything but sale/sharing");
    let receipts = store.all();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].method, ChoiceMethod::OptOut);
    assert_eq!(receipts[0].denied, ["advertising", "third-party"]);

    // Back on a page in California: no banner, no link, ads inert, GA live.
    let cookie = format!("consentry={value}");
    let page = get_page(&router, &with(CALIFORNIA, &[("cookie", cookie.as_str())])).await;
    let html = page.text();
    assert_eq!(banner_model(&html), None);
    assert!(!html.contains("class=\"consentry-optout__link\""));
    let l = live(&html);
    assert!(l.any_url_contains("/_trackers/gtag/js") && !l.any_url_contains("/_trackers/ads/"));

    // The same cookie in France is no consent: asked, everything inert.
    let page = get_page(&router, &with(FRANCE, &[("cookie", cookie.as_str())])).await;
    assert_eq!(banner_model(&page.text()), Some("opt-in"));
    assert!(!live(&page.text()).any_url_contains("/_trackers/gtag/js"));
}

#[tokio::test]
async fn the_json_endpoint_accepts_opt_out_and_reports_the_model() {
    let router = trusting(None);
    let headers = with(CALIFORNIA, &[("content-type", "application/json"), ("host", "site.example")]);
    let r =
        send(router.clone(), request("POST", "/consentry/consent", &headers, r#"{"granted": "opt-out"}"#))
            .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["method"], "opt-out");
    assert_eq!(body["model"], "opt-out");
    // Accept all in France is an opt-in consent (a version-1 cookie, as before).
    let headers = with(FRANCE, &[("content-type", "application/json"), ("host", "site.example")]);
    let r = send(router, request("POST", "/consentry/consent", &headers, r#"{"granted": "all"}"#)).await;
    let set = r.header("set-cookie").unwrap_or_default();
    assert!(set.starts_with("consentry=v1."), "{set}");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["model"], "opt-in");
}

#[tokio::test]
async fn an_opt_in_consent_travels_to_california_unchanged() {
    let policy = preset("redis");
    let cookie = consent_cookie(&policy, &["analytics"]);
    let r = send(
        trusting(None),
        request("GET", "/", &with(CALIFORNIA, &[("cookie", cookie.as_str())]), Body::empty()),
    )
    .await;
    let html = r.text();
    assert_eq!(banner_model(&html), None);
    let l = live(&html);
    assert!(l.any_url_contains("/_trackers/gtag/js"), "granted analytics");
    assert!(
        !l.any_url_contains("/_trackers/ads/") && !l.any_url_contains("/_trackers/video/"),
        "refused stays refused"
    );
    assert!(!html.contains("class=\"consentry-optout__link\""), "nothing left to opt out of");
}

#[tokio::test]
async fn after_the_notice_the_do_not_sell_link_stays_on_every_page() {
    let policy = preset("redis");
    let id = consentry_core::ConsentId::from_random([3; 16]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let dismissed =
        Consent::new(policy.revision(), now - 60, ["analytics", "advertising", "third-party"], id)
            .under(Model::OptOut)
            .encode();
    let cookie = format!("consentry={dismissed}");
    let r = get_page(&trusting(None), &with(CALIFORNIA, &[("cookie", cookie.as_str())])).await;
    let html = r.text();
    assert_eq!(banner_model(&html), None);
    assert!(
        html.contains("class=\"consentry-optout\"")
            && html.contains("class=\"consentry-optout__link\" data-consentry-action=\"opt-out\""),
        "{html}"
    );
    assert!(html.contains("name=\"return_to\""), "the form brings the visitor back");
    assert!(live(&html).any_url_contains("/_trackers/ads/"));
}

#[cfg(feature = "geoip")]
#[tokio::test]
async fn a_geoip_database_places_the_client_address_and_headers_are_then_ignored() {
    use consentry_tower::{ClientAddr, GeoIp};
    let db = GeoIp::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/geoip-test.mmdb")).unwrap();
    let router =
        app(ConsentLayer::new(preset("redis")).inject_services(false).region_geoip(db), seed_page("en"));
    let from = |ip: &str, headers: &[(&str, &str)]| {
        let mut req = request("GET", "/", headers, Body::empty());
        req.extensions_mut().insert(ClientAddr(ip.parse().unwrap()));
        req
    };
    // 192.0.2.0/24 is California in the test database (documentation ranges only).
    let r = send(router.clone(), from("192.0.2.10", &[])).await;
    assert_eq!(banner_model(&r.text()), Some("opt-out"));
    assert!(r.text().contains("content=\"US-CA geoip opt-out\""));
    // France; and a French visitor claiming California through a CDN header
    // nobody named stays in France.
    for headers in [&[][..], CALIFORNIA] {
        let r = send(router.clone(), from("198.51.100.7", headers)).await;
        assert_eq!(banner_model(&r.text()), Some("opt-in"));
        assert!(r.text().contains("content=\"FR-IDF geoip opt-in\""));
    }
    // An address the database does not know: the default.
    let r = send(router.clone(), from("10.1.2.3", &[])).await;
    assert_eq!(banner_model(&r.text()), Some("opt-in"));
    assert!(!r.text().contains("consentry-region"));
}
