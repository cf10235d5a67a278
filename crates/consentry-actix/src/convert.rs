//! actix-web speaks http 0.2, the engine http 1: request and response heads
//! copied across, name for name and byte for byte.

use actix_web::HttpMessage;
use actix_web::dev::{ResponseHead, ServiceRequest};
use consentry_engine::{ClientAddr, CspNonce};

/// A header actix-web accepted that http 1 would not: cannot happen for
/// well-formed names and values, refused as a bad request if it does.
#[derive(Debug)]
pub(crate) struct Unconvertible(pub(crate) &'static str);

/// The engine's view of a request's head: method, URI, version, headers,
/// and the client's address (one a previous middleware set, else the peer's).
pub(crate) fn request_head(req: &ServiceRequest) -> Result<http::Request<()>, Unconvertible> {
    let method =
        http::Method::from_bytes(req.method().as_str().as_bytes()).map_err(|_| Unconvertible("method"))?;
    let uri: http::Uri = req.uri().to_string().parse().map_err(|_| Unconvertible("uri"))?;
    let mut head = http::Request::new(());
    *head.method_mut() = method;
    *head.uri_mut() = uri;
    *head.version_mut() = version_to_http(req.version());
    *head.headers_mut() = headers_to_http(req.headers())?;
    let addr = req.extensions().get::<ClientAddr>().copied();
    if let Some(addr) = addr.or_else(|| req.peer_addr().map(|a| ClientAddr(a.ip()))) {
        head.extensions_mut().insert(addr);
    }
    Ok(head)
}

/// The engine's view of a response's head (with the handler's [`CspNonce`]).
pub(crate) fn response_head(
    head: &ResponseHead,
    nonce: Option<CspNonce>,
) -> Result<http::response::Parts, Unconvertible> {
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = http::StatusCode::from_u16(head.status.as_u16()).map_err(|_| Unconvertible("status"))?;
    parts.version = version_to_http(head.version);
    parts.headers = headers_to_http(&head.headers)?;
    if let Some(nonce) = nonce {
        parts.extensions.insert(nonce);
    }
    Ok(parts)
}

/// Writes the engine's changes to a response head back into actix-web's.
pub(crate) fn write_response_head(
    parts: &http::response::Parts,
    head: &mut ResponseHead,
) -> Result<(), Unconvertible> {
    head.status =
        actix_web::http::StatusCode::from_u16(parts.status.as_u16()).map_err(|_| Unconvertible("status"))?;
    head.headers = headers_to_actix(&parts.headers)?;
    Ok(())
}

pub(crate) fn headers_to_http(
    from: &actix_web::http::header::HeaderMap,
) -> Result<http::HeaderMap, Unconvertible> {
    let mut to = http::HeaderMap::with_capacity(from.len());
    for (name, value) in from.iter() {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes())
            .map_err(|_| Unconvertible("header name"))?;
        let value =
            http::HeaderValue::from_bytes(value.as_bytes()).map_err(|_| Unconvertible("header value"))?;
        to.append(name, value);
    }
    Ok(to)
}

pub(crate) fn headers_to_actix(
    from: &http::HeaderMap,
) -> Result<actix_web::http::header::HeaderMap, Unconvertible> {
    use actix_web::http::header::{HeaderName, HeaderValue};
    let mut to = actix_web::http::header::HeaderMap::with_capacity(from.len());
    for (name, value) in from {
        let name =
            HeaderName::from_bytes(name.as_str().as_bytes()).map_err(|_| Unconvertible("header name"))?;
        let value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| Unconvertible("header value"))?;
        to.append(name, value);
    }
    Ok(to)
}

fn version_to_http(v: actix_web::http::Version) -> http::Version {
    use actix_web::http::Version as V;
    match v {
        V::HTTP_09 => http::Version::HTTP_09,
        V::HTTP_10 => http::Version::HTTP_10,
        V::HTTP_2 => http::Version::HTTP_2,
        V::HTTP_3 => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_cross_both_ways_with_repeats_and_opaque_bytes() {
        let mut actix = actix_web::http::header::HeaderMap::new();
        use actix_web::http::header::{HeaderName, HeaderValue};
        actix.append(HeaderName::from_static("cookie"), HeaderValue::from_static("a=1"));
        actix.append(HeaderName::from_static("cookie"), HeaderValue::from_static("b=2"));
        actix.append(HeaderName::from_static("x-raw"), HeaderValue::from_bytes(b"caf\xe9").unwrap());
        let http = headers_to_http(&actix).unwrap();
        let cookies: Vec<_> = http.get_all("cookie").iter().map(|v| v.to_str().unwrap()).collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(http.get("x-raw").unwrap().as_bytes(), b"caf\xe9");
        let back = headers_to_actix(&http).unwrap();
        assert_eq!(back.get_all("cookie").count(), 2);
        assert_eq!(back.get("x-raw").unwrap().as_bytes(), b"caf\xe9");
    }
}
