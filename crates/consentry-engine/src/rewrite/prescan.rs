//! The fast path: bytes that cannot change go around lol_html.
//!
//! Most of a page is text and tags no handler acts on (`<p>`, `<div>`,
//! `<a href>`, `<img>` of the site's own files). This scanner, fed the page
//! before the rewriter, splits it into pieces lol_html must see
//! ([`Piece::Rewrite`]) and pieces copied as they are ([`Piece::Copy`]):
//! text and whole tags in the data state whose element has no handler, or
//! whose fetching attributes are all plain ASCII naming no service token (see
//! [`Tokens::rule_out`](super::fetch::Tokens::rule_out)) and that carry no
//! author marking.
//!
//! It must never copy what lol_html would change, nor keep from lol_html a
//! byte that changes its state. So it copies only while it is sure the
//! tokenizer is in the data state, and only tags it has read exactly as the
//! HTML tokenizer does; everything else goes to lol_html:
//!
//! - comments, doctypes, bogus comments: to lol_html up to where the
//!   tokenizer ends them (`-->` or `--!>`, `<!-->`, the first `>`);
//! - the elements that switch the tokenizer to raw text (`<script>`,
//!   `<style>`, `<title>`, `<textarea>`, `<iframe>`, `<noscript>`…) and their
//!   content, up to their end tag; a script containing `<!--` (the escaped
//!   states) ends the fast path;
//! - `<svg>`, `<math>` (foreign content), `<plaintext>`, a tag with a parse
//!   error (a quote or `<` in an attribute name, a missing space…): the rest
//!   of the page goes to lol_html.
//!
//! The `prescan_matches_plain_lol_html` property test and the `prescan`
//! fuzz target check that a page comes out byte for byte as without it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::fetch::{self, Tokens};

/// A piece of the page, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// lol_html must see it.
    Rewrite(&'a [u8]),
    /// Goes out as it is.
    Copy(&'a [u8]),
}

/// Elements that switch lol_html's tokenizer to raw text (RCDATA, RAWTEXT,
/// script data) until their end tag.
const RAW_TEXT: &[&str] =
    &["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"];

/// Elements after whose start tag the rest of the page goes to lol_html.
const END_FAST_PATH: &[&str] = &["svg", "math", "plaintext"];

/// Elements a handler acts on whatever their attributes (besides the
/// fetching ones, which `fetch::attributes` lists), and those lol_html's
/// ambiguity guard tracks (`<select>`, what ends it, `<template>`,
/// `<frameset>`): in strict mode it refuses a page where a raw-text element
/// inside a `<select>` could be read two ways, and it must see the same
/// tags with the fast path as without.
const ALWAYS: &[&str] = &[
    "html", "head", "body", "base", "meta", "link", "object", "embed", "frame", "select", "input", "keygen",
    "template", "frameset",
];

/// End tags lol_html must see (an end-tag handler waits for them, or the
/// ambiguity guard tracks them).
const ALWAYS_END: &[&str] = &["head", "body", "html", "select", "template"];

/// A tag longer than this is left to lol_html (with the rest of the page).
const MAX_HELD: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    /// Inside raw text of `RAW_TEXT[i]`.
    Raw(usize),
    /// A comment: up to `-->`.
    Comment,
    /// A doctype or bogus comment: up to `>`.
    ToGt,
    /// The rest of the page goes to lol_html.
    Rest,
}

/// See the module docs.
pub(crate) struct Prescan {
    state: State,
    /// The end of the last chunk, not yet judged (an incomplete tag, or the
    /// bytes where an end tag may begin).
    held: Vec<u8>,
    tokens: Tokens,
    /// Whether the page's base URL holds a service token (shared with the
    /// rewriter, which sees `<base href>`).
    base_hot: Arc<AtomicBool>,
    /// Whether the head injection is done (shared with the rewriter): until
    /// then everything goes to lol_html, since any tag may close `<head>`
    /// (and so fire the injection) in its model of open elements.
    head_done: Arc<AtomicBool>,
    /// Attributes of the tag being read: (name, value) ranges.
    attrs: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

/// A tag read in the data state.
enum Tag {
    /// More bytes are needed.
    Incomplete,
    /// Not read exactly as the tokenizer would (a parse error).
    Irregular,
    /// Ends just before `end`; its name is `name` (as written).
    Complete { end: usize, name: std::ops::Range<usize> },
}

impl Prescan {
    pub(crate) fn new(tokens: Tokens, base_hot: Arc<AtomicBool>, head_done: Arc<AtomicBool>) -> Self {
        Self { state: State::Data, held: Vec::new(), tokens, base_hot, head_done, attrs: Vec::new() }
    }

