//! Where the visitor is, and which consent model the law there asks for.
//!
//! | model | before any choice | the first layer | `Sec-GPC: 1` |
//! |---|---|---|---|
//! | `opt-in` (EEA, UK, CH: ePrivacy / GDPR) | optional categories off | asks: accept, reject, customise | per `signals.gpc` (default: everything optional off) |
//! | `opt-out` (US states with privacy laws: CCPA/CPRA and others) | on | a notice with "Do Not Sell or Share My Personal Information": one click opts out of the sale/sharing categories | always an opt-out of the sale/sharing categories (those laws make it one), confirmed to the visitor |
//! | `notice` | on | a notice, dismissed with OK; settings still let the visitor turn things off | per `signals.gpc` |
//! | `none` | on | nothing (the settings link still works) | per `signals.gpc` |
//!
//! In every model an explicit choice governs: a consent cookie's refusals
//! are never overridden by a region rule. Outside `opt-in` even an outdated
//! cookie keeps what it refused off (it is then shown the notice again);
//! under `opt-in`, a cookie written under another model is not consent
//! (acknowledging a notice is not agreeing) and the visitor is asked.
//!
//! The region comes from the server ([`RegionSource::Header`] from a CDN
//! header the operator trusts, [`RegionSource::GeoIp`] from a database the
//! operator provides), or is unknown, when the policy's `regions.default`
//! applies (`opt-in` unless the policy says otherwise). It is never read
//! from anything the visitor can forge unless the operator says so, and the
//! address it came from is never stored.

use crate::prelude::*;
use core::fmt;

/// What the law of a place asks of a site before it tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Model {
    /// Ask first; nothing optional runs until the visitor agrees.
    #[default]
    OptIn,
    /// Runs until the visitor opts out of sale/sharing (a visible link,
    /// one click, `Sec-GPC: 1`).
    OptOut,
    /// Runs; the visitor is told (a notice to dismiss).
    Notice,
    /// Runs; no banner.
    None,
}

impl Model {
    /// The policy's name for it (`opt-in`, `opt-out`, `notice`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OptIn => "opt-in",
            Self::OptOut => "opt-out",
            Self::Notice => "notice",
            Self::None => "none",
        }
    }

    /// Reads a policy name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "opt-in" => Some(Self::OptIn),
            "opt-out" => Some(Self::OptOut),
            "notice" => Some(Self::Notice),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    /// Every model.
    pub const ALL: [Self; 4] = [Self::OptIn, Self::OptOut, Self::Notice, Self::None];
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place: an ISO 3166-1 alpha-2 country (`FR`), optionally with an ISO
/// 3166-2 subdivision (`US-CA`). Upper case, validated, `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    code: [u8; 6],
    len: u8,
}

impl Region {
    /// Reads `FR` or `US-CA` (any case): two letters, then optionally `-`
    /// and one to three letters or digits. `None` for anything else, and
    /// for the codes CDNs and GeoIP databases use for "unknown" (`XX`,
    /// `ZZ`) or for blocs that are not places (`EU`, `AP`; Cloudflare's
    /// `T1` for Tor is not two letters).
    pub fn parse(code: &str) -> Option<Self> {
        // Byte by byte: the browser banner runs this, and a char pattern
        // search would cost it half a kilobyte.
        let b = code.as_bytes();
        if !(b.len() == 2 || (4..=6).contains(&b.len()) && b[2] == b'-') {
            return None;
        }
        let mut out = Self::country_only(b[0], b[1])?;
        for (i, c) in b.iter().enumerate().skip(3) {
            if !c.is_ascii_alphanumeric() {
                return None;
            }
            out.code[i] = c.to_ascii_uppercase();
        }
        if b.len() > 2 {
            out.code[2] = b'-';
            out.len = b.len() as u8;
        }
        Some(out)
    }

