//! One list of HTTP cases that every adapter of the engine must pass, over
//! real HTTP: `consentry-tower` (under axum) and `consentry-actix` include
//! this file (`#[path]`) in their integration tests, so a case added here is
//! checked against both.
//!
//! An adapter's test serves a small app behind its middleware, configured
//! with [`settings`], and answering three kinds of path:
//!
//! - `GET /case/{name}`: the response [`upstream`] gives for `name`, its
//!   body sent in the chunks given, one write each;
//! - `GET /echo`: `text/plain`, one line per request header the page
//!   request rules touch (`range`, `accept-encoding`, `if-none-match`), as
//!   `name: value` (or `name: -`);
//! - `GET /decision`: `text/plain`, from the adapter's extractor:
//!   `analytics=<bool> advertising=<bool> model=<model>`, or `none` when
//!   the extractor found no decision.
//!
//! Then it calls [`run_all`] with the server's address: every case runs, and
//! the failures are reported together, each by name.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

use consentry_core::Policy;
use consentry_engine::{EngineBuilder, RegionHeaders};

/// The policy every case runs under: the redis preset (analytics, advertising
/// and third-party content; opt-out in US states with such a law).
pub fn policy() -> Policy {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../www/policies/redis.json");
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Policy::from_json(&json).unwrap_or_else(|e| panic!("redis preset: {e}"))
}

/// The engine settings both adapters are built with (receipts go in the
/// store the adapter test gives).
pub fn settings(receipts: impl consentry_engine::ReceiptStore) -> EngineBuilder {
    EngineBuilder::new(policy())
        .receipts(receipts)
        .region_headers(RegionHeaders::cloudflare())
        .max_decoded_body(MAX_DECODED)
}

/// The decoded size past which a compressed page is cut off (the cases'
/// decompression bomb decodes to four times this).
pub const MAX_DECODED: u64 = 1 << 20;

const GTAG: &str = "/_trackers/gtag/js?id=G-R3D1S0001";
const ADS: &str = "/_trackers/ads/tag.js";
const VIDEO: &str = "/_trackers/video/embed/abc";

/// A page as a site writes it: live tags, no Consentry markup.
pub fn page() -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Case</title>\
         <script async src=\"{GTAG}\"></script><script src=\"{ADS}\"></script><script src=\"/static/app.js\"></script></head>\
         <body><h1>Hello</h1><iframe src=\"{VIDEO}\" title=\"video\"></iframe><p>{}</p></body></html>",
        "lorem ipsum ".repeat(300)
    )
}

/// What the app answers at `/case/{name}`.
pub struct Upstream {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub chunks: Vec<Vec<u8>>,
}

fn html(chunks: Vec<Vec<u8>>) -> Upstream {
    Upstream { status: 200, headers: vec![("content-type", "text/html; charset=utf-8".to_owned())], chunks }
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).expect("gzip");
    e.finish().expect("gzip")
}

/// The JSON the `json` case answers: it looks like markup, and must pass
/// byte for byte.
pub const JSON: &str = r#"{"ok":true,"html":"<script src=\"/_trackers/gtag/js\"></script>"}"#;

/// The app's answer at `/case/{name}`, `None` for a name no case uses.
pub fn upstream(name: &str) -> Option<Upstream> {
    let page = page().into_bytes();
    Some(match name {
        "page" => html(vec![page]),
        // Seven bytes at a time: tags split across chunks everywhere.
        "chunked" => html(page.chunks(7).map(<[u8]>::to_vec).collect()),
        "gzip" => {
            let mut up = html(gzip(&page).chunks(500).map(<[u8]>::to_vec).collect());
            up.headers.push(("content-encoding", "gzip".to_owned()));
            up
        }
        "bomb" => {
            let mut body = page.clone();
            body.truncate(page.len() - "</body></html>".len());
            body.extend(std::iter::repeat_n(b' ', (MAX_DECODED * 4) as usize));
            body.extend_from_slice(b"</body></html>");
            let mut up = html(vec![gzip(&body)]);
            up.headers.push(("content-encoding", "gzip".to_owned()));
            up
        }
        "unknown-encoding" => {
            let mut up = html(vec![page]);
            up.headers.push(("content-encoding", "lzma".to_owned()));
            up
        }
        "partial" => {
            let mut up = html(vec![page[..100].to_vec()]);
            up.status = 206;
            up.headers.push(("content-range", format!("bytes 0-99/{}", page.len())));
            up
        }
        // The page with its length, as a handler that knows it sends it.
        "sized" => {
            let mut up = html(page.chunks(4096).map(<[u8]>::to_vec).collect());
            up.headers.push(("content-length", page.len().to_string()));
            up
        }
        "typeless" => Upstream { status: 200, headers: vec![], chunks: vec![page] },
        "json" => Upstream {
            status: 200,
            headers: vec![("content-type", "application/json".to_owned())],
            chunks: vec![JSON.as_bytes().to_vec()],
        },
        "not-modified" => Upstream {
            status: 304,
            headers: vec![("etag", "\"v1\"".to_owned()), ("content-type", "text/html".to_owned())],
            chunks: vec![],
        },
        _ => return None,
    })
}

