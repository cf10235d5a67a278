//! The server `cargo xtask bench` loads with wrk: the same axum app with and
//! without `ConsentLayer`, so one run measures both.
//!
//! `cargo run --release -p consentry-tower --example bench_server -- 127.0.0.1:8700 [BARE_ADDR WRAPPED_ADDR]`
//!
//! - `/plain/page`, `/layer/page`: a 50 KB HTML page with GA, GTM and Matomo tags;
//! - `/plain/json`, `/layer/json`: a small JSON response; `/noop/json` the
//!   same through a layer that only wraps the body (the floor for any
//!   body-changing layer);
//! - with two more addresses, `.../json` on the first is the same routes with
//!   no layer and on the second the routes wrapped once, from outside, by
//!   `ConsentLayer` (how a `ServiceBuilder` mounts it);
//! - `/tpl-plain/page`, `/tpl-layer/page`: a realistic app: the ~50 KB page
//!   rendered per request from a minijinja template (400 articles from a
//!   list), behind tower-http's `CompressionLayer` (outside the consent
//!   layer), the way an axum site is built.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use consentry_core::Policy;
use consentry_tower::ConsentLayer;
use tower_http::compression::CompressionLayer;

/// The article page as a template, as a site would write it.
fn templates() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    let added = env.add_template(
        "page.html",
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-AB12CD34"></script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}gtag('js',new Date());gtag('config','G-AB12CD34');</script>
<link rel="stylesheet" href="/static/site.css"></head><body><header><a href="/">{{ title }}</a></header><main>
{% for a in articles %}<article id="a{{ a.id }}"><h2>{{ a.title }}</h2><p>{{ a.text }} <a href="/p/{{ a.id }}">Read more</a></p><img src="/img/{{ a.id }}.png" alt=""></article>
{% endfor %}</main>
<script>var _paq=window._paq=window._paq||[];_paq.push(['trackPageView']);</script></body></html>"#,
    );
    if let Err(e) = added {
        eprintln!("bench_server: template: {e}");
        std::process::exit(1);
    }
    env
}

/// One request's page: 400 articles rendered from the template (~50 KB).
fn render(env: &minijinja::Environment<'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let articles: Vec<minijinja::Value> = (0..400)
        .map(|i| {
            minijinja::context! {
                id => i,
                title => format!("Section {i}"),
                text => "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
            }
        })
        .collect();
    let page = env
        .get_template("page.html")
        .and_then(|t| t.render(minijinja::context! { title => "Bench", articles => articles }));
    match page {
        Ok(html) => Html(html).into_response(),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[path = "../../consentry-engine/tests/shared/bench_page.rs"]
mod bench_page;
use bench_page::{POLICY, page};

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8700".to_owned());
    let Ok(policy) = Policy::from_json(POLICY) else {
        eprintln!("bench policy invalid");
        std::process::exit(1);
    };
    let html = page();
    let routes = |html: String| {
        Router::new()
            .route("/page", get(move || { let h = html.clone(); async move { Html(h) } }))
            .route("/json", get(|| async { axum::Json(serde_json::json!({"id": 42, "name": "widget", "tags": ["a", "b", "c"], "price": 9.99})) }))
    };
    let templates = std::sync::Arc::new(templates());
    let tpl = |templates: std::sync::Arc<minijinja::Environment<'static>>| {
        Router::new().route(
            "/page",
            get(move || {
                let templates = std::sync::Arc::clone(&templates);
                async move { render(&templates) }
            }),
        )
    };
    // Optional second and third addresses: the same routes served bare, and
    // wrapped once by the layer from outside (a `ServiceBuilder` around the
    // whole app; axum boxes the body as it would for any body-changing layer).
    let extra: Vec<String> = std::env::args().skip(2).take(2).collect();
    if let [bare_addr, wrapped_addr] = extra.as_slice() {
        let wrapped = tower::Layer::layer(
            &ConsentLayer::new(policy.clone()).inject_services(false),
            routes(html.clone()),
        );
        let wrapped = tower::ServiceExt::<axum::extract::Request>::map_response(
            wrapped,
            |r: axum::http::Response<_>| r.map(axum::body::Body::new),
        );
        let wrapped = axum::ServiceExt::<axum::extract::Request>::into_make_service(wrapped);
        let bare = routes(html.clone());
        let (Ok(l1), Ok(l2)) = (
            tokio::net::TcpListener::bind(bare_addr).await,
            tokio::net::TcpListener::bind(wrapped_addr).await,
        ) else {
            eprintln!("bench_server: cannot bind {bare_addr} and {wrapped_addr}");
            std::process::exit(1);
        };
        tokio::spawn(async move { axum::serve(l1, bare).await });
        tokio::spawn(async move { axum::serve(l2, wrapped).await });
    }
    let app = Router::new()
        .nest("/plain", routes(html.clone()))
        .nest("/layer", routes(html.clone()).layer(ConsentLayer::new(policy.clone()).inject_services(false)))
        // The floor for any layer that wraps the response body: a body
        // wrapper that changes nothing (axum boxes it, as it boxes ours).
        .nest(
            "/noop",
            routes(html).layer(tower_http::map_response_body::MapResponseBodyLayer::new(
                |b: axum::body::Body| http_body_util::BodyExt::map_err(b, |e: axum::Error| e),
            )),
        )
        .nest("/tpl-plain", tpl(std::sync::Arc::clone(&templates)).layer(CompressionLayer::new()))
        .nest(
            "/tpl-layer",
            tpl(templates)
                .layer(ConsentLayer::new(policy).inject_services(false))
                .layer(CompressionLayer::new()),
        );
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bench_server: {addr}: {e}");
            std::process::exit(1);
        }
    };
    println!("bench_server listening on {addr}");
    let _ = axum::serve(listener, app).await;
}
