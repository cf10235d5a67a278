//! `decide()`: the one place where consent semantics live.

use crate::prelude::*;
use alloc::sync::Arc;
use core::fmt;

use crate::consent::Consent;
use crate::policy::{Catalog, Category, MatomoConsentMode, Policy, Service, ServiceConfig, SignalHandling};
use crate::region::{Location, Model};
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
    /// The `opt-out` model, and the visitor has not opted out: runs.
    NotOptedOut,
    /// The `notice` model: runs; the visitor is told.
    Notice,
    /// The `none` model: runs; nothing to ask.
    NotRequired,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Self; 12] = [
        Self::Required,
        Self::Dnt,
        Self::Gpc,
        Self::Consented,
        Self::Refused,
        Self::NoConsent,
        Self::Expired,
        Self::RevisionChanged,
        Self::FutureDated,
        Self::NotOptedOut,
        Self::Notice,
        Self::NotRequired,
    ];

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
            Self::NotOptedOut => "not-opted-out",
            Self::Notice => "notice",
            Self::NotRequired => "not-required",
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
pub enum TrackingStatus {
    /// `N`: not tracking.
    NotTracking,
    /// `C`: tracking with the visitor's consent.
    Consent,
    /// `D`: disregarding DNT (the policy says `"dnt": "ignore"`).
    Disregarding,
    /// `T`: tracking without consent, as the visitor's region allows
    /// (`opt-out`, `notice` or `none` model).
    Tracking,
}

impl TrackingStatus {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotTracking => "N",
            Self::Consent => "C",
            Self::Disregarding => "D",
            Self::Tracking => "T",
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
    tk: TrackingStatus,
    signals: Signals,
    /// Categories a `Sec-GPC: 1` opt-out turned off (`opt-out` model).
    gpc_denied: u64,
    /// Services that may run (one bit per service, policy order): those of
    /// a granted category, and those the consent grants on their own.
    services: u64,
    model: Model,
    location: Location,
}

impl fmt::Debug for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decision")
            .field("categories", &self.categories().collect::<Vec<_>>())
            .field("needs_banner", &self.needs_banner)
            .field("tk", &self.tk)
            .field("model", &self.model)
            .field("location", &self.location)
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
    decide_at(policy, consent, signals, now, Location::UNKNOWN)
}

/// [`decide`] for a visitor at `location`: the policy's `regions` give the
/// consent model there (see [`crate::region`]); without `regions`, or with
/// the region unknown and no `regions.default`, it is `opt-in` and this is
/// exactly [`decide`].
///
/// - `opt-in`: as [`decide`]; a consent made under another model (a
///   version-2 cookie) is not consent here: the visitor is asked.
/// - `opt-out`: with no consent cookie every category is granted; a cookie,
///   even an outdated one, grants what it lists and no more (an outdated
///   one shows the notice again); `Sec-GPC: 1` then turns off the
///   sale/sharing categories whatever the policy's `signals.gpc`; an
///   honoured `DNT: 1` denies every optional category, as everywhere.
/// - `notice`, `none`: granted by default like `opt-out`, signals as in
///   `opt-in`; `notice` shows a notice until the visitor has dismissed it.
///
/// Whatever the model, a current consent cookie's refusals are never
/// overridden.
///
/// ```
/// use consentry_core::{decide_at, Location, Model, Policy, Region, RegionSource, Signals};
/// let policy = Policy::from_json(r#"{"revision": 1, "categories": [
///     {"id": "essential", "required": true}, {"id": "analytics"}, {"id": "advertising"}],
///     "regions": {"rules": [{"where": ["US-OPT-OUT"], "model": "opt-out"}]}}"#).unwrap();
/// let ca = Location::new(Region::parse("US-CA").unwrap(), RegionSource::Header);
///
/// let d = decide_at(&policy, None, Signals::NONE, 0, ca);
/// assert_eq!(d.model(), Model::OptOut);
/// assert!(d.allows("analytics") && d.allows("advertising") && d.needs_banner());
///
/// let d = decide_at(&policy, None, Signals { dnt: false, gpc: true }, 0, ca);
/// assert!(d.allows("analytics") && !d.allows("advertising") && d.signal_honoured());
///
/// let d = decide_at(&policy, None, Signals::NONE, 0, Location::UNKNOWN);
/// assert_eq!(d.model(), Model::OptIn);
/// assert!(!d.allows("analytics"));
/// ```
pub fn decide_at(
    policy: &Policy,
    consent: Option<&Consent>,
    signals: Signals,
    now: u64,
    location: Location,
) -> Decision {
    decide_in(policy, consent, signals, now, location, policy.model_for(location.region))
}

