//! Proof of consent (GDPR art. 7(1)): what was chosen, when, under which policy.
//!
//! A receipt holds nothing that identifies the person beyond the random
//! consent id kept in their own cookie: no IP address, no user agent.

use crate::prelude::*;
use serde::{Deserialize, Serialize};

use crate::consent::ConsentId;
use crate::signals::Signals;

/// How a choice was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChoiceMethod {
    /// Every optional category granted.
    AcceptAll,
    /// No optional category granted (and none withdrawn).
    RejectAll,
    /// Some categories granted, others not.
    Custom,
    /// A category granted before is no longer granted.
    Withdrawal,
    /// "Do Not Sell or Share My Personal Information" (the `opt-out`
    /// model): the sale/sharing categories turned off, the rest kept.
    OptOut,
}

impl ChoiceMethod {
    /// Classifies a choice: `granted_optional` of `optional_total` optional
    /// categories granted whole, `services_alone` services granted on their
    /// own, `withdrew` when an earlier consent granted something this
    /// choice does not.
    pub fn classify(
        granted_optional: usize,
        services_alone: usize,
        optional_total: usize,
        withdrew: bool,
    ) -> Self {
        if withdrew {
            Self::Withdrawal
        } else if granted_optional == optional_total && optional_total > 0 {
            Self::AcceptAll
        } else if granted_optional == 0 && services_alone == 0 {
            Self::RejectAll
        } else {
            Self::Custom
        }
    }

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AcceptAll => "accept-all",
            Self::RejectAll => "reject-all",
            Self::Custom => "custom",
            Self::Withdrawal => "withdrawal",
            Self::OptOut => "opt-out",
        }
    }

    /// Reads [`as_str`](Self::as_str)'s names (what the receipt stores keep).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::AcceptAll, Self::RejectAll, Self::Custom, Self::Withdrawal, Self::OptOut]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// The signals seen with a choice, as stored in a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct SignalsSeen {
    /// `DNT: 1` was present.
    pub dnt: bool,
    /// `Sec-GPC: 1` was present.
    pub gpc: bool,
}

impl From<Signals> for SignalsSeen {
    fn from(s: Signals) -> Self {
        Self { dnt: s.dnt, gpc: s.gpc }
    }
}

/// One stored choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The consent id, as in the visitor's cookie.
    pub id: String,
    /// When, in Unix seconds (UTC).
    pub at: u64,
    /// Policy revision in force.
    pub revision: u32,
    /// SHA-256 (hex) of the policy document as served.
    pub policy_hash: String,
    /// Categories granted (required ones included).
    pub granted: Vec<String>,
    /// Categories denied.
    pub denied: Vec<String>,
    /// Privacy signals present on the request.
    pub signals: SignalsSeen,
    /// How the choice was made.
    pub method: ChoiceMethod,
}

impl Receipt {
    /// The consent id, parsed.
    pub fn consent_id(&self) -> Option<ConsentId> {
        ConsentId::parse(&self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_classified_by_what_they_grant_and_withdraw() {
        assert_eq!(ChoiceMethod::classify(2, 0, 2, false), ChoiceMethod::AcceptAll);
        assert_eq!(ChoiceMethod::classify(0, 0, 2, false), ChoiceMethod::RejectAll);
        assert_eq!(ChoiceMethod::classify(1, 0, 2, false), ChoiceMethod::Custom);
        assert_eq!(ChoiceMethod::classify(0, 0, 2, true), ChoiceMethod::Withdrawal);
        assert_eq!(ChoiceMethod::classify(0, 0, 0, false), ChoiceMethod::RejectAll);
        assert_eq!(ChoiceMethod::classify(0, 1, 2, false), ChoiceMethod::Custom, "one service on its own");
    }
}
