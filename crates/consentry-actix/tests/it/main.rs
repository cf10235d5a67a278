//! consentry-actix over real HTTP, in one binary: the engine's shared HTTP
//! cases (the same list `consentry-tower` runs), then what is particular to
//! actix-web (an app's error turned into a gated page, the extractor without
//! the middleware).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;
use consentry_actix::receipts::SqliteStore;
use consentry_actix::{Consent, ConsentDecision};

#[path = "../../../consentry-engine/tests/shared/http_cases.rs"]
mod cases;

async fn case(name: web::Path<String>) -> HttpResponse {
    let Some(up) = cases::upstream(&name) else {
        return HttpResponse::NotFound().finish();
    };
    let mut res = HttpResponse::build(actix_web::http::StatusCode::from_u16(up.status).unwrap());
    for (k, v) in &up.headers {
        res.insert_header((*k, v.as_str()));
    }
    if up.status == 304 {
        return res.finish();
    }
    let chunks =
        futures_util::stream::iter(up.chunks.into_iter().map(|c| Ok::<_, std::io::Error>(Bytes::from(c))));
    res.streaming(chunks)
}

async fn echo(req: HttpRequest) -> String {
    ["range", "accept-encoding", "if-none-match"]
        .iter()
        .map(|h| format!("{h}: {}\n", req.headers().get(*h).and_then(|v| v.to_str().ok()).unwrap_or("-")))
        .collect()
}

async fn decision(d: Option<ConsentDecision>) -> String {
    match d {
        Some(d) => format!(
            "analytics={} advertising={} model={}",
            d.allows("analytics"),
            d.allows("advertising"),
            d.model().as_str()
        ),
        None => "none".to_owned(),
    }
}

/// An app error whose response is an HTML page carrying a tracker.
#[derive(Debug)]
struct Broken;

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("broken")
    }
}

impl actix_web::ResponseError for Broken {
    fn error_response(&self) -> HttpResponse {
        HttpResponse::InternalServerError().content_type("text/html; charset=utf-8").body(cases::page())
    }
}

async fn fail() -> Result<HttpResponse, Broken> {
    Err(Broken)
}

/// Serves the cases' app behind `consent` on a port of its own, in a thread
/// running actix-web's system; returns its address.
fn serve(consent: Consent) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(consent.clone())
                    .service(
                        web::resource("/case/{name}").route(web::get().to(case)).route(web::head().to(case)),
                    )
                    .route("/echo", web::get().to(echo))
                    .route("/decision", web::get().to(decision))
                    .route("/fail", web::get().to(fail))
            })
            .workers(1)
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    rx.recv().unwrap()
}

#[test]
fn the_shared_http_cases_pass_through_the_actix_middleware() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("receipts.db")).unwrap();
    let addr = serve(Consent::from(cases::settings(store)));
    cases::run_all("consentry-actix", addr);
}

#[test]
fn an_error_page_the_app_returns_is_gated_like_any_page() {
    let addr = serve(Consent::new(cases::policy()));
    let r = cases::send(addr, "GET", "/fail", &[("accept", "text/html")], b"");
    assert_eq!(r.status, 500);
    let html = r.text();
    assert!(html.contains("<h1>Hello</h1>"), "{html}");
    assert!(
        !html.contains("<script src=\"/_trackers/ads/tag.js\"></script>"),
        "the ad tag went out live: {html}"
    );
    assert!(r.header("tk").is_some());
}

#[test]
fn without_the_middleware_the_optional_extractor_is_none() {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(|| App::new().route("/decision", web::get().to(decision)))
                .workers(1)
                .bind("127.0.0.1:0")
                .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    assert_eq!(cases::send(addr, "GET", "/decision", &[], b"").text(), "none");
}

#[test]
fn clones_built_outside_the_server_share_one_engine() {
    let consent = Consent::new(cases::policy());
    let clone = consent.clone();
    assert!(std::ptr::eq(consent.engine().policy(), clone.engine().policy()));
}
