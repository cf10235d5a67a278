//! The layer's behaviour beyond the seed-site table: hostile input,
//! streaming, passthrough, headers, injection, the consent endpoint,
//! receipts, assets, and a real HTTP round trip.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use crate::common;

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Response, StatusCode};
use axum::routing::get;
use bytes::Bytes;
use common::{app, consent_cookie, get_page, live, post_json, preset, request, seed_page, send};
use consentry_core::Policy;
use consentry_tower::{Assets, ConsentDecision, ConsentLayer, CspNonce, MemoryStore, SecureCookie};

fn policy(json: &str) -> Policy {
    Policy::from_json(json).unwrap()
}

fn ga_policy() -> Policy {
    policy(
        r#"{"revision": 2, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}, {"id": "advertising"}],
            "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}, "cookies": ["_ga", "_ga_*"]},
                         {"id": "matomo", "kind": "matomo", "category": "analytics", "config": {"url": "https://stats.example.org/", "site_id": "4"}},
                         {"id": "video", "kind": "custom", "category": "advertising", "patterns": ["video.example.net/embed"]}],
            "texts": {"en": {"title": "Cookies <script>alert(\"x\")</script>", "privacy_policy_url": "/privacy"}}}"#,
    )
}

const PAGE: &str =
    r#"<!doctype html><html lang="en"><head><title>t</title></head><body><p>hi</p></body></html>"#;

/// A handler whose response body arrives in `chunks` pieces of text/html.
fn chunked_app(layer: ConsentLayer, html: &'static str, chunk: usize) -> Router {
    Router::new()
        .route(
            "/",
            get(move || async move {
                let pieces: Vec<Result<Bytes, Infallible>> =
                    html.as_bytes().chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
                Response::builder()
                    .header("content-type", "text/html; charset=utf-8")
                    .body(Body::from_stream(futures_stream(pieces)))
                    .unwrap_or_default()
            }),
        )
        .layer(layer)
}

