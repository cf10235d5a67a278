//! No page leaves ungated, whatever shape its response takes: compressed by
//! the handler, by an inner `CompressionLayer` or on disk for `ServeDir`,
//! typeless, UTF-16, partial — each over real HTTP, before and after consent.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use crate::common;

use std::io::Write as _;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode};
use axum::routing::get;
use bytes::Bytes;
use common::{consent_cookie, live};
use consentry_core::Policy;
use consentry_tower::{ConsentLayer, UnreadableHtml};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const GTAG: &str = "https://www.googletagmanager.com/gtag/js?id=G-AB12CD34";

fn policy() -> Policy {
    Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
            "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}}]}"#,
    )
    .unwrap()
}

/// A page as a site writes it: a live GA4 tag and no Consentry markup.
fn page() -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>t</title>\
         <script async src=\"{GTAG}\"></script></head><body><p>caf\u{e9} {}</p></body></html>",
        "lorem ipsum ".repeat(400)
    )
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn zlib(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn raw_deflate(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn brotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut input = b;
    brotli::BrotliCompress(&mut input, &mut out, &brotli::enc::BrotliEncoderParams::default()).unwrap();
    out
}

fn zstd(b: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(b, 3).unwrap()
}

fn utf16le_with_bom(s: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

/// A handler answering `body` with these headers, in chunks of 1000 bytes.
fn fixed(headers: &[(&'static str, &'static str)], body: Vec<u8>) -> Router {
    let headers: Vec<_> = headers.to_vec();
    Router::new().route(
        "/",
        get(move || {
            let (headers, body) = (headers.clone(), body.clone());
            async move {
                let mut res = Response::builder();
                for (k, v) in headers {
                    res = res.header(k, v);
                }
                let pieces: Vec<Result<Bytes, std::convert::Infallible>> =
                    body.chunks(1000).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
                res.body(Body::from_stream(Stream(pieces.into_iter()))).unwrap_or_default()
            }
        }),
    )
}

struct Stream(std::vec::IntoIter<Result<Bytes, std::convert::Infallible>>);

impl futures_core::Stream for Stream {
    type Item = Result<Bytes, std::convert::Infallible>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.next())
    }
}

struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(router: Router) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, router).await });
    Server { addr, task }
}

struct Got {
    status: StatusCode,
    headers: HeaderMap,
    /// `Err` when the body ended in an error (the connection was cut).
    body: Result<Vec<u8>, String>,
}

