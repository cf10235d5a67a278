//! The banner's markup, written once for both halves.
//!
//! The middleware writes [`banner`] into the page (so the banner is on screen
//! at first paint and works without JavaScript); the build step and the
//! middleware put the same strings into the ready policy
//! ([`crate::ready`]), from which the browser banner inserts them with one DOM
//! call. Every text and attribute value goes through [`escape_html`], so a
//! hostile text can never become markup.
//!
//! The markup is a contract (the browser banner, the stylesheet and users'
//! own scripts rely on it), named in [`crate::markup`]: the banner's root is
//! `#consentry-banner`, the dialog's `#consentry-preferences`; buttons carry
//! `data-consentry-action` ([`Action`]: `accept-all`, `reject-all`,
//! `opt-out`, `preferences`, `save`, `close`); toggles are
//! `input.consentry-toggle[data-category]` with the id
//! `consentry-toggle-<category>`. The banner's `preferences` button comes last:
//! the stylesheet keeps the banner invisible until it has arrived, so a banner
//! still streaming in is never painted half-built.

use crate::prelude::*;
use core::fmt::Write as _;

use crate::markup::{Action, action_attr, banner_id, dialog_id};
use crate::policy::Policy;
use crate::region::Model;
use crate::texts::{Key, ResolvedTexts};

/// Escapes text for HTML content and double-quoted attribute values.
///
/// ```
/// assert_eq!(consentry_core::render::escape_html(r#"<b a="1">&'"#), "&lt;b a=&quot;1&quot;&gt;&amp;&#39;");
/// ```
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    push_escaped(&mut out, s);
    out
}

fn push_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// A small builder that escapes every dynamic piece it is given.
struct Html(String);

impl Html {
    fn raw(&mut self, s: &str) -> &mut Self {
        self.0.push_str(s);
        self
    }
    fn text(&mut self, s: &str) -> &mut Self {
        push_escaped(&mut self.0, s);
        self
    }
    /// ` lang="…"`, and ` dir="rtl"` for a language written right to left
    /// ([`crate::texts::is_rtl`]): on every root the renderer writes.
    fn lang(&mut self, lang: &str) -> &mut Self {
        self.raw(" lang=\"").text(lang).raw("\"");
        if crate::texts::is_rtl(lang) {
            self.raw(" dir=\"rtl\"");
        }
        self
    }
}

/// Who rendered a banner: the server into the page, or the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderedBy {
    /// Written into the page by the middleware (works without JavaScript).
    Server,
    /// Inserted by the browser banner from the ready policy.
    Client,
}

/// The first layer: what the law asks it to say — the purposes, the third
/// parties by name, that refusing costs nothing, and that the choice can be
/// changed or withdrawn at any time and where — with "Accept all", "Reject
/// all" and "Customise" side by side.
///
/// `consent_url` is where the form posts without JavaScript (`#` when there is
/// no endpoint); `return_to`, for the server, is where the endpoint sends the
/// visitor back.
pub fn banner(
    policy: &Policy,
    t: &ResolvedTexts<'_>,
    consent_url: &str,
    return_to: Option<&str>,
    by: RenderedBy,
) -> String {
    banner_for(policy, t, consent_url, return_to, by, Model::OptIn)
}

