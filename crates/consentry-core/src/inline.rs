//! Which services an inline script refers to: the rule the middleware gates
//! inline `<script>` code by (the page's own code, `srcdoc` frames and
//! `<noscript>` content alike).
//!
//! A vendor's install snippet rarely holds a whole URL: Clarity builds
//! `"https://www.clarity.ms/tag/"+i`, Hotjar passes
//! `'https://static.hotjar.com/c/hotjar-'` as an argument, others split a
//! host across string literals or escape its slashes (`https:\/\/`). So the
//! code is first put in a *comparable* form (ASCII lower case; the
//! JavaScript escapes `\/`, `\xHH`, `\uHHHH` and `\u{…}` undone; adjacent
//! string literals joined, `'a' + 'b'` read as `'ab'`), then searched for
//! each service's names:
//!
//! - **its own**: a GA4 measurement id, a GTM container id, a configured
//!   `url`/`script_url`/`src` (without scheme and query), and for each of
//!   its `patterns` the host it names (`https://*.clarity.ms/*` →
//!   `.clarity.ms`) or, for a same-site pattern, the path before its first
//!   `*`;
//! - **its kind's**: the hosts and paths every service of a kind loads from
//!   (`googletagmanager.com/gtag/`, `matomo.js`, …). Such a hit names every
//!   service of the kind, unless the code also names one of them by its
//!   own names (two GA4 properties: the id tells which);
//! - **its kind's calls** (`_paq.push`, `gtag(`, `dataLayer.push`), which
//!   name every service of the kind not told apart by its own names;
//!   `dataLayer.push` names GTM only when the code names no Google service
//!   otherwise (the GA4 snippet pushes to `dataLayer` too). A policy with
//!   GTM and no GA4 reads `gtag(` as GTM's, and the other way round.
//!
//! A script is live only while *every* service it refers to may run. When in
//! doubt it names a service: a false hit keeps a script inert until consent,
//! a miss would run a tracker without it.

use crate::prelude::*;

use crate::policy::{Policy, Service, ServiceConfig, ServiceKind};

/// Calls that identify an inline snippet of a kind.
const CALLS: &[(&str, ServiceKind)] =
    &[("_paq.push", ServiceKind::Matomo), ("gtag(", ServiceKind::Ga4), ("datalayer.push", ServiceKind::Gtm)];

/// Every service of `policy` that `code` refers to, in policy order (see the
/// module docs). Empty: the code names no service.
///
/// ```
/// let policy = consentry_core::Policy::from_json(r#"{
///     "revision": 1,
///     "categories": [{ "id": "essential", "required": true }, { "id": "analytics" }],
///     "services": [{ "id": "clarity", "kind": "custom", "category": "analytics",
///                    "patterns": ["https://www.clarity.ms/*"] }]
/// }"#).unwrap();
/// let snippet = r#"(function(c,l,a,r,i,t,y){t=l.createElement(r);t.async=1;
///     t.src="https://www.clarity.ms/tag/"+i;})(window,document,"clarity","script","abc")"#;
/// let ids: Vec<&str> = consentry_core::inline::services_in_code(&policy, snippet)
///     .iter().map(|s| s.id.as_str()).collect();
/// assert_eq!(ids, ["clarity"]);
/// ```
pub fn services_in_code<'p>(policy: &'p Policy, code: &str) -> Vec<&'p Service> {
    let text = comparable(code);
    let services = policy.services();
    let mut named: Vec<bool> =
        services.iter().map(|s| own_names(s).iter().any(|n| text.contains(n.as_str()))).collect();
    // A kind's shared hosts name every service of the kind that the code
    // did not already tell apart by its own names.
    for (i, s) in services.iter().enumerate() {
        if named[i] || !s.kind_url_patterns().iter().any(|p| text.contains(p)) {
            continue;
        }
        let told_apart = services.iter().zip(&named).any(|(o, &n)| n && o.kind() == s.kind());
        if !told_apart {
            named[i] = true;
        }
    }
    for (call, kind) in CALLS {
        if !text.contains(call) {
            continue;
        }
        let google = |k: ServiceKind| matches!(k, ServiceKind::Ga4 | ServiceKind::Gtm);
        // gtag.js pushes to `dataLayer` too: a push names GTM only when the
        // code names no Google service otherwise.
        if *kind == ServiceKind::Gtm && services.iter().zip(&named).any(|(s, &n)| n && google(s.kind())) {
            continue;
        }
        let mut mark = |k: ServiceKind| {
            let told_apart = services.iter().zip(&named).any(|(s, &n)| n && s.kind() == k);
            let mut any = false;
            for (i, s) in services.iter().enumerate() {
                if s.kind() == k {
                    any = true;
                    if !told_apart {
                        named[i] = true;
                    }
                }
            }
            any
        };
        // gtag.js and gtm.js read the same `dataLayer`: either snippet
        // stands for the other kind when the policy has only that one.
        let _ = mark(*kind)
            || match kind {
                ServiceKind::Ga4 => mark(ServiceKind::Gtm),
                ServiceKind::Gtm => mark(ServiceKind::Ga4),
                _ => false,
            };
    }
    services.iter().zip(named).filter(|(_, n)| *n).map(|(s, _)| s).collect()
}

