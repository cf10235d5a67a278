//! Inline scripts: the start tag is held back until the code has been seen
//! (up to [`INLINE_SCRIPT_LIMIT`]), then written live or inert just before
//! the end tag, by the rules of `gating`.

use std::sync::{Arc, Mutex};

use consentry_core::inline::services_in_code;
use consentry_core::{Decision, Policy, Service};
use lol_html::html_content::{ContentType, EndTag, TextChunk};
use lol_html::send::Element;

use super::{HandlerResult, State, attr, escape, hold_start_tag, is_executable_type, lock};

/// Most of an inline script held back while looking for tracker calls. A
/// longer one is judged on this prefix and the rest streamed: inert when
/// the prefix names a service that may not run, and — since a call further
/// on could not be caught — inert too when it names none, unless every
/// service may run (it fails closed, never open).
const INLINE_SCRIPT_LIMIT: usize = 1024 * 1024;

/// An inline script whose start tag is held back until its code is known.
pub(super) struct PendingInline {
    /// In XHTML, where character references in the code count.
    xml: bool,
    attrs: Vec<(String, String)>,
    code: String,
    flushed: bool,
}

/// Inline code: hold the start tag back until the code has been seen, then
/// write it (live or inert) just before the end tag.
pub(super) fn on_inline_script(state: &Arc<Mutex<State>>, el: &mut Element<'_, '_>) -> HandlerResult {
    if !is_executable_type(attr(el, "type").as_deref()) {
        return Ok(());
    }
    if el.namespace_uri() != HTML_NAMESPACE {
        return judge_unseen(state, el);
    }
    let attrs = hold_start_tag(state, el, on_inline_end);
    let mut st = lock(state)?;
    st.inline = Some(PendingInline { xml: st.xml, attrs, code: String::new(), flushed: false });
    Ok(())
}

const HTML_NAMESPACE: &str = "http://www.w3.org/1999/xhtml";

/// A script in SVG or MathML is not raw text: an ancestor's end tag can
/// close it before its own, and a start tag held back for its end tag would
/// be lost there (whether lol_html sees that ancestor also depends on what
/// the pre-scan copied around it). Its code is not waited for: it is judged
/// unseen, as a script too long to check is — inert, and marked
/// `data-consentry="unchecked"`, unless every service may run.
fn judge_unseen(state: &Mutex<State>, el: &mut Element<'_, '_>) -> HandlerResult {
    let st = lock(state)?;
    if st.plan.policy.services().iter().all(|s| st.decision.service_may_run(s)) {
        return Ok(());
    }
    if let Some(ty) = attr(el, "type").filter(|t| !t.trim().is_empty()) {
        el.set_attribute("data-type", &ty)?;
    }
    el.set_attribute("type", "text/plain")?;
    el.set_attribute("data-consentry", "unchecked")?;
    Ok(())
}

pub(super) fn on_script_text(state: &Mutex<State>, chunk: &mut TextChunk<'_>) -> HandlerResult {
    let mut st = lock(state)?;
    let st = &mut *st;
    let Some(pending) = st.inline.as_mut() else {
        return Ok(());
    };
    if pending.flushed {
        return Ok(());
    }
    pending.code.push_str(chunk.as_str());
    if pending.code.len() <= INLINE_SCRIPT_LIMIT {
        chunk.remove();
        return Ok(());
    }
    // Too long to hold: judge on what was seen, then stream the rest.
    let this_chunk = chunk.as_str().len();
    let seen = pending.code.len() - this_chunk;
    let policy = &st.plan.policy;
    let unchecked = inline_services(policy, pending).is_empty()
        && !policy.services().iter().all(|s| st.decision.service_may_run(s));
    let start = if unchecked {
        tracing::warn!(
            limit = INLINE_SCRIPT_LIMIT,
            "an inline script longer than the limit was made inert: the rest of it could not be checked for tracker calls"
        );
        unchecked_start_tag(pending)
    } else {
        start_tag_for(policy, &st.decision, pending)
    };
    let mut html = start;
    html.push_str(&pending.code[..seen]);
    chunk.before(&html, ContentType::Html);
    pending.flushed = true;
    pending.code = String::new();
    Ok(())
}

fn on_inline_end(state: &Mutex<State>, end: &mut EndTag<'_>) -> HandlerResult {
    let mut st = lock(state)?;
    let st = &mut *st;
    let Some(pending) = st.inline.take() else {
        return Ok(());
    };
    if !pending.flushed {
        let mut html = start_tag_for(&st.plan.policy, &st.decision, &pending);
        html.push_str(&pending.code);
        end.before(&html, ContentType::Html);
    }
    Ok(())
}

/// Every service a held-back script's code refers to (core's rule,
/// [`consentry_core::inline`]). In XHTML the XML parser decodes character
/// references in it first (`gtag&#40;`), so both readings count.
fn inline_services<'p>(policy: &'p Policy, pending: &PendingInline) -> Vec<&'p Service> {
    let mut found = services_in_code(policy, &pending.code);
    if pending.xml && pending.code.contains('&') {
        for s in services_in_code(policy, &htmlize::unescape(pending.code.as_str())) {
            if !found.iter().any(|f| f.id == s.id) {
                found.push(s);
            }
        }
    }
    found
}

/// The start tag of a held-back inline script: as written while every
/// service its code refers to may run; inert otherwise, marked with the
/// category of the first that may not and with every service it refers to
/// (`data-service="matomo gtm"`), so the page layer runs it only once all
/// are allowed.
fn start_tag_for(policy: &Policy, decision: &Decision, pending: &PendingInline) -> String {
    let services = inline_services(policy, pending);
    let blocked = services.iter().find(|s| !decision.service_may_run(s));
    let inert = blocked.map(|first| {
        let ids: Vec<&str> = services.iter().map(|s| s.id.as_str()).collect();
        format!(
            " type=\"text/plain\" data-category=\"{}\" data-service=\"{}\"",
            escape::html(&first.category),
            escape::html(&ids.join(" "))
        )
    });
    script_start_tag(pending, inert.as_deref(), &["data-category", "data-service"])
}

/// The start tag of an inline script too long to check: inert, marked
/// `data-consentry="unchecked"` so a site can find it.
fn unchecked_start_tag(pending: &PendingInline) -> String {
    script_start_tag(pending, Some(" type=\"text/plain\" data-consentry=\"unchecked\""), &[])
}

/// `<script` with the held-back attributes. When `inert` (the attributes
/// that make it so) is given, they replace `type` (kept as `data-type`) and
/// the attributes named in `replaced`.
fn script_start_tag(pending: &PendingInline, inert: Option<&str>, replaced: &[&str]) -> String {
    let mut out = String::from("<script");
    for (name, value) in &pending.attrs {
        if inert.is_some() && (name == "type" || replaced.contains(&name.as_str())) {
            if name == "type" && !value.trim().is_empty() {
                out.push_str(&format!(" data-type=\"{}\"", escape::raw_attribute(value)));
            }
            continue;
        }
        out.push(' ');
        out.push_str(name);
        // `async` as written in HTML; `async=""` in XHTML, where an
        // attribute always has a value.
        if !value.is_empty() || pending.xml {
            out.push_str(&format!("=\"{}\"", escape::raw_attribute(value)));
        }
    }
    out.push_str(inert.unwrap_or_default());
    out.push('>');
    out
}