/// A response as the test client read it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the body ended as its framing says (a cut-off response is
    /// not complete).
    pub complete: bool,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one HTTP/1.1 request (`Connection: close`) and reads the whole
/// response, de-chunked.
pub fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut req = format!("{method} {path} HTTP/1.1\r\nhost: site.example\r\nconnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).expect("write");
    stream.write_all(body).expect("write");
    let mut raw = Vec::new();
    // A response cut off by the server may end in a reset: keep what came.
    let _ = stream.read_to_end(&mut raw);
    parse(&raw, method == "HEAD")
}

fn parse(raw: &[u8], head_only: bool) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let mut reply = Reply { status, headers, body: Vec::new(), complete: true };
    if head_only || status == 304 || status == 204 {
        return reply;
    }
    if reply.header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        let (body, complete) = dechunk(rest);
        reply.body = body;
        reply.complete = complete;
    } else if let Some(len) = reply.header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        reply.complete = rest.len() >= len;
        reply.body = rest[..rest.len().min(len)].to_vec();
    } else {
        reply.body = rest.to_vec();
    }
    reply
}

fn dechunk(mut rest: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else { return (body, false) };
        let size_line = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let Ok(size) = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16) else {
            return (body, false);
        };
        rest = &rest[eol + 2..];
        if size == 0 {
            return (body, true);
        }
        if rest.len() < size + 2 {
            body.extend_from_slice(&rest[..rest.len().min(size)]);
            return (body, false);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

/// The start tags named `tag` in `html` whose `attr` contains `needle`.
fn start_tags<'a>(html: &'a str, tag: &str, attr: &str, needle: &str) -> Vec<&'a str> {
    let tag = &format!("{tag} ");
    let open = format!("<{tag}");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = html[from..].find(&open).map(|i| i + from) {
        let end = html[i..].find('>').map_or(html.len(), |e| i + e + 1);
        let t = &html[i..end];
        if t.contains(&format!(" {attr}=\"{needle}")) {
            found.push(t);
        }
        from = end;
    }
    found
}

/// Whether the page would fetch `src` with a live `<script>` (no inert
/// `type="text/plain"`).
fn script_live(html: &str, src: &str) -> bool {
    start_tags(html, "script", "src", src).iter().any(|t| !t.contains("type=\"text/plain\""))
}

fn frame_live(html: &str, src: &str) -> bool {
    !start_tags(html, "iframe", "src", src).is_empty()
}

/// A valid consent cookie for the cases' policy granting `granted`.
pub fn consent_cookie(granted: &[&str]) -> String {
    let policy = policy();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let c = consentry_core::Consent::new(
        policy.revision(),
        now - 60,
        granted.iter().copied(),
        consentry_core::ConsentId::from_random([7; 16]),
    );
    format!("{}={}", policy.cookie().name, c.encode())
}

type Check = fn(SocketAddr) -> Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

const PAGE_REQUEST: (&str, &str) = ("accept", "text/html,application/xhtml+xml");

