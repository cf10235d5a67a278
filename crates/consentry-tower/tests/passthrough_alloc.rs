//! What the layer allocates on a response it does not rewrite (an API
//! call's JSON, a file download), counted by a counting global allocator:
//! nothing per body chunk, however long the body, and a small fixed number
//! per request, pinned here so that it can only go down.
//!
//! One test in this binary: the counts are process-wide, so no other test
//! may run beside it.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::System;
use std::convert::Infallible;

use bytes::Bytes;
use consentry_core::Policy;
use consentry_tower::ConsentLayer;
use http_body_util::{BodyExt, Empty, StreamBody};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tower::{Layer, Service, ServiceExt};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The allocations the layer makes per request on top of the bare service,
/// for a request without a consent cookie: the request extension (its map,
/// the map's table, the boxed decision), and the first copies of the URI,
/// `Host` and `Accept-Language` kept in case the response is a page to
/// rewrite (3 here, where the request is built from strings; none behind
/// hyper, whose request bytes are shared already). Lower it when the layer
/// allocates less; never raise it without a reason written here.
const PER_REQUEST: u64 = 6;

type Chunks = futures_util::stream::Iter<std::vec::IntoIter<Result<http_body::Frame<Bytes>, Infallible>>>;

/// A JSON download of `n` chunks, each a `Bytes` made before counting starts.
fn json_body(n: usize) -> StreamBody<Chunks> {
    let chunks: Vec<_> =
        (0..n).map(|i| Ok(http_body::Frame::data(Bytes::from(format!("{{\"row\":{i}}}\n"))))).collect();
    StreamBody::new(futures_util::stream::iter(chunks))
}

fn request() -> http::Request<Empty<Bytes>> {
    http::Request::get("/api/export")
        .header("host", "shop.example.org")
        .header("accept", "application/json")
        .header("accept-language", "fr")
        .header("cookie", "sid=4f0c2a9e; theme=dark")
        .body(Empty::new())
        .unwrap()
}

/// Sends one request, reads the response body to the end, and returns the
/// allocations made from the call on and the bytes received (the body's
/// chunks were made before, by the caller).
async fn allocations<S, B>(svc: &mut S) -> (u64, usize)
where
    S: Service<http::Request<Empty<Bytes>>, Response = http::Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let req = request();
    let region = Region::new(GLOBAL);
    let res = svc.ready().await.unwrap().call(req).await.unwrap();
    let mut body = std::pin::pin!(res.into_body());
    let mut received = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            received += data.len();
        }
    }
    (region.change().allocations as u64, received)
}

#[tokio::test(flavor = "current_thread")]
async fn a_response_passed_through_costs_no_allocation_per_chunk_and_a_fixed_few_per_request() {
    let policy = Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
        "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}}]}"#,
    )
    .unwrap();
    // The body is handed over through a cell, so the service itself
    // allocates nothing of its own per call.
    let cell: std::sync::Arc<std::sync::Mutex<Option<StreamBody<Chunks>>>> = Default::default();
    let inner = {
        let cell = std::sync::Arc::clone(&cell);
        tower::service_fn(move |_req: http::Request<Empty<Bytes>>| {
            let body = cell.lock().unwrap().take().unwrap();
            async move {
                let mut res = http::Response::new(body);
                res.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
                Ok::<_, Infallible>(res)
            }
        })
    };
    let mut bare = inner.clone();
    let mut layered = ConsentLayer::new(policy).layer(inner);

    let mut run = async |svc_is_layered: bool, n: usize| {
        *cell.lock().unwrap() = Some(json_body(n));
        if svc_is_layered { allocations(&mut layered).await } else { allocations(&mut bare).await }
    };
    // Warm up (lazy statics, the services' first calls).
    for layered in [false, true] {
        run(layered, 1).await;
    }
    let (bare_short, bytes_short) = run(false, 1).await;
    let (bare_long, bytes_long) = run(false, 1000).await;
    let (layer_short, layer_bytes_short) = run(true, 1).await;
    let (layer_long, layer_bytes_long) = run(true, 1000).await;

    assert_eq!((layer_bytes_short, layer_bytes_long), (bytes_short, bytes_long), "every byte passed through");
    assert_eq!(
        layer_long - layer_short,
        bare_long - bare_short,
        "1,000 chunks cost the layer no allocation more than 1 chunk does"
    );
    let per_request = layer_short - bare_short;
    assert!(
        per_request <= PER_REQUEST,
        "the layer allocates {per_request} times per request passed through (at most {PER_REQUEST})"
    );
    println!("per request: bare {bare_short}, with the layer {layer_short} (+{per_request})");
}