/// The first layer for a consent `model` (see [`crate::region`]):
///
/// - `opt-in`: [`banner`];
/// - `opt-out`: a notice of the purposes and third parties, that some of it
///   may count as selling or sharing, with "OK" (`accept-all`), "Do Not
///   Sell or Share My Personal Information" (`opt-out`: one click, the
///   form posts `granted=opt-out` without JavaScript) and "Customise";
/// - `notice` (and `none`, when asked for): the purposes and third
///   parties, with "OK" and "Customise".
pub fn banner_for(
    policy: &Policy,
    t: &ResolvedTexts<'_>,
    consent_url: &str,
    return_to: Option<&str>,
    by: RenderedBy,
    model: Model,
) -> String {
    let (heading, text) = match model {
        Model::OptIn => (Key::title, Key::description),
        Model::OptOut => (Key::optout_title, Key::optout_description),
        Model::Notice | Model::None => (Key::notice_title, Key::notice_description),
    };
    let mut h = Html(String::with_capacity(2048));
    h.raw(concat!(
        "<div id=\"",
        banner_id!(),
        "\" class=\"consentry consentry-banner\" role=\"region\" aria-labelledby=\"",
        banner_id!(),
        "-title\""
    ))
    .lang(t.lang())
    .raw(" data-consentry-rendered=\"")
    .raw(match by {
        RenderedBy::Server => "server",
        RenderedBy::Client => "client",
    })
    .raw("\"");
    // Opt-in banners stay as they were before regions existed.
    if model != Model::OptIn {
        h.raw(" data-consentry-model=\"").raw(model.as_str()).raw("\"");
    }
    h.raw("><form class=\"consentry-banner__form\" method=\"post\" action=\"").text(consent_url).raw("\">");
    if let Some(r) = return_to {
        h.raw("<input type=\"hidden\" name=\"return_to\" value=\"").text(r).raw("\"/>");
    }
    h.raw(concat!(
        "<div class=\"consentry-banner__body\"><h2 class=\"consentry-banner__title\" id=\"",
        banner_id!(),
        "-title\">"
    ))
    .text(t.get(heading))
    .raw("</h2><p class=\"consentry-banner__text\">");
    let parties: Vec<&str> = policy
        .services()
        .iter()
        .filter(|s| policy.category(&s.category).is_some_and(|c| !c.required))
        .map(|s| s.name.as_deref().unwrap_or(&s.id))
        .collect();
    // No third party listed: a text that names none.
    h.text(if parties.is_empty() { t.without_third_parties(text) } else { t.get(text) }).raw("</p>");
    let purposes: Vec<&str> =
        policy.categories().iter().filter(|c| !c.required).map(|c| t.category_title(&c.id)).collect();
    let sep = crate::texts::list_separator(t.lang());
    list_line(&mut h, t.get(Key::purposes), &purposes, "purposes", sep);
    list_line(&mut h, t.get(Key::third_parties), &parties, "third-parties", sep);
    h.raw("<p class=\"consentry-banner__text\">");
    if model == Model::OptIn {
        h.text(t.get(Key::refuse_notice)).raw(" ").text(t.get(Key::withdraw_notice));
    } else {
        h.text(t.get(Key::withdraw_notice));
    }
    if let Some(url) = t.privacy_policy_url() {
        h.raw(" <a class=\"consentry-link\" href=\"")
            .text(url)
            .raw("\">")
            .text(t.get(Key::privacy_policy_label))
            .raw("</a>");
    }
    h.raw("</p></div><div class=\"consentry-banner__actions\">");
    let button = |h: &mut Html, value: &str, action: Action, key: Key| {
        h.raw("<button type=\"submit\" name=\"granted\" value=\"")
            .raw(value)
            .raw(concat!("\" class=\"consentry-btn\" ", action_attr!(), "=\""))
            .raw(action.as_str())
            .raw("\">")
            .text(t.get(key))
            .raw("</button>");
    };
    match model {
        Model::OptIn => {
            button(&mut h, "all", Action::AcceptAll, Key::accept_all);
            button(&mut h, "none", Action::RejectAll, Key::reject_all);
        }
        Model::OptOut => {
            button(&mut h, "all", Action::AcceptAll, Key::acknowledge);
            button(&mut h, "opt-out", Action::OptOut, Key::do_not_sell);
        }
        Model::Notice | Model::None => button(&mut h, "all", Action::AcceptAll, Key::acknowledge),
    }
    h.raw(concat!("<button type=\"button\" class=\"consentry-btn\" ", action_attr!(), "=\"preferences\">"))
        .text(t.get(Key::preferences))
        .raw("</button></div></form></div>");
    h.0
}

/// The persistent "Do Not Sell or Share My Personal Information" link of
/// the `opt-out` model: one click opts out (`data-consentry-action="opt-out"`;
/// without JavaScript, a form posting `granted=opt-out`).
pub fn opt_out_link(t: &ResolvedTexts<'_>, consent_url: &str, return_to: Option<&str>) -> String {
    let mut h = Html(String::with_capacity(256));
    h.raw("<form class=\"consentry-optout\" method=\"post\" action=\"")
        .text(consent_url)
        .raw("\"")
        .lang(t.lang())
        .raw(">");
    if let Some(r) = return_to {
        h.raw("<input type=\"hidden\" name=\"return_to\" value=\"").text(r).raw("\"/>");
    }
    h.raw(concat!(
        "<button type=\"submit\" name=\"granted\" value=\"opt-out\" class=\"consentry-optout__link\" ",
        action_attr!(),
        "=\"opt-out\">"
    ))
    .text(t.get(Key::do_not_sell))
    .raw("</button></form>");
    h.0
}

