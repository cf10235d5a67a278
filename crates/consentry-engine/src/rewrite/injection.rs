//! What goes into `<head>`: the policy for the banner, its stylesheet, the
//! Consent Mode defaults, the configured services (live or inert), the loader.

use std::fmt::Write as _;

use consentry_core::{Decision, Policy, Service, ServiceConfig, SignalHandling};

use super::escape;

/// Attributes every injected script carries: nonce, gate, inertness.
pub struct ScriptAttrs<'a> {
    pub nonce: Option<&'a str>,
    pub live: bool,
    pub category: &'a str,
    pub service: &'a str,
}

impl ScriptAttrs<'_> {
    fn write(&self, out: &mut String) {
        if !self.live {
            out.push_str(" type=\"text/plain\"");
        }
        let _ = write!(
            out,
            " data-category=\"{}\" data-service=\"{}\" data-consentry-injected=\"\"",
            escape::html(self.category),
            escape::html(self.service)
        );
        nonce_attr(out, self.nonce);
    }
}

pub fn nonce_attr(out: &mut String, nonce: Option<&str>) {
    if let Some(n) = nonce {
        let _ = write!(out, " nonce=\"{}\"", escape::html(n));
    }
}

fn inline(out: &mut String, attrs: &ScriptAttrs<'_>, code: &str) {
    out.push_str("<script");
    attrs.write(out);
    out.push('>');
    out.push_str(code);
    out.push_str("</script>");
}

fn external(out: &mut String, attrs: &ScriptAttrs<'_>, src: &str) {
    let _ = write!(out, "<script async=\"\" src=\"{}\"", escape::html(src));
    attrs.write(out);
    out.push_str("></script>");
}

/// Google Consent Mode v2: everything denied by default, then updated to
/// what this request's decision grants, before any Google tag runs.
fn consent_mode(out: &mut String, policy: &Policy, decision: &Decision, nonce: Option<&str>) {
    let Some(consentry_core::GoogleConsent { analytics, ads }) = decision.google_consent(policy) else {
        return;
    };
    out.push_str("<script data-consentry-injected=\"\"");
    nonce_attr(out, nonce);
    out.push_str(
        ">window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}\
         gtag('consent','default',{ad_storage:'denied',ad_user_data:'denied',ad_personalization:'denied',\
         analytics_storage:'denied',wait_for_update:500});",
    );
    if !ads {
        out.push_str("gtag('set','ads_data_redaction',true);");
    }
    if analytics || ads {
        let g = |b: bool| if b { "'granted'" } else { "'denied'" };
        let _ = write!(
            out,
            "gtag('consent','update',{{ad_storage:{a},ad_user_data:{a},ad_personalization:{a},analytics_storage:{s}}});",
            a = g(ads),
            s = g(analytics)
        );
    }
    out.push_str("</script>");
}

fn service_tags(out: &mut String, policy: &Policy, decision: &Decision, s: &Service, nonce: Option<&str>) {
    let live = decision.service_may_run(s);
    let attrs = ScriptAttrs { nonce, live, category: &s.category, service: &s.id };
    match &s.config {
        ServiceConfig::Matomo(m) => {
            let url = escape::js_string(&m.url);
            let mut code = String::from("var _paq=window._paq=window._paq||[];");
            let granted = decision.allows_service(&s.id);
            let commands = m.consent_mode.commands();
            let _ = write!(code, "_paq.push(['{}']);", commands.require);
            if granted {
                let _ = write!(code, "_paq.push(['{}']);", commands.given_on_page);
            }
            if policy.signals().dnt == SignalHandling::Honour {
                code.push_str("_paq.push(['setDoNotTrack',true]);");
            }
            let _ = write!(
                code,
                "_paq.push(['trackPageView']);_paq.push(['enableLinkTracking']);\
                 _paq.push(['setTrackerUrl',{url}+'matomo.php']);_paq.push(['setSiteId',{}]);",
                escape::js_string(&m.site_id)
            );
            inline(out, &attrs, &code);
            external(out, &attrs, &format!("{}matomo.js", m.url));
        }
        ServiceConfig::Ga4(g) => {
            if let Some(src) = s.script_url() {
                external(out, &attrs, &src);
            }
            let id = escape::js_string(&g.measurement_id);
            inline(out, &attrs, &format!("gtag('js',new Date());gtag('config',{id});"));
        }
        ServiceConfig::Gtm(_) => {
            inline(
                out,
                &attrs,
                "(function(w,l){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});})(window,'dataLayer');",
            );
            if let Some(src) = s.script_url() {
                external(out, &attrs, &src);
            }
        }
        ServiceConfig::Custom(c) => {
            if let Some(src) = &c.src {
                external(out, &attrs, src);
            }
        }
    }
}

/// Everything injected at the top of `<head>` for one response.
pub struct Head<'a> {
    pub policy: &'a Policy,
    pub policy_script: &'a str,
    pub stylesheet: Option<&'a str>,
    pub loader: Option<&'a str>,
    pub inject_services: bool,
}

impl Head<'_> {
    pub fn render(&self, decision: &Decision, nonce: Option<&str>, gate_token: Option<&str>) -> String {
        let mut out = String::with_capacity(self.policy_script.len() + 1024);
        out.push_str(self.policy_script);
        if let Some(token) = gate_token {
            // Hex digits only: nothing to escape.
            let _ =
                write!(out, "<meta name=\"{}\" content=\"{token}\" />", consentry_core::markup::GATE_META);
        }
        // Where the visitor is and the model found for it, for the banner
        // (which has the policy's default model, not its region rules).
        let location = decision.location();
        if let Some(region) = location.region {
            let _ = write!(
                out,
                "<meta name=\"consentry-region\" content=\"{} {} {}\" />",
                escape::html(region.as_str()),
                location.source.as_str(),
                decision.model().as_str()
            );
        }
        consent_mode(&mut out, self.policy, decision, nonce);
        if self.inject_services {
            for s in self.policy.services() {
                service_tags(&mut out, self.policy, decision, s, nonce);
            }
        }
        // After the inline scripts: a classic script that follows a
        // stylesheet waits for it to load, and so does the parser.
        if let Some(href) = self.stylesheet {
            let _ = write!(
                out,
                "<link rel=\"stylesheet\" href=\"{}\" data-consentry-injected=\"\" />",
                escape::html(href)
            );
        }
        if let Some(src) = self.loader {
            let _ = write!(
                out,
                "<script type=\"module\" src=\"{}\" data-consentry-injected=\"\"",
                escape::html(src)
            );
            nonce_attr(&mut out, nonce);
            out.push_str("></script>");
        }
        out
    }
}
