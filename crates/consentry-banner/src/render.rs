//! The banner and the preferences dialog, built with DOM calls (texts as
//! text nodes). The banner's structure and classes are those of the
//! server-rendered markup (consentry-tower `rewrite/banner.rs`), so either
//! can be hydrated the same way.

use consentry_core::{Decision, Policy, ResolvedTexts, TextKey};
use wasm_bindgen::JsValue;
use web_sys::{Document, Element};

use crate::dom::{dom_add, el};

/// A row of equally weighted buttons, one per `data-consentry-action`.
fn buttons(
    doc: &Document,
    t: &ResolvedTexts<'_>,
    class: &str,
    actions: &[(&str, TextKey)],
) -> Result<Element, JsValue> {
    let row = el(doc, "div", class, &[], None)?;
    for (action, key) in actions {
        dom_add(
            &row,
            el(
                doc,
                "button",
                "consentry-btn",
                &[("type", "button"), ("data-consentry-action", action)],
                Some(t.get(*key)),
            )?,
        )?;
    }
    Ok(row)
}

/// The banner, when the server did not render one.
pub fn banner(doc: &Document, t: &ResolvedTexts<'_>, consent_url: Option<&str>) -> Result<Element, JsValue> {
    let root = el(
        doc,
        "div",
        "consentry consentry-banner",
        &[
            ("id", "consentry-banner"),
            ("role", "region"),
            ("aria-labelledby", "consentry-banner-title"),
            ("lang", t.lang()),
            ("data-consentry-rendered", "client"),
        ],
        None,
    )?;
    let form = el(
        doc,
        "form",
        "consentry-banner__form",
        &[("method", "post"), ("action", consent_url.unwrap_or("#"))],
        None,
    )?;
    let body = el(doc, "div", "consentry-banner__body", &[], None)?;
    dom_add(
        &body,
        el(
            doc,
            "h2",
            "consentry-banner__title",
            &[("id", "consentry-banner-title")],
            Some(t.get(TextKey::title)),
        )?,
    )?;
    let p = el(doc, "p", "consentry-banner__text", &[], Some(t.get(TextKey::description)))?;
    if let Some(url) = t.privacy_policy_url() {
        p.append_with_str_1(" ")?;
        dom_add(
            &p,
            el(doc, "a", "consentry-link", &[("href", url)], Some(t.get(TextKey::privacy_policy_label)))?,
        )?;
    }
    body.append_child(&p)?;
    form.append_child(&body)?;
    dom_add(
        &form,
        buttons(
            doc,
            t,
            "consentry-banner__actions",
            &[
                ("accept-all", TextKey::accept_all),
                ("reject-all", TextKey::reject_all),
                ("preferences", TextKey::preferences),
            ],
        )?,
    )?;
    root.append_child(&form)?;
    Ok(root)
}

/// The preferences dialog: one toggle per optional category (none ticked
/// unless the visitor granted it), required ones shown as always on, the
/// services and their cookies listed, the signal notice when one decides.
pub fn dialog(
    doc: &Document,
    policy: &Policy,
    t: &ResolvedTexts<'_>,
    decision: &Decision,
    has_choice: bool,
) -> Result<Element, JsValue> {
    let root = el(
        doc,
        "div",
        "consentry consentry-dialog",
        &[
            ("id", "consentry-preferences"),
            ("role", "dialog"),
            ("aria-modal", "true"),
            ("aria-labelledby", "consentry-preferences-title"),
            ("lang", t.lang()),
        ],
        None,
    )?;
    let panel = el(doc, "div", "consentry-dialog__panel", &[], None)?;
    dom_add(
        &panel,
        el(
            doc,
            "h2",
            "consentry-dialog__title",
            &[("id", "consentry-preferences-title")],
            Some(t.get(TextKey::preferences_title)),
        )?,
    )?;
    dom_add(
        &panel,
        el(doc, "p", "consentry-dialog__text", &[], Some(t.get(TextKey::preferences_description)))?,
    )?;
    let signal = decision.signal_honoured();
    if signal {
        dom_add(
            &panel,
            el(doc, "p", "consentry-notice", &[("role", "note")], Some(t.get(TextKey::signal_notice)))?,
        )?;
    }
    for c in policy.categories() {
        let box_ = el(doc, "div", "consentry-category", &[], None)?;
        let head = el(doc, "div", "consentry-category__head", &[], None)?;
        let toggle_id = format!("consentry-toggle-{}", c.id);
        let desc_id = format!("consentry-desc-{}", c.id);
        dom_add(
            &head,
            el(
                doc,
                "label",
                "consentry-category__title",
                &[("for", &toggle_id)],
                Some(t.category_title(&c.id)),
            )?,
        )?;
        let input = el(
            doc,
            "input",
            "consentry-toggle",
            &[
                ("type", "checkbox"),
                ("id", &toggle_id),
                ("data-category", &c.id),
                ("aria-describedby", &desc_id),
            ],
            None,
        )?;
        if c.required {
            input.set_attribute("checked", "")?;
            input.set_attribute("disabled", "")?;
        } else if signal {
            input.set_attribute("disabled", "")?;
        } else if has_choice && decision.allows(&c.id) {
            input.set_attribute("checked", "")?;
        }
        head.append_child(&input)?;
        if c.required {
            dom_add(&head, el(doc, "span", "consentry-always-on", &[], Some(t.get(TextKey::always_on)))?)?;
        }
        box_.append_child(&head)?;
        dom_add(
            &box_,
            el(doc, "p", "consentry-category__text", &[("id", &desc_id)], t.category_description(&c.id))?,
        )?;
        let services: Vec<String> = policy
            .services()
            .iter()
            .filter(|s| s.category == c.id)
            .map(|s| {
                let name = s.name.clone().unwrap_or_else(|| s.id.clone());
                if s.cookies.is_empty() {
                    name
                } else {
                    let cookies: Vec<&str> = s.cookies.iter().map(|g| g.as_str()).collect();
                    format!("{name} ({}: {})", t.get(TextKey::cookies), cookies.join(", "))
                }
            })
            .collect();
        if !services.is_empty() {
            let line = format!("{}: {}", t.get(TextKey::services), services.join("; "));
            dom_add(&box_, el(doc, "p", "consentry-category__services", &[], Some(&line))?)?;
        }
        panel.append_child(&box_)?;
    }
    dom_add(
        &panel,
        buttons(
            doc,
            t,
            "consentry-dialog__actions",
            &[
                ("accept-all", TextKey::accept_all),
                ("reject-all", TextKey::reject_all),
                ("save", TextKey::save),
                ("close", TextKey::close),
            ],
        )?,
    )?;
    root.append_child(&panel)?;
    Ok(root)
}
