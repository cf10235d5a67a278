//! The response body: passed through untouched, rewritten as it streams, or
//! produced by one of Consentry's own routes.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use actix_web::body::{BodySize, MessageBody};
use bytes::Bytes;
use consentry_engine::{BodyRewrite, BoxError};
use pin_project_lite::pin_project;

pin_project! {
    /// Response body of the [`Consent`](crate::Consent) middleware.
    ///
    /// Bodies that are not pages pass through chunk for chunk, byte-identical;
    /// pages are rewritten in one streaming pass, holding at most one chunk
    /// plus lol_html's bounded buffer in memory.
    pub struct ConsentBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Passthrough { #[pin] inner: B },
        Rewrite { #[pin] inner: B, rewrite: BodyRewrite, done: bool },
        Full { data: Option<Bytes> },
    }
}

impl<B> ConsentBody<B> {
    pub(crate) fn passthrough(inner: B) -> Self {
        Self { kind: Kind::Passthrough { inner } }
    }

    pub(crate) fn rewrite(inner: B, rewrite: BodyRewrite) -> Self {
        Self { kind: Kind::Rewrite { inner, rewrite, done: false } }
    }

    pub(crate) fn full(data: impl Into<Bytes>) -> Self {
        Self { kind: Kind::Full { data: Some(data.into()) } }
    }
}

impl<B> std::fmt::Debug for ConsentBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Passthrough { .. } => "passthrough",
            Kind::Rewrite { .. } => "rewrite",
            Kind::Full { .. } => "full",
        };
        f.debug_struct("ConsentBody").field("kind", &kind).finish()
    }
}

/// Why a body ended early: the app's body failed, or the page could not be
/// rewritten safely (it is cut off, never sent on ungated).
#[derive(Debug)]
pub struct BodyError(Box<dyn std::error::Error>);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

impl From<BoxError> for BodyError {
    fn from(e: BoxError) -> Self {
        Self(e)
    }
}

impl<B> MessageBody for ConsentBody<B>
where
    B: MessageBody + 'static,
{
    type Error = BodyError;

    fn size(&self) -> BodySize {
        match &self.kind {
            Kind::Passthrough { inner } => inner.size(),
            Kind::Full { data } => BodySize::Sized(data.as_ref().map_or(0, |d| d.len() as u64)),
            Kind::Rewrite { .. } => BodySize::Stream,
        }
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BodyError>>> {
        match self.project().kind.project() {
            KindProj::Passthrough { inner } => inner.poll_next(cx).map_err(|e| BodyError(e.into())),
            KindProj::Full { data } => Poll::Ready(data.take().filter(|d| !d.is_empty()).map(Ok)),
            KindProj::Rewrite { mut inner, rewrite, done } => loop {
                if let Some(out) = rewrite.next_piece()? {
                    return Poll::Ready(Some(Ok(out)));
                }
                if *done {
                    return Poll::Ready(None);
                }
                let last = match ready!(inner.as_mut().poll_next(cx)) {
                    Some(Ok(chunk)) => {
                        rewrite.give(chunk);
                        continue;
                    }
                    Some(Err(e)) => return Poll::Ready(Some(Err(BodyError(e.into())))),
                    None => rewrite.end()?,
                };
                *done = true;
                if !last.is_empty() {
                    return Poll::Ready(Some(Ok(last)));
                }
            },
        }
    }
}
