//! The axum extractor (feature `axum`).

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use consentry_core::Decision;
use http::StatusCode;
use http::request::Parts;

/// The request's [`Decision`], for handlers and templates that emit tags
/// themselves: `if decision.allows("analytics") { ... }`.
///
/// A route that may or may not be behind the layer (a handler shared by
/// several routers) takes `Option<ConsentDecision>`: `None` there instead of
/// a `500`.
///
/// ```
/// use consentry_tower::ConsentDecision;
///
/// async fn page(decision: ConsentDecision) -> String {
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

/// Rejection when the route is not behind a [`ConsentLayer`](crate::ConsentLayer).
#[derive(Debug, Clone, Copy)]
pub struct MissingConsentLayer;

impl IntoResponse for MissingConsentLayer {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, "ConsentDecision needs ConsentLayer on this route")
            .into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ConsentDecision {
    type Rejection = MissingConsentLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Decision>().cloned().map(ConsentDecision).ok_or(MissingConsentLayer)
    }
}

/// `Option<ConsentDecision>`: `None` when the route is not behind the layer.
impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for ConsentDecision {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Decision>().cloned().map(ConsentDecision))
    }
}
