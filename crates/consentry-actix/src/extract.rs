//! [`ConsentDecision`]: the request's decision, for handlers.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use consentry_core::Decision;

/// The request's [`Decision`], for handlers and templates that emit tags
/// themselves: `if decision.allows("analytics") { ... }`.
///
/// A handler that may or may not be behind the middleware takes
/// `Option<ConsentDecision>`: `None` there instead of a `500`.
///
/// ```
/// use actix_web::{get, Responder};
/// use consentry_actix::ConsentDecision;
///
/// #[get("/")]
/// async fn page(decision: ConsentDecision) -> impl Responder {
///     format!("analytics allowed: {}", decision.allows("analytics"))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct ConsentDecision(pub Decision);

impl std::ops::Deref for ConsentDecision {
    type Target = Decision;
    fn deref(&self) -> &Decision {
        &self.0
    }
}

/// Error when the route is not behind the [`Consent`](crate::Consent) middleware.
#[derive(Debug, Clone, Copy)]
pub struct MissingConsent;

impl std::fmt::Display for MissingConsent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsentDecision needs the Consent middleware on this route")
    }
}

impl ResponseError for MissingConsent {
    fn error_response(&self) -> HttpResponse {
        HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body(self.to_string())
    }
}

impl FromRequest for ConsentDecision {
    type Error = MissingConsent;
    type Future = Ready<Result<Self, MissingConsent>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Decision>().cloned().map(ConsentDecision).ok_or(MissingConsent))
    }
}
