//! Where a visitor is: from request headers the operator trusts because
//! their CDN sets them, or (feature `geoip`) from a MaxMind DB file the
//! operator provides, looked up by the client's address. Never from a
//! header nobody named, so a visitor cannot move themselves to a laxer law
//! by sending one; the address a region comes from is never stored.

use consentry_core::{Location, Region, RegionSource};
use http::HeaderMap;
use http::header::HeaderName;

/// The request headers a CDN puts the visitor's country (ISO 3166-1
/// alpha-2) and subdivision (the part of the ISO 3166-2 code after the
/// country, e.g. `CA` for California; a prefixed `US-CA` is read too) in.
///
/// Trust them only when every request reaches the server through that CDN,
/// which sets them and overwrites any a visitor sent: otherwise anyone can
/// claim any place. Values the CDN uses for "unknown" (`XX`, Tor's `T1`)
/// leave the region unknown, so the policy's `regions.default` applies.
///
/// ```
/// use consentry_engine::{Engine, RegionHeaders};
/// # let policy = consentry_core::Policy::from_json(r#"{"revision": 1, "categories": [{"id": "essential", "required": true}]}"#).unwrap();
/// let engine = Engine::builder(policy).region_headers(RegionHeaders::cloudflare()).build();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionHeaders {
    country: HeaderName,
    subdivision: Option<HeaderName>,
}

impl RegionHeaders {
    /// Any pair of headers (for a CDN or proxy not listed below, e.g.
    /// Fastly or Akamai configured to send the country and region).
    pub fn new(country: HeaderName, subdivision: Option<HeaderName>) -> Self {
        Self { country, subdivision }
    }

    /// Cloudflare: `CF-IPCountry` (IP Geolocation setting) and
    /// `CF-Region-Code` (Managed Transform "Add visitor location headers").
    pub fn cloudflare() -> Self {
        Self::pair("cf-ipcountry", "cf-region-code")
    }

    /// Amazon CloudFront: `CloudFront-Viewer-Country` and
    /// `CloudFront-Viewer-Country-Region` (listed in an origin request policy).
    pub fn cloudfront() -> Self {
        Self::pair("cloudfront-viewer-country", "cloudfront-viewer-country-region")
    }

    /// Vercel: `X-Vercel-IP-Country` and `X-Vercel-IP-Country-Region`.
    pub fn vercel() -> Self {
        Self::pair("x-vercel-ip-country", "x-vercel-ip-country-region")
    }

    fn pair(country: &'static str, subdivision: &'static str) -> Self {
        Self::new(HeaderName::from_static(country), Some(HeaderName::from_static(subdivision)))
    }

    /// Reads a preset's name (`cloudflare`, `cloudfront`, `vercel`) or
    /// `<country header>[,<subdivision header>]`: what `consentry serve
    /// --region-headers` takes.
    pub fn parse(spec: &str) -> Result<Self, String> {
        match spec.trim() {
            "cloudflare" => Ok(Self::cloudflare()),
            "cloudfront" => Ok(Self::cloudfront()),
            "vercel" => Ok(Self::vercel()),
            other => {
                let (country, subdivision) = match other.split_once(',') {
                    Some((c, s)) => (c, Some(s)),
                    None => (other, None),
                };
                let name = |n: &str| {
                    HeaderName::from_bytes(n.trim().as_bytes()).map_err(|_| {
                        format!("`{n}` is not a header name (or use cloudflare, cloudfront or vercel)")
                    })
                };
                Ok(Self::new(name(country)?, subdivision.map(name).transpose()?))
            }
        }
    }

    /// The header holding the country.
    pub fn country(&self) -> &HeaderName {
        &self.country
    }

    /// The header holding the subdivision, if any.
    pub fn subdivision(&self) -> Option<&HeaderName> {
        self.subdivision.as_ref()
    }

    /// The visitor's location from a request's headers: one value each
    /// (several copies of a header mean someone else added one: unknown).
    pub(crate) fn locate(&self, headers: &HeaderMap) -> Location {
        let one = |name: &HeaderName| {
            let mut values = headers.get_all(name).iter();
            match (values.next(), values.next()) {
                (Some(v), None) => v.to_str().ok(),
                _ => None,
            }
        };
        let Some(country) = one(&self.country) else { return Location::UNKNOWN };
        let subdivision = self.subdivision.as_ref().and_then(one);
        Region::from_parts(country, subdivision)
            .map_or(Location::UNKNOWN, |r| Location::new(r, RegionSource::Header))
    }
}

/// The region of a client address, from a MaxMind DB file (GeoIP2 or
/// GeoLite2 Country or City, or any database with the same layout, e.g.
/// DB-IP's): the country's ISO code and, from a City database, the first
/// subdivision's. Consentry ships no database and downloads none; the
/// operator provides the file and keeps it up to date. Feature `geoip`.
///
/// The client address is the [`ClientAddr`](crate::ClientAddr) the server
/// put in the request's extensions (the Tower adapter, with its `axum`
/// feature, copies axum's `ConnectInfo<SocketAddr>` there). Behind a proxy that address is the proxy's:
/// give the layer the visitor's (e.g. from a `X-Forwarded-For` only your
/// proxy writes) as `ClientAddr`, or use the CDN's headers instead.
#[cfg(feature = "geoip")]
#[derive(Clone)]
pub struct GeoIp {
    reader: std::sync::Arc<maxminddb::Reader<Vec<u8>>>,
}