/// A short confirmation (`role="status"`): after a one-click opt-out
/// ([`Key::optout_done`]) or when `Sec-GPC: 1` opted the visitor out
/// ([`Key::signal_optout_notice`]).
pub fn status(t: &ResolvedTexts<'_>, key: Key) -> String {
    let mut h = Html(String::with_capacity(256));
    h.raw("<p class=\"consentry consentry-status\" role=\"status\"")
        .lang(t.lang())
        .raw(">")
        .text(t.get(key))
        .raw("</p>");
    h.0
}

/// `<p><span>Label</span> a, b</p>` (the language's separator), or nothing
/// for an empty list.
fn list_line(h: &mut Html, label: &str, items: &[&str], kind: &str, sep: &str) {
    if items.is_empty() {
        return;
    }
    h.raw("<p class=\"consentry-banner__list\" data-consentry-list=\"")
        .raw(kind)
        .raw("\"><span class=\"consentry-banner__label\">")
        .text(label)
        .raw("</span> ");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            h.raw(sep);
        }
        h.text(item);
    }
    h.raw("</p>");
}

/// The preferences dialog in its neutral state: optional toggles unticked and
/// enabled, required ones ticked and disabled, the signal notice `hidden`. The
/// browser banner then ticks what the visitor granted, and disables the
/// toggles and shows the notice when a signal decided.
pub fn dialog(policy: &Policy, t: &ResolvedTexts<'_>) -> String {
    let mut h = Html(String::with_capacity(4096));
    h.raw(concat!(
        "<div id=\"",
        dialog_id!(),
        "\" class=\"consentry consentry-dialog\" role=\"dialog\" aria-modal=\"true\" aria-labelledby=\"",
        dialog_id!(),
        "-title\""
    ))
    .lang(t.lang())
    .raw(concat!(
        "><div class=\"consentry-dialog__panel\"><h2 class=\"consentry-dialog__title\" id=\"",
        dialog_id!(),
        "-title\">"
    ))
    .text(t.get(Key::preferences_title))
    .raw("</h2><p class=\"consentry-dialog__text\">")
    .text(t.get(Key::preferences_description))
    .raw("</p><p class=\"consentry-notice\" role=\"note\" hidden=\"\">")
    .text(t.get(Key::signal_notice))
    .raw("</p>");
    for c in policy.categories() {
        let id = escape_html(&c.id);
        h.raw("<div class=\"consentry-category\"><div class=\"consentry-category__head\"><label class=\"consentry-category__title\" for=\"consentry-toggle-")
            .raw(&id)
            .raw("\">")
            .text(t.category_title(&c.id))
            .raw("</label><input type=\"checkbox\" class=\"consentry-toggle\" id=\"consentry-toggle-")
            .raw(&id)
            .raw("\" data-category=\"")
            .raw(&id)
            .raw("\" aria-describedby=\"consentry-desc-")
            .raw(&id)
            .raw("\"");
        if c.required {
            h.raw(" checked=\"\" disabled=\"\"/><span class=\"consentry-always-on\">")
                .text(t.get(Key::always_on))
                .raw("</span>");
        } else {
            h.raw("/>");
        }
        h.raw("</div>");
        h.raw("<p class=\"consentry-category__text\" id=\"consentry-desc-").raw(&id).raw("\">");
        if let Some(d) = t.category_description(&c.id) {
            h.text(d);
        }
        h.raw("</p>");
        // Each service of the category, by name, with its cookies; for an
        // optional category, with its own switch (the category's toggle
        // sets them all; some on and some off shows it as mixed).
        let services: Vec<_> = policy.services().iter().filter(|s| s.category == c.id).collect();
        if !services.is_empty() {
            h.raw("<ul class=\"consentry-services\" aria-label=\"").text(t.get(Key::services)).raw("\">");
            for s in services {
                let sid = escape_html(&s.id);
                let name = s.name.as_deref().unwrap_or(&s.id);
                h.raw("<li class=\"consentry-service\">");
                if c.required {
                    h.raw("<span class=\"consentry-service__name\">").text(name).raw("</span>");
                } else {
                    h.raw("<label class=\"consentry-service__name\" for=\"consentry-service-")
                        .raw(&sid)
                        .raw("\">")
                        .text(name)
                        .raw("</label><input type=\"checkbox\" role=\"switch\" class=\"consentry-toggle consentry-toggle--service\" id=\"consentry-service-")
                        .raw(&sid)
                        .raw("\" data-service=\"")
                        .raw(&sid)
                        .raw("\" data-of=\"")
                        .raw(&id)
                        .raw("\"/>");
                }
                if !s.cookies.is_empty() {
                    cookie_table(&mut h, policy, t, s, name);
                }
                h.raw("</li>");
            }
            h.raw("</ul>");
        }
        h.raw("</div>");
    }
    h.raw("<div class=\"consentry-dialog__actions\">");
    for (action, key) in [
        (Action::AcceptAll, Key::accept_all),
        (Action::RejectAll, Key::reject_all),
        (Action::Save, Key::save),
    ] {
        h.raw(concat!("<button type=\"button\" class=\"consentry-btn\" ", action_attr!(), "=\""))
            .raw(action.as_str())
            .raw("\">")
            .text(t.get(key))
            .raw("</button>");
    }
    // "Close" as an icon, named for assistive technology: on a phone the
    // footer then takes two rows, not four.
    h.raw(concat!(
        "<button type=\"button\" class=\"consentry-btn consentry-btn--icon\" ",
        action_attr!(),
        "=\""
    ))
    .raw(Action::Close.as_str())
    .raw("\" aria-label=\"")
    .text(t.get(Key::close))
    .raw("\" title=\"")
    .text(t.get(Key::close))
    .raw("\">\u{d7}</button></div></div></div>");
    h.0
}