/// [`decide_at`] with the model already found: for the browser banner,
/// which the server tells the model it found for the visitor (so the
/// region rules and their data stay on the server), or which applies the
/// policy's default on a static site.
pub fn decide_in(
    policy: &Policy,
    consent: Option<&Consent>,
    signals: Signals,
    now: u64,
    location: Location,
    model: Model,
) -> Decision {
    let catalog = policy.catalog();
    let honoured = policy.signals();
    let gpc = signals.gpc && honoured.gpc == SignalHandling::Honour;
    let dnt = signals.dnt && honoured.dnt == SignalHandling::Honour;

    let (mut required, mut all, mut sale) = (0u64, 0u64, 0u64);
    for (i, c) in catalog.categories.iter().enumerate() {
        all |= 1 << i;
        if c.required {
            required |= 1 << i;
        }
        if c.is_sale_sharing() {
            sale |= 1 << i;
        }
    }
    let listed = |c: &Consent| {
        let mut bits = required;
        for (i, cat) in catalog.categories.iter().enumerate() {
            if c.grants(&cat.id) {
                bits |= 1 << i;
            }
        }
        bits
    };
    // Why a consent cookie is not current, if it is not.
    let stale = consent.and_then(|c| {
        if c.revision() != policy.revision() {
            Some(Reason::RevisionChanged)
        } else if c.given_at() > now.saturating_add(CLOCK_SKEW_SECONDS) {
            Some(Reason::FutureDated)
        } else if now.saturating_sub(c.given_at()) > policy.cookie().max_age_seconds() {
            Some(Reason::Expired)
        } else {
            None
        }
    });

    // Under opt-out, `Sec-GPC: 1` is an opt-out of sale/sharing, whatever
    // `signals.gpc` says; elsewhere an honoured signal denies everything.
    let opt_out_gpc = signals.gpc && model == Model::OptOut;
    let signal = if gpc && !opt_out_gpc {
        Some(Reason::Gpc)
    } else if dnt {
        Some(Reason::Dnt)
    } else {
        None
    };
    let (basis, mut granted) = match (signal, consent) {
        (Some(reason), _) => (reason, required),
        (None, None) => match model {
            Model::OptIn => (Reason::NoConsent, required),
            Model::OptOut => (Reason::NotOptedOut, all),
            Model::Notice => (Reason::Notice, all),
            Model::None => (Reason::NotRequired, all),
        },
        // Opt-in: only a current consent made under opt-in grants.
        (None, Some(c)) if model == Model::OptIn => match stale {
            Some(reason) => (reason, required),
            None if c.model() != Model::OptIn => (Reason::NoConsent, required),
            None => (Reason::Consented, listed(c)),
        },
        // Elsewhere any choice, even an outdated one, keeps its refusals.
        (None, Some(c)) => (Reason::Consented, listed(c)),
    };
    let mut gpc_denied = 0;
    let blocked = if opt_out_gpc && signal.is_none() { sale } else { 0 };
    if blocked != 0 {
        gpc_denied = granted & sale;
        granted &= !sale;
    }
    // Per service: its category granted whole, or the consent that decided
    // grants it on its own (never under a signal or in a blocked category).
    let counted = consent.filter(|_| basis == Reason::Consented);
    let mut services = 0u64;
    // Whether an optional service runs (for `Tk`).
    let mut tracking = granted & !required != 0;
    for (i, svc) in catalog.services.iter().enumerate() {
        let Some(cat) = catalog.categories.iter().position(|c| c.id == svc.category) else { continue };
        let own = counted.is_some_and(|c| c.grants(&svc.id));
        if granted & (1 << cat) != 0 || (own && blocked & (1 << cat) == 0) {
            services |= 1 << i;
            tracking |= required & (1 << cat) == 0;
        } else if own {
            gpc_denied |= 1 << cat;
        }
    }
    let answered = match model {
        Model::OptIn => !matches!(
            basis,
            Reason::NoConsent | Reason::Expired | Reason::RevisionChanged | Reason::FutureDated
        ),
        Model::None => true,
        _ => signal.is_some() || gpc_denied != 0 || (consent.is_some() && stale.is_none()),
    };

    let needs_banner = policy.has_optional_categories() && !answered;
    let tk = if tracking && basis == Reason::Consented {
        TrackingStatus::Consent
    } else if signals.dnt && !dnt && (tracking || honoured.dnt == SignalHandling::Ignore) {
        TrackingStatus::Disregarding
    } else if tracking {
        TrackingStatus::Tracking
    } else {
        TrackingStatus::NotTracking
    };

    Decision {
        catalog: Arc::clone(catalog),
        granted,
        basis,
        needs_banner,
        tk,
        signals,
        gpc_denied,
        services,
        model,
        location,
    }
}

