//! Errors a user can act on: what is wrong and where.

use crate::prelude::*;
use core::fmt;

/// A policy document that cannot be used, with the JSON path of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    path: String,
    problem: Problem,
}

impl PolicyError {
    pub(crate) fn at(path: impl Into<String>, problem: Problem) -> Self {
        Self { path: path.into(), problem }
    }

    pub(crate) fn syntax(e: serde_json::Error) -> Self {
        Self {
            path: String::new(),
            problem: Problem::Syntax { line: e.line(), column: e.column(), message: e.to_string() },
        }
    }

    /// JSON path of the offending value, e.g. `services[1].category`; empty for
    /// the document itself.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "policy: {}", self.problem)
        } else {
            write!(f, "policy at `{}`: {}", self.path, self.problem)
        }
    }
}

impl core::error::Error for PolicyError {}

/// The kinds of policy problems.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Not JSON at all.
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// Valid JSON that does not fit the schema: unknown field, wrong type,
    /// missing field (the message names it).
    Schema {
        /// The deserializer's message, e.g. "unknown field `colour`, expected one of ...".
        message: String,
    },
    /// `revision` must start at 1.
    RevisionZero,
    /// No categories declared.
    NoCategories,
    /// More than [`MAX_CATEGORIES`](crate::MAX_CATEGORIES).
    TooManyCategories {
        /// How many were declared.
        count: usize,
    },
    /// More than [`MAX_SERVICES`](crate::MAX_SERVICES).
    TooManyServices {
        /// How many were declared.
        count: usize,
    },
    /// A service with the id of a category (a consent lists both side by side).
    ServiceNamedLikeCategory {
        /// The id.
        id: String,
    },
    /// An id that is not `[a-z][a-z0-9_-]*` of at most 32 bytes.
    InvalidId {
        /// The id.
        id: String,
    },
    /// The same id twice.
    DuplicateId {
        /// The id.
        id: String,
    },
    /// A reference to a category that the policy does not declare.
    UnknownCategory {
        /// The id referenced.
        id: String,
        /// The ids declared.
        known: Vec<String>,
    },
    /// Not a cookie-name token.
    InvalidCookieName {
        /// The name.
        name: String,
    },
    /// A cookie `Path` or `Domain` that cannot be sent as an attribute.
    InvalidCookieAttribute {
        /// The value.
        value: String,
    },
    /// `max_age_days` outside 1..=395.
    MaxAge {
        /// The value.
        days: u32,
    },
    /// Not an `http(s)://` URL nor a path starting with `/`.
    InvalidUrl {
        /// The URL.
        url: String,
    },
    /// Matomo's base URL must end with `/`.
    MatomoUrlSlash {
        /// The URL.
        url: String,
    },
    /// Matomo site ids are decimal numbers.
    MatomoSiteId {
        /// The value.
        value: String,
    },
    /// Not a GA4 measurement id (`G-` and 4 to 20 upper-case letters or digits).
    MeasurementId {
        /// The value.
        value: String,
    },
    /// Not a GTM container id (`GTM-` and 4 to 20 upper-case letters or digits).
    ContainerId {
        /// The value.
        value: String,
    },
    /// A cookie or URL pattern that is empty, too long or has forbidden characters.
    InvalidPattern {
        /// The pattern.
        pattern: String,
    },
    /// A custom service with neither `patterns` nor `config.src` can never be recognised.
    CustomWithoutPattern,
    /// Not a BCP 47 language tag such as `en` or `fr-CH`.
    InvalidLanguage {
        /// The tag.
        tag: String,
    },
    /// A language Consentry has no built-in texts for must give every text.
    MissingText {
        /// The language.
        lang: String,
        /// The missing key.
        key: String,
    },
    /// A `regions` rule with an empty `where`.
    NoPlaces,
    /// Not a country code (`FR`), a subdivision code (`US-CA`) or a group.
    UnknownRegion {
        /// The entry.
        entry: String,
    },
    /// A required category cannot be opted out of, so cannot be sold or shared.
    RequiredSaleSharing,
    /// A category other than the standard ones needs a title in each language.
    MissingCategoryTitle {
        /// The language.
        lang: String,
        /// The category.
        category: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { line, column, message } => {
                write!(f, "not valid JSON at line {line}, column {column}: {message}")
            }
            Self::Schema { message } => f.write_str(message),
            Self::RevisionZero => f.write_str("revision must be 1 or more"),
            Self::NoCategories => f.write_str("declare at least one category (e.g. `essential`)"),
            Self::TooManyCategories { count } => {
                write!(f, "{count} categories declared, at most {} allowed", crate::MAX_CATEGORIES)
            }
            Self::TooManyServices { count } => {
                write!(f, "{count} services declared, at most {} allowed", crate::MAX_SERVICES)
            }
            Self::ServiceNamedLikeCategory { id } => write!(
                f,
                "service id `{id}` is also a category id; give it another (a consent lists categories and services together)"
            ),
            Self::InvalidId { id } => write!(
                f,
                "id `{id}` must start with a-z and contain only a-z, 0-9, `_` and `-` (at most 32 bytes)"
            ),
            Self::DuplicateId { id } => write!(f, "id `{id}` is declared twice"),
            Self::UnknownCategory { id, known } => {
                write!(f, "unknown category `{id}` (declared: {})", known.join(", "))
            }
            Self::InvalidCookieName { name } => {
                write!(f, "`{name}` is not a valid cookie name (1-64 token characters)")
            }
            Self::InvalidCookieAttribute { value } => write!(f, "`{value}` is not a valid cookie attribute"),
            Self::MaxAge { days } => write!(
                f,
                "max_age_days is {days}; it must be between 1 and {} (13 months, the CNIL guideline)",
                crate::MAX_AGE_DAYS_LIMIT
            ),
            Self::InvalidUrl { url } => {
                write!(f, "`{url}` is neither an http(s):// URL nor a path starting with `/`")
            }
            Self::MatomoUrlSlash { url } => write!(f, "Matomo url `{url}` must end with `/`"),
            Self::MatomoSiteId { value } => write!(f, "Matomo site_id `{value}` must be a decimal number"),
            Self::MeasurementId { value } => {
                write!(
                    f,
                    "`{value}` is not a GA4 measurement id (expected `G-` then letters/digits, e.g. `G-AB12CD34`)"
                )
            }
            Self::ContainerId { value } => {
                write!(f, "`{value}` is not a GTM container id (expected `GTM-` then letters/digits)")
            }
            Self::InvalidPattern { pattern } => write!(
                f,
                "pattern `{pattern}` must be 1-200 printable characters without spaces, quotes or `;`"
            ),
            Self::CustomWithoutPattern => {
                f.write_str("a custom service needs `patterns` or `config.src` so its tags can be recognised")
            }
            Self::InvalidLanguage { tag } => {
                write!(f, "`{tag}` is not a language tag such as `en` or `fr-CH`")
            }
            Self::MissingText { lang, key } => {
                write!(f, "language `{lang}` has no built-in texts, so `{key}` must be given")
            }
            Self::NoPlaces => f.write_str("a rule needs at least one place in `where`"),
            Self::UnknownRegion { entry } => write!(
                f,
                "`{entry}` is not a place: write an ISO 3166-1 country code (`FR`), an ISO 3166-2 subdivision (`US-CA`), in upper case, or a group ({})",
                crate::region::GROUPS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
            Self::RequiredSaleSharing => f.write_str(
                "a required category cannot be marked `sale_sharing`: visitors could not opt out of it",
            ),
            Self::MissingCategoryTitle { lang, category } => write!(
                f,
                "category `{category}` is not a standard one, so texts.{lang}.categories.{category}.title must be given"
            ),
        }
    }
}

/// A visitor's choice named an id the policy does not declare (the consent
/// endpoint answers 400 with it; the page layer's `set()` rejects with the
/// same words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownId {
    /// The id as the choice wrote it.
    pub id: String,
    categories: Vec<String>,
    services: Vec<String>,
}

impl UnknownId {
    pub(crate) fn new(id: &str, categories: Vec<String>, services: Vec<String>) -> Self {
        Self { id: id.to_owned(), categories, services }
    }
}

impl fmt::Display for UnknownId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |ids: &[String]| if ids.is_empty() { "none".to_owned() } else { ids.join(", ") };
        write!(
            f,
            "unknown category or service `{}` (categories: {}; services: {})",
            self.id,
            list(&self.categories),
            list(&self.services)
        )
    }
}

impl core::error::Error for UnknownId {}
