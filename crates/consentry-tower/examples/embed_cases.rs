//! The server of the embedding test (`tests/browser/embeds.test.mjs`): every
//! case of `tests/browser/fixtures/embeds/cases.json` as a page behind
//! `ConsentLayer`, with the banner's assets, so headless Chromium can load
//! each one with and without consent, JavaScript on and off.
//!
//! ```text
//! cargo run -p consentry-tower --example embed_cases -- 127.0.0.1:0 www/dist tests/browser/fixtures/embeds
//! ```
//!
//! - `/case/<n>`: case `n` (0-based) in a page: its `head` in `<head>`, its
//!   `body` in `<body>` (an XHTML page, as `application/xhtml+xml`, when the
//!   case says `"xhtml": true`; with no `Content-Type` when it says
//!   `"typeless": true`);
//! - `/consentry/…`: the layer's routes and assets.
//!
//! The layer injects no service of its own (`inject_services(false)`): a
//! tracker request after consent can only come from the case's markup.
//! It prints `embed_cases listening on http://<addr>` once ready.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use consentry_core::Policy;
use consentry_tower::{Assets, ConsentLayer};

fn fail(msg: String) -> ! {
    eprintln!("embed_cases: {msg}");
    std::process::exit(1)
}

/// The page a case is served in, and its `Content-Type`.
fn page(case: &serde_json::Value) -> (String, &'static str) {
    let part = |k: &str| case.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    if case.get("xhtml").and_then(|v| v.as_bool()).unwrap_or(false) {
        let page = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n\
             <html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<title>{}</title>\n{}\n</head>\n\
             <body>\n<h1>Embedding case</h1>\n{}\n<p>End of the case.</p>\n</body>\n</html>\n",
            part("name"),
            part("head"),
            part("body")
        );
        return (page, "application/xhtml+xml; charset=utf-8");
    }
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n{}\n</head>\n\
         <body>\n<h1>Embedding case</h1>\n{}\n<p>End of the case.</p>\n</body>\n</html>\n",
        part("name"),
        part("head"),
        part("body")
    );
    let typeless = case.get("typeless").and_then(|v| v.as_bool()).unwrap_or(false);
    (page, if typeless { "" } else { "text/html; charset=utf-8" })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, dist, dir] = args.as_slice() else {
        fail("usage: embed_cases <addr> <www/dist> <tests/browser/fixtures/embeds>".to_owned())
    };
    let read = |name: &str| {
        let path = std::path::Path::new(dir).join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())))
    };
    let policy =
        Policy::from_json(&read("policy.json")).unwrap_or_else(|e| fail(format!("policy.json: {e}")));
    let cases: serde_json::Value =
        serde_json::from_str(&read("cases.json")).unwrap_or_else(|e| fail(format!("cases.json: {e}")));
    let pages: Vec<(String, &'static str)> = cases
        .get("cases")
        .and_then(|c| c.as_array())
        .map(|c| c.iter().map(page).collect())
        .unwrap_or_default();
    let assets = Assets::from_dir(dist).unwrap_or_else(|e| fail(format!("{dist}: {e}")));
    let app = Router::new()
        .route(
            "/case/{n}",
            get(move |Path(n): Path<usize>| {
                let page = pages.get(n).cloned();
                async move {
                    match page {
                        // No `Content-Type` at all for a typeless case.
                        Some((body, "")) => axum::body::Body::from(body).into_response(),
                        Some((body, ty)) => ([(header::CONTENT_TYPE, ty)], body).into_response(),
                        None => (StatusCode::NOT_FOUND, "no such case").into_response(),
                    }
                }
            }),
        )
        .layer(ConsentLayer::new(policy).assets(assets).inject_services(false));
    let listener =
        tokio::net::TcpListener::bind(addr.as_str()).await.unwrap_or_else(|e| fail(format!("{addr}: {e}")));
    let local = listener.local_addr().unwrap_or_else(|e| fail(format!("{e}")));
    println!("embed_cases listening on http://{local}");
    if let Err(e) = axum::serve(listener, app).await {
        fail(format!("{e}"));
    }
}
