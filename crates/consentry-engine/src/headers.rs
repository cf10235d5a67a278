//! Reading requests and writing response headers: signals, the consent
//! cookie, `Vary`, `Tk`, and which responses may be rewritten.

use consentry_core::{Consent, Decision, Policy, Signals, consent_from_headers};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use std::borrow::Cow;

/// `DNT` (Do Not Track).
pub static DNT: HeaderName = HeaderName::from_static("dnt");
/// `Sec-GPC` (Global Privacy Control).
pub static SEC_GPC: HeaderName = HeaderName::from_static("sec-gpc");
/// `Tk` (W3C Tracking Preference Expression).
pub static TK: HeaderName = HeaderName::from_static("tk");
/// `Sec-Fetch-Dest`: what a request will be used for.
static SEC_FETCH_DEST: HeaderName = HeaderName::from_static("sec-fetch-dest");
/// `X-Forwarded-Proto`: the scheme a proxy was reached over.
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The signals in a request's headers (every occurrence counts).
pub fn signals(headers: &HeaderMap) -> Signals {
    Signals::from_header_values(
        headers.get_all(&DNT).iter().map(HeaderValue::as_bytes),
        headers.get_all(&SEC_GPC).iter().map(HeaderValue::as_bytes),
    )
}

/// The consent in a request's `Cookie` headers, if any is valid.
pub fn consent(headers: &HeaderMap, policy: &Policy) -> Option<Consent> {
    consent_from_headers(
        headers.get_all(header::COOKIE).iter().map(HeaderValue::as_bytes),
        &policy.cookie().name,
    )
}

/// Whether the request reached us over https: an `https` URI, or a proxy's
/// `X-Forwarded-Proto: https` / `Forwarded: proto=https`.
pub fn is_https(uri: &http::Uri, headers: &HeaderMap) -> bool {
    if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
        return true;
    }
    let forwarded_proto = headers
        .get(&X_FORWARDED_PROTO)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https")));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split([';', ',']).any(|kv| kv.trim().eq_ignore_ascii_case("proto=https")));
    forwarded_proto || forwarded
}

/// The `Set-Cookie` value for a consent (built by consentry-core, the same
/// string the browser banner writes).
pub fn set_cookie(policy: &Policy, value: &str, secure: bool) -> Option<HeaderValue> {
    HeaderValue::from_str(&policy.cookie().set_cookie(value, secure)).ok()
}

