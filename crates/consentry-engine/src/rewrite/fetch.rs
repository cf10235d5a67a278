//! The URLs an element makes the browser fetch, as the browser resolves
//! them: character references decoded, leading and trailing whitespace
//! dropped, resolved against the document URL and its `<base href>` with the
//! WHATWG URL parser (scheme and host lower-cased, `\` read as `/`, tabs and
//! newlines removed, IDNA applied to the host), and percent-decoded for
//! matching. Gating compares services against these, never against the
//! attribute as written, so an entity, an upper-case host, a relative or
//! protocol-relative URL cannot hide a tracker.

use std::borrow::Cow;

use url::Url;

/// How an attribute's value names what the browser fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// One URL (`src`, `href`, `data`, `poster`, `background`).
    Url,
    /// A `srcset`: URLs with width or density descriptors, comma-separated.
    SrcSet,
    /// Space-separated URLs (`ping`).
    List,
    /// `<meta http-equiv="refresh" content="5; url=…">`.
    Refresh,
    /// A `style` attribute: every `url(…)` and quoted string in it (after
    /// CSS escapes), and the whole text (a tracker host anywhere in it).
    Css,
}

/// The attributes of an element (`tag` lower-case) that make the browser
/// fetch. `<script src>` is handled apart (its `type` decides whether it
/// runs); `<iframe srcdoc>` is a document of its own, checked by the
/// rewriter; `<meta content>` counts only with `http-equiv="refresh"`.
pub(crate) fn attributes(tag: &str) -> &'static [(&'static str, Shape)] {
    use Shape::{List, Refresh, SrcSet, Url};
    match tag {
        "img" => &[("src", Url), ("srcset", SrcSet)],
        "source" => &[("src", Url), ("srcset", SrcSet)],
        "image" => &[("src", Url), ("href", Url), ("xlink:href", Url)],
        "iframe" | "frame" | "embed" | "audio" | "track" | "input" => &[("src", Url)],
        "video" => &[("src", Url), ("poster", Url)],
        "object" => &[("data", Url)],
        "link" => &[("href", Url), ("imagesrcset", SrcSet)],
        "a" | "area" => &[("ping", List)],
        "body" | "table" | "thead" | "tbody" | "tfoot" | "tr" | "td" | "th" => &[("background", Url)],
        "meta" => &[("content", Refresh)],
        "use" | "feimage" => &[("href", Url), ("xlink:href", Url)],
        _ => &[],
    }
}

/// The document's own URL, where relative URLs resolve until a
/// `<base href>` says otherwise. The scheme is a guess (`https`); matching
/// ignores schemes, so it never decides anything.
pub(crate) fn document_url(host: Option<&str>, path_and_query: &str) -> Option<Url> {
    let host = host.filter(|h| !h.is_empty()).unwrap_or("localhost");
    Url::parse(&format!("https://{host}{path_and_query}"))
        .ok()
        .or_else(|| Url::parse("https://localhost/").ok())
}

/// An attribute value as the browser reads it: character references decoded
/// (`gtag&#47;js`, `&period;`, and references without their `;` where an
/// attribute allows them).
pub(crate) fn decoded(raw: &str) -> Cow<'_, str> {
    if raw.contains('&') { htmlize::unescape_attribute(raw) } else { Cow::Borrowed(raw) }
}

/// Where a `<base href>` makes relative URLs resolve: its URL resolved
/// against the document's, when it parses.
pub(crate) fn base_url(document: Option<&Url>, href: &str) -> Option<Url> {
    let href = decoded(href);
    let href = href.trim_matches(is_html_space);
    match document {
        Some(doc) => doc.join(href).ok(),
        None => Url::parse(href).ok(),
    }
}

/// The runs of letters, digits and `-` that every URL of some service
/// contains (see `Service::url_tokens`), lower-case; `None` when the
/// policy cannot rule any URL out.
#[derive(Debug, Clone)]
pub(crate) struct Tokens(Option<Vec<String>>);

impl Tokens {
    pub(crate) fn of(policy: &consentry_core::Policy) -> Self {
        let mut all = Vec::new();
        for s in policy.services() {
            match s.url_tokens() {
                Some(t) => all.extend(t),
                None => return Self(None),
            }
        }
        all.sort();
        all.dedup();
        Self(Some(all))
    }

    /// Whether `text` contains one of the tokens, ASCII case aside (always
    /// true when there are no tokens to rule anything out with).
    pub(crate) fn occur_in(&self, text: &str) -> bool {
        self.occur_in_bytes(text.as_bytes())
    }

    fn occur_in_bytes(&self, text: &[u8]) -> bool {
        let Some(tokens) = &self.0 else { return true };
        tokens.iter().any(|t| text.windows(t.len()).any(|w| w.eq_ignore_ascii_case(t.as_bytes())))
    }

