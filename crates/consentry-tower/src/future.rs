//! The response future of [`ConsentService`](crate::ConsentService).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use consentry_core::Decision;
use http::{Method, Response, header};
use http_body::Body;
use pin_project_lite::pin_project;

use crate::body::ConsentBody;
use crate::headers::{self, Rewritable};
use crate::layer::Config;
use crate::rewrite::Rewriter;
use crate::{BoxError, CspNonce};

/// A response produced by one of Consentry's own routes.
pub(crate) type RouteFuture = Pin<Box<dyn Future<Output = Response<bytes::Bytes>> + Send>>;

pin_project! {
    /// Response future of [`ConsentService`](crate::ConsentService).
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner {
            #[pin]
            future: F,
            ctx: Option<Ctx>,
        },
        Route { future: RouteFuture },
    }
}

pub(crate) struct Ctx {
    pub config: Arc<Config>,
    pub decision: Decision,
    pub method: Method,
    pub return_to: String,
    /// Chooses the banner's language, with `<html lang>` (a cheap clone).
    pub accept_language: Option<http::HeaderValue>,
}

impl<F> ResponseFuture<F> {
    pub(crate) fn inner(future: F, ctx: Ctx) -> Self {
        Self { kind: Kind::Inner { future, ctx: Some(ctx) } }
    }

    pub(crate) fn route(future: RouteFuture) -> Self {
        Self { kind: Kind::Route { future } }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body<Data = bytes::Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<ConsentBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Route { future } => {
                let (parts, body) = ready!(future.as_mut().poll(cx)).into_parts();
                Poll::Ready(Ok(Response::from_parts(parts, ConsentBody::full(body))))
            }
            KindProj::Inner { future, ctx } => {
                let res = ready!(future.poll(cx))?;
                let Some(ctx) = ctx.take() else {
                    // Polled again after completion: a caller bug, not a request's.
                    return Poll::Pending;
                };
                Poll::Ready(Ok(apply(res, ctx)))
            }
        }
    }
}

fn apply<B>(res: Response<B>, ctx: Ctx) -> Response<ConsentBody<B>>
where
    B: Body<Data = bytes::Bytes>,
{
    let (mut parts, body) = res.into_parts();
    headers::set_tk(&mut parts.headers, &ctx.decision);
    match headers::rewritable(&ctx.method, parts.status, &parts.headers) {
        Rewritable::No => Response::from_parts(parts, ConsentBody::passthrough(body)),
        Rewritable::Yes(encoding) => {
            headers::merge_vary(&mut parts.headers);
            headers::adjust_etag(&mut parts.headers, &ctx.decision);
            parts.headers.remove(header::CONTENT_LENGTH);
            let nonce = parts.extensions.get::<CspNonce>().map(|n| n.0.clone());
            let rewriter = Rewriter::new(
                &ctx.config.plan,
                ctx.decision,
                nonce,
                ctx.return_to,
                ctx.accept_language.as_ref(),
                encoding,
            );
            Response::from_parts(parts, ConsentBody::rewrite(body, rewriter))
        }
    }
}