    /// Splits `chunk` (after what was held back) into pieces, in order.
    /// With `last`, nothing is held back.
    pub(crate) fn feed(
        &mut self,
        chunk: &[u8],
        last: bool,
        mut emit: impl FnMut(Piece<'_>) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut buf = std::mem::take(&mut self.held);
        buf.extend_from_slice(chunk);
        // Adjacent copied pieces go out as one (one write to the sink).
        let start = buf.as_ptr() as usize;
        let mut run: Option<std::ops::Range<usize>> = None;
        let keep = {
            let buf = buf.as_slice();
            let mut coalesce = |piece: Piece<'_>| -> Result<(), String> {
                match piece {
                    Piece::Copy(bytes) => {
                        let from = bytes.as_ptr() as usize - start;
                        let to = from + bytes.len();
                        match &mut run {
                            Some(r) if r.end == from => r.end = to,
                            _ => {
                                if let Some(r) = run.replace(from..to) {
                                    emit(Piece::Copy(&buf[r]))?;
                                }
                            }
                        }
                        Ok(())
                    }
                    Piece::Rewrite(bytes) => {
                        if let Some(r) = run.take() {
                            emit(Piece::Copy(&buf[r]))?;
                        }
                        emit(Piece::Rewrite(bytes))
                    }
                }
            };
            let keep = self.scan(buf, last, &mut coalesce)?;
            if let Some(r) = run.take() {
                emit(Piece::Copy(&buf[r]))?;
            }
            keep
        };
        self.held = buf.split_off(keep);
        if self.held.len() > MAX_HELD {
            let held = std::mem::take(&mut self.held);
            self.state = State::Rest;
            emit(Piece::Rewrite(&held))?;
        }
        Ok(())
    }

