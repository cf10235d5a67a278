//! `decide()`: the one place where consent semantics live.

use crate::prelude::*;
use alloc::sync::Arc;
use core::fmt;

use crate::consent::Consent;
use crate::policy::{Catalog, MatomoConsentMode, Policy, Service, ServiceConfig, SignalHandling};
use crate::signals::Signals;

/// How far a consent's timestamp may lie in the future (clock skew between
/// the browser that wrote it and the server that reads it).
pub const CLOCK_SKEW_SECONDS: u64 = 86_400;

/// Why a category is granted or denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A required category (e.g. essential): always granted.
    Required,
    /// Denied because the request carried `DNT: 1` and the policy honours it.
    Dnt,
    /// Denied because the request carried `Sec-GPC: 1` and the policy honours it.
    Gpc,
    /// Granted by the visitor's consent.
    Consented,
    /// The visitor's consent does not include it.
    Refused,
    /// No consent (or an unreadable one): denied until the visitor chooses.
    NoConsent,
    /// The consent is older than `max_age_days`: denied, ask again.
    Expired,
    /// The consent dates from another policy revision: denied, ask again.
    RevisionChanged,
    /// The consent claims a time too far in the future to be genuine.
    FutureDated,
}

impl Reason {
    /// A short machine-readable name (`required`, `dnt`, `gpc`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Dnt => "dnt",
            Self::Gpc => "gpc",
            Self::Consented => "consented",
            Self::Refused => "refused",
            Self::NoConsent => "no-consent",
            Self::Expired => "expired",
            Self::RevisionChanged => "revision-changed",
            Self::FutureDated => "future-dated",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The W3C Tracking Preference Expression status to send as `Tk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tk {
    /// `N`: not tracking.
    NotTracking,
    /// `C`: tracking with the visitor's consent.
    Consent,
    /// `D`: disregarding DNT (the policy says `"dnt": "ignore"`).
    Disregarding,
}

impl Tk {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotTracking => "N",
            Self::Consent => "C",
            Self::Disregarding => "D",
        }
    }
}

/// One category's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// Whether its tags may run.
    pub granted: bool,
    /// Why.
    pub reason: Reason,
}

/// What a request (or a page) may do, per category.
///
/// Cheap to clone; shares the policy's tables. Unknown category or service
/// ids are never allowed.
#[derive(Clone)]
pub struct Decision {
    catalog: Arc<Catalog>,
    granted: u64,
    basis: Reason,
    needs_banner: bool,
    tk: Tk,
    signals: Signals,
}

impl fmt::Debug for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decision")
            .field("categories", &self.categories().collect::<Vec<_>>())
            .field("needs_banner", &self.needs_banner)
            .field("tk", &self.tk)
            .finish()
    }
}

/// Decides, for every category of `policy`, whether it is granted.
///
/// 1. Required categories are always granted.
/// 2. An honoured signal (`DNT: 1`, `Sec-GPC: 1`) denies every other category
///    and means the banner need not ask — even over an earlier consent.
/// 3. Otherwise a valid consent grants exactly the categories it lists.
/// 4. No consent, or one that is expired, future-dated or from another
///    revision: every other category is denied and the banner must ask.
///
/// `now` is the current time in Unix seconds. Pure and total: no input makes
/// it panic or grant what the consent did not list.
///
/// ```
/// use consentry_core::{decide, Consent, ConsentId, Policy, Signals};
/// let policy = Policy::from_json(r#"{"revision": 2, "categories": [
///     {"id": "essential", "required": true}, {"id": "analytics"}, {"id": "advertising"}]}"#).unwrap();
/// let consent = Consent::new(2, 1_000, ["analytics"], ConsentId::from_random([1; 16]));
///
/// let d = decide(&policy, Some(&consent), Signals::NONE, 2_000);
/// assert!(d.allows("analytics") && !d.allows("advertising") && !d.needs_banner());
///
/// let d = decide(&policy, Some(&consent), Signals { dnt: true, gpc: false }, 2_000);
/// assert!(!d.allows("analytics") && d.allows("essential"));
/// ```
pub fn decide(policy: &Policy, consent: Option<&Consent>, signals: Signals, now: u64) -> Decision {
    let catalog = policy.catalog();
    let honoured = policy.signals();
    let gpc = signals.gpc && honoured.gpc == SignalHandling::Honour;
    let dnt = signals.dnt && honoured.dnt == SignalHandling::Honour;

    let mut required = 0u64;
    for (i, c) in catalog.categories.iter().enumerate() {
        if c.required {
            required |= 1 << i;
        }
    }

    let (basis, granted) = if gpc {
        (Reason::Gpc, required)
    } else if dnt {
        (Reason::Dnt, required)
    } else {
        match consent {
            None => (Reason::NoConsent, required),
            Some(c) if c.revision() != policy.revision() => (Reason::RevisionChanged, required),
            Some(c) if c.given_at() > now.saturating_add(CLOCK_SKEW_SECONDS) => {
                (Reason::FutureDated, required)
            }
            Some(c) if now.saturating_sub(c.given_at()) > policy.cookie().max_age_seconds() => {
                (Reason::Expired, required)
            }
            Some(c) => {
                let mut bits = required;
                for (i, cat) in catalog.categories.iter().enumerate() {
                    if c.grants(&cat.id) {
                        bits |= 1 << i;
                    }
                }
                (Reason::Consented, bits)
            }
        }
    };

    let optional_exist = policy.has_optional_categories();
    let needs_banner = optional_exist
        && matches!(
            basis,
            Reason::NoConsent | Reason::Expired | Reason::RevisionChanged | Reason::FutureDated
        );
    let tracking_with_consent = basis == Reason::Consented && granted & !required != 0;
    let tk = if signals.dnt && honoured.dnt == SignalHandling::Ignore && !tracking_with_consent {
        Tk::Disregarding
    } else if tracking_with_consent {
        Tk::Consent
    } else {
        Tk::NotTracking
    };

    Decision { catalog: Arc::clone(catalog), granted, basis, needs_banner, tk, signals }
}

impl Decision {
    fn index(&self, category: &str) -> Option<usize> {
        self.catalog.categories.iter().position(|c| c.id == category)
    }

