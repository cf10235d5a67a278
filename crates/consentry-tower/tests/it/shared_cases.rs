//! The engine's shared HTTP cases (`consentry-engine/tests/shared/http_cases.rs`)
//! through the Tower layer under axum, over real HTTP; `consentry-actix`
//! runs the same list through actix-web.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, Response};
use axum::routing::get;
use consentry_tower::ConsentDecision;
use consentry_tower::receipts::SqliteStore;

#[path = "../../../consentry-engine/tests/shared/http_cases.rs"]
mod cases;

async fn case(Path(name): Path<String>) -> Response<Body> {
    let Some(up) = cases::upstream(&name) else {
        return Response::builder().status(404).body(Body::empty()).unwrap();
    };
    let mut res = Response::builder().status(up.status);
    for (k, v) in &up.headers {
        res = res.header(*k, v);
    }
    let chunks = futures_util::stream::iter(up.chunks.into_iter().map(Ok::<_, Infallible>));
    res.body(Body::from_stream(chunks)).unwrap()
}

async fn echo(headers: HeaderMap) -> String {
    ["range", "accept-encoding", "if-none-match"]
        .iter()
        .map(|h| format!("{h}: {}\n", headers.get(*h).and_then(|v| v.to_str().ok()).unwrap_or("-")))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_http_cases_pass_through_the_tower_layer() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("receipts.db")).unwrap();
    let layer = consentry_tower::ConsentLayer::from(cases::settings(store));
    let app = Router::new()
        .route("/case/{name}", get(case))
        .route("/echo", get(echo))
        .route("/decision", get(decision))
        .layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    tokio::task::spawn_blocking(move || cases::run_all("consentry-tower", addr)).await.unwrap();
}