    /// Whether `raw` (an attribute value as written) certainly names no
    /// service's URL, without resolving it: it is printable ASCII without
    /// `&`, `%` or `\` (so decoding and URL parsing cannot create a run of
    /// letters that is not already there) and no token occurs in it, nor in
    /// the base it resolves against (`base_hot` false).
    pub(crate) fn rule_out(&self, base_hot: bool, raw: &str) -> bool {
        self.rule_out_bytes(base_hot, raw.as_bytes())
    }

    /// [`rule_out`](Self::rule_out) on the bytes of a value as written.
    pub(crate) fn rule_out_bytes(&self, base_hot: bool, raw: &[u8]) -> bool {
        !base_hot
            && self.0.is_some()
            && raw.iter().all(|&b| (0x20..0x7f).contains(&b) && !matches!(b, b'&' | b'%' | b'\\'))
            && !self.occur_in_bytes(raw)
    }
}

/// The strings to match services against for one attribute value (raw,
/// as in the page): every URL it names, resolved, in its serialized form
/// and, where it differs, percent-decoded (a server decodes `gt%61g/js`
/// to `gtag/js`). A value that does not parse as a URL is matched as it
/// reads, so a parser difference can only make matching broader.
pub(crate) fn candidates(base: Option<&Url>, shape: Shape, raw: &str) -> Vec<String> {
    let value = decoded(raw);
    let mut out = Vec::new();
    let mut push = |one: &str| {
        let one = one.trim_matches(is_html_space);
        if one.is_empty() {
            return;
        }
        let resolved = match base {
            Some(b) => b.join(one),
            None => Url::parse(one),
        };
        let text = match resolved {
            Ok(url) => url.to_string(),
            Err(_) => one.to_owned(),
        };
        if let Some(plain) = percent_decoded(&text) {
            out.push(plain);
        }
        out.push(text);
    };
    match shape {
        Shape::Url => push(&value),
        // Every run of non-space, and every comma-separated piece of it: a
        // descriptor read as a URL resolves somewhere harmless, a URL never
        // goes unread.
        Shape::SrcSet => {
            for token in value.split(is_html_space) {
                push(token);
                if token.contains(',') {
                    token.split(',').for_each(&mut push);
                }
            }
        }
        Shape::List => value.split(is_html_space).for_each(push),
        Shape::Refresh => {
            if let Some(url) = refresh_url(&value) {
                push(url);
            }
        }
        Shape::Css => {
            let css = css_unescaped(&value);
            for url in css_urls(&css) {
                push(url);
            }
            out.push(css.to_ascii_lowercase());
        }
    }
    out
}

/// The URL of a `<meta http-equiv="refresh">` `content` (`5; url=…`,
/// `0,URL='…'`, `3;…`), as the HTML standard reads it.
fn refresh_url(content: &str) -> Option<&str> {
    let content = content.trim_start_matches(is_html_space);
    let after_delay = content.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let rest = after_delay.trim_start_matches(is_html_space);
    let rest = rest.strip_prefix([';', ','])?.trim_start_matches(is_html_space);
    let rest = match rest.get(..3) {
        Some(u) if u.eq_ignore_ascii_case("url") => {
            let after = rest[3..].trim_start_matches(is_html_space);
            after.strip_prefix('=').map_or(rest, |a| a.trim_start_matches(is_html_space))
        }
        _ => rest,
    };
    let url = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let inner = &rest[1..];
            inner.find(q).map_or(inner, |end| &inner[..end])
        }
        _ => rest,
    };
    (!url.is_empty()).then_some(url)
}

/// CSS text with its escapes decoded (`\\67 ` is `g`, `\\.` is `.`).
fn css_unescaped(css: &str) -> Cow<'_, str> {
    if !css.contains('\\') {
        return Cow::Borrowed(css);
    }
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let mut hex = String::new();
        while hex.len() < 6 && chars.peek().is_some_and(char::is_ascii_hexdigit) {
            hex.extend(chars.next());
        }
        if hex.is_empty() {
            out.extend(chars.next());
        } else {
            out.push(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).unwrap_or('\u{FFFD}'));
            if chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                chars.next();
            }
        }
    }
    Cow::Owned(out)
}

/// What CSS may fetch: the contents of every `url(…)` and every quoted
/// string (`image-set("…" 1x)`, `@import "…"`).
fn css_urls(css: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let lower = css.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("url(").map(|i| from + i + 4) {
        let rest = &css[i..];
        let end = rest.find(')').unwrap_or(rest.len());
        found.push(rest[..end].trim().trim_matches(['"', '\'']));
        from = i;
    }
    for q in ['"', '\''] {
        let mut parts = css.split(q);
        parts.next();
        // Every other piece is inside quotes.
        for (k, piece) in parts.enumerate() {
            if k % 2 == 0 {
                found.push(piece);
            }
        }
    }
    found
}

