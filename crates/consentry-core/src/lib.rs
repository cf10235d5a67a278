//! Consent semantics shared by the Consentry banner (wasm) and middleware.
//!
//! This crate does no I/O, reads no clock and draws no random numbers: the
//! caller passes the time and the randomness in. It builds for native targets
//! and for `wasm32-unknown-unknown`, so the browser and the server run the very
//! same rules and can never disagree.
//!
//! - [`Policy`]: the validated policy document (categories, services, signals,
//!   cookie settings, texts).
//! - [`Consent`]: the consent cookie and its codec (format documented in
//!   [`consent`]).
//! - [`Signals`]: `DNT` and `Sec-GPC`.
//! - [`decide`] → [`Decision`]: per category, granted or not and why.
//!
//! ```
//! use consentry_core::{consent_from_headers, decide, Policy, Signals};
//!
//! let policy = Policy::from_json(r#"{
//!     "revision": 1,
//!     "categories": [{ "id": "essential", "required": true }, { "id": "analytics" }],
//!     "services": [{ "id": "ga4", "kind": "ga4", "category": "analytics",
//!                    "config": { "measurement_id": "G-AB12CD34" }, "cookies": ["_ga", "_ga_*"] }]
//! }"#)?;
//!
//! // One request: no consent cookie yet, `DNT: 1`.
//! let consent = consent_from_headers([b"theme=dark".as_slice()], &policy.cookie().name);
//! let signals = Signals::from_header_values([b"1".as_slice()], []);
//! let decision = decide(&policy, consent.as_ref(), signals, 1_763_900_000);
//!
//! assert!(!decision.allows_service("ga4"));
//! assert!(!decision.needs_banner()); // DNT answered for the visitor
//! assert_eq!(decision.tk().as_str(), "N");
//! # Ok::<(), consentry_core::PolicyError>(())
//! ```

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

/// What `std`'s prelude gives every module, from `alloc` (the crate is
/// `no_std` without its `std` feature, as the banner's wasm builds it).
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
    pub use alloc::{format, vec};
}

pub mod consent;
mod decimal;
mod decision;
mod error;
pub mod inline;
mod json;
mod limits;
pub mod markup;
mod pattern;
mod policy;
pub mod ready;
pub mod receipt;
pub mod region;
pub mod render;
mod signals;
pub mod split;
pub mod texts;

pub use consent::{
    Consent, ConsentId, DecodeError, MAX_COOKIE_LEN, consent_from_cookie_string, consent_from_headers,
    cookie_values,
};
pub use decision::{
    CLOCK_SKEW_SECONDS, Decision, GoogleConsent, Grant, Reason, TrackingStatus, decide, decide_at, decide_in,
};
pub use error::{PolicyError, Problem, UnknownId};
pub use json::JsonValue;
pub use limits::{MAX_AGE_DAYS_LIMIT, MAX_CATEGORIES, MAX_ID_LEN, MAX_SERVICES};
pub use pattern::Glob;
pub use policy::{
    Category, CookieInfo, CookieSettings, CustomConfig, GTAG_URL, GTM_URL, Ga4Config, GtmConfig, LocalText,
    MatomoCommands, MatomoConfig, MatomoConsentMode, Policy, Service, ServiceConfig, ServiceKind,
    SignalHandling, SignalPolicy, choice_json,
};
pub use ready::{READY_FORMAT, Ready, ReadyError, ReadyTexts, RegionalTexts};
pub use receipt::{ChoiceMethod, Receipt, SignalsSeen};
pub use region::{Location, Model, Region, RegionSource, Regions};
pub use signals::Signals;
pub use texts::{Key as TextKey, ResolvedTexts, Texts, accept_language, negotiate};
