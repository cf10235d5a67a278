//! `consentry serve` as a user runs it: the real binary in front of an
//! upstream that gzips its pages (a plain HTTP/1.1 server in a thread), or a
//! static directory with precompressed files; requests over real TCP.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const GA: &str = "https://www.googletagmanager.com/gtag/js?id=G-AB12CD34";
const BIG: usize = 100 * 1024 * 1024;

fn page() -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Shop</title>\
         <script async src=\"{GA}\"></script></head><body><h1>Shop</h1>\
         <img src=\"https://www.google-analytics.com/g/collect?v=2\" alt=\"\"></body></html>"
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("gunzip");
    out
}

/// An upstream that gzips every page whatever it is asked (as many do), and
/// echoes the request's headers at `/echo`.
fn upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().map(|a| a.port()).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                if path == "/big" {
                    // 100 MiB of HTML with a tracker every ~4 KiB, written as
                    // it is produced (close-delimited), never held whole.
                    let mut out = &stream;
                    let _ = out.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n<!doctype html><html><head><title>big</title></head><body>");
                    let mut chunk = Vec::with_capacity(64 * 1024);
                    while chunk.len() < 64 * 1024 - 200 {
                        chunk.extend_from_slice(b"<p>");
                        chunk.extend_from_slice(&[b'x'; 4000]);
                        chunk.extend_from_slice(
                            format!("</p><script async src=\"{GA}\"></script>").as_bytes(),
                        );
                    }
                    let mut sent = 0usize;
                    while sent < BIG {
                        if out.write_all(&chunk).is_err() {
                            return;
                        }
                        sent += chunk.len();
                    }
                    let _ = out.write_all(b"</body></html>");
                    return;
                }
                if let Some(coding) = path.strip_prefix("/bomb.") {
                    // A page of 1 GiB in a few KB, sent encoded although
                    // the proxy asked for identity.
                    let body: &[u8] = match coding {
                        "zst" => include_bytes!("../../consentry-tower/tests/fixtures/bomb-1gib.html.zst"),
                        _ => include_bytes!("../../consentry-tower/tests/fixtures/bomb-1gib.html.br"),
                    };
                    let encoding = if coding == "zst" { "zstd" } else { "br" };
                    let mut out = &stream;
                    let _ = write!(
                        out,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: {encoding}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = out.write_all(body);
                    return;
                }
                if path == "/huge-header" {
                    // A response header far over any sane limit.
                    let mut out = &stream;
                    let big = "x".repeat(512 * 1024);
                    let _ = write!(out, "HTTP/1.1 200 OK\r\nX-Huge: {big}\r\nContent-Length: 2\r\n\r\nok");
                    return;
                }
                if path == "/truncated" {
                    // Promises a page and hangs up a few bytes in.
                    let mut out = &stream;
                    let _ = out.write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<!doctype html><p>cut",
                    );
                    return;
                }
                if path == "/ws" {
                    // Agrees to switch, then echoes every byte it gets.
                    let mut out = &stream;
                    let _ = out.write_all(
                        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
                    );
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = reader.read(&mut buf) {
                        if n == 0 || out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    return;
                }
                let (ty, extra, body) = match path.as_str() {
                    "/echo" => ("text/plain", "", head.into_bytes()),
                    "/data.json" => ("application/json", "", b"{\"id\":42,\"tags\":[\"a\"]}".to_vec()),
                    _ => ("text/html; charset=utf-8", "Content-Encoding: gzip\r\n", gzip(page().as_bytes())),
                };
                let mut out = &stream;
                let _ = write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Type: {ty}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = out.write_all(&body);
            });
        }
    });
    port
}

