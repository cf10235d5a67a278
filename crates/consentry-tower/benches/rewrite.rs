//! Rewrite throughput: a 50 KB page through the whole layer, against the
//! same bytes through lol_html with no handlers (the parsing floor); and
//! the layer's cost per request it does not rewrite (an API call's small
//! JSON), against the same service bare and behind a layer that only wraps
//! the response body (the floor for any body-changing layer).

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::convert::Infallible;
use std::hint::black_box;

use axum::body::Body;
use bytes::Bytes;
use consentry_core::Policy;
use consentry_tower::ConsentLayer;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tower::{Layer, ServiceExt, service_fn};

fn page() -> String {
    let mut body = String::new();
    let mut i = 0;
    while body.len() < 48_000 {
        body.push_str(&format!("<article><h2>Section {i}</h2><p>Lorem ipsum <a href=\"/p/{i}\">dolor</a> sit amet.</p><img src=\"/i/{i}.png\" alt=\"\"></article>\n"));
        i += 1;
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>t</title><script async src=\"https://www.googletagmanager.com/gtag/js?id=G-AB12CD34\"></script><script>gtag('config','G-AB12CD34');</script></head><body>{body}</body></html>"
    )
}

fn bench(c: &mut Criterion) {
    let Ok(policy) = Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
        "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}}]}"#,
    ) else {
        panic!("policy");
    };
    let html = Bytes::from(page());
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let layer = ConsentLayer::new(policy);
    let mut g = c.benchmark_group("rewrite");
    g.throughput(Throughput::Bytes(html.len() as u64));
    // One page through the layer, sent by the inner service with `coding`
    // (`None`: identity); the rewritten body is collected.
    let through_layer = |body: &Bytes, coding: Option<&'static str>| {
        let body = body.clone();
        let inner = service_fn(move |_r: http::Request<Body>| {
            let body = body.clone();
            async move {
                let mut res = http::Response::builder().header("content-type", "text/html");
                if let Some(c) = coding {
                    res = res.header("content-encoding", c);
                }
                Ok::<_, Infallible>(res.body(Body::from(body)).unwrap_or_default())
            }
        });
        let svc = layer.layer(inner);
        rt.block_on(async {
            let Ok(res) = svc.oneshot(http::Request::get("/").body(Body::empty()).unwrap_or_default()).await;
            black_box(res.into_body().collect().await.map(|c| c.to_bytes().len()).unwrap_or(0))
        })
    };
    g.bench_function("layer_50k_page", |b| b.iter(|| through_layer(&html, None)));
    // The same page as a handler or `ServeDir` would send it gzip-compressed:
    // decoded, rewritten and sent on uncompressed.
    let gz = {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = e.write_all(&html);
        Bytes::from(e.finish().unwrap_or_default())
    };
    g.bench_function("layer_50k_page_gzip", |b| b.iter(|| through_layer(&gz, Some("gzip"))));
    g.bench_function("baseline_lol_html_no_handlers", |b| {
        b.iter(|| {
            let mut out = 0usize;
            let mut rw = lol_html::HtmlRewriter::new(lol_html::Settings::new(), |c: &[u8]| out += c.len());
            let _ = rw.write(black_box(&html));
            let _ = rw.end();
            black_box(out)
        })
    });
    g.finish();
}

/// A browser's `fetch()` of an API route, with the headers it really sends
/// (cookies, consent cookie among them, `Sec-Fetch-*`, languages).
fn api_request() -> http::Request<Body> {
    http::Request::get("/api/items?page=2")
        .header("host", "shop.example.org")
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
        .header("accept", "application/json")
        .header("accept-language", "fr-FR,fr;q=0.9,en;q=0.8")
        .header("accept-encoding", "gzip, deflate, br, zstd")
        .header("referer", "https://shop.example.org/products")
        .header("sec-fetch-dest", "empty")
        .header("sec-fetch-mode", "cors")
        .header("sec-fetch-site", "same-origin")
        .header(
            "cookie",
            "_ga=GA1.1.1234567890.1763900000; sid=4f0c2a9e; consentry=v1.1.1763900000.analytics.q3Jf0aZxT2y9LmN8pR4tVw",
        )
        .body(Body::empty())
        .unwrap()
}

fn passthrough(c: &mut Criterion) {
    let policy = Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
        "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}}]}"#,
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let inner = service_fn(|_r: http::Request<Body>| async {
        let res = http::Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(Bytes::from_static(br#"{"id":42,"name":"widget"}"#)))
            .unwrap();
        Ok::<_, Infallible>(res)
    });
    // Requests built outside the measured loop; each is sent and its body
    // read to the end, as a server does.
    let mut g = c.benchmark_group("passthrough");
    macro_rules! per_request {
        ($name:literal, $svc:expr) => {
            g.bench_function($name, |b| {
                let svc = $svc;
                b.iter_batched(
                    api_request,
                    |req| {
                        rt.block_on(async {
                            let Ok(res) = svc.clone().oneshot(req).await;
                            black_box(
                                res.into_body().collect().await.map(|c| c.to_bytes().len()).unwrap_or(0),
                            )
                        })
                    },
                    criterion::BatchSize::SmallInput,
                )
            })
        };
    }
    per_request!("bare", inner);
    per_request!(
        "body_wrapper",
        tower::ServiceBuilder::new()
            .map_response(|r: http::Response<Body>| r.map(|b| Body::new(b.map_err(|e| e))))
            .service(inner)
    );
    // Boxed into axum's `Body` as a router does (as the floor's is).
    per_request!(
        "layer",
        tower::ServiceBuilder::new()
            .map_response(|r: http::Response<consentry_tower::ConsentBody<Body>>| r.map(Body::new))
            .layer(ConsentLayer::new(policy.clone()))
            .service(inner)
    );
    g.finish();
}

criterion_group!(benches, bench, passthrough);
criterion_main!(benches);
