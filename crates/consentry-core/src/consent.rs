//! The consent cookie: what the visitor chose, when, and under which revision.
//!
//! # Format, version 1
//!
//! ```text
//! v1.<revision>.<unix-seconds>.<granted>.<consent-id>
//! v1.3.1763900000.advertising~analytics.q3Jf0aZxT2y9LmN8pR4tVw
//! ```
//!
//! - `revision`: decimal, 1 to 4294967295, no leading zero;
//! - `unix-seconds`: decimal, when the choice was made, at most 12 digits;
//! - `granted`: the granted category ids, and the ids of services granted on
//!   their own (their category not granted whole: `ga4` without `analytics`
//!   allows Google Analytics alone), joined by `~`, sorted (byte order) when
//!   written, read in any order (this documentation's first example listed
//!   them unsorted, and cookies copied from it stay readable), no duplicates,
//!   possibly empty (`v1.3.1763900000..id` is "reject all"); ids use the
//!   policy-id alphabet `[a-z0-9_-]`, so the value needs no escaping (a
//!   policy gives no service the id of a category). Cookies written before
//!   services could be granted list category ids only and read as before;
//!   a release without per-service consent reads a service id as an unknown
//!   category, which grants nothing;
//! - `consent-id`: 16 to 43 characters of base64url, the receipt id (22 for
//!   the 16 random bytes Consentry generates).
//!
//! # Format, version 2: a choice made outside the opt-in model
//!
//! ```text
//! v2.<revision>.<unix-seconds>.<granted>.<consent-id>.<model>
//! v2.3.1763900000.analytics.q3Jf0aZxT2y9LmN8pR4tVw.o
//! ```
//!
//! The same fields, then the consent model the choice was made under: `o`
//! (`opt-out`: the visitor dismissed a notice or opted out) or `n`
//! (`notice`, `none`). Choices made under `opt-in` are always written as
//! version 1, so cookies of earlier versions read exactly as before and
//! earlier banners keep reading every cookie an opt-in visitor has. Where
//! the model is `opt-in`, a version-2 cookie is not consent (acknowledging
//! a notice is not agreeing; see [`crate::region`]).
//!
//! Every byte is an RFC 6265 cookie-octet and URL-safe. The default policy's
//! cookie is about 60 bytes. Anything else — another version, a field out of
//! range, a duplicate id, more than 128 ids, more than [`MAX_COOKIE_LEN`] bytes —
//! decodes to an error, which callers treat as "no consent". Ids the policy
//! does not know are kept (a newer policy may know them) but never grant
//! anything.

use crate::prelude::*;

use crate::decimal::decimal;
pub use crate::decimal::push_decimal;
use core::fmt;

use crate::policy::{MAX_CATEGORIES, MAX_SERVICES, is_valid_id};
use crate::region::Model;
use crate::split::{split, split_once};

/// Most ids a consent lists: every category and every service.
const MAX_GRANTS: usize = MAX_CATEGORIES + MAX_SERVICES;

/// Longest cookie value the decoder looks at.
pub const MAX_COOKIE_LEN: usize = 512;

const ID_MIN: usize = 16;
const ID_MAX: usize = 43;

/// Random id of one consent choice; also the receipt id.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsentId(String);

impl ConsentId {
    /// Builds an id from 16 random bytes (the caller supplies the randomness:
    /// `getrandom` on the server): their base64url, 22 characters. The
    /// browser's page layer writes the same form from
    /// `crypto.getRandomValues` and hands it to the rules module as text,
    /// which [`parse`](Self::parse)s it.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(base64url(&bytes))
    }

    /// Parses an id received from outside (a cookie, a URL).
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (ID_MIN..=ID_MAX).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConsentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ConsentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConsentId({})", self.0)
    }
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A decoded consent cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    revision: u32,
    given_at: u64,
    granted: Vec<String>,
    id: ConsentId,
    model: Model,
}

/// Why a cookie value is not a consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// Longer than [`MAX_COOKIE_LEN`].
    TooLong,
    /// Not `v1.` — written by another version or another tool.
    UnknownVersion,
    /// Wrong number of fields, or a field that does not parse.
    Malformed,
    /// More than 128 granted ids, or one twice.
    BadGrantList,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLong => "consent cookie too long",
            Self::UnknownVersion => "consent cookie of an unknown version",
            Self::Malformed => "malformed consent cookie",
            Self::BadGrantList => "consent cookie with an invalid list of categories",
        })
    }
}

