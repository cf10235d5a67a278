//! Streaming HTML rewriting with lol_html.
//!
//! The rules are declarative: a [`Plan`] holds the parsed selectors and the
//! pre-rendered fragments, built once from the policy when the layer is
//! built. Per response, [`Rewriter::new`] attaches handlers to those
//! selectors that consult that request's [`Decision`]:
//!
//! - `gating`: which scripts, frames and pixels may be live;
//! - `injection`: what goes into `<head>`;
//!
//! and the server-rendered banner goes into `<body>`, written by
//! consentry-core's renderer (the markup the browser banner inserts too).

pub(crate) mod escape;
mod gating;
mod injection;

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use consentry_core::render::{self, RenderedBy};
use consentry_core::{Decision, Policy};
use lol_html::html_content::{ContentType, EndTag, TextChunk};
use lol_html::send::{Element, ElementContentHandlers, HtmlRewriter, Settings};
use lol_html::{AsciiCompatibleEncoding, MemorySettings, OutputSink, Selector};

pub(crate) use gating::is_executable_type;

/// Most of an inline script held back while looking for tracker calls. A
/// longer one is judged on this prefix and the rest streamed: inert when
/// the prefix names a service that may not run, and — since a call further
/// on could not be caught — inert too when it names none, unless every
/// service may run (it fails closed, never open).
const INLINE_SCRIPT_LIMIT: usize = 1024 * 1024;

/// Bound on lol_html's own buffering (one tag's attributes, mostly). A page
/// that needs more fails closed: the response ends with an error rather
/// than continuing unrewritten.
const MAX_REWRITER_MEMORY: usize = 16 * 1024 * 1024;

/// Everything about rewriting that does not depend on the request.
pub(crate) struct Plan {
    policy: Policy,
    /// The ready policy in a `<script type="application/json">`, one per
    /// language the banner can speak, rendered once: (language, script).
    policy_scripts: Vec<(String, String)>,
    stylesheet: Option<String>,
    loader: Option<String>,
    consent_url: String,
    inject_services: bool,
    banner: bool,
    sel: Selectors,
}

/// Selectors built from the policy once. Elements that cannot concern a
/// service never reach a handler: lol_html's selector VM filters them.
struct Selectors {
    html: Selector,
    head: Selector,
    body: Selector,
    /// Every script in `<head>`: where the injection goes.
    head_script: Selector,
    /// Scripts whose `src` may belong to a service.
    script_src: Option<Selector>,
    /// Inline scripts: their code is checked for tracker calls.
    script_inline: Selector,
    /// Scripts marked by the author (`data-category` / `data-service`).
    script_marked: Selector,
    /// Frames and images whose `src` may belong to a service, or marked ones.
    frame: Selector,
    img: Selector,
    noscript: Selector,
}

/// `tag[src^="…"], tag[src*="…"]` for every URL hint of the policy, plus
/// `extra`; `None` when nothing can match.
fn hinted(policy: &Policy, tag: &str, extra: Option<&str>) -> Option<Selector> {
    let mut parts: Vec<String> = extra.map(str::to_owned).into_iter().collect();
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    for service in policy.services() {
        for hint in service.url_hints() {
            parts.push(match hint {
                consentry_core::UrlHint::Prefix(p) => format!("{tag}[src^=\"{}\"]", quote(&p)),
                consentry_core::UrlHint::Contains(c) if c.is_empty() => format!("{tag}[src]"),
                consentry_core::UrlHint::Contains(c) => format!("{tag}[src*=\"{}\"]", quote(&c)),
            });
        }
    }
    parts.sort();
    parts.dedup();
    if parts.is_empty() {
        return None;
    }
    // Hints come from a validated policy (no quotes or control characters);
    // should one still not parse, fall back to every element with a `src`.
    Some(parts.join(", ").parse().unwrap_or_else(|_| selector_owned(&format!("{tag}[src]"))))
}

/// Parses one of the constant selectors below (checked by a unit test; no
/// request or page can influence it).
#[allow(clippy::expect_used)]
fn selector(s: &'static str) -> Selector {
    s.parse().expect("constant selector")
}

#[allow(clippy::expect_used)]
fn selector_owned(s: &str) -> Selector {
    s.parse().expect("simple selector")
}