struct Serve {
    child: Child,
    addr: String,
    _dir: TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("consentry-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

fn policy() -> String {
    format!("{}/../../www/policies/redis.json", env!("CARGO_MANIFEST_DIR"))
}

/// `consentry serve ARGS --addr 127.0.0.1:0`, once it says where it listens.
fn serve(name: &str, args: &[&str]) -> Serve {
    let dir = temp_dir(name);
    let db = dir.0.join("receipts.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_consentry"))
        .arg("serve")
        .args(["--policy", &policy(), "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = listening_on(&mut child);
    Serve { child, addr, _dir: dir }
}

/// The address a started `consentry serve` says it listens on (its first line).
fn listening_on(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("no stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap_or_default().to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "unexpected first line: {line:?}");
    addr
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        let body = match self.header("content-encoding") {
            Some("gzip") => gunzip(&self.body),
            Some("br") => {
                let mut out = Vec::new();
                brotli_decompressor::Decompressor::new(&self.body[..], 4096)
                    .read_to_end(&mut out)
                    .expect("brotli");
                out
            }
            _ => self.body.clone(),
        };
        String::from_utf8_lossy(&body).into_owned()
    }
}

/// One HTTP/1.1 GET over a fresh connection; a chunked body is decoded.
/// A connection to `addr` that has sent `request` as is (10 s read timeout),
/// for the tests that read the raw bytes coming back.
fn raw(addr: &str, request: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    s
}

fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    exchange(addr, "GET", path, headers, "")
}

fn exchange(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("no head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status =
        lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    if headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")) {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n").expect("bad chunk");
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 2 + size + 2..];
        }
        body = out;
    }
    Reply { status, headers, body }
}

#[test]
fn a_gzipping_upstream_is_gated_and_its_other_responses_pass_through() {
    let up = upstream();
    let proxy = serve("gzip", &["--upstream", &format!("http://127.0.0.1:{up}")]);
    let browser = [("Accept", "text/html"), ("Accept-Encoding", "gzip, deflate, br")];
    let page = get(&proxy.addr, "/", &browser);
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("id=\"consentry-banner\"") || html.contains("id=\"consentry-policy\""), "{html}");
    let live_ga = html.contains(&format!("<script async src=\"{GA}\">"));
    assert!(!live_ga, "GA left live before consent: {html}");
    assert!(html.contains("type=\"text/plain\""), "GA made inert: {html}");
    assert!(!html.contains("<img src=\"https://www.google-analytics.com"), "the pixel is inert: {html}");
    assert_eq!(page.header("cache-control"), Some("private"));

    let json = get(&proxy.addr, "/data.json", &[("Accept-Encoding", "identity")]);
    assert_eq!(json.status, 200);
    assert_eq!(json.body, b"{\"id\":42,\"tags\":[\"a\"]}", "non-HTML is passed through byte for byte");

    // The consent layer's own routes are answered by the proxy, not the upstream.
    let policy = get(&proxy.addr, "/consentry/policy.json", &[]);
    assert_eq!(policy.status, 200);
    assert!(policy.text().contains("\"revision\""), "{}", policy.text());
}

#[test]
fn the_upstream_sees_who_asked_and_the_visitors_host() {
    let up = upstream();
    let proxy = serve("echo", &["--upstream", &format!("http://127.0.0.1:{up}")]);
    let echo = get(
        &proxy.addr,
        "/echo",
        &[("X-Forwarded-For", "6.6.6.6"), ("Connection", "close, x-hop"), ("X-Hop", "1")],
    );
    let seen = echo.text().to_ascii_lowercase();
    assert!(seen.contains("host: shop.example"), "{seen}");
    assert!(
        seen.contains("x-forwarded-for: 127.0.0.1\r\n"),
        "a client's own X-Forwarded-For is not trusted: {seen}"
    );
    assert!(seen.contains("x-forwarded-proto: http"), "{seen}");
    assert!(seen.contains("forwarded: for=127.0.0.1;proto=http;host=\"shop.example\""), "{seen}");
    assert!(!seen.contains("x-hop"), "a header named by Connection is hop-by-hop: {seen}");
}

#[test]
fn an_upstream_that_is_down_gets_a_clear_502() {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port());
    let port = port.unwrap();
    let proxy = serve("down", &["--upstream", &format!("http://127.0.0.1:{port}"), "--timeout", "5"]);
    let res = get(&proxy.addr, "/", &[("Accept", "text/html")]);
    assert_eq!(res.status, 502);
    assert!(res.text().contains("did not answer"), "{}", res.text());
}

#[test]
fn a_static_directory_is_gated_and_its_precompressed_assets_used() {
    let site = temp_dir("site");
    let write = |name: &str, bytes: &[u8]| std::fs::write(site.0.join(name), bytes).unwrap();
    write("index.html", page().as_bytes());
    write("index.html.gz", &gzip(page().as_bytes()));
    let css = b"body { color: #222 }".repeat(20);
    write("app.css", &css);
    write("app.css.gz", &gzip(&css));
    let proxy = serve("dir", &["--dir", &site.0.to_string_lossy()]);
    let html = get(&proxy.addr, "/", &[("Accept", "text/html"), ("Accept-Encoding", "gzip")]).text();
    assert!(!html.contains(&format!("<script async src=\"{GA}\">")), "GA left live: {html}");
    assert!(html.contains("consentry"), "{html}");
    let asset = get(&proxy.addr, "/app.css", &[("Accept-Encoding", "gzip")]);
    assert_eq!(asset.status, 200);
    assert_eq!(asset.header("content-encoding"), Some("gzip"));
    assert_eq!(gunzip(&asset.body), css);
}

