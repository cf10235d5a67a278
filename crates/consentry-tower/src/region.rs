//! Where a visitor is: from request headers the operator trusts because
//! their CDN sets them. Never from a header nobody named, so a visitor
//! cannot move themselves to a laxer law by sending one; the address a
//! region comes from is never stored.

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
/// use consentry_tower::{ConsentLayer, RegionHeaders};
/// # let policy = consentry_core::Policy::from_json(r#"{"revision": 1, "categories": [{"id": "essential", "required": true}]}"#).unwrap();
/// let layer = ConsentLayer::new(policy).region_headers(RegionHeaders::cloudflare());
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
        let custom = RegionHeaders::parse("X-Geo-Country, X-Geo-Region").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(custom.country().as_str(), "x-geo-country");
        assert_eq!(custom.subdivision().map(HeaderName::as_str), Some("x-geo-region"));
        assert!(RegionHeaders::parse("bad header").is_err_and(|e| e.contains("`bad header`")));
    }
}