impl Plan {
    pub(crate) fn new(
        policy: Policy,
        stylesheet: Option<String>,
        loader: Option<String>,
        consent_url: String,
        inject_services: bool,
        banner: bool,
    ) -> Self {
        let plan_policy = policy.clone();
        let policy_scripts = policy
            .languages()
            .into_iter()
            .map(|lang| {
                let script = format!(
                    "<script type=\"application/json\" id=\"consentry-policy\">{}</script>",
                    escape::json_in_script(&policy.to_ready_json(&[lang]))
                );
                (lang.to_owned(), script)
            })
            .collect();
        Self {
            policy,
            policy_scripts,
            stylesheet,
            loader,
            consent_url,
            inject_services,
            banner,
            sel: Selectors {
                html: selector("html"),
                head: selector("head"),
                body: selector("body"),
                head_script: selector("head script"),
                script_src: hinted(&plan_policy, "script", None),
                script_inline: selector("script:not([src])"),
                script_marked: selector("script[data-category], script[data-service]"),
                frame: hinted(&plan_policy, "iframe", Some("iframe[data-src]"))
                    .unwrap_or_else(|| selector("iframe[data-src]")),
                img: hinted(&plan_policy, "img", Some("img[data-src]"))
                    .unwrap_or_else(|| selector("img[data-src]")),
                noscript: selector("noscript"),
            },
        }
    }
}

/// Per-response state shared by the handlers.
struct State {
    plan: Arc<Plan>,
    decision: Decision,
    nonce: Option<String>,
    return_to: String,
    /// `<html lang>`, once seen.
    lang: Option<String>,
    /// The request's `Accept-Language` ranges, best first.
    accept_language: Vec<String>,
    in_head: bool,
    head_done: bool,
    body_done: bool,
    inline: Option<PendingInline>,
    noscript: Option<Nested>,
}

/// `<noscript>` content is raw text to lol_html (it assumes scripting), but a
/// browser without JavaScript renders it as markup: its pixels and frames go
/// through a nested rewriter with the same gating.
struct Nested {
    rewriter: HtmlRewriter<'static, Sink>,
    sink: Sink,
}

/// An inline script whose start tag is held back until its code is known.
struct PendingInline {
    attrs: Vec<(String, String)>,
    code: String,
    flushed: bool,
}

type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn lock(state: &Mutex<State>) -> Result<MutexGuard<'_, State>, Box<dyn std::error::Error + Send + Sync>> {
    state.lock().map_err(|_| "rewriter state poisoned".into())
}

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<BytesMut>>);

impl OutputSink for Sink {
    fn handle_chunk(&mut self, chunk: &[u8]) {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(chunk);
        }
    }
}

impl Sink {
    fn take(&self) -> Bytes {
        self.0.lock().map(|mut b| b.split().freeze()).unwrap_or_default()
    }
}

/// Rewrites one HTML response as it streams.
pub(crate) struct Rewriter {
    inner: Option<HtmlRewriter<'static, Sink>>,
    sink: Sink,
}

/// The rewriter could not go on; the response is ended with this error.
#[derive(Debug)]
pub struct RewriteError(String);

impl std::fmt::Display for RewriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "consentry could not rewrite this HTML response: {}", self.0)
    }
}

impl std::error::Error for RewriteError {}

