//! `consentry serve`: `ConsentLayer` in front of any website, as a streaming
//! reverse proxy (`--upstream`) or a static file server (`--dir`).
//!
//! The stack per connection: tower-http's `CompressionLayer` (outside) →
//! `ConsentLayer` (rewrites pages, answers its own routes, stores receipts)
//! → the proxy or `ServeDir`. Bodies stream both ways; the consent layer asks
//! the upstream for identity-coded pages and decodes any it gets anyway.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use consentry_core::Policy;

use crate::policy::Failure;
use consentry_tower::receipts::{OutboxStore, PostgresStore, SqliteStore};
use consentry_tower::{Assets, ClientAddr, ConsentLayer, GeoIp, ReceiptStore, RegionHeaders, SecureCookie};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tower::{Service, ServiceBuilder, ServiceExt};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;
/// A visitor's request body: streamed, and ended with an error when no
/// frame comes for `timeout` (a client that trickles a body must not hold a
/// connection, nor a consent request, open for ever).
struct VisitorBody {
    inner: Incoming,
    timeout: Duration,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl VisitorBody {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        Self { inner, timeout, stall: None }
    }
}

impl hyper::body::Body for VisitorBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.stall = None;
                Poll::Ready(frame.map(|f| f.map_err(std::io::Error::other)))
            }
            Poll::Pending => {
                let timeout = this.timeout;
                let stall = this.stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                match stall.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the request body stalled",
                    )))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

pub const USAGE: &str = "\
usage:
  consentry serve --policy POLICY.json --upstream URL [options]
      a reverse proxy in front of the site at URL, enforcing the policy
  consentry serve --policy POLICY.json --dir DIR [options]
      a static site from DIR (precompressed .br/.gz files used, except for pages)

