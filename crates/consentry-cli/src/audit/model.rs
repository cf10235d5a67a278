//! What an audit records and reports: the JSON report's shape
//! (`consentry-audit/1`, documented in `docs/audit-report.schema.json`).

use serde::{Deserialize, Serialize};

/// The report format this version writes.
pub const FORMAT: &str = "consentry-audit/1";

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always [`FORMAT`].
    pub format: &'static str,
    /// `consentry <version>`.
    pub tool: String,
    /// The audited URL.
    pub url: String,
    /// When the audit started (Unix seconds, UTC).
    pub started_at: u64,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// The browser's product string (e.g. `Chrome/148.0.7778.167`).
    pub browser: String,
    /// Where the policy the audit checked against came from, if any.
    pub policy: Option<PolicySource>,
    /// The consent tool the audit found on the page (`consentry`, or the
    /// consent platform the open rule set recognised), if any.
    pub consent_tool: Option<String>,
    /// One record per phase, in the order they ran.
    pub phases: Vec<Phase>,
    /// Every rule's verdict.
    pub rules: Vec<Verdict>,
    /// Counts over `rules`.
    pub summary: Summary,
    /// The open datasets used to classify, with their source and licence.
    pub datasets: Vec<Dataset>,
}

/// Where the policy came from.
#[derive(Debug, Serialize)]
pub struct PolicySource {
    /// `file` (`--policy`) or `site` (the ready policy the site serves).
    pub source: &'static str,
    /// The file path or URL.
    pub location: String,
    /// The policy's revision.
    pub revision: u32,
}

/// The phases of an audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseId {
    /// A first visit, no interaction.
    FirstVisit,
    /// "Reject all" on the first layer.
    RejectAll,
    /// "Accept all" on the first layer.
    AcceptAll,
    /// `DNT: 1` and `navigator.doNotTrack`.
    Dnt,
    /// `Sec-GPC: 1` and `navigator.globalPrivacyControl`.
    Gpc,
    /// "Accept all", then withdrawal, then a reload.
    Withdraw,
}

impl PhaseId {
    /// Every phase, in the order an audit runs them.
    pub const ALL: [PhaseId; 6] =
        [Self::FirstVisit, Self::RejectAll, Self::AcceptAll, Self::Dnt, Self::Gpc, Self::Withdraw];

    /// The phase's id in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstVisit => "first-visit",
            Self::RejectAll => "reject-all",
            Self::AcceptAll => "accept-all",
            Self::Dnt => "dnt",
            Self::Gpc => "gpc",
            Self::Withdraw => "withdraw",
        }
    }

    /// A short human title.
    pub fn title(self) -> &'static str {
        match self {
            Self::FirstVisit => "First visit, no interaction",
            Self::RejectAll => "Reject all",
            Self::AcceptAll => "Accept all",
            Self::Dnt => "Do Not Track (DNT: 1)",
            Self::Gpc => "Global Privacy Control (Sec-GPC: 1)",
            Self::Withdraw => "Accept all, withdraw, reload",
        }
    }
}

/// What one phase recorded.
#[derive(Debug, Serialize)]
pub struct Phase {
    /// Which phase.
    pub id: PhaseId,
    /// Its title.
    pub title: &'static str,
    /// The pages visited, in order (the audited URL, then followed links).
    pub pages: Vec<String>,
    /// The choice the phase made (`reject-all`, `accept-all`, `withdraw`), if any.
    pub choice: Option<&'static str>,
    /// Whether the choice could be made (the button was found and clicked).
    pub choice_made: bool,
    /// Every request the pages made.
    pub requests: Vec<Request>,
    /// Every cookie in the browser at the end of the phase.
    pub cookies: Vec<Cookie>,
    /// Cookies that existed at the moment of the choice (before it took effect),
    /// when the phase made one.
    pub cookies_before_choice: Vec<Cookie>,
    /// `localStorage` / `sessionStorage` keys at the end of the phase.
    pub storage: Vec<Storage>,
    /// The banner found on the first page, if any.
    pub banner: Option<Banner>,
    /// A PNG screenshot of the first page (after the choice, if any), base64.
    pub screenshot_png: Option<String>,
    /// Things the phase could not do, in words.
    pub notes: Vec<String>,
    /// How long the phase took, in milliseconds.
    pub duration_ms: u64,
}

impl Phase {
    /// A phase about to run on `url`, nothing recorded yet.
    pub fn new(id: PhaseId, url: &str) -> Self {
        Self {
            id,
            title: id.title(),
            pages: vec![url.to_owned()],
            choice: match id {
                PhaseId::RejectAll => Some("reject-all"),
                PhaseId::AcceptAll => Some("accept-all"),
                PhaseId::Withdraw => Some("withdraw"),
                _ => None,
            },
            choice_made: false,
            requests: vec![],
            cookies: vec![],
            cookies_before_choice: vec![],
            storage: vec![],
            banner: None,
            screenshot_png: None,
            notes: vec![],
            duration_ms: 0,
        }
    }
}