impl Rewriter {
    pub(crate) fn new(
        plan: &Arc<Plan>,
        decision: Decision,
        nonce: Option<String>,
        return_to: String,
        accept_language: Option<&http::HeaderValue>,
        encoding: &'static encoding_rs::Encoding,
    ) -> Self {
        let accept_language = accept_language
            .and_then(|v| v.to_str().ok())
            .map(|v| consentry_core::accept_language(v).into_iter().map(str::to_owned).collect())
            .unwrap_or_default();
        let state = Arc::new(Mutex::new(State {
            plan: Arc::clone(plan),
            decision,
            nonce,
            return_to,
            lang: None,
            accept_language,
            in_head: false,
            head_done: false,
            body_done: false,
            inline: None,
            noscript: None,
        }));
        let s = |st: &Arc<Mutex<State>>| Arc::clone(st);
        let [s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11] = std::array::from_fn(|_| s(&state));
        let sink = Sink::default();
        let encoding = AsciiCompatibleEncoding::new(encoding).unwrap_or_else(AsciiCompatibleEncoding::utf_8);
        let settings = Settings::new_send()
            .with_encoding(encoding)
            .with_strict(false)
            .with_memory_settings(MemorySettings::new().with_max_allowed_memory_usage(MAX_REWRITER_MEMORY))
            .append_element_content_handler((
                Cow::Borrowed(&plan.sel.html),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                    lock(&s1)?.lang = el.get_attribute("lang");
                    Ok(())
                }),
            ))
            .append_element_content_handler((
                Cow::Borrowed(&plan.sel.head),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| on_head(&s2, el)),
            ))
            .append_element_content_handler((
                Cow::Borrowed(&plan.sel.body),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| on_body(&s3, el)),
            ))
            .append_element_content_handler((
                Cow::Borrowed(&plan.sel.head_script),
                ElementContentHandlers::default()
                    .element(move |el: &mut Element<'_, '_>| on_head_script(&s4, el)),
            ))
            .append_element_content_handler((
                Cow::Borrowed(&plan.sel.script_marked),
                ElementContentHandlers::default()
                    .element(move |el: &mut Element<'_, '_>| on_marked_script(&s9, el)),
            ))
            .append_element_content_handler((
                Cow::Borrowed(&plan.sel.script_inline),
                ElementContentHandlers::default()
                    .element(move |el: &mut Element<'_, '_>| on_inline_script(&s10, el))
                    .text(move |t: &mut TextChunk<'_>| on_script_text(&s5, t)),
            ))
            .append_element_content_handler((
                Cow::Borrowed(&plan.sel.frame),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| on_frame(&s6, el)),
            ))
            .append_element_content_handler((
                Cow::Borrowed(&plan.sel.img),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| on_frame(&s7, el)),
            ))
            .append_element_content_handler((
                Cow::Borrowed(&plan.sel.noscript),
                ElementContentHandlers::default().text(move |t: &mut TextChunk<'_>| on_noscript_text(&s8, t)),
            ));
        let settings = match &plan.sel.script_src {
            Some(sel) => settings.append_element_content_handler((
                Cow::Borrowed(sel),
                ElementContentHandlers::default()
                    .element(move |el: &mut Element<'_, '_>| on_src_script(&s11, el)),
            )),
            None => settings,
        };
        let inner = HtmlRewriter::new(settings, sink.clone());
        Self { inner: Some(inner), sink }
    }

    /// Feeds a chunk of the original body; returns what is ready to send.
    pub(crate) fn write(&mut self, chunk: &[u8]) -> Result<Bytes, RewriteError> {
        let inner = self.inner.as_mut().ok_or_else(|| RewriteError("already ended".into()))?;
        match inner.write(chunk) {
            Ok(()) => Ok(self.sink.take()),
            Err(e) => {
                self.inner = None;
                Err(RewriteError(e.to_string()))
            }
        }
    }

    /// Ends the document; returns the last bytes.
    pub(crate) fn end(&mut self) -> Result<Bytes, RewriteError> {
        let inner = self.inner.take().ok_or_else(|| RewriteError("already ended".into()))?;
        inner.end().map_err(|e| RewriteError(e.to_string()))?;
        Ok(self.sink.take())
    }
}

impl State {
    /// The visitor's languages, best first: `<html lang>`, then `Accept-Language`.
    fn preferred(&self) -> Vec<&str> {
        self.lang.iter().chain(&self.accept_language).map(String::as_str).collect()
    }
}

fn head_html(st: &State) -> String {
    let plan = &st.plan;
    let langs: Vec<&str> = plan.policy_scripts.iter().map(|(l, _)| l.as_str()).collect();
    let lang = consentry_core::negotiate(&langs, &st.preferred(), plan.policy.language());
    let policy_script =
        plan.policy_scripts.iter().find(|(l, _)| l == lang).map_or("", |(_, script)| script.as_str());
    injection::Head {
        policy: &plan.policy,
        policy_script,
        stylesheet: plan.stylesheet.as_deref(),
        loader: plan.loader.as_deref(),
        inject_services: plan.inject_services,
    }
    .render(&st.decision, st.nonce.as_deref())
}