/// A service's own names, comparable (lower case), as searched in code.
fn own_names(service: &Service) -> Vec<String> {
    let mut names = Vec::new();
    let mut locations: Vec<&str> = Vec::new();
    match &service.config {
        ServiceConfig::Matomo(m) => locations.push(&m.url),
        ServiceConfig::Ga4(g) => {
            names.push(g.measurement_id.to_ascii_lowercase());
            locations.extend(g.script_url.as_deref());
        }
        ServiceConfig::Gtm(g) => {
            names.push(g.container_id.to_ascii_lowercase());
            locations.extend(g.script_url.as_deref());
        }
        ServiceConfig::Custom(c) => locations.extend(c.src.as_deref()),
    }
    for url in locations {
        let bare = without_scheme(url.trim());
        let bare = bare.split(['?', '#']).next().unwrap_or("");
        // `/` alone, or nothing: no name.
        if bare.len() > 1 {
            names.push(bare.to_ascii_lowercase());
        }
    }
    names.extend(service.patterns.iter().filter_map(|p| pattern_name(p.as_str())));
    names.retain(|n| !n.is_empty());
    names
}

/// What a URL pattern names in code: its host (`https://*.clarity.ms/*` →
/// `.clarity.ms`, a leading wildcard label dropped), or for a same-site
/// pattern (`/stats/*`) the path before its first `*`. `None` when it names
/// nothing literal (`*`, `*/collect*`).
fn pattern_name(pattern: &str) -> Option<String> {
    let bare = without_scheme(pattern.trim());
    let literal = bare.split('*').next().unwrap_or("");
    if pattern.trim().starts_with('/') && !pattern.trim().starts_with("//") {
        return (literal.len() > 1).then(|| literal.to_ascii_lowercase());
    }
    // The host: up to the first `/`, `?`, `#` or `:` (port); a wildcard in
    // it keeps what follows the last `*` (`*.clarity.ms` → `.clarity.ms`).
    let host_end = bare.find(['/', '?', '#', ':']).unwrap_or(bare.len());
    let host = &bare[..host_end];
    let host = host.rsplit('*').next().unwrap_or("");
    // A name must look like a host (a dot inside, something before it).
    let dot = host.trim_start_matches('.').contains('.');
    (dot && host.len() > 3).then(|| host.to_ascii_lowercase())
}

fn without_scheme(url: &str) -> &str {
    if let Some(rest) = url.strip_prefix("//") {
        return rest;
    }
    match url.find("://") {
        Some(i) if url[..i].bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) => {
            &url[i + 3..]
        }
        _ => url,
    }
}

