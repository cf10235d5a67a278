//! Consentry's own routes under the prefix, and `/.well-known/gpc.json`.
//!
//! | route | method | what |
//! |---|---|---|
//! | `{prefix}policy.json` | GET, HEAD | the policy as the banner reads it |
//! | `{prefix}consent` | POST | records a choice: sets the cookie, stores a receipt |
//! | `{prefix}receipt/{id}` | GET | the visitor's own receipt (id must match their cookie) |
//! | `{prefix}health` | GET, HEAD | `{"status": "ok", "receipts_waiting": n}` (n: receipts in an outbox, or null) |
//! | `{prefix}{hash}/{file}` | GET, HEAD | banner assets, immutable |
//! | `{prefix}{file}` | GET, HEAD | banner assets, revalidated |
//! | `/.well-known/gpc.json` | GET, HEAD | when the policy honours GPC |

use std::sync::Arc;

use bytes::Bytes;
use consentry_core::{ChoiceMethod, Consent, ConsentId, Receipt, SignalHandling};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use serde::Deserialize;

use crate::config::Config;
use crate::headers;
use crate::{BoxError, now};

/// A response produced by one of Consentry's own routes.
pub(crate) type RouteFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Response<bytes::Bytes>> + Send>>;

/// What a consent answer's `receipt_error` says when the choice was kept
/// (cookie set) but its receipt could not be stored.
pub const RECEIPT_STORE_UNAVAILABLE: &str = "store_unavailable";

/// Largest consent request body accepted.
pub const MAX_CONSENT_BODY: usize = 8 * 1024;

