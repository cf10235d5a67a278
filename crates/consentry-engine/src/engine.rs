//! [`Engine`], its builder, and one request/response [`Exchange`]: the whole
//! of what a host adapter calls.

use std::sync::Arc;

use bytes::Bytes;
use consentry_core::{Decision, Policy};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};

use crate::assets::Assets;
use crate::config::{Config, SecureCookie, Settings, UnreadableHtml};
use crate::headers::{self, Rewritable};
use crate::pipeline::{Coding, MakeRewriter, Pipeline};
use crate::receipts::ReceiptStore;
use crate::region::{RegionHeaders, RegionLookup};
use crate::rewrite::{Page, Rewriter};
use crate::routes::{self, RouteFuture};
use crate::stream::BodyRewrite;
use crate::{BoxError, CspNonce};

/// How an [`Engine`] is configured; [`EngineBuilder::build`] makes it ready
/// for requests. Every setting has the default named on its method.
#[derive(Clone)]
pub struct EngineBuilder {
    settings: Settings,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("prefix", &self.settings.prefix)
            .field("revision", &self.settings.policy.revision())
            .field("inject_services", &self.settings.inject_services)
            .field("server_banner", &self.settings.server_banner)
            .finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// Settings for `policy`, every other one at its default.
    pub fn new(policy: Policy) -> Self {
        Self { settings: Settings::new(policy) }
    }

    /// The policy as given (before its consent endpoint is set from the prefix).
    pub fn policy(&self) -> &Policy {
        &self.settings.policy
    }

    /// Path prefix of Consentry's routes. Default `/consentry/`.
    pub fn prefix(mut self, prefix: impl AsRef<str>) -> Self {
        let p = prefix.as_ref().trim_matches('/');
        self.settings.prefix = if p.is_empty() { "/".to_owned() } else { format!("/{p}/") };
        self
    }

    /// Where consent receipts are kept. Default: not kept
    /// ([`NoReceipts`](crate::NoReceipts)).
    pub fn receipts(mut self, store: impl ReceiptStore) -> Self {
        self.settings.receipts = Arc::new(store);
        self
    }

    /// Where the banner's assets come from. Default: built in, served under
    /// the prefix.
    pub fn assets(mut self, assets: Assets) -> Self {
        self.settings.assets = assets;
        self
    }

    /// Whether the policy's services are injected into `<head>`. Default on.
    pub fn inject_services(mut self, inject: bool) -> Self {
        self.settings.inject_services = inject;
        self
    }

    /// Whether the banner's markup is rendered into pages on the server.
    /// Default on.
    pub fn server_banner(mut self, render: bool) -> Self {
        self.settings.server_banner = render;
        self
    }

    /// The `lastUpdate` of `/.well-known/gpc.json`. Default: the day the
    /// engine was built.
    pub fn gpc_last_update(mut self, date: impl Into<String>) -> Self {
        self.settings.gpc_last_update = date.into();
        self
    }

    /// When the consent cookie is `Secure`. Default [`SecureCookie::Auto`].
    pub fn secure_cookie(mut self, secure: SecureCookie) -> Self {
        self.settings.secure = secure;
        self
    }

    /// What happens to a page that cannot be read. Default
    /// [`UnreadableHtml::Reject`].
    pub fn unreadable_html(mut self, what: UnreadableHtml) -> Self {
        self.settings.unreadable_html = what;
        self
    }

    /// The most bytes a compressed page may decode to. Default
    /// [`DEFAULT_MAX_DECODED_BODY`](crate::DEFAULT_MAX_DECODED_BODY).
    pub fn max_decoded_body(mut self, bytes: u64) -> Self {
        self.settings.max_decoded_body = bytes;
        self
    }

    /// Consent POSTs per client address and minute; 0 turns the limit off.
    /// Default [`DEFAULT_CONSENT_PER_MINUTE`](crate::DEFAULT_CONSENT_PER_MINUTE).
    pub fn consent_rate_limit(mut self, per_minute: u32) -> Self {
        self.settings.consent_per_minute = per_minute;
        self
    }

    /// The visitor's region from headers a CDN or proxy sets.
    pub fn region_headers(mut self, headers: RegionHeaders) -> Self {
        self.settings.region = Some(RegionLookup::Headers(headers));
        self
    }

    /// The visitor's region from a MaxMind database, by client address.
    #[cfg(feature = "geoip")]
    pub fn region_geoip(mut self, db: crate::GeoIp) -> Self {
        self.settings.region = Some(RegionLookup::GeoIp(db));
        self
    }

    /// The engine, ready for requests: the policy's JSON, hash and rewriting
    /// plan are made once, here.
    pub fn build(self) -> Engine {
        Engine { config: Arc::new(Config::build(self.settings)) }
    }
}