impl Decision {
    fn index(&self, category: &str) -> Option<usize> {
        self.catalog.categories.iter().position(|c| c.id == category)
    }

    /// Whether tags of `category` may run. Unknown categories are not allowed.
    pub fn allows(&self, category: &str) -> bool {
        self.index(category).is_some_and(|i| self.granted & (1 << i) != 0)
    }

    /// Whether the service `id` may run: its category is granted, or the
    /// consent grants it on its own. Unknown services are not allowed.
    pub fn allows_service(&self, id: &str) -> bool {
        self.catalog.services.iter().position(|s| s.id == id).is_some_and(|i| self.services & (1 << i) != 0)
    }

    /// The outcome for one category, `None` if the policy has no such category.
    pub fn grant(&self, category: &str) -> Option<Grant> {
        self.index(category).map(|i| self.grant_at(i))
    }

    fn grant_at(&self, i: usize) -> Grant {
        let granted = self.granted & (1 << i) != 0;
        let reason = if self.catalog.categories[i].required {
            Reason::Required
        } else if self.gpc_denied & (1 << i) != 0 {
            Reason::Gpc
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

    /// Whether an honoured signal decided (the banner shows a short notice):
    /// `DNT`/`Sec-GPC` denied every optional category, or, under the
    /// `opt-out` model, `Sec-GPC` opted the visitor out of sale/sharing.
    pub fn signal_honoured(&self) -> bool {
        matches!(self.basis, Reason::Dnt | Reason::Gpc) || self.gpc_denied != 0
    }

    /// The consent model that applied (see [`crate::region`]).
    pub fn model(&self) -> Model {
        self.model
    }

    /// Where the visitor was, as far as known, and how it was found.
    pub fn location(&self) -> Location {
        self.location
    }

    /// The `Tk` response header value.
    pub fn tk(&self) -> TrackingStatus {
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

    /// Whether an element the page author (or the middleware) marked with
    /// `data-category` and/or `data-service` may be live: every gate named
    /// must allow it. `data-service` may name several services, separated by
    /// spaces (an inline script that refers to two services is marked with
    /// both): each must be allowed. A service allowed answers for its own
    /// category's gate too. An unknown category or service never allows,
    /// an empty `data-service` names an unknown one, and an element naming
    /// neither is not allowed.
    pub fn allows_marked(&self, policy: &Policy, category: Option<&str>, service: Option<&str>) -> bool {
        if category.is_none() && service.is_none() {
            return false;
        }
        let mut services_ok = true;
        let mut covers_category = false;
        if let Some(list) = service {
            let mut named = false;
            for id in crate::split::split(list, b' ').filter(|id| !id.is_empty()) {
                named = true;
                match policy.service(id).filter(|svc| self.service_may_run(svc)) {
                    Some(s) => covers_category |= category == Some(s.category.as_str()),
                    None => services_ok = false,
                }
            }
            services_ok &= named;
        }
        let category_ok = category.is_none_or(|c| covers_category || self.allows(c));
        category_ok && services_ok
    }
}

/// What Google's Consent Mode v2 is told: `analytics_storage` is granted
/// when one of the policy's Google services (GA4, GTM) may run; the three
/// `ad_*` signals when every sale/sharing category of the policy
/// (`advertising`, and any marked `sale_sharing`) is granted.
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
        // Loops rather than peekable iterators: the browser banner runs this.
        // `None` until a Google service is seen, then whether one may run.
        let mut analytics = None;
        for s in policy.services() {
            if matches!(s.kind(), crate::policy::ServiceKind::Ga4 | crate::policy::ServiceKind::Gtm) {
                analytics = Some(analytics == Some(true) || self.allows_service(&s.id));
            }
        }
        // Advertising as the policy defines it: its sale/sharing categories
        // (`advertising`, and any marked `sale_sharing`), all granted.
        let mut ads = None;
        for c in policy.categories() {
            if c.is_sale_sharing() {
                ads = Some(ads != Some(false) && self.allows(&c.id));
            }
        }
        Some(GoogleConsent { analytics: analytics?, ads: ads == Some(true) })
    }

    /// The Matomo consent command (`_paq.push([command])`) for one service,
    /// `None` for other kinds: remember or forget consent, for cookies only in
    /// `require_cookie_consent` mode.
    pub fn matomo_command(&self, service: &Service) -> Option<&'static str> {
        let ServiceConfig::Matomo(m) = &service.config else { return None };
        let commands = m.consent_mode.commands();
        Some(if self.allows_service(&service.id) { commands.remember } else { commands.forget })
    }