impl core::error::Error for DecodeError {}

impl Consent {
    /// A new consent granting `granted` (ids are sorted and deduplicated; ids
    /// that are not valid category ids are dropped).
    pub fn new<I, S>(revision: u32, given_at: u64, granted: I, id: ConsentId) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        // Sorted and deduplicated by insertion: at most 128 short ids, and the
        // browser banner is spared the general sort's kilobytes of code.
        let mut sorted: Vec<String> = Vec::new();
        for g in granted.into_iter().map(Into::<String>::into).filter(|g| is_valid_id(g)) {
            if let Err(at) = sorted.binary_search(&g) {
                sorted.insert(at, g);
            }
        }
        sorted.truncate(MAX_GRANTS);
        Self { revision, given_at, granted: sorted, id, model: Model::OptIn }
    }

    /// The same choice, made under `model` (the default is `opt-in`; see
    /// the format's version 2 above).
    pub fn under(mut self, model: Model) -> Self {
        self.model = model;
        self
    }

    /// The consent model the choice was made under: `opt-in`, `opt-out` or
    /// `notice` (choices made under `none` read back as `notice`).
    pub fn model(&self) -> Model {
        match self.model {
            Model::None => Model::Notice,
            m => m,
        }
    }

    /// Policy revision the choice was made under.
    pub fn revision(&self) -> u32 {
        self.revision
    }

    /// When the choice was made, in Unix seconds.
    pub fn given_at(&self) -> u64 {
        self.given_at
    }

    /// Granted category ids, sorted.
    pub fn granted(&self) -> &[String] {
        &self.granted
    }

    /// Whether `category` is among the granted ids.
    pub fn grants(&self, category: &str) -> bool {
        self.granted.binary_search_by(|g| g.as_str().cmp(category)).is_ok()
    }

    /// The consent (receipt) id.
    pub fn id(&self) -> &ConsentId {
        &self.id
    }

    /// The cookie value.
    pub fn encode(&self) -> String {
        // Built by hand, not with `format!`: this runs in the browser banner,
        // whose size would grow by the whole formatting machinery.
        let mut out = String::with_capacity(64);
        let tag = match self.model {
            Model::OptIn => None,
            Model::OptOut => Some(".o"),
            Model::Notice | Model::None => Some(".n"),
        };
        out.push_str(if tag.is_some() { "v2." } else { "v1." });
        push_decimal(&mut out, u64::from(self.revision));
        out.push('.');
        push_decimal(&mut out, self.given_at);
        out.push('.');
        for (i, g) in self.granted.iter().enumerate() {
            if i > 0 {
                out.push('~');
            }
            out.push_str(g);
        }
        out.push('.');
        out.push_str(self.id.as_str());
        if let Some(tag) = tag {
            out.push_str(tag);
        }
        out
    }

    /// Decodes a cookie value. Never panics; anything unexpected is an error.
    pub fn decode(value: &str) -> Result<Self, DecodeError> {
        if value.len() > MAX_COOKIE_LEN {
            return Err(DecodeError::TooLong);
        }
        // RFC 6265 allows a cookie value in double quotes. (`&str` patterns
        // here and in the cookie checks: a `char` pattern brings a UTF-8
        // encoder into the browser banner.)
        let value = value.strip_prefix("\"").and_then(|v| v.strip_suffix("\"")).unwrap_or(value);
        let (v2, rest) = match (value.strip_prefix("v1."), value.strip_prefix("v2.")) {
            (Some(rest), _) => (false, rest),
            (_, Some(rest)) => (true, rest),
            _ => return Err(DecodeError::UnknownVersion),
        };
        let mut fields = split(rest, b'.');
        let (Some(rev), Some(time), Some(granted), Some(id)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(DecodeError::Malformed);
        };
        // Version 1 has no model field, version 2 has one.
        let model = match (v2, fields.next(), fields.next()) {
            (false, None, _) => Model::OptIn,
            (true, Some("o"), None) => Model::OptOut,
            (true, Some("n"), None) => Model::Notice,
            _ => return Err(DecodeError::Malformed),
        };
        let revision = decimal(rev, 10).and_then(|r| u32::try_from(r).ok()).filter(|&r| r > 0);
        let given_at = decimal(time, 12);
        let (Some(revision), Some(given_at)) = (revision, given_at) else {
            return Err(DecodeError::Malformed);
        };
        let id = ConsentId::parse(id).ok_or(DecodeError::Malformed)?;
        let mut list = Vec::new();
        if !granted.is_empty() {
            for g in split(granted, b'~') {
                if !is_valid_id(g) {
                    return Err(DecodeError::BadGrantList);
                }
                if list.len() == MAX_GRANTS {
                    return Err(DecodeError::BadGrantList);
                }
                // Kept sorted by insertion; a duplicate is malformed.
                match list.binary_search_by(|o: &String| o.as_str().cmp(g)) {
                    Ok(_) => return Err(DecodeError::BadGrantList),
                    Err(at) => list.insert(at, g.to_owned()),
                }
            }
        }
        Ok(Self { revision, given_at, granted: list, id, model })
    }
}

