//! Local stand-ins for the third-party trackers the seed sites use. Every
//! request is recorded, so a visitor (or a test) sees exactly which trackers
//! were contacted; nothing leaves the machine. The scripts behave like the
//! real ones where it matters here: they set their cookies.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One request to a tracker stub.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Seconds since the demo started.
    pub at_ms: u128,
    /// The site whose page caused it (from `Referer`), or "?".
    pub site: String,
    /// Path under `/_trackers/`.
    pub path: String,
}

/// Every tracker hit since start (or the last reset).
#[derive(Clone, Default)]
pub struct HitLog {
    hits: Arc<Mutex<Vec<Hit>>>,
    started: Arc<std::sync::OnceLock<std::time::Instant>>,
}

impl HitLog {
    pub fn record(&self, site: String, path: String) {
        let start = self.started.get_or_init(std::time::Instant::now);
        if let Ok(mut h) = self.hits.lock() {
            if h.len() < 100_000 {
                h.push(Hit { at_ms: start.elapsed().as_millis(), site, path });
            }
        }
    }

    pub fn for_site(&self, site: &str) -> Vec<Hit> {
        self.hits.lock().map(|h| h.iter().filter(|x| x.site == site).cloned().collect()).unwrap_or_default()
    }

    pub fn all(&self) -> Vec<Hit> {
        self.hits.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// Forgets the hits of `site`, or every hit when `site` is `None`.
    pub fn clear(&self, site: Option<&str>) {
        if let Ok(mut h) = self.hits.lock() {
            match site {
                Some(site) => h.retain(|x| x.site != site),
                None => h.clear(),
            }
        }
    }
}

fn site_of(headers: &HeaderMap, query_site: Option<&str>) -> String {
    if let Some(s) = query_site {
        return s.to_owned();
    }
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split("://").nth(1))
        .and_then(|r| r.split('/').nth(1))
        .filter(|s| !s.is_empty())
        .unwrap_or("?")
        .to_owned()
}

/// A script that sets the cookies the real tracker would, scoped to the page's path.
fn script(cookies: &[&str], extra: &str) -> String {
    let mut js = String::from(
        "(function(){var p=location.pathname.split('/')[1];var path='/'+(p?p+'/':'');var r=Math.random().toString(36).slice(2,10);",
    );
    for c in cookies {
        js.push_str(&format!("document.cookie='{c}='+r+'; path='+path+'; max-age=34190000; SameSite=Lax';"));
    }
    js.push_str(extra);
    js.push_str("})();");
    js
}

/// `/_trackers/{*path}`: records the hit and answers like the tracker.
pub async fn serve(
    State(log): State<HitLog>,
    Path(path): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let site = site_of(&headers, q.get("site").map(String::as_str));
    log.record(site, path.clone());
    let js = |body: String| {
        (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
            body,
        )
            .into_response()
    };
    let p = path.as_str();
    if p.starts_with("matomo/matomo.js") || p.starts_with("matomo/piwik.js") {
        // Matomo honours requireConsent: cookies only once consent was given.
        return js(script(&["_pk_id.1.1fff", "_pk_ses.1.1fff"], "window.Matomo={loaded:true};"));
    }
    if p.starts_with("matomo/matomo.php") {
        return ([(header::CONTENT_TYPE, "image/gif"), (header::CACHE_CONTROL, "no-store")], GIF.to_vec())
            .into_response();
    }
    if p.starts_with("gtag/js") {
        return js(script(&["_ga", "_ga_R3D1S0001"], "window.gtagLoaded=true;"));
    }
    if p.starts_with("gtm.js") {
        return js(script(&[], "window.gtmLoaded=true;"));
    }
    if p.starts_with("ads/") {
        return js(script(&["_gcl_au", "ad_uid"], "window.adsLoaded=true;"));
    }
    if p.starts_with("segment/") {
        return js(script(&["ajs_anonymous_id"], "window.segmentLoaded=true;"));
    }
    if p.starts_with("optimizely/") {
        return js(script(&["optimizelyEndUserId"], ""));
    }
    if p.starts_with("vwo/") {
        return js(script(&["_vwo_uuid"], ""));
    }
    if p.starts_with("drift/") {
        return js(script(&["drift_aid"], ""));
    }
    if p.starts_with("video/") {
        let html = "<!doctype html><html><head><title>Video</title></head><body style=\"margin:0;background:#111;color:#eee;font:16px sans-serif;display:grid;place-items:center;height:100vh\">\u{25b6} Demo video player</body></html>";
        return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    }
    (StatusCode::NOT_FOUND, "unknown tracker").into_response()
}

/// `GET /_inspector/hits[?site=slug]`: the hit log as JSON.
pub async fn hits(
    State(log): State<HitLog>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let hits = match q.get("site") {
        Some(s) => log.for_site(s),
        None => log.all(),
    };
    let list: Vec<_> =
        hits.iter().map(|h| json!({"site": h.site, "path": h.path, "at_ms": h.at_ms})).collect();
    ([(header::CACHE_CONTROL, "no-store")], axum::Json(json!({ "hits": list }))).into_response()
}

/// `POST /_inspector/reset[?site=…]`: forgets every hit, or one site's (so
/// tests of different sites can run side by side).
pub async fn reset(
    State(log): State<HitLog>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> StatusCode {
    log.clear(q.get("site").map(String::as_str));
    StatusCode::NO_CONTENT
}

/// A 1×1 transparent GIF.
const GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
    0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];