#[test]
fn bad_invocations_say_what_to_fix_in_one_line() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_consentry")).arg("serve").args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run(&["--policy", "missing.json", "--upstream", "http://127.0.0.1:1"]);
    assert_eq!(code, Some(1));
    assert!(err.starts_with("consentry: cannot read the policy missing.json"), "{err}");
    let (code, err) = run(&["--policy", &policy(), "--upstream", "localhost:8000"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("give an http:// URL"), "{err}");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().map(|a| a.to_string()).unwrap();
    let db = std::env::temp_dir().join(format!("consentry-serve-taken-{}.db", std::process::id()));
    let (code, err) =
        run(&["--policy", &policy(), "--dir", ".", "--addr", &addr, "--db", &db.to_string_lossy()]);
    let _ = std::fs::remove_file(&db);
    assert_eq!(code, Some(1));
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
}

#[test]
fn a_websocket_upgrade_is_tunnelled_both_ways() {
    let up = upstream();
    let proxy = serve("ws", &["--upstream", &format!("http://127.0.0.1:{up}")]);
    let mut s = raw(
        &proxy.addr,
        b"GET /ws HTTP/1.1\r\nHost: shop.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 101"), "{status}");
    let mut headers = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        headers.push_str(&line.to_ascii_lowercase());
    }
    assert!(headers.contains("upgrade: websocket"), "{headers}");
    for message in [&b"hello through the proxy"[..], &b"and back again"[..]] {
        s.write_all(message).unwrap();
        let mut echo = vec![0u8; message.len()];
        reader.read_exact(&mut echo).expect("echo");
        assert_eq!(echo, message);
    }
}

#[test]
fn an_upstream_that_hangs_up_mid_page_ends_the_visitors_response_too() {
    let up = upstream();
    let proxy = serve("cut", &["--upstream", &format!("http://127.0.0.1:{up}")]);
    let mut s = raw(
        &proxy.addr,
        b"GET /truncated HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\nConnection: close\r\n\r\n",
    );
    let mut raw = Vec::new();
    // Ends (the proxy closes the connection) rather than waiting forever.
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(!text.ends_with("0\r\n\r\n"), "a cut page must not end like a whole one: {text}");
    // The proxy is still there for the next visitor.
    assert_eq!(get(&proxy.addr, "/data.json", &[]).status, 200);
}

#[test]
fn the_consent_endpoint_is_rate_limited_per_visitor_address() {
    let up = upstream();
    let proxy =
        serve("rate", &["--upstream", &format!("http://127.0.0.1:{up}"), "--consent-rate-limit", "3"]);
    let post = || {
        exchange(
            &proxy.addr,
            "POST",
            "/consentry/consent",
            &[("Content-Type", "application/json")],
            r#"{"granted": "all"}"#,
        )
    };
    let statuses: Vec<u16> = (0..5).map(|_| post().status).collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429], "three a minute from 127.0.0.1, then 429");
    let limited = post();
    assert!(limited.header("retry-after").is_some());
}

/// Peak resident memory of a process, from Linux's /proc (None elsewhere).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_100_mib_page_streams_through_in_bounded_memory() {
    let up = upstream();
    let proxy = serve("big", &["--upstream", &format!("http://127.0.0.1:{up}")]);
    let before = peak_rss_kib(proxy.child.id());
    let mut s = TcpStream::connect(&proxy.addr).unwrap();
    s.write_all(b"GET /big HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (mut total, mut live_tags, mut tail) = (0usize, 0usize, Vec::new());
    let needle = format!("<script async src=\"{GA}\">");
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n;
        // Count live tags across read boundaries.
        tail.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&tail).into_owned();
        live_tags += text.matches(&needle).count();
        let keep = tail.len().saturating_sub(needle.len());
        tail.drain(..keep);
    }
    assert!(total > BIG, "the whole page came through: {total} bytes");
    assert_eq!(live_tags, 0, "every tracker in the stream was gated");
    let after = peak_rss_kib(proxy.child.id());
    if cfg!(target_os = "linux") {
        assert!(before.is_some() && after.is_some(), "VmHWM readable");
    }
    if let (Some(before), Some(after)) = (before, after) {
        eprintln!("consentry serve peak RSS: {before} KiB before, {after} KiB after a 100 MiB page");
        assert!(
            after < before + 64 * 1024,
            "peak RSS grew from {before} KiB to {after} KiB for a 100 MiB page"
        );
    }
}

