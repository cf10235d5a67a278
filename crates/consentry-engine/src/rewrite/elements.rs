//! Elements that make the browser fetch: `<script src>`, frames, pixels,
//! links, `<base href>`, and the markup lol_html reads as text
//! (`<noscript>`, `<iframe srcdoc>`, XHTML raw-text elements), each judged by
//! the URL the browser would fetch (`fetch`) and the rules of `gating`.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use consentry_core::{Decision, Policy, Service};
use lol_html::MemorySettings;
use lol_html::html_content::{ContentType, TextChunk};
use lol_html::send::{Element, ElementContentHandlers, HtmlRewriter, Settings};
use url::Url;

use super::{
    BoxError, HandlerResult, MAX_REWRITER_MEMORY, Plan, Sink, State, attr, fetch, gating, head_html,
    is_executable_type, lock, mark_inert,
};

/// `<noscript>` content is raw text to lol_html (it assumes scripting), but a
/// browser without JavaScript renders it as markup: its pixels and frames go
/// through a nested rewriter with the same gating.
pub(super) struct Nested {
    rewriter: HtmlRewriter<'static, Sink>,
    sink: Sink,
}

/// `<base href>`: the first one moves where relative URLs resolve (and,
/// in `<head>` before any script, the injection goes before it, so that
/// our own URLs load from this site whatever it says).
pub(super) fn on_base(state: &Arc<Mutex<State>>, el: &mut Element<'_, '_>) -> HandlerResult {
    let mut st = lock(state)?;
    if st.in_head && !st.head_done() {
        st.set_head_done();
        el.before(&head_html(&st), ContentType::Html);
    }
    if !st.base_seen {
        st.base_seen = true;
        if let Some(href) = attr(el, "href") {
            let base = fetch::base_url(st.base.as_ref(), &href);
            if base.is_some() {
                st.set_base(base);
            }
        }
    }
    Ok(())
}

/// Every element that makes the browser fetch something.
pub(super) fn on_fetching(state: &Arc<Mutex<State>>, el: &mut Element<'_, '_>) -> HandlerResult {
    let st = lock(state)?;
    Gate::of(&st).element(el).map(drop)
}

/// What gating an element needs: the rules, this request's decision and
/// where the page's relative URLs resolve.
pub(super) struct Gate<'a> {
    plan: &'a Arc<Plan>,
    decision: &'a Decision,
    base: Option<&'a Url>,
    /// Whether a service's token occurs in `base`.
    base_hot: bool,
    /// 0 for the page itself, 1 inside an `<iframe srcdoc>`.
    depth: u8,
    /// This response's gate token (see `State::gate_token`).
    token: Option<&'a str>,
}

impl<'a> Gate<'a> {
    /// For the page itself, as the rewriter's state has it now.
    pub(super) fn of(st: &'a State) -> Self {
        Self {
            plan: &st.plan,
            decision: &st.decision,
            base: st.base.as_ref(),
            base_hot: st.base_hot(),
            depth: 0,
            token: st.gate_token.as_deref(),
        }
    }

