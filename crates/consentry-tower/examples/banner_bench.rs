//! The server the browser benchmark of `cargo xtask bench` (section
//! `browser`) loads in headless Chromium: one article page, served by the
//! same process in three ways that differ only in the consent tool.
//!
//! ```text
//! cargo run --release -p consentry-tower --example banner_bench -- \
//!     127.0.0.1:8701 www/dist www/policies/redis.json <vanilla-cookieconsent dist dir>
//! ```
//!
//! - `/server/`: the page through `ConsentLayer` with the server-rendered
//!   banner (policy inlined, stylesheet and loader injected; the wasm
//!   widget hydrates the banner that is already in the HTML);
//! - `/script/`: the page as a static site would ship it, with the README's
//!   snippet at the end of `<head>`, where the layer injects its own: a
//!   preload hint for the ready policy, the stylesheet and
//!   `<script type="module" src="consentry.js" data-policy="policy.ready.json">`;
//! - `/script-both/`: the same with the wasm preloaded too;
//! - `/script-plain/`: the same without any preload hint;
//! - `/script-source/`: the same without hints, handed the policy *source*
//!   (the banner then fetches the policy builder and builds it in the page);
//! - `/vanilla/`: the page with vanilla-cookieconsent 3.1 (its CSS, its UMD
//!   bundle and a `CookieConsent.run` configuration built from the same
//!   policy: same categories, same texts), at the same place.
//!
//! Every file is read into memory at start and served with `no-store`; every
//! response of every variant (pages, the layer's assets, the static files)
//! is gzip-compressed when the browser accepts it, once per distinct body, as
//! a CDN or `gzip_static` would. The three variants pay the same for the
//! network.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{MethodRouter, get};

use consentry_core::Policy;
use consentry_core::texts::Key;
use consentry_tower::{Assets, ConsentLayer};
use http_body_util::BodyExt;

/// The article every variant shows: about 12 KB of text, a header, a
/// navigation and two author-marked analytics scripts.
fn article() -> String {
    let mut body = String::from(
        "<header class=\"site\"><strong>Example Docs</strong><nav><a href=\"/\">Home</a> \
         <a href=\"/docs\">Docs</a> <a href=\"/blog\">Blog</a> <a href=\"/privacy\">Privacy</a></nav></header>\n\
         <main><article><h1>Getting started with the example database</h1>\n",
    );
    for i in 1..=24 {
        body.push_str(&format!(
            "<h2>Step {i}</h2><p>Install the server, start it with the default configuration and connect \
             with the command-line client. Every command returns a reply you can read in the client; \
             the documentation of each command lists its arguments, its complexity and what it returns. \
             Step {i} shows the commands used most often and how they fit together.</p>\n"
        ));
    }
    body.push_str(
        "</article></main>\n<footer><p>© Example. <a href=\"#\" data-cc=\"show-preferencesModal\" \
         data-consentry=\"preferences\">Cookie settings</a></p></footer>\n\
         <script type=\"text/plain\" data-category=\"analytics\">window.analyticsRan = true;</script>\n",
    );
    body
}

fn page(head_extra: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Getting started — Example Docs</title>\n\
         <style>body{{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:46rem;padding:0 1rem}}\
         header.site{{display:flex;justify-content:space-between;padding:1rem 0}}</style>\n\
         {head_extra}</head>\n<body>\n{body}</body>\n</html>\n"
    )
}

