//! The banner's server-rendered markup, so it is on screen at first paint.
//!
//! The structure and class names are the banner's contract: the wasm widget
//! hydrates this markup instead of drawing its own. Without JavaScript the
//! two main buttons still work: they submit a plain form to the consent
//! endpoint, which sets the cookie and redirects back.

use std::fmt::Write as _;

use consentry_core::{Policy, TextKey};

use super::escape::html;

/// Renders the banner in the best language for `preferred` (the page's
/// `<html lang>` first).
pub fn render(policy: &Policy, preferred: &[&str], consent_url: &str, return_to: &str) -> String {
    let t = policy.texts_for(preferred);
    let mut out = String::with_capacity(1536);
    let _ = write!(
        out,
        "<div id=\"consentry-banner\" class=\"consentry consentry-banner\" role=\"region\" \
         aria-labelledby=\"consentry-banner-title\" lang=\"{lang}\" data-consentry-rendered=\"server\">\
         <form class=\"consentry-banner__form\" method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"return_to\" value=\"{ret}\">\
         <div class=\"consentry-banner__body\">\
         <h2 class=\"consentry-banner__title\" id=\"consentry-banner-title\">{title}</h2>\
         <p class=\"consentry-banner__text\">{text}",
        lang = html(t.lang()),
        action = html(consent_url),
        ret = html(return_to),
        title = html(t.get(TextKey::title)),
        text = html(t.get(TextKey::description)),
    );
    if let Some(url) = t.privacy_policy_url() {
        let _ = write!(
            out,
            " <a class=\"consentry-link\" href=\"{}\">{}</a>",
            html(url),
            html(t.get(TextKey::privacy_policy_label))
        );
    }
    let _ = write!(
        out,
        "</p></div><div class=\"consentry-banner__actions\">\
         <button type=\"submit\" name=\"granted\" value=\"all\" class=\"consentry-btn\" data-consentry-action=\"accept-all\">{accept}</button>\
         <button type=\"submit\" name=\"granted\" value=\"none\" class=\"consentry-btn\" data-consentry-action=\"reject-all\">{reject}</button>\
         <button type=\"button\" class=\"consentry-btn\" data-consentry-action=\"preferences\">{prefs}</button>\
         </div></form></div>",
        accept = html(t.get(TextKey::accept_all)),
        reject = html(t.get(TextKey::reject_all)),
        prefs = html(t.get(TextKey::preferences)),
    );
    out
}