#[test]
fn an_upstream_header_over_the_limit_gets_a_clean_502() {
    let up = upstream();
    let proxy = serve("huge", &["--upstream", &format!("http://127.0.0.1:{up}")]);
    let res = get(&proxy.addr, "/huge-header", &[]);
    assert_eq!(res.status, 502, "{}", res.text());
    assert!(res.header("x-huge").is_none());
    assert_eq!(get(&proxy.addr, "/data.json", &[]).status, 200, "the proxy keeps serving");
}

#[test]
fn the_region_comes_from_the_cdn_headers_or_the_geoip_file_named_and_nothing_else() {
    let up = upstream();
    let upstream_url = format!("http://127.0.0.1:{up}");
    let browser = [("Accept", "text/html"), ("Accept-Encoding", "identity")];
    let model = |html: &str| {
        if html.contains("data-consentry-model=\"opt-out\"") { "opt-out" } else { "opt-in" }
    };
    let california = [("CF-IPCountry", "US"), ("CF-Region-Code", "CA")];
    let with =
        |extra: &[(&'static str, &'static str)]| browser.iter().chain(extra).copied().collect::<Vec<_>>();

    // Behind Cloudflare: its headers say California, where redis's preset is opt-out.
    let proxy = serve("region-cf", &["--upstream", &upstream_url, "--region-headers", "cloudflare"]);
    let page = get(&proxy.addr, "/", &with(&california)).text();
    assert_eq!(model(&page), "opt-out", "{page}");
    assert!(page.contains("content=\"US-CA header opt-out\""));
    assert!(page.contains(&format!("<script async src=\"{GA}\">")), "GA runs until the visitor opts out");
    drop(proxy);

    // No source named: the same headers move no one.
    let proxy = serve("region-none", &["--upstream", &upstream_url]);
    let page = get(&proxy.addr, "/", &with(&california)).text();
    assert_eq!(model(&page), "opt-in");
    assert!(!page.contains(&format!("<script async src=\"{GA}\">")));
    drop(proxy);

    // A GeoIP file: the client's address (here, with --trust-forwarded, the
    // one the trusted proxy in front wrote); CDN headers are ignored.
    let db = format!("{}/../consentry-tower/tests/fixtures/geoip-test.mmdb", env!("CARGO_MANIFEST_DIR"));
    let proxy =
        serve("region-geoip", &["--upstream", &upstream_url, "--region-geoip", &db, "--trust-forwarded"]);
    let page = get(&proxy.addr, "/", &with(&[("X-Forwarded-For", "192.0.2.10")])).text();
    assert!(page.contains("content=\"US-CA geoip opt-out\""), "{page}");
    let page =
        get(&proxy.addr, "/", &with(&[("X-Forwarded-For", "198.51.100.7"), ("CF-IPCountry", "US")])).text();
    assert_eq!(model(&page), "opt-in");
    assert!(page.contains("content=\"FR-IDF geoip opt-in\""));
}

/// POSTs `{"granted": "all"}` to `addr`'s consent endpoint over HTTP/2 with
/// prior knowledge, with this `Origin`: the status and the body.
fn post_over_h2(addr: &str, origin: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(stream),
        )
        .await
        .unwrap();
        tokio::spawn(conn);
        let req = http::Request::post(format!("http://{addr}/consentry/consent"))
            .header("origin", origin)
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from_static(br#"{"granted": "all"}"#)))
            .unwrap();
        let res = sender.send_request(req).await.unwrap();
        assert_eq!(res.version(), http::Version::HTTP_2);
        let status = res.status().as_u16();
        let body = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    })
}

#[test]
fn a_consent_post_over_http2_with_an_origin_is_accepted_and_its_receipt_stored() {
    // HTTP/2 has no Host line: the Origin is compared with `:authority`.
    // Prior knowledge (h2c), as an h2c-speaking proxy in front would send it.
    let dir = temp_dir("h2-site");
    std::fs::write(dir.0.join("index.html"), page()).unwrap();
    let proxy = serve("h2", &["--dir", dir.0.to_str().unwrap()]);
    let (status, body) = post_over_h2(&proxy.addr, &format!("http://{}", proxy.addr));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["receipt"], true, "{body}");
    // A cross-site Origin over HTTP/2 is still refused.
    let (refused, _) = post_over_h2(&proxy.addr, "https://evil.example");
    assert_eq!(refused, 403);
}