/// What a response's head says about rewriting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewritable {
    /// A page: `text/html`, read in this charset (UTF-8 when none is
    /// given; a byte-order mark in the body still outranks it).
    Page(&'static encoding_rs::Encoding),
    /// An XHTML page (`application/xhtml+xml`), read in this charset: the
    /// same rewriting, with XML's self-closing tags made explicit first.
    Xhtml(&'static encoding_rs::Encoding),
    /// No `Content-Type` (or an "unknown" one) and no `nosniff`: a browser
    /// sniffs the body, and so does the layer.
    Sniff,
    /// Anything else: pass through untouched.
    No,
}

/// Which responses may carry a page that must be gated: `text/html`, and
/// typeless ones a browser would sniff; not `HEAD`, 1xx, 204 or 304.
pub fn rewritable(method: &Method, status: StatusCode, headers: &HeaderMap) -> Rewritable {
    if method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Rewritable::No;
    }
    let nosniff = || {
        headers
            .get_all(header::X_CONTENT_TYPE_OPTIONS)
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("nosniff"))))
    };
    // The type a browser reads (the last valid one of every line); none, or
    // an "unknown" one: a browser sniffs. One plain line (the usual case) is
    // read without allocating; anything else by the full algorithm.
    let simple = match (content_type_is_ambiguous(headers), headers.get(header::CONTENT_TYPE)) {
        (false, Some(v)) if !v.as_bytes().contains(&b'"') => Some(simple_mime_type(v.as_bytes())),
        (false, None) => Some(None),
        _ => None,
    };
    let (essence, charset) = match simple {
        Some(Some((essence, charset))) => (Cow::Borrowed(essence), charset.map(Cow::Borrowed)),
        Some(None) => return if nosniff() { Rewritable::No } else { Rewritable::Sniff },
        None => match browser_mime_type(headers) {
            Some(m) => (Cow::Owned(m.essence), m.charset.map(Cow::Owned)),
            None => return if nosniff() { Rewritable::No } else { Rewritable::Sniff },
        },
    };
    let is = |name: &str| essence.eq_ignore_ascii_case(name);
    if is("unknown/unknown") || is("application/unknown") || is("*/*") {
        return if nosniff() { Rewritable::No } else { Rewritable::Sniff };
    }
    let xhtml = is("application/xhtml+xml");
    if !xhtml && !is("text/html") {
        return Rewritable::No;
    }
    let encoding = charset
        .and_then(|label| encoding_rs::Encoding::for_label(label.trim().as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    if xhtml { Rewritable::Xhtml(encoding) } else { Rewritable::Page(encoding) }
}

/// One visible-ASCII `Content-Type` value without quotes or commas, read
/// as [`MimeType::parse`] reads it, borrowing: the essence (any case) and
/// the first non-empty `charset`. `None` where the parse fails.
fn simple_mime_type(value: &[u8]) -> Option<(&str, Option<&str>)> {
    let value = std::str::from_utf8(value).ok()?.trim_matches(is_http_space);
    let mut parts = value.split(';');
    let essence = parts.next()?.trim_end_matches(is_http_space);
    let (ty, subtype) = essence.split_once('/')?;
    let token = |t: &str| !t.is_empty() && t.chars().all(is_token);
    if !token(ty) || !token(subtype) {
        return None;
    }
    let charset = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        let v = v.trim_end_matches(is_http_space);
        (k.trim_start_matches(is_http_space).eq_ignore_ascii_case("charset") && !v.is_empty()).then_some(v)
    });
    Some((essence, charset))
}

/// The MIME type a browser takes from a response's `Content-Type` headers:
/// Fetch's "extract a MIME type" (every line, split at commas outside quoted
/// strings; the last value that parses wins, `*/*` skipped; a later value of
/// the same essence without a charset keeps the earlier one's charset).
/// Header bytes are read as Latin-1 (isomorphic decode), so a non-ASCII byte
/// in a parameter does not hide the type. `None`: no valid type.
pub fn browser_mime_type(headers: &HeaderMap) -> Option<MimeType> {
    let mut found: Option<MimeType> = None;
    let mut charset: Option<String> = None;
    for line in headers.get_all(header::CONTENT_TYPE) {
        let text: String = line.as_bytes().iter().map(|&b| char::from(b)).collect();
        for value in split_outside_quotes(&text) {
            let Some(mut mime) = MimeType::parse(value) else { continue };
            if mime.essence == "*/*" {
                continue;
            }
            let same = found.as_ref().is_some_and(|f| f.essence == mime.essence);
            if !same {
                charset = mime.charset.clone();
            } else if mime.charset.is_none() {
                mime.charset.clone_from(&charset);
            }
            found = Some(mime);
        }
    }
    found
}

/// Whether `Content-Type` is anything but one line of one visible-ASCII
/// value: clients differ on such headers, so a gated page is sent with one.
pub fn content_type_is_ambiguous(headers: &HeaderMap) -> bool {
    let mut lines = headers.get_all(header::CONTENT_TYPE).iter();
    match (lines.next(), lines.next()) {
        (Some(v), None) => {
            v.as_bytes().iter().any(|&b| !(b == b' ' || b == b'\t' || b.is_ascii_graphic()) || b == b',')
        }
        (None, _) => false,
        _ => true,
    }
}

/// A parsed MIME type: its essence (lower-case `type/subtype`) and its
/// `charset` parameter, if any (the other parameters matter to no rule here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimeType {
    /// `type/subtype`, ASCII lower-case.
    pub essence: String,
    /// The `charset` parameter as given (quotes removed).
    pub charset: Option<String>,
}