/// One request.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    /// The URL.
    pub url: String,
    /// The resource type as the browser names it (`Document`, `Script`, `Image`, …).
    pub resource_type: String,
    /// What initiated it (`parser`, `script`, … and the URL), if known.
    pub initiator: Option<String>,
    /// Milliseconds since the phase started.
    pub at_ms: u64,
    /// Whether it started after the phase's choice.
    pub after_choice: bool,
    /// Cookies its response set (names).
    pub set_cookies: Vec<String>,
    /// What the audit classified it as, if it is a tracker.
    pub class: Option<Class>,
}

/// One cookie.
#[derive(Debug, Clone, Serialize)]
pub struct Cookie {
    /// The name.
    pub name: String,
    /// The domain.
    pub domain: String,
    /// The path.
    pub path: String,
    /// Expiry (Unix seconds), or `None` for a session cookie.
    pub expires: Option<f64>,
    /// Whether its domain is not the audited site's.
    pub third_party: bool,
    /// Which response set it (a URL), or `script` when no response did.
    pub set_by: String,
    /// What the audit classified it as, if it is not essential.
    pub class: Option<Class>,
}

/// One storage key.
#[derive(Debug, Clone, Serialize)]
pub struct Storage {
    /// `local` or `session`.
    pub area: &'static str,
    /// The key.
    pub key: String,
    /// What the audit classified it as, if it is a tracker's.
    pub class: Option<Class>,
}

/// What something was classified as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Class {
    /// The policy's category id, or the dataset's category (`analytics`, `marketing`, …).
    pub category: String,
    /// The service (the policy's service id, or the dataset's platform name).
    pub service: Option<String>,
    /// `policy`, `open-cookie-database`, or `tracker-domains`.
    pub source: &'static str,
    /// Whether it needs no consent (a required category, the consent cookie itself).
    pub essential: bool,
}

impl Class {
    /// Whether it needs consent.
    pub fn needs_consent(&self) -> bool {
        !self.essential
    }
}

/// The banner as found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Banner {
    /// `consentry`, or the platform the open rule set recognised.
    pub tool: String,
    /// The first layer's visible text.
    pub text: String,
    /// The "accept all" button on the first layer.
    pub accept: Option<Button>,
    /// The "reject all" button on the first layer.
    pub reject: Option<Button>,
    /// The links on the first layer (text and href).
    pub links: Vec<(String, String)>,
    /// Optional categories whose switch is on before any choice.
    pub prechecked: Vec<String>,
}

/// A button as drawn.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Button {
    /// Its visible label.
    pub label: String,
    /// Width × height in CSS pixels.
    pub width: f64,
    /// Height in CSS pixels.
    pub height: f64,
    /// Its text colour (CSS `rgb(…)`).
    pub color: String,
    /// Its effective background colour (CSS `rgb(…)`).
    pub background: String,
    /// The contrast ratio of text on background (WCAG).
    pub contrast: f64,
}

/// How bad a failed rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Notice,
    /// Likely non-compliant or a bad practice.
    Warning,
    /// Non-compliant.
    Error,
}

impl Severity {
    /// Parses `--fail-on`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "notice" => Some(Self::Notice),
            "warning" => Some(Self::Warning),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

/// A rule's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The rule holds.
    Pass,
    /// The rule is broken.
    Fail,
    /// The rule does not apply (e.g. nothing to ask about, a phase could not run).
    NotApplicable,
}

/// One rule's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The rule's id.
    pub rule: &'static str,
    /// What it checks.
    pub title: &'static str,
    /// The legal references.
    pub reference: &'static str,
    /// Its severity when it fails.
    pub severity: Severity,
    /// Pass, fail or not applicable.
    pub status: Status,
    /// What the verdict rests on: offending requests, cookies, texts.
    pub evidence: Vec<String>,
}

/// Counts of verdicts.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Rules that passed.
    pub passed: usize,
    /// Failed rules of severity error.
    pub errors: usize,
    /// Failed rules of severity warning.
    pub warnings: usize,
    /// Failed rules of severity notice.
    pub notices: usize,
    /// Rules that did not apply.
    pub not_applicable: usize,
}

/// An open dataset used by the audit.
#[derive(Debug, Clone, Serialize)]
pub struct Dataset {
    /// Its name.
    pub name: &'static str,
    /// Where it comes from.
    pub source: &'static str,
    /// The version or commit.
    pub version: &'static str,
    /// Its licence (SPDX).
    pub licence: &'static str,
}