/// Finds the values of cookie `name` in one `Cookie` request header.
///
/// Tolerates any bytes: pairs that are not `name=value` or not UTF-8 are
/// skipped. Yields every occurrence (a browser may send the same name twice,
/// e.g. one host cookie and one for the parent domain).
///
/// A pair's key is its text before the first `=`, trimmed. Each pair is
/// looked at only as far as its first byte unless it starts like the name,
/// which is most of the work saved on a request carrying a dozen other
/// cookies.
pub fn cookie_values<'h>(header: &'h [u8], name: &'h str) -> impl Iterator<Item = &'h str> + 'h {
    let name = name.as_bytes();
    // No key holds `=` or `;`, or starts or ends with a space or tab: such
    // a name is never found.
    let blank = |b: &u8| matches!(b, b' ' | b'\t');
    let keyable = !name.iter().any(|&b| b == b'=' || b == b';')
        && !name.first().is_some_and(blank)
        && !name.last().is_some_and(blank);
    // Where the next pair starts; `None` once the header is read.
    let mut from = keyable.then_some(0);
    core::iter::from_fn(move || {
        while let Some(start) = from {
            let rest = header.get(start..)?;
            let end = rest.iter().position(|&b| b == b';');
            from = end.map(|e| start + e + 1);
            let pair = trim_start(rest.get(..end.unwrap_or(rest.len()))?);
            // The key is the name when the pair starts with it and then,
            // after blanks, comes `=`. The first byte first: most pairs are
            // other cookies.
            if name.first().is_some_and(|f| pair.first() != Some(f)) || !pair.starts_with(name) {
                continue;
            }
            let after = trim_start(pair.get(name.len()..)?);
            if let Some(Ok(v)) = after.strip_prefix(b"=").map(|v| core::str::from_utf8(trim(v))) {
                return Some(v);
            }
        }
        None
    })
}

/// [`trim`] for text: spaces and tabs only, as the header reader trims
/// (byte by byte: a char-pattern trim costs the browser banner a kilobyte).
fn trim_str(s: &str) -> &str {
    let b = s.as_bytes();
    let start = b.iter().position(|c| !matches!(c, b' ' | b'\t')).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !matches!(c, b' ' | b'\t')).map_or(start, |i| i + 1);
    // Both ends sit next to ASCII bytes (or the text's ends): char boundaries.
    s.get(start..end).unwrap_or("")
}

fn trim(s: &[u8]) -> &[u8] {
    let mut s = trim_start(s);
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    s
}

/// The consent in a set of `Cookie` headers.
///
/// When the cookie appears more than once with different valid values, the
/// most restrictive one wins (fewest grants, then the oldest): a duplicate
/// can never widen what the visitor granted. Stops looking after 64
/// occurrences, so a request stuffed with copies costs a bounded amount.
pub fn consent_from_headers<'h, I>(headers: I, name: &'h str) -> Option<Consent>
where
    I: IntoIterator<Item = &'h [u8]>,
{
    most_restrictive(headers.into_iter().flat_map(|h| cookie_values(h, name)))
}

/// [`consent_from_headers`] for a cookie string already known to be text,
/// such as `document.cookie` in the browser banner (which so carries no
/// UTF-8 validation code).
pub fn consent_from_cookie_string(cookies: &str, name: &str) -> Option<Consent> {
    let values = split(cookies, b';').filter_map(move |pair| {
        let (k, v) = split_once(pair, b'=')?;
        (trim_str(k) == name).then(|| trim_str(v))
    });
    most_restrictive(values)
}