options:
  --addr ADDR          where to listen (default 127.0.0.1:8080)
  --db PATH            SQLite receipts database (default consentry-receipts.db)
  --postgres CONFIG    store receipts in PostgreSQL instead (e.g. host=/run/postgresql user=app);
                       while it is unavailable they wait in a local outbox and are stored once it is
                       back, none lost (GET /consentry/health says how many wait)
  --outbox PATH        that outbox's SQLite file (default consentry-receipts-outbox.db)
  --assets DIR         the banner's files (consentry.js, its wasm, consentry.css; `cargo xtask dist`
                       writes them to www/dist); without it the server-rendered banner works alone
  --inject-services    also insert the policy's services' tags (GA, GTM, Matomo) into every page;
                       by default the site's own tags are gated where they are
  --trust-forwarded    this proxy sits behind a trusted one: keep the client's X-Forwarded-*/Forwarded,
                       and take the visitor's address from X-Forwarded-For (the right-most address
                       that is not a trusted proxy); without it, a client's own X-Forwarded-*/Forwarded
                       headers are removed on arrival and count for nothing (not even the cookie's Secure)
  --trusted-proxy CIDR  with --trust-forwarded: an address range of your proxies (a CDN's edges, a load
                       balancer), skipped when reading X-Forwarded-For from the right; repeatable
                       (default: only the proxy that connects to this one is trusted)
  --rewrite-host       send the upstream its own host in Host (default: the visitor's Host is kept)
  --timeout SECONDS    upstream connect and response timeout, and the longest a visitor's request
                       body may stall (default 30)
  --header-timeout SECONDS
                       the longest a client may take to send a request's headers, and to start the
                       next one on a kept-alive connection (default 20)
  --max-connections N  connections served at once (default 1024); more wait in the kernel's queue
  --max-decoded-body BYTES
                       the most a compressed page may decode to before its response is cut off
                       (default 268435456, 256 MiB; decoding is bounded per step whatever it is)
  --serve-dotfiles     with --dir: also serve files and folders whose name starts with a dot
                       (by default `.git/`, `.env` and the like answer 404; `.well-known/` is served)
  --consent-rate-limit N
                       consent POSTs per minute from one client address (default 30; 0: no limit);
                       more get 429 and are not stored
  --region-headers CDN  where the visitor's region comes from, for the policy's `regions`
                       (opt-in, opt-out, notice, none): cloudflare, cloudfront, vercel, or
                       COUNTRY-HEADER[,SUBDIVISION-HEADER]; only behind that CDN, which sets them
                       (default: none; the region is unknown and regions.default applies)
  --region-geoip FILE  the region from a MaxMind DB file you provide (GeoIP2/GeoLite2 Country or
                       City, or DB-IP's), looked up by the client's address (with
                       --trust-forwarded, the X-Forwarded-For one); nothing is downloaded

example:
  consentry serve --policy policy.json --upstream http://127.0.0.1:8000 --addr 0.0.0.0:8080";

/// What `consentry serve` was asked to do.
#[derive(Debug)]
struct Options {
    policy: PathBuf,
    upstream: Option<Uri>,
    dir: Option<PathBuf>,
    addr: SocketAddr,
    db: PathBuf,
    postgres: Option<String>,
    outbox: PathBuf,
    assets: Option<PathBuf>,
    trust_forwarded: bool,
    trusted_proxies: Vec<IpNet>,
    rewrite_host: bool,
    inject_services: bool,
    timeout: Duration,
    header_timeout: Duration,
    max_connections: usize,
    serve_dotfiles: bool,
    max_decoded_body: u64,
    consent_per_minute: u32,
    region_headers: Option<RegionHeaders>,
    region_geoip: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        policy: PathBuf::new(),
        upstream: None,
        dir: None,
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        db: PathBuf::from("consentry-receipts.db"),
        postgres: None,
        outbox: PathBuf::from("consentry-receipts-outbox.db"),
        assets: None,
        trust_forwarded: false,
        trusted_proxies: Vec::new(),
        rewrite_host: false,
        inject_services: false,
        timeout: Duration::from_secs(30),
        header_timeout: Duration::from_secs(20),
        max_connections: 1024,
        serve_dotfiles: false,
        max_decoded_body: consentry_tower::DEFAULT_MAX_DECODED_BODY,
        consent_per_minute: consentry_tower::DEFAULT_CONSENT_PER_MINUTE,
        region_headers: None,
        region_geoip: None,
    };
    let mut policy = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"));
        match flag.as_str() {
            "--policy" => policy = Some(PathBuf::from(value()?)),
            "--upstream" => {
                let v = value()?;
                let uri: Uri = v.parse().map_err(|e| format!("--upstream `{v}`: {e}"))?;
                if uri.scheme() != Some(&http::uri::Scheme::HTTP) || uri.authority().is_none() {
                    return Err(format!(
                        "--upstream `{v}`: give an http:// URL with a host, e.g. http://127.0.0.1:8000 \
                         (TLS to the upstream is not supported; put this proxy next to the application)"
                    ));
                }
                o.upstream = Some(uri);
            }
            "--dir" => o.dir = Some(PathBuf::from(value()?)),
            "--addr" => {
                let v = value()?;
                o.addr = v
                    .parse()
                    .map_err(|_| format!("--addr `{v}` is not an address such as 127.0.0.1:8080"))?;
            }
            "--db" => o.db = PathBuf::from(value()?),
            "--postgres" => o.postgres = Some(value()?),
            "--outbox" => o.outbox = PathBuf::from(value()?),
            "--assets" => o.assets = Some(PathBuf::from(value()?)),
            "--trust-forwarded" => o.trust_forwarded = true,
            "--trusted-proxy" => {
                let v = value()?;
                o.trusted_proxies.push(IpNet::parse(&v).ok_or_else(|| {
                    format!("--trusted-proxy `{v}` is not an address or range such as 203.0.113.0/24")
                })?);
            }
            "--header-timeout" => o.header_timeout = seconds(flag, &value()?)?,
            "--max-connections" => {
                let v = value()?;
                o.max_connections = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--max-connections `{v}` is not a positive number"))?;
            }
            "--serve-dotfiles" => o.serve_dotfiles = true,
            "--max-decoded-body" => {
                let v = value()?;
                o.max_decoded_body =
                    v.parse().map_err(|_| format!("--max-decoded-body `{v}` is not a number of bytes"))?;
            }
            "--rewrite-host" => o.rewrite_host = true,
            "--inject-services" => o.inject_services = true,
            "--timeout" => o.timeout = seconds(flag, &value()?)?,
            "--consent-rate-limit" => {
                let v = value()?;
                o.consent_per_minute = v
                    .parse()
                    .map_err(|_| format!("--consent-rate-limit `{v}` is not a number per minute"))?;
            }
            "--region-headers" => {
                let v = value()?;
                o.region_headers =
                    Some(RegionHeaders::parse(&v).map_err(|e| format!("--region-headers: {e}"))?);
            }
            "--region-geoip" => o.region_geoip = Some(PathBuf::from(value()?)),
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    o.policy = policy.ok_or_else(|| format!("--policy POLICY.json is required\n\n{USAGE}"))?;
    if !o.trusted_proxies.is_empty() && !o.trust_forwarded {
        return Err("--trusted-proxy needs --trust-forwarded".to_owned());
    }
    if o.region_headers.is_some() && o.region_geoip.is_some() {
        return Err("give --region-headers or --region-geoip, not both".to_owned());
    }
    match (&o.upstream, &o.dir) {
        (Some(_), Some(_)) => Err(format!("give --upstream or --dir, not both\n\n{USAGE}")),
        (None, None) => Err(format!("give --upstream URL or --dir DIR\n\n{USAGE}")),
        _ => Ok(o),
    }
}

/// A duration option's value: whole seconds, at least one.
fn seconds(flag: &str, v: &str) -> Result<Duration, String> {
    let secs: u64 = v.parse().map_err(|_| format!("{flag} `{v}` is not a number of seconds"))?;
    Ok(Duration::from_secs(secs.max(1)))
}

/// Runs `consentry serve ARGS` until SIGTERM or Ctrl-C. A wrong invocation
/// is a usage error (exit 2); anything else that stops it, exit 1.
pub fn run(args: &[String]) -> Result<(), Failure> {
    let options = parse(args).map_err(Failure::Usage)?;
    let text = std::fs::read_to_string(&options.policy)
        .map_err(|e| Failure::Invalid(format!("cannot read the policy {}: {e}", options.policy.display())))?;
    let policy = Policy::from_json(&text)
        .map_err(|e| Failure::Invalid(format!("{}: {e}", options.policy.display())))?;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Invalid(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(options, policy)).map_err(Failure::Invalid)
}

async fn serve(o: Options, policy: Policy) -> Result<(), String> {
    let receipts: Arc<dyn ReceiptStore> = match &o.postgres {
        Some(config) => {
            let postgres = PostgresStore::connect(config, 16)
                .await
                .map_err(|e| format!("cannot use PostgreSQL ({config}): {e}"))?;
            Arc::new(
                OutboxStore::open(postgres, &o.outbox)
                    .map_err(|e| format!("cannot open the receipt outbox {}: {e}", o.outbox.display()))?,
            )
        }
        None => Arc::new(
            SqliteStore::open(&o.db)
                .map_err(|e| format!("cannot open the receipts database {}: {e}", o.db.display()))?,
        ),
    };
    let assets = match &o.assets {
        Some(dir) => Assets::from_dir(dir).map_err(|e| format!("--assets {}: {e}", dir.display()))?,
        None => Assets::builtin(),
    };
    // In front of an existing site its own tags are already in its pages:
    // they are gated where they are, and the policy's are added only on request.
    let mut layer = ConsentLayer::new(policy)
        .assets(assets)
        .receipts(receipts)
        .secure_cookie(SecureCookie::Auto)
        .inject_services(o.inject_services)
        .consent_rate_limit(o.consent_per_minute)
        .max_decoded_body(o.max_decoded_body);
    if let Some(headers) = o.region_headers.clone() {
        layer = layer.region_headers(headers);
    }
    if let Some(path) = &o.region_geoip {
        layer = layer.region_geoip(GeoIp::open(path).map_err(|e| format!("--region-geoip {e}"))?);
    }
    let listener = tokio::net::TcpListener::bind(o.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", o.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let backend = match (&o.upstream, &o.dir) {
        (Some(upstream), _) => {
            let mut connector = HttpConnector::new();
            connector.set_connect_timeout(Some(o.timeout));
            connector.set_nodelay(true);
            let client = Client::builder(TokioExecutor::new()).build(connector);
            Backend::Proxy(Arc::new(Upstream {
                client,
                base: upstream.clone(),
                trust_forwarded: o.trust_forwarded,
                rewrite_host: o.rewrite_host,
                timeout: o.timeout,
            }))
        }
        (None, Some(dir)) => {
            if !dir.is_dir() {
                return Err(format!("--dir {}: no such directory", dir.display()));
            }
            Backend::Dir {
                files: ServeDir::new(dir).precompressed_br().precompressed_gzip(),
                dotfiles: o.serve_dotfiles,
            }
        }
        (None, None) => return Err(USAGE.to_owned()),
    };
    // The first line a script (or a test) can wait for.
    println!("consentry serve: listening on http://{local}");
    tracing::info!(addr = %local, "listening");

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // Slow clients: the headers (and, on a kept-alive connection, the next
    // request's) must arrive in time; an HTTP/2 peer must answer pings.
    builder.http1().timer(TokioTimer::new()).header_read_timeout(o.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(o.header_timeout))
        .keep_alive_timeout(o.header_timeout);
    // At most this many connections at once: past it, new ones wait in the
    // kernel's queue instead of taking memory and file descriptors.
    let slots = Arc::new(tokio::sync::Semaphore::new(o.max_connections));
    let proxies = Arc::new(TrustedProxies { trust: o.trust_forwarded, ranges: o.trusted_proxies.clone() });
    let body_timeout = o.timeout;
    let mut backoff = AcceptBackoff::default();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => {
                    backoff.reset();
                    a
                }
                Err(e) => {
                    // Out of file descriptors, or memory: waiting lets
                    // connections end; retrying at once would spin a core.
                    let wait = backoff.next();
                    tracing::warn!(error = %e, wait_ms = wait.as_millis() as u64, "accept failed; waiting");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let proxies = Arc::clone(&proxies);
        let svc = ServiceBuilder::new()
            .layer(CompressionLayer::new())
            .map_request(move |req: Request<Incoming>| -> Request<VisitorBody> {
                let (mut parts, body) = req.into_parts();
                if !proxies.trust {
                    // A client's own claims about proxies count for nothing:
                    // not the scheme (the cookie's `Secure`), nor an address.
                    remove_forwarded(&mut parts.headers);
                }
                let client = proxies.client_ip(&parts.headers, peer);
                parts.extensions.insert(ClientAddr(client));
                let body = VisitorBody::new(body, body_timeout);
                Request::from_parts(parts, body)
            })
            .layer(layer.clone())
            .service(Logged { backend: backend.clone(), peer });
        let svc = hyper_util::service::TowerToHyperService::new(svc);
        let header_timeout = o.header_timeout;
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            // hyper's header timeout starts once it knows the protocol; the
            // first bytes that tell it must come in time too.
            if !first_bytes_in_time(&stream, header_timeout).await {
                tracing::debug!(%peer, "connection closed: no request in time");
                drop(slot);
                return;
            }
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), svc).into_owned();
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing the requests in flight (30 s at most)");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => tracing::warn!("requests still in flight after 30 s"),
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[derive(Clone)]
enum Backend {
    Proxy(Arc<Upstream>),
    Dir { files: ServeDir, dotfiles: bool },
}

/// Whether a new connection sends, within `limit`, enough to tell HTTP/1
/// from HTTP/2 (a byte that is not the HTTP/2 preface's, or all of it). A
/// client that connects and sends nothing must not keep its slot.
async fn first_bytes_in_time(stream: &tokio::net::TcpStream, limit: Duration) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let wait = async {
        let mut buf = [0u8; 24];
        loop {
            match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) if n >= PREFACE.len() || !PREFACE.starts_with(&buf[..n]) => return true,
                // Part of the preface: more is on its way.
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    };
    tokio::time::timeout(limit, wait).await.unwrap_or(false)
}

/// How long to wait after a failed `accept`: 10 ms, doubling to 1 s while it
/// keeps failing.
#[derive(Default)]
struct AcceptBackoff {
    failures: u32,
}

impl AcceptBackoff {
    fn next(&mut self) -> Duration {
        let wait = Duration::from_millis(10u64 << self.failures.min(7)).min(Duration::from_secs(1));
        self.failures = self.failures.saturating_add(1);
        wait
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

struct Upstream {
    client: Client<HttpConnector, VisitorBody>,
    base: Uri,
    trust_forwarded: bool,
    rewrite_host: bool,
    timeout: Duration,
}

/// The backend, with one access-log line per request (never the cookie).
#[derive(Clone)]
struct Logged {
    backend: Backend,
    peer: SocketAddr,
}

impl Service<Request<VisitorBody>> for Logged {
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<VisitorBody>) -> Self::Future {
        let backend = self.backend.clone();
        let peer = self.peer;
        Box::pin(async move {
            let started = Instant::now();
            let method = req.method().clone();
            let path = req.uri().path().to_owned();
            let granted = req
                .extensions()
                .get::<consentry_core::Decision>()
                .map(|d| {
                    d.categories().filter(|(_, g)| g.granted).map(|(id, _)| id).collect::<Vec<_>>().join(",")
                })
                .unwrap_or_default();
            let hidden = names_a_dotfile(&path);
            let res = match backend {
                Backend::Proxy(upstream) => forward(&upstream, req, peer).await,
                Backend::Dir { dotfiles: false, .. } if hidden => page(StatusCode::NOT_FOUND, "no such file"),
                Backend::Dir { files, .. } => match files.oneshot(req).await {
                    Ok(res) => res.map(|b| b.map_err(BoxError::from).boxed_unsync()),
                    Err(e) => page(StatusCode::INTERNAL_SERVER_ERROR, &format!("cannot read the file: {e}")),
                },
            };
            tracing::info!(
                %method,
                %path,
                status = res.status().as_u16(),
                ms = started.elapsed().as_millis() as u64,
                granted = %granted,
                "request"
            );
            Ok(res)
        })
    }
}

/// Whether a path names a file or folder whose name starts with a dot
/// (`/.git/config`, `/.env`, `/a/.htpasswd`), `.well-known/` aside. The path
/// is percent-decoded first (`/%2egit/`), as the file server will.
fn names_a_dotfile(path: &str) -> bool {
    let decoded = percent_decode_lossy(path);
    decoded.split(['/', '\\']).any(|segment| segment.starts_with('.') && segment != ".well-known")
}

fn percent_decode_lossy(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Removes the headers in which proxies describe the client (`Forwarded`,
/// `X-Forwarded-For|Proto|Host`, `X-Real-IP`): sent by a client itself, they
/// are claims no one vouches for.
fn remove_forwarded(headers: &mut HeaderMap) {
    for name in ["forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip"] {
        headers.remove(name);
    }
}

/// An address range (`203.0.113.0/24`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IpNet {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl IpNet {
    fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse().ok()?, None),
        };
        let max = if matches!(addr, std::net::IpAddr::V4(_)) { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::{V4, V6};
        let (net, ip, bits) = match (self.addr, canonical(ip)) {
            (V4(n), V4(i)) => (u128::from(u32::from(n)) << 96, u128::from(u32::from(i)) << 96, self.prefix),
            (V6(n), V6(i)) => (u128::from(n), u128::from(i), self.prefix),
            _ => return false,
        };
        let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
        net & mask == ip & mask
    }
}

/// An IPv4-mapped IPv6 address as IPv4.
fn canonical(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        v4 => v4,
    }
}

/// Which proxies' word about the client counts.
struct TrustedProxies {
    /// `--trust-forwarded`: the proxy connecting to this one is trusted.
    trust: bool,
    /// `--trusted-proxy`: the ranges of the proxies before it.
    ranges: Vec<IpNet>,
}

impl TrustedProxies {
    /// The visitor's address: the connection's peer; behind a trusted proxy,
    /// the right-most `X-Forwarded-For` address that is not one of the
    /// trusted proxies (every proxy appends the address it was reached from,
    /// so what stands left of the first untrusted one is the client's say).
    fn client_ip(&self, headers: &HeaderMap, peer: SocketAddr) -> std::net::IpAddr {
        if !self.trust {
            return peer.ip();
        }
        let chain: Vec<Option<std::net::IpAddr>> = headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|v| {
                v.to_str().map_or(vec![None], |v| v.split(',').map(|a| forwarded_addr(a.trim())).collect())
            })
            .collect();
        let mut client = peer.ip();
        for addr in chain.iter().rev() {
            // An item no proxy would write ends the walk: the last trusted
            // hop stands for the client.
            let Some(addr) = *addr else { break };
            client = addr;
            if !self.ranges.iter().any(|r| r.contains(addr)) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` item as an address (`1.2.3.4`, `1.2.3.4:5678`,
/// `2001:db8::1`, `[2001:db8::1]:443`).
fn forwarded_addr(item: &str) -> Option<std::net::IpAddr> {
    if let Ok(ip) = item.parse() {
        return Some(ip);
    }
    if let Ok(sock) = item.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    item.strip_prefix('[')?.split_once(']')?.0.parse().ok()
}

/// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1),
/// plus any the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
    ] {
        headers.remove(name);
    }
}

/// `X-Forwarded-For|Proto|Host` and `Forwarded` for the upstream: the
/// client's own are dropped unless this proxy is told it sits behind a
/// trusted one, in which case this hop is appended to them.
fn add_forwarded(headers: &mut HeaderMap, peer: SocketAddr, trust: bool) {
    let xff = HeaderName::from_static("x-forwarded-for");
    let xfp = HeaderName::from_static("x-forwarded-proto");
    let xfh = HeaderName::from_static("x-forwarded-host");
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
    let ip = peer.ip().to_string();
    let prior_for =
        trust.then(|| headers.get(&xff).and_then(|v| v.to_str().ok()).map(str::to_owned)).flatten();
    let prior_fwd = trust
        .then(|| headers.get(header::FORWARDED).and_then(|v| v.to_str().ok()).map(str::to_owned))
        .flatten();
    if !trust {
        for name in [&xff, &xfp, &xfh] {
            headers.remove(name);
        }
    }
    headers.remove(header::FORWARDED);
    let for_value = match prior_for {
        Some(p) => format!("{p}, {ip}"),
        None => ip.clone(),
    };
    if let Ok(v) = HeaderValue::from_str(&for_value) {
        headers.insert(xff, v);
    }
    if !headers.contains_key(&xfp) {
        headers.insert(xfp, HeaderValue::from_static("http"));
    }
    if let (false, Some(h)) = (headers.contains_key(&xfh), &host) {
        if let Ok(v) = HeaderValue::from_str(h) {
            headers.insert(xfh, v);
        }
    }
    let node = if peer.is_ipv6() { format!("\"[{ip}]\"") } else { ip };
    let mut hop = format!("for={node};proto=http");
    if let Some(h) = host.filter(|h| h.bytes().all(|b| b.is_ascii_graphic() && b != b'"')) {
        hop.push_str(&format!(";host=\"{h}\""));
    }
    let forwarded = match prior_fwd {
        Some(p) => format!("{p}, {hop}"),
        None => hop,
    };
    if let Ok(v) = HeaderValue::from_str(&forwarded) {
        headers.insert(header::FORWARDED, v);
    }
}

async fn forward(up: &Upstream, mut req: Request<VisitorBody>, peer: SocketAddr) -> Response<ProxyBody> {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let base = up.base.path().trim_end_matches('/');
    let target = format!(
        "{}://{}{base}{path}",
        up.base.scheme_str().unwrap_or("http"),
        up.base.authority().map_or("", |a| a.as_str())
    );
    let Ok(uri) = target.parse::<Uri>() else {
        return page(StatusCode::BAD_REQUEST, "this request's path cannot be forwarded");
    };
    *req.uri_mut() = uri;
    // A protocol switch (WebSocket, …) asked over HTTP/1.1: the two upgraded
    // connections are joined once the upstream agrees.
    let upgrade = (req.version() == Version::HTTP_11)
        .then(|| wants_upgrade(req.headers()))
        .flatten()
        .map(|protocol| (protocol, hyper::upgrade::on(&mut req)));
    // The upstream connection is HTTP/1.1 whatever the visitor spoke.
    *req.version_mut() = Version::HTTP_11;
    strip_hop_by_hop(req.headers_mut());
    if let Some((protocol, _)) = &upgrade {
        req.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        req.headers_mut().insert(header::UPGRADE, protocol.clone());
    }
    add_forwarded(req.headers_mut(), peer, up.trust_forwarded);
    if up.rewrite_host {
        if let Some(v) = up.base.authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok()) {
            req.headers_mut().insert(header::HOST, v);
        }
    }
    match tokio::time::timeout(up.timeout, up.client.request(req)).await {
        Ok(Ok(mut res)) => {
            if res.status() == StatusCode::SWITCHING_PROTOCOLS {
                let Some((_, visitor)) = upgrade else {
                    return page(
                        StatusCode::BAD_GATEWAY,
                        "the site behind this proxy switched protocols unasked",
                    );
                };
                let upstream = hyper::upgrade::on(&mut res);
                tokio::spawn(tunnel(visitor, upstream));
                // Connection and Upgrade stay: they are the switch itself.
                *res.version_mut() = Version::HTTP_11;
                return res.map(|b| b.map_err(BoxError::from).boxed_unsync());
            }
            strip_hop_by_hop(res.headers_mut());
            // The visitor's connection is not the upstream's: hyper answers
            // in the visitor's HTTP version (an HTTP/1.0 upstream included).
            *res.version_mut() = Version::HTTP_11;
            res.map(|b| b.map_err(BoxError::from).boxed_unsync())
        }
        Ok(Err(e)) => {
            let reason = source_chain(&e);
            tracing::error!(upstream = %up.base, %reason, "upstream failed");
            page(StatusCode::BAD_GATEWAY, &format!("the site behind this proxy did not answer: {reason}"))
        }
        Err(_) => {
            tracing::error!(upstream = %up.base, timeout_s = up.timeout.as_secs(), "upstream timed out");
            page(StatusCode::GATEWAY_TIMEOUT, "the site behind this proxy took too long to answer")
        }
    }
}

/// The protocol a request asks to switch to (`Connection: upgrade` and an
/// `Upgrade` header), if any.
fn wants_upgrade(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    asks.then(|| headers.get(header::UPGRADE).cloned()).flatten()
}

/// Copies both ways between the visitor's and the upstream's upgraded
/// connections until either side closes.
async fn tunnel(visitor: hyper::upgrade::OnUpgrade, upstream: hyper::upgrade::OnUpgrade) {
    match tokio::try_join!(visitor, upstream) {
        Ok((visitor, upstream)) => {
            let (mut a, mut b) = (TokioIo::new(visitor), TokioIo::new(upstream));
            if let Err(e) = tokio::io::copy_bidirectional(&mut a, &mut b).await {
                tracing::debug!(error = %e, "upgraded connection ended with an error");
            }
        }
        Err(e) => tracing::warn!(error = %e, "protocol switch failed"),
    }
}

fn source_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

/// A short plain-text error page (never cached).
fn page(status: StatusCode, text: &str) -> Response<ProxyBody> {
    let body = format!("{} {}: {text}\n", status.as_u16(), status.canonical_reason().unwrap_or(""));
    let mut res = Response::new(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed_unsync());
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::words as args;

    #[test]
    fn bad_arguments_get_one_clear_line() {
        let err = |s: &str| parse(&args(s)).err().unwrap_or_default();
        assert!(err("--upstream http://a").starts_with("--policy POLICY.json is required"));
        assert!(err("--policy p.json").starts_with("give --upstream URL or --dir DIR"));
        assert!(err("--policy p.json --upstream 127.0.0.1:8000").contains("give an http:// URL"));
        assert!(err("--policy p.json --upstream https://a.example").contains("give an http:// URL"));
        assert!(
            err("--policy p.json --dir . --upstream http://a")
                .starts_with("give --upstream or --dir, not both")
        );
        assert!(err("--policy p.json --dir . --addr nowhere").contains("is not an address"));
        assert!(
            err("--policy p.json --dir . --region-headers bad:name")
                .contains("--region-headers: `bad:name` is not a header name")
        );
    }

    #[test]
    fn forwarded_headers_replace_the_clients_unless_trusted() {
        let peer: SocketAddr = "203.0.113.7:5000".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("shop.example"));
        h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
        h.insert(header::FORWARDED, HeaderValue::from_static("for=1.2.3.4"));
        let mut untrusted = h.clone();
        add_forwarded(&mut untrusted, peer, false);
        assert_eq!(untrusted["x-forwarded-for"], "203.0.113.7");
        assert_eq!(untrusted["x-forwarded-proto"], "http");
        assert_eq!(untrusted["x-forwarded-host"], "shop.example");
        assert_eq!(untrusted[header::FORWARDED], "for=203.0.113.7;proto=http;host=\"shop.example\"");
        let mut trusted = h;
        add_forwarded(&mut trusted, peer, true);
        assert_eq!(trusted["x-forwarded-for"], "1.2.3.4, 203.0.113.7");
        assert_eq!(
            trusted[header::FORWARDED],
            "for=1.2.3.4, for=203.0.113.7;proto=http;host=\"shop.example\""
        );
    }

    #[test]
    fn the_client_is_the_right_most_address_that_is_not_a_trusted_proxy() {
        let peer: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        let mut h = HeaderMap::new();
        // The client forged the first item; the CDN edge 198.51.100.9 saw
        // 203.0.113.7 and the load balancer (the peer) saw the edge.
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 203.0.113.7, 198.51.100.9"));
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let untrusted = TrustedProxies { trust: false, ranges: vec![] };
        assert_eq!(untrusted.client_ip(&h, peer), ip("10.0.0.2"));
        let peer_only = TrustedProxies { trust: true, ranges: vec![] };
        assert_eq!(peer_only.client_ip(&h, peer), ip("198.51.100.9"), "the edge, without its range");
        let cdn = TrustedProxies { trust: true, ranges: vec![IpNet::parse("198.51.100.0/24").unwrap()] };
        assert_eq!(cdn.client_ip(&h, peer), ip("203.0.113.7"), "never the forged left-most one");
        h.insert("x-forwarded-for", HeaderValue::from_static("junk, 198.51.100.9"));
        assert_eq!(cdn.client_ip(&h, peer), ip("198.51.100.9"), "garbage ends the walk");
        h.insert("x-forwarded-for", HeaderValue::from_static("[2001:db8::5]:443, 198.51.100.9"));
        assert_eq!(cdn.client_ip(&h, peer), ip("2001:db8::5"));
    }

    #[test]
    fn address_ranges_match_by_prefix() {
        let net = |s: &str| IpNet::parse(s).unwrap();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(net("203.0.113.0/24").contains(ip("203.0.113.255")));
        assert!(!net("203.0.113.0/24").contains(ip("203.0.114.1")));
        assert!(net("203.0.113.0/24").contains(ip("::ffff:203.0.113.9")));
        assert!(net("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(!net("2001:db8::/32").contains(ip("203.0.113.9")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(net("192.0.2.1").contains(ip("192.0.2.1")) && !net("192.0.2.1").contains(ip("192.0.2.2")));
        for bad in ["", "1.2.3.4/33", "::/129", "host/24", "1.2.3.4/x"] {
            assert!(IpNet::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn dotfiles_are_recognised_in_any_segment_and_encoding() {
        for p in ["/.git/config", "/.env", "/a/.htpasswd", "/%2egit/HEAD", "/%2Eenv", "/a/..%2f.git"] {
            assert!(names_a_dotfile(p), "{p}");
        }
        for p in ["/", "/index.html", "/.well-known/security.txt", "/a.b/c", "/assets/app.js"] {
            assert!(!names_a_dotfile(p), "{p}");
        }
    }

    #[test]
    fn failed_accepts_back_off_to_a_second() {
        let mut b = AcceptBackoff::default();
        let waits: Vec<u64> = (0..10).map(|_| b.next().as_millis() as u64).collect();
        assert_eq!(&waits[..4], &[10, 20, 40, 80]);
        assert_eq!(waits[9], 1000);
        b.reset();
        assert_eq!(b.next().as_millis(), 10);
    }

    #[test]
    fn a_clients_own_forwarded_headers_are_removed() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        h.insert(header::FORWARDED, HeaderValue::from_static("proto=https"));
        h.insert("x-real-ip", HeaderValue::from_static("1.2.3.4"));
        h.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
        remove_forwarded(&mut h);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, x-secret-hop"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert(header::ACCEPT, HeaderValue::from_static("text/html"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert_eq!(h[header::ACCEPT], "text/html");
    }
}