/// The injection goes just before the first `<script>` of `<head>` (so the
/// Consent Mode defaults precede every tag, while `<meta charset>` and
/// `<title>` stay first), or at `</head>` when it has no script.
fn on_head(state: &Arc<Mutex<State>>, el: &mut Element<'_, '_>) -> HandlerResult {
    let mut st = lock(state)?;
    if st.head_done || st.in_head {
        return Ok(());
    }
    st.in_head = true;
    drop(st);
    let state_end = Arc::clone(state);
    if let Some(handlers) = el.end_tag_handlers() {
        handlers.push(Box::new(move |end: &mut EndTag<'_>| {
            let mut st = lock(&state_end)?;
            st.in_head = false;
            if !st.head_done {
                st.head_done = true;
                end.before(&head_html(&st), ContentType::Html);
            }
            Ok(())
        }));
    }
    Ok(())
}

fn on_body(state: &Mutex<State>, el: &mut Element<'_, '_>) -> HandlerResult {
    let mut st = lock(state)?;
    if st.body_done {
        return Ok(());
    }
    st.body_done = true;
    let mut html = String::new();
    if !st.head_done {
        // A document without <head>: the policy and tags still go first.
        st.head_done = true;
        html.push_str(&head_html(&st));
    }
    if st.plan.banner && st.decision.needs_banner() {
        let texts = st.plan.policy.texts_for(&st.preferred());
        html.push_str(&render::banner(
            &st.plan.policy,
            &texts,
            &st.plan.consent_url,
            Some(&st.return_to),
            RenderedBy::Server,
        ));
    }
    if !html.is_empty() {
        el.prepend(&html, ContentType::Html);
    }
    Ok(())
}

fn attr(el: &Element<'_, '_>, name: &str) -> Option<String> {
    el.get_attribute(name)
}

/// Makes an author-marked inert element live when allowed.
fn activate_marked(st: &State, el: &mut Element<'_, '_>, src_attr: &str) -> HandlerResult {
    let category = attr(el, "data-category");
    let service = attr(el, "data-service");
    if gating::marked_allowed(&st.plan.policy, &st.decision, category.as_deref(), service.as_deref()) {
        if src_attr == "type" {
            match attr(el, "data-type") {
                Some(t) if !t.is_empty() => el.set_attribute("type", &t)?,
                _ => el.remove_attribute("type"),
            }
        } else if let Some(src) = attr(el, "data-src") {
            el.set_attribute("src", &src)?;
        }
    }
    Ok(())
}

fn mark_inert(el: &mut Element<'_, '_>, service: &consentry_core::Service) -> HandlerResult {
    el.set_attribute("data-category", &service.category)?;
    el.set_attribute("data-service", &service.id)?;
    Ok(())
}

/// First script of `<head>`: the injection goes just before it.
fn on_head_script(state: &Mutex<State>, el: &mut Element<'_, '_>) -> HandlerResult {
    let mut st = lock(state)?;
    if st.in_head && !st.head_done {
        st.head_done = true;
        el.before(&head_html(&st), ContentType::Html);
    }
    Ok(())
}

fn is_text_plain(ty: Option<&str>) -> bool {
    ty.is_some_and(|t| t.trim().eq_ignore_ascii_case("text/plain"))
}

/// `<script type="text/plain" data-category|data-service>`: made live when granted.
fn on_marked_script(state: &Mutex<State>, el: &mut Element<'_, '_>) -> HandlerResult {
    if is_text_plain(attr(el, "type").as_deref()) {
        let st = lock(state)?;
        activate_marked(&st, el, "type")?;
    }
    Ok(())
}

/// A live `<script src>` of a service that may not run becomes inert.
fn on_src_script(state: &Mutex<State>, el: &mut Element<'_, '_>) -> HandlerResult {
    let ty = attr(el, "type");
    if !is_executable_type(ty.as_deref()) {
        return Ok(());
    }
    let st = lock(state)?;
    let Some(src) = attr(el, "src") else { return Ok(()) };
    if let Some(service) = gating::service_for_url(&st.plan.policy, &src) {
        if !gating::service_live(&st.decision, service) {
            if let Some(t) = ty.filter(|t| !t.trim().is_empty()) {
                el.set_attribute("data-type", &t)?;
            }
            el.set_attribute("type", "text/plain")?;
            mark_inert(el, service)?;
        }
    }
    Ok(())
}