    /// Emits the pieces of `buf`; returns where the held-back tail starts.
    fn scan(
        &mut self,
        buf: &[u8],
        last: bool,
        emit: &mut impl FnMut(Piece<'_>) -> Result<(), String>,
    ) -> Result<usize, String> {
        let len = buf.len();
        let mut at = 0;
        loop {
            match self.state {
                State::Rest => {
                    if at < len {
                        emit(Piece::Rewrite(&buf[at..]))?;
                    }
                    return Ok(len);
                }
                State::ToGt => match memchr::memchr(b'>', &buf[at..]) {
                    Some(i) => {
                        emit(Piece::Rewrite(&buf[at..=at + i]))?;
                        at += i + 1;
                        self.state = State::Data;
                    }
                    None => {
                        emit(Piece::Rewrite(&buf[at..]))?;
                        return Ok(len);
                    }
                },
                State::Comment => match comment_end(&buf[at..]) {
                    Some(end) => {
                        emit(Piece::Rewrite(&buf[at..at + end]))?;
                        at += end;
                        self.state = State::Data;
                    }
                    None if last => {
                        emit(Piece::Rewrite(&buf[at..]))?;
                        return Ok(len);
                    }
                    None => {
                        // `--!` may end this chunk and `>` begin the next.
                        let keep = len.saturating_sub(3).max(at);
                        emit(Piece::Rewrite(&buf[at..keep]))?;
                        return Ok(keep);
                    }
                },
                State::Raw(which) => {
                    let name = RAW_TEXT[which].as_bytes();
                    match find_end_tag(&buf[at..], name) {
                        Some(i) => {
                            let text = &buf[at..at + i];
                            if which == 0 && memchr::memmem::find(text, b"<!--").is_some() {
                                self.state = State::Rest;
                                continue;
                            }
                            match self.read_tag(buf, at + i + 2, last) {
                                Tag::Complete { end, .. } => {
                                    emit(Piece::Rewrite(&buf[at..end]))?;
                                    at = end;
                                    self.state = State::Data;
                                }
                                Tag::Incomplete => {
                                    emit(Piece::Rewrite(&buf[at..at + i]))?;
                                    return Ok(at + i);
                                }
                                Tag::Irregular => self.state = State::Rest,
                            }
                        }
                        None if last => {
                            emit(Piece::Rewrite(&buf[at..]))?;
                            return Ok(len);
                        }
                        None => {
                            if which == 0 && memchr::memmem::find(&buf[at..], b"<!--").is_some() {
                                self.state = State::Rest;
                                continue;
                            }
                            // An end tag (or `<!--`) may straddle the chunks.
                            let keep = len.saturating_sub(name.len() + 3).max(at);
                            emit(Piece::Rewrite(&buf[at..keep]))?;
                            return Ok(keep);
                        }
                    }
                }
                State::Data => {
                    // Until the head injection is done, every byte goes to
                    // lol_html: any tag may close `<head>` in its model of
                    // open elements, and so fire the injection.
                    let head_done = self.head_done.load(Ordering::Relaxed);
                    let copy = |bytes| if head_done { Piece::Copy(bytes) } else { Piece::Rewrite(bytes) };
                    let Some(lt) = memchr::memchr(b'<', &buf[at..]).map(|i| at + i) else {
                        if at < len {
                            emit(copy(&buf[at..]))?;
                        }
                        return Ok(len);
                    };
                    if lt > at {
                        emit(copy(&buf[at..lt]))?;
                    }
                    at = lt;
                    let Some(&next) = buf.get(lt + 1) else {
                        if last {
                            emit(copy(&buf[lt..]))?;
                            return Ok(len);
                        }
                        return Ok(lt);
                    };
                    match next {
                        b if b.is_ascii_alphabetic() => match self.read_tag(buf, lt + 1, last) {
                            Tag::Incomplete => return self.hold_or_rest(buf, lt, last, emit),
                            Tag::Irregular => self.state = State::Rest,
                            Tag::Complete { end, name } => {
                                let name = &buf[name];
                                if self.start_tag_needs_lol_html(buf, name) {
                                    emit(Piece::Rewrite(&buf[lt..end]))?;
                                    if let Some(i) =
                                        RAW_TEXT.iter().position(|r| name.eq_ignore_ascii_case(r.as_bytes()))
                                    {
                                        self.state = State::Raw(i);
                                    } else if END_FAST_PATH
                                        .iter()
                                        .any(|r| name.eq_ignore_ascii_case(r.as_bytes()))
                                    {
                                        self.state = State::Rest;
                                    }
                                } else {
                                    emit(copy(&buf[lt..end]))?;
                                }
                                at = end;
                            }
                        },
                        b'/' => match buf.get(lt + 2) {
                            None if !last => return Ok(lt),
                            Some(b) if b.is_ascii_alphabetic() => match self.read_tag(buf, lt + 2, last) {
                                Tag::Incomplete => return self.hold_or_rest(buf, lt, last, emit),
                                Tag::Irregular => self.state = State::Rest,
                                Tag::Complete { end, name } => {
                                    let name = &buf[name];
                                    let piece = &buf[lt..end];
                                    if ALWAYS_END.iter().any(|r| name.eq_ignore_ascii_case(r.as_bytes())) {
                                        emit(Piece::Rewrite(piece))?;
                                    } else {
                                        emit(copy(piece))?;
                                    }
                                    at = end;
                                }
                            },
                            // `</>`: nothing, to lol_html.
                            Some(b'>') => self.state = State::ToGt,
                            // `</` + not a letter: a bogus comment, which
                            // lol_html holds back past its `>` — the rest of
                            // the page goes to it, in order.
                            _ => self.state = State::Rest,
                        },
                        b'!' => {
                            if buf.len() < lt + 6 && !last {
                                return Ok(lt);
                            }
                            if buf[lt..].starts_with(b"<!--") {
                                // `<!-->` and `<!--->` end at once; otherwise
                                // the comment ends at `-->` or `--!>`.
                                let end = match (buf.get(lt + 4), buf.get(lt + 5)) {
                                    (Some(b'>'), _) => Some(lt + 5),
                                    (Some(b'-'), Some(b'>')) => Some(lt + 6),
                                    _ => None,
                                };
                                match end {
                                    Some(end) => {
                                        emit(Piece::Rewrite(&buf[lt..end]))?;
                                        at = end;
                                    }
                                    None => {
                                        emit(Piece::Rewrite(&buf[lt..lt + 4]))?;
                                        at = lt + 4;
                                        self.state = State::Comment;
                                    }
                                }
                            } else {
                                self.state = State::ToGt;
                            }
                        }
                        b'?' => self.state = State::ToGt,
                        // `<` that opens nothing is text.
                        _ => {
                            emit(copy(&buf[lt..lt + 1]))?;
                            at = lt + 1;
                        }
                    }
                }
            }
        }
    }

    /// An incomplete tag at the end of the chunk is held back; at the end of
    /// the page (or past `MAX_HELD`) it goes to lol_html with what follows.
    fn hold_or_rest(
        &mut self,
        buf: &[u8],
        lt: usize,
        last: bool,
        emit: &mut impl FnMut(Piece<'_>) -> Result<(), String>,
    ) -> Result<usize, String> {
        if last || buf.len() - lt > MAX_HELD {
            self.state = State::Rest;
            emit(Piece::Rewrite(&buf[lt..]))?;
            return Ok(buf.len());
        }
        Ok(lt)
    }

    /// Whether a start tag (read into `self.attrs`) must go to lol_html.
    fn start_tag_needs_lol_html(&self, buf: &[u8], name: &[u8]) -> bool {
        let is = |list: &[&str]| list.iter().any(|r| name.eq_ignore_ascii_case(r.as_bytes()));
        if is(ALWAYS) || is(RAW_TEXT) || is(END_FAST_PATH) || name.eq_ignore_ascii_case(b"script") {
            return true;
        }
        let base_hot = self.base_hot.load(Ordering::Relaxed);
        // A `style` attribute may fetch on any element.
        if self.attrs.iter().any(|(n, v)| {
            buf[n.clone()].eq_ignore_ascii_case(b"style")
                && !self.tokens.rule_out_bytes(base_hot, &buf[v.clone()])
        }) {
            return true;
        }
        // The name in lower case, without allocating: no element with a
        // handler has a longer one.
        let mut lower = [0u8; 12];
        let Some(slot) = lower.get_mut(..name.len()) else { return false };
        slot.copy_from_slice(name);
        slot.make_ascii_lowercase();
        let Ok(tag) = std::str::from_utf8(slot) else { return true };
        let fetching = fetch::attributes(tag);
        if fetching.is_empty() {
            return false;
        }
        self.attrs.iter().any(|(n, v)| {
            let n = &buf[n.clone()];
            let marked = [b"data-category".as_slice(), b"data-service", b"data-src", b"srcdoc"]
                .iter()
                .any(|m| n.eq_ignore_ascii_case(m));
            marked
                || (fetching.iter().any(|(f, _)| n.eq_ignore_ascii_case(f.as_bytes()))
                    && !self.tokens.rule_out_bytes(base_hot, &buf[v.clone()]))
        })
    }

    /// Reads a tag whose name starts at `from` (after `<` or `</`) the way
    /// the HTML tokenizer does, filling `self.attrs`. Anything the tokenizer
    /// would call a parse error is `Irregular`.
    fn read_tag(&mut self, buf: &[u8], from: usize, last: bool) -> Tag {
        self.attrs.clear();
        let len = buf.len();
        let incomplete = if last { Tag::Irregular } else { Tag::Incomplete };
        let space = |b: u8| matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ');
        // The name runs to a space, `/` or `>`, whatever it holds (`<script!>`
        // is no script).
        let mut i = from;
        while i < len && !space(buf[i]) && !matches!(buf[i], b'/' | b'>') {
            i += 1;
        }
        let name = from..i;
        loop {
            // Before an attribute name.
            while i < len && space(buf[i]) {
                i += 1;
            }
            let Some(&b) = buf.get(i) else { return incomplete };
            match b {
                b'>' => return Tag::Complete { end: i + 1, name },
                b'/' => match buf.get(i + 1) {
                    Some(b'>') => return Tag::Complete { end: i + 2, name },
                    Some(_) => return Tag::Irregular,
                    None => return incomplete,
                },
                b'"' | b'\'' | b'<' | b'=' | 0 => return Tag::Irregular,
                _ => {}
            }
            // An attribute name.
            let start = i;
            while i < len && !space(buf[i]) && !matches!(buf[i], b'/' | b'>' | b'=') {
                if matches!(buf[i], b'"' | b'\'' | b'<' | 0) {
                    return Tag::Irregular;
                }
                i += 1;
            }
            let attr_name = start..i;
            while i < len && space(buf[i]) {
                i += 1;
            }
            let Some(&b) = buf.get(i) else { return incomplete };
            if b != b'=' {
                // No value: the next attribute (or the end) follows.
                self.attrs.push((attr_name, i..i));
                continue;
            }
            i += 1;
            while i < len && space(buf[i]) {
                i += 1;
            }
            let Some(&q) = buf.get(i) else { return incomplete };
            let value = match q {
                b'"' | b'\'' => {
                    let Some(close) = memchr::memchr(q, &buf[i + 1..]) else { return incomplete };
                    let value = i + 1..i + 1 + close;
                    i = value.end + 1;
                    // After a quoted value: a space, `/` or `>` must follow.
                    match buf.get(i) {
                        None => return incomplete,
                        Some(&b) if space(b) || b == b'/' || b == b'>' => {}
                        Some(_) => return Tag::Irregular,
                    }
                    value
                }
                b'>' => return Tag::Irregular,
                _ => {
                    let start = i;
                    while i < len && !space(buf[i]) && buf[i] != b'>' {
                        if matches!(buf[i], b'"' | b'\'' | b'<' | b'=' | b'`' | 0) {
                            return Tag::Irregular;
                        }
                        i += 1;
                    }
                    if i == len {
                        return incomplete;
                    }
                    start..i
                }
            };
            self.attrs.push((attr_name, value));
        }
    }
}

/// Where a comment's text ends (after its `<!--`): just past the first
/// `-->` or `--!>`, as the tokenizer ends it.
fn comment_end(text: &[u8]) -> Option<usize> {
    let a = memchr::memmem::find(text, b"-->").map(|i| i + 3);
    let b = memchr::memmem::find(text, b"--!>").map(|i| i + 4);
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Where `</name` followed by a space, `/` or `>` starts in `text`
/// (ASCII case aside), as the tokenizer ends raw text.
fn find_end_tag(text: &[u8], name: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&text[from..], b"</").map(|i| from + i) {
        let after = i + 2 + name.len();
        if text.len() >= after && text[i + 2..after].eq_ignore_ascii_case(name) {
            match text.get(after) {
                Some(b'\t' | b'\n' | b'\x0C' | b'\r' | b' ' | b'/' | b'>') => return Some(i),
                None => return Some(i),
                _ => {}
            }
        }
        from = i + 2;
    }
    None
}

/// The pre-scan checked against lol_html alone: the same page, cut into
/// the same chunks, must come out byte for byte the same (or fail the same
/// way). Used by the property test below and the `prescan` fuzz target.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn differential(html: &[u8], cuts: &[usize], consent: bool) -> Result<(), String> {
    use super::{Page, Plan, Rewriter};
    let policy = consentry_core::Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
          "services": [
            {"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}},
            {"id": "gtm", "kind": "gtm", "category": "analytics", "config": {"container_id": "GTM-AB12CD"}},
            {"id": "matomo", "kind": "matomo", "category": "analytics", "config": {"url": "https://stats.example.org/", "site_id": "1"}}]}"#,
    )
    .map_err(|e| e.to_string())?;
    let granted: Vec<&str> = if consent { vec!["analytics"] } else { vec![] };
    let c = consentry_core::Consent::new(1, 1, granted, consentry_core::ConsentId::from_random([1; 16]));
    let decision = consentry_core::decide(&policy, Some(&c), consentry_core::Signals::NONE, 2);
    let plan =
        std::sync::Arc::new(Plan::new(policy, None, None, "/consentry/consent".into(), true, true, false));
    let run = |fast: bool| -> (Vec<u8>, bool) {
        let host = http::HeaderValue::from_static("shop.example");
        let page = Page { return_to: "/a/b?c".into(), accept_language: None, host: Some(&host), xml: false };
        let mut rw = Rewriter::new(&plan, decision.clone(), None, page, encoding_rs::UTF_8)
            .with_gate_token("0123456789abcdef");
        if !fast {
            rw = rw.without_prescan();
        }
        let mut out = Vec::new();
        let mut from = 0;
        let mut points: Vec<usize> = cuts.iter().map(|&c| c.min(html.len())).collect();
        points.sort_unstable();
        points.push(html.len());
        for to in points {
            if to < from {
                continue;
            }
            match rw.write(&html[from..to]) {
                Ok(b) => out.extend_from_slice(&b),
                Err(_) => return (out, false),
            }
            from = to;
        }
        match rw.end() {
            Ok(b) => {
                out.extend_from_slice(&b);
                (out, true)
            }
            Err(_) => (out, false),
        }
    };
    let (fast, fast_ok) = run(true);
    let (slow, slow_ok) = run(false);
    if fast_ok != slow_ok || (slow_ok && fast != slow) {
        return Err(format!(
            "pre-scan differs (ok {fast_ok} vs {slow_ok}):\nfast: {}\nslow: {}",
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&slow)
        ));
    }
    Ok(())
}