#[derive(Debug)]
pub(crate) enum Route {
    Policy,
    Consent,
    Receipt(String),
    Asset { name: String, immutable: bool },
    Gpc,
    Health,
    NotFound,
    MethodNotAllowed(&'static str),
}

/// Which route, if any, a request is for.
pub(crate) fn route(config: &Config, path: &str, method: &Method) -> Option<Route> {
    let read = method == Method::GET || method == Method::HEAD;
    if path == "/.well-known/gpc.json" {
        if config.policy.signals().gpc != SignalHandling::Honour {
            return None;
        }
        return Some(if read { Route::Gpc } else { Route::MethodNotAllowed("GET, HEAD") });
    }
    let rest = path.strip_prefix(config.prefix.as_str())?;
    let r = match rest {
        "consent" => {
            if method == Method::POST {
                Route::Consent
            } else {
                Route::MethodNotAllowed("POST")
            }
        }
        "policy.json" => Route::Policy,
        "health" => Route::Health,
        _ => match rest.split_once('/') {
            Some(("receipt", id)) => Route::Receipt(id.to_owned()),
            Some((hash, name)) if hash == config.assets.hash() && config.assets.file(name).is_some() => {
                Route::Asset { name: name.to_owned(), immutable: true }
            }
            None if config.assets.file(rest).is_some() => {
                Route::Asset { name: rest.to_owned(), immutable: false }
            }
            _ => Route::NotFound,
        },
    };
    match r {
        Route::Policy | Route::Asset { .. } | Route::Receipt(_) | Route::Health if !read => {
            Some(Route::MethodNotAllowed("GET, HEAD"))
        }
        r => Some(r),
    }
}

fn response(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Bytes> {
    let mut res = Response::new(body.into());
    *res.status_mut() = status;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Bytes> {
    let mut res = response(status, "application/json", value.to_string());
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response<Bytes> {
    json(status, &serde_json::json!({ "error": message.to_string() }))
}

/// Serves a route.
pub(crate) fn serve<B>(config: Arc<Config>, route: Route, req: Request<B>) -> RouteFuture
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let head = req.method() == Method::HEAD;
    Box::pin(async move {
        let mut res = match route {
            Route::Policy => {
                let mut r = response(StatusCode::OK, "application/json", config.policy_json.clone());
                r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", &config.policy_hash[..16])) {
                    r.headers_mut().insert(header::ETAG, v);
                }
                r
            }
            Route::Asset { name, immutable } => match config.assets.file(&name) {
                Some((bytes, content_type)) => {
                    let mut r = response(StatusCode::OK, content_type, bytes.clone());
                    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
                    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
                    r.headers_mut().insert("x-content-type-options", HeaderValue::from_static("nosniff"));
                    r
                }
                None => error(StatusCode::NOT_FOUND, "no such asset"),
            },
            Route::Health => json(
                StatusCode::OK,
                &serde_json::json!({ "status": "ok", "receipts_waiting": config.receipts.waiting() }),
            ),
            Route::Gpc => {
                let mut r = json(
                    StatusCode::OK,
                    &serde_json::json!({ "gpc": true, "lastUpdate": config.gpc_last_update }),
                );
                r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=86400"));
                r
            }
            Route::NotFound => error(StatusCode::NOT_FOUND, "no such Consentry route"),
            Route::MethodNotAllowed(allow) => {
                let mut r = error(StatusCode::METHOD_NOT_ALLOWED, format!("method not allowed; use {allow}"));
                r.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
                r
            }
            Route::Receipt(id) => receipt(&config, &id, req.headers()).await,
            Route::Consent => consent(&config, req).await,
        };
        if head {
            *res.body_mut() = Bytes::new();
        }
        res
    })
}

async fn receipt(config: &Config, id: &str, headers: &http::HeaderMap) -> Response<Bytes> {
    // Only the visitor holding the cookie with this id may read it.
    let own = headers::consent(headers, &config.policy).is_some_and(|c| c.id().as_str() == id);
    if !own || ConsentId::parse(id).is_none() {
        return error(StatusCode::NOT_FOUND, "no receipt with this id for this visitor");
    }
    match config.receipts.get(id).await {
        Ok(Some(r)) => {
            let mut res = json(StatusCode::OK, &serde_json::to_value(&r).unwrap_or_default());
            res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, private"));
            res
        }
        Ok(None) => error(StatusCode::NOT_FOUND, "no receipt with this id for this visitor"),
        Err(e) => {
            // The store's own words (a database message) stay in the log.
            tracing::warn!(error = %e, "receipt lookup failed");
            error(StatusCode::SERVICE_UNAVAILABLE, "the receipt store is unavailable; try again later")
        }
    }
}

/// What the visitor chose.
enum Granted {
    All,
    /// "Do Not Sell or Share": what the visitor has now, less sale/sharing.
    OptOut,
    List(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonChoice {
    granted: JsonGranted,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum JsonGranted {
    Keyword(String),
    List(Vec<String>),
}

struct Choice {
    granted: Granted,
    return_to: Option<String>,
}

fn parse_json(body: &[u8]) -> Result<Choice, String> {
    let c: JsonChoice = serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?;
    let granted = match c.granted {
        JsonGranted::Keyword(k) if k == "all" => Granted::All,
        JsonGranted::Keyword(k) if k == "none" => Granted::List(Vec::new()),
        JsonGranted::Keyword(k) if k == "opt-out" => Granted::OptOut,
        JsonGranted::Keyword(k) => {
            return Err(format!(
                "`granted` must be a list of category and service ids, \"all\", \"none\" or \"opt-out\", not {k:?}"
            ));
        }
        JsonGranted::List(l) => Granted::List(l),
    };
    Ok(Choice { granted, return_to: None })
}

fn parse_form(body: &[u8]) -> Result<Choice, String> {
    let mut list = Vec::new();
    let (mut all, mut opt_out) = (false, false);
    let mut return_to = None;
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let mut kv = pair.splitn(2, |&b| b == b'=');
        let k = percent_decode(kv.next().unwrap_or_default())?;
        let v = percent_decode(kv.next().unwrap_or_default())?;
        match k.as_str() {
            "granted" => match v.as_str() {
                "all" => all = true,
                "opt-out" => opt_out = true,
                "none" => {}
                id => list.push(id.to_owned()),
            },
            "return_to" => return_to = Some(v),
            other => return Err(format!("unknown form field `{other}`")),
        }
    }
    let granted = if opt_out {
        Granted::OptOut
    } else if all {
        Granted::All
    } else {
        Granted::List(list)
    };
    Ok(Choice { granted, return_to })
}

fn percent_decode(s: &[u8]) -> Result<String, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok()).ok_or("bad percent-encoding")?;
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "form field is not UTF-8".to_owned())
}

/// A same-site path to go back to after a form submission; anything else
/// (another host, a scheme, `//evil`, `/\\evil`, which browsers read as
/// `//evil`) becomes `/`. The one return-path rule: anything of the site's
/// that redirects to a path the client gave should use it.
pub fn safe_return(path: Option<&str>) -> &str {
    match path {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.bytes().any(|b| b.is_ascii_control()) =>
        {
            p
        }
        _ => "/",
    }
}

/// Cross-site requests may not set a visitor's consent: a page elsewhere
/// could otherwise submit "accept all" on their behalf.
///
/// The `Origin` is compared with the request's authority: the `Host` header
/// in HTTP/1.1, the URI's authority (`:authority`) in HTTP/2 and HTTP/3,
/// which have no `Host` line. Default ports are the same as none.
fn cross_site(uri: &http::Uri, headers: &http::HeaderMap) -> bool {
    if headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site")) {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if origin == "null" {
        return true;
    }
    let (scheme, origin_host) = origin.split_once("://").unwrap_or(("", origin));
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(http::uri::Authority::as_str))
        .unwrap_or_default();
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => "",
    };
    let bare = |h: &'_ str| -> String {
        let h = h.trim().to_ascii_lowercase();
        match h.strip_suffix(default_port) {
            Some(b) if !default_port.is_empty() => b.to_owned(),
            _ => h,
        }
    };
    bare(origin_host) != bare(host)
}

