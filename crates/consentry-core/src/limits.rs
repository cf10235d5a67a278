//! The policy format's limits, in a module of their own: the policy reader
//! enforces them and the error messages quote them, and neither needs the
//! other for that.

/// Most categories a policy may declare; the decision keeps one bit per category.
pub const MAX_CATEGORIES: usize = 64;

/// Most services a policy may declare; the decision keeps one bit per service.
pub const MAX_SERVICES: usize = 64;

/// Longest category, service or language id.
pub const MAX_ID_LEN: usize = 32;

/// Longest consent lifetime accepted in `cookie.max_age_days`: 13 months, the
/// upper bound the CNIL recommends for keeping a consent choice.
pub const MAX_AGE_DAYS_LIMIT: u32 = 395;