    fn policy(&self) -> &'a Policy {
        &self.plan.policy
    }

    /// The service that may not run whose URL `value` (an attribute, or a
    /// sheet, as written) names, if any.
    pub(super) fn blocked(&self, shape: fetch::Shape, value: &str) -> Option<&'a Service> {
        if self.plan.tokens.rule_out(self.base_hot, value) {
            return None;
        }
        gating::blocked_by(self.policy(), self.decision, &fetch::candidates(self.base, shape, value))
    }

    /// Gates one element; returns the service it was gated for, if any.
    fn element(&self, el: &mut Element<'_, '_>) -> Result<Option<&Service>, BoxError> {
        let tag = el.tag_name();
        if tag == "script" {
            return self.script(el);
        }
        if matches!(tag.as_str(), "iframe" | "img")
            && el.has_attribute("data-src")
            && (el.has_attribute("data-category") || el.has_attribute("data-service"))
        {
            self.activate_marked_embed(el)?;
            return Ok(None);
        }
        if tag == "meta" && !attr(el, "http-equiv").is_some_and(|v| v.trim().eq_ignore_ascii_case("refresh"))
        {
            return Ok(None);
        }
        let mut blocked: Option<&Service> = None;
        let mut gated: Vec<(&str, String)> = Vec::new();
        if tag == "iframe" {
            if let Some(value) = attr(el, "srcdoc") {
                if let Some(s) = self.srcdoc(&value) {
                    blocked.get_or_insert(s);
                    gated.push(("srcdoc", value));
                }
            }
        }
        let style: &[(&str, fetch::Shape)] = &[("style", fetch::Shape::Css)];
        for &(name, shape) in fetch::attributes(&tag).iter().chain(style) {
            let Some(value) = attr(el, name) else { continue };
            if let Some(s) = self.blocked(shape, &value) {
                blocked.get_or_insert(s);
                gated.push((name, value));
            }
        }
        let Some(service) = blocked else { return Ok(None) };
        // The value moves to `data-<name>` (`data-src` is what the banner
        // restores once the service is allowed).
        for (name, value) in gated {
            el.remove_attribute(name);
            el.set_attribute(&format!("data-{}", name.replace(':', "-")), &value)?;
        }
        mark_inert(el, service)?;
        if let Some(srcdoc) = attr(el, "data-srcdoc") {
            // Every service its text names, as for an inline script: the
            // page layer brings it back only once all are allowed.
            let named = consentry_core::inline::services_in_code(self.policy(), &fetch::decoded(&srcdoc));
            if named.len() > 1 && named.iter().any(|s| s.id == service.id) {
                let ids: Vec<&str> = named.iter().map(|s| s.id.as_str()).collect();
                el.set_attribute("data-service", &ids.join(" "))?;
            }
        }
        if let Some(token) = self.token {
            el.set_attribute(consentry_core::markup::GATED_ATTR, token)?;
        }
        Ok(Some(service))
    }

    /// A live `<script src>` of a service that may not run becomes inert.
    fn script(&self, el: &mut Element<'_, '_>) -> Result<Option<&Service>, BoxError> {
        let ty = attr(el, "type");
        if !is_executable_type(ty.as_deref()) {
            return Ok(None);
        }
        let Some(src) = attr(el, "src") else { return Ok(None) };
        if let Some(service) = self.blocked(fetch::Shape::Url, &src) {
            if let Some(t) = ty.filter(|t| !t.trim().is_empty()) {
                el.set_attribute("data-type", &t)?;
            }
            el.set_attribute("type", "text/plain")?;
            mark_inert(el, service)?;
            return Ok(Some(service));
        }
        Ok(None)
    }

    /// An author-marked `<iframe>` or `<img>` (`data-src` and
    /// `data-category`/`data-service`): made live when allowed, kept
    /// without `src` otherwise.
    fn activate_marked_embed(&self, el: &mut Element<'_, '_>) -> HandlerResult {
        let allowed = self.decision.allows_marked(
            self.policy(),
            attr(el, "data-category").as_deref(),
            attr(el, "data-service").as_deref(),
        );
        if allowed {
            if let Some(src) = attr(el, "data-src").filter(|s| super::may_activate(s)) {
                el.set_attribute("src", &src)?;
            }
        } else {
            el.remove_attribute("src");
        }
        Ok(())
    }

    /// An `<iframe srcdoc>` is a document of its own, loaded with the page's
    /// base: the service of the first tracker it would load, by the same
    /// rules (its markup gated by a nested rewriter, its text searched for
    /// tracker URLs and calls, as in an inline script).
    fn srcdoc(&self, raw: &str) -> Option<&Service> {
        let html = fetch::decoded(raw);
        let policy = self.policy();
        // Every service its text refers to must be allowed (core's rule).
        let in_text = consentry_core::inline::services_in_code(policy, &html)
            .into_iter()
            .find(|s| !self.decision.service_may_run(s));
        if in_text.is_some() || self.depth > 0 {
            return in_text;
        }
        let found = Arc::new(Mutex::new(None::<String>));
        let mut nested =
            nested_gate(self.plan, self.decision, (self.base, self.base_hot), 1, Some(Arc::clone(&found)));
        let ok = nested.rewriter.write(html.as_bytes()).is_ok();
        let ended = nested.rewriter.end().is_ok();
        let id = found.lock().ok().and_then(|mut f| f.take());
        match id {
            Some(id) => policy.service(&id),
            // A document the nested rewriter could not read is not let through.
            None if !(ok && ended) => policy.services().iter().find(|s| !self.decision.service_may_run(s)),
            None => None,
        }
    }
}

/// A rewriter for markup the page's own rewriter sees as text (`<noscript>`
/// content, an `<iframe srcdoc>`): every fetching element gated the same
/// way. When `found` is given, the id of the first service gated is put there.
fn nested_gate(
    plan: &Arc<Plan>,
    decision: &Decision,
    (base, base_hot): (Option<&Url>, bool),
    depth: u8,
    found: Option<Arc<Mutex<Option<String>>>>,
) -> Nested {
    let (plan, decision, base) = (Arc::clone(plan), decision.clone(), base.cloned());
    let sink = Sink::default();
    let settings = Settings::new_send()
        // Strict, as the page's own rewriter.
        .with_strict(true)
        .with_memory_settings(MemorySettings::new().with_max_allowed_memory_usage(MAX_REWRITER_MEMORY))
        .append_element_content_handler((
            Cow::Owned(plan.sel.fetching.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                // Markup read as text (`<noscript>` content, a `srcdoc`
                // being checked) is never restored by the page layer.
                let gate = Gate {
                    plan: &plan,
                    decision: &decision,
                    base: base.as_ref(),
                    base_hot,
                    depth,
                    token: None,
                };
                let gated = gate.element(el)?;
                if let (Some(found), Some(service)) = (&found, gated) {
                    let mut f = found.lock().map_err(|_| "nested state poisoned")?;
                    f.get_or_insert_with(|| service.id.clone());
                }
                Ok(())
            }),
        ));
    Nested { rewriter: HtmlRewriter::new(settings, sink.clone()), sink }
}

pub(super) fn on_noscript_text(state: &Mutex<State>, chunk: &mut TextChunk<'_>) -> HandlerResult {
    let mut st = lock(state)?;
    let st = &mut *st;
    if st.noscript.is_none() {
        st.noscript = Some(nested_gate(&st.plan, &st.decision, (st.base.as_ref(), st.base_hot()), 0, None));
    }
    let last = chunk.last_in_text_node();
    let mut out = Vec::new();
    if let Some(nested) = st.noscript.as_mut() {
        nested.rewriter.write(chunk.as_str().as_bytes())?;
        out.extend_from_slice(&nested.sink.take());
    }
    if last {
        if let Some(nested) = st.noscript.take() {
            nested.rewriter.end()?;
            out.extend_from_slice(&nested.sink.take());
        }
    }
    chunk.replace(&String::from_utf8_lossy(&out), ContentType::Html);
    Ok(())
}