#[test]
fn a_clients_own_x_forwarded_proto_does_not_make_the_cookie_secure() {
    let up = upstream();
    let post = |proxy: &Serve| {
        exchange(
            &proxy.addr,
            "POST",
            "/consentry/consent",
            &[("Content-Type", "application/json"), ("X-Forwarded-Proto", "https")],
            r#"{"granted": "all"}"#,
        )
    };
    let untrusted = serve("xfp", &["--upstream", &format!("http://127.0.0.1:{up}")]);
    let r = post(&untrusted);
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").is_some_and(|c| !c.contains("Secure")), "{:?}", r.header("set-cookie"));
    // The upstream is told the truth too.
    let echo = get(&untrusted.addr, "/echo", &[("X-Forwarded-Proto", "https")]).text().to_ascii_lowercase();
    assert!(echo.contains("x-forwarded-proto: http\r\n"), "{echo}");
    let trusted =
        serve("xfp-trusted", &["--upstream", &format!("http://127.0.0.1:{up}"), "--trust-forwarded"]);
    let r = post(&trusted);
    assert!(r.header("set-cookie").is_some_and(|c| c.contains("Secure")), "behind a trusted TLS proxy");
}

#[test]
fn dotfiles_are_not_served_from_the_directory_unless_asked() {
    let dir = temp_dir("dot-site");
    std::fs::write(dir.0.join("index.html"), page()).unwrap();
    std::fs::write(dir.0.join(".env"), "SECRET=1").unwrap();
    std::fs::create_dir_all(dir.0.join(".git")).unwrap();
    std::fs::write(dir.0.join(".git/config"), "[core]").unwrap();
    std::fs::create_dir_all(dir.0.join(".well-known")).unwrap();
    std::fs::write(dir.0.join(".well-known/security.txt"), "Contact: mailto:a@example.org").unwrap();
    let site = serve("dot", &["--dir", dir.0.to_str().unwrap()]);
    for path in ["/.env", "/.git/config", "/%2eenv", "/%2Egit/config"] {
        let r = get(&site.addr, path, &[]);
        assert_eq!(r.status, 404, "{path}");
        assert!(!r.text().contains("SECRET") && !r.text().contains("[core]"), "{path}");
    }
    assert_eq!(get(&site.addr, "/.well-known/security.txt", &[]).status, 200);
    assert_eq!(get(&site.addr, "/", &[]).status, 200);
    let asked = serve("dot-asked", &["--dir", dir.0.to_str().unwrap(), "--serve-dotfiles"]);
    assert_eq!(get(&asked.addr, "/.env", &[]).status, 200);
}

#[test]
fn a_client_that_trickles_its_headers_is_disconnected() {
    let dir = temp_dir("slow-site");
    std::fs::write(dir.0.join("index.html"), page()).unwrap();
    let site = serve("slow", &["--dir", dir.0.to_str().unwrap(), "--header-timeout", "1"]);
    let mut s = raw(&site.addr, b"GET / HTTP/1.1\r\nHost: shop.example\r\n");
    let mut writer = s.try_clone().unwrap();
    // One header line every 200 ms, for up to 20 s: never the end of them.
    let trickle = std::thread::spawn(move || {
        for i in 0..100 {
            if writer.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes()).is_err() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        false
    });
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    // The server ends the connection (EOF, a reset, or a 408 then EOF)
    // long before the trickle would have ended.
    let _ = s.read_to_end(&mut buf);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "still connected after {:?}",
        started.elapsed()
    );
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"), "no page for an unfinished request");
    let _ = trickle.join();
    // And the server still answers others.
    assert_eq!(get(&site.addr, "/", &[]).status, 200);
}

#[test]
fn with_every_connection_taken_new_ones_wait_and_are_served_when_one_frees() {
    let dir = temp_dir("cap-site");
    std::fs::write(dir.0.join("index.html"), page()).unwrap();
    let site =
        serve("cap", &["--dir", dir.0.to_str().unwrap(), "--max-connections", "2", "--header-timeout", "2"]);
    // Two idle connections take both slots (each is accepted, then cut by
    // the header timeout, since it sends nothing).
    let idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(&site.addr).unwrap()).collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    let r = get(&site.addr, "/consentry/policy.json", &[]);
    let waited = started.elapsed();
    assert_eq!(r.status, 200, "served once a slot is free");
    assert!(waited >= std::time::Duration::from_secs(1), "it waited for a slot ({waited:?})");
    assert!(waited < std::time::Duration::from_secs(15), "and not for ever ({waited:?})");
    drop(idle);
}

