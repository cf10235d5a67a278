//! Helpers shared by the integration tests: presets, an app, requests, and a
//! small HTML reader that lists what a browser would load.

use std::collections::HashMap;
use std::convert::Infallible;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use consentry_core::Policy;
use consentry_tower::ConsentLayer;
use http_body_util::BodyExt;
use tower::ServiceExt;

pub fn preset(slug: &str) -> Policy {
    let path = format!("{}/../../www/policies/{slug}.json", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Policy::from_json(&json).unwrap_or_else(|e| panic!("{slug}: {e}"))
}

/// A page carrying every kind of tag a seed site has, written as sites do
/// (no Consentry markup).
pub fn seed_page(lang: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8"><title>Seed</title>
<script>var _paq = window._paq = window._paq || []; _paq.push(['trackPageView']); _paq.push(['enableLinkTracking']);
(function() {{ var u="/_trackers/matomo/"; _paq.push(['setTrackerUrl', u+'matomo.php']); _paq.push(['setSiteId', '1']);
var d=document, g=d.createElement('script'), s=d.getElementsByTagName('script')[0]; g.async=true; g.src=u+'matomo.js'; s.parentNode.insertBefore(g,s); }})();</script>
<script async src="/_trackers/gtag/js?id=G-R3D1S0001"></script>
<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}} gtag('js', new Date()); gtag('config', 'G-R3D1S0001');</script>
<script async src="/_trackers/gtm.js?id=GTM-R3D1S01"></script>
<script async src="/_trackers/ads/tag.js"></script>
<script src="/_trackers/segment/analytics.js"></script>
<script src="/_trackers/optimizely/snippet.js"></script>
<script src="/_trackers/vwo/library.js"></script>
<script src="/_trackers/drift/widget.js"></script>
<script src="/static/app.js"></script>
</head>
<body>
<h1>Hello</h1>
<iframe src="/_trackers/video/embed/abc" title="video"></iframe>
<noscript><img src="/_trackers/matomo/matomo.php?idsite=1&amp;rec=1" alt=""></noscript>
<script type="text/plain" data-category="analytics">window.markedAnalytics = true;</script>
</body>
</html>"#
    )
}

/// An axum app serving `html` at `/` (and JSON at `/api`) behind the layer.
pub fn app(layer: ConsentLayer, html: String) -> Router {
    Router::new()
        .route(
            "/",
            get(move || {
                let html = html.clone();
                async move { axum::response::Html(html) }
            }),
        )
        .route(
            "/api",
            get(|| async {
                axum::Json(
                    serde_json::json!({"ok": true, "html": "<script src=\"/_trackers/gtag/js\"></script>"}),
                )
            }),
        )
        .layer(layer)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn send<S>(svc: S, req: Request<Body>) -> Reply
where
    S: tower::Service<Request<Body>, Error = Infallible> + Send,
    S::Response: IntoResponse,
    S::Future: Send,
{
    let res: Response<Body> = match svc.oneshot(req).await {
        Ok(r) => r.into_response(),
        Err(e) => match e {},
    };
    let (parts, body) = res.into_parts();
    let body = body.collect().await.map(|c| c.to_bytes().to_vec()).expect("body");
    Reply { status: parts.status, headers: parts.headers, body }
}

pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.into()).expect("request")
}

/// A JSON POST to the consent endpoint at the default prefix, same-site.
pub fn post_json(body: &str, extra: &[(&str, &str)]) -> Request<Body> {
    let mut headers = vec![("content-type", "application/json"), ("host", "site.example")];
    headers.extend_from_slice(extra);
    request("POST", "/consentry/consent", &headers, body.to_owned())
}

pub async fn get_page(router: &Router, headers: &[(&str, &str)]) -> Reply {
    send(router.clone(), request("GET", "/", headers, Body::empty())).await
}

/// What a browser would fetch or run from this HTML: executable scripts
/// (`src` or inline code), and `src` of frames and images.
#[derive(Debug, Default)]
pub struct Live {
    pub script_srcs: Vec<String>,
    pub inline_scripts: Vec<String>,
    pub frame_srcs: Vec<String>,
    pub img_srcs: Vec<String>,
    pub inert_scripts: Vec<HashMap<String, String>>,
}

impl Live {
    pub fn any_url_contains(&self, needle: &str) -> bool {
        self.script_srcs.iter().chain(&self.frame_srcs).chain(&self.img_srcs).any(|s| s.contains(needle))
    }
    pub fn any_inline_contains(&self, needle: &str) -> bool {
        self.inline_scripts.iter().any(|s| s.contains(needle))
    }
}

