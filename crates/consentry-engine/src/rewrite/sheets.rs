//! `<style>` sheets: a `url(…)` in a sheet makes the browser fetch as surely
//! as an `<img>` does (a background pixel), and an `@import` fetches even a
//! sheet whose `media` matches nothing. The start tag is held back until the
//! sheet has been read; a sheet that names a service that may not run is
//! written as a `<template data-consentry-style>` holding its text (nothing
//! fetches from a template), for the banner to make a `<style>` of again
//! once the service is allowed.

use std::sync::{Arc, Mutex};

use lol_html::html_content::{ContentType, EndTag, TextChunk};
use lol_html::send::Element;

use super::elements::Gate;
use super::{HandlerResult, State, escape, fetch, hold_start_tag, lock};

/// Most of a sheet held back; a longer one is judged on this much and, when
/// it names no service, made inert anyway unless every service may run
/// (as for inline scripts: it fails closed).
const SHEET_LIMIT: usize = 1024 * 1024;

/// A `<style>` whose start tag is held back until its text is known.
pub(super) struct PendingSheet {
    attrs: Vec<(String, String)>,
    css: String,
    flushed: bool,
    /// Written as an inert `<template>` (known once flushed).
    inert: bool,
}

pub(super) fn on_style(state: &Arc<Mutex<State>>, el: &mut Element<'_, '_>) -> HandlerResult {
    // Only HTML's `<style>` holds raw text up to its own end tag; one in SVG
    // or MathML is markup whose end an ancestor's end tag may imply.
    if el.namespace_uri() != "http://www.w3.org/1999/xhtml" {
        return Ok(());
    }
    let attrs = hold_start_tag(state, el, on_style_end);
    lock(state)?.sheet = Some(PendingSheet { attrs, css: String::new(), flushed: false, inert: false });
    Ok(())
}

pub(super) fn on_style_text(state: &Mutex<State>, chunk: &mut TextChunk<'_>) -> HandlerResult {
    let mut st = lock(state)?;
    let Some(mut pending) = st.sheet.take() else { return Ok(()) };
    if pending.flushed {
        if pending.inert {
            let text = template_text(chunk.as_str());
            chunk.replace(&text, ContentType::Html);
        }
    } else {
        pending.css.push_str(chunk.as_str());
        if pending.css.len() <= SHEET_LIMIT {
            chunk.remove();
        } else {
            // Too long to hold: judged on what was seen, the rest streamed.
            let seen = pending.css.len() - chunk.as_str().len();
            let all_live = st.plan.policy.services().iter().all(|s| st.decision.service_may_run(s));
            let blocked = blocking_service(&st, &pending.css)
                .or_else(|| (!all_live).then(|| (String::new(), String::new())));
            let mut html = start_tag(&pending, blocked.as_ref());
            pending.inert = blocked.is_some();
            if pending.inert {
                html.push_str(&template_text(&pending.css[..seen]));
                let rest = template_text(chunk.as_str());
                chunk.replace(&rest, ContentType::Html);
            } else {
                html.push_str(&pending.css[..seen]);
            }
            chunk.before(&html, ContentType::Html);
            pending.flushed = true;
            pending.css = String::new();
        }
    }
    st.sheet = Some(pending);
    Ok(())
}

fn on_style_end(state: &Mutex<State>, end: &mut EndTag<'_>) -> HandlerResult {
    let mut st = lock(state)?;
    let Some(pending) = st.sheet.take() else { return Ok(()) };
    if !pending.flushed {
        let blocked = blocking_service(&st, &pending.css);
        let mut html = start_tag(&pending, blocked.as_ref());
        if blocked.is_some() {
            html.push_str(&template_text(&pending.css));
            html.push_str("</template>");
            end.before(&html, ContentType::Html);
            end.remove();
        } else {
            html.push_str(&pending.css);
            end.before(&html, ContentType::Html);
        }
    } else if pending.inert {
        end.before("</template>", ContentType::Html);
        end.remove();
    }
    Ok(())
}

/// A sheet's text as the text of a `<template>`: `&` and `<` escaped, so
/// the HTML (or XML) parser gives the page layer back exactly this text.
fn template_text(css: &str) -> String {
    css.replace('&', "&amp;").replace('<', "&lt;")
}

/// The (category, id) of the first service that may not run whose URL the
/// sheet names.
fn blocking_service(st: &State, css: &str) -> Option<(String, String)> {
    Gate::of(st).blocked(fetch::Shape::Css, css).map(|s| (s.category.clone(), s.id.clone()))
}

/// The start tag for a held-back sheet: `<style` as written, or, when
/// `blocked` is given, an inert `<template data-consentry-style>` with the
/// same attributes (its `type` kept as `data-type`) and the service named.
/// Not a `<style type="text/plain">`: Chromium's preload scanner fetches an
/// `@import` of any `<style>`, whatever its `type` or `media`; the text of a
/// `<template>` is fetched from by nothing. An empty id marks a sheet too
/// long to check (`data-consentry="unchecked"`). The page layer puts a
/// `<style>` with the template's text in its place once allowed.
fn start_tag(pending: &PendingSheet, blocked: Option<&(String, String)>) -> String {
    let mut out =
        String::from(if blocked.is_some() { "<template data-consentry-style=\"\"" } else { "<style" });
    for (name, value) in &pending.attrs {
        if blocked.is_some() && matches!(name.as_str(), "type" | "data-category" | "data-service") {
            if name == "type" && !value.trim().is_empty() {
                out.push_str(&format!(" data-type=\"{}\"", escape::raw_attribute(value)));
            }
            continue;
        }
        out.push(' ');
        out.push_str(name);
        if !value.is_empty() {
            out.push_str(&format!("=\"{}\"", escape::raw_attribute(value)));
        }
    }
    if let Some((category, id)) = blocked {
        if id.is_empty() {
            out.push_str(" data-consentry=\"unchecked\"");
        } else {
            out.push_str(&format!(
                " data-category=\"{}\" data-service=\"{}\"",
                escape::html(category),
                escape::html(id)
            ));
        }
    }
    out.push('>');
    out
}
