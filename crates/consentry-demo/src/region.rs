//! The demo's region picker: it stands in for Cloudflare.
//!
//! The demo's layers trust Cloudflare's `CF-IPCountry` and `CF-Region-Code`
//! headers, as a site behind Cloudflare would configure them. On this
//! machine there is no Cloudflare, so this middleware plays its part:
//! it drops any such header a visitor sent (Cloudflare overwrites them) and
//! sets them from the `demo_region` cookie the picker writes. Nothing like
//! it belongs in a real deployment.

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The places the picker offers: (code, label).
pub const PLACES: &[(&str, &str)] = &[
    ("", "Unknown (no header: the policy's default applies)"),
    ("FR", "France (EEA)"),
    ("DE-BY", "Bavaria, Germany (EEA)"),
    ("GB", "United Kingdom"),
    ("CH", "Switzerland"),
    ("US-CA", "California, United States"),
    ("US-TX", "Texas, United States"),
    ("US-WA", "Washington, United States (no opt-out law)"),
    ("JP", "Japan"),
    ("BR", "Brazil"),
];

const COOKIE: &str = "demo_region";

/// The simulated place of this request, from the picker's cookie.
pub fn chosen(headers: &HeaderMap) -> &'static str {
    chosen_from_cookies(headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()))
}

/// [`chosen`] from the request's `Cookie` header values, whatever the
/// server's header types.
pub fn chosen_from_cookies<'a>(cookies: impl Iterator<Item = &'a str>) -> &'static str {
    let value = cookies
        .flat_map(|h| h.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v);
    value.and_then(|v| PLACES.iter().find(|(code, _)| *code == v)).map_or("", |(code, _)| code)
}

/// Plays Cloudflare: the visitor's own `CF-*` headers out, the picker's in.
pub async fn simulate_cloudflare(mut req: Request) -> Request {
    let place = chosen(req.headers());
    let headers = req.headers_mut();
    headers.remove("cf-ipcountry");
    headers.remove("cf-region-code");
    for (name, value) in cloudflare_headers(place) {
        headers.insert(name, HeaderValue::from_static(value));
    }
    req
}

/// The `CF-IPCountry` and `CF-Region-Code` Cloudflare would send for `place`.
pub fn cloudflare_headers(place: &'static str) -> Vec<(&'static str, &'static str)> {
    if place.is_empty() {
        return Vec::new();
    }
    let (country, region) = place.split_once('-').unwrap_or((place, ""));
    let mut headers = vec![("cf-ipcountry", country)];
    if !region.is_empty() {
        headers.push(("cf-region-code", region));
    }
    headers
}

/// `POST /_demo/region` (`region=US-CA&return_to=/redis/`): remembers the
/// simulated place in a cookie and goes back.
pub async fn pick(body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    let field = |name: &str| {
        text.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.replace("%2F", "/"))
    };
    let Some(place) = field("region").and_then(|r| PLACES.iter().find(|(code, _)| *code == r)) else {
        return (StatusCode::BAD_REQUEST, "unknown region").into_response();
    };
    // The consent endpoint's return-path rule (`/\\evil.example` is
    // `//evil.example` to a browser).
    let back = consentry_tower::safe_return(field("return_to").as_deref()).to_owned();
    let cookie = if place.0.is_empty() {
        format!("{COOKIE}=; Path=/; Max-Age=0; SameSite=Lax")
    } else {
        format!("{COOKIE}={}; Path=/; SameSite=Lax", place.0)
    };
    let mut res = (StatusCode::SEE_OTHER, "region set").into_response();
    if let (Ok(c), Ok(l)) = (HeaderValue::from_str(&cookie), HeaderValue::from_str(&back)) {
        res.headers_mut().insert(header::SET_COOKIE, c);
        res.headers_mut().insert(header::LOCATION, l);
    }
    res
}

/// The picker, clearly labelled as a simulation.
pub fn picker(headers: &HeaderMap, return_to: &str) -> String {
    let current = chosen(headers);
    let options: String = PLACES
        .iter()
        .map(|(code, label)| {
            let selected = if *code == current { " selected" } else { "" };
            format!("<option value=\"{code}\"{selected}>{label}</option>")
        })
        .collect();
    format!(
        "<form class=\"region-picker\" method=\"post\" action=\"/_demo/region\">\
         <label for=\"demo-region\">Simulated visitor location (demo only)</label> \
         <select id=\"demo-region\" name=\"region\">{options}</select>\
         <input type=\"hidden\" name=\"return_to\" value=\"{return_to}\"> <button type=\"submit\">Set</button>\
         <p class=\"hint\">The demo trusts Cloudflare's <code>CF-IPCountry</code> and <code>CF-Region-Code</code> headers, \
         as a site behind Cloudflare would; here, with no Cloudflare, this picker sets them for your requests.</p></form>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_picker_goes_back_only_to_a_path_of_this_site() {
        let location = |body: &'static str| async move {
            let res = pick(Bytes::from_static(body.as_bytes())).await;
            res.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        assert_eq!(location("region=FR&return_to=%2Fredis%2F").await.as_deref(), Some("/redis/"));
        // `/\evil.example` is `//evil.example` to a browser.
        for evil in [
            "region=FR&return_to=/\\evil.example",
            "region=FR&return_to=//evil.example",
            "region=FR&return_to=https://evil.example",
        ] {
            assert_eq!(location(evil).await.as_deref(), Some("/"), "{evil}");
        }
    }
}
