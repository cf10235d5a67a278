//! `--server actix`: the five sites served by actix-web, each site's scope
//! wrapped in `consentry-actix`'s `Consent` middleware with the settings the
//! axum build gives `ConsentLayer` (`site_settings`).
//!
//! The pages themselves and the tracker stubs are the demo's axum handlers,
//! reached through a small bridge (`forward`): actix-web receives every
//! request, runs the middleware (decision, consent routes, receipts, the
//! streaming rewrite of the page), and the bridge asks the handlers for the
//! page with the middleware's decision in hand — so the decision inspector
//! shows what actix-web's middleware decided.

use std::net::SocketAddr;

use actix_web::dev::{Service, ServiceRequest};
use actix_web::http::StatusCode;
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use axum::Router;
use consentry_actix::Consent;
use tower::ServiceExt;

use crate::trackers::HitLog;
use crate::{
    Args, announce, banner_assets, open_receipts, policies, region, repo_root, routes, site_settings,
};

pub async fn run(args: Args) -> std::io::Result<()> {
    let root = repo_root();
    let assets = banner_assets(&args, &root);
    let receipts = open_receipts(&args, &root).await;
    // The pages and stubs, with no layer: the actix middleware gates them.
    let pages = routes(&root, args.leaky_tag, None, &HitLog::default());
    let consents: Vec<(&'static str, Consent)> = policies(&root)
        .into_iter()
        .map(|(slug, policy)| (slug, Consent::from(site_settings(slug, policy, &assets, &receipts))))
        .collect();
    let server = HttpServer::new(move || {
        let mut app = App::new().app_data(web::Data::new(pages.clone()));
        for (slug, consent) in &consents {
            app = app.service(
                web::scope(&format!("/{slug}")).wrap(consent.clone()).default_service(web::to(forward)),
            );
        }
        // Outside every site's middleware: plays the CDN that sets the region headers.
        app.default_service(web::to(forward)).wrap_fn(|mut req: ServiceRequest, srv| {
            simulate_cloudflare(&mut req);
            srv.call(req)
        })
    })
    .workers(2)
    .bind(args.addr)
    .map_err(|e| {
        std::io::Error::other(format!(
            "cannot listen on {}: {e} (is another demo running? try --addr 127.0.0.1:8081)",
            args.addr
        ))
    })?;
    let addr = server.addrs().first().copied().unwrap_or(args.addr);
    announce(addr, "Consent (actix-web)");
    server.run().await
}

/// `region::simulate_cloudflare` on actix-web's request.
fn simulate_cloudflare(req: &mut ServiceRequest) {
    let cookies: Vec<String> =
        req.headers().get_all("cookie").filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
    let place = region::chosen_from_cookies(cookies.iter().map(String::as_str));
    let headers = req.headers_mut();
    headers.remove("cf-ipcountry");
    headers.remove("cf-region-code");
    for (name, value) in region::cloudflare_headers(place) {
        headers.insert(
            actix_web::http::header::HeaderName::from_static(name),
            actix_web::http::header::HeaderValue::from_static(value),
        );
    }
}

/// Asks the demo's handlers for the response to `req`, with the decision
/// the middleware made, and streams it back.
async fn forward(req: HttpRequest, body: web::Bytes, pages: web::Data<Router>) -> HttpResponse {
    let mut to = http::Request::builder().method(req.method().as_str()).uri(req.uri().to_string());
    for (name, value) in req.headers() {
        to = to.header(name.as_str(), value.as_bytes());
    }
    let Ok(mut to) = to.body(axum::body::Body::from(body)) else {
        return HttpResponse::BadRequest().body("unreadable request");
    };
    if let Some(decision) = req.extensions().get::<consentry_core::Decision>() {
        to.extensions_mut().insert(decision.clone());
    }
    if let Some(peer) = req.peer_addr() {
        to.extensions_mut().insert(axum::extract::ConnectInfo::<SocketAddr>(peer));
    }
    let res = match pages.get_ref().clone().oneshot(to).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    let (head, body) = res.into_parts();
    let mut out =
        HttpResponse::build(StatusCode::from_u16(head.status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY));
    for (name, value) in &head.headers {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    out.streaming(body.into_data_stream())
}