/// The consent policy made ready for requests. Cheap to clone (one `Arc`);
/// one per site, shared by every connection.
#[derive(Clone)]
pub struct Engine {
    config: Arc<Config>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("prefix", &self.config.prefix).finish_non_exhaustive()
    }
}

/// A response of one of Consentry's own routes, being made.
pub type OwnRoute = RouteFuture;

/// One of Consentry's own routes, as [`Engine::route`] found it.
#[derive(Debug)]
pub struct Route(routes::Route);

impl Engine {
    /// An engine for `policy` with every setting at its default.
    pub fn new(policy: Policy) -> Self {
        EngineBuilder::new(policy).build()
    }

    /// Settings for `policy`, to change before [`EngineBuilder::build`].
    pub fn builder(policy: Policy) -> EngineBuilder {
        EngineBuilder::new(policy)
    }

    /// The policy in force (with its consent endpoint under the prefix).
    pub fn policy(&self) -> &Policy {
        &self.config.policy
    }

    /// The path prefix of Consentry's routes, with both slashes (`/consentry/`).
    pub fn prefix(&self) -> &str {
        &self.config.prefix
    }

    /// Which of Consentry's own routes `req` is for, if any; a request for
    /// none goes to the app through [`request`](Self::request).
    pub fn route<B>(&self, req: &Request<B>) -> Option<Route> {
        routes::route(&self.config, req.uri().path(), req.method()).map(Route)
    }

    /// Answers a request for one of Consentry's own routes. The body is read
    /// (up to [`MAX_CONSENT_BODY`](crate::MAX_CONSENT_BODY)) only by `POST
    /// consent`.
    pub fn serve<B>(&self, route: Route, req: Request<B>) -> OwnRoute
    where
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        routes::serve(Arc::clone(&self.config), route.0, req)
    }

    /// Decides for a request to the app: reads the consent cookie, `DNT`,
    /// `Sec-GPC` and the region once, puts the [`Decision`] in the request's
    /// extensions, and prepares a request for a page (no `Range`,
    /// `Accept-Encoding: identity`, revalidation against the decision). The
    /// returned exchange takes the app's response head.
    pub fn request<B>(&self, req: &mut Request<B>) -> Exchange {
        let decision = self.config.decide(req.headers(), req.extensions());
        let page_request = headers::is_page_request(req.headers());
        if page_request {
            headers::prepare_page_request(req.headers_mut());
            headers::revalidate_for(req.headers_mut(), &decision);
        }
        req.extensions_mut().insert(decision.clone());
        Exchange {
            config: Arc::clone(&self.config),
            decision,
            method: req.method().clone(),
            uri: req.uri().clone(),
            accept_language: req.headers().get(header::ACCEPT_LANGUAGE).cloned(),
            host: req.headers().get(header::HOST).cloned(),
            page_request,
        }
    }
}

/// One request to the app, decided, waiting for the app's response.
pub struct Exchange {
    config: Arc<Config>,
    decision: Decision,
    method: Method,
    uri: http::Uri,
    accept_language: Option<HeaderValue>,
    host: Option<HeaderValue>,
    page_request: bool,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("page_request", &self.page_request)
            .finish_non_exhaustive()
    }
}

/// What becomes of a response's body, as [`Exchange::response`] decided.
#[derive(Debug)]
pub enum BodyPlan {
    /// Sent on as it is, byte for byte.
    Keep,
    /// Dropped; this is sent instead (the head was changed to match).
    Replace(Bytes),
    /// Streamed through the rewrite.
    Rewrite(BodyRewrite),
}

