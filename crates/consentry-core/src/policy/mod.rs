//! The policy: one JSON document shared by the banner and the middleware.
//!
//! A [`Policy`] is only ever built through [`Policy::from_json`] (or
//! [`Policy::from_value`]), which validates the whole document once. Every
//! other part of Consentry may therefore rely on its invariants: ids are
//! unique and well-formed, every service names an existing category, there are
//! between 1 and [`MAX_CATEGORIES`] categories.

use crate::error::PolicyError;
use crate::json::JsonValue;

mod model;
mod read;
mod validate;

pub use model::*;

impl Policy {
    /// Parses and validates a policy document.
    ///
    /// Errors name the JSON path and the problem, e.g.
    /// ``services[1].category: unknown category `analytic` (known: essential, analytics)``.
    ///
    /// ```
    /// let policy = consentry_core::Policy::from_json(r#"{
    ///     "revision": 1,
    ///     "categories": [{ "id": "essential", "required": true }, { "id": "analytics" }]
    /// }"#).unwrap();
    /// assert_eq!(policy.revision(), 1);
    ///
    /// let err = consentry_core::Policy::from_json(r#"{ "revision": 1, "categories": [], "colour": "red" }"#)
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("colour"));
    /// ```
    pub fn from_json(json: &str) -> Result<Self, PolicyError> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(PolicyError::syntax)?;
        Self::from_value(&value)
    }

    /// Reads and validates a policy from any JSON value: a `&serde_json::Value`,
    /// or any other [`JsonValue`](crate::JsonValue) implementation.
    pub fn from_value<V: JsonValue>(value: V) -> Result<Self, PolicyError> {
        validate::policy(read::policy(&value)?)
    }
}