fn executable(ty: Option<&str>) -> bool {
    match ty.map(|t| t.trim().to_ascii_lowercase()) {
        None => true,
        Some(t) => t.is_empty() || t == "module" || t == "text/javascript" || t == "application/javascript",
    }
}

pub fn live(html: &str) -> Live {
    use lol_html::{HtmlRewriter, Settings, element, text};
    use std::cell::RefCell;
    use std::rc::Rc;
    let out = Rc::new(RefCell::new(Live::default()));
    let current: Rc<RefCell<Option<String>>> = Rc::new(RefCell::new(None));
    let (o1, o2, o3, o4, o5) = (out.clone(), out.clone(), out.clone(), out.clone(), out.clone());
    let noscript = Rc::new(RefCell::new(String::new()));
    let (c1, c2) = (current.clone(), current.clone());
    let mut rw = HtmlRewriter::new(
        Settings::new()
            .append_element_content_handler(element!("script", move |el| {
                let ty = el.get_attribute("type");
                if executable(ty.as_deref()) {
                    if let Some(src) = el.get_attribute("src") {
                        o1.borrow_mut().script_srcs.push(src);
                        *c1.borrow_mut() = None;
                    } else {
                        *c1.borrow_mut() = Some(String::new());
                    }
                } else {
                    *c1.borrow_mut() = None;
                    if ty.as_deref() == Some("text/plain") {
                        o1.borrow_mut()
                            .inert_scripts
                            .push(el.attributes().iter().map(|a| (a.name(), a.value())).collect());
                    }
                }
                Ok(())
            }))
            .append_element_content_handler(text!("script", move |t| {
                let mut cur = c2.borrow_mut();
                if let Some(code) = cur.as_mut() {
                    code.push_str(t.as_str());
                    if t.last_in_text_node() {
                        o2.borrow_mut().inline_scripts.push(std::mem::take(code));
                        *cur = None;
                    }
                }
                Ok(())
            }))
            .append_element_content_handler(element!("iframe[src]", move |el| {
                o3.borrow_mut().frame_srcs.push(el.get_attribute("src").unwrap_or_default());
                Ok(())
            }))
            .append_element_content_handler(element!("img[src]", move |el| {
                o4.borrow_mut().img_srcs.push(el.get_attribute("src").unwrap_or_default());
                Ok(())
            }))
            // A browser without JavaScript renders <noscript> content as markup.
            .append_element_content_handler(text!("noscript", move |t| {
                noscript.borrow_mut().push_str(t.as_str());
                if t.last_in_text_node() {
                    let inner = live(&std::mem::take(&mut *noscript.borrow_mut()));
                    let mut o = o5.borrow_mut();
                    o.img_srcs.extend(inner.img_srcs);
                    o.frame_srcs.extend(inner.frame_srcs);
                }
                Ok(())
            })),
        |_: &[u8]| {},
    );
    rw.write(html.as_bytes()).expect("parse");
    rw.end().expect("parse");
    std::mem::take(&mut *out.borrow_mut())
}

/// A valid consent cookie for `policy` granting `granted`.
pub fn consent_cookie(policy: &Policy, granted: &[&str]) -> String {
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

/// The value of the first cookie a `Set-Cookie` header sets.
pub fn set_cookie_value(reply: &Reply) -> String {
    let set = reply.header("set-cookie").unwrap_or_else(|| panic!("no Set-Cookie in {}", reply.text()));
    set.split(';').next().and_then(|kv| kv.split_once('=')).map(|(_, v)| v.to_owned()).unwrap_or_default()
}

/// A page with its per-response gate token (a random value in the
/// `consentry-gate` meta, `data-consentry-gated` and `data-consentry-root`)
/// written as `TOKEN`, so two responses can be compared.
pub fn without_gate_token(html: &str) -> String {
    let mut out = html.to_owned();
    for prefix in ["name=\"consentry-gate\" content=\"", "data-consentry-gated=\"", "data-consentry-root=\""]
    {
        let mut from = 0;
        while let Some(i) = out[from..].find(prefix).map(|i| i + from + prefix.len()) {
            let end = out[i..].find('"').map_or(out.len(), |e| i + e);
            out.replace_range(i..end, "TOKEN");
            from = i + "TOKEN".len();
        }
    }
    out
}