fn is_token(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn is_http_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Splits a header value at commas that are not inside a quoted string.
fn split_outside_quotes(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(text[start..i].trim_matches(is_http_space));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(text[start..].trim_matches(is_http_space));
    out
}

impl MimeType {
    /// The MIME Sniffing standard's "parse a MIME type", keeping only the
    /// `charset` parameter. `None` where the standard fails.
    pub fn parse(input: &str) -> Option<Self> {
        let input = input.trim_matches(is_http_space);
        let (ty, rest) = input.split_once('/')?;
        if ty.is_empty() || !ty.chars().all(is_token) {
            return None;
        }
        let (subtype, mut params) = rest.split_once(';').map_or((rest, ""), |(s, p)| (s, p));
        let subtype = subtype.trim_end_matches(is_http_space);
        if subtype.is_empty() || !subtype.chars().all(is_token) {
            return None;
        }
        let essence = format!("{ty}/{subtype}").to_ascii_lowercase();
        let mut charset = None;
        while !params.is_empty() {
            params = params.trim_start_matches(is_http_space);
            let name_end = params.find([';', '=']).unwrap_or(params.len());
            let name = params[..name_end].to_ascii_lowercase();
            params = &params[name_end..];
            if params.is_empty() {
                break;
            }
            if let Some(rest) = params.strip_prefix(';') {
                params = rest;
                continue;
            }
            params = &params[1..]; // the `=`
            let value;
            if let Some(quoted) = params.strip_prefix('"') {
                let (v, after) = quoted_string(quoted);
                value = v;
                params = after.find(';').map_or("", |i| &after[i + 1..]);
            } else {
                let end = params.find(';').unwrap_or(params.len());
                value = params[..end].trim_end_matches(is_http_space).to_owned();
                params = params.get(end + 1..).unwrap_or("");
                if value.is_empty() {
                    continue;
                }
            }
            let value_ok = value
                .chars()
                .all(|c| c == '\t' || (' '..='~').contains(&c) || ('\u{80}'..='\u{ff}').contains(&c));
            if name == "charset" && charset.is_none() && value_ok {
                charset = Some(value);
            }
        }
        Some(Self { essence, charset })
    }
}

/// A quoted string's value (escapes undone) and what follows its closing
/// quote (everything after the opening one is given).
fn quoted_string(s: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, &s[i + 1..]),
            '\\' => match chars.next() {
                Some((_, e)) => value.push(e),
                None => {
                    value.push('\\');
                    return (value, "");
                }
            },
            c => value.push(c),
        }
    }
    (value, "")
}

/// Whether a request is for a document (a navigation or a frame): its
/// response is the page the layer rewrites. `Sec-Fetch-Dest` says so in
/// current browsers; an `Accept` naming `text/html` in older ones.
pub fn is_page_request(headers: &HeaderMap) -> bool {
    match headers.get(&SEC_FETCH_DEST).and_then(|v| v.to_str().ok()) {
        Some(dest) => matches!(dest.trim(), "document" | "iframe" | "frame" | "embed" | "object"),
        None => headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| {
            v.split(',')
                .any(|t| t.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("text/html")))
        }),
    }
}

/// Readies a page request for the inner service: its response will be
/// decoded and rewritten here anyway, so it is asked for uncompressed (an
/// outer compression layer compresses the rewritten page) and whole (a
/// partial page could not be gated).
pub fn prepare_page_request(headers: &mut HeaderMap) {
    headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("identity"));
    headers.remove(header::RANGE);
    headers.remove(header::IF_RANGE);
}