impl Got {
    fn text(&self) -> String {
        String::from_utf8_lossy(self.body.as_deref().unwrap_or_default()).into_owned()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Whether the GA4 loader would run in a browser given this response.
    fn tracker_live(&self) -> bool {
        live(&self.text()).any_url_contains("googletagmanager.com/gtag/js")
    }
}

/// A browser's request headers for a navigation, or for a `fetch()`.
const NAVIGATION: &[(&str, &str)] = &[
    ("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("sec-fetch-dest", "document"),
];
const FETCH: &[(&str, &str)] = &[("accept", "*/*"), ("accept-encoding", "gzip, deflate, br, zstd")];

async fn get_from(server: &Server, path: &str, headers: &[(&str, &str)], cookie: Option<&str>) -> Got {
    try_get_from(server, path, headers, cookie).await.unwrap()
}

/// `Err` when the response broke off before its head was complete.
async fn try_get_from(
    server: &Server,
    path: &str,
    headers: &[(&str, &str)],
    cookie: Option<&str>,
) -> Result<Got, String> {
    let client: Client<_, http_body_util::Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut b = axum::http::Request::get(format!("http://{}{path}", server.addr));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    let res =
        client.request(b.body(Default::default()).unwrap_or_default()).await.map_err(|e| format!("{e:?}"))?;
    let (parts, body) = res.into_parts();
    let body = body.collect().await.map(|c| c.to_bytes().to_vec()).map_err(|e| e.to_string());
    Ok(Got { status: parts.status, headers: parts.headers, body })
}

fn granted() -> String {
    consent_cookie(&policy(), &["analytics"])
}

/// The case is gated: no live tracker before consent, a live one after.
async fn assert_gated(router: Router, headers: &[(&str, &str)], case: &str) -> (Got, Got) {
    let server = serve(router).await;
    let before = get_from(&server, "/", headers, None).await;
    assert_eq!(before.status, StatusCode::OK, "{case}");
    assert!(before.body.is_ok(), "{case}: {:?}", before.body);
    assert!(!before.tracker_live(), "{case}: a live tracker before consent:\n{}", before.text());
    assert!(before.text().contains("caf\u{e9}"), "{case}: the page's text survives");
    let after = get_from(&server, "/", headers, Some(&granted())).await;
    assert!(after.tracker_live(), "{case}: the tracker runs after consent:\n{}", after.text());
    (before, after)
}

#[tokio::test]
async fn html_in_every_content_encoding_is_decoded_and_gated() {
    let html = page();
    for (coding, body) in [
        ("gzip", gzip(html.as_bytes())),
        ("x-gzip", gzip(html.as_bytes())),
        ("deflate", zlib(html.as_bytes())),
        ("deflate", raw_deflate(html.as_bytes())),
        ("br", brotli(html.as_bytes())),
        ("zstd", zstd(html.as_bytes())),
        ("identity", html.clone().into_bytes()),
    ] {
        let router = fixed(
            &[("content-type", "text/html; charset=utf-8"), ("content-encoding", coding)],
            body.clone(),
        )
        .layer(ConsentLayer::new(policy()).inject_services(false));
        let (before, _) = assert_gated(router, FETCH, coding).await;
        assert_eq!(before.header("content-encoding"), None, "{coding}: sent decoded");
        assert_eq!(before.header("content-length"), None, "{coding}");
    }
}

#[tokio::test]
async fn an_inner_compression_layer_cannot_hide_a_page() {
    let html = page();
    let router = Router::new()
        .route("/", get(move || std::future::ready(axum::response::Html(html.clone()))))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(ConsentLayer::new(policy()).inject_services(false));
    for (name, headers) in [("fetch", FETCH), ("navigation", NAVIGATION)] {
        assert_gated(router.clone(), headers, name).await;
    }
    // For a navigation the inner layer is asked for identity: it does not
    // compress a page that would only be decoded again.
    let server = serve(
        Router::new()
            .route("/", get(|h: HeaderMap| async move { format!("{:?}", h.get("accept-encoding")) }))
            .layer(ConsentLayer::new(policy())),
    )
    .await;
    let got = get_from(&server, "/", NAVIGATION, None).await;
    assert_eq!(got.text(), "Some(\"identity\")");
}

#[tokio::test]
async fn precompressed_pages_from_serve_dir_are_gated_and_assets_stay_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let html = page();
    let css = "body { color: #123456; } ".repeat(100);
    for (name, bytes) in [
        ("index.html", html.clone().into_bytes()),
        ("index.html.gz", gzip(html.as_bytes())),
        ("index.html.br", brotli(html.as_bytes())),
        ("app.css", css.clone().into_bytes()),
        ("app.css.gz", gzip(css.as_bytes())),
    ] {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let serve_dir = tower_http::services::ServeDir::new(dir.path()).precompressed_gzip().precompressed_br();
    let router =
        Router::new().fallback_service(serve_dir).layer(ConsentLayer::new(policy()).inject_services(false));
    for (name, headers) in [("fetch", FETCH), ("navigation", NAVIGATION)] {
        assert_gated(router.clone(), headers, name).await;
    }
    let server = serve(router).await;
    let css_res =
        get_from(&server, "/app.css", &[("accept-encoding", "gzip"), ("sec-fetch-dest", "style")], None)
            .await;
    assert_eq!(css_res.header("content-encoding"), Some("gzip"), "stylesheets go out precompressed");
}

#[tokio::test]
async fn unknown_stacked_or_partial_pages_are_refused_unless_let_through() {
    let html = page();
    for (headers, body) in [
        (vec![("content-type", "text/html"), ("content-encoding", "compress")], html.clone().into_bytes()),
        (
            vec![("content-type", "text/html"), ("content-encoding", "gzip, br")],
            brotli(&gzip(html.as_bytes())),
        ),
        (
            vec![("content-type", "text/html"), ("content-encoding", "gzip"), ("content-encoding", "gzip")],
            gzip(&gzip(html.as_bytes())),
        ),
    ] {
        let server = serve(fixed(&headers, body.clone()).layer(ConsentLayer::new(policy()))).await;
        let got = get_from(&server, "/", FETCH, None).await;
        assert_eq!(got.status, StatusCode::BAD_GATEWAY, "{headers:?}");
        assert!(got.text().contains("could not be checked"), "{}", got.text());
        assert_eq!(got.header("cache-control"), Some("no-store"));

        let open = serve(
            fixed(&headers, body)
                .layer(ConsentLayer::new(policy()).unreadable_html(UnreadableHtml::PassThrough)),
        )
        .await;
        assert_eq!(get_from(&open, "/", FETCH, None).await.status, StatusCode::OK, "{headers:?}");
    }
    let partial = serve(
        Router::new()
            .route(
                "/",
                get(move || {
                    let part = html[..100].to_owned();
                    async move {
                        Response::builder()
                            .status(StatusCode::PARTIAL_CONTENT)
                            .header("content-type", "text/html")
                            .header("content-range", "bytes 0-99/5000")
                            .body(Body::from(part))
                            .unwrap_or_default()
                    }
                }),
            )
            .layer(ConsentLayer::new(policy())),
    )
    .await;
    assert_eq!(get_from(&partial, "/", FETCH, None).await.status, StatusCode::BAD_GATEWAY);
    // A navigation never asks the inner service for a range.
    let echo = serve(
        Router::new()
            .route("/", get(|h: HeaderMap| async move { format!("range={:?}", h.get("range")) }))
            .layer(ConsentLayer::new(policy())),
    )
    .await;
    let got = get_from(&echo, "/", &[("sec-fetch-dest", "document"), ("range", "bytes=0-10")], None).await;
    assert_eq!(got.text(), "range=None");
}

#[tokio::test]
async fn a_corrupt_or_truncated_compressed_page_ends_in_an_error_not_in_an_ungated_page() {
    let full = gzip(page().as_bytes());
    let cut = full[..full.len() / 2].to_vec();
    let server = serve(
        fixed(&[("content-type", "text/html"), ("content-encoding", "gzip")], cut)
            .layer(ConsentLayer::new(policy()).inject_services(false)),
    )
    .await;
    let broken = |got: Result<Got, String>| got.is_err() || got.is_ok_and(|g| g.body.is_err());
    assert!(broken(try_get_from(&server, "/", FETCH, None).await), "a truncated gzip body is an error");
    let mut garbage = full.clone();
    for b in garbage.iter_mut().skip(20).take(200) {
        *b ^= 0x5a;
    }
    let server = serve(
        fixed(&[("content-type", "text/html"), ("content-encoding", "gzip")], garbage)
            .layer(ConsentLayer::new(policy()).inject_services(false)),
    )
    .await;
    let got = try_get_from(&server, "/", FETCH, None).await;
    assert!(
        got.map_or(true, |g| g.body.is_err() || !g.tracker_live()),
        "corrupt gzip never yields a live tracker"
    );
    for (coding, body) in [("br", brotli(page().as_bytes())), ("zstd", zstd(page().as_bytes()))] {
        let cut = body[..body.len() - 8].to_vec();
        let server = serve(
            fixed(&[("content-type", "text/html"), ("content-encoding", coding)], cut)
                .layer(ConsentLayer::new(policy()).inject_services(false)),
        )
        .await;
        assert!(
            broken(try_get_from(&server, "/", FETCH, None).await),
            "a truncated {coding} body is an error"
        );
    }
}

#[tokio::test]
async fn typeless_responses_are_sniffed_like_a_browser_does() {
    for (case, body) in [
        ("doctype", page()),
        ("whitespace then <html", format!("\n\t  {}", page().trim_start_matches("<!doctype html>"))),
        ("<script first", format!("<SCRIPT async src=\"{GTAG}\"></SCRIPT><p>caf\u{e9}</p>")),
    ] {
        let router =
            fixed(&[], body.clone().into_bytes()).layer(ConsentLayer::new(policy()).inject_services(false));
        assert_gated(router, FETCH, case).await;
        // Compressed and typeless: decoded, then sniffed.
        let router = fixed(&[("content-encoding", "gzip")], gzip(body.as_bytes()))
            .layer(ConsentLayer::new(policy()).inject_services(false));
        assert_gated(router, FETCH, case).await;
    }
    // nosniff: the browser will not render it as HTML, so it passes untouched.
    let body = page();
    let server = serve(
        fixed(&[("x-content-type-options", "nosniff")], body.clone().into_bytes())
            .layer(ConsentLayer::new(policy())),
    )
    .await;
    assert_eq!(get_from(&server, "/", FETCH, None).await.text(), body);
    // Past the first 1,445 bytes a browser has stopped looking: Chromium
    // shows 1,500 spaces then `<html>` as text, and the layer passes it on.
    let late = format!("{}<html><script src=\"{GTAG}\"></script>", " ".repeat(1500));
    let server = serve(fixed(&[], late.clone().into_bytes()).layer(ConsentLayer::new(policy()))).await;
    assert_eq!(get_from(&server, "/", FETCH, None).await.text(), late);
    // Typeless data that is not HTML passes byte for byte.
    let data = br#"{"html": "<script src=\"https://www.googletagmanager.com/gtag/js\"></script>"}"#.to_vec();
    let server = serve(fixed(&[], data.clone()).layer(ConsentLayer::new(policy()))).await;
    assert_eq!(get_from(&server, "/", FETCH, None).await.body.as_deref().ok(), Some(&data[..]));
}

#[tokio::test]
async fn utf16_pages_are_decoded_gated_and_sent_as_utf8() {
    let html = page();
    let utf16 = utf16le_with_bom(&html);
    let router = fixed(&[("content-type", "text/html; charset=utf-16")], utf16.clone())
        .layer(ConsentLayer::new(policy()).inject_services(false));
    let (before, _) = assert_gated(router, FETCH, "charset=utf-16").await;
    assert_eq!(before.header("content-type"), Some("text/html; charset=utf-8"));
    // The byte-order mark outranks a label that says UTF-8, in browsers and here.
    let router = fixed(&[("content-type", "text/html; charset=utf-8")], utf16)
        .layer(ConsentLayer::new(policy()).inject_services(false));
    let (before, _) = assert_gated(router, FETCH, "UTF-16 BOM under a UTF-8 label").await;
    assert!(before.body.as_deref().is_ok_and(|b| b.starts_with(b"\xEF\xBB\xBF")), "sent behind a UTF-8 BOM");
}

/// A handler with validators: `ETag: "v1"` and a `Last-Modified`, answering
/// `304` to a matching `If-None-Match` (weak comparison) or to any
/// `If-Modified-Since`, as static servers and caching handlers do.
fn cacheable() -> Router {
    let html = page();
    Router::new().route(
        "/",
        get(move |h: HeaderMap| {
            let html = html.clone();
            async move {
                let inm = h.get("if-none-match").and_then(|v| v.to_str().ok()).unwrap_or_default();
                let matches = inm.split(',').any(|t| t.trim().trim_start_matches("W/") == "\"v1\"");
                let builder = Response::builder()
                    .header("etag", "\"v1\"")
                    .header("last-modified", "Tue, 01 Sep 2026 10:00:00 GMT");
                if matches || h.contains_key("if-modified-since") {
                    return builder.status(StatusCode::NOT_MODIFIED).body(Body::empty()).unwrap_or_default();
                }
                builder.header("content-type", "text/html").body(Body::from(html)).unwrap_or_default()
            }
        }),
    )
}

#[tokio::test]
async fn a_page_cached_under_consent_is_not_revalidated_after_withdrawal() {
    let server = serve(cacheable().layer(ConsentLayer::new(policy()).inject_services(false))).await;
    let accepted = granted();
    let page = get_from(&server, "/", NAVIGATION, Some(&accepted)).await;
    assert!(page.tracker_live());
    let etag = page.header("etag").unwrap_or_default().to_owned();
    assert!(etag.starts_with("W/\"v1-c"), "{etag}");
    let last_modified = page.header("last-modified").unwrap_or_default().to_owned();
    let conditional = |etag: &str| {
        let mut h = NAVIGATION.to_vec();
        h.push(("if-none-match", etag));
        h.push(("if-modified-since", last_modified.as_str()));
        h.into_iter().map(|(k, v)| (k, v.to_owned())).collect::<Vec<_>>()
    };

    // Same decision: the cached copy is still right, and is revalidated.
    let h = conditional(&etag);
    let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let same = get_from(&server, "/", &h, Some(&accepted)).await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    assert_eq!(same.header("etag"), Some(etag.as_str()), "the 304 carries the page's own validator");

    // Withdrawn (no cookie, or one refusing analytics): a fresh page, gated.
    let refused = consent_cookie(&policy(), &[]);
    for cookie in [None, Some(refused.as_str())] {
        let again = get_from(&server, "/", &h, cookie).await;
        assert_eq!(again.status, StatusCode::OK, "{cookie:?}");
        assert!(!again.tracker_live(), "{cookie:?}");
        assert_ne!(again.header("etag"), Some(etag.as_str()));
    }
    assert!(page.header("vary").is_some_and(|v| v.contains("Cookie")), "shared caches key on the cookie");
}

#[tokio::test]
async fn a_single_tag_beyond_the_rewriter_memory_cap_ends_the_page_in_an_error() {
    // A tracker tag with 17 MiB of attributes: lol_html cannot hold it, so the
    // response breaks off there; what was sent before it was gated.
    let html = format!(
        "<!doctype html><html><head><title>t</title><script async src=\"{GTAG}\" data-pad=\"{}\"></script></head></html>",
        "a".repeat(17 * 1024 * 1024)
    );
    let router = Router::new()
        .route(
            "/",
            get(move || {
                let pieces: Vec<Result<Bytes, std::convert::Infallible>> =
                    html.as_bytes().chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
                std::future::ready(
                    Response::builder()
                        .header("content-type", "text/html")
                        .body(Body::from_stream(Stream(pieces.into_iter())))
                        .unwrap_or_default(),
                )
            }),
        )
        .layer(ConsentLayer::new(policy()).inject_services(false));
    let server = serve(router).await;
    match try_get_from(&server, "/", FETCH, None).await {
        Err(_) => {}
        Ok(got) => {
            assert!(got.body.is_err(), "the response ends in an error");
            let text = String::from_utf8_lossy(got.body.as_deref().unwrap_or_default()).into_owned();
            assert!(!text.contains("gtag/js"), "the tag never went out");
        }
    }
}

#[tokio::test]
async fn a_rewritten_page_is_kept_out_of_shared_caches() {
    let router = fixed(
        &[
            ("content-type", "text/html; charset=utf-8"),
            ("cache-control", "public, max-age=600, s-maxage=3600"),
        ],
        page().into_bytes(),
    )
    .route(
        "/style.css",
        get(|| async { ([("content-type", "text/css"), ("cache-control", "public, max-age=600")], "p{}") }),
    )
    .layer(ConsentLayer::new(policy()));
    let server = serve(router).await;
    for cookie in [None, Some(granted())] {
        let got = get_from(&server, "/", NAVIGATION, cookie.as_deref()).await;
        // A CDN that ignores `Vary` cannot hand one visitor's page to another.
        assert_eq!(got.header("cache-control"), Some("private, max-age=600"), "{cookie:?}");
        assert!(got.header("vary").is_some_and(|v| v.contains("Cookie")), "{cookie:?}");
    }
    let css = get_from(&server, "/style.css", FETCH, None).await;
    assert_eq!(
        css.header("cache-control"),
        Some("public, max-age=600"),
        "assets are not the layer's to change"
    );
}

#[tokio::test]
async fn xhtml_that_an_html_parser_would_misread_ends_in_an_error() {
    let cases = [
        (
            "an internal subset declaring an entity",
            "<?xml version=\"1.0\"?><!DOCTYPE html [<!ENTITY g \"www.googletagmanager.com\">]>\
             <html xmlns=\"http://www.w3.org/1999/xhtml\"><head><script src=\"https://&g;/gtag/js?id=G-AB12CD34\"/></head><body/></html>",
        ),
        (
            "an upper-case SCRIPT (not a script in XML, its content is markup)",
            "<?xml version=\"1.0\"?><html xmlns=\"http://www.w3.org/1999/xhtml\"><head/><body>\
             <SCRIPT><img src=\"https://www.googletagmanager.com/gtag/js?id=G-AB12CD34\"/></SCRIPT></body></html>",
        ),
    ];
    for (case, page) in cases {
        let router = fixed(&[("content-type", "application/xhtml+xml")], page.as_bytes().to_vec())
            .layer(ConsentLayer::new(policy()));
        let server = serve(router).await;
        if let Ok(got) = try_get_from(&server, "/", NAVIGATION, None).await {
            assert!(got.body.is_err(), "{case}: the page must not end normally:\n{}", got.text());
            assert!(!got.text().contains("googletagmanager"), "{case}: nothing of the tracker sent");
        }
    }
}

#[tokio::test]
async fn a_page_whose_content_type_lines_end_in_html_is_gated_as_html() {
    // Browsers take the last valid type of every line and list item
    // (Fetch, "extract a MIME type"): each of these renders as HTML.
    for (case, headers) in [
        (
            "json line, then html line",
            &[("content-type", "application/json"), ("content-type", "text/html")][..],
        ),
        ("a list ending in html", &[("content-type", "application/json, text/html")][..]),
        ("html, then */* (skipped)", &[("content-type", "text/html, */*")][..]),
    ] {
        let router =
            fixed(headers, page().into_bytes()).layer(ConsentLayer::new(policy()).inject_services(false));
        let (before, _) = assert_gated(router, NAVIGATION, case).await;
        // One line, saying what the page was gated as.
        assert_eq!(before.headers.get_all("content-type").iter().count(), 1, "{case}");
        assert!(before.header("content-type").is_some_and(|t| t.starts_with("text/html")), "{case}");
    }
}

#[tokio::test]
async fn a_content_type_with_a_non_ascii_byte_is_still_read_as_html() {
    let router = Router::new().route(
        "/",
        get(|| async {
            let mut res = Response::new(Body::from(page()));
            res.headers_mut().insert(
                "content-type",
                axum::http::HeaderValue::from_bytes(b"text/html; charset=utf-8; x=\xe9").unwrap(),
            );
            res.headers_mut()
                .insert("x-content-type-options", axum::http::HeaderValue::from_static("nosniff"));
            res
        }),
    );
    let router = router.layer(ConsentLayer::new(policy()).inject_services(false));
    assert_gated(router, NAVIGATION, "non-ASCII parameter, nosniff").await;
}

#[tokio::test]
async fn cdn_only_cache_directives_never_let_a_cdn_keep_a_personalised_page() {
    let headers: &[(&str, &str)] = &[
        ("content-type", "text/html"),
        ("cache-control", "public, max-age=600"),
        ("cdn-cache-control", "max-age=86400"),
        ("cloudflare-cdn-cache-control", "max-age=86400"),
        ("surrogate-control", "max-age=86400"),
        ("edge-control", "cache-maxage=1d"),
    ];
    let router =
        fixed(headers, page().into_bytes()).layer(ConsentLayer::new(policy()).inject_services(false));
    let (before, after) = assert_gated(router, NAVIGATION, "cdn headers").await;
    for got in [before, after] {
        assert_eq!(got.header("cache-control"), Some("private, max-age=600"));
        for name in ["cdn-cache-control", "cloudflare-cdn-cache-control", "surrogate-control", "edge-control"]
        {
            assert_eq!(got.header(name), None, "{name} must not reach a CDN");
        }
    }
}

/// Peak resident memory of this process since the last reset, in KiB
/// (Linux; `None` elsewhere).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Starts the peak over from the current resident memory (Linux 4.0+).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Streams a response's body, counting and dropping it: `(bytes, whether it
/// ended cleanly)`.
async fn drain(server: &Server, headers: &[(&str, &str)], limit_bytes: Option<usize>) -> (usize, bool) {
    let client: Client<_, http_body_util::Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut b = axum::http::Request::get(format!("http://{}/", server.addr));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let res = client.request(b.body(Default::default()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let mut body = res.into_body();
    let mut n = 0;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => n += f.data_ref().map_or(0, Bytes::len),
            Err(_) => return (n, false),
        }
        if limit_bytes.is_some_and(|l| n > l) {
            return (n, false);
        }
    }
    (n, true)
}

#[tokio::test]
async fn decompression_bombs_are_read_in_bounded_memory_and_cut_at_the_limit() {
    const GIB: usize = 1 << 30;
    for (coding, bomb) in [
        ("zstd", &include_bytes!("../fixtures/bomb-1gib.html.zst")[..]),
        ("br", &include_bytes!("../fixtures/bomb-1gib.html.br")[..]),
    ] {
        let headers = [("content-type", "text/html"), ("content-encoding", coding)];
        // Over the default limit (256 MiB decoded): the response is cut.
        let server = serve(fixed(&headers, bomb.to_vec()).layer(ConsentLayer::new(policy()))).await;
        reset_peak_rss();
        let idle = peak_rss_kib();
        let (sent, clean) = drain(&server, NAVIGATION, None).await;
        assert!(!clean, "{coding}: a page past the limit ends with an error");
        assert!(sent < 300 << 20 && sent > 200 << 20, "{coding}: cut near 256 MiB, after {sent} bytes");
        // Under a limit that lets it through: all of it, rewritten, with
        // memory that does not grow with it.
        let server = serve(
            fixed(&headers, bomb.to_vec())
                .layer(ConsentLayer::new(policy()).max_decoded_body(2 * GIB as u64)),
        )
        .await;
        let (sent, clean) = drain(&server, NAVIGATION, None).await;
        assert!(clean, "{coding}: under the limit the page ends cleanly");
        assert!(sent > GIB, "{coding}: the whole page, {sent} bytes");
        if let (Some(idle), Some(peak)) = (idle, peak_rss_kib()) {
            let grew = peak.saturating_sub(idle);
            println!("{coding}: 1 GiB decoded, peak memory +{grew} KiB");
            assert!(grew < 64 * 1024, "{coding}: peak memory grew by {grew} KiB decoding 1 GiB");
        }
    }
}

#[tokio::test]
async fn markup_a_browser_reads_otherwise_is_never_sent_ungated() {
    // In a browser, `<xmp>` is ignored inside `<select>` and the script runs;
    // read as text it would pass ungated: the page is cut off instead.
    let page = format!(
        "<!doctype html><html><head><title>t</title></head><body><form><select><xmp>\
         <script async src=\"{GTAG}\"></script></xmp></select></form></body></html>"
    );
    let router =
        fixed(&[("content-type", "text/html")], page.into_bytes()).layer(ConsentLayer::new(policy()));
    let server = serve(router).await;
    // (Cut before its head was complete, nothing left either.)
    if let Ok(got) = try_get_from(&server, "/", NAVIGATION, None).await {
        assert!(got.body.is_err(), "the response is ended with an error: {}", got.text());
        assert!(!got.text().contains(GTAG), "the ambiguous part never left");
    }
}