/// `%XX` sequences decoded (invalid UTF-8 replaced); `None` when there are none.
fn percent_decoded(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn is_html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0C' | '\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attribute_gated_here_is_one_the_page_layer_restores() {
        // Core's table is what the page layer is checked against; the
        // rewriter may gate nothing outside it (`content` of a refresh aside,
        // which is never put back), nor `srcdoc` and `style` (handled apart).
        let tags = [
            "img", "source", "image", "iframe", "frame", "embed", "audio", "track", "input", "video",
            "object", "link", "a", "area", "body", "table", "thead", "tbody", "tfoot", "tr", "td", "th",
            "meta", "use", "feimage",
        ];
        for tag in tags {
            for (name, _) in attributes(tag) {
                assert!(
                    consentry_core::markup::GATED_ATTRIBUTES.contains(name) || *name == "content",
                    "<{tag} {name}> is gated but not in consentry_core::markup::GATED_ATTRIBUTES"
                );
            }
        }
        for extra in ["srcdoc", "style"] {
            assert!(consentry_core::markup::GATED_ATTRIBUTES.contains(&extra));
        }
    }

    fn doc() -> Option<Url> {
        document_url(Some("shop.example"), "/products/a?x=1")
    }

    fn one(raw: &str) -> Vec<String> {
        candidates(doc().as_ref(), Shape::Url, raw)
    }

    #[test]
    fn entities_case_backslashes_and_whitespace_resolve_as_a_browser_does() {
        assert_eq!(
            one("https://www.googletagmanager.com/gtag&#47;js?id=G-1"),
            ["https://www.googletagmanager.com/gtag/js?id=G-1"]
        );
        assert_eq!(
            one(" HTTPS://WWW.GoogleTagManager.COM/gtag/js "),
            ["https://www.googletagmanager.com/gtag/js"]
        );
        assert_eq!(
            one("https:\\\\www.googletagmanager.com\\gtag\\js"),
            ["https://www.googletagmanager.com/gtag/js"]
        );
        assert_eq!(
            one("https://www.google\n-analytics.com/g/collect"),
            ["https://www.google-analytics.com/g/collect"]
        );
        assert_eq!(one("//www.google-analytics.com/collect"), ["https://www.google-analytics.com/collect"]);
        assert_eq!(one("/matomo/matomo.js"), ["https://shop.example/matomo/matomo.js"]);
        assert_eq!(one("../t.js"), ["https://shop.example/t.js"]);
        // IDNA: a mathematical "g" (here as a named reference) is a "g".
        assert_eq!(
            one("https://www.&gopf;oogletagmanager.com/gtm.js"),
            ["https://www.googletagmanager.com/gtm.js"]
        );
        assert_eq!(
            one("https://www.googletagmanager.com/gt%61g/js"),
            ["https://www.googletagmanager.com/gtag/js", "https://www.googletagmanager.com/gt%61g/js"]
        );
    }

    #[test]
    fn a_base_href_moves_relative_urls() {
        let base = base_url(doc().as_ref(), "https://www.googletagmanager.com/");
        assert_eq!(
            candidates(base.as_ref(), Shape::Url, "gtm.js?id=GTM-1"),
            ["https://www.googletagmanager.com/gtm.js?id=GTM-1"]
        );
    }

    #[test]
    fn srcset_ping_and_refresh_name_every_url() {
        let all = candidates(doc().as_ref(), Shape::SrcSet, "a.png 1x,https://t.example/p.gif 2x");
        assert!(all.contains(&"https://t.example/p.gif".to_owned()), "{all:?}");
        let all = candidates(doc().as_ref(), Shape::List, "/a https://t.example/ping");
        assert!(all.contains(&"https://t.example/ping".to_owned()), "{all:?}");
        for content in
            ["0; url=https://t.example/r", "0;URL='https://t.example/r'", "5 , https://t.example/r"]
        {
            assert_eq!(
                candidates(doc().as_ref(), Shape::Refresh, content),
                ["https://t.example/r"],
                "{content}"
            );
        }
        assert!(candidates(doc().as_ref(), Shape::Refresh, "30").is_empty());
    }

    #[test]
    fn css_names_its_urls_even_escaped() {
        let all =
            candidates(doc().as_ref(), Shape::Css, "background:URL( 'https://t.example/p.gif' ) no-repeat");
        assert!(all.contains(&"https://t.example/p.gif".to_owned()), "{all:?}");
        let all = candidates(
            doc().as_ref(),
            Shape::Css,
            "background-image:url(https://www.\\67 oogle-analytics.com/c)",
        );
        assert!(all.contains(&"https://www.google-analytics.com/c".to_owned()), "{all:?}");
        let all = candidates(doc().as_ref(), Shape::Css, "background-image:image-set(\"/t.png\" 1x)");
        assert!(all.contains(&"https://shop.example/t.png".to_owned()), "{all:?}");
    }

    #[test]
    fn what_does_not_parse_is_matched_as_written() {
        assert_eq!(one("http://[::1"), ["http://[::1"]);
        assert!(one("  ").is_empty());
    }
}
