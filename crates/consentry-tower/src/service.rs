//! [`ConsentService`]: decides per request, serves Consentry's routes, and
//! wraps HTML responses for rewriting.

use std::task::{Context, Poll};

use consentry_engine::{BoxError, Engine};
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use crate::body::ConsentBody;
use crate::future::ResponseFuture;

/// Middleware that enforces the consent policy. Built by
/// [`ConsentLayer`](crate::ConsentLayer).
#[derive(Clone)]
pub struct ConsentService<S> {
    pub(crate) inner: S,
    pub(crate) engine: Engine,
}

impl<S> std::fmt::Debug for ConsentService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentService").field("prefix", &self.engine.prefix()).finish_non_exhaustive()
    }
}

impl<S> ConsentService<S> {
    /// Gets a reference to the inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Gets a mutable reference to the inner service.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes `self`, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ConsentService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body<Data = bytes::Bytes>,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<ConsentBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        #[cfg(feature = "axum")]
        client_addr_from_axum(&mut req);
        if let Some(route) = self.engine.route(&req) {
            return ResponseFuture::route(self.engine.serve(route, req));
        }
        let exchange = self.engine.request(&mut req);
        ResponseFuture::inner(self.inner.call(req), exchange)
    }
}

/// axum's `ConnectInfo<SocketAddr>` as the engine's
/// [`ClientAddr`](crate::ClientAddr), unless the server set one: the consent
/// endpoint's rate limit and GeoIP regions key on it.
#[cfg(feature = "axum")]
fn client_addr_from_axum<B>(req: &mut Request<B>) {
    use consentry_engine::ClientAddr;
    if req.extensions().get::<ClientAddr>().is_some() {
        return;
    }
    if let Some(info) = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        let ip = info.0.ip();
        req.extensions_mut().insert(ClientAddr(ip));
    }
}