    /// Whether tags of `category` may run. Unknown categories are not allowed.
    pub fn allows(&self, category: &str) -> bool {
        self.index(category).is_some_and(|i| self.granted & (1 << i) != 0)
    }

    /// Whether the service `id` may run (its category is granted). Unknown
    /// services are not allowed.
    pub fn allows_service(&self, id: &str) -> bool {
        self.catalog.services.iter().find(|s| s.id == id).is_some_and(|s| self.allows(&s.category))
    }

    /// The outcome for one category, `None` if the policy has no such category.
    pub fn grant(&self, category: &str) -> Option<Grant> {
        self.index(category).map(|i| self.grant_at(i))
    }

    fn grant_at(&self, i: usize) -> Grant {
        let granted = self.granted & (1 << i) != 0;
        let reason = if self.catalog.categories[i].required {
            Reason::Required
        } else if self.basis == Reason::Consented && !granted {
            Reason::Refused
        } else {
            self.basis
        };
        Grant { granted, reason }
    }

    /// Every category with its outcome, in policy order.
    pub fn categories(&self) -> impl Iterator<Item = (&str, Grant)> + '_ {
        self.catalog.categories.iter().enumerate().map(|(i, c)| (c.id.as_str(), self.grant_at(i)))
    }

    /// Ids of the granted categories, in policy order.
    pub fn granted(&self) -> impl Iterator<Item = &str> + '_ {
        self.categories().filter(|(_, g)| g.granted).map(|(id, _)| id)
    }

    /// Whether the visitor still has to be asked.
    pub fn needs_banner(&self) -> bool {
        self.needs_banner
    }

    /// Why the non-required categories are as they are: a signal, the consent,
    /// or its absence.
    pub fn basis(&self) -> Reason {
        self.basis
    }

    /// The signals the request carried (honoured or not).
    pub fn signals(&self) -> Signals {
        self.signals
    }

    /// Whether an honoured signal decided (the banner shows a short notice).
    pub fn signal_honoured(&self) -> bool {
        matches!(self.basis, Reason::Dnt | Reason::Gpc)
    }

    /// The `Tk` response header value.
    pub fn tk(&self) -> Tk {
        self.tk
    }

    /// Whether a service's tags may run now. Beyond [`allows_service`](Self::allows_service):
    /// Matomo in `require_cookie_consent` mode (the CNIL audience-measurement
    /// exemption) may measure without cookies while the visitor has not
    /// answered yet — never after a refusal or under an honoured signal.
    pub fn service_may_run(&self, service: &Service) -> bool {
        if self.allows_service(&service.id) {
            return true;
        }
        let exempt = matches!(
            &service.config,
            ServiceConfig::Matomo(m) if m.consent_mode == MatomoConsentMode::RequireCookieConsent
        );
        exempt
            && matches!(
                self.basis,
                Reason::NoConsent | Reason::Expired | Reason::RevisionChanged | Reason::FutureDated
            )
    }

    /// Whether an element the page author marked with `data-category` and/or
    /// `data-service` may be live: every gate named must allow it; an unknown
    /// category or service never does, and an element naming neither is not
    /// allowed.
    pub fn allows_marked(&self, policy: &Policy, category: Option<&str>, service: Option<&str>) -> bool {
        if category.is_none() && service.is_none() {
            return false;
        }
        let category_ok = category.is_none_or(|c| self.allows(c));
        let service_ok =
            service.is_none_or(|s| policy.service(s).is_some_and(|svc| self.service_may_run(svc)));
        category_ok && service_ok
    }
}