async fn consent<B>(config: &Config, req: Request<B>) -> Response<Bytes>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let (parts, body) = req.into_parts();
    if cross_site(&parts.uri, &parts.headers) {
        return error(StatusCode::FORBIDDEN, "cross-site consent requests are refused");
    }
    let client = crate::ClientAddr::of(&parts.extensions);
    if let (Some(limit), None) = (&config.consent_limit, client) {
        limit.no_client_address();
    }
    if let (Some(limit), Some(client)) = (&config.consent_limit, client) {
        if let Err(wait) = limit.check(client) {
            tracing::debug!(%client, "consent POST over the rate limit");
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "too many consent requests from this address; try later",
            );
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return r;
        }
    }
    if parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|n| n > MAX_CONSENT_BODY)
    {
        return error(StatusCode::PAYLOAD_TOO_LARGE, format!("body larger than {MAX_CONSENT_BODY} bytes"));
    }
    let bytes = match Limited::new(body, MAX_CONSENT_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body larger than {MAX_CONSENT_BODY} bytes"),
            );
        }
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("could not read the body: {e}")),
    };
    let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let (choice, form) = match essence.as_str() {
        "application/json" => (parse_json(&bytes), false),
        "application/x-www-form-urlencoded" => (parse_form(&bytes), true),
        _ => {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send application/json ({\"granted\": [...]}) or a form (granted=...)",
            );
        }
    };
    let choice = match choice {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };

    let policy = &config.policy;
    // The consent model where the visitor is: the cookie records it (a
    // choice made under opt-out is not consent where opt-in applies).
    let now_decided = config.decide(&parts.headers, &parts.extensions);
    let model = now_decided.model();
    let optional: Vec<&str> =
        policy.categories().iter().filter(|c| !c.required).map(|c| c.id.as_str()).collect();
    let opt_out = matches!(choice.granted, Granted::OptOut);
    // The choice in its normal form (core's `Policy::choice`): optional
    // categories granted whole, then services granted on their own.
    let granted_optional: Vec<String> = match choice.granted {
        Granted::All => optional.iter().map(|s| (*s).to_owned()).collect(),
        Granted::OptOut => now_decided.opt_out_choice(policy).into_iter().map(str::to_owned).collect(),
        Granted::List(list) => {
            if list.len() > consentry_core::MAX_CATEGORIES + consentry_core::MAX_SERVICES {
                return error(StatusCode::BAD_REQUEST, "too many ids");
            }
            if let Err(unknown) = policy.check_choice(list.iter().map(String::as_str)) {
                return error(StatusCode::BAD_REQUEST, unknown.to_string());
            }
            policy.choice(list.iter().map(String::as_str)).into_iter().map(str::to_owned).collect()
        }
    };

    let signals = headers::signals(&parts.headers);
    let previous = headers::consent(&parts.headers, policy).filter(|c| c.revision() == policy.revision());
    // Still granted: listed, or a service whose category is now granted whole.
    let covered = |g: &String| {
        granted_optional.contains(g)
            || policy.service(g).is_some_and(|s| granted_optional.contains(&s.category))
    };
    let withdrew = previous.as_ref().is_some_and(|p| {
        p.granted()
            .iter()
            .any(|g| (optional.contains(&g.as_str()) || policy.service(g).is_some()) && !covered(g))
    });
    // The receipt: required and granted categories, then services granted
    // on their own (a category in `denied` may so have services granted).
    let granted_all: Vec<String> = policy
        .categories()
        .iter()
        .filter(|c| c.required || granted_optional.contains(&c.id))
        .map(|c| c.id.clone())
        .chain(granted_optional.iter().filter(|g| policy.service(g).is_some()).cloned())
        .collect();
    // The same choice again under a consent this server recorded (a
    // resubmitted form, a replayed request): its receipt stands, so nothing
    // new is stored and the visitor keeps that consent. Only an id whose
    // receipt is in the store counts: an id the client made up (the banner
    // writes its cookie before it posts) never takes a stored receipt's place.
    let mut repeated = None;
    if let Some(p) = previous.as_ref().filter(|_| config.receipts.keeps_receipts()) {
        if let Ok(Some(r)) = config.receipts.get(p.id().as_str()).await {
            if r.granted == granted_all && r.revision == policy.revision() {
                repeated = Some(p.clone());
            }
        }
    }
    let id = match &repeated {
        Some(p) => p.id().clone(),
        None => {
            let mut random = [0u8; 16];
            if getrandom::fill(&mut random).is_err() {
                return error(StatusCode::SERVICE_UNAVAILABLE, "no randomness available for the consent id");
            }
            ConsentId::from_random(random)
        }
    };
    // A repeated choice keeps the moment it was made.
    let at = repeated.as_ref().map_or_else(now, Consent::given_at);
    let cookie =
        Consent::new(policy.revision(), at, granted_optional.iter().cloned(), id.clone()).under(model);
    let secure = config.secure_cookie(&parts.uri, &parts.headers);

    let denied: Vec<String> =
        policy.categories().iter().filter(|c| !granted_all.contains(&c.id)).map(|c| c.id.clone()).collect();
    let whole = granted_optional.iter().filter(|g| optional.contains(&g.as_str())).count();
    let method = if opt_out {
        ChoiceMethod::OptOut
    } else {
        ChoiceMethod::classify(whole, granted_optional.len() - whole, optional.len(), withdrew)
    };
    let receipt = Receipt {
        id: id.to_string(),
        at,
        revision: policy.revision(),
        policy_hash: config.policy_hash.clone(),
        granted: granted_all.clone(),
        denied: denied.clone(),
        signals: signals.into(),
        method,
    };
    let (stored, store_failed) = if repeated.is_some() {
        (true, false)
    } else if config.receipts.keeps_receipts() {
        match config.receipts.store(receipt).await {
            Ok(()) => (true, false),
            Err(e) => {
                // The store's own words (a database message, a path) stay in
                // the log; the client learns only that the proof is missing.
                tracing::warn!(error = %e, "consent receipt not stored; the cookie is set anyway");
                (false, true)
            }
        }
    } else {
        (false, false)
    };

    // The form (no-JavaScript) path says nothing of a receipt that could not
    // be stored: the visitor's choice is in force either way (the cookie),
    // keeping proof is the site's duty, and a message would only worry them.
    // The site learns it from its log (and an `OutboxStore` loses none).
    let mut res = if form {
        let mut r = response(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "choice saved");
        let to = safe_return(choice.return_to.as_deref());
        if let Ok(v) = HeaderValue::from_str(to) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    } else {
        let mut body = serde_json::json!({
            "id": id.as_str(),
            "receipt": stored,
            "granted": granted_all,
            "denied": denied,
            "method": method.as_str(),
            "model": model.as_str(),
        });
        if store_failed {
            body["receipt_error"] = serde_json::Value::String(RECEIPT_STORE_UNAVAILABLE.to_owned());
        }
        json(StatusCode::OK, &body)
    };
    if let Some(v) = headers::set_cookie(policy, &cookie.encode(), secure) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_never_leave_the_site() {
        assert_eq!(safe_return(Some("/redis/?x=1")), "/redis/?x=1");
        for bad in ["//evil.example/", "https://evil.example/", "/\\evil", "javascript:alert(1)", ""] {
            assert_eq!(safe_return(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_return(None), "/");
    }

    #[test]
    fn forms_decode_granted_and_return_to() {
        let c = parse_form(b"granted=analytics&granted=third-party&return_to=%2Fredis%2F").unwrap();
        assert!(matches!(c.granted, Granted::List(ref l) if l == &["analytics", "third-party"]));
        assert_eq!(c.return_to.as_deref(), Some("/redis/"));
        assert!(matches!(parse_form(b"granted=all").map(|c| c.granted), Ok(Granted::All)));
        assert!(parse_form(b"granted=%zz").is_err());
        assert!(parse_form(b"evil=1").is_err());
    }

    #[test]
    fn cross_site_origins_are_recognised() {
        let path: http::Uri = "/consentry/consent".parse().unwrap();
        let mut h = http::HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(!cross_site(&path, &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(!cross_site(&path, &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(cross_site(&path, &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(cross_site(&path, &h));
    }

    #[test]
    fn http2_requests_are_compared_with_their_authority() {
        // HTTP/2 has no Host line: the authority is in the URI.
        let uri: http::Uri = "https://shop.example/consentry/consent".parse().unwrap();
        let mut h = http::HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_static("https://shop.example"));
        assert!(!cross_site(&uri, &h));
        let with_port: http::Uri = "https://shop.example:443/consentry/consent".parse().unwrap();
        assert!(!cross_site(&with_port, &h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(cross_site(&uri, &h));
        // No authority anywhere: an Origin cannot match.
        let path: http::Uri = "/consentry/consent".parse().unwrap();
        assert!(cross_site(&path, &h));
    }
}