impl Exchange {
    /// The decision made for the request.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// Sets the response's headers (`Tk` always; for a page `Vary`,
    /// `Cache-Control: private`, the `ETag` of this decision, a canonical
    /// `Content-Type`, no `Content-Length`/`Content-Encoding`) and says what
    /// to do with its body. A page that cannot be read is, by
    /// [`UnreadableHtml`], refused (a 502 head and body) or let through.
    pub fn response(self, head: &mut http::response::Parts) -> BodyPlan {
        headers::set_tk(&mut head.headers, &self.decision);
        let class = headers::rewritable(&self.method, head.status, &head.headers);
        if class == Rewritable::No {
            if head.status == StatusCode::NOT_MODIFIED && self.page_request {
                headers::merge_vary(&mut head.headers);
                headers::keep_out_of_shared_caches(&mut head.headers);
                headers::adjust_etag(&mut head.headers, &self.decision);
            }
            return BodyPlan::Keep;
        }
        let coding = match Coding::of(&head.headers) {
            Ok(_) if head.status == StatusCode::PARTIAL_CONTENT => {
                return unreadable(head, &self.config, "a partial (206) page cannot be checked as a whole");
            }
            Ok(coding) => coding,
            Err(reason) => return unreadable(head, &self.config, &reason),
        };
        let Exchange { config, decision, uri, accept_language, host, .. } = self;
        let return_to = uri.path_and_query().map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
        let nonce = head.extensions.get::<CspNonce>().map(|n| n.0.clone());
        headers::merge_vary(&mut head.headers);
        headers::keep_out_of_shared_caches(&mut head.headers);
        headers::adjust_etag(&mut head.headers, &decision);
        let plan = Arc::clone(&config.plan);
        let xml = matches!(class, Rewritable::Xhtml(_));
        let make: MakeRewriter = Box::new(move |encoding| {
            let page =
                Page { return_to, accept_language: accept_language.as_ref(), host: host.as_ref(), xml };
            Rewriter::new(&plan, decision, nonce, page, encoding)
        });
        let pipeline = match class {
            Rewritable::Page(label) | Rewritable::Xhtml(label) => {
                canonical_content_type(&mut head.headers, label, xml);
                Pipeline::page(coding, label, make)
            }
            _ => Pipeline::sniff(coding, make),
        };
        let pipeline = match pipeline {
            Ok(p) => p.max_decoded(config.max_decoded_body),
            Err(e) => return unreadable(head, &config, &format!("no decoder: {e}")),
        };
        for name in [header::CONTENT_LENGTH, header::CONTENT_ENCODING, header::ACCEPT_RANGES] {
            head.headers.remove(name);
        }
        BodyPlan::Rewrite(BodyRewrite::new(pipeline))
    }
}

/// A page goes out with one `Content-Type` a browser reads as the layer
/// did: UTF-8 when it was decoded from another encoding, the label spelled
/// out when the header was ambiguous.
fn canonical_content_type(headers: &mut http::HeaderMap, label: &'static encoding_rs::Encoding, xml: bool) {
    if !label.is_ascii_compatible() {
        let ty = if xml { "application/xhtml+xml; charset=utf-8" } else { "text/html; charset=utf-8" };
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
    } else if headers::content_type_is_ambiguous(headers) {
        let essence = if xml { "application/xhtml+xml" } else { "text/html" };
        if let Ok(v) = HeaderValue::from_str(&format!("{essence}; charset={}", label.name())) {
            headers.insert(header::CONTENT_TYPE, v);
        }
    }
}

