//! The response body: passed through untouched, rewritten as it streams, or
//! produced by one of Consentry's own routes.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use consentry_engine::{BodyRewrite, BoxError};

pin_project! {
    /// Response body of [`ConsentService`](crate::ConsentService).
    ///
    /// Non-HTML bodies are passed through frame by frame, byte-identical;
    /// HTML bodies are rewritten in a single streaming pass, holding at most
    /// one chunk plus lol_html's bounded buffer in memory.
    pub struct ConsentBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Passthrough { #[pin] inner: B },
        Rewrite {
            #[pin] inner: B,
            rewrite: BodyRewrite,
            trailers: Option<HeaderMap>,
            done: bool,
        },
        Full { data: Option<Bytes> },
    }
}

impl<B> ConsentBody<B> {
    pub(crate) fn passthrough(inner: B) -> Self {
        Self { kind: Kind::Passthrough { inner } }
    }

    pub(crate) fn rewrite(inner: B, rewrite: BodyRewrite) -> Self {
        Self { kind: Kind::Rewrite { inner, rewrite, trailers: None, done: false } }
    }

    pub(crate) fn full(data: impl Into<Bytes>) -> Self {
        let data = data.into();
        Self { kind: Kind::Full { data: (!data.is_empty()).then_some(data) } }
    }
}

impl<B> Body for ConsentBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project().kind.project() {
            KindProj::Passthrough { inner } => inner.poll_frame(cx).map_err(Into::into),
            KindProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            KindProj::Rewrite { mut inner, rewrite, trailers, done } => loop {
                if let Some(out) = rewrite.next_piece()? {
                    return Poll::Ready(Some(Ok(Frame::data(out))));
                }
                if *done {
                    return Poll::Ready(trailers.take().map(|t| Ok(Frame::trailers(t))));
                }
                let last = match ready!(inner.as_mut().poll_frame(cx)) {
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => {
                            rewrite.give(data);
                            continue;
                        }
                        Err(frame) => {
                            *trailers = frame.into_trailers().ok();
                            rewrite.end()?
                        }
                    },
                    Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                    None => rewrite.end()?,
                };
                *done = true;
                if !last.is_empty() {
                    return Poll::Ready(Some(Ok(Frame::data(last))));
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Passthrough { inner } => inner.is_end_stream(),
            Kind::Full { data } => data.is_none(),
            Kind::Rewrite { done, trailers, rewrite, .. } => {
                *done && rewrite.is_drained() && trailers.is_none()
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Passthrough { inner } => inner.size_hint(),
            Kind::Full { data } => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
            Kind::Rewrite { .. } => SizeHint::default(),
        }
    }
}
