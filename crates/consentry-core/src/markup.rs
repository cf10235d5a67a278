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