/// The `CookieConsent.run` configuration equivalent to `policy` in English.
fn vanilla_config(policy: &Policy) -> String {
    let t = policy.texts_for(&["en"]);
    let mut categories = serde_json::Map::new();
    let mut sections = Vec::new();
    for c in policy.categories() {
        categories.insert(c.id.clone(), serde_json::json!({ "enabled": c.required, "readOnly": c.required }));
        let services: Vec<&str> = policy
            .services()
            .iter()
            .filter(|s| s.category == c.id)
            .map(|s| s.name.as_deref().unwrap_or(&s.id))
            .collect();
        let mut description = t.category_description(&c.id).unwrap_or_default().to_owned();
        if !services.is_empty() {
            description.push(' ');
            description.push_str(t.get(Key::services));
            description.push_str(": ");
            description.push_str(&services.join(", "));
            description.push('.');
        }
        sections.push(serde_json::json!({
            "title": t.category_title(&c.id),
            "description": description,
            "linkedCategory": c.id,
        }));
    }
    let config = serde_json::json!({
        // Its default hides the banner from automated browsers (navigator.webdriver),
        // which headless Chromium driven over CDP is.
        "hideFromBots": false,
        "cookie": { "name": policy.cookie().name, "expiresAfterDays": policy.cookie().max_age_seconds() / 86_400 },
        "categories": categories,
        "language": {
            "default": "en",
            "translations": { "en": {
                "consentModal": {
                    "title": t.get(Key::title),
                    // The same first layer as ours: purposes, third parties,
                    // refusing costs nothing, withdrawal.
                    "description": first_layer(policy, &t),
                    "acceptAllBtn": t.get(Key::accept_all),
                    "acceptNecessaryBtn": t.get(Key::reject_all),
                    "showPreferencesBtn": t.get(Key::preferences),
                },
                "preferencesModal": {
                    "title": t.get(Key::preferences_title),
                    "acceptAllBtn": t.get(Key::accept_all),
                    "acceptNecessaryBtn": t.get(Key::reject_all),
                    "savePreferencesBtn": t.get(Key::save),
                    "closeIconLabel": t.get(Key::close),
                    "sections": sections,
                },
            }},
        },
    });
    format!("CookieConsent.run({config});\n")
}

/// The words of our first layer as one paragraph, for vanilla-cookieconsent.
fn first_layer(policy: &Policy, t: &consentry_core::ResolvedTexts<'_>) -> String {
    let optional = |id: &str| policy.category(id).is_some_and(|c| !c.required);
    let purposes: Vec<&str> =
        policy.categories().iter().filter(|c| !c.required).map(|c| t.category_title(&c.id)).collect();
    let parties: Vec<&str> = policy
        .services()
        .iter()
        .filter(|s| optional(&s.category))
        .map(|s| s.name.as_deref().unwrap_or(&s.id))
        .collect();
    [
        t.get(Key::description).to_owned(),
        format!("{} {}.", t.get(Key::purposes), purposes.join(", ")),
        format!("{} {}.", t.get(Key::third_parties), parties.join(", ")),
        t.get(Key::refuse_notice).to_owned(),
        t.get(Key::withdraw_notice).to_owned(),
    ]
    .join(" ")
}

/// Serves `assets` at `{*name}` with `no-store`.
fn static_files(assets: Assets) -> MethodRouter {
    get(move |UrlPath(name): UrlPath<String>| {
        let file = assets.file(&name).map(|(bytes, ct)| (bytes.clone(), ct));
        async move {
            match file {
                Some((bytes, ct)) => {
                    ([(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, "no-store")], bytes).into_response()
                }
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
    })
}

/// A JSON document served with `no-store`.
fn json_file(json: String) -> MethodRouter {
    get(move || {
        let json = json.clone();
        async move { ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], json) }
    })
}

/// Compressed bodies by hash of the uncompressed one.
type GzipCache = Arc<Mutex<HashMap<u64, Bytes>>>;

fn compressible(content_type: &str) -> bool {
    ["text/", "application/javascript", "application/json", "application/wasm"]
        .iter()
        .any(|p| content_type.starts_with(p))
}