fn futures_stream(
    items: Vec<Result<Bytes, Infallible>>,
) -> impl futures_core::Stream<Item = Result<Bytes, Infallible>> {
    struct Iter(std::vec::IntoIter<Result<Bytes, Infallible>>);
    impl futures_core::Stream for Iter {
        type Item = Result<Bytes, Infallible>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Iter(items.into_iter())
}

// --- injection ----------------------------------------------------------------

#[tokio::test]
async fn configured_services_are_injected_inert_before_consent_and_live_after() {
    let layer = ConsentLayer::new(ga_policy());
    let r = get_page(&app(layer.clone(), PAGE.into()), &[]).await;
    let html = r.text();
    let head = &html[..html.find("</head>").unwrap_or(html.len())];
    assert!(head.contains("id=\"consentry-policy\""), "policy JSON in head");
    assert!(head.contains("gtag('consent','default'"), "Consent Mode defaults");
    assert!(head.contains("ads_data_redaction"));
    let l = live(&html);
    assert!(!l.any_url_contains("googletagmanager.com/gtag/js"), "{html}");
    assert!(!l.any_url_contains("stats.example.org"));
    assert!(!l.any_inline_contains("_paq.push"));
    assert!(html.contains("requireConsent"));
    assert!(
        html.find("gtag('consent','default'") < html.find("googletagmanager.com/gtag/js"),
        "defaults come first"
    );

    let cookie = consent_cookie(&ga_policy(), &["analytics"]);
    let html = get_page(&app(layer, PAGE.into()), &[("cookie", &cookie)]).await.text();
    let l = live(&html);
    assert!(l.any_url_contains("https://www.googletagmanager.com/gtag/js?id=G-AB12CD34"));
    assert!(l.any_url_contains("https://stats.example.org/matomo.js"));
    assert!(l.any_inline_contains("setConsentGiven"));
    assert!(l.any_inline_contains("setDoNotTrack"));
    assert!(l.any_inline_contains("gtag('consent','update',{ad_storage:'denied',ad_user_data:'denied',ad_personalization:'denied',analytics_storage:'granted'})"));
}

#[tokio::test]
async fn policy_texts_are_escaped_in_the_server_banner_and_the_policy_json() {
    let html = get_page(&app(ConsentLayer::new(ga_policy()), PAGE.into()), &[]).await.text();
    assert!(html.contains("Cookies &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"), "{html}");
    assert!(!html.contains("<script>alert("));
    // The inline ready policy carries the same markup, escaped once more for JSON
    // inside <script>: no `<` at all, so nothing can close the element.
    let start = html.find("id=\"consentry-policy\">").expect("inline policy") + 22;
    let json = &html[start..start + html[start..].find("</script>").unwrap_or(0)];
    assert!(!json.contains('<'), "{json}");
    // Nor `&` or `>`: the element is well-formed XML too (XHTML pages).
    assert!(!json.contains('&') && !json.contains('>'), "{json}");
    assert!(json.contains(r"Cookies \u0026lt;script\u0026gt;alert(\u0026quot;x\u0026quot;)"), "{json}");
    assert!(json.contains(r#"\u003cdiv id=\"consentry-banner\""#), "{json}");
    assert!(html.contains("href=\"/privacy\""));
}

#[tokio::test]
async fn every_injected_script_carries_the_csp_nonce() {
    let router = Router::new()
        .route(
            "/",
            get(|| async {
                let mut r = axum::response::Html(PAGE).into_response_parts_helper();
                r.extensions_mut().insert(CspNonce("r4nd0m".into()));
                r
            }),
        )
        .layer(
            ConsentLayer::new(ga_policy()).assets(Assets::builtin().with_file("consentry.js", "export {}")),
        );
    let html = get_page(&router, &[]).await.text();
    let scripts = html.matches("<script").count();
    let with_nonce = html.matches("nonce=\"r4nd0m\"").count();
    // The policy JSON block is data, not script: CSP does not apply to it.
    assert_eq!(with_nonce, scripts - 1, "{html}");
    assert!(html.contains("<script type=\"module\" src=\"/consentry/"), "loader injected");
}

trait IntoResponseParts {
    fn into_response_parts_helper(self) -> Response<Body>;
}
impl<T: axum::response::IntoResponse> IntoResponseParts for T {
    fn into_response_parts_helper(self) -> Response<Body> {
        self.into_response()
    }
}

#[tokio::test]
async fn author_marked_scripts_and_frames_are_activated_only_when_granted() {
    let page = r#"<html><head></head><body>
<script type="text/plain" data-category="analytics" data-type="module" src="/a.js"></script>
<script type="text/plain" data-category="analytics" data-service="ga4">window.ok = 1;</script>
<script type="text/plain" data-category="advertising">window.ads = 1;</script>
<iframe data-src="https://video.example.net/embed/1" data-category="advertising" title="v"></iframe>
</body></html>"#;
    let p = ga_policy();
    let cookie = consent_cookie(&p, &["analytics"]);
    let html = get_page(&app(ConsentLayer::new(p), page.into()), &[("cookie", &cookie)]).await.text();
    assert!(
        html.contains(r#"<script type="module" data-category="analytics" data-type="module" src="/a.js">"#),
        "{html}"
    );
    assert!(html.contains(r#"<script data-category="analytics" data-service="ga4">window.ok = 1;"#));
    assert!(html.contains(r#"<script type="text/plain" data-category="advertising">window.ads = 1;"#));
    assert!(live(&html).frame_srcs.is_empty());
}

#[tokio::test]
async fn live_tracker_frames_are_blocked_and_restorable() {
    let page =
        r#"<html><body><iframe src="https://video.example.net/embed/9" title="v"></iframe></body></html>"#;
    let html = get_page(&app(ConsentLayer::new(ga_policy()), page.into()), &[]).await.text();
    assert!(html.contains(r#"data-src="https://video.example.net/embed/9""#), "{html}");
    assert!(html.contains(r#"data-category="advertising""#) && html.contains(r#"data-service="video""#));
    assert!(live(&html).frame_srcs.is_empty());
}

/// A page whose inline script calls Matomo after `pad` bytes of code.
fn long_script(pad: usize) -> &'static str {
    let html = format!(
        "<html><head><script>var x = '{}'; _paq.push(['x']);</script></head><body></body></html>",
        "a".repeat(pad)
    );
    Box::leak(html.into_boxed_str())
}

#[tokio::test]
async fn a_tracker_call_deep_in_a_long_inline_script_never_runs_before_consent() {
    let layer = ConsentLayer::new(ga_policy()).inject_services(false);
    let inert = "<script type=\"text/plain\" data-category=\"analytics\" data-service=\"matomo\">var x";
    // 100 KB of code before the call, in one piece or in 1 KiB chunks: held
    // whole, the call is seen, the script inert.
    for chunk in [usize::MAX, 1024] {
        let html = get_page(&chunked_app(layer.clone(), long_script(100_000), chunk), &[]).await.text();
        assert!(html.contains(inert), "chunk {chunk}");
        assert!(html.contains(&format!("'{}'; _paq.push(['x']);</script>", "a".repeat(100_000))));
    }
    // Past the 1 MiB the layer holds, arriving in pieces: the rest cannot be
    // checked, so the script is inert (marked) rather than live...
    let page = long_script(1_100_000);
    let html = get_page(&chunked_app(layer.clone(), page, 1024), &[]).await.text();
    assert!(html.contains("<script type=\"text/plain\" data-consentry=\"unchecked\">var x"), "fails closed");
    assert!(html.contains(&format!("'{}'; _paq.push(['x']);</script>", "a".repeat(1_100_000))), "kept whole");
    assert_eq!(html.matches("<script").count(), html.matches("</script>").count());
    // ...unless every service may run anyway.
    let all = consent_cookie(&ga_policy(), &["analytics", "advertising"]);
    let html = get_page(&chunked_app(layer, page, 1024), &[("cookie", all.as_str())]).await.text();
    assert!(html.contains("<script>var x = 'aaa"), "live when everything is granted");
}

#[tokio::test]
async fn small_inline_tracker_snippets_are_made_inert_with_their_attributes() {
    let page = r#"<html><head><script id="m" async>_paq.push(['trackPageView'])</script><script>console.log(1)</script></head></html>"#;
    let html =
        get_page(&app(ConsentLayer::new(ga_policy()).inject_services(false), page.into()), &[]).await.text();
    assert!(
        html.contains(r#"<script id="m" async type="text/plain" data-category="analytics" data-service="matomo">_paq.push(['trackPageView'])</script>"#),
        "{html}"
    );
    assert!(html.contains("<script>console.log(1)</script>"));
}

// --- streaming and passthrough ----------------------------------------------

#[tokio::test]
async fn tags_split_across_one_byte_chunks_are_rewritten_as_in_one_piece() {
    const SPLIT: &str = r#"<!doctype html><html lang="fr"><head><script async src="https://www.googletagmanager.com/gtag/js?id=G-AB12CD34"></script><script>gtag('config','G-AB12CD34')</script></head><body><iframe src="https://video.example.net/embed/2"></iframe><p>é</p></body></html>"#;
    let layer = ConsentLayer::new(ga_policy()).inject_services(false);
    let whole = get_page(&chunked_app(layer.clone(), SPLIT, usize::MAX), &[]).await.text();
    for n in [1, 3, 7] {
        let split = get_page(&chunked_app(layer.clone(), SPLIT, n), &[]).await.text();
        assert_eq!(common::without_gate_token(&split), common::without_gate_token(&whole), "chunks of {n}");
    }
    let l = live(&whole);
    assert!(l.script_srcs.is_empty() && l.frame_srcs.is_empty(), "{whole}");
    assert!(!l.any_inline_contains("gtag('config'"), "only the Consent Mode defaults run: {whole}");
    assert!(whole.contains("<p>é</p>"));
}

#[tokio::test]
async fn non_html_responses_pass_through_byte_identical() {
    let binary: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let bin = binary.clone();
    let router = Router::new()
        .route("/bin", get(move || async move { ([("content-type", "application/octet-stream")], bin.clone()) }))
        .route("/api", get(|| async { axum::Json(serde_json::json!({"s": "<script src=\"https://www.googletagmanager.com/gtag/js\"></script>"})) }))
        .layer(ConsentLayer::new(ga_policy()));
    let r = send(router.clone(), request("GET", "/bin", &[], Body::empty())).await;
    assert_eq!(r.body, binary);
    assert!(r.header("vary").is_none(), "only rewritten pages vary");
    // (Compressed pages are decoded and gated, never passed through: see
    // tests/response_shapes.rs.)
    let r = send(router, request("GET", "/api", &[], Body::empty())).await;
    assert_eq!(r.text(), r#"{"s":"<script src=\"https://www.googletagmanager.com/gtag/js\"></script>"}"#);
}

#[tokio::test]
async fn head_and_not_modified_responses_are_untouched() {
    let router = Router::new()
        .route(
            "/304",
            get(|| async {
                (StatusCode::NOT_MODIFIED, [("content-type", "text/html"), ("etag", "\"abc\"")])
            }),
        )
        .route("/", get(|| async { axum::response::Html(PAGE) }))
        .layer(ConsentLayer::new(ga_policy()));
    let r = send(router.clone(), request("GET", "/304", &[], Body::empty())).await;
    assert_eq!(r.status, StatusCode::NOT_MODIFIED);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some("\"abc\""));
    let r = send(router, request("HEAD", "/", &[], Body::empty())).await;
    assert!(r.body.is_empty());
    assert!(r.header("vary").is_none());
}

#[tokio::test]
async fn invalid_utf8_and_malformed_html_are_rewritten_without_losing_bytes() {
    let mut page = b"<html><head><title>\xff\xfe broken</title>".to_vec();
    page.extend_from_slice(b"<div <<<p>>> <script src=\"https://www.googletagmanager.com/gtag/js\"></script></select><xmp><select><script>1</script> \x80\x81");
    let p = page.clone();
    let router = Router::new()
        .route("/", get(move || async move { ([("content-type", "text/html")], p.clone()) }))
        .layer(ConsentLayer::new(ga_policy()).inject_services(false));
    let r = send(router, request("GET", "/", &[], Body::empty())).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.windows(2).any(|w| w == b"\xff\xfe"), "invalid bytes kept");
    assert!(r.body.ends_with(b" \x80\x81"), "tail kept");
    assert!(r.text().contains("type=\"text/plain\""), "tracker still blocked: {}", r.text());
}

#[tokio::test]
async fn latin1_pages_keep_their_encoding() {
    let router = Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [("content-type", "text/html; charset=iso-8859-1")],
                    b"<html lang=\"fr\"><body><p>caf\xe9</p></body></html>".to_vec(),
                )
            }),
        )
        .layer(ConsentLayer::new(ga_policy()));
    let r = send(router, request("GET", "/", &[], Body::empty())).await;
    assert!(r.body.windows(5).any(|w| w == b"caf\xe9<"), "é stays one Latin-1 byte");
    assert!(r.body.windows(b"id=\"consentry-banner\"".len()).any(|w| w == b"id=\"consentry-banner\""));
}

// --- headers --------------------------------------------------------------------

#[tokio::test]
async fn rewritten_pages_vary_on_cookie_and_signals_and_keep_cache_control() {
    let router = Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [
                        ("content-type", "text/html"),
                        ("vary", "Accept-Encoding"),
                        ("cache-control", "private, max-age=60"),
                        ("etag", "\"v1\""),
                    ],
                    PAGE,
                )
            }),
        )
        .layer(ConsentLayer::new(ga_policy()));
    let r = send(router, request("GET", "/", &[], Body::empty())).await;
    assert_eq!(r.header("vary"), Some("Accept-Encoding, Cookie, DNT, Sec-GPC"));
    assert_eq!(r.header("cache-control"), Some("private, max-age=60"));
    assert!(r.header("etag").is_some_and(|e| e.starts_with("W/\"v1-c")), "{:?}", r.header("etag"));
    assert!(r.header("content-length").is_none());
}

#[tokio::test]
async fn hostile_cookie_headers_never_grant_and_never_fail_the_request() {
    let p = ga_policy();
    let name = p.cookie().name.clone();
    let many: String = (0..1000).map(|i| format!("c{i}=v{i}; ")).collect();
    let huge = format!("{name}={}", "v1.2.1.analytics.".to_owned() + &"A".repeat(8192));
    let cases: Vec<Vec<u8>> = vec![
        format!("{many}{name}=junk").into_bytes(),
        huge.into_bytes(),
        format!("{name}=v1.2.1.analytics~advertising.\u{0}AAAAAAAAAAAAAAAAAAAA").into_bytes(),
        b"consentry=v1.2.1.analytics.\xff\xfe\xfdAAAAAAAAAAAAAAAAAAAA".to_vec(),
        format!("{name}=\"v1.2.1.analytics.AAAAAAAAAAAAAAAAAAAAAA\"; {name}=v1.2.1..AAAAAAAAAAAAAAAAAAAAAA")
            .into_bytes(),
        format!("{name}=v1.2.1.analytics;advertising.AAAAAAAAAAAAAAAAAAAAAA").into_bytes(),
        format!("{name}=v1.2.99999999999999.analytics.AAAAAAAAAAAAAAAAAAAAAA").into_bytes(),
        format!("{name}=v1.2.1.<script>.AAAAAAAAAAAAAAAAAAAAAA").into_bytes(),
    ];
    let router = app(ConsentLayer::new(p), seed_page("en"));
    for cookie in cases {
        let mut req = request("GET", "/", &[], Body::empty());
        if let Ok(v) = axum::http::HeaderValue::from_bytes(&cookie) {
            req.headers_mut().insert("cookie", v);
        } else {
            continue;
        }
        let r = send(router.clone(), req).await;
        assert_eq!(r.status, StatusCode::OK);
        let l = live(&r.text());
        assert!(!l.any_url_contains("googletagmanager"), "granted by {:?}", String::from_utf8_lossy(&cookie));
    }
}

#[tokio::test]
async fn the_decision_reaches_handlers_through_the_axum_extractor() {
    let router = Router::new()
        .route(
            "/",
            get(
                |d: ConsentDecision| async move { format!("{} {}", d.allows("analytics"), d.needs_banner()) },
            ),
        )
        .layer(ConsentLayer::new(ga_policy()));
    assert_eq!(send(router.clone(), request("GET", "/", &[], Body::empty())).await.text(), "false true");
    let cookie = consent_cookie(&ga_policy(), &["analytics"]);
    assert_eq!(
        send(router, request("GET", "/", &[("cookie", &cookie)], Body::empty())).await.text(),
        "true false"
    );
}

#[tokio::test]
async fn an_optional_decision_is_none_outside_the_layer_instead_of_an_error() {
    let handler = |d: Option<ConsentDecision>| async move {
        d.map_or_else(|| "no layer".to_owned(), |d| d.allows("analytics").to_string())
    };
    let bare: Router = Router::new().route("/", get(handler));
    assert_eq!(send(bare, request("GET", "/", &[], Body::empty())).await.text(), "no layer");
    let layered = Router::new().route("/", get(handler)).layer(ConsentLayer::new(ga_policy()));
    let cookie = consent_cookie(&ga_policy(), &["analytics"]);
    assert_eq!(
        send(layered, request("GET", "/", &[("cookie", &cookie)], Body::empty())).await.text(),
        "true"
    );
}

#[test]
fn the_service_gives_its_inner_service_back() {
    use tower::Layer as _;
    let mut svc = ConsentLayer::new(ga_policy()).layer(7_u32);
    *svc.get_mut() += 1;
    assert_eq!(*svc.get_ref(), 8);
    assert_eq!(svc.into_inner(), 8);
}

#[test]
fn builder_settings_apply_whatever_their_order() {
    let a = ConsentLayer::new(ga_policy()).prefix("cc").inject_services(false);
    let b = ConsentLayer::new(ga_policy()).inject_services(false).prefix("/cc/");
    assert_eq!(a.policy().consent_endpoint(), Some("/cc/consent"));
    assert_eq!(b.policy().consent_endpoint(), a.policy().consent_endpoint());
    // A setting changed after the policy was read still takes effect.
    let c = a.prefix("other");
    assert_eq!(c.policy().consent_endpoint(), Some("/other/consent"));
}

// --- routes -----------------------------------------------------------------------

fn endpoint_app(store: Arc<MemoryStore>) -> Router {
    app(ConsentLayer::new(ga_policy()).receipts(store), PAGE.into())
}

#[tokio::test]
async fn the_consent_endpoint_sets_the_cookie_and_stores_a_receipt() {
    let store = Arc::new(MemoryStore::new());
    let r =
        send(endpoint_app(store.clone()), post_json(r#"{"granted": ["analytics"]}"#, &[("sec-gpc", "1")]))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    assert_eq!(v["receipt"], true);
    assert_eq!(v["method"], "custom");
    let id = v["id"].as_str().unwrap_or_default().to_owned();
    let set_cookie = r.header("set-cookie").unwrap_or_default().to_owned();
    assert!(set_cookie.starts_with("consentry=v1.2."), "{set_cookie}");
    assert!(set_cookie.contains(".analytics.") && set_cookie.contains(&id));
    assert!(set_cookie.contains("Path=/; Max-Age=15552000; SameSite=Lax"));
    assert!(!set_cookie.contains("Secure"));
    let receipts = store.all();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].id, id);
    assert_eq!(receipts[0].granted, ["essential", "analytics"]);
    assert_eq!(receipts[0].denied, ["advertising"]);
    assert!(receipts[0].signals.gpc && !receipts[0].signals.dnt);
    assert_eq!(receipts[0].policy_hash.len(), 64);

    // The visitor can read their own receipt, and only theirs.
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
    let r = send(
        endpoint_app(store.clone()),
        request("GET", &format!("/consentry/receipt/{id}"), &[("cookie", &cookie)], Body::empty()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("\"granted\":[\"essential\",\"analytics\"]"));
    let r =
        send(endpoint_app(store), request("GET", &format!("/consentry/receipt/{id}"), &[], Body::empty()))
            .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn all_none_and_empty_lists_are_accepted_and_classified() {
    let store = Arc::new(MemoryStore::new());
    for (body, method, granted) in [
        (r#"{"granted": "all"}"#, "accept-all", vec!["essential", "analytics", "advertising"]),
        (r#"{"granted": []}"#, "reject-all", vec!["essential"]),
        (r#"{"granted": "none"}"#, "reject-all", vec!["essential"]),
        (r#"{"granted": ["essential", "analytics", "analytics"]}"#, "custom", vec!["essential", "analytics"]),
    ] {
        let r = send(endpoint_app(store.clone()), post_json(body, &[])).await;
        assert_eq!(r.status, StatusCode::OK, "{body}: {}", r.text());
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        assert_eq!(v["method"], method, "{body}");
        assert_eq!(v["granted"], serde_json::json!(granted), "{body}");
    }
}

#[tokio::test]
async fn withdrawing_a_granted_category_is_recorded_as_a_withdrawal() {
    let store = Arc::new(MemoryStore::new());
    let cookie = consent_cookie(&ga_policy(), &["analytics"]);
    let r = send(endpoint_app(store), post_json(r#"{"granted": []}"#, &[("cookie", &cookie)])).await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    assert_eq!(v["method"], "withdrawal");
}

#[tokio::test]
async fn bad_consent_requests_get_clear_errors_and_set_no_cookie() {
    let store = Arc::new(MemoryStore::new());
    let big = format!(r#"{{"granted": ["{}"]}}"#, "a".repeat(10_000));
    let cases: Vec<(axum::http::Request<Body>, StatusCode, &str)> = vec![
        (
            post_json(r#"{"granted": ["analytic"]}"#, &[]),
            StatusCode::BAD_REQUEST,
            "unknown category or service `analytic`",
        ),
        (
            post_json(r#"{"granted": "some"}"#, &[]),
            StatusCode::BAD_REQUEST,
            "must be a list of category and service ids",
        ),
        (
            post_json(r#"{"granted": ["analytics"], "extra": 1}"#, &[]),
            StatusCode::BAD_REQUEST,
            "unknown field `extra`",
        ),
        (post_json("not json", &[]), StatusCode::BAD_REQUEST, "invalid JSON"),
        (post_json(&big, &[]), StatusCode::PAYLOAD_TOO_LARGE, "larger than"),
        (
            request("POST", "/consentry/consent", &[("content-type", "text/plain")], "granted=all"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/json",
        ),
        (
            post_json(r#"{"granted": "all"}"#, &[("origin", "https://evil.example")]),
            StatusCode::FORBIDDEN,
            "cross-site",
        ),
        (
            post_json(r#"{"granted": "all"}"#, &[("sec-fetch-site", "cross-site")]),
            StatusCode::FORBIDDEN,
            "cross-site",
        ),
        (request("GET", "/consentry/consent", &[], Body::empty()), StatusCode::METHOD_NOT_ALLOWED, "POST"),
    ];
    for (req, status, needle) in cases {
        let r = send(endpoint_app(store.clone()), req).await;
        assert_eq!(r.status, status, "{}", r.text());
        assert!(r.text().contains(needle), "{} lacks {needle}", r.text());
        assert!(r.header("set-cookie").is_none());
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    assert!(store.all().is_empty(), "no receipt for a refused request");
}

#[tokio::test]
async fn a_form_post_without_javascript_sets_the_cookie_and_redirects_back() {
    let r = send(
        endpoint_app(Arc::new(MemoryStore::new())),
        request(
            "POST",
            "/consentry/consent",
            &[("content-type", "application/x-www-form-urlencoded"), ("x-forwarded-proto", "https")],
            "return_to=%2Fredis%2F%3Fa%3D1&granted=none",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/redis/?a=1"));
    assert!(r.header("set-cookie").is_some_and(|c| c.contains("..") && c.ends_with("; Secure")));
}

#[tokio::test]
async fn a_failing_receipt_store_still_sets_the_cookie_and_says_so() {
    struct Down;
    impl consentry_tower::ReceiptStore for Down {
        fn store(&self, _: consentry_core::Receipt) -> consentry_tower::receipts::StoreFuture<'_, ()> {
            Box::pin(async { Err(consentry_tower::ReceiptError::Unavailable("disk full".into())) })
        }
        fn get<'a>(
            &'a self,
            _: &'a str,
        ) -> consentry_tower::receipts::StoreFuture<'a, Option<consentry_core::Receipt>> {
            Box::pin(async { Ok(None) })
        }
    }
    let router =
        app(ConsentLayer::new(ga_policy()).receipts(Down).secure_cookie(SecureCookie::Always), PAGE.into());
    let r = send(router, post_json(r#"{"granted": "all"}"#, &[])).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("set-cookie").is_some_and(|c| c.contains("Secure")));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    assert_eq!(v["receipt"], false);
    // The store's own message stays in the server's log.
    assert_eq!(v["receipt_error"], consentry_tower::RECEIPT_STORE_UNAVAILABLE);
    assert!(!String::from_utf8_lossy(&r.body).contains("disk full"));
}

#[tokio::test]
async fn policy_json_gpc_json_and_assets_are_served_with_the_right_headers() {
    let layer = ConsentLayer::new(ga_policy()).assets(
        Assets::builtin()
            .with_file("consentry.js", "export {}")
            .with_file("consentry_bg.wasm", vec![0u8, 97, 115, 109]),
    );
    let hash = Assets::builtin()
        .with_file("consentry.js", "export {}")
        .with_file("consentry_bg.wasm", vec![0u8, 97, 115, 109])
        .hash()
        .to_owned();
    let html = get_page(&app(layer.clone(), PAGE.into()), &[]).await.text();
    assert!(html.contains(&format!("<script type=\"module\" src=\"/consentry/{hash}/consentry.js\"")));
    let router = app(layer, PAGE.into());
    let r = send(router.clone(), request("GET", "/consentry/policy.json", &[], Body::empty())).await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    assert_eq!(v["consent_endpoint"], "/consentry/consent");
    assert_eq!(v["revision"], 2);
    let r = send(router.clone(), request("GET", "/.well-known/gpc.json", &[], Body::empty())).await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    assert_eq!(v["gpc"], true);
    assert_eq!(v["lastUpdate"].as_str().map(str::len), Some(10));
    let r = send(
        router.clone(),
        request("GET", &format!("/consentry/{hash}/consentry_bg.wasm"), &[], Body::empty()),
    )
    .await;
    assert_eq!(r.header("content-type"), Some("application/wasm"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=31536000, immutable"));
    let r = send(router.clone(), request("GET", "/consentry/consentry.js", &[], Body::empty())).await;
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("content-type"), Some("text/javascript; charset=utf-8"));
    let r = send(router.clone(), request("GET", "/consentry/../Cargo.toml", &[], Body::empty())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(router, request("GET", "/consentry/nothing", &[], Body::empty())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_policy_ignoring_gpc_publishes_no_gpc_json() {
    let p = policy(r#"{"revision": 1, "signals": {"gpc": "ignore"}, "categories": [{"id": "a"}]}"#);
    let r = send(
        app(ConsentLayer::new(p), PAGE.into()),
        request("GET", "/.well-known/gpc.json", &[], Body::empty()),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_custom_prefix_moves_every_route() {
    let router = app(ConsentLayer::new(ga_policy()).prefix("_privacy"), PAGE.into());
    let r = send(router.clone(), request("GET", "/_privacy/policy.json", &[], Body::empty())).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = get_page(&router, &[]).await.text();
    assert!(html.contains("action=\"/_privacy/consent\""));
}

// --- real HTTP ----------------------------------------------------------------------

#[tokio::test]
async fn over_real_http_dnt_blocks_and_a_consent_post_unblocks_the_tags() {
    use http_body_util::BodyExt;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let store = Arc::new(MemoryStore::new());
    let router = app(
        ConsentLayer::new(preset("redis")).receipts(store.clone()).inject_services(false),
        seed_page("fr"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client: Client<_, http_body_util::Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();

    let get = |cookie: Option<String>| {
        let client = client.clone();
        async move {
            let mut b = axum::http::Request::get(format!("http://{addr}/")).header("dnt", "1");
            if let Some(c) = cookie {
                b = b.header("cookie", c);
            }
            let res = client.request(b.body(Default::default()).unwrap_or_default()).await.unwrap();
            let body = res.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
            String::from_utf8_lossy(&body).into_owned()
        }
    };
    let first = get(None).await;
    assert!(first.contains("id=\"consentry-banner\""), "redis ignores DNT: still asks");
    assert!(!live(&first).any_url_contains("/_trackers/gtag/js"));

    let req = axum::http::Request::post(format!("http://{addr}/consentry/consent"))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(Bytes::from_static(br#"{"granted": ["analytics"]}"#)))
        .unwrap_or_default();
    let res = client.request(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let cookie = cookie.split(';').next().unwrap_or_default().to_owned();

    let after = get(Some(cookie)).await;
    assert!(!after.contains("id=\"consentry-banner\""));
    assert!(live(&after).any_url_contains("/_trackers/gtag/js"), "{after}");
    assert!(!live(&after).any_url_contains("/_trackers/ads/"));
    assert_eq!(store.all().len(), 1);
    server.abort();
}

#[tokio::test]
async fn the_injection_keeps_meta_charset_first_and_precedes_the_first_script() {
    let page = r#"<html><head><meta charset="utf-8"><title>t</title><link rel="stylesheet" href="/s.css"><script src="/app.js"></script></head><body></body></html>"#;
    let html = get_page(&app(ConsentLayer::new(ga_policy()), page.into()), &[]).await.text();
    let pos = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle} missing in {html}"));
    assert!(html.starts_with("<html><head><meta charset=\"utf-8\"><title>t</title>"), "{html}");
    assert!(pos("id=\"consentry-policy\"") < pos("src=\"/app.js\""));
    assert!(pos("gtag('consent','default'") < pos("src=\"/app.js\""));
    // Our inline script does not wait for our stylesheet.
    assert!(pos("gtag('consent','default'") < pos("consentry.css"), "{html}");
    let no_script = r#"<html><head><meta charset="utf-8"><title>t</title></head><body></body></html>"#;
    let html = get_page(&app(ConsentLayer::new(ga_policy()), no_script.into()), &[]).await.text();
    assert!(html.contains("</title><script type=\"application/json\" id=\"consentry-policy\">"), "{html}");
    assert_eq!(html.matches("id=\"consentry-policy\"").count(), 1);
}

// --- inline scripts: vendors' install snippets, several services -------------

/// The install snippets five vendors give site owners, in their published
/// form (ids replaced): each builds its script URL at run time.
const VENDOR_SNIPPETS: &[(&str, &str, &str)] = &[
    (
        "clarity",
        "www.clarity.ms/tag/",
        r#"<script type="text/javascript">
    (function(c,l,a,r,i,t,y){
        c[a]=c[a]||function(){(c[a].q=c[a].q||[]).push(arguments)};
        t=l.createElement(r);t.async=1;t.src="https://www.clarity.ms/tag/"+i;
        y=l.getElementsByTagName(r)[0];y.parentNode.insertBefore(t,y);
    })(window, document, "clarity", "script", "abc123defg");
</script>"#,
    ),
    (
        "hotjar",
        "static.hotjar.com/c/hotjar-",
        r#"<script>
    (function(h,o,t,j,a,r){
        h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};
        h._hjSettings={hjid:1234567,hjsv:6};
        a=o.getElementsByTagName('head')[0];
        r=o.createElement('script');r.async=1;
        r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;
        a.appendChild(r);
    })(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');
</script>"#,
    ),
    (
        "meta-pixel",
        "connect.facebook.net/en_US/fbevents.js",
        r#"<script>
!function(f,b,e,v,n,t,s)
{if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};
if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';
n.queue=[];t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];
s.parentNode.insertBefore(t,s)}(window, document,'script',
'https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '123456789012345');
fbq('track', 'PageView');
</script>"#,
    ),
    (
        "linkedin-insight",
        "snap.licdn.com/li.lms-analytics/insight.min.js",
        r#"<script type="text/javascript">
_linkedin_partner_id = "1234567";
window._linkedin_data_partner_ids = window._linkedin_data_partner_ids || [];
window._linkedin_data_partner_ids.push(_linkedin_partner_id);
</script><script type="text/javascript">
(function(l) {
if (!l){window.lintrk = function(a,b){window.lintrk.q.push([a,b])};
window.lintrk.q=[]}
var s = document.getElementsByTagName("script")[0];
var b = document.createElement("script");
b.type = "text/javascript";b.async = true;
b.src = "https://snap.licdn.com/li.lms-analytics/insight.min.js";
s.parentNode.insertBefore(b, s);})(window.lintrk);
</script>"#,
    ),
    (
        "tiktok-pixel",
        "analytics.tiktok.com/i18n/pixel/events.js",
        r#"<script>
!function (w, d, t) {
  w.TiktokAnalyticsObject=t;var ttq=w[t]=w[t]||[];ttq.methods=["page","track","identify","instances","debug","on","off","once","ready","alias","group","enableCookie","disableCookie","holdConsent","revokeConsent","grantConsent"],ttq.setAndDefer=function(t,e){t[e]=function(){t.push([e].concat(Array.prototype.slice.call(arguments,0)))}};for(var i=0;i<ttq.methods.length;i++)ttq.setAndDefer(ttq,ttq.methods[i]);ttq.instance=function(t){for(
var e=ttq._i[t]||[],n=0;n<ttq.methods.length;n++)ttq.setAndDefer(e,ttq.methods[n]);return e},ttq.load=function(e,n){var r="https://analytics.tiktok.com/i18n/pixel/events.js",o=n&&n.partner;ttq._i=ttq._i||{},ttq._i[e]=[],ttq._i[e]._u=r,ttq._t=ttq._t||{},ttq._t[e]=+new Date,ttq._o=ttq._o||{},ttq._o[e]=n||{};n=document.createElement("script")
;n.type="text/javascript",n.async=!0,n.src=r+"?sdkid="+e+"&lib="+t;e=document.getElementsByTagName("script")[0];e.parentNode.insertBefore(n,e)};
  ttq.load('C0ABCDEFGHIJKLMNOPQR');
  ttq.page();
}(window, document, 'ttq');
</script>"#,
    ),
];

fn vendor_policy() -> Policy {
    policy(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}, {"id": "advertising"}],
            "services": [
              {"id": "clarity", "kind": "custom", "category": "analytics", "patterns": ["https://www.clarity.ms/*"]},
              {"id": "hotjar", "kind": "custom", "category": "analytics", "patterns": ["https://static.hotjar.com/*", "https://*.hotjar.com/*"]},
              {"id": "meta-pixel", "kind": "custom", "category": "advertising", "patterns": ["https://connect.facebook.net/*", "https://www.facebook.com/tr*"]},
              {"id": "linkedin-insight", "kind": "custom", "category": "advertising", "patterns": ["https://snap.licdn.com/*", "https://px.ads.linkedin.com/*"]},
              {"id": "tiktok-pixel", "kind": "custom", "category": "advertising", "patterns": ["https://analytics.tiktok.com/*"]}
            ]}"#,
    )
}

#[tokio::test]
async fn vendors_install_snippets_that_build_their_url_at_run_time_stay_inert_until_consent() {
    let policy = vendor_policy();
    for (id, url, snippet) in VENDOR_SNIPPETS {
        let page = format!(
            "<!doctype html><html lang=\"en\"><head><title>t</title>{snippet}</head><body></body></html>"
        );
        let router = app(ConsentLayer::new(policy.clone()).inject_services(false), page);
        let before = live(&get_page(&router, &[]).await.text());
        assert!(!before.any_inline_contains(url), "{id}: its loader runs before consent");
        let everything = consent_cookie(&policy, &["analytics", "advertising"]);
        let after = live(&get_page(&router, &[("cookie", &everything)]).await.text());
        assert!(after.any_inline_contains(url), "{id}: its loader runs once accepted");
    }
}

#[tokio::test]
async fn a_script_naming_two_services_runs_only_when_both_may() {
    let policy = policy(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}, {"id": "advertising"}],
            "services": [
              {"id": "matomo", "kind": "matomo", "category": "analytics", "config": {"url": "https://stats.example.org/", "site_id": "3"}},
              {"id": "gtm", "kind": "gtm", "category": "advertising", "config": {"container_id": "GTM-AB12CD"}},
              {"id": "ga-ads", "kind": "ga4", "category": "advertising", "config": {"measurement_id": "G-ADS0001"}},
              {"id": "ga-stats", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-STATS01"}}
            ]}"#,
    );
    let cases = [
        // A granted snippet, and a refused loader built in the same script.
        (
            "matomo + gtm",
            "var _paq = window._paq || []; _paq.push(['trackPageView']); var u='https://stats.example.org/'; \
             _paq.push(['setTrackerUrl', u+'matomo.php']); (function(w,d,s,l,i){var j=d.createElement(s); \
             j.src='https://www.googletag'+'manager.com/gtm.js?id='+i;d.head.appendChild(j)})(window,document,'script','dataLayer','GTM-AB12CD');",
            "matomo gtm",
        ),
        // A second gtag property in another category.
        (
            "two GA4 properties",
            "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);} \
             gtag('js', new Date()); gtag('config', 'G-STATS01'); gtag('config', 'G-ADS0001');",
            "ga-ads ga-stats",
        ),
    ];
    let analytics_only = consent_cookie(&policy, &["analytics"]);
    let both = consent_cookie(&policy, &["analytics", "advertising"]);
    for (case, code, services) in cases {
        let page = format!(
            "<!doctype html><html><head><title>t</title><script>{code}</script></head><body></body></html>"
        );
        let router = app(ConsentLayer::new(policy.clone()).inject_services(false), page);
        let html = get_page(&router, &[("cookie", &analytics_only)]).await.text();
        assert!(
            live(&html).inline_scripts.iter().all(|s| !s.contains(code)),
            "{case}: live with a service refused"
        );
        assert!(
            html.contains(&format!("data-service=\"{services}\"")),
            "{case}: marked with every service:\n{html}"
        );
        let html = get_page(&router, &[("cookie", &both)]).await.text();
        assert!(
            live(&html).inline_scripts.iter().any(|s| s.contains(code)),
            "{case}: live once both are granted"
        );
    }
    // The page layer's rule (core's, also in the wasm): every named service.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let consent = consentry_core::consent_from_headers([analytics_only.as_bytes()], "consentry");
    let d = consentry_core::decide(&policy, consent.as_ref(), consentry_core::Signals::NONE, now);
    assert!(d.allows_marked(&policy, Some("analytics"), Some("matomo")));
    assert!(!d.allows_marked(&policy, Some("analytics"), Some("matomo gtm")));
    assert!(!d.allows_marked(&policy, None, Some(" ")));
}

#[tokio::test]
async fn a_srcdoc_frame_naming_two_services_is_marked_with_both() {
    let policy = vendor_policy();
    let page = r#"<!doctype html><html><head><title>t</title></head><body><iframe srcdoc="<script>var a='https://www.clarity.ms/tag/x', b='https://analytics.tiktok.com/i18n/pixel/events.js'</script>"></iframe></body></html>"#;
    let router = app(ConsentLayer::new(policy.clone()).inject_services(false), page.into());
    let analytics = consent_cookie(&policy, &["analytics"]);
    let html = get_page(&router, &[("cookie", &analytics)]).await.text();
    assert!(html.contains("data-srcdoc="), "gated while TikTok is refused:\n{html}");
    assert!(html.contains(r#"data-service="clarity tiktok-pixel""#), "marked with both:\n{html}");
    let both = consent_cookie(&policy, &["analytics", "advertising"]);
    let html = get_page(&router, &[("cookie", &both)]).await.text();
    assert!(html.contains("<iframe srcdoc="), "live once both are allowed:\n{html}");
}

#[tokio::test]
async fn user_posted_markup_never_gets_a_javascript_or_data_url_activated_by_the_server() {
    let page = r#"<!doctype html><html><head><title>t</title></head><body>
        <iframe id="a" data-category="essential" data-src="javascript:parent.pwned=1"></iframe>
        <iframe id="b" data-category="essential" data-src=" JaVa&#9;ScRiPt:parent.pwned=1"></iframe>
        <img id="c" data-category="essential" data-src="data:image/svg+xml,<svg onload=alert(1)>">
        <iframe id="d" data-category="essential" data-src="/embed.html"></iframe>
        </body></html>"#;
    let html = get_page(&app(ConsentLayer::new(ga_policy()), page.into()), &[]).await.text();
    assert!(!html.contains(" src=\"javascript") && !html.contains(" src=\" JaVa"), "{html}");
    assert!(!html.contains(" src=\"data:"), "{html}");
    assert!(
        html.contains(r#"src="/embed.html""#),
        "a relative URL of an allowed category is activated:\n{html}"
    );
}
