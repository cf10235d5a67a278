//! Streaming HTML rewriting with lol_html.
//!
//! The rules are declarative: a [`Plan`] holds the parsed selectors and the
//! pre-rendered fragments, built once from the policy when the layer is
//! built. Per response, [`Rewriter::new`] attaches handlers to those
//! selectors that consult that request's [`Decision`]:
//!
//! - `elements`: every element that makes the browser fetch, `<base href>`,
//!   and markup lol_html reads as text (`<noscript>`, `<iframe srcdoc>`);
//! - `inline`: inline scripts, held back until their code is known;
//! - `sheets`: `<style>` sheets, held back until their `url(…)`s are known;
//! - `gating`: which scripts, frames and pixels may be live (the rules);
//! - `fetch`: the URLs an element makes the browser fetch, resolved as the
//!   browser resolves them (entities, `<base href>`, case, encodings);
//! - `xml`: what makes an XHTML page safe to read with an HTML tokenizer;
//! - `injection`: what goes into `<head>`;
//!
//! and the server-rendered banner goes into `<body>`, written by
//! consentry-core's renderer (the markup the browser banner inserts too).

mod elements;
pub(crate) mod escape;
mod fetch;
mod gating;
mod injection;
mod inline;
mod prescan;
mod sheets;

#[cfg(feature = "fuzzing")]
pub(crate) use prescan::differential as prescan_differential;
mod xml;

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use consentry_core::render::{self, RenderedBy};
use consentry_core::{Decision, Model, Policy, Service};
use lol_html::html_content::{ContentType, EndTag, TextChunk};
use lol_html::send::{Element, ElementContentHandlers, HtmlRewriter, Settings};
use lol_html::{AsciiCompatibleEncoding, MemorySettings, OutputSink, Selector};
use url::Url;

use elements::{Nested, on_base, on_fetching, on_noscript_text};
pub(crate) use gating::is_executable_type;
use inline::{PendingInline, on_inline_script, on_script_text};

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
    /// What lets most URLs be ruled out without resolving them.
    tokens: fetch::Tokens,
}

/// The selectors, parsed once.
struct Selectors {
    html: Selector,
    head: Selector,
    body: Selector,
    /// Every script: the first one in `<head>` is where the injection goes
    /// (`on_head_script` checks; a descendant combinator would make lol_html
    /// keep a stack of open elements for every element of the page).
    head_script: Selector,
    /// `<base href>`: where relative URLs resolve from then on.
    base: Selector,
    /// Inline scripts: their code is checked for tracker calls.
    script_inline: Selector,
    /// Scripts marked by the author (`data-category` / `data-service`).
    script_marked: Selector,
    /// Every element with an attribute that makes the browser fetch (see
    /// [`fetch::attributes`]), and author-marked frames and images. Matching
    /// happens in the handler, on the URL as the browser resolves it: an
    /// attribute selector sees the value as written (entities, case).
    fetching: Selector,
    noscript: Selector,
    /// `<style>` sheets (HTML pages; in XHTML their text is markup, gated
    /// as such).
    style: Selector,
    /// In XHTML, the other elements lol_html reads as raw text hold markup.
    xml_raw_text: Selector,
}

/// What [`Selectors::fetching`] selects: tag-qualified, so lol_html parses
/// the attributes of these elements only (a bare `[src]` would make it parse
/// every element's).
const FETCHING: &str = "script[src], img, image, iframe, frame, embed, object, video, audio, source, track, \
     input, link, a, area, body[background], table[background], thead[background], tbody[background], \
     tfoot[background], tr[background], td[background], th[background], meta[http-equiv], use, feImage, \
     [style]";

/// Parses one of the constant selectors below (checked by a unit test; no
/// request or page can influence it).
#[allow(clippy::expect_used)]
fn selector(s: &'static str) -> Selector {
    s.parse().expect("constant selector")
}