/// gzip (level 9) for every compressible response when the request accepts it.
async fn gzip(State(cache): State<GzipCache>, req: Request, next: Next) -> Response {
    let accepts = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let res = next.run(req).await;
    let ct = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !accepts || !compressible(ct) || res.headers().contains_key(header::CONTENT_ENCODING) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(collected) = body.collect().await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let bytes = collected.to_bytes();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    let key = hasher.finish();
    let cached = cache.lock().ok().and_then(|c| c.get(&key).cloned());
    let gz = match cached {
        Some(gz) => gz,
        None => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            let Ok(gz) = enc.write_all(&bytes).and_then(|()| enc.finish()).map(Bytes::from) else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            if let Ok(mut c) = cache.lock() {
                c.insert(key, gz.clone());
            }
            gz
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    parts.headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    Response::from_parts(parts, Body::from(gz))
}

fn fail(msg: String) -> ! {
    eprintln!("banner_bench: {msg}");
    std::process::exit(2);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, dist, policy_path, vanilla] = args.as_slice() else {
        fail("usage: banner_bench ADDR DIST_DIR POLICY_JSON VANILLA_COOKIECONSENT_DIST_DIR".to_owned())
    };
    let policy_json =
        std::fs::read_to_string(policy_path).unwrap_or_else(|e| fail(format!("{policy_path}: {e}")));
    let policy = Policy::from_json(&policy_json).unwrap_or_else(|e| fail(format!("{policy_path}: {e}")));
    let assets = Assets::from_dir(dist).unwrap_or_else(|e| fail(format!("{dist}: {e}")));

    let vanilla_files = Assets::from_dir(vanilla)
        .unwrap_or_else(|e| fail(format!("{vanilla}: {e}")))
        .with_file("config.js", vanilla_config(&policy));

    let body = article();
    let server_page = page("", &body);
    let script_tag = |policy: &str| {
        format!(
            "<link rel=\"stylesheet\" href=\"/static/consentry/consentry.css\">\n\
             <script type=\"module\" src=\"/static/consentry/consentry.js\" data-policy=\"{policy}\"></script>\n"
        )
    };
    // The README's snippet: the policy hinted, so it arrives with consentry.js
    // and the page layer shows the first layer at once; the wasm is requested
    // when consentry.js runs and does not share the bandwidth with them.
    let policy_hint = "<link rel=\"preload\" as=\"fetch\" crossorigin href=\"/static/policy.ready.json\">\n";
    let script_page = page(&format!("{policy_hint}{}", script_tag("/static/policy.ready.json")), &body);
    // Both hinted (the README's snippet before the early first layer).
    let both_hints = format!(
        "<link rel=\"preload\" as=\"fetch\" crossorigin href=\"/static/consentry/consentry_wasm_bg.wasm\">\n{policy_hint}"
    );
    let both_page = page(&format!("{both_hints}{}", script_tag("/static/policy.ready.json")), &body);
    let plain_page = page(&script_tag("/static/policy.ready.json"), &body);
    let source_page = page(&script_tag("/static/policy.json"), &body);
    let ready_json = policy.to_ready_json(&["en"]);
    let vanilla_page = page(
        "<link rel=\"stylesheet\" href=\"/static/vanilla/cookieconsent.css\">\n\
         <script defer src=\"/static/vanilla/cookieconsent.umd.js\"></script>\n\
         <script defer src=\"/static/vanilla/config.js\"></script>\n",
        &body,
    );
    let html = |s: String| {
        get(move || {
            let s = s.clone();
            async move { ([(header::CACHE_CONTROL, "no-store")], Html(s)) }
        })
    };
    let layer = ConsentLayer::new(policy)
        .prefix("/server/consentry/")
        .assets(assets.clone())
        .inject_services(false)
        .server_banner(true);
    let app = Router::new()
        .merge(
            Router::new()
                .route("/server/", html(server_page))
                // The layer answers its own routes (assets) under its prefix.
                .route("/server/consentry/{*rest}", get(|| async { StatusCode::NOT_FOUND }))
                .layer(layer),
        )
        .route("/script/", html(script_page))
        .route("/script-plain/", html(plain_page))
        .route("/script-both/", html(both_page))
        .route("/script-source/", html(source_page))
        .route("/vanilla/", html(vanilla_page))
        .route("/static/consentry/{*name}", static_files(assets.clone()))
        .route("/static/vanilla/{*name}", static_files(vanilla_files))
        .route("/static/policy.json", json_file(policy_json))
        .route("/static/policy.ready.json", json_file(ready_json))
        .layer(middleware::from_fn_with_state(GzipCache::default(), gzip));

    let listener = tokio::net::TcpListener::bind(addr).await.unwrap_or_else(|e| fail(format!("{addr}: {e}")));
    println!("banner_bench listening on {addr}");
    let _ = axum::serve(listener, app).await;
}
