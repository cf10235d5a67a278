//! Any response body, declared with any of a few content types (XHTML
//! among them) and codings,
//! through the whole layer: it never panics, and a body the layer takes for
//! a page either comes out rewritten or ends in an error.
#![no_main]

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use consentry_core::Policy;
use consentry_tower::ConsentLayer;
use http::{Request, Response};
use http_body::Body as _;
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use tower::{Layer, Service, ServiceExt};

const POLICY: &str = r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
  "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}}]}"#;

/// Everything here is ready at once: poll with a no-op waker.
fn now<F: Future>(f: F) -> Option<F::Output> {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, body)) = input.split_first() else { return };
    let Ok(policy) = Policy::from_json(POLICY) else { return };
    let content_type = if selector & 0x20 != 0 {
        "application/xhtml+xml"
    } else {
        ["text/html", "text/html; charset=utf-16", "", "text/html; charset=shift_jis"][usize::from(selector & 3)]
    };
    let coding = ["identity", "gzip", "deflate", "br", "zstd", "gzip, br", "x-gzip", "compress"][usize::from(selector >> 2 & 7)];
    let body = Bytes::copy_from_slice(body);
    let inner = tower::service_fn(move |_: Request<Full<Bytes>>| {
        let mut res = Response::builder().header("content-encoding", coding);
        if !content_type.is_empty() {
            res = res.header("content-type", content_type);
        }
        let res = res.body(Full::new(body.clone())).unwrap_or_default();
        std::future::ready(Ok::<_, Infallible>(res))
    });
    let mut svc = ConsentLayer::new(policy).layer(inner);
    let Some(Ok(svc)) = now(svc.ready()) else { return };
    let req = Request::get("/").header("accept", "*/*").body(Full::new(Bytes::new())).unwrap_or_default();
    let Some(Ok(res)) = now(svc.call(req)) else { return };
    let mut body = pin!(res.into_body());
    let mut cx = Context::from_waker(Waker::noop());
    while let Poll::Ready(Some(frame)) = body.as_mut().poll_frame(&mut cx) {
        if frame.is_err() {
            break;
        }
    }
});
