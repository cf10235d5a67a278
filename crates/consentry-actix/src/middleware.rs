//! [`Consent`]: the middleware factory actix-web's `wrap` takes, and the
//! service it makes per worker.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::{Error, HttpMessage, HttpResponse};
use bytes::{Bytes, BytesMut};
use consentry_core::Policy;
use consentry_engine::{BodyPlan, CspNonce, Engine, EngineBuilder, Exchange, MAX_CONSENT_BODY, Route};
use http_body_util::Full;

use crate::body::ConsentBody;
use crate::convert::{self, Unconvertible};

/// The consent middleware for actix-web: `App::new().wrap(Consent::new(policy))`.
///
/// The builder methods are the Tower layer's, with the same defaults; they
/// only record a setting. The policy, its JSON and the rewriting plan are
/// prepared once, when the middleware first wraps a service, and shared by
/// every clone — so build it outside `HttpServer::new`'s closure and clone
/// it in: every worker then shares one receipt store, one consent rate limit
/// and one prepared policy.
///
/// ```
/// use actix_web::{App, HttpResponse, web};
/// use consentry_actix::{Consent, RegionHeaders};
/// use consentry_core::Policy;
///
/// let policy = Policy::from_json(r#"{
///     "revision": 1,
///     "categories": [{ "id": "essential", "required": true }, { "id": "analytics" }]
/// }"#).expect("valid policy");
/// let consent = Consent::new(policy).region_headers(RegionHeaders::cloudflare());
/// let app = App::new()
///     .wrap(consent.clone())
///     .route("/", web::get().to(|| async {
///         HttpResponse::Ok().content_type("text/html").body("<!doctype html><html lang=\"en\"><body>Hi</body></html>")
///     }));
/// ```
#[derive(Clone)]
pub struct Consent {
    settings: EngineBuilder,
    engine: Arc<OnceLock<Engine>>,
}

impl std::fmt::Debug for Consent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consent").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Consent {
    /// The middleware for `policy` with the defaults: routes under
    /// `/consentry/`, configured services injected into `<head>`, the banner
    /// rendered on the server when the visitor must be asked, the built-in
    /// stylesheet only (no banner script until [`assets`](Self::assets) is
    /// given), receipts not stored.
    pub fn new(policy: Policy) -> Self {
        Self { settings: EngineBuilder::new(policy), engine: Arc::new(OnceLock::new()) }
    }

    /// Changes one setting (a configuration already prepared is dropped).
    fn set(mut self, f: impl FnOnce(EngineBuilder) -> EngineBuilder) -> Self {
        self.settings = f(self.settings);
        self.engine = Arc::new(OnceLock::new());
        self
    }

    /// The engine the middleware drives, prepared on first use.
    pub fn engine(&self) -> &Engine {
        self.engine.get_or_init(|| self.settings.clone().build())
    }

    /// The policy as the banner receives it (with its consent endpoint).
    pub fn policy(&self) -> &Policy {
        self.engine().policy()
    }

    consentry_engine::adapter_settings!();
}

/// The middleware with settings made on the engine's builder (shared with
/// another adapter, say); the builder methods above go on from them.
impl From<EngineBuilder> for Consent {
    fn from(settings: EngineBuilder) -> Self {
        Self { settings, engine: Arc::new(OnceLock::new()) }
    }
}

impl<S, B> Transform<S, ServiceRequest> for Consent
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<ConsentBody<B>>;
    type Error = Error;
    type Transform = ConsentMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ConsentMiddleware { service: Rc::new(service), engine: self.engine().clone() }))
    }
}

/// The service [`Consent`] wraps around an app's: decides per request,
/// answers Consentry's own routes, and rewrites pages as they stream.
pub struct ConsentMiddleware<S> {
    service: Rc<S>,
    engine: Engine,
}

impl<S> std::fmt::Debug for ConsentMiddleware<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentMiddleware").field("prefix", &self.engine.prefix()).finish_non_exhaustive()
    }
}

/// The response future of [`ConsentMiddleware`].
pub type ConsentFuture<B> = Pin<Box<dyn Future<Output = Result<ServiceResponse<ConsentBody<B>>, Error>>>>;

