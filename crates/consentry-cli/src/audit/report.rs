//! The self-contained HTML report: one file, no script, no external
//! resource (screenshots embedded as data URLs), readable offline.

use std::fmt::Write as _;

use super::model::{Button, Class, Phase, Report, Status};

fn esc(s: &str) -> String {
    consentry_core::render::escape_html(s)
}

const STYLE: &str = "\
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1b1f;background:#fafafa}\
main{max-width:1100px;margin:0 auto;padding:1.5rem}\
h1{font-size:1.5rem}h2{margin-top:2.2rem;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;width:100%;margin:.6rem 0;font-size:13px}\
th,td{border:1px solid #ddd;padding:.25rem .45rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}.nowrap{white-space:nowrap}\
th{background:#eee}.fail{color:#a1001f;font-weight:600}.pass{color:#1a6b1a}.na{color:#666}\
.tracker{background:#fff0f0}.after{color:#555}code{font-size:12px}\
img{max-width:100%;border:1px solid #ccc}.summary{font-size:1.1rem}\
details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}";

/// Renders the report.
pub fn html(r: &Report) -> String {
    let mut h = String::new();
    let s = &r.summary;
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Consent audit: {url}</title><style>{STYLE}</style></head><body><main>\
         <h1>Consent audit of <code>{url}</code></h1>\
         <p class=\"summary\" id=\"summary\">{passed} passed, <span class=\"{ecls}\">{errors} errors</span>, {warnings} warnings, \
         {notices} notices, {na} not applicable.</p>\
         <p>{tool}, {browser}; {secs:.1} s; consent tool found: {found}; policy: {policy}. Format <code>{format}</code>.</p>",
        url = esc(&r.url),
        passed = s.passed,
        errors = s.errors,
        ecls = if s.errors > 0 { "fail" } else { "pass" },
        warnings = s.warnings,
        notices = s.notices,
        na = s.not_applicable,
        tool = esc(&r.tool),
        browser = esc(&r.browser),
        secs = r.duration_ms as f64 / 1000.0,
        found = esc(r.consent_tool.as_deref().unwrap_or("none")),
        policy = r.policy.as_ref().map_or("none".to_owned(), |p| format!(
            "{} ({}, revision {})",
            esc(&p.location),
            p.source,
            p.revision
        )),
        format = r.format,
    );
    h.push_str("<h2 id=\"rules\">Rules</h2><table><thead><tr><th>rule</th><th>verdict</th><th>severity</th><th>evidence</th><th>reference</th></tr></thead><tbody>");
    for v in &r.rules {
        let (cls, word) = match v.status {
            Status::Pass => ("pass", "pass"),
            Status::Fail => ("fail", "FAIL"),
            Status::NotApplicable => ("na", "n/a"),
        };
        let evidence: String = v.evidence.iter().map(|e| format!("<li>{}</li>", esc(e))).collect();
        let _ = write!(
            h,
            "<tr id=\"rule-{id}\"><td><strong>{id}</strong><br>{title}</td><td class=\"{cls} nowrap\">{word}</td><td class=\"nowrap\">{sev:?}</td>\
             <td><ul>{evidence}</ul></td><td>{reference}</td></tr>",
            id = v.rule,
            title = esc(v.title),
            sev = v.severity,
            reference = esc(v.reference),
        );
    }
    h.push_str("</tbody></table>");
    for p in &r.phases {
        phase(&mut h, p);
    }
    h.push_str("<h2>Datasets</h2><ul>");
    for d in &r.datasets {
        let _ =
            write!(h, "<li>{} {} ({}), {}</li>", esc(d.name), esc(d.version), esc(d.licence), esc(d.source));
    }
    h.push_str("</ul></main></body></html>\n");
    h
}

/// A button as the report states it.
fn button(b: Option<&Button>) -> String {
    b.map_or("none".into(), |x| {
        format!("\"{}\" {:.0}×{:.0} px, contrast {:.2}:1", esc(&x.label), x.width, x.height, x.contrast)
    })
}

/// A classification as the report states it (empty when not a tracker's).
fn class(c: Option<&Class>) -> String {
    c.map_or(String::new(), |c| {
        let service = c.service.as_deref().map(|s| format!(": {}", esc(s))).unwrap_or_default();
        format!("{}{service} ({})", esc(&c.category), c.source)
    })
}