/// What Google's Consent Mode v2 is told: `analytics_storage` follows the
/// categories of the policy's Google services (GA4, GTM); the three `ad_*`
/// signals follow the `advertising` category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoogleConsent {
    /// `analytics_storage`.
    pub analytics: bool,
    /// `ad_storage`, `ad_user_data`, `ad_personalization`.
    pub ads: bool,
}

impl Decision {
    /// The Consent Mode state for this decision, or `None` when the policy
    /// has no Google service (nothing to tell). The middleware writes it into
    /// the page; the banner sends it as `gtag('consent', 'update', …)`.
    pub fn google_consent(&self, policy: &Policy) -> Option<GoogleConsent> {
        let mut google = policy
            .services()
            .iter()
            .filter(|s| matches!(s.kind, crate::policy::ServiceKind::Ga4 | crate::policy::ServiceKind::Gtm))
            .peekable();
        google.peek()?;
        let analytics = google.any(|s| self.allows(&s.category));
        Some(GoogleConsent { analytics, ads: self.allows("advertising") })
    }

    /// The Matomo consent command (`_paq.push([command])`) for one service,
    /// `None` for other kinds: remember or forget consent, for cookies only in
    /// `require_cookie_consent` mode.
    pub fn matomo_command(&self, service: &Service) -> Option<&'static str> {
        let ServiceConfig::Matomo(m) = &service.config else { return None };
        Some(match (m.consent_mode, self.allows_service(&service.id)) {
            (MatomoConsentMode::RequireConsent, true) => "rememberConsentGiven",
            (MatomoConsentMode::RequireConsent, false) => "forgetConsentGiven",
            (MatomoConsentMode::RequireCookieConsent, true) => "rememberCookieConsentGiven",
            (MatomoConsentMode::RequireCookieConsent, false) => "forgetCookieConsentGiven",
        })
    }

    /// Of the cookie `names` a page holds, those that belong to a service
    /// this decision does not let run: what withdrawal deletes.
    pub fn refused_cookies<'n>(
        &self,
        policy: &Policy,
        names: impl IntoIterator<Item = &'n str>,
    ) -> Vec<&'n str> {
        let refused: Vec<&Service> = policy.services().iter().filter(|s| !self.service_may_run(s)).collect();
        let mut out: Vec<&str> = Vec::new();
        for name in names {
            if !out.contains(&name) && refused.iter().any(|s| s.cookies.iter().any(|g| g.matches(name))) {
                out.push(name);
            }
        }
        out
    }
}