/// The code as searched: ASCII lower case, JavaScript string escapes undone,
/// adjacent string literals joined (`"www.clar" + "ity.ms"`), line
/// continuations removed.
fn comparable(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::with_capacity(code.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            if let Some((decoded, used)) = escape(&chars[i + 1..]) {
                if let Some(d) = decoded {
                    out.push(d.to_ascii_lowercase());
                }
                i += 1 + used;
                continue;
            }
        }
        if matches!(c, '"' | '\'' | '`') {
            if let Some(used) = literal_join(&chars[i..]) {
                i += used;
                continue;
            }
        }
        out.push(c.to_ascii_lowercase());
        i += 1;
    }
    out
}

/// A JavaScript escape after its `\`: the character it stands for (`None`
/// for a line continuation) and how many characters it used. `None` when
/// the text after `\` is no escape this reading undoes.
fn escape(rest: &[char]) -> Option<(Option<char>, usize)> {
    let hex = |s: &[char]| -> Option<u32> {
        if s.is_empty() {
            return None;
        }
        s.iter().try_fold(0u32, |acc, c| Some(acc.checked_mul(16)? + c.to_digit(16)?))
    };
    match rest.first()? {
        '/' | '\\' | '"' | '\'' | '`' | '.' | '-' | ':' => Some((Some(rest[0]), 1)),
        '\n' => Some((None, 1)),
        'x' => Some((char::from_u32(hex(rest.get(1..3)?)?), 3)),
        'u' if rest.get(1) == Some(&'{') => {
            let end = rest.iter().position(|&c| c == '}')?;
            (end <= 8).then_some(())?;
            Some((char::from_u32(hex(&rest[2..end])?), end + 1))
        }
        'u' => Some((char::from_u32(hex(rest.get(1..5)?)?), 5)),
        _ => None,
    }
}

/// At a quote that may close one literal: when whitespace, `+` and
/// whitespace lead to another quote, how many characters the join takes
/// (both quotes included), so the two literals read as one.
fn literal_join(at: &[char]) -> Option<usize> {
    let mut i = 1;
    while at.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    (at.get(i) == Some(&'+')).then_some(())?;
    i += 1;
    while at.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    matches!(at.get(i), Some('"' | '\'' | '`')).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparable_code_undoes_escapes_and_joins_literals() {
        assert_eq!(comparable(r#"'https:\/\/WWW.Clarity.ms\/tag\/'"#), "'https://www.clarity.ms/tag/'");
        assert_eq!(comparable(r#""static.hot" + "jar.com""#), "\"static.hotjar.com\"");
        assert_eq!(comparable("'connect.' +\n 'facebook.net'"), "'connect.facebook.net'");
        assert_eq!(comparable(r"'\x73nap.licdn.com'"), "'snap.licdn.com'");
        assert_eq!(comparable(r"'analytics.tiktok\u002ecom'"), "'analytics.tiktok.com'");
        assert_eq!(comparable(r"'a\u{2e}b'"), "'a.b'");
        assert_eq!(comparable(r"'\q\'"), r"'\q'");
        assert_eq!(comparable("a + b"), "a + b");
    }

    #[test]
    fn patterns_name_their_host_or_same_site_path() {
        assert_eq!(pattern_name("https://www.clarity.ms/*").as_deref(), Some("www.clarity.ms"));
        assert_eq!(pattern_name("https://*.clarity.ms/*").as_deref(), Some(".clarity.ms"));
        assert_eq!(pattern_name("//static.hotjar.com/c/*").as_deref(), Some("static.hotjar.com"));
        assert_eq!(pattern_name("cdn.segment.com").as_deref(), Some("cdn.segment.com"));
        assert_eq!(pattern_name("/stats/*").as_deref(), Some("/stats/"));
        assert_eq!(pattern_name("*"), None);
        assert_eq!(pattern_name("*/collect*"), None);
        assert_eq!(pattern_name("https://*/x"), None);
    }
}
