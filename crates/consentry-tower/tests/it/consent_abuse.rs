//! The consent endpoint under abuse: anyone may POST a choice, so a flood
//! from a few addresses must not fill the receipts store, a visitor posting
//! in the middle of it must still get a receipt, and the same choice posted
//! again under the same consent is stored once.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use crate::common;

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use common::{app, post_json, send};
use consentry_core::Policy;
use consentry_tower::{ClientAddr, ConsentLayer, MemoryStore};

const PAGE: &str = "<!doctype html><html><head><title>t</title></head><body></body></html>";

fn policy() -> Policy {
    Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}, {"id": "advertising"}]}"#,
    )
    .unwrap()
}

fn from(ip: &str, body: &str, extra: &[(&str, &str)]) -> axum::http::Request<axum::body::Body> {
    let mut req = post_json(body, extra);
    let ip: IpAddr = ip.parse().unwrap();
    req.extensions_mut().insert(ClientAddr(ip));
    req
}

#[tokio::test]
async fn a_flood_stays_bounded_and_a_visitor_in_the_middle_of_it_is_recorded() {
    let store = Arc::new(MemoryStore::new());
    let router = app(ConsentLayer::new(policy()).receipts(store.clone()).consent_rate_limit(20), PAGE.into());
    let flooders = ["198.51.100.1", "198.51.100.2", "2001:db8::7", "203.0.113.9"];
    let (mut ok, mut limited) = (0u64, 0u64);
    let started = std::time::Instant::now();
    for round in 0..150 {
        for ip in flooders {
            let r = send(router.clone(), from(ip, r#"{"granted": "all"}"#, &[])).await;
            match r.status {
                StatusCode::OK => ok += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    limited += 1;
                    let wait: u64 = r.header("retry-after").and_then(|v| v.parse().ok()).unwrap_or(0);
                    assert!((1..=60).contains(&wait), "Retry-After in seconds: {wait}");
                    assert!(r.header("set-cookie").is_none(), "a refused POST sets nothing");
                }
                other => panic!("unexpected {other}: {}", r.text()),
            }
        }
        if round == 75 {
            let visitor =
                send(router.clone(), from("192.0.2.44", r#"{"granted": ["analytics"]}"#, &[])).await;
            assert_eq!(visitor.status, StatusCode::OK, "{}", visitor.text());
        }
    }
    // Each flooding address gets its burst, then one more every 3 s (20 a
    // minute) however long this machine took.
    let refills = started.elapsed().as_secs() / 3 + 1;
    assert!(ok >= 4 * 20 && ok <= 4 * (20 + refills), "{ok} accepted");
    assert_eq!(limited, 4 * 150 - ok);
    let receipts = store.all();
    assert_eq!(receipts.len() as u64, ok + 1, "the store grows by what was accepted only");
    assert!(
        receipts.iter().any(|r| r.granted == ["essential", "analytics"]),
        "the visitor's receipt is there"
    );
}

#[tokio::test]
async fn the_same_choice_again_under_the_same_consent_is_stored_once() {
    let store = Arc::new(MemoryStore::new());
    let router = app(ConsentLayer::new(policy()).receipts(store.clone()), PAGE.into());
    let first = send(router.clone(), from("192.0.2.1", r#"{"granted": ["analytics"]}"#, &[])).await;
    assert_eq!(first.status, StatusCode::OK);
    let cookie =
        first.header("set-cookie").unwrap_or_default().split(';').next().unwrap_or_default().to_owned();
    let id = |r: &common::Reply| {
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        v["id"].as_str().unwrap_or_default().to_owned()
    };
    for _ in 0..3 {
        let again =
            send(router.clone(), from("192.0.2.1", r#"{"granted": ["analytics"]}"#, &[("cookie", &cookie)]))
                .await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(id(&again), id(&first), "the same consent id");
        assert!(again.header("set-cookie").unwrap_or_default().contains(&id(&first)));
    }
    assert_eq!(store.all().len(), 1, "stored once");
    // The banner writes its own cookie (an id it made up) before it posts:
    // that id has no receipt here, so the server records a new consent.
    let made_up = "consentry=v1.1.1700000000.analytics.AAAAAAAAAAAAAAAAAAAAAA";
    let banner =
        send(router.clone(), from("192.0.2.1", r#"{"granted": ["analytics"]}"#, &[("cookie", made_up)]))
            .await;
    assert_eq!(banner.status, StatusCode::OK);
    assert_ne!(id(&banner), "AAAAAAAAAAAAAAAAAAAAAA", "a client-chosen id never becomes a receipt's");
    assert_eq!(store.all().len(), 2);
    let changed = send(router.clone(), from("192.0.2.1", r#"{"granted": []}"#, &[("cookie", &cookie)])).await;
    assert_ne!(id(&changed), id(&first), "a new choice is a new consent");
    assert_eq!(store.all().len(), 3);
}

#[tokio::test]
async fn without_a_client_address_or_with_the_limit_off_nothing_is_refused() {
    for (limit, addr) in [(30, false), (0, true)] {
        let store = Arc::new(MemoryStore::new());
        let router =
            app(ConsentLayer::new(policy()).receipts(store.clone()).consent_rate_limit(limit), PAGE.into());
        for _ in 0..40 {
            let req = if addr {
                from("192.0.2.9", r#"{"granted": "all"}"#, &[])
            } else {
                post_json(r#"{"granted": "all"}"#, &[])
            };
            assert_eq!(send(router.clone(), req).await.status, StatusCode::OK);
        }
        assert_eq!(store.all().len(), 40);
    }
}

#[tokio::test]
async fn clones_of_a_layer_share_one_limit() {
    // A server may clone the layer per connection before it first wraps
    // anything: the clones still make one configuration and one limit.
    let layer = ConsentLayer::new(policy()).consent_rate_limit(2);
    let first = app(layer.clone(), PAGE.into());
    let second = app(layer, PAGE.into());
    for router in [&first, &second] {
        let r = send(router.clone(), from("192.0.2.60", r#"{"granted": "all"}"#, &[])).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = send(second.clone(), from("192.0.2.60", r#"{"granted": "all"}"#, &[])).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the third POST, through either clone");
}

// --- consent over HTTP/2 ------------------------------------------------------

/// Serves `router` on loopback, over TLS with ALPN (`h2`, `http/1.1`) when a
/// certificate is given, else in the clear (HTTP/1.1 or HTTP/2 with prior
/// knowledge); returns the port.
async fn serve_h2(router: axum::Router, tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let svc = hyper_util::service::TowerToHyperService::new(router.clone());
            let tls = tls.clone();
            tokio::spawn(async move {
                let builder =
                    hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
                match tls {
                    Some(config) => {
                        let Ok(stream) = tokio_rustls::TlsAcceptor::from(config).accept(stream).await else {
                            return;
                        };
                        let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), svc).await;
                    }
                    None => {
                        let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), svc).await;
                    }
                }
            });
        }
    });
    port
}

/// POSTs a choice over HTTP/2 to `authority` with this `Origin`; the
/// status, the version spoken and the JSON answer.
async fn post_h2<IO>(
    io: IO,
    authority: &str,
    origin: &str,
) -> (StatusCode, axum::http::Version, serde_json::Value)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(io),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let scheme = if origin.starts_with("https") { "https" } else { "http" };
    let req = axum::http::Request::post(format!("{scheme}://{authority}/consentry/consent"))
        .header("origin", origin)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(br#"{"granted": "all"}"#)))
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    let (status, version) = (res.status(), res.version());
    let body = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    (status, version, serde_json::from_slice(&body).unwrap_or_default())
}

#[tokio::test]
async fn consent_posts_over_http2_are_accepted_with_a_same_site_origin_and_refused_with_another() {
    let store = Arc::new(MemoryStore::new());
    let router = app(ConsentLayer::new(policy()).receipts(store.clone()), PAGE.into());

    // In the clear, with prior knowledge (an h2c proxy in front).
    let port = serve_h2(router.clone(), None).await;
    let authority = format!("127.0.0.1:{port}");
    let tcp = || tokio::net::TcpStream::connect(("127.0.0.1", port));
    let (status, version, v) =
        post_h2(tcp().await.unwrap(), &authority, &format!("http://{authority}")).await;
    assert_eq!((status, version), (StatusCode::OK, axum::http::Version::HTTP_2), "{v}");
    assert_eq!(v["receipt"], true);
    let (status, _, _) = post_h2(tcp().await.unwrap(), &authority, "https://evil.example").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Behind TLS, HTTP/2 chosen by ALPN, as a browser reaches axum behind rustls.
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let chain = vec![cert.cert.der().clone()];
    // ring builds without cmake; its lack of post-quantum key exchange, for
    // which rustls deprecates it, does not matter on loopback.
    #[allow(deprecated)]
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut server = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain.clone(), key)
        .unwrap();
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let port = serve_h2(router, Some(Arc::new(server))).await;
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.add(chain[0].clone()).unwrap();
    let mut client = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let authority = format!("localhost:{port}");
    let tls = || async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let stream = connector.connect(name, tcp).await.unwrap();
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "HTTP/2 by ALPN");
        stream
    };
    let (status, version, v) = post_h2(tls().await, &authority, &format!("https://{authority}")).await;
    assert_eq!((status, version), (StatusCode::OK, axum::http::Version::HTTP_2), "{v}");
    assert_eq!(v["receipt"], true);
    let (status, _, _) = post_h2(tls().await, &authority, "https://evil.example").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(store.all().len(), 2, "the two same-site choices, stored");
}