    fn country_only(a: u8, b: u8) -> Option<Self> {
        let code = [a.to_ascii_uppercase(), b.to_ascii_uppercase(), 0, 0, 0, 0];
        let known = code[0].is_ascii_uppercase()
            && code[1].is_ascii_uppercase()
            && !matches!(&code[..2], b"XX" | b"ZZ" | b"EU" | b"AP");
        known.then_some(Self { code, len: 2 })
    }

    /// From a country code and a subdivision code as CDNs send them apart
    /// (`US` and `CA`; the subdivision may also come prefixed, `US-CA`). An
    /// unusable subdivision is dropped, keeping the country.
    pub fn from_parts(country: &str, subdivision: Option<&str>) -> Option<Self> {
        let country = Self::parse(country.trim_ascii()).filter(|c| c.len == 2)?;
        let Some(sub) = subdivision.map(str::trim_ascii).filter(|s| !s.is_empty()) else {
            return Some(country);
        };
        let prefixed = sub.len() > 3
            && sub.as_bytes()[..3].eq_ignore_ascii_case(&[country.code[0], country.code[1], b'-']);
        let full =
            if prefixed { Self::parse(sub) } else { Self::parse(&format!("{}-{sub}", country.as_str())) };
        Some(full.filter(|r| r.code[..2] == country.code[..2]).unwrap_or(country))
    }

    /// `FR`, `US-CA`.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters, digits and `-` are ever stored.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// [`as_str`](Self::as_str)'s bytes (ASCII). The browser banner reads
    /// these, which spares it UTF-8 validation code.
    pub fn as_bytes(&self) -> &[u8] {
        self.code.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The country part, `US` of `US-CA`.
    pub fn country(&self) -> &str {
        self.as_str().get(..2).unwrap_or("")
    }

    /// Whether this is `entry` (a country, a subdivision or a group of
    /// [`GROUPS`]), or lies inside it.
    pub fn is_in(&self, entry: &str) -> bool {
        self.is_code(entry) || group(entry).is_some_and(|codes| codes.iter().any(|c| self.is_code(c)))
    }

    /// Whether this is the country or subdivision `code`, or lies in it.
    fn is_code(&self, code: &str) -> bool {
        let code = code.as_bytes();
        code == self.as_bytes() || code == &self.code[..2]
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Region({})", self.as_str())
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the visitor's region was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RegionSource {
    /// Not found: the policy's `regions.default` applies.
    #[default]
    Unknown,
    /// A request header the operator named as trusted (set by their CDN).
    Header,
    /// A GeoIP database file the operator provided.
    GeoIp,
    /// The browser's time zone: an approximation for static sites, which
    /// have no server to ask (see [`Regions::zone_models`]).
    TimeZone,
}

impl RegionSource {
    /// `unknown`, `header`, `geoip`, `time-zone`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Header => "header",
            Self::GeoIp => "geoip",
            Self::TimeZone => "time-zone",
        }
    }
}

/// Where a visitor is, as far as the server knows, and how it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Location {
    /// The region, if found.
    pub region: Option<Region>,
    /// How it was found.
    pub source: RegionSource,
}

impl Location {
    /// Nowhere known.
    pub const UNKNOWN: Self = Self { region: None, source: RegionSource::Unknown };

    /// A region found by `source`.
    pub fn new(region: Region, source: RegionSource) -> Self {
        Self { region: Some(region), source }
    }
}

/// The named groups a policy's `regions` rules may use, as data. Sources
/// and the date they were checked are in `docs/regions.md`.
///
/// - `EU`: the 27 member states, plus the outermost regions and Åland that
///   GeoIP databases report under their own codes (GF, GP, MQ, RE, YT, MF,
///   AX): ePrivacy Directive 2002/58/EC art. 5(3), GDPR.
/// - `EEA`: `EU` plus Iceland, Liechtenstein and Norway (the EEA Agreement).
/// - `UK`: GB (PECR reg. 6, UK GDPR). `UK` is not an ISO code; `GB` is.
/// - `US-OPT-OUT`: the 19 US states whose comprehensive privacy laws are in
///   force on 2026-11-30 and give a right to opt out of the sale of personal
///   data and of targeted advertising (CA, VA, CO, CT, UT, TX, OR, MT, IA,
///   DE, NE, NH, NJ, TN, MN, MD, IN, KY, RI).
pub const GROUPS: &[(&str, &[&str])] =
    &[("EU", EU), ("EEA", EEA), ("UK", &["GB"]), ("US-OPT-OUT", US_OPT_OUT)];