/// Reads a response to the end, counting its bytes and keeping none.
fn drain(mut s: TcpStream) -> usize {
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0;
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return n,
            Ok(k) => n += k,
        }
    }
}

#[test]
fn a_decompression_bomb_goes_through_in_bounded_memory() {
    let up = upstream();
    let proxy = serve(
        "bomb",
        &["--upstream", &format!("http://127.0.0.1:{up}"), "--max-decoded-body", &(2u64 << 30).to_string()],
    );
    // Warm up, then the baseline: the idle process.
    assert_eq!(get(&proxy.addr, "/data.json", &[]).status, 200);
    let idle = peak_rss_kib(proxy.child.id()).unwrap_or(0);
    for coding in ["zst", "br"] {
        let request = format!(
            "GET /bomb.{coding} HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
        );
        let sent = drain(raw(&proxy.addr, request.as_bytes()));
        assert!(sent > 1 << 30, "{coding}: the whole 1 GiB page came through ({sent} bytes)");
    }
    if let Some(peak) = peak_rss_kib(proxy.child.id()) {
        let grew = peak.saturating_sub(idle);
        println!("consentry serve: 1 GiB zstd and brotli pages, peak memory +{grew} KiB");
        assert!(grew < 64 * 1024, "peak memory grew by {grew} KiB");
    }
    // The default limit cuts such a page off.
    let capped = serve("bomb-capped", &["--upstream", &format!("http://127.0.0.1:{up}")]);
    let request =
        b"GET /bomb.br HTTP/1.1\r\nHost: shop.example\r\nAccept: text/html\r\nConnection: close\r\n\r\n";
    let sent = drain(raw(&capped.addr, request));
    assert!(sent < 300 << 20, "cut off near the default 256 MiB, after {sent} bytes");
}

/// CPU time a process has used, in clock ticks (Linux's /proc; None elsewhere).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces, in parentheses).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 here.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[test]
fn out_of_file_descriptors_the_server_backs_off_instead_of_spinning_and_recovers() {
    let dir = temp_dir("fd-site");
    std::fs::write(dir.0.join("index.html"), page()).unwrap();
    let db = dir.0.join("receipts.db");
    // A process allowed few file descriptors: accept() fails with EMFILE
    // once the connections below have taken them.
    let script = format!(
        "ulimit -n 48 && exec '{}' serve --policy '{}' --addr 127.0.0.1:0 --db '{}' --dir '{}'",
        env!("CARGO_BIN_EXE_consentry"),
        policy(),
        db.display(),
        dir.0.display()
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = listening_on(&mut child);
    let pid = child.id();
    // More idle connections than descriptors left (each sends nothing, so
    // each holds one until the header timeout, 20 s by default).
    let hold: Vec<TcpStream> = (0..80).filter_map(|_| TcpStream::connect(&addr).ok()).collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let before = cpu_ticks(pid);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let after = cpu_ticks(pid);
    if let (Some(b), Some(a)) = (before, after) {
        // 2 s of a spinning accept loop is ~200 ticks; a backing-off one, ~0.
        assert!(a - b < 50, "the server used {} ticks of CPU in 2 s while out of descriptors", a - b);
    }
    drop(hold);
    // Descriptors free again: it serves.
    let mut served = false;
    for _ in 0..50 {
        if std::panic::catch_unwind(|| get(&addr, "/", &[]).status).is_ok_and(|s| s == 200) {
            served = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(served, "the server recovered once descriptors were free");
}

#[test]
fn a_consent_post_whose_body_stalls_is_ended_not_held() {
    let dir = temp_dir("stall-site");
    std::fs::write(dir.0.join("index.html"), page()).unwrap();
    let site = serve("stall", &["--dir", dir.0.to_str().unwrap(), "--timeout", "1"]);
    // A body of 100 bytes announced, 10 sent, then nothing.
    let mut s = raw(
        &site.addr,
        b"POST /consentry/consent HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"granted\"",
    );
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(started.elapsed() < std::time::Duration::from_secs(8), "held for {:?}", started.elapsed());
    assert!(!answer.contains("200 OK") && !answer.contains("set-cookie"), "no choice recorded: {answer}");
}