/// Whether rewriting `html` (fast path on, no consent) ends in an error.
#[cfg(test)]
pub(crate) fn rewrite_fails(html: &[u8]) -> bool {
    use super::{Page, Plan, Rewriter};
    let Ok(policy) = consentry_core::Policy::from_json(
        r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
          "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}}]}"#,
    ) else {
        return false;
    };
    let decision = consentry_core::decide(&policy, None, consentry_core::Signals::NONE, 2);
    let plan = std::sync::Arc::new(Plan::new(policy, None, None, "/c".into(), true, true, false));
    let page = Page { return_to: "/".into(), accept_language: None, host: None, xml: false };
    let mut rw = Rewriter::new(&plan, decision, None, page, encoding_rs::UTF_8);
    rw.write(html).is_err() || rw.end().is_err()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    /// Pieces of pages: text, tags with and without tracker URLs, every
    /// construct that changes the tokenizer's state, and stray syntax.
    const PIECES: &[&str] = &[
        "hello ",
        "a < b",
        " ",
        "\n",
        "&amp;",
        "é",
        "<p>",
        "</p>",
        "<div class=\"x\">",
        "</div>",
        "<a href=\"/x\">",
        "</a>",
        "<a ping=\"https://www.google-analytics.com/collect\">",
        "<A PING='/p'>",
        "<img src=\"/i.png\" alt=\"\">",
        "<img src=\"https://www.googletagmanager.com/gtag/js\">",
        "<img src=/x.png>",
        "<IMG SRC=\"https://WWW.GOOGLE-ANALYTICS.COM/g/collect\">",
        "<img src=\"gt&#97;g.js\">",
        "<img data-src=\"https://x.example/\" data-category=\"analytics\">",
        "<img srcset=\"https://www.google-analytics.com/x 1x\">",
        "<iframe src=\"https://www.googletagmanager.com/ns.html\">",
        "</iframe>",
        "<script>",
        "</script>",
        "</SCRIPT >",
        "<script src=\"https://www.googletagmanager.com/gtag/js?id=G-1\">",
        "gtag('config','G-1');",
        "_paq.push(['x']);",
        "<script type=\"text/plain\" data-category=\"analytics\">",
        "<!--",
        "-->",
        "--!>",
        "<!-->",
        "<!doctype html>",
        "<noscript>",
        "</noscript>",
        "<style>",
        "</style>",
        "<title>",
        "</title>",
        "<select>",
        "</select>",
        "<SELECT name=s>",
        "<xmp>",
        "</xmp>",
        "<template>",
        "</template>",
        "<input name=q>",
        "<keygen>",
        "<frameset>",
        "<option>o",
        "<textarea>",
        "</textarea>",
        "<svg>",
        "</svg>",
        "<math>",
        "<![CDATA[",
        "]]>",
        "<base href=\"https://www.googletagmanager.com/\">",
        "<base href=\"/x/\">",
        "<head>",
        "</head>",
        "<body>",
        "</body>",
        "<html lang=\"en\">",
        "<plaintext>",
        "<table background=\"https://www.google-analytics.com/x\">",
        "<td>",
        "\"",
        "'",
        "=",
        "<",
        ">",
        "/",
        "</",
        "<!",
        "<?x>",
        "</ x>",
        "</>",
        "<img src=\"a\" src=\"https://www.google-analytics.com/c\">",
        "<img src=\"a\"alt=\"\">",
        "<a b=\">\">",
        "<a b=>",
        "<a \"b\">",
        "<a/b>",
        "<br/>",
        "<img src=\"x\"/>",
        "<scr<ipt>",
        "<script!>",
        "<meta http-equiv=\"refresh\" content=\"0;url=https://www.google-analytics.com/\">",
        "<matomo.js>",
        "<link rel=preload href=\"https://www.googletagmanager.com/gtm.js\">",
        "<img src=\"/matomo.php\">",
        "<video poster=\"https://www.google-analytics.com/p\">",
        "<input type=image src=\"https://www.google-analytics.com/i\">",
        "<a\tping=x>",
        "<div style=\"background:url(https://www.google-analytics.com/c)\">",
        "<span style='color:red'>",
        "<p STYLE=\"background:url(/x.png)\">",
        "<b style=\"x:url(\\67 oogle)\">",
        "<img\nsrc=\"https://www.google-analytics.com/g\">",
        "<object data=\"/matomo.php\">",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn prescan_matches_plain_lol_html(
            picks in proptest::collection::vec(0..PIECES.len(), 0..40),
            cuts in proptest::collection::vec(0usize..600, 0..8),
            consent: bool,
        ) {
            let html: String = picks.iter().map(|&i| PIECES[i]).collect();
            if let Err(e) = super::differential(html.as_bytes(), &cuts, consent) {
                prop_assert!(false, "{}\ninput: {:?}\ncuts: {:?}", e, html, cuts);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Character by character: the tokenizer's corner cases.
        #[test]
        fn prescan_matches_plain_lol_html_on_any_markup_characters(
            text in "(<|>|/|!|\\?|-|\"|'|=| |\n|\t|a|b|p|script|style|head|body|img|src|ping|x|#|&|;|\\[|\\]|https://www.google-analytics.com/c|matomo.php){0,60}",
            cuts in proptest::collection::vec(0usize..400, 0..6),
            consent: bool,
        ) {
            if let Err(e) = super::differential(text.as_bytes(), &cuts, consent) {
                prop_assert!(false, "{}\ninput: {:?}\ncuts: {:?}", e, text, cuts);
            }
        }
    }

    #[test]
    fn markup_a_browser_reads_otherwise_ends_the_page_with_and_without_the_fast_path() {
        // lol_html's own example: inside `<select>` a browser ignores `<xmp>`
        // and runs the script; read as text, it would pass ungated.
        for page in [
            "<!doctype html><body><select><xmp><script src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script></xmp></select></body>",
            "<p>a</p><select name=s><option>o<template><style>@import 'x'</style></template></select>",
            "<frameset><noscript><img src=\"https://www.google-analytics.com/c\"></noscript></frameset>",
        ] {
            for consent in [false, true] {
                // Both paths agree, and neither lets the page through.
                assert_eq!(super::differential(page.as_bytes(), &[], consent), Ok(()), "{page}");
                assert!(super::rewrite_fails(page.as_bytes()), "{page}: rewritten as if unambiguous");
            }
        }
        // What conforms goes through: a script and an `<input>` in a form.
        let form = "<form><select name=s><option>a</option><script>var x=1</script></select><input name=q><textarea>t</textarea></form>";
        assert!(!super::rewrite_fails(form.as_bytes()));
        assert_eq!(super::differential(form.as_bytes(), &[], false), Ok(()));
    }

    #[test]
    fn a_whole_page_matches_in_every_one_byte_cut() {
        let page = "<!doctype html><html lang=\"en\"><head><title>t</title><script async src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script>\
                    <script>gtag('config','G-1')</script></head><body><p>Hi <a href=\"/x\">x</a> <a ping=\"https://www.google-analytics.com/c\">y</a>\
                    <img src=\"/i.png\"><!-- c --><noscript><img src=\"https://stats.example.org/matomo.php\"></noscript></body></html>";
        let cuts: Vec<usize> = (0..page.len()).collect();
        for consent in [false, true] {
            assert_eq!(super::differential(page.as_bytes(), &cuts, consent), Ok(()));
            assert_eq!(super::differential(page.as_bytes(), &[], consent), Ok(()));
        }
    }
}

#[cfg(test)]
mod foreign_scripts {
    /// Found by `prescan_matches_plain_lol_html`: an SVG script closed by an
    /// ancestor's end tag that the pre-scan had copied around lol_html lost
    /// its held-back start tag on the fast path only.
    #[test]
    fn a_script_in_svg_closed_by_an_ancestor_comes_out_the_same_both_ways() {
        for html in [
            "<body><div class=\"x\"><svg><script></div>",
            "<body><div><svg><script>x</div>",
            "<body><p><math><script>gtag('config','G-1')</p>",
            "<body><svg><script>x",
            "<p>a</p><svg><script>x</script>",
        ] {
            for consent in [false, true] {
                if let Err(e) = super::differential(html.as_bytes(), &[], consent) {
                    panic!("{html} (consent {consent}): {e}");
                }
            }
        }
    }
}