/// `EU` and `EEA` from one list of the Union's codes: the EEA is the EU
/// plus the three states named after the `;`.
macro_rules! eu_and_eea {
    ($($eu:literal),+ ; $($efta:literal),+) => {
        const EU: &[&str] = &[$($eu),+];
        const EEA: &[&str] = &[$($eu,)+ $($efta),+];
    };
}

eu_and_eea!(
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
    "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "GF", "GP", "MQ", "RE", "YT", "MF", "AX";
    "IS", "LI", "NO"
);

const US_OPT_OUT: &[&str] = &[
    "US-CA", "US-VA", "US-CO", "US-CT", "US-UT", "US-TX", "US-OR", "US-MT", "US-IA", "US-DE", "US-NE",
    "US-NH", "US-NJ", "US-TN", "US-MN", "US-MD", "US-IN", "US-KY", "US-RI",
];

/// The codes of a named group.
pub fn group(name: &str) -> Option<&'static [&'static str]> {
    GROUPS.iter().find(|(n, _)| *n == name).map(|(_, codes)| *codes)
}

/// Whether `entry` may appear in a rule's `where`: a group name, or a code
/// (see [`is_code`]).
pub fn is_valid_entry(entry: &str) -> bool {
    group(entry).is_some() || is_code(entry)
}

/// Whether `code` is a country or subdivision code as [`Region::parse`]
/// reads it, written in upper case (`FR`, `US-CA`).
pub fn is_code(code: &str) -> bool {
    Region::parse(code).is_some_and(|r| r.as_bytes() == code.as_bytes())
}

/// The IANA time zones and their countries (`data/zones.tsv`, from tzdata).
fn time_zones() -> impl Iterator<Item = (&'static str, &'static str)> {
    include_str!("../data/zones.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
}

/// One rule of the policy's `regions`: these places, this model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegionRule {
    /// Countries (`FR`), subdivisions (`US-CA`) and groups (`EEA`), as written.
    #[serde(rename = "where")]
    places: Vec<String>,
    /// The model for a visitor in one of them.
    #[serde(serialize_with = "ser_model")]
    model: Model,
    /// `places` with the groups replaced by their codes: what is matched.
    #[serde(skip)]
    codes: Vec<String>,
}

impl RegionRule {
    /// A rule; groups in `places` are expanded once, here.
    pub fn new(places: Vec<String>, model: Model) -> Self {
        let mut codes: Vec<String> = Vec::new();
        for p in &places {
            let expanded = match group(p) {
                Some(group) => group.iter().map(|c| (*c).to_owned()).collect(),
                None => vec![p.clone()],
            };
            for c in expanded {
                if !codes.contains(&c) {
                    codes.push(c);
                }
            }
        }
        Self { places, model, codes }
    }

    /// The places as written.
    pub fn places(&self) -> &[String] {
        &self.places
    }

    /// The places, groups expanded to country and subdivision codes.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.codes.iter().map(String::as_str)
    }

    /// The model for a visitor in one of the places.
    pub fn model(&self) -> Model {
        self.model
    }
}

/// The policy's `regions`: rules, first match wins, and the model for a
/// visitor no rule matches or whose region is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Regions {
    /// In order; the first rule naming the region (or its country, or a
    /// group holding either) decides.
    pub rules: Vec<RegionRule>,
    /// Everywhere else, and when the region is unknown. `opt-in` unless the
    /// policy says otherwise.
    #[serde(serialize_with = "ser_model")]
    pub default: Model,
}