/// Every case: a name that says what a user relies on, and its check.
pub const CASES: &[(&str, Check)] = &[
    ("a first visit gets the page with every tracker inert and the banner rendered", |addr| {
        let r = send(addr, "GET", "/case/page", &[PAGE_REQUEST], b"");
        ensure!(r.status == 200 && r.complete, "status {} complete {}", r.status, r.complete);
        let html = r.text();
        ensure!(!script_live(&html, GTAG), "GA live before consent");
        ensure!(!script_live(&html, ADS), "the ad tag live before consent");
        ensure!(!frame_live(&html, VIDEO), "the video frame live before consent");
        ensure!(script_live(&html, "/static/app.js"), "the site's own script was touched");
        ensure!(html.contains("id=\"consentry-banner\""), "no server-rendered banner");
        ensure!(
            r.header("content-length").is_none_or(|l| l == html.len().to_string()),
            "stale Content-Length"
        );
        Ok(())
    }),
    ("a page is kept out of shared caches and varies on what decides it", |addr| {
        let r = send(addr, "GET", "/case/page", &[PAGE_REQUEST], b"");
        ensure!(
            r.header("cache-control").is_some_and(|c| c.contains("private")),
            "Cache-Control {:?}",
            r.header("cache-control")
        );
        let vary = r.header("vary").unwrap_or("").to_ascii_lowercase();
        ensure!(["cookie", "dnt", "sec-gpc"].iter().all(|h| vary.contains(h)), "Vary {vary}");
        ensure!(r.header("tk").is_some(), "no Tk");
        Ok(())
    }),
    ("consent to analytics switches GA on and leaves advertising off", |addr| {
        let cookie = consent_cookie(&["essential", "analytics"]);
        let r = send(addr, "GET", "/case/page", &[PAGE_REQUEST, ("cookie", &cookie)], b"");
        let html = r.text();
        ensure!(script_live(&html, GTAG), "GA not live after consent");
        ensure!(!script_live(&html, ADS), "the ad tag live without consent to advertising");
        ensure!(!html.contains("id=\"consentry-banner\""), "the banner shown again after a choice");
        Ok(())
    }),
    (
        "Sec-GPC: 1 keeps every tracker off even after consent; DNT: 1 is ignored, as this policy says",
        |addr| {
            let cookie = consent_cookie(&["essential", "analytics", "advertising", "third-party"]);
            let r =
                send(addr, "GET", "/case/page", &[PAGE_REQUEST, ("cookie", &cookie), ("sec-gpc", "1")], b"");
            let html = r.text();
            ensure!(!script_live(&html, ADS) && !script_live(&html, GTAG), "GPC: a tracker live");
            ensure!(r.header("tk").is_some(), "GPC: no Tk");
            let r = send(addr, "GET", "/case/page", &[PAGE_REQUEST, ("cookie", &cookie), ("dnt", "1")], b"");
            ensure!(script_live(&r.text(), ADS), "DNT honoured although the policy ignores it");
            let r = send(addr, "GET", "/case/page", &[PAGE_REQUEST, ("sec-gpc", "1")], b"");
            ensure!(!script_live(&r.text(), GTAG), "GPC on a first visit: GA live");
            Ok(())
        },
    ),
    (
        "a page the app sent with Content-Length goes out framed, not ended by closing the connection",
        |addr| {
            let r = send(addr, "GET", "/case/sized", &[PAGE_REQUEST], b"");
            let html = r.text();
            ensure!(!script_live(&html, GTAG), "GA live");
            let chunked = r.header("transfer-encoding").is_some_and(|t| t.contains("chunked"));
            let sized = r.header("content-length") == Some(html.len().to_string().as_str());
            ensure!(
                chunked || sized,
                "no framing (a browser waits for the connection to close): {:?}",
                r.headers
            );
            Ok(())
        },
    ),
    ("a page arriving seven bytes at a time is gated the same", |addr| {
        let r = send(addr, "GET", "/case/chunked", &[PAGE_REQUEST], b"");
        let html = r.text();
        ensure!(r.complete && html.ends_with("</html>"), "cut short");
        ensure!(!script_live(&html, GTAG) && !script_live(&html, ADS), "a tracker live");
        ensure!(html.contains("id=\"consentry-banner\""), "no banner");
        Ok(())
    }),
    ("a gzip page is decoded, gated and sent without Content-Encoding", |addr| {
        let r = send(addr, "GET", "/case/gzip", &[PAGE_REQUEST], b"");
        ensure!(r.header("content-encoding").is_none(), "still encoded");
        let html = r.text();
        ensure!(html.contains("<h1>Hello</h1>") && !script_live(&html, GTAG), "not decoded and gated");
        Ok(())
    }),
    ("a decompression bomb is cut off, never sent whole", |addr| {
        let r = send(addr, "GET", "/case/bomb", &[PAGE_REQUEST], b"");
        ensure!(
            !(r.complete && r.status == 200 && r.text().ends_with("</html>")),
            "the bomb was decoded whole"
        );
        ensure!(r.body.len() as u64 <= MAX_DECODED + 64 * 1024, "{} bytes sent", r.body.len());
        Ok(())
    }),
    ("a page in an encoding the engine cannot read is refused with 502", |addr| {
        let r = send(addr, "GET", "/case/unknown-encoding", &[PAGE_REQUEST], b"");
        ensure!(r.status == 502, "status {}", r.status);
        ensure!(!r.text().contains(GTAG), "the page leaked");
        ensure!(r.header("tk").is_some(), "the 502 lost Tk");
        Ok(())
    }),
    ("a partial (206) page is refused with 502", |addr| {
        let r = send(addr, "GET", "/case/partial", &[PAGE_REQUEST], b"");
        ensure!(r.status == 502, "status {}", r.status);
        Ok(())
    }),
    ("a response without Content-Type is sniffed and gated, or goes out as a download", |addr| {
        let r = send(addr, "GET", "/case/typeless", &[PAGE_REQUEST], b"");
        // actix-web's `HttpResponse::streaming` types an untyped body
        // `application/octet-stream`: a browser saves that, never renders it.
        let download = r.header("content-type") == Some("application/octet-stream");
        ensure!(
            download || !script_live(&r.text(), GTAG),
            "a typeless page went out with GA live: {:?}",
            r.headers
        );
        Ok(())
    }),
    ("JSON that looks like markup passes byte for byte", |addr| {
        let r = send(addr, "GET", "/case/json", &[], b"");
        ensure!(r.body == JSON.as_bytes(), "changed: {}", r.text());
        ensure!(r.header("content-type") == Some("application/json"), "type {:?}", r.header("content-type"));
        ensure!(r.header("tk").is_some(), "no Tk on JSON");
        Ok(())
    }),
    ("HEAD of a page passes without a body", |addr| {
        let r = send(addr, "HEAD", "/case/page", &[PAGE_REQUEST], b"");
        ensure!(r.status == 200, "status {}", r.status);
        Ok(())
    }),
    ("a 304 to a page request varies and keeps out of shared caches", |addr| {
        let r = send(addr, "GET", "/case/not-modified", &[PAGE_REQUEST, ("if-none-match", "\"v1\"")], b"");
        ensure!(r.status == 304, "status {}", r.status);
        ensure!(r.header("vary").is_some_and(|v| v.to_ascii_lowercase().contains("cookie")), "no Vary");
        ensure!(r.header("cache-control").is_some_and(|c| c.contains("private")), "not private");
        Ok(())
    }),
    ("the app gets a page request without Range and asking for identity", |addr| {
        let r = send(
            addr,
            "GET",
            "/echo",
            &[PAGE_REQUEST, ("range", "bytes=0-9"), ("accept-encoding", "gzip, br")],
            b"",
        );
        let text = r.text();
        ensure!(text.contains("range: -"), "Range reached the app: {text}");
        ensure!(text.contains("accept-encoding: identity"), "encoding not identity: {text}");
        let r = send(addr, "GET", "/echo", &[("accept", "text/css"), ("accept-encoding", "gzip")], b"");
        ensure!(r.text().contains("accept-encoding: gzip"), "a stylesheet request was changed: {}", r.text());
        Ok(())
    }),
    ("handlers read the request's decision through the extractor", |addr| {
        let r = send(addr, "GET", "/decision", &[], b"");
        ensure!(r.text() == "analytics=false advertising=false model=opt-in", "first visit: {}", r.text());
        let cookie = consent_cookie(&["essential", "analytics"]);
        let r = send(addr, "GET", "/decision", &[("cookie", &cookie)], b"");
        ensure!(r.text() == "analytics=true advertising=false model=opt-in", "after consent: {}", r.text());
        let r = send(addr, "GET", "/decision", &[("cf-ipcountry", "US"), ("cf-region-code", "CA")], b"");
        ensure!(r.text() == "analytics=true advertising=true model=opt-out", "California: {}", r.text());
        let r = send(
            addr,
            "GET",
            "/decision",
            &[("cf-ipcountry", "US"), ("cf-region-code", "CA"), ("sec-gpc", "1")],
            b"",
        );
        ensure!(
            r.text() == "analytics=true advertising=false model=opt-out",
            "California with GPC: {}",
            r.text()
        );
        Ok(())
    }),
    ("California gets the opt-out notice rendered, not the opt-in banner", |addr| {
        let r = send(
            addr,
            "GET",
            "/case/page",
            &[PAGE_REQUEST, ("cf-ipcountry", "US"), ("cf-region-code", "CA")],
            b"",
        );
        let html = r.text();
        ensure!(html.contains("data-consentry-model=\"opt-out\""), "no opt-out notice");
        ensure!(script_live(&html, GTAG), "GA off under opt-out before any choice");
        Ok(())
    }),
    ("policy.json and gpc.json are served", |addr| {
        let r = send(addr, "GET", "/consentry/policy.json", &[], b"");
        ensure!(
            r.status == 200 && r.text().contains("\"revision\""),
            "policy.json: {} {}",
            r.status,
            r.text()
        );
        let r = send(addr, "GET", "/.well-known/gpc.json", &[], b"");
        ensure!(r.status == 200 && r.text().contains("\"gpc\":true"), "gpc.json: {} {}", r.status, r.text());
        Ok(())
    }),
    ("a JSON consent sets the cookie, stores a receipt and serves it back", |addr| {
        let headers = [("content-type", "application/json"), ("origin", "http://site.example")];
        let r = send(addr, "POST", "/consentry/consent", &headers, br#"{"granted": ["analytics"]}"#);
        ensure!(r.status == 200, "status {}: {}", r.status, r.text());
        ensure!(
            r.header("set-cookie").is_some_and(|c| c.starts_with("consentry=v1.")),
            "cookie {:?}",
            r.header("set-cookie")
        );
        let v: serde_json::Value =
            serde_json::from_slice(&r.body).map_err(|e| format!("{e}: {}", r.text()))?;
        ensure!(v["receipt"] == true, "no receipt: {v}");
        let id = v["id"].as_str().ok_or(format!("no id: {v}"))?;
        let cookie = r.header("set-cookie").and_then(|c| c.split(';').next()).unwrap_or("").to_owned();
        let r = send(addr, "GET", &format!("/consentry/receipt/{id}"), &[("cookie", &cookie)], b"");
        ensure!(r.status == 200 && r.text().contains("analytics"), "receipt {}: {}", r.status, r.text());
        Ok(())
    }),
    ("a form consent without JavaScript sets the cookie and goes back", |addr| {
        let headers =
            [("content-type", "application/x-www-form-urlencoded"), ("origin", "http://site.example")];
        let r = send(
            addr,
            "POST",
            "/consentry/consent",
            &headers,
            b"granted=none&return_to=%2Fcase%2Fpage%3Fa%3D1",
        );
        ensure!(r.status == 303, "status {}: {}", r.status, r.text());
        ensure!(r.header("location") == Some("/case/page?a=1"), "location {:?}", r.header("location"));
        ensure!(r.header("set-cookie").is_some(), "no cookie");
        Ok(())
    }),
    ("bad consent requests get clear errors and no cookie", |addr| {
        let json = [("content-type", "application/json"), ("origin", "http://site.example")];
        let cross = [("content-type", "application/json"), ("origin", "https://evil.example")];
        let big = format!(r#"{{"granted": ["{}"]}}"#, "a".repeat(10_000));
        let refused = [
            ("too large", "POST", &json, big.into_bytes(), 413, ""),
            ("unknown id", "POST", &json, br#"{"granted": ["analytic"]}"#.to_vec(), 400, "analytic"),
            ("cross-site", "POST", &cross, br#"{"granted": "all"}"#.to_vec(), 403, ""),
            ("GET", "GET", &json, Vec::new(), 405, ""),
        ];
        for (what, method, headers, body, status, says) in refused {
            let r = send(addr, method, "/consentry/consent", headers, &body);
            ensure!(r.status == status, "{what}: {} {}", r.status, r.text());
            ensure!(r.text().contains(says), "{what}: the error does not name `{says}`: {}", r.text());
            ensure!(r.header("set-cookie").is_none(), "{what}: a refused request set a cookie");
        }
        Ok(())
    }),
    ("the banner's stylesheet is served under the prefix", |addr| {
        let r = send(addr, "GET", "/consentry/consentry.css", &[], b"");
        ensure!(
            r.status == 200 && r.header("content-type").is_some_and(|t| t.starts_with("text/css")),
            "css: {}",
            r.status
        );
        Ok(())
    }),
];

/// Runs every case against the server at `addr`; panics naming each one that
/// failed, with why.
pub fn run_all(adapter: &str, addr: SocketAddr) {
    let mut failed = Vec::new();
    for (name, check) in CASES {
        if let Err(why) = check(addr) {
            failed.push(format!("  {name}: {why}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{adapter}: {} of {} shared HTTP cases failed:\n{}",
        failed.len(),
        CASES.len(),
        failed.join("\n")
    );
}