    /// "Do Not Sell or Share My Personal Information": the choice that
    /// keeps everything that may run now (categories whole, services on
    /// their own) except the sale/sharing categories, in
    /// [`Policy::choice`]'s normal form. The consent endpoint and the
    /// browser banner both record this.
    pub fn opt_out_choice<'p>(&self, policy: &'p Policy) -> Vec<&'p str> {
        let kept = |c: &Category| !c.required && !c.is_sale_sharing();
        let mut out: Vec<&str> = Vec::new();
        for c in policy.categories() {
            if kept(c) && self.allows(&c.id) {
                out.push(&c.id);
            }
        }
        for s in policy.services() {
            let alone = policy.category(&s.category).is_some_and(|c| kept(c) && !self.allows(&c.id));
            if alone && self.allows_service(&s.id) {
                out.push(&s.id);
            }
        }
        out
    }

    /// Of the cookie `names` a page holds, those that belong to a service
    /// this decision does not let run: what withdrawal deletes.
    pub fn refused_cookies<'n>(
        &self,
        policy: &Policy,
        names: impl IntoIterator<Item = &'n str>,
    ) -> Vec<&'n str> {
        let refused = |name: &str| {
            policy
                .services()
                .iter()
                .any(|s| !self.service_may_run(s) && s.cookies.iter().any(|g| g.matches(name)))
        };
        let mut out: Vec<&str> = Vec::new();
        for name in names {
            if !out.contains(&name) && refused(name) {
                out.push(name);
            }
        }
        out
    }
}