/// A service's cookies as a table that opens on demand: name, provider,
/// purpose, lifetime (what the policy says; a dash where it says nothing).
fn cookie_table(
    h: &mut Html,
    policy: &Policy,
    t: &ResolvedTexts<'_>,
    s: &crate::policy::Service,
    name: &str,
) {
    let mut summary = String::new();
    let _ = write!(summary, "{} ({})", t.get(Key::cookies), s.cookies.len());
    h.raw("<details class=\"consentry-cookies\"><summary>")
        .text(&summary)
        .raw("</summary><table><thead><tr>");
    for key in [Key::cookie_name, Key::cookie_provider, Key::cookie_purpose, Key::cookie_lifetime] {
        h.raw("<th scope=\"col\">").text(t.get(key)).raw("</th>");
    }
    h.raw("</tr></thead><tbody>");
    for g in &s.cookies {
        let info = policy.cookie_info(&s.id, g.as_str());
        let local = |f: fn(&crate::policy::CookieInfo) -> &crate::policy::LocalText| {
            info.and_then(|i| f(i).get(t.lang(), policy.language())).unwrap_or("\u{2014}")
        };
        h.raw("<tr><td><code>")
            .text(g.as_str())
            .raw("</code></td><td>")
            .text(info.and_then(|i| i.provider.as_deref()).unwrap_or(name))
            .raw("</td><td>")
            .text(local(|i| &i.purpose))
            .raw("</td><td>")
            .text(local(|i| &i.lifetime))
            .raw("</td></tr>");
    }
    h.raw("</tbody></table></details>");
}

/// The persistent button that reopens the dialog once the visitor has chosen.
pub fn settings_button(t: &ResolvedTexts<'_>) -> String {
    let mut h = Html(String::with_capacity(128));
    h.raw(concat!(
        "<button type=\"button\" class=\"consentry-settings\" ",
        action_attr!(),
        "=\"preferences\""
    ))
    .lang(t.lang())
    .raw(">")
    .text(t.get(Key::settings_link))
    .raw("</button>");
    h.0
}

/// The click-to-load notice put in place of an embed whose category is
/// refused; the browser banner fills in `data-consentry-load` with the
/// embed's category.
pub fn placeholder(t: &ResolvedTexts<'_>) -> String {
    let mut h = Html(String::with_capacity(256));
    h.raw("<div class=\"consentry consentry-placeholder\" data-consentry-placeholder=\"\"")
        .lang(t.lang())
        .raw("><div class=\"consentry-placeholder__inner\"><p>")
        .text(t.get(Key::embed_notice))
        .raw("</p><button type=\"button\" class=\"consentry-btn\" data-consentry-load=\"\">")
        .text(t.get(Key::embed_load))
        .raw("</button></div></div>");
    h.0
}
