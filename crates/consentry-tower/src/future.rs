//! The response future of [`ConsentService`](crate::ConsentService).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use consentry_core::Decision;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body::Body;
use pin_project_lite::pin_project;

use crate::body::ConsentBody;
use crate::config::{Config, UnreadableHtml};
use crate::headers::{self, Rewritable};
use crate::pipeline::{Coding, MakeRewriter, Pipeline};
use crate::rewrite::{Page, Rewriter};
use crate::routes::RouteFuture;
use crate::{BoxError, CspNonce};

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
    /// The request's URI: the page's path and query (where the no-JS banner
    /// returns to), made a string only for a page that is rewritten.
    pub uri: http::Uri,
    /// Chooses the banner's language, with `<html lang>` (a cheap clone).
    pub accept_language: Option<http::HeaderValue>,
    /// Where the page's relative URLs resolve (with its path and query).
    pub host: Option<http::HeaderValue>,
    /// A document request: a `304` answering it revalidates a rewritten page.
    pub page_request: bool,
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
    let class = headers::rewritable(&ctx.method, parts.status, &parts.headers);
    if class == Rewritable::No {
        if parts.status == StatusCode::NOT_MODIFIED && ctx.page_request {
            // The cached copy being confirmed is a rewritten page: same
            // validator, same `Vary` as the page itself.
            headers::merge_vary(&mut parts.headers);
            headers::keep_out_of_shared_caches(&mut parts.headers);
            headers::adjust_etag(&mut parts.headers, &ctx.decision);
        }
        return Response::from_parts(parts, ConsentBody::passthrough(body));
    }
    let coding = match Coding::of(&parts.headers) {
        Ok(_) if parts.status == StatusCode::PARTIAL_CONTENT => {
            return unreadable(
                parts,
                body,
                &ctx.config,
                "a partial (206) page cannot be checked as a whole".to_owned(),
            );
        }
        Ok(coding) => coding,
        Err(reason) => return unreadable(parts, body, &ctx.config, reason),
    };
    let Ctx { config, decision, uri, accept_language, host, .. } = ctx;
    let return_to = uri.path_and_query().map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
    let nonce = parts.extensions.get::<CspNonce>().map(|n| n.0.clone());
    headers::merge_vary(&mut parts.headers);
    headers::keep_out_of_shared_caches(&mut parts.headers);
    headers::adjust_etag(&mut parts.headers, &decision);
    let plan = Arc::clone(&config.plan);
    let xml = matches!(class, Rewritable::Xhtml(_));
    let make: MakeRewriter = Box::new(move |encoding| {
        let page = Page { return_to, accept_language: accept_language.as_ref(), host: host.as_ref(), xml };
        Rewriter::new(&plan, decision, nonce, page, encoding)
    });
    let pipeline = match class {
        Rewritable::Page(label) | Rewritable::Xhtml(label) => {
            if !label.is_ascii_compatible() {
                // Transcoded: the page goes out as UTF-8 and says so.
                let ty =
                    if xml { "application/xhtml+xml; charset=utf-8" } else { "text/html; charset=utf-8" };
                parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
            } else if headers::content_type_is_ambiguous(&parts.headers) {
                // Several lines, a list or bytes a client may read otherwise:
                // one line saying what the page was gated as.
                let essence = if xml { "application/xhtml+xml" } else { "text/html" };
                let ty = format!("{essence}; charset={}", label.name());
                if let Ok(v) = HeaderValue::from_str(&ty) {
                    parts.headers.insert(header::CONTENT_TYPE, v);
                }
            }
            Pipeline::page(coding, label, make)
        }
        _ => Pipeline::sniff(coding, make),
    };
    let pipeline = match pipeline {
        Ok(p) => p.max_decoded(config.max_decoded_body),
        Err(e) => return unreadable(parts, body, &config, format!("no decoder: {e}")),
    };
    // The body changes: its length, coding and byte ranges are no longer the
    // inner service's.
    for name in [header::CONTENT_LENGTH, header::CONTENT_ENCODING, header::ACCEPT_RANGES] {
        parts.headers.remove(name);
    }
    Response::from_parts(parts, ConsentBody::rewrite(body, pipeline))
}

/// A page the layer cannot read — an unknown or stacked `Content-Encoding`,
/// a partial response — must not leave ungated: `502 Bad Gateway` with the
/// reason logged, unless the layer was told to let such pages through.
fn unreadable<B>(
    mut parts: http::response::Parts,
    body: B,
    config: &Config,
    reason: String,
) -> Response<ConsentBody<B>> {
    match config.unreadable_html {
        UnreadableHtml::PassThrough => {
            tracing::warn!(%reason, "page passed through ungated (UnreadableHtml::PassThrough)");
            Response::from_parts(parts, ConsentBody::passthrough(body))
        }
        UnreadableHtml::Reject => {
            tracing::error!(%reason, "page refused with 502: it cannot be checked for trackers");
            let tk = parts.headers.remove(headers::TK.clone());
            let mut res = Response::new(ConsentBody::full(format!(
                "502 Bad Gateway: this page could not be checked for trackers before it is sent ({reason}).\n"
            )));
            *res.status_mut() = StatusCode::BAD_GATEWAY;
            *res.version_mut() = parts.version;
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Some(tk) = tk {
                h.insert(headers::TK.clone(), tk);
            }
            res
        }
    }
}
