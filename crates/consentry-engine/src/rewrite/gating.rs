//! Which scripts, frames and pixels may be live: the rules, free of any HTML
//! parsing so they can be tested on their own.

use consentry_core::{Decision, Policy, Service};

/// `type` values a browser executes as a classic or module script.
pub fn is_executable_type(ty: Option<&str>) -> bool {
    let Some(ty) = ty else { return true };
    let essence = ty.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "" | "module"
            | "text/javascript"
            | "application/javascript"
            | "application/ecmascript"
            | "application/x-javascript"
            | "application/x-ecmascript"
            | "text/ecmascript"
            | "text/jscript"
            | "text/livescript"
            | "text/x-javascript"
            | "text/x-ecmascript"
    )
}

/// The first service that may not run now and that one of `urls` (as
/// [`fetch::candidates`](super::fetch::candidates) gives them) belongs to.
pub fn blocked_by<'p>(policy: &'p Policy, decision: &Decision, urls: &[String]) -> Option<&'p Service> {
    if urls.is_empty() {
        return None;
    }
    policy
        .services()
        .iter()
        .filter(|s| !decision.service_may_run(s))
        .find(|s| urls.iter().any(|u| s.matches_url(u)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use consentry_core::{Signals, decide};

    fn policy(mode: &str) -> Policy {
        Policy::from_json(&format!(
            r#"{{"revision": 1, "categories": [{{"id": "essential", "required": true}}, {{"id": "analytics"}}],
               "services": [
                 {{"id": "matomo", "kind": "matomo", "category": "analytics", "config": {{"url": "https://stats.example.org/", "site_id": "3", "consent_mode": "{mode}"}}}},
                 {{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {{"measurement_id": "G-AB12CD34"}}}},
                 {{"id": "seg", "kind": "custom", "category": "analytics", "patterns": ["cdn.segment.com"]}}
               ]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn classic_and_module_scripts_are_executable_data_blocks_are_not() {
        for t in [
            None,
            Some(""),
            Some("text/javascript"),
            Some("module"),
            Some(" Text/JavaScript ; charset=utf-8"),
        ] {
            assert!(is_executable_type(t), "{t:?}");
        }
        for t in
            [Some("text/plain"), Some("application/json"), Some("application/ld+json"), Some("importmap")]
        {
            assert!(!is_executable_type(t), "{t:?}");
        }
    }

    #[test]
    fn tracker_urls_are_recognised_by_builtin_configured_and_policy_patterns() {
        let p = policy("require_consent");
        let nobody = decide(&p, None, Signals { dnt: true, gpc: false }, 1);
        let id = |u: &str| blocked_by(&p, &nobody, &[u.to_owned()]).map(|s| s.id.as_str());
        assert_eq!(id("https://stats.example.org/matomo.js"), Some("matomo"));
        assert_eq!(id("https://cdn.example.net/piwik.js"), Some("matomo"));
        assert_eq!(id("https://www.googletagmanager.com/gtag/js?id=G-AB12CD34"), Some("ga4"));
        assert_eq!(id("https://region1.google-analytics.com/g/collect?v=2"), Some("ga4"));
        assert_eq!(id("https://cdn.segment.com/analytics.js/v1/x/analytics.min.js"), Some("seg"));
        assert_eq!(id("https://shop.example/app.js"), None);
        assert_eq!(blocked_by(&p, &nobody, &[]).map(|s| s.id.as_str()), None);
        let everyone = consentry_core::Consent::new(
            1,
            1,
            ["analytics"],
            consentry_core::ConsentId::from_random([0; 16]),
        );
        let all = decide(&p, Some(&everyone), Signals::NONE, 1);
        assert!(blocked_by(&p, &all, &["https://stats.example.org/matomo.js".to_owned()]).is_none());
    }

    #[test]
    fn inline_snippets_are_recognised_by_their_calls() {
        let p = policy("require_consent");
        let ids = |c: &str| -> Vec<String> {
            consentry_core::inline::services_in_code(&p, c).iter().map(|s| s.id.clone()).collect()
        };
        assert_eq!(ids("var _paq = window._paq || []; _paq.push(['trackPageView']);"), ["matomo"]);
        assert_eq!(
            ids("window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"),
            ["ga4"]
        );
        assert_eq!(ids("new Image().src = 'https://www.google-analytics.com/g/collect?v=2'"), ["ga4"]);
        assert!(ids("console.log('hello')").is_empty());
        // Two services in one script: both count.
        assert_eq!(
            ids("_paq.push(['trackPageView']); s.src='https://cdn.seg'+'ment.com/a.js'"),
            ["matomo", "seg"]
        );
    }

    #[test]
    fn matomo_cookieless_mode_measures_only_while_the_visitor_has_not_answered() {
        let p = policy("require_cookie_consent");
        let m = p.service("matomo").unwrap();
        assert!(decide(&p, None, Signals::NONE, 1).service_may_run(m));
        assert!(!decide(&p, None, Signals { dnt: true, gpc: false }, 1).service_may_run(m));
        let refused = consentry_core::Consent::new(
            1,
            1,
            Vec::<String>::new(),
            consentry_core::ConsentId::from_random([0; 16]),
        );
        assert!(!decide(&p, Some(&refused), Signals::NONE, 1).service_may_run(m));
        let strict = policy("require_consent");
        let m = strict.service("matomo").unwrap();
        assert!(!decide(&strict, None, Signals::NONE, 1).service_may_run(m));
    }

    #[test]
    fn marked_elements_need_every_named_gate() {
        let p = policy("require_consent");
        let c = consentry_core::Consent::new(
            1,
            1,
            ["analytics"],
            consentry_core::ConsentId::from_random([0; 16]),
        );
        let d = decide(&p, Some(&c), Signals::NONE, 1);
        assert!(d.allows_marked(&p, Some("analytics"), None));
        assert!(d.allows_marked(&p, Some("analytics"), Some("ga4")));
        assert!(!d.allows_marked(&p, Some("analytics"), Some("unknown")));
        assert!(!d.allows_marked(&p, Some("advertising"), None));
        assert!(!d.allows_marked(&p, None, None));
    }
}