fn phase(h: &mut String, p: &Phase) {
    let _ = write!(
        h,
        "<h2 id=\"phase-{id}\">Phase: {title}</h2><p>{choice} {n} requests, {c} cookies, {st} storage keys, {secs:.1} s. Pages: {pages}</p>",
        id = p.id.as_str(),
        title = esc(p.title),
        choice = match p.choice {
            Some(c) => format!(
                "Choice <strong>{c}</strong>: {}.",
                if p.choice_made { "made" } else { "not possible" }
            ),
            None => "No choice made.".to_owned(),
        },
        n = p.requests.len(),
        c = p.cookies.len(),
        st = p.storage.len(),
        secs = p.duration_ms as f64 / 1000.0,
        pages = p.pages.iter().map(|u| esc(u)).collect::<Vec<_>>().join(", "),
    );
    for note in &p.notes {
        let _ = write!(h, "<p class=\"fail\">{}</p>", esc(note));
    }
    match &p.banner {
        Some(b) => {
            let _ = write!(
                h,
                "<details><summary>Banner ({tool}): first-layer text</summary><p>{text}</p><p>Accept: {a}; reject: {r}; links: {links}; switched on before a choice: {pre}</p></details>",
                tool = esc(&b.tool),
                text = esc(&b.text),
                a = button(b.accept.as_ref()),
                r = button(b.reject.as_ref()),
                links = if b.links.is_empty() {
                    "none".to_owned()
                } else {
                    b.links
                        .iter()
                        .map(|(t, u)| format!("{} ({})", esc(t), esc(u)))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                pre = if b.prechecked.is_empty() {
                    "nothing".to_owned()
                } else {
                    esc(&b.prechecked.join(", "))
                },
            );
        }
        None => h.push_str("<p>No banner found.</p>"),
    }
    if let Some(png) = &p.screenshot_png {
        let _ = write!(
            h,
            "<p><img class=\"screenshot\" alt=\"Screenshot of the page in phase {}\" src=\"data:image/png;base64,{png}\"></p>",
            esc(p.title)
        );
    }
    h.push_str("<details open><summary>Requests</summary><table><thead><tr><th>ms</th><th>type</th><th>URL</th><th>classified</th><th>sets</th></tr></thead><tbody>");
    for r in &p.requests {
        let tracker = r.class.as_ref().is_some_and(|c| c.needs_consent());
        let _ = write!(
            h,
            "<tr class=\"{cls}\"><td>{ms}{after}</td><td>{ty}</td><td><code>{url}</code></td><td>{class}</td><td>{sets}</td></tr>",
            cls = if tracker { "tracker" } else { "" },
            ms = r.at_ms,
            after = if r.after_choice { " <span class=\"after\">(after choice)</span>" } else { "" },
            ty = esc(&r.resource_type),
            url = esc(&r.url),
            class = class(r.class.as_ref()),
            sets = esc(&r.set_cookies.join(", ")),
        );
    }
    h.push_str("</tbody></table></details><details open><summary>Cookies at the end of the phase</summary><table><thead><tr><th>name</th><th>domain</th><th>path</th><th>expires</th><th>party</th><th>set by</th><th>classified</th></tr></thead><tbody>");
    for c in &p.cookies {
        let tracker = c.class.as_ref().is_some_and(|c| c.needs_consent());
        let _ = write!(
            h,
            "<tr class=\"{cls}\"><td>{name}</td><td>{domain}</td><td>{path}</td><td>{exp}</td><td>{party}</td><td><code>{by}</code></td><td>{class}</td></tr>",
            cls = if tracker { "tracker" } else { "" },
            name = esc(&c.name),
            domain = esc(&c.domain),
            path = esc(&c.path),
            exp = c.expires.map_or("session".to_owned(), |e| format!("{e:.0}")),
            party = if c.third_party { "third" } else { "first" },
            by = esc(&c.set_by),
            class = class(c.class.as_ref()),
        );
    }
    h.push_str("</tbody></table></details>");
    if !p.storage.is_empty() {
        h.push_str("<details><summary>Storage keys</summary><ul>");
        for s in &p.storage {
            let _ = write!(
                h,
                "<li>{}Storage <code>{}</code>{}</li>",
                s.area,
                esc(&s.key),
                s.class.as_ref().map_or(String::new(), |c| format!(" — {} ({})", esc(&c.category), c.source))
            );
        }
        h.push_str("</ul></details>");
    }
}
