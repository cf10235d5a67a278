//! `*` globs for cookie names (`_ga_*`, `_pk_id.*`) and tracker URLs.

use crate::prelude::*;
use serde::{Serialize, Serializer};

/// A pattern where `*` matches any run of characters (including none).
///
/// Cookie-name patterns match the whole name; URL patterns without `*` match
/// as a substring, so `stats.example.org/js/` finds every script below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    /// Accepts 1 to 200 printable ASCII characters without whitespace, quotes,
    /// `;` or `,` (cookie names additionally exclude `=`).
    pub fn new(pattern: &str, cookie_name: bool) -> Option<Self> {
        let ok = !pattern.is_empty()
            && pattern.len() <= 200
            && pattern != "*"
            && pattern.bytes().all(|b| {
                b.is_ascii_graphic()
                    && !matches!(b, b'"' | b'\'' | b';' | b',' | b'<' | b'>' | b'\\')
                    && !(cookie_name && b == b'=')
            });
        ok.then(|| Self(pattern.to_owned()))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whole-string match, `*` as a wildcard.
    pub fn matches(&self, text: &str) -> bool {
        wildcard(self.0.as_bytes(), text.as_bytes())
    }

    /// URL match: substring when there is no `*`, else a whole-string glob;
    /// ASCII case is ignored (`url` is expected lower-case, as
    /// [`Service::matches_url`](crate::Service::matches_url) passes it).
    pub fn matches_url(&self, url: &str) -> bool {
        let pattern = self.0.to_ascii_lowercase();
        if pattern.contains('*') {
            wildcard(pattern.as_bytes(), url.as_bytes())
        } else {
            url.contains(pattern.as_str())
        }
    }
}

impl Serialize for Glob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Iterative wildcard match with single backtrack point: O(n·m) worst case,
/// no recursion, so hostile inputs cannot blow the stack.
fn wildcard(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p.get(pi..).unwrap_or(&[]).iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(p: &str) -> Glob {
        Glob::new(p, true).unwrap_or_else(|| panic!("valid pattern {p}"))
    }

    #[test]
    fn star_matches_any_suffix_of_a_cookie_name() {
        assert!(g("_ga_*").matches("_ga_ABC123"));
        assert!(g("_pk_id.*").matches("_pk_id.1.1fff"));
        assert!(!g("_ga_*").matches("_ga"));
        assert!(g("_ga").matches("_ga"));
        assert!(!g("_ga").matches("_gat"));
    }

    #[test]
    fn star_in_the_middle_backtracks() {
        assert!(g("a*b*c").matches("axxbyyc"));
        assert!(!g("a*b*c").matches("axxbyy"));
        assert!(g("*x").matches("x"));
    }

    #[test]
    fn url_patterns_without_star_match_as_substring() {
        let p = Glob::new("cdn.segment.com/analytics.js", false).unwrap();
        assert!(p.matches_url("https://cdn.segment.com/analytics.js/v1/abc/analytics.min.js"));
        assert!(!p.matches_url("https://example.org/app.js"));
    }

    #[test]
    fn dangerous_or_empty_patterns_are_refused() {
        for bad in ["", "*", "a b", "a;b", "a\"b", "<x>", "a=b"] {
            assert!(Glob::new(bad, true).is_none(), "{bad:?}");
        }
    }
}
