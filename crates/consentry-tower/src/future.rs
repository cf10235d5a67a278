//! The response future of [`ConsentService`](crate::ConsentService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use consentry_engine::{BodyPlan, BoxError, Exchange, OwnRoute};
use http::Response;
use http_body::Body;
use pin_project_lite::pin_project;

use crate::body::ConsentBody;

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
            exchange: Option<Exchange>,
        },
        Route { future: OwnRoute },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn inner(future: F, exchange: Exchange) -> Self {
        Self { kind: Kind::Inner { future, exchange: Some(exchange) } }
    }

    pub(crate) fn route(future: OwnRoute) -> Self {
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
            KindProj::Inner { future, exchange } => {
                let res = ready!(future.poll(cx))?;
                let Some(exchange) = exchange.take() else {
                    // Polled again after it completed.
                    return Poll::Pending;
                };
                let (mut head, body) = res.into_parts();
                let body = match exchange.response(&mut head) {
                    BodyPlan::Keep => ConsentBody::passthrough(body),
                    BodyPlan::Replace(bytes) => ConsentBody::full(bytes),
                    BodyPlan::Rewrite(rewrite) => ConsentBody::rewrite(body, rewrite),
                };
                Poll::Ready(Ok(Response::from_parts(head, body)))
            }
        }
    }
}