/// The rule of [`consent_from_headers`] over the cookie's values.
fn most_restrictive<'v>(values: impl Iterator<Item = &'v str>) -> Option<Consent> {
    let mut best: Option<Consent> = None;
    for value in values.take(64) {
        let Ok(c) = Consent::decode(value) else { continue };
        let c_model = c.model;
        let mut merged = match best.take() {
            None => c,
            Some(mut b) => {
                let b_in_c = b.granted.iter().all(|g| c.grants(g));
                let c_in_b = c.granted.iter().all(|g| b.grants(g));
                // The copy that grants less; of two that grant the same, the
                // older; of two that disagree, what both grant (the rest of
                // the first). Retaining in place rather than collecting a
                // copy: the browser banner runs this.
                if c_in_b && !(b_in_c && b.given_at <= c.given_at) {
                    c
                } else {
                    b.granted.retain(|g| c.grants(g));
                    b
                }
            }
        };
        // Consent only if every copy is: a notice acknowledged in one copy
        // makes the merged choice no consent where opt-in applies.
        if merged.model == Model::OptIn {
            merged.model = c_model;
        }
        best = Some(merged);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> ConsentId {
        ConsentId::from_random([7; 16])
    }

    #[test]
    fn encodes_the_documented_format() {
        let c = Consent::new(3, 1_763_900_000, ["analytics", "advertising"], id());
        assert_eq!(c.encode(), format!("v1.3.1763900000.advertising~analytics.{}", id()));
        assert_eq!(id().as_str().len(), 22);
    }

    #[test]
    fn reject_all_is_an_empty_grant_list() {
        let c = Consent::new(1, 5, Vec::<String>::new(), id());
        let s = c.encode();
        assert!(s.contains(".."));
        assert_eq!(Consent::decode(&s), Ok(c));
    }

    #[test]
    fn hostile_values_decode_to_errors() {
        let good = Consent::new(2, 100, ["analytics"], id()).encode();
        let cases = [
            String::new(),
            "v2.1.1.analytics.AAAAAAAAAAAAAAAAAAAAAA".into(),
            "v1.0.1.analytics.AAAAAAAAAAAAAAAAAAAAAA".into(),
            "v1.01.1.analytics.AAAAAAAAAAAAAAAAAAAAAA".into(),
            "v1.-1.1.analytics.AAAAAAAAAAAAAAAAAAAAAA".into(),
            "v1.1.1.analytics~analytics.AAAAAAAAAAAAAAAAAAAAAA".into(),
            "v1.1.1.Analytics.AAAAAAAAAAAAAAAAAAAAAA".into(),
            "v1.1.1.analytics.short".into(),
            "v1.1.1.analytics.AAAAAAAAAAAAAAAAAAAAAA.extra".into(),
            "v1.99999999999.1.analytics.AAAAAAAAAAAAAAAAAAAAAA".into(),
            "v1.1.1.<script>.AAAAAAAAAAAAAAAAAAAAAA".into(),
            format!("{good}{}", "x".repeat(600)),
            good[..good.len() - 10].to_owned(),
        ];
        for case in cases {
            assert!(Consent::decode(&case).is_err(), "{case:?} decoded");
        }
    }

    #[test]
    fn finds_the_cookie_among_others_and_skips_garbage() {
        let c = Consent::new(1, 9, ["analytics"], id()).encode();
        let header = format!("a=b; =x; junk; \u{e9}=1;  consentry={c} ; other=2");
        let found: Vec<_> = cookie_values(header.as_bytes(), "consentry").collect();
        assert_eq!(found, vec![c.as_str()]);
        let bytes = [b"consentry=\xff\xfe; x=1".as_slice()];
        assert_eq!(consent_from_headers(bytes, "consentry"), None);
    }

    #[test]
    fn duplicate_cookies_keep_the_most_restrictive_choice() {
        let all = Consent::new(1, 10, ["advertising", "analytics"], id()).encode();
        let some = Consent::new(1, 20, ["analytics"], id()).encode();
        let header = format!("consentry={all}; consentry={some}");
        let c = consent_from_headers([header.as_bytes()], "consentry").expect("found");
        assert_eq!(c.granted(), ["analytics"]);
        let disjoint_a = Consent::new(1, 10, ["advertising"], id()).encode();
        let disjoint_b = Consent::new(1, 10, ["analytics"], id()).encode();
        let header = format!("consentry={disjoint_a}; consentry={disjoint_b}");
        let c = consent_from_headers([header.as_bytes()], "consentry").expect("found");
        assert!(c.granted().is_empty());
    }

    #[test]
    fn quoted_values_are_accepted() {
        let c = Consent::new(1, 9, ["analytics"], id());
        assert_eq!(Consent::decode(&format!("\"{}\"", c.encode())), Ok(c));
    }
}