fn ser_model<S: serde::Serializer>(m: &Model, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

impl Regions {
    /// The model for a visitor in `region` (`None`: unknown).
    pub fn model_for(&self, region: Option<Region>) -> Model {
        region
            .and_then(|r| self.rules.iter().find(|rule| rule.codes().any(|c| r.is_code(c))))
            .map_or(self.default, |rule| rule.model)
    }

    /// Whether every visitor gets `opt-in` (no rule says otherwise): the
    /// policy as it was before regions existed.
    pub fn is_opt_in_everywhere(&self) -> bool {
        self.models().all(|m| m == Model::OptIn)
    }

    /// For a static site, which has no server to say where the visitor is:
    /// the model per IANA time zone (as `Intl.DateTimeFormat` reports it),
    /// for the zones whose model is not the default. An approximation, and
    /// a cautious one: a zone counts for its country (tzdata's `zone.tab`),
    /// and the model is the strictest of that country's and of every
    /// subdivision of it a rule names (a zone does not say which US state
    /// the visitor is in, so `America/Los_Angeles` is opt-in when California
    /// is opt-out but the rest of the US opt-in). Strictest first: opt-in,
    /// opt-out, notice, none.
    pub fn zone_models(&self) -> Vec<(&'static str, Model)> {
        if self.is_opt_in_everywhere() {
            return Vec::new();
        }
        let strictness = |m: Model| match m {
            Model::OptIn => 0,
            Model::OptOut => 1,
            Model::Notice => 2,
            Model::None => 3,
        };
        let mut out = Vec::new();
        for (zone, country) in time_zones() {
            let Some(region) = Region::parse(country) else { continue };
            let mut model = self.model_for(Some(region));
            for code in self.rules.iter().flat_map(RegionRule::codes) {
                if code.len() > 3 && code.get(..2) == Some(country) && code.as_bytes().get(2) == Some(&b'-') {
                    let m = self.model_for(Region::parse(code));
                    if strictness(m) < strictness(model) {
                        model = m;
                    }
                }
            }
            if model != self.default {
                out.push((zone, model));
            }
        }
        out
    }

    fn models(&self) -> impl Iterator<Item = Model> + '_ {
        core::iter::once(self.default).chain(self.rules.iter().map(|r| r.model))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(s: &str) -> Region {
        Region::parse(s).unwrap_or_else(|| panic!("{s} parses"))
    }

    #[test]
    fn codes_are_read_in_any_case_and_bad_ones_refused() {
        assert_eq!(region("fr").as_str(), "FR");
        assert_eq!(region("us-ca").as_str(), "US-CA");
        assert_eq!(region("GB-ENG").country(), "GB");
        for bad in [
            "",
            "F",
            "FRA",
            "T1",
            "XX",
            "zz",
            "EU",
            "1A",
            "F\u{e9}",
            "US-",
            "US-CALI",
            "-CA",
            "US_CA",
            "US-C\u{e9}",
        ] {
            assert_eq!(Region::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cdn_headers_give_country_and_subdivision_apart() {
        assert_eq!(Region::from_parts("US", Some("CA")).map(|r| r.to_string()), Some("US-CA".into()));
        assert_eq!(Region::from_parts("us", Some("US-TX")).map(|r| r.to_string()), Some("US-TX".into()));
        assert_eq!(Region::from_parts("DE", Some("")).map(|r| r.to_string()), Some("DE".into()));
        assert_eq!(Region::from_parts("DE", Some("Bayern")).map(|r| r.to_string()), Some("DE".into()));
        assert_eq!(Region::from_parts("XX", Some("CA")), None);
    }

    #[test]
    fn regions_lie_in_their_countries_and_groups() {
        assert!(region("FR").is_in("EEA") && region("FR").is_in("EU") && region("FR").is_in("FR"));
        assert!(region("NO").is_in("EEA") && !region("NO").is_in("EU"));
        assert!(region("GB").is_in("UK") && !region("GB").is_in("EEA"));
        assert!(region("US-CA").is_in("US-OPT-OUT") && region("US-CA").is_in("US"));
        assert!(!region("US").is_in("US-OPT-OUT") && !region("US-WA").is_in("US-OPT-OUT"));
        assert!(!region("CH").is_in("EEA") && region("CH").is_in("CH"));
        assert!(!region("US").is_in("US-CA"));
    }

    #[test]
    fn first_matching_rule_wins_and_unknown_gets_the_default() {
        let regions = Regions {
            rules: vec![
                RegionRule::new(vec!["US-CA".into()], Model::OptOut),
                RegionRule::new(vec!["US".into()], Model::Notice),
                RegionRule::new(vec!["EEA".into(), "UK".into(), "CH".into()], Model::OptIn),
            ],
            default: Model::None,
        };
        assert_eq!(regions.model_for(Some(region("US-CA"))), Model::OptOut);
        assert_eq!(regions.model_for(Some(region("US-WA"))), Model::Notice);
        assert_eq!(regions.model_for(Some(region("US"))), Model::Notice);
        assert_eq!(regions.model_for(Some(region("DE"))), Model::OptIn);
        assert_eq!(regions.model_for(Some(region("JP"))), Model::None);
        assert_eq!(regions.model_for(None), Model::None);
        assert_eq!(Regions::default().model_for(Some(region("US-CA"))), Model::OptIn);
    }

    #[test]
    fn time_zones_give_the_strictest_model_of_their_country() {
        let regions = Regions {
            rules: vec![
                RegionRule::new(vec!["EEA".into(), "UK".into()], Model::OptIn),
                RegionRule::new(vec!["US-CA".into()], Model::OptOut),
                RegionRule::new(vec!["JP".into()], Model::Notice),
            ],
            default: Model::None,
        };
        let zones = regions.zone_models();
        let model = |z: &str| zones.iter().find(|(zone, _)| *zone == z).map(|(_, m)| *m);
        assert_eq!(model("Europe/Paris"), Some(Model::OptIn));
        assert_eq!(model("Europe/London"), Some(Model::OptIn));
        assert_eq!(model("Asia/Tokyo"), Some(Model::Notice));
        // California is opt-out, the rest of the US `none`: a US zone cannot
        // tell them apart, so the stricter of the two.
        assert_eq!(model("America/Los_Angeles"), Some(Model::OptOut));
        assert_eq!(model("America/New_York"), Some(Model::OptOut));
        assert_eq!(model("Asia/Calcutta"), None, "India: the default, not listed");
        assert_eq!(Regions::default().zone_models(), vec![]);
        for (zone, country) in time_zones() {
            assert!(zone.contains('/') && Region::parse(country).is_some(), "{zone} {country}");
        }
    }

    #[test]
    fn group_data_holds_valid_distinct_codes() {
        for (name, codes) in GROUPS {
            assert!(is_valid_entry(name), "{name}");
            for (i, c) in codes.iter().enumerate() {
                assert!(Region::parse(c).is_some_and(|r| r.as_str() == *c), "{name}: {c}");
                assert!(!codes[..i].contains(c), "{name}: {c} twice");
            }
        }
        assert_eq!(group("EU").map(|g| g.len()), Some(27 + 7));
        assert_eq!(group("EEA").map(|g| g.len()), Some(27 + 7 + 3));
        assert_eq!(group("US-OPT-OUT").map(|g| g.len()), Some(19));
        // ISO codes only: Greece is GR (not EL), the UK is GB.
        assert!(group("EU").is_some_and(|g| g.contains(&"GR") && !g.contains(&"EL")));
        assert!(is_valid_entry("US-CA") && is_valid_entry("FR") && !is_valid_entry("fr"));
        assert!(!is_valid_entry("EAA") && !is_valid_entry("XX"));
    }
}
