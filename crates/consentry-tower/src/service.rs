//! [`ConsentService`]: decides per request, serves Consentry's routes, and
//! wraps HTML responses for rewriting.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use crate::BoxError;
use crate::body::ConsentBody;
use crate::config::Config;
use crate::future::{Ctx, ResponseFuture};
use crate::headers;
use crate::routes;

/// Middleware that enforces the consent policy. Built by
/// [`ConsentLayer`](crate::ConsentLayer).
#[derive(Clone)]
pub struct ConsentService<S> {
    pub(crate) inner: S,
    pub(crate) config: Arc<Config>,
}

impl<S> std::fmt::Debug for ConsentService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentService").field("prefix", &self.config.prefix).finish_non_exhaustive()
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
        if let Some(route) = routes::route(&self.config, req.uri().path(), req.method()) {
            return ResponseFuture::route(routes::serve(Arc::clone(&self.config), route, req));
        }
        let decision = self.config.decide(req.headers(), req.extensions());
        let page_request = headers::is_page_request(req.headers());
        if page_request {
            headers::prepare_page_request(req.headers_mut());
            headers::revalidate_for(req.headers_mut(), &decision);
        }
        req.extensions_mut().insert(decision.clone());
        let ctx = Ctx {
            config: Arc::clone(&self.config),
            decision,
            method: req.method().clone(),
            uri: req.uri().clone(),
            accept_language: req.headers().get(http::header::ACCEPT_LANGUAGE).cloned(),
            host: req.headers().get(http::header::HOST).cloned(),
            page_request,
        };
        ResponseFuture::inner(self.inner.call(req), ctx)
    }
}
