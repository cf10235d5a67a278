//! Hosts of the URLs the browser reports, compared as the audit needs:
//! the host of a URL, and whether a host lies within a domain.

/// The lower-cased host of an absolute URL with an authority (empty if none).
pub(crate) fn host(url: &str) -> String {
    let Some((_, rest)) = url.split_once("://") else { return String::new() };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = if host.starts_with('[') { host } else { host.split(':').next().unwrap_or("") };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether `host` is `domain` or one of its subdomains (both lower case).
pub(crate) fn within(host: &str, domain: &str) -> bool {
    host.strip_suffix(domain).is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// `host` reads the host the way the WHATWG URL parser does, for
        /// every http(s) URL it accepts (ASCII hosts; the audit compares
        /// hosts the browser reports, already in that form).
        #[test]
        fn host_agrees_with_the_url_parser(
            scheme in "https?",
            user in proptest::option::of("[a-z]{1,5}@"),
            // Labels start with a letter: all-digit ones are IPv4 numbers, which the parser rewrites.
            hostname in "[a-zA-Z][a-zA-Z0-9-]{0,11}(\\.[a-zA-Z][a-zA-Z0-9-]{0,11}){0,3}",
            port in proptest::option::of(1u16..),
            rest in "(/[a-z0-9._~-]{0,8}){0,3}(\\?[a-z=&]{0,8})?(#[a-z]{0,5})?",
        ) {
            let url = format!(
                "{scheme}://{}{hostname}{}{rest}",
                user.unwrap_or_default(),
                port.map(|p| format!(":{p}")).unwrap_or_default()
            );
            if let Ok(parsed) = url::Url::parse(&url) {
                if let Some(expected) = parsed.host_str() {
                    proptest::prop_assert_eq!(host(&url), expected.trim_end_matches('.'));
                }
            }
        }
    }

    #[test]
    fn a_host_is_within_its_domain_and_its_parents_only() {
        assert!(within("www.google-analytics.com", "google-analytics.com"));
        assert!(within("google-analytics.com", "google-analytics.com"));
        assert!(!within("evilgoogle-analytics.com", "google-analytics.com"));
        assert!(!within("google-analytics.com", "www.google-analytics.com"));
    }

    #[test]
    fn hosts() {
        assert_eq!(host("http://127.0.0.1:8080/redis/"), "127.0.0.1");
        assert_eq!(host("https://Shop.Example.org./a"), "shop.example.org");
        assert_eq!(host("https://User@WWW.Example.org:8443/a?b"), "www.example.org");
        assert_eq!(host("data:text/plain,x"), "");
    }
}