/// A page the engine cannot read: refused with a 502 (only `Tk` kept from
/// the app's head), or let through, as configured.
fn unreadable(head: &mut http::response::Parts, config: &Config, reason: &str) -> BodyPlan {
    match config.unreadable_html {
        UnreadableHtml::PassThrough => {
            tracing::warn!(%reason, "page passed through ungated (UnreadableHtml::PassThrough)");
            BodyPlan::Keep
        }
        UnreadableHtml::Reject => {
            tracing::error!(%reason, "page refused with 502: it cannot be checked for trackers");
            let tk = head.headers.remove(headers::TK.clone());
            let (mut fresh, ()) = Response::new(()).into_parts();
            fresh.status = StatusCode::BAD_GATEWAY;
            fresh.version = head.version;
            fresh.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            fresh.headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Some(tk) = tk {
                fresh.headers.insert(headers::TK.clone(), tk);
            }
            *head = fresh;
            BodyPlan::Replace(Bytes::from(format!(
                "502 Bad Gateway: this page could not be checked for trackers before it is sent ({reason}).\n"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::new(
            Policy::from_json(
                r#"{"revision": 1,
                    "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
                    "services": [{"id": "ga4", "kind": "ga4", "category": "analytics",
                                  "config": {"measurement_id": "G-AB12CD34"}}]}"#,
            )
            .unwrap(),
        )
    }

    const PAGE: &str = "<!doctype html><html lang=\"en\"><head><title>t</title></head><body>\
        <script src=\"https://www.googletagmanager.com/gtag/js?id=G-AB12CD34\"></script><p>Hello</p></body></html>";

    /// The head of a page response to a first visit, and its plan.
    fn page_plan(engine: &Engine) -> (http::response::Parts, BodyPlan) {
        let mut req = Request::get("/").header("accept", "text/html").body(()).unwrap();
        assert!(engine.route(&req).is_none());
        let exchange = engine.request(&mut req);
        assert!(req.extensions().get::<Decision>().is_some(), "the decision is in the request's extensions");
        assert!(!exchange.decision().allows("analytics"));
        let (mut head, ()) =
            Response::builder().header("content-type", "text/html").body(()).unwrap().into_parts();
        let plan = exchange.response(&mut head);
        (head, plan)
    }

    /// Gives `chunks` to a fresh rewrite, draining after each one unless
    /// `drain` is false (then everything is given before anything is taken).
    fn rewritten(chunks: &[&[u8]], drain: bool) -> String {
        let (_, plan) = page_plan(&engine());
        let BodyPlan::Rewrite(mut rewrite) = plan else { panic!("a page is rewritten") };
        let mut out = Vec::new();
        for chunk in chunks {
            rewrite.give(Bytes::copy_from_slice(chunk));
            if drain {
                while let Some(piece) = rewrite.next_piece().unwrap() {
                    out.extend_from_slice(&piece);
                }
            }
        }
        while let Some(piece) = rewrite.next_piece().unwrap() {
            out.extend_from_slice(&piece);
        }
        out.extend_from_slice(&rewrite.end().unwrap());
        assert!(rewrite.is_drained());
        without_gate_token(&String::from_utf8(out).unwrap())
    }

    /// The page with its per-response gate token blanked (it is random).
    fn without_gate_token(page: &str) -> String {
        let token = page
            .split("name=\"consentry-gate\" content=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(token.len(), 32, "a gate token: {page}");
        page.replace(&token, "TOKEN")
    }

    #[test]
    fn a_page_rewrites_to_the_same_bytes_whichever_way_its_chunks_arrive() {
        let whole = rewritten(&[PAGE.as_bytes()], true);
        assert!(whole.contains("type=\"text/plain\""), "the refused tracker is inert: {whole}");
        assert!(whole.contains("id=\"consentry-banner\""), "the banner is rendered: {whole}");
        let bytes: Vec<&[u8]> = PAGE.as_bytes().chunks(7).collect();
        assert_eq!(rewritten(&bytes, true), whole, "cut in 7-byte chunks");
        assert_eq!(rewritten(&bytes, false), whole, "given before drained");
    }

    #[test]
    fn a_script_in_svg_is_judged_unseen_inert_before_consent() {
        let (_, plan) = page_plan(&engine());
        let BodyPlan::Rewrite(mut rewrite) = plan else { panic!("a page is rewritten") };
        rewrite.give(Bytes::from_static(
            b"<!doctype html><html><body><svg><script type=\"application/ecmascript\">gtag('config','G-AB12CD34')</script></svg></body></html>",
        ));
        let mut out = Vec::new();
        while let Some(piece) = rewrite.next_piece().unwrap() {
            out.extend_from_slice(&piece);
        }
        out.extend_from_slice(&rewrite.end().unwrap());
        let page = String::from_utf8(out).unwrap();
        assert!(
            page.contains("<script type=\"text/plain\" data-type=\"application/ecmascript\" data-consentry=\"unchecked\">gtag("),
            "{page}"
        );
    }

    #[test]
    fn a_page_response_is_made_private_and_its_length_dropped() {
        let (head, plan) = page_plan(&engine());
        assert!(matches!(plan, BodyPlan::Rewrite(_)));
        assert!(head.headers.get("tk").is_some());
        assert!(head.headers.get(header::VARY).unwrap().to_str().unwrap().contains("Cookie"));
        assert!(head.headers.get(header::CACHE_CONTROL).unwrap().to_str().unwrap().contains("private"));
        assert!(head.headers.get(header::CONTENT_LENGTH).is_none());
    }

    #[test]
    fn own_routes_are_served_here_and_other_paths_go_to_the_app() {
        let engine = engine();
        let req = Request::get("/consentry/policy.json").body(http_body_util::Empty::<Bytes>::new()).unwrap();
        let route = engine.route(&req).expect("policy.json is an own route");
        let res = block_on(engine.serve(route, req));
        assert_eq!(res.status(), StatusCode::OK);
        assert!(String::from_utf8_lossy(res.body()).contains("\"revision\""));
        assert!(engine.route(&Request::get("/consentryx").body(()).unwrap()).is_none());
    }

    #[test]
    fn an_unreadable_page_is_replaced_by_a_502_that_keeps_only_tk() {
        let engine = engine();
        let mut req = Request::get("/").body(()).unwrap();
        let exchange = engine.request(&mut req);
        let (mut head, ()) = Response::builder()
            .header("content-type", "text/html")
            .header("content-encoding", "compress")
            .header("x-app", "1")
            .body(())
            .unwrap()
            .into_parts();
        let BodyPlan::Replace(body) = exchange.response(&mut head) else { panic!("refused") };
        assert_eq!(head.status, StatusCode::BAD_GATEWAY);
        assert!(head.headers.get("x-app").is_none());
        assert!(head.headers.get("tk").is_some());
        assert!(String::from_utf8_lossy(&body).contains("could not be checked"));
    }

    /// Runs a future that never waits (an own route other than a receipt
    /// lookup) to completion on this thread.
    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("the route waited"),
        }
    }
}