/// Inline code: hold the start tag back until the code has been seen, then
/// write it (live or inert) just before the end tag.
fn on_inline_script(state: &Arc<Mutex<State>>, el: &mut Element<'_, '_>) -> HandlerResult {
    if !is_executable_type(attr(el, "type").as_deref()) {
        return Ok(());
    }
    let mut st = lock(state)?;
    let attrs = el.attributes().iter().map(|a| (a.name(), a.value())).collect();
    el.start_tag().remove();
    st.inline = Some(PendingInline { attrs, code: String::new(), flushed: false });
    drop(st);
    let state_end = Arc::clone(state);
    if let Some(handlers) = el.end_tag_handlers() {
        handlers.push(Box::new(move |end: &mut EndTag<'_>| on_inline_end(&state_end, end)));
    }
    Ok(())
}

fn on_script_text(state: &Mutex<State>, chunk: &mut TextChunk<'_>) -> HandlerResult {
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
    let unchecked = gating::service_for_inline(policy, &pending.code).is_none()
        && !policy.services().iter().all(|s| gating::service_live(&st.decision, s));
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

/// The start tag of a held-back inline script: as written, or inert when its
/// code belongs to a service that may not run.
fn start_tag_for(policy: &Policy, decision: &Decision, pending: &PendingInline) -> String {
    let service =
        gating::service_for_inline(policy, &pending.code).filter(|s| !gating::service_live(decision, s));
    let inert = service.map(|s| {
        format!(
            " type=\"text/plain\" data-category=\"{}\" data-service=\"{}\"",
            escape::html(&s.category),
            escape::html(&s.id)
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
                out.push_str(&format!(" data-type=\"{}\"", escape::html(value)));
            }
            continue;
        }
        out.push(' ');
        out.push_str(name);
        if !value.is_empty() {
            out.push_str(&format!("=\"{}\"", escape::html(value)));
        }
    }
    out.push_str(inert.unwrap_or_default());
    out.push('>');
    out
}

/// `<iframe>` and `<img>`: author-marked ones are activated when allowed;
/// live ones pointing at a service that may not run lose their `src` (kept
/// in `data-src` for the banner to restore).
fn on_frame(state: &Mutex<State>, el: &mut Element<'_, '_>) -> HandlerResult {
    let st = lock(state)?;
    gate_frame(&st.plan.policy, &st.decision, el)
}

fn gate_frame(policy: &Policy, decision: &Decision, el: &mut Element<'_, '_>) -> HandlerResult {
    if el.has_attribute("data-src") && (el.has_attribute("data-category") || el.has_attribute("data-service"))
    {
        let allowed = gating::marked_allowed(
            policy,
            decision,
            attr(el, "data-category").as_deref(),
            attr(el, "data-service").as_deref(),
        );
        if allowed {
            if let Some(src) = attr(el, "data-src") {
                el.set_attribute("src", &src)?;
            }
        } else {
            el.remove_attribute("src");
        }
        return Ok(());
    }
    let Some(src) = attr(el, "src") else { return Ok(()) };
    if let Some(service) = gating::service_for_url(policy, &src) {
        if !gating::service_live(decision, service) {
            el.remove_attribute("src");
            el.set_attribute("data-src", &src)?;
            mark_inert(el, service)?;
        }
    }
    Ok(())
}

fn on_noscript_text(state: &Mutex<State>, chunk: &mut TextChunk<'_>) -> HandlerResult {
    let mut st = lock(state)?;
    let st = &mut *st;
    if st.noscript.is_none() {
        let (plan, decision) = (Arc::clone(&st.plan), st.decision.clone());
        let (p1, d1, p2, d2) = (Arc::clone(&plan), decision.clone(), plan, decision);
        let sink = Sink::default();
        let settings = Settings::new_send()
            .with_strict(false)
            .with_memory_settings(MemorySettings::new().with_max_allowed_memory_usage(MAX_REWRITER_MEMORY))
            .append_element_content_handler((
                Cow::Owned(p1.sel.frame.clone()),
                ElementContentHandlers::default()
                    .element(move |el: &mut Element<'_, '_>| gate_frame(&p1.policy, &d1, el)),
            ))
            .append_element_content_handler((
                Cow::Owned(p2.sel.img.clone()),
                ElementContentHandlers::default()
                    .element(move |el: &mut Element<'_, '_>| gate_frame(&p2.policy, &d2, el)),
            ));
        st.noscript = Some(Nested { rewriter: HtmlRewriter::new(settings, sink.clone()), sink });
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
