//! The banner's markup contract, named once: the ids, attributes and action
//! names that the rendered markup ([`crate::render`]), the browser's page
//! layer (`www/src/consentry.js`, kept equal by a test), the stylesheet,
//! `consentry audit` and a site's own buttons all rely on.
//!
//! Any element of a page with [`ACTION_ATTR`]`="<action>"` does what the
//! banner's button of that action does; [`LEGACY_ACTION_ATTR`] is the older
//! name of the same attribute and keeps working.

// The ids as macros too, so the renderer can `concat!` them into its
// literal markup (no run-time joining) and still name them once.
macro_rules! banner_id {
    () => {
        "consentry-banner"
    };
}
macro_rules! dialog_id {
    () => {
        "consentry-preferences"
    };
}
macro_rules! action_attr {
    () => {
        "data-consentry-action"
    };
}
pub(crate) use {action_attr, banner_id, dialog_id};

/// The id of the first layer's root element.
pub const BANNER_ID: &str = banner_id!();
/// The id of the preferences dialog's root element.
pub const DIALOG_ID: &str = dialog_id!();
/// The id of the `<script type="application/json">` holding the ready policy
/// the middleware inlines into a page.
pub const POLICY_SCRIPT_ID: &str = "consentry-policy";
/// The attribute that makes any element a consent button.
pub const ACTION_ATTR: &str = action_attr!();
/// The older name of [`ACTION_ATTR`], still understood.
pub const LEGACY_ACTION_ATTR: &str = "data-consentry";

/// The `<meta name>` in `<head>` whose `content` is the middleware's gate
/// token for this response.
pub const GATE_META: &str = "consentry-gate";
/// The attribute the middleware writes, with this response's gate token, on
/// every element whose attributes it moved to `data-<name>`. The page layer
/// restores `srcdoc` and `style` (markup and CSS, not URLs) only on elements
/// whose token matches the `<meta>`'s: user-posted HTML that a sanitiser let
/// through with `data-srcdoc` cannot have the token of a response not yet
/// drawn, so it never becomes a same-origin document or a style.
pub const GATED_ATTR: &str = "data-consentry-gated";

/// Every attribute the middleware may move to `data-<name>` (a `:` written
/// `-`: `xlink:href` → `data-xlink-href`) to keep an element from fetching,
/// and so every one the page layer puts back once the element is allowed:
/// URLs only when [`may_activate_url`] says so, `srcdoc` and `style` only on
/// elements bearing this response's [`GATED_ATTR`]. (A `<meta http-equiv=
/// "refresh">`'s `content` is gated too and never put back: a page does not
/// navigate away because a visitor consented.)
pub const GATED_ATTRIBUTES: &[&str] = &[
    "src",
    "srcset",
    "poster",
    "data",
    "href",
    "xlink:href",
    "imagesrcset",
    "ping",
    "background",
    "srcdoc",
    "style",
];

/// The attribute the middleware writes, with this response's gate token, on
/// the root of the markup it renders (the banner, the opt-out link, the
/// status line). A choice (`accept-all`, `reject-all`, `opt-out`, `save`, a
/// click-to-load) counts in the page layer only from markup it inserted
/// itself, from markup with this token, or from the site's own containers
/// (`init({ actionsIn })`): user-posted HTML that kept
/// `data-consentry-action="accept-all"` records nothing. `preferences` and
/// `close` work from any element.
pub const ROOT_ATTR: &str = "data-consentry-root";

/// The gated attributes that hold markup or CSS rather than URLs.
pub const GATED_MARKUP: &[&str] = &["srcdoc", "style"];

/// What a consent button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Grant every optional category (or acknowledge, outside opt-in).
    AcceptAll,
    /// Refuse every optional category.
    RejectAll,
    /// "Do Not Sell or Share": refuse the sale/sharing categories, keep the rest.
    OptOut,
    /// Open the preferences dialog.
    Preferences,
    /// In the dialog: record the toggles as they are.
    Save,
    /// In the dialog: close it without recording.
    Close,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 6] = [
        Action::AcceptAll,
        Action::RejectAll,
        Action::OptOut,
        Action::Preferences,
        Action::Save,
        Action::Close,
    ];

    /// The attribute value, e.g. `accept-all`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::AcceptAll => "accept-all",
            Action::RejectAll => "reject-all",
            Action::OptOut => "opt-out",
            Action::Preferences => "preferences",
            Action::Save => "save",
            Action::Close => "close",
        }
    }

    /// Whether the action records a choice (and so counts only from
    /// Consentry's own markup or the site's named containers, see
    /// [`ROOT_ATTR`]); opening and closing the dialog record nothing.
    pub const fn records_choice(self) -> bool {
        !matches!(self, Action::Preferences | Action::Close)
    }

    /// The action an attribute value names.
    ///
    /// ```
    /// use consentry_core::markup::Action;
    /// assert_eq!(Action::parse("reject-all"), Some(Action::RejectAll));
    /// assert_eq!(Action::parse("Reject-All"), None);
    /// ```
    pub fn parse(value: &str) -> Option<Self> {
        Action::ALL.into_iter().find(|a| a.as_str() == value)
    }

    /// A CSS selector for this action's buttons inside `root_id`'s element,
    /// e.g. `#consentry-banner [data-consentry-action='accept-all']`.
    #[cfg(feature = "std")]
    pub fn selector_in(self, root_id: &str) -> String {
        format!("#{root_id} [{ACTION_ATTR}='{}']", self.as_str())
    }
}

/// The schemes [`may_activate_url`] lets through (with relative URLs and
/// `about:blank`).
pub const ACTIVATABLE_SCHEMES: &[&str] = &["http", "https"];

/// Whether a URL that the page author (or a user whose HTML a site shows)
/// put in a gated attribute may be made live: `http:` and `https:` URLs,
/// relative ones, and `about:blank`; never `javascript:`, `data:`,
/// `vbscript:` or any other scheme. Read as the URL parser reads it: leading
/// and trailing C0 controls and spaces dropped, tabs and newlines removed,
/// the scheme case-insensitive. The page layer applies the same rule with
/// the browser's own URL parser.
///
/// ```
/// use consentry_core::markup::may_activate_url;
/// assert!(may_activate_url("https://video.example/embed/1"));
/// assert!(may_activate_url("/embed.html") && may_activate_url("embed?x=1:2") && may_activate_url("//cdn.example/a"));
/// assert!(may_activate_url(" about:blank"));
/// assert!(!may_activate_url("javascript:alert(1)"));
/// assert!(!may_activate_url(" JaVa\tScRiPt:alert(1)"));
/// assert!(!may_activate_url("data:text/html,<script>alert(1)</script>"));
/// assert!(!may_activate_url("about:srcdoc"));
/// ```
pub fn may_activate_url(value: &str) -> bool {
    let url: alloc::string::String =
        value.trim_matches(|c: char| c <= ' ').chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    // A scheme is a letter, then letters, digits, `+`, `-`, `.`, up to a
    // `:`; anything else first (a `/`, `?`, `#`, a digit) makes it relative.
    let Some(colon) = url.find(':') else { return true };
    let scheme = &url[..colon];
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme {
        return true;
    }
    let scheme = scheme.to_ascii_lowercase();
    ACTIVATABLE_SCHEMES.contains(&scheme.as_str())
        || (scheme == "about" && url[colon + 1..].eq_ignore_ascii_case("blank"))
}
