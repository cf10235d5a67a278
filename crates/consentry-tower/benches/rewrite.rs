//! Rewrite throughput: a 50 KB page through the whole layer, against the
//! same bytes through lol_html with no handlers (the parsing floor).

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

criterion_group!(benches, bench);
criterion_main!(benches);
