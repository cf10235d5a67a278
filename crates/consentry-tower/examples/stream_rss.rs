//! Peak memory while streaming a 100 MB HTML body through the layer, against
//! the same body passed through without it. Prints one JSON line.
//!
//! `cargo run --release -p consentry-tower --example stream_rss -- layer|plain`
//! (run each mode in its own process: peak RSS is per process).

use std::convert::Infallible;

use axum::body::Body;
use bytes::Bytes;
use consentry_core::Policy;
use consentry_tower::ConsentLayer;
use http_body_util::BodyExt;
use tower::{Layer, ServiceExt, service_fn};

const TOTAL: usize = 100 * 1024 * 1024;
const CHUNK: usize = 16 * 1024;

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// 100 MB of HTML made on the fly: tags, text, trackers every few KB.
fn body() -> Body {
    let unit = "<div class=\"row\"><p>Some text with <a href=\"/x\">a link</a> and <em>emphasis</em>.</p>\
                <script async src=\"https://www.googletagmanager.com/gtag/js?id=G-AB12CD34\"></script>\
                <script>gtag('config','G-AB12CD34');</script><img src=\"/i.png\" alt=\"\"></div>\n";
    let mut chunk = String::with_capacity(CHUNK + unit.len());
    while chunk.len() < CHUNK {
        chunk.push_str(unit);
    }
    let chunk = Bytes::from(chunk);
    let n = TOTAL / chunk.len();
    let head = Bytes::from_static(b"<!doctype html><html lang=\"en\"><head><title>big</title></head><body>");
    let stream = futures_util_stream(std::iter::once(head).chain(std::iter::repeat_n(chunk, n)));
    Body::from_stream(stream)
}

fn futures_util_stream(
    it: impl Iterator<Item = Bytes> + Send + Unpin + 'static,
) -> impl futures_core::Stream<Item = Result<Bytes, Infallible>> + Send {
    struct S<I>(I);
    impl<I: Iterator<Item = Bytes> + Unpin> futures_core::Stream for S<I> {
        type Item = Result<Bytes, Infallible>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next().map(Ok))
        }
    }
    S(it)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "layer".to_owned());
    let Ok(policy) = Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
        "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}}]}"#,
    ) else {
        std::process::exit(1);
    };
    let before = vm_hwm_kb();
    let inner = service_fn(|_req: http::Request<Body>| async move {
        Ok::<_, Infallible>(
            http::Response::builder().header("content-type", "text/html").body(body()).unwrap_or_default(),
        )
    });
    let started = std::time::Instant::now();
    let req = || http::Request::get("/").body(Body::empty()).unwrap_or_default();
    let mut bytes = 0usize;
    let mut inert = 0usize;
    if mode == "plain" {
        let Ok(res) = inner.oneshot(req()).await;
        let mut b = res.into_body();
        while let Some(Ok(f)) = b.frame().await {
            if let Ok(d) = f.into_data() {
                bytes += d.len();
            }
        }
    } else {
        let svc = ConsentLayer::new(policy).inject_services(false).layer(inner);
        let Ok(res) = svc.oneshot(req()).await;
        let mut b = res.into_body();
        while let Some(frame) = b.frame().await {
            match frame {
                Ok(f) => {
                    if let Ok(d) = f.into_data() {
                        bytes += d.len();
                        inert += d.windows(10).filter(|w| w == b"text/plain").count();
                    }
                }
                Err(e) => {
                    eprintln!("body error: {e}");
                    std::process::exit(1);
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let after = vm_hwm_kb();
    println!(
        "{{\"mode\":\"{mode}\",\"bytes_out\":{bytes},\"inert_tags\":{inert},\"seconds\":{secs:.3},\"mb_per_s\":{:.1},\"hwm_before_kb\":{before},\"hwm_after_kb\":{after}}}",
        (TOTAL as f64 / 1_048_576.0) / secs
    );
}
