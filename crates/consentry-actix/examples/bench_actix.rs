//! The actix-web server `cargo xtask bench` loads with wrk, beside
//! consentry-tower's `bench_server`: the same routes with and without the
//! `Consent` middleware, on the same page and policy, so one run measures
//! both adapters against their own framework.
//!
//! `cargo run --release -p consentry-actix --example bench_actix -- 127.0.0.1:8701`
//!
//! - `/plain/page`, `/layer/page`: the 50 KB HTML page with GA and Matomo tags;
//! - `/plain/json`, `/layer/json`: a small JSON response, serialised per request.

use actix_web::{App, HttpResponse, HttpServer, web};
use consentry_actix::Consent;
use consentry_core::Policy;

#[path = "../../consentry-engine/tests/shared/bench_page.rs"]
mod bench_page;
use bench_page::{POLICY, page};

async fn json() -> HttpResponse {
    let body = serde_json::json!({"id": 42, "name": "widget", "tags": ["a", "b", "c"], "price": 9.99});
    HttpResponse::Ok().content_type("application/json").body(body.to_string())
}

fn routes(html: web::Bytes) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        let html = html.clone();
        cfg.route(
            "/page",
            web::get().to(move || {
                let html = html.clone();
                async move { HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html) }
            }),
        )
        .route("/json", web::get().to(json));
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8701".to_owned());
    let policy = Policy::from_json(POLICY).map_err(std::io::Error::other)?;
    let consent = Consent::new(policy).inject_services(false);
    let html = web::Bytes::from(page());
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .service(web::scope("/plain").configure(routes(html.clone())))
                .service(web::scope("/layer").wrap(consent.clone()).configure(routes(html.clone())))
        })
        .workers(1)
        .bind(&addr)?
        .run()
        .await
    })
}