impl Plan {
    pub(crate) fn new(
        policy: Policy,
        stylesheet: Option<String>,
        loader: Option<String>,
        consent_url: String,
        inject_services: bool,
        banner: bool,
        regional: bool,
    ) -> Self {
        let tokens = fetch::Tokens::of(&policy);
        let policy_scripts = policy
            .languages()
            .into_iter()
            .map(|lang| {
                let script = format!(
                    "<script type=\"application/json\" id=\"{}\">{}</script>",
                    consentry_core::markup::POLICY_SCRIPT_ID,
                    escape::json_in_script(&policy.to_ready_json_for(&[lang], regional))
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
            tokens,
            sel: Selectors {
                html: selector("html"),
                head: selector("head"),
                body: selector("body"),
                head_script: selector("script"),
                base: selector("base[href]"),
                script_inline: selector("script:not([src])"),
                script_marked: selector("script[data-category], script[data-service]"),
                fetching: selector(FETCHING),
                noscript: selector("noscript"),
                style: selector("style"),
                xml_raw_text: selector("title, textarea, xmp, iframe, noembed, noframes, style, plaintext"),
            },
        }
    }
}

/// Per-response state shared by the handlers.
struct State {
    plan: Arc<Plan>,
    decision: Decision,
    nonce: Option<String>,
    /// This response's gate token: written in a `<meta>` in `<head>` and on
    /// every element gated here, so the page layer restores `srcdoc` and
    /// `style` only on elements this server gated, never on user-posted
    /// HTML that carries `data-srcdoc`/`data-style` of its own (it cannot
    /// know a token drawn for this response). `None` without randomness:
    /// such attributes then stay inert.
    gate_token: Option<String>,
    return_to: String,
    /// `<html lang>`, once seen.
    lang: Option<String>,
    /// The request's `Accept-Language` ranges, best first.
    accept_language: Vec<String>,
    in_head: bool,
    /// Whether the head injection is done (shared with the pre-scan: until
    /// then an end tag may close `<head>` for lol_html).
    head_done: Arc<std::sync::atomic::AtomicBool>,
    body_done: bool,
    inline: Option<PendingInline>,
    sheet: Option<sheets::PendingSheet>,
    noscript: Option<Nested>,
    /// The document's URL, then the first `<base href>`'s.
    base: Option<Url>,
    /// Whether a service's token occurs in `base` (see [`fetch::Tokens`]);
    /// shared with the pre-scan.
    base_hot: Arc<std::sync::atomic::AtomicBool>,
    base_seen: bool,
    /// An XHTML page: entities count in script code.
    xml: bool,
}

/// About the page being rewritten, from its request.
pub(crate) struct Page<'a> {
    /// Its path and query: where the no-JavaScript banner returns to.
    pub return_to: String,
    pub accept_language: Option<&'a http::HeaderValue>,
    pub host: Option<&'a http::HeaderValue>,
    /// An XHTML page (XML syntax).
    pub xml: bool,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type HandlerResult = Result<(), BoxError>;

fn lock(state: &Mutex<State>) -> Result<MutexGuard<'_, State>, Box<dyn std::error::Error + Send + Sync>> {
    state.lock().map_err(|_| "rewriter state poisoned".into())
}

/// An element handler of the rewriter: gets the shared state.
type ElementHandler = fn(&Arc<Mutex<State>>, &mut Element<'_, '_>) -> HandlerResult;

/// `handler` on the elements `selector` matches, with its own reference to `state`.
fn on_element<'s>(
    selector: &'s Selector,
    state: &Arc<Mutex<State>>,
    handler: ElementHandler,
) -> (Cow<'s, Selector>, ElementContentHandlers<'static>) {
    let state = Arc::clone(state);
    (
        Cow::Borrowed(selector),
        ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| handler(&state, el)),
    )
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
    fn push(&self, bytes: &[u8]) {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(bytes);
        }
    }

    fn take(&self) -> Bytes {
        self.0.lock().map(|mut b| b.split().freeze()).unwrap_or_default()
    }
}