/// The items of a comma-separated header, over all its lines, trimmed.
fn list(headers: &HeaderMap, name: header::HeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Adds `Cookie, DNT, Sec-GPC` to `Vary`, keeping what is there (and leaving
/// `Vary: *` alone).
pub fn merge_vary(headers: &mut HeaderMap) {
    let existing = list(headers, header::VARY);
    if existing.iter().any(|v| v == "*") {
        return;
    }
    let mut all = existing.clone();
    for wanted in ["Cookie", "DNT", "Sec-GPC"] {
        if !existing.iter().any(|e| e.eq_ignore_ascii_case(wanted)) {
            all.push(wanted.to_owned());
        }
    }
    if let Ok(v) = HeaderValue::from_str(&all.join(", ")) {
        headers.insert(header::VARY, v);
    }
}

/// A rewritten page is rendered for one visitor's decision: a shared cache
/// (a CDN, a proxy) must not hand it to another, and several ignore `Vary`.
/// `public` and `s-maxage` are dropped and `private` added; the browser's
/// own cache keeps the page under the rest (`max-age`, validators) and the
/// `Vary` above. `no-store` pages are left as they are.
///
/// Directives aimed at CDNs alone outrank `Cache-Control` there (RFC 9213's
/// `CDN-Cache-Control` and its vendor forms such as
/// `Cloudflare-CDN-Cache-Control`, Fastly's `Surrogate-Control`, Akamai's
/// `Edge-Control`): they are removed, so a CDN reads `private` too.
pub fn keep_out_of_shared_caches(headers: &mut HeaderMap) {
    let targeted: Vec<HeaderName> =
        headers.keys().filter(|name| is_cdn_cache_directive(name.as_str())).cloned().collect();
    for name in targeted {
        headers.remove(name);
    }
    let directives = list(headers, header::CACHE_CONTROL);
    let name = |d: &str| d.split('=').next().unwrap_or("").trim().to_ascii_lowercase();
    if directives.iter().any(|d| name(d) == "no-store") {
        return;
    }
    let mut kept: Vec<&str> = directives
        .iter()
        .filter(|d| !matches!(name(d).as_str(), "public" | "s-maxage" | "proxy-revalidate"))
        .map(String::as_str)
        .collect();
    if !directives.iter().any(|d| name(d) == "private") {
        kept.insert(0, "private");
    }
    if let Ok(v) = HeaderValue::from_str(&kept.join(", ")) {
        headers.insert(header::CACHE_CONTROL, v);
    }
}

/// A header that tells CDNs (not browsers) how to cache: `CDN-Cache-Control`
/// and every `<vendor>-CDN-Cache-Control` (RFC 9213 targeted fields),
/// `Surrogate-Control`, `Edge-Control`.
fn is_cdn_cache_directive(name: &str) -> bool {
    // Header names are lower-case in `http`.
    name.ends_with("cdn-cache-control") || name == "surrogate-control" || name == "edge-control"
}

/// Sets `Tk` from the decision.
pub fn set_tk(headers: &mut HeaderMap, decision: &Decision) {
    headers.insert(TK.clone(), HeaderValue::from_static(decision.tk().as_str()));
}

/// A rewritten page differs per decision: a strong validator of the original
/// would lie, so it becomes weak and carries the decision's fingerprint.
pub fn adjust_etag(headers: &mut HeaderMap, decision: &Decision) {
    let Some(etag) = headers.get(header::ETAG).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let opaque = etag.trim_start_matches("W/").trim_matches('"');
    match HeaderValue::from_str(&format!("W/\"{opaque}-{}\"", fingerprint(decision))) {
        Ok(v) => {
            headers.insert(header::ETAG, v);
        }
        Err(_) => {
            headers.remove(header::ETAG);
        }
    }
}

/// What a rewritten page's entity tag carries of the decision it was
/// rendered for.
fn fingerprint(decision: &Decision) -> String {
    let granted: Vec<&str> = decision.granted().collect();
    let mut text = format!("{}{}", u8::from(decision.needs_banner()), granted.join("+"));
    // The first layer differs by model (opt-in pages keep their old tags).
    if decision.model() != consentry_core::Model::OptIn {
        text.push_str(decision.model().as_str());
    }
    format!("c{:x}", fnv(text.as_bytes()))
}

/// A cached page was rendered for the decision of its day: it may be
/// revalidated (`304`) only while the decision is the same. Entity tags
/// carrying this decision's fingerprint go to the inner service as its own
/// tags; tags of another decision are dropped, so the page is sent again;
/// `If-Modified-Since` is dropped (a date cannot tell decisions apart).
pub fn revalidate_for(headers: &mut HeaderMap, decision: &Decision) {
    headers.remove(header::IF_MODIFIED_SINCE);
    let Some(tags) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else {
        return;
    };
    if tags.trim() == "*" {
        return;
    }
    let suffix = format!("-{}\"", fingerprint(decision));
    let kept: Vec<String> = tags
        .split(',')
        .filter_map(|t| t.trim().strip_suffix(&suffix).map(|opaque| format!("{opaque}\"")))
        .collect();
    match HeaderValue::from_str(&kept.join(", ")) {
        Ok(v) if !kept.is_empty() => {
            headers.insert(header::IF_NONE_MATCH, v);
        }
        _ => {
            headers.remove(header::IF_NONE_MATCH);
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap_or(header::ACCEPT),
                HeaderValue::from_static(v),
            );
        }
        h
    }

    #[test]
    fn html_and_typeless_responses_with_a_body_are_rewritten() {
        let get = Method::GET;
        let ok = StatusCode::OK;
        for (h, want) in [
            (headers(&[("content-type", "text/html; charset=utf-8")]), Rewritable::Page(encoding_rs::UTF_8)),
            (headers(&[("content-type", "TEXT/HTML")]), Rewritable::Page(encoding_rs::UTF_8)),
            (
                headers(&[("content-type", "text/html"), ("content-encoding", "gzip")]),
                Rewritable::Page(encoding_rs::UTF_8),
            ),
            (
                headers(&[("content-type", "text/html; charset=utf-16")]),
                Rewritable::Page(encoding_rs::UTF_16LE),
            ),
            (headers(&[]), Rewritable::Sniff),
            (headers(&[("content-type", "unknown/unknown")]), Rewritable::Sniff),
            (headers(&[("x-content-type-options", "nosniff")]), Rewritable::No),
            (headers(&[("content-type", "application/json")]), Rewritable::No),
            (headers(&[("content-type", "application/xhtml+xml")]), Rewritable::Xhtml(encoding_rs::UTF_8)),
            (headers(&[("content-type", "text/plain")]), Rewritable::No),
        ] {
            assert_eq!(rewritable(&get, ok, &h), want, "{h:?}");
        }
        let html = headers(&[("content-type", "text/html")]);
        assert_eq!(rewritable(&Method::HEAD, ok, &html), Rewritable::No);
        assert_eq!(rewritable(&get, StatusCode::NOT_MODIFIED, &html), Rewritable::No);
        assert_eq!(rewritable(&get, StatusCode::NO_CONTENT, &html), Rewritable::No);
    }

    #[test]
    fn content_type_is_read_as_a_browser_reads_it() {
        let get = Method::GET;
        let ok = StatusCode::OK;
        let page = Rewritable::Page(encoding_rs::UTF_8);
        // The last valid type wins, over lines and list items alike.
        for (h, want) in [
            (headers(&[("content-type", "application/json"), ("content-type", "text/html")]), page),
            (headers(&[("content-type", "application/json, text/html")]), page),
            (headers(&[("content-type", "text/html, */*")]), page),
            (headers(&[("content-type", "text/html, text/plain")]), Rewritable::No),
            (headers(&[("content-type", "text/html"), ("content-type", "bogus")]), page),
            (headers(&[("content-type", "text/html;charset=\"a,b\", application/json")]), Rewritable::No),
            (
                headers(&[
                    ("content-type", "text/html; charset=windows-1252"),
                    ("content-type", "text/html"),
                ]),
                Rewritable::Page(encoding_rs::WINDOWS_1252),
            ),
            (headers(&[("content-type", "bogus")]), Rewritable::Sniff),
            (headers(&[("content-type", "text /html")]), Rewritable::Sniff),
        ] {
            assert_eq!(rewritable(&get, ok, &h), want, "{h:?}");
        }
        // A non-ASCII byte in a parameter does not hide the type.
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_bytes(b"text/html; x=\xe9").unwrap());
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        assert_eq!(rewritable(&get, ok, &h), page);
        assert!(content_type_is_ambiguous(&h));
        assert!(!content_type_is_ambiguous(&headers(&[("content-type", "text/html; charset=utf-8")])));
    }

    #[test]
    fn mime_types_parse_as_the_standard_says() {
        let p = |s: &str| MimeType::parse(s).map(|m| (m.essence, m.charset));
        assert_eq!(p(" Text/HTML ; Charset=\"UTF-8\" "), Some(("text/html".into(), Some("UTF-8".into()))));
        assert_eq!(p("text/html;charset=;charset=latin1"), Some(("text/html".into(), Some("latin1".into()))));
        assert_eq!(p("text/html;charset=\"a\\\"b\""), Some(("text/html".into(), Some("a\"b".into()))));
        assert_eq!(p("text/html;charset"), Some(("text/html".into(), None)));
        for bad in ["", "text", "text/", "/html", "te xt/html", "text/ht\"ml"] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    #[test]
    fn cdn_only_cache_directives_are_removed_from_rewritten_pages() {
        let mut h = headers(&[
            ("cdn-cache-control", "max-age=3600"),
            ("cloudflare-cdn-cache-control", "max-age=3600"),
            ("vercel-cdn-cache-control", "max-age=3600"),
            ("surrogate-control", "max-age=3600"),
            ("edge-control", "cache-maxage=1h"),
            ("cache-control", "no-store"),
            ("x-cache", "HIT"),
        ]);
        keep_out_of_shared_caches(&mut h);
        let mut left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["cache-control", "x-cache"]);
    }

    #[test]
    fn page_requests_are_recognised_by_fetch_metadata_or_accept() {
        assert!(is_page_request(&headers(&[("sec-fetch-dest", "document")])));
        assert!(is_page_request(&headers(&[("sec-fetch-dest", "iframe"), ("accept", "*/*")])));
        assert!(!is_page_request(&headers(&[("sec-fetch-dest", "script"), ("accept", "text/html")])));
        assert!(is_page_request(&headers(&[("accept", "text/html,application/xhtml+xml;q=0.9")])));
        assert!(!is_page_request(&headers(&[("accept", "*/*")])));
    }

    #[test]
    fn latin1_pages_are_rewritten_in_their_own_encoding() {
        let h = headers(&[("content-type", "text/html; charset=\"ISO-8859-1\"")]);
        assert_eq!(rewritable(&Method::GET, StatusCode::OK, &h), Rewritable::Page(encoding_rs::WINDOWS_1252));
    }

    #[test]
    fn vary_is_merged_not_replaced() {
        let mut h = headers(&[("vary", "Accept-Encoding"), ("vary", "cookie")]);
        merge_vary(&mut h);
        assert_eq!(
            h.get(header::VARY).and_then(|v| v.to_str().ok()),
            Some("Accept-Encoding, cookie, DNT, Sec-GPC")
        );
        let mut star = headers(&[("vary", "*")]);
        merge_vary(&mut star);
        assert_eq!(star.get(header::VARY).and_then(|v| v.to_str().ok()), Some("*"));
    }

    #[test]
    fn rewritten_pages_stay_out_of_shared_caches() {
        let cc = |given: Option<&str>| {
            let mut h = HeaderMap::new();
            if let Some(g) = given {
                h.insert(header::CACHE_CONTROL, HeaderValue::from_str(g).unwrap());
            }
            keep_out_of_shared_caches(&mut h);
            h.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        assert_eq!(cc(None).as_deref(), Some("private"));
        assert_eq!(cc(Some("public, max-age=600, s-maxage=3600")).as_deref(), Some("private, max-age=600"));
        assert_eq!(
            cc(Some("max-age=0, must-revalidate")).as_deref(),
            Some("private, max-age=0, must-revalidate")
        );
        assert_eq!(cc(Some("private, max-age=60")).as_deref(), Some("private, max-age=60"));
        assert_eq!(cc(Some("no-store")).as_deref(), Some("no-store"));
    }

    #[test]
    fn https_is_recognised_behind_a_proxy() {
        let uri: http::Uri = "/x".parse().unwrap_or_default();
        assert!(!is_https(&uri, &headers(&[])));
        assert!(is_https(&uri, &headers(&[("x-forwarded-proto", "https")])));
        assert!(is_https(&uri, &headers(&[("forwarded", "for=1.2.3.4;proto=https")])));
        assert!(is_https(&"https://a.example/".parse().unwrap_or_default(), &headers(&[])));
    }
}
