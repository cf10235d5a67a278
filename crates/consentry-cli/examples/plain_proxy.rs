//! The baseline `cargo xtask bench` measures `consentry serve` against: a
//! plain reverse proxy on the same hyper-util server and pooled client, with
//! the same `CompressionLayer` outside, and no consent layer.
//!
//! `cargo run --release -p consentry-cli --example plain_proxy -- 127.0.0.1:8081 http://127.0.0.1:8000`

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response, Uri, Version};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(upstream)) = (args.next(), args.next()) else {
        eprintln!("usage: plain_proxy ADDR UPSTREAM_URL");
        std::process::exit(2);
    };
    let Ok(listener) = tokio::net::TcpListener::bind(&addr).await else {
        eprintln!("plain_proxy: cannot listen on {addr}");
        std::process::exit(1);
    };
    let upstream = upstream.trim_end_matches('/').to_owned();
    let client: Client<HttpConnector, Incoming> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    println!("plain_proxy listening on http://{addr}");
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let plain = Plain { client: client.clone(), upstream: upstream.clone() };
        let svc = ServiceBuilder::new().layer(CompressionLayer::new()).service(plain);
        let svc = hyper_util::service::TowerToHyperService::new(svc);
        let builder = builder.clone();
        tokio::spawn(async move {
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

#[derive(Clone)]
struct Plain {
    client: Client<HttpConnector, Incoming>,
    upstream: String,
}

type Reply = Response<UnsyncBoxBody<bytes::Bytes, BoxError>>;

impl tower::Service<Request<Incoming>> for Plain {
    type Response = Reply;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Reply, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<Incoming>) -> Self::Future {
        let client = self.client.clone();
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let uri = format!("{}{path}", self.upstream).parse::<Uri>();
        Box::pin(async move {
            let Ok(uri) = uri else { return Ok(bad_gateway()) };
            *req.uri_mut() = uri;
            *req.version_mut() = Version::HTTP_11;
            Ok(match client.request(req).await {
                Ok(res) => res.map(|b| b.map_err(BoxError::from).boxed_unsync()),
                Err(_) => bad_gateway(),
            })
        })
    }
}

fn bad_gateway() -> Response<UnsyncBoxBody<bytes::Bytes, BoxError>> {
    let body =
        http_body_util::Full::new(bytes::Bytes::from_static(b"502\n")).map_err(|n| match n {}).boxed_unsync();
    let mut res = Response::new(body);
    *res.status_mut() = http::StatusCode::BAD_GATEWAY;
    res
}