/// Rewrites one HTML response as it streams.
pub(crate) struct Rewriter {
    inner: Option<HtmlRewriter<'static, Sink>>,
    sink: Sink,
    /// For an XHTML page: what makes its XML syntax safe to read as HTML.
    xml: Option<xml::XmlFront>,
    /// For an HTML page: what lets bytes that cannot change go around lol_html.
    prescan: Option<prescan::Prescan>,
    /// The handlers' state, for the tests' fixed gate token.
    #[cfg(any(test, feature = "fuzzing"))]
    state: Arc<Mutex<State>>,
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
        page: Page<'_>,
        encoding: &'static encoding_rs::Encoding,
    ) -> Self {
        let accept_language = page
            .accept_language
            .and_then(|v| v.to_str().ok())
            .map(|v| consentry_core::accept_language(v).into_iter().map(str::to_owned).collect())
            .unwrap_or_default();
        let host = page.host.and_then(|h| h.to_str().ok());
        let base_hot = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let head_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let prescan = (!page.xml).then(|| {
            prescan::Prescan::new(plan.tokens.clone(), Arc::clone(&base_hot), Arc::clone(&head_done))
        });
        let state = Arc::new(Mutex::new(State {
            plan: Arc::clone(plan),
            decision,
            nonce,
            gate_token: gate_token(),
            base: None,
            base_hot,
            base_seen: false,
            xml: page.xml,
            return_to: page.return_to,
            lang: None,
            accept_language,
            in_head: false,
            head_done,
            body_done: false,
            inline: None,
            sheet: None,
            noscript: None,
        }));
        #[cfg(any(test, feature = "fuzzing"))]
        let kept = Arc::clone(&state);
        if let Ok(mut st) = state.lock() {
            let base = fetch::document_url(host, &st.return_to);
            st.set_base(base);
        }
        let sink = Sink::default();
        let encoding = AsciiCompatibleEncoding::new(encoding).unwrap_or_else(AsciiCompatibleEncoding::utf_8);
        let sel = &plan.sel;
        let settings = Settings::new_send()
            .with_encoding(encoding)
            // Strict: markup a browser could read otherwise than lol_html (a
            // raw-text element inside `<select>`, after `<frameset>`) ends
            // the response instead of passing a script as text.
            .with_strict(true)
            .with_memory_settings(MemorySettings::new().with_max_allowed_memory_usage(MAX_REWRITER_MEMORY))
            .append_element_content_handler(on_element(&sel.html, &state, |s, el| {
                lock(s)?.lang = el.get_attribute("lang");
                Ok(())
            }))
            .append_element_content_handler(on_element(&sel.head, &state, on_head))
            .append_element_content_handler(on_element(&sel.body, &state, on_body))
            .append_element_content_handler(on_element(&sel.head_script, &state, on_head_script))
            .append_element_content_handler(on_element(&sel.base, &state, on_base))
            .append_element_content_handler(on_element(&sel.script_marked, &state, on_marked_script))
            .append_element_content_handler({
                let (sel, handlers) = on_element(&sel.script_inline, &state, on_inline_script);
                let state = Arc::clone(&state);
                (sel, handlers.text(move |t: &mut TextChunk<'_>| on_script_text(&state, t)))
            })
            .append_element_content_handler(on_element(&sel.fetching, &state, on_fetching))
            .append_element_content_handler({
                let state = Arc::clone(&state);
                (
                    Cow::Borrowed(&sel.noscript),
                    ElementContentHandlers::default()
                        .text(move |t: &mut TextChunk<'_>| on_noscript_text(&state, t)),
                )
            });
        let settings = if page.xml {
            settings
        } else {
            let (sel, handlers) = on_element(&sel.style, &state, sheets::on_style);
            let st = Arc::clone(&state);
            settings.append_element_content_handler((
                sel,
                handlers.text(move |t: &mut TextChunk<'_>| sheets::on_style_text(&st, t)),
            ))
        };
        let settings = if page.xml {
            let state = Arc::clone(&state);
            settings.append_element_content_handler((
                Cow::Borrowed(&sel.xml_raw_text),
                ElementContentHandlers::default()
                    .text(move |t: &mut TextChunk<'_>| on_noscript_text(&state, t)),
            ))
        } else {
            settings
        };
        let inner = HtmlRewriter::new(settings, sink.clone());
        Self {
            inner: Some(inner),
            sink,
            xml: page.xml.then(xml::XmlFront::default),
            prescan,
            #[cfg(any(test, feature = "fuzzing"))]
            state: kept,
        }
    }

    /// Feeds a chunk of the original body; returns what is ready to send.
    pub(crate) fn write(&mut self, chunk: &[u8]) -> Result<Bytes, RewriteError> {
        let inner = self.inner.as_mut().ok_or_else(|| RewriteError("already ended".into()))?;
        let mut fronted = Vec::new();
        let chunk = match self.xml.as_mut() {
            Some(front) => {
                if let Err(e) = front.feed(chunk, &mut fronted) {
                    self.inner = None;
                    return Err(RewriteError(e));
                }
                fronted.as_slice()
            }
            None => chunk,
        };
        let written = match self.prescan.as_mut() {
            Some(pre) => feed(pre, inner, &self.sink, chunk, false),
            None => inner.write(chunk).map_err(|e| e.to_string()),
        };
        match written {
            Ok(()) => Ok(self.sink.take()),
            Err(e) => {
                self.inner = None;
                Err(RewriteError(e))
            }
        }
    }

    /// Without the pre-scan: every byte through lol_html (what the fast
    /// path is checked against).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn without_prescan(mut self) -> Self {
        self.prescan = None;
        self
    }

    /// With this gate token instead of a random one, so that two runs over
    /// the same page can be compared byte for byte.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn with_gate_token(self, token: &str) -> Self {
        if let Ok(mut st) = self.state.lock() {
            st.gate_token = Some(token.to_owned());
        }
        self
    }

    /// Ends the document; returns the last bytes.
    pub(crate) fn end(&mut self) -> Result<Bytes, RewriteError> {
        let mut inner = self.inner.take().ok_or_else(|| RewriteError("already ended".into()))?;
        if let Some(front) = self.xml.as_mut() {
            let mut rest = Vec::new();
            front.finish(&mut rest);
            inner.write(&rest).map_err(|e| RewriteError(e.to_string()))?;
        }
        if let Some(pre) = self.prescan.as_mut() {
            feed(pre, &mut inner, &self.sink, &[], true).map_err(RewriteError)?;
        }
        inner.end().map_err(|e| RewriteError(e.to_string()))?;
        Ok(self.sink.take())
    }
}

/// Feeds `chunk` through the pre-scan: pieces lol_html must see go to it,
/// the others straight to the sink, in order.
fn feed(
    pre: &mut prescan::Prescan,
    inner: &mut HtmlRewriter<'static, Sink>,
    sink: &Sink,
    chunk: &[u8],
    last: bool,
) -> Result<(), String> {
    pre.feed(chunk, last, |piece| match piece {
        prescan::Piece::Rewrite(bytes) => inner.write(bytes).map_err(|e| e.to_string()),
        prescan::Piece::Copy(bytes) => {
            sink.push(bytes);
            Ok(())
        }
    })
}

impl State {
    fn head_done(&self) -> bool {
        self.head_done.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set_head_done(&mut self) {
        self.head_done.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn base_hot(&self) -> bool {
        self.base_hot.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set_base(&mut self, base: Option<Url>) {
        let hot = base.as_ref().is_none_or(|b| self.plan.tokens.occur_in(b.as_str()));
        self.base_hot.store(hot, std::sync::atomic::Ordering::Relaxed);
        self.base = base;
    }

    /// The visitor's languages, best first: `<html lang>`, then `Accept-Language`.
    fn preferred(&self) -> Vec<&str> {
        self.lang.iter().chain(&self.accept_language).map(String::as_str).collect()
    }
}

/// A token for one response: 16 random bytes in hex.
fn gate_token() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
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
    .render(&st.decision, st.nonce.as_deref(), st.gate_token.as_deref())
}

/// The injection goes just before the first `<script>` of `<head>` (so the
/// Consent Mode defaults precede every tag, while `<meta charset>` and
/// `<title>` stay first), or at `</head>` when it has no script.
fn on_head(state: &Arc<Mutex<State>>, el: &mut Element<'_, '_>) -> HandlerResult {
    let mut st = lock(state)?;
    if st.head_done() || st.in_head {
        return Ok(());
    }
    st.in_head = true;
    drop(st);
    let state_end = Arc::clone(state);
    if let Some(handlers) = el.end_tag_handlers() {
        handlers.push(Box::new(move |end: &mut EndTag<'_>| {
            let mut st = lock(&state_end)?;
            st.in_head = false;
            if !st.head_done() {
                st.set_head_done();
                end.before(&head_html(&st), ContentType::Html);
            }
            Ok(())
        }));
    }
    Ok(())
}

fn on_body(state: &Arc<Mutex<State>>, el: &mut Element<'_, '_>) -> HandlerResult {
    let mut st = lock(state)?;
    if st.body_done {
        return Ok(());
    }
    st.body_done = true;
    let mut html = String::new();
    if !st.head_done() {
        // A document without <head>: the policy and tags still go first.
        st.set_head_done();
        html.push_str(&head_html(&st));
    }
    let model = st.decision.model();
    if st.plan.banner && st.decision.needs_banner() {
        let texts = st.plan.policy.texts_for(&st.preferred());
        let banner = render::banner_for(
            &st.plan.policy,
            &texts,
            &st.plan.consent_url,
            Some(&st.return_to),
            RenderedBy::Server,
            model,
        );
        html.push_str(&mark_root(&banner, st.gate_token.as_deref()));
    }
    if st.plan.banner && model == Model::OptOut {
        // The "Do Not Sell or Share" link on every page until the visitor
        // has opted out (a form: it works without JavaScript), and the
        // confirmation when the browser's GPC signal did it.
        let texts = st.plan.policy.texts_for(&st.preferred());
        let policy = &st.plan.policy;
        // (While the notice is up, its own button does the same.)
        let sold = policy.categories().iter().any(|c| c.is_sale_sharing() && st.decision.allows(&c.id));
        if sold && !st.decision.needs_banner() {
            let link = render::opt_out_link(&texts, &st.plan.consent_url, Some(&st.return_to));
            html.push_str(&mark_root(&link, st.gate_token.as_deref()));
        }
        if st.decision.signal_honoured() {
            let status = render::status(&texts, consentry_core::TextKey::signal_optout_notice);
            html.push_str(&mark_root(&status, st.gate_token.as_deref()));
        }
    }
    if !html.is_empty() {
        el.prepend(&html, ContentType::Html);
    }
    Ok(())
}

/// Rendered markup with this response's gate token on its root element
/// (`data-consentry-root`): the page layer honours choices only from its
/// own markup, and knows the server's by the token.
fn mark_root(markup: &str, token: Option<&str>) -> String {
    let Some(token) = token else { return markup.to_owned() };
    // After the root's tag name: `<div` + ` data-consentry-root="…"`.
    let at = markup
        .strip_prefix('<')
        .and_then(|rest| rest.find(|c: char| !c.is_ascii_alphanumeric()))
        .map(|i| i + 1);
    match at {
        Some(i) => {
            format!("{} {}=\"{token}\"{}", &markup[..i], consentry_core::markup::ROOT_ATTR, &markup[i..])
        }
        None => markup.to_owned(),
    }
}

fn attr(el: &Element<'_, '_>, name: &str) -> Option<String> {
    el.get_attribute(name)
}

/// Makes an author-marked inert element live when allowed.
fn activate_marked(st: &State, el: &mut Element<'_, '_>, src_attr: &str) -> HandlerResult {
    let category = attr(el, "data-category");
    let service = attr(el, "data-service");
    if st.decision.allows_marked(&st.plan.policy, category.as_deref(), service.as_deref()) {
        if src_attr == "type" {
            match attr(el, "data-type") {
                Some(t) if !t.is_empty() => el.set_attribute("type", &t)?,
                _ => el.remove_attribute("type"),
            }
        } else if let Some(src) = attr(el, "data-src").filter(|s| may_activate(s)) {
            el.set_attribute("src", &src)?;
        }
    }
    Ok(())
}

/// Whether a marked element's `data-src` may become its `src`: core's rule
/// ([`consentry_core::markup::may_activate_url`]) on the value as the
/// browser reads it (character references decoded), so user-posted HTML
/// that a sanitiser let through with its `data-*` cannot activate a
/// `javascript:` or `data:` URL.
pub(super) fn may_activate(raw: &str) -> bool {
    let ok = consentry_core::markup::may_activate_url(&fetch::decoded(raw));
    if !ok {
        tracing::debug!(
            "a marked element's URL was left inert: only http(s) and relative URLs are activated"
        );
    }
    ok
}

/// Takes an element's start tag out of the output until its content is
/// known: returns its attributes (names and values as written); `on_end`
/// runs just before its end tag, to write it back.
fn hold_start_tag(
    state: &Arc<Mutex<State>>,
    el: &mut Element<'_, '_>,
    on_end: fn(&Mutex<State>, &mut EndTag<'_>) -> HandlerResult,
) -> Vec<(String, String)> {
    let attrs = el.attributes().iter().map(|a| (a.name(), a.value())).collect();
    el.start_tag().remove();
    let state = Arc::clone(state);
    if let Some(handlers) = el.end_tag_handlers() {
        handlers.push(Box::new(move |end: &mut EndTag<'_>| on_end(&state, end)));
    }
    attrs
}

fn mark_inert(el: &mut Element<'_, '_>, service: &Service) -> HandlerResult {
    el.set_attribute("data-category", &service.category)?;
    el.set_attribute("data-service", &service.id)?;
    Ok(())
}

/// First script of `<head>`: the injection goes just before it.
fn on_head_script(state: &Arc<Mutex<State>>, el: &mut Element<'_, '_>) -> HandlerResult {
    let mut st = lock(state)?;
    if st.in_head && !st.head_done() {
        st.set_head_done();
        el.before(&head_html(&st), ContentType::Html);
    }
    Ok(())
}

fn is_text_plain(ty: Option<&str>) -> bool {
    ty.is_some_and(|t| t.trim().eq_ignore_ascii_case("text/plain"))
}

/// `<script type="text/plain" data-category|data-service>`: made live when granted.
fn on_marked_script(state: &Arc<Mutex<State>>, el: &mut Element<'_, '_>) -> HandlerResult {
    if is_text_plain(attr(el, "type").as_deref()) {
        let st = lock(state)?;
        activate_marked(&st, el, "type")?;
    }
    Ok(())
}