impl<S, B> Service<ServiceRequest> for ConsentMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<ConsentBody<B>>;
    type Error = Error;
    type Future = ConsentFuture<B>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let mut head = match convert::request_head(&req) {
            Ok(head) => head,
            Err(e) => return Box::pin(ready(Ok(bad_request(req, e)))),
        };
        if let Some(route) = self.engine.route(&head) {
            return Box::pin(own_route(self.engine.clone(), route, head, req));
        }
        let exchange = self.engine.request(&mut head);
        // The engine's changes to a page request (no `Range`, `identity`
        // encoding, revalidation against the decision) reach the app.
        match convert::headers_to_actix(head.headers()) {
            Ok(headers) => *req.headers_mut() = headers,
            Err(e) => return Box::pin(ready(Ok(bad_request(req, e)))),
        }
        req.extensions_mut().insert(exchange.decision().clone());
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            // A handler's error is already a response here (actix-web makes
            // it one, with its `ResponseError` page), so an error page is
            // gated like any other. An error from a middleware inside this
            // one passes on as it is: actix-web renders it after us.
            let res = service.call(req).await?;
            Ok(respond(res, exchange))
        })
    }
}

/// The app's response through the engine: headers set, body kept, replaced
/// or rewritten.
fn respond<B: MessageBody + 'static>(
    mut res: ServiceResponse<B>,
    exchange: Exchange,
) -> ServiceResponse<ConsentBody<B>> {
    let nonce = res.response().extensions().get::<CspNonce>().cloned();
    let mut parts = match convert::response_head(res.response().head(), nonce) {
        Ok(parts) => parts,
        Err(e) => return refuse(res, e),
    };
    let plan = exchange.response(&mut parts);
    if let Err(e) = convert::write_response_head(&parts, res.response_mut().head_mut()) {
        return refuse(res, e);
    }
    if matches!(plan, BodyPlan::Rewrite(_)) {
        // The app's `Content-Length` is gone with the rewrite; a response
        // built with one (`HttpResponse::streaming` with the header set)
        // must not go on ending by connection close: chunk it.
        res.response_mut().head_mut().no_chunking(false);
    }
    res.map_body(|_, body| match plan {
        BodyPlan::Keep => ConsentBody::passthrough(body),
        BodyPlan::Replace(bytes) => ConsentBody::full(bytes),
        BodyPlan::Rewrite(rewrite) => ConsentBody::rewrite(body, rewrite),
    })
}

/// One of Consentry's routes: the body read (capped) only for a POST, the
/// engine's answer turned into actix-web's response.
async fn own_route<B>(
    engine: Engine,
    route: Route,
    head: http::Request<()>,
    mut req: ServiceRequest,
) -> Result<ServiceResponse<ConsentBody<B>>, Error> {
    let body = if head.method() == http::Method::POST {
        match read_capped(req.take_payload(), MAX_CONSENT_BODY + 1).await {
            Ok(body) => body,
            Err(()) => {
                let res = HttpResponse::with_body(
                    StatusCode::BAD_REQUEST,
                    ConsentBody::full("the request body could not be read\n"),
                );
                return Ok(req.into_response(res));
            }
        }
    } else {
        Bytes::new()
    };
    let answer = engine.serve(route, head.map(|()| Full::new(body))).await;
    let (parts, body) = answer.into_parts();
    let status = StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = HttpResponse::with_body(status, ConsentBody::full(body));
    match convert::headers_to_actix(&parts.headers) {
        Ok(headers) => *res.headers_mut() = headers,
        Err(e) => {
            let res = HttpResponse::with_body(StatusCode::INTERNAL_SERVER_ERROR, ConsentBody::full(e.0));
            return Ok(req.into_response(res));
        }
    }
    Ok(req.into_response(res))
}

/// Reads a body up to `cap` bytes: enough for the engine to see that one is
/// too large, never more.
async fn read_capped(mut payload: Payload, cap: usize) -> Result<Bytes, ()> {
    let mut buf = BytesMut::new();
    while buf.len() < cap {
        let next =
            std::future::poll_fn(|cx| futures_core::Stream::poll_next(Pin::new(&mut payload), cx)).await;
        match next {
            Some(Ok(chunk)) => {
                let room = cap - buf.len();
                buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Some(Err(_)) => return Err(()),
            None => break,
        }
    }
    Ok(buf.freeze())
}

fn bad_request<B>(req: ServiceRequest, e: Unconvertible) -> ServiceResponse<ConsentBody<B>> {
    let res = HttpResponse::with_body(
        StatusCode::BAD_REQUEST,
        ConsentBody::full(format!("400 Bad Request: the request's {} cannot be read\n", e.0)),
    );
    req.into_response(res)
}

/// A response whose head cannot be handed to the engine is never sent
/// ungated: a 502 in its place.
fn refuse<B>(res: ServiceResponse<B>, e: Unconvertible) -> ServiceResponse<ConsentBody<B>> {
    let (req, _) = res.into_parts();
    let res = HttpResponse::with_body(
        StatusCode::BAD_GATEWAY,
        ConsentBody::full(format!("502 Bad Gateway: the response's {} cannot be checked\n", e.0)),
    );
    ServiceResponse::new(req, res)
}