#[cfg(feature = "geoip")]
impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp").field("database_type", &self.reader.metadata().database_type).finish()
    }
}

#[cfg(feature = "geoip")]
impl GeoIp {
    /// Reads a database file into memory.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, String> {
        let path = path.as_ref();
        let reader = maxminddb::Reader::open_readfile(path)
            .map_err(|e| format!("{}: not a MaxMind DB file ({e})", path.display()))?;
        Ok(Self { reader: std::sync::Arc::new(reader) })
    }

    /// The location of `address` (unknown when the database has no
    /// record for it, or no usable country code).
    pub fn locate(&self, address: std::net::IpAddr) -> Location {
        use maxminddb::geoip2;
        let found =
            self.reader.lookup(address).ok().and_then(|r| r.decode::<geoip2::City<'_>>().ok().flatten());
        let Some(city) = found else { return Location::UNKNOWN };
        let Some(country) = city.country.iso_code else { return Location::UNKNOWN };
        let subdivision = city.subdivisions.first().and_then(|s| s.iso_code);
        Region::from_parts(country, subdivision)
            .map_or(Location::UNKNOWN, |r| Location::new(r, RegionSource::GeoIp))
    }
}

/// Where the layer looks for the visitor's region.
#[derive(Debug, Clone)]
pub(crate) enum RegionLookup {
    Headers(RegionHeaders),
    #[cfg(feature = "geoip")]
    GeoIp(GeoIp),
}

impl RegionLookup {
    pub(crate) fn locate(&self, headers: &HeaderMap, extensions: &http::Extensions) -> Location {
        match self {
            Self::Headers(h) => {
                let _ = extensions;
                h.locate(headers)
            }
            #[cfg(feature = "geoip")]
            Self::GeoIp(db) => {
                crate::ClientAddr::of(extensions).map_or(Location::UNKNOWN, |ip| db.locate(ip))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn presets_read_their_cdn_headers() {
        let cf = RegionHeaders::cloudflare();
        let at = |h: &[(&'static str, &'static str)]| cf.locate(&headers(h)).region.map(|r| r.to_string());
        assert_eq!(at(&[("cf-ipcountry", "US"), ("cf-region-code", "CA")]).as_deref(), Some("US-CA"));
        assert_eq!(at(&[("CF-IPCountry", "fr")]).as_deref(), Some("FR"));
        assert_eq!(at(&[("cf-ipcountry", "XX")]), None);
        assert_eq!(at(&[("cf-ipcountry", "T1")]), None);
        assert_eq!(at(&[("cf-region-code", "CA")]), None);
        // Two copies: someone besides the CDN sent one.
        assert_eq!(at(&[("cf-ipcountry", "US"), ("cf-ipcountry", "DE")]), None);
        let loc = RegionHeaders::cloudfront().locate(&headers(&[
            ("cloudfront-viewer-country", "US"),
            ("cloudfront-viewer-country-region", "TX"),
        ]));
        assert_eq!(
            (loc.region.map(|r| r.to_string()).as_deref(), loc.source),
            (Some("US-TX"), RegionSource::Header)
        );
    }

    #[test]
    fn specs_name_a_preset_or_headers() {
        assert_eq!(RegionHeaders::parse("vercel"), Ok(RegionHeaders::vercel()));
        let custom = RegionHeaders::parse("X-Geo-Country, X-Geo-Region").unwrap();
        assert_eq!(custom.country().as_str(), "x-geo-country");
        assert_eq!(custom.subdivision().map(HeaderName::as_str), Some("x-geo-region"));
        assert!(RegionHeaders::parse("bad header").is_err_and(|e| e.contains("`bad header`")));
    }

    #[cfg(feature = "geoip")]
    #[test]
    fn a_geoip_database_places_addresses_and_knows_nothing_of_others() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../consentry-tower/tests/fixtures/geoip-test.mmdb");
        let db = GeoIp::open(path).unwrap();
        let at = |ip: &str| {
            let loc = db.locate(ip.parse().unwrap());
            (loc.region.map(|r| r.to_string()), loc.source)
        };
        assert_eq!(at("192.0.2.10"), (Some("US-CA".into()), RegionSource::GeoIp));
        assert_eq!(at("198.51.100.7"), (Some("FR-IDF".into()), RegionSource::GeoIp));
        assert_eq!(at("203.0.113.1"), (Some("JP".into()), RegionSource::GeoIp));
        assert_eq!(at("2001:db8::1"), (Some("US-TX".into()), RegionSource::GeoIp));
        assert_eq!(at("10.0.0.1"), (None, RegionSource::Unknown));
        assert!(
            GeoIp::open(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
                .is_err_and(|e| e.contains("not a MaxMind DB"))
        );
    }
}
