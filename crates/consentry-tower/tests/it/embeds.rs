//! Every way of embedding a tracker listed in
//! `tests/browser/fixtures/embeds/cases.json`, over real HTTP through the
//! layer: without consent the case's markup is gated for its service (the
//! element marked with it, the markup no longer as written); with every
//! category accepted it goes out exactly as written. The browser test
//! `tests/browser/embeds.test.mjs` loads the same cases in Chromium.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use crate::common;

use std::path::PathBuf;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use bytes::Bytes;
use common::consent_cookie;
use consentry_core::Policy;
use consentry_tower::ConsentLayer;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser/fixtures/embeds")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

struct Case {
    name: String,
    service: String,
    head: String,
    body: String,
    xhtml: bool,
    typeless: bool,
}

fn cases() -> Vec<Case> {
    let json: serde_json::Value = serde_json::from_str(&read("cases.json")).unwrap();
    let s = |c: &serde_json::Value, k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    json.get("cases")
        .and_then(|c| c.as_array())
        .expect("cases.json: no `cases` array")
        .iter()
        .map(|c| Case {
            name: s(c, "name"),
            service: s(c, "service"),
            head: s(c, "head"),
            body: s(c, "body"),
            xhtml: c.get("xhtml").and_then(|v| v.as_bool()).unwrap_or(false),
            typeless: c.get("typeless").and_then(|v| v.as_bool()).unwrap_or(false),
        })
        .collect()
}

fn page(c: &Case) -> String {
    if c.xhtml {
        return format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE html>\n\
             <html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n<title>case</title>\n{}\n</head>\n\
             <body>\n<h1>Embedding case</h1>\n{}\n<p>End of the case.</p>\n</body>\n</html>\n",
            c.head, c.body
        );
    }
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>case</title>\n{}\n</head>\n\
         <body>\n<h1>Embedding case</h1>\n{}\n<p>End of the case.</p>\n</body>\n</html>\n",
        c.head, c.body
    )
}

async fn fetch(addr: std::net::SocketAddr, path: &str, cookie: Option<&str>) -> String {
    let client: Client<_, http_body_util::Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = axum::http::Request::get(format!("http://{addr}{path}"))
        .header("accept", "text/html")
        .header("accept-encoding", "gzip, br");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = client.request(req.body(Default::default()).unwrap_or_default()).await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&body).into_owned()
}

#[tokio::test]
async fn every_way_of_embedding_a_tracker_is_gated_until_consent() {
    let policy = Policy::from_json(&read("policy.json")).unwrap();
    let cases = cases();
    assert!(cases.len() >= 30, "the table keeps growing, never shrinking");
    let pages: Vec<(String, &'static str)> = cases
        .iter()
        .map(|c| {
            let ty = match (c.xhtml, c.typeless) {
                (true, _) => "application/xhtml+xml; charset=utf-8",
                (false, true) => "",
                (false, false) => "text/html; charset=utf-8",
            };
            (page(c), ty)
        })
        .collect();
    let app = Router::new()
        .route(
            "/case/{n}",
            get(move |Path(n): Path<usize>| {
                let (body, ty) = pages.get(n).cloned().unwrap_or_default();
                async move {
                    let mut res = axum::http::Response::builder();
                    if !ty.is_empty() {
                        res = res.header(axum::http::header::CONTENT_TYPE, ty);
                    }
                    res.body(axum::body::Body::from(body)).unwrap_or_default()
                }
            }),
        )
        .layer(ConsentLayer::new(policy.clone()).inject_services(false));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let optional: Vec<&str> =
        policy.categories().iter().filter(|c| !c.required).map(|c| c.id.as_str()).collect();
    let everything = consent_cookie(&policy, &optional);
    let mut failures = Vec::new();
    for (n, c) in cases.iter().enumerate() {
        let path = format!("/case/{n}");
        let before = fetch(addr, &path, None).await;
        if !before.contains(&format!("data-service=\"{}\"", c.service)) {
            failures.push(format!("{}: not marked as `{}` before consent:\n{before}", c.name, c.service));
        }
        for part in [&c.head, &c.body] {
            if !part.is_empty() && before.contains(part.as_str()) {
                failures.push(format!("{}: went out as written before consent", c.name));
            }
        }
        let after = fetch(addr, &path, Some(&everything)).await;
        if c.xhtml {
            // Self-closed raw-text elements get an end tag; nothing is gated.
            for (when, page) in [("before", &before), ("after", &after)] {
                let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
                if let Err(e) = roxmltree::Document::parse_with_options(page, options) {
                    failures.push(format!("{}: not well-formed XML {when} consent: {e}\n{page}", c.name));
                }
            }
            // (The inlined ready policy's dialog names services too: not gating.)
            let policy_script = after
                .find("id=\"consentry-policy\">")
                .and_then(|at| after[at..].find("</script>").map(|end| &after[at..at + end]));
            let page = policy_script.map_or_else(|| after.clone(), |p| after.replace(p, ""));
            if page.contains("data-service=") {
                failures.push(format!("{}: gated although every category is accepted:\n{after}", c.name));
            }
            continue;
        }
        for part in [&c.head, &c.body] {
            if !after.contains(part.as_str()) {
                failures.push(format!("{}: changed although every category is accepted:\n{after}", c.name));
            }
        }
    }
    server.abort();
    assert!(failures.is_empty(), "{} of {} cases:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
