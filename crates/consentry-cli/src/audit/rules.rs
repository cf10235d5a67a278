//! The rules an audit checks, each with its legal reference and severity,
//! evaluated over what the phases recorded.

use consentry_core::{Policy, SignalHandling, TextKey as Key};

use super::model::{Banner, Phase, PhaseId, Severity, Status, Verdict};

/// A rule: id, title, references, severity.
pub struct Rule {
    /// Stable id (in the report and for `--fail-on` filters).
    pub id: &'static str,
    /// What it checks, in one line.
    pub title: &'static str,
    /// The legal texts it rests on.
    pub reference: &'static str,
    /// How bad a failure is.
    pub severity: Severity,
}

/// Every rule, in report order.
pub const RULES: &[Rule] = &[
    Rule {
        id: "banner-shown",
        title: "A first visit is asked before anything that needs consent",
        reference: "ePrivacy Directive 2002/58/EC art. 5(3); GDPR art. 4(11), 6(1)(a), 7",
        severity: Severity::Error,
    },
    Rule {
        id: "no-tracking-before-choice",
        title: "No non-essential cookie, storage or request before a choice",
        reference: "ePrivacy Directive art. 5(3); GDPR art. 6(1)(a); EDPB Guidelines 05/2020 on consent §§ 86-89 (consent before processing); CNIL deliberation 2020-091 art. 2",
        severity: Severity::Error,
    },
    Rule {
        id: "nothing-after-reject",
        title: "After \"reject all\", no non-essential cookie, storage or request",
        reference: "ePrivacy Directive art. 5(3); GDPR art. 4(11), 7; CNIL deliberation 2020-091 art. 2",
        severity: Severity::Error,
    },
    Rule {
        id: "accept-only-declared",
        title: "After \"accept all\", only the trackers the policy declares",
        reference: "GDPR art. 4(11) (specific, informed), 7(2), 13(1)(e); EDPB Guidelines 05/2020 §§ 62-65",
        severity: Severity::Warning,
    },
    Rule {
        id: "dnt-honoured",
        title: "Do Not Track is honoured as the policy says",
        reference: "GDPR art. 21(5) (objection by automated means); the site's own policy statement",
        severity: Severity::Error,
    },
    Rule {
        id: "gpc-honoured",
        title: "Global Privacy Control is honoured as the policy says",
        reference: "CCPA regulations, Cal. Code Regs. tit. 11 § 7025; GDPR art. 21(5); the site's own policy statement",
        severity: Severity::Error,
    },
    Rule {
        id: "withdrawal-effective",
        title: "Withdrawal removes the refused services' cookies and stops their requests",
        reference: "GDPR art. 7(3) (withdraw as easily as give); CNIL deliberation 2020-091 art. 2; CNIL recommendation 2020-092 § 5",
        severity: Severity::Error,
    },
    Rule {
        id: "reject-on-first-layer",
        title: "\"Reject all\" is on the first layer, beside \"accept all\"",
        reference: "CNIL recommendation 2020-092 §§ 30-33; EDPB Guidelines 03/2022 on deceptive design patterns; EDPB Cookie Banner Taskforce report (2023) §§ 2-3",
        severity: Severity::Error,
    },
    Rule {
        id: "reject-as-easy-as-accept",
        title: "\"Reject all\" is as visible as \"accept all\" (comparable size and contrast)",
        reference: "CNIL recommendation 2020-092 § 34; EDPB Guidelines 03/2022; EDPB Cookie Banner Taskforce report (2023) § 5",
        severity: Severity::Warning,
    },
    Rule {
        id: "nothing-prechecked",
        title: "No optional purpose is switched on before the visitor chooses",
        reference: "GDPR recital 32; CJEU C-673/17 Planet49 (2019); EDPB Guidelines 05/2020 § 79",
        severity: Severity::Error,
    },
    Rule {
        id: "first-layer-information",
        title: "The first layer states the purposes, the third parties, that refusing costs nothing, and how to withdraw",
        reference: "GDPR art. 7(3), 13(1)(c)(e); EDPB Guidelines 05/2020 §§ 62-65; CNIL recommendation 2020-092 §§ 22-29",
        severity: Severity::Warning,
    },
    Rule {
        id: "privacy-policy-link",
        title: "The first layer links to the privacy policy",
        reference: "GDPR art. 12(1), 13",
        severity: Severity::Warning,
    },
    Rule {
        id: "gpc-well-known",
        title: "A site that honours GPC says so at /.well-known/gpc.json",
        reference: "Global Privacy Control specification § 3.5 (the gpc.json well-known resource)",
        severity: Severity::Notice,
    },
];

/// What the rules are evaluated over.
pub struct Facts<'a> {
    /// The phases, as recorded.
    pub phases: &'a [Phase],
    /// The policy, when the audit has one (given, or embedded in the page).
    pub policy: Option<&'a Policy>,
    /// Whether the policy's texts are the site's (a policy file; the rules
    /// a page embeds carry none): the first layer is then checked against
    /// them, else against wording heuristics.
    pub policy_texts: bool,
    /// The first page's `<html lang>`.
    pub page_lang: String,
    /// What `/.well-known/gpc.json` said: `Some(true)` for `{"gpc": true}`,
    /// `Some(false)` for anything else, `None` when not asked.
    pub gpc_well_known: Option<bool>,
}

impl Facts<'_> {
    fn phase(&self, id: PhaseId) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }

    /// Whether the site has anything to ask about: a policy with optional
    /// categories, or (without one) a tracker seen once everything is accepted.
    fn something_to_ask(&self) -> bool {
        match self.policy {
            Some(p) => p.categories().iter().any(|c| !c.required),
            None => self.phases.iter().any(|p| !tracking(p, false).is_empty()),
        }
    }

    /// The first banner any phase found.
    fn banner(&self) -> Option<&Banner> {
        self.phase(PhaseId::FirstVisit).and_then(|p| p.banner.as_ref())
    }
}

/// Something a phase recorded that needs consent: an evidence line and
/// where its classification came from.
pub struct Finding {
    /// The evidence, in words.
    pub line: String,
    /// `policy` or the dataset that classified it.
    pub source: &'static str,
}

/// What in a phase needs consent: requests (all, or only those after the
/// choice), cookies and storage at the end.
pub fn findings(phase: &Phase, after_choice_only: bool) -> Vec<Finding> {
    let service =
        |c: &super::model::Class| c.service.as_deref().map(|s| format!(": {s}")).unwrap_or_default();
    let mut out = Vec::new();
    for r in &phase.requests {
        if after_choice_only && !r.after_choice {
            continue;
        }
        if let Some(c) = r.class.as_ref().filter(|c| c.needs_consent()) {
            let line = format!(
                "request {} ({}, {}{}, per {})",
                r.url,
                r.resource_type,
                c.category,
                service(c),
                c.source
            );
            out.push(Finding { line, source: c.source });
        }
    }
    for k in &phase.cookies {
        if let Some(c) = k.class.as_ref().filter(|c| c.needs_consent()) {
            let line = format!(
                "cookie {} on {} ({}{}, per {}; set by {})",
                k.name,
                k.domain,
                c.category,
                service(c),
                c.source,
                k.set_by
            );
            out.push(Finding { line, source: c.source });
        }
    }
    for s in &phase.storage {
        if let Some(c) = s.class.as_ref().filter(|c| c.needs_consent()) {
            let line = format!("{}Storage key {} ({}, per {})", s.area, s.key, c.category, c.source);
            out.push(Finding { line, source: c.source });
        }
    }
    out
}

/// [`findings`] as evidence lines.
pub fn tracking(phase: &Phase, after_choice_only: bool) -> Vec<String> {
    findings(phase, after_choice_only).into_iter().map(|f| f.line).collect()
}

fn verdict(rule: &'static Rule, status: Status, evidence: Vec<String>) -> Verdict {
    Verdict {
        rule: rule.id,
        title: rule.title,
        reference: rule.reference,
        severity: rule.severity,
        status,
        evidence,
    }
}

fn rule(id: &str) -> &'static Rule {
    RULES.iter().find(|r| r.id == id).unwrap_or(&RULES[0])
}

/// Pass when `evidence` is empty, fail otherwise.
fn clean(id: &str, evidence: Vec<String>) -> Verdict {
    let status = if evidence.is_empty() { Status::Pass } else { Status::Fail };
    verdict(rule(id), status, evidence)
}

fn not_applicable(id: &str, why: impl Into<String>) -> Verdict {
    verdict(rule(id), Status::NotApplicable, vec![why.into()])
}

/// WCAG's relative luminance contrast is computed in the browser; a button
/// this much smaller, or with this much less contrast, than "accept all"
/// is not "as easy".
const MIN_AREA_RATIO: f64 = 0.5;
const MIN_CONTRAST: f64 = 3.0;

/// Evaluates every rule.
pub fn evaluate(f: &Facts<'_>) -> Vec<Verdict> {
    let mut out = Vec::new();
    let ask = f.something_to_ask();
    let banner = f.banner();

    // banner-shown
    out.push(match (ask, banner) {
        (false, _) => {
            not_applicable("banner-shown", "nothing needs consent: no optional category, no tracker seen")
        }
        (true, Some(_)) => clean("banner-shown", vec![]),
        (true, None) => clean("banner-shown", vec!["no consent banner found on the first visit".into()]),
    });

    // no-tracking-before-choice: the first visit, and everything before the
    // choice in the phases that make one.
    let mut before = f.phase(PhaseId::FirstVisit).map(|p| tracking(p, false)).unwrap_or_default();
    // (Not the withdrawal phase: what runs there before its choice runs
    // after "accept all".)
    for p in f.phases.iter().filter(|p| matches!(p.id, PhaseId::RejectAll | PhaseId::AcceptAll)) {
        for k in &p.cookies_before_choice {
            if let Some(c) = k.class.as_ref().filter(|c| c.needs_consent()) {
                before.push(format!(
                    "cookie {} before the choice in phase {} ({})",
                    k.name,
                    p.id.as_str(),
                    c.category
                ));
            }
        }
        for r in p.requests.iter().filter(|r| !r.after_choice) {
            if let Some(c) = r.class.as_ref().filter(|c| c.needs_consent()) {
                before.push(format!(
                    "request {} before the choice in phase {} ({})",
                    r.url,
                    p.id.as_str(),
                    c.category
                ));
            }
        }
    }
    // The first visit's evidence first, each line once.
    let mut seen = std::collections::HashSet::new();
    before.retain(|line| seen.insert(line.clone()));
    out.push(clean("no-tracking-before-choice", before));

    // nothing-after-reject
    out.push(match f.phase(PhaseId::RejectAll) {
        Some(p) if p.choice_made => clean("nothing-after-reject", tracking(p, true)),
        Some(_) => not_applicable("nothing-after-reject", "no \"reject all\" button could be clicked"),
        None => not_applicable("nothing-after-reject", "phase not run"),
    });

    // accept-only-declared
    out.push(match (f.policy, f.phase(PhaseId::AcceptAll)) {
        (None, _) => not_applicable("accept-only-declared", "no policy to compare with (give --policy)"),
        (_, None) => not_applicable("accept-only-declared", "phase not run"),
        (Some(_), Some(p)) if !p.choice_made => {
            not_applicable("accept-only-declared", "no \"accept all\" button could be clicked")
        }
        (Some(_), Some(p)) => {
            let mut undeclared: Vec<String> = findings(p, false)
                .into_iter()
                .filter(|f| f.source != "policy")
                .map(|f| format!("not in the policy: {}", f.line))
                .collect();
            undeclared.sort();
            undeclared.dedup();
            clean("accept-only-declared", undeclared)
        }
    });

    // dnt-honoured / gpc-honoured
    for (id, phase, signal) in [("dnt-honoured", PhaseId::Dnt, "DNT"), ("gpc-honoured", PhaseId::Gpc, "GPC")]
    {
        let honours = f.policy.map(|p| {
            let s = p.signals();
            (if phase == PhaseId::Dnt { s.dnt } else { s.gpc }) == SignalHandling::Honour
        });
        out.push(match (honours, f.phase(phase)) {
            (_, None) => not_applicable(id, "phase not run"),
            (Some(false), _) => {
                not_applicable(id, format!("the policy says the site does not respond to {signal}"))
            }
            (Some(true), Some(p)) => {
                let mut ev = tracking(p, false);
                if p.banner.is_some() {
                    ev.push(format!("a banner asked although {signal} is honoured"));
                }
                clean(id, ev)
            }
            (None, Some(p)) => {
                // Without a policy: report what the signal changed, as a notice-level fail.
                let ev = tracking(p, false);
                if ev.is_empty() {
                    clean(id, ev)
                } else {
                    let mut v = clean(id, ev);
                    v.severity = Severity::Notice;
                    v
                }
            }
        });
    }

    // withdrawal-effective
    out.push(match f.phase(PhaseId::Withdraw) {
        Some(p) if p.choice_made => clean("withdrawal-effective", tracking(p, true)),
        Some(_) => not_applicable("withdrawal-effective", "the choice could not be withdrawn from the page"),
        None => not_applicable("withdrawal-effective", "phase not run"),
    });

    // The first layer.
    match banner {
        None => {
            for id in [
                "reject-on-first-layer",
                "reject-as-easy-as-accept",
                "nothing-prechecked",
                "first-layer-information",
                "privacy-policy-link",
            ] {
                out.push(not_applicable(id, "no banner found"));
            }
        }
        Some(b) => {
            out.push(match (&b.accept, &b.reject) {
                (_, Some(r)) => {
                    clean("reject-on-first-layer", vec![]).with_evidence(format!("\"{}\" found", r.label))
                }
                (_, None) => {
                    clean("reject-on-first-layer", vec!["no \"reject all\" button on the first layer".into()])
                }
            });
            out.push(match (&b.accept, &b.reject) {
                (Some(a), Some(r)) => {
                    let mut ev = Vec::new();
                    let (area_a, area_r) = (a.width * a.height, r.width * r.height);
                    if area_a > 0.0 && area_r / area_a < MIN_AREA_RATIO {
                        ev.push(format!(
                            "\"{}\" is {:.0}×{:.0} px, \"{}\" {:.0}×{:.0} px ({:.0} % of its area)",
                            r.label,
                            r.width,
                            r.height,
                            a.label,
                            a.width,
                            a.height,
                            100.0 * area_r / area_a
                        ));
                    }
                    if r.contrast < MIN_CONTRAST && r.contrast < a.contrast {
                        ev.push(format!(
                            "\"{}\" has contrast {:.2}:1 ({} on {}), \"{}\" {:.2}:1",
                            r.label, r.contrast, r.color, r.background, a.label, a.contrast
                        ));
                    }
                    clean("reject-as-easy-as-accept", ev)
                }
                _ => not_applicable("reject-as-easy-as-accept", "both buttons are needed to compare them"),
            });
            out.push(clean(
                "nothing-prechecked",
                b.prechecked.iter().map(|c| format!("\"{c}\" is switched on before any choice")).collect(),
            ));
            out.push(first_layer_information(f, b));
            out.push(if b.links.is_empty() {
                clean("privacy-policy-link", vec!["no link on the first layer".into()])
            } else {
                clean("privacy-policy-link", vec![])
                    .with_evidence(format!("{} → {}", b.links[0].0, b.links[0].1))
            });
        }
    }

    // gpc-well-known
    let honours_gpc = f.policy.map(|p| p.signals().gpc == SignalHandling::Honour);
    out.push(match (honours_gpc, f.gpc_well_known) {
        (Some(false) | None, _) => {
            not_applicable("gpc-well-known", "the site's policy does not say it honours GPC")
        }
        (Some(true), Some(true)) => clean("gpc-well-known", vec![]),
        (Some(true), Some(false)) => clean(
            "gpc-well-known",
            vec!["/.well-known/gpc.json is missing or does not say {\"gpc\": true}".into()],
        ),
        (Some(true), None) => not_applicable("gpc-well-known", "the GPC phase did not run"),
    });
    out
}

trait WithEvidence {
    fn with_evidence(self, line: String) -> Self;
}

impl WithEvidence for Verdict {
    fn with_evidence(mut self, line: String) -> Self {
        self.evidence.push(line);
        self
    }
}

/// Whether `text` contains `needle`, ignoring case and runs of white space.
fn mentions(text: &str, needle: &str) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let needle = norm(needle);
    !needle.is_empty() && norm(text).contains(&needle)
}

/// With a policy: its own sentences and names must be on the first layer
/// (in the page's language). Without one: words that say the same, in
/// English, French or German.
fn first_layer_information(f: &Facts<'_>, b: &Banner) -> Verdict {
    let id = "first-layer-information";
    let mut missing = Vec::new();
    match f.policy.filter(|_| f.policy_texts) {
        Some(p) => {
            let t = p.texts_for(&[f.page_lang.as_str()]);
            let mut needed: Vec<(String, String)> = Vec::new();
            needed.push(("purposes".into(), t.get(Key::purposes).to_owned()));
            for c in p.categories().iter().filter(|c| !c.required) {
                needed.push((format!("purpose \"{}\"", c.id), t.category_title(&c.id).to_owned()));
            }
            if !p.services().is_empty() {
                needed.push(("third parties".into(), t.get(Key::third_parties).to_owned()));
                for s in p.services() {
                    if let Some(name) = &s.name {
                        needed.push((format!("third party \"{}\"", s.id), name.clone()));
                    }
                }
            }
            needed.push(("free refusal".into(), t.get(Key::refuse_notice).to_owned()));
            needed.push(("withdrawal".into(), t.get(Key::withdraw_notice).to_owned()));
            for (what, text) in needed {
                if !mentions(&b.text, &text) {
                    missing.push(format!("{what}: \"{text}\" is not on the first layer"));
                }
            }
        }
        None => {
            let words: [(&str, &[&str]); 4] = [
                (
                    "purposes",
                    &[
                        "purpose",
                        "finalité",
                        "zweck",
                        "analytics",
                        "audience",
                        "advertis",
                        "publicité",
                        "statisti",
                    ],
                ),
                ("third parties", &["third part", "partner", "tiers", "partenaire", "dritt"]),
                ("free refusal", &["refus", "reject", "decline", "deny", "ablehn"]),
                (
                    "withdrawal",
                    &[
                        "withdraw",
                        "change your",
                        "any time",
                        "anytime",
                        "retirer",
                        "à tout moment",
                        "widerruf",
                        "jederzeit",
                    ],
                ),
            ];
            let lower = b.text.to_lowercase();
            for (what, ws) in words {
                if !ws.iter().any(|w| lower.contains(w)) {
                    missing.push(format!("{what}: no wording found for it (looked for {})", ws.join(", ")));
                }
            }
        }
    }
    clean(id, missing)
}

#[cfg(test)]
mod tests {
    use super::super::model::{Button, Class, Request};
    use super::*;

    fn phase(id: PhaseId) -> Phase {
        Phase::new(id, "http://site.test/")
    }

    fn banner(tool: &str, text: &str) -> Banner {
        Banner {
            tool: tool.into(),
            text: text.into(),
            accept: None,
            reject: None,
            links: vec![],
            prechecked: vec![],
        }
    }

    fn ga_request(after_choice: bool) -> Request {
        Request {
            url: "https://www.googletagmanager.com/gtag/js?id=G-1".into(),
            resource_type: "Script".into(),
            initiator: None,
            at_ms: 5,
            after_choice,
            set_cookies: vec![],
            class: Some(Class {
                category: "analytics".into(),
                service: Some("ga4".into()),
                source: "policy",
                essential: false,
            }),
        }
    }

    fn button(label: &str, w: f64, contrast: f64) -> Button {
        Button {
            label: label.into(),
            width: w,
            height: 40.0,
            color: "rgb(0, 0, 0)".into(),
            background: "rgb(255, 255, 255)".into(),
            contrast,
        }
    }

    /// The verdicts for an English page, with no policy and no gpc.json answer.
    fn without_policy(phases: &[Phase]) -> Vec<Verdict> {
        evaluate(&Facts {
            phases,
            policy: None,
            policy_texts: true,
            page_lang: "en".into(),
            gpc_well_known: None,
        })
    }

    fn status(v: &[Verdict], id: &str) -> Status {
        v.iter().find(|v| v.rule == id).map(|v| v.status).unwrap_or(Status::NotApplicable)
    }

    #[test]
    fn a_tracker_on_the_first_visit_fails_with_the_request_as_evidence() {
        let mut first = phase(PhaseId::FirstVisit);
        first.requests.push(ga_request(false));
        let phases = [first];
        let v = without_policy(&phases);
        let before =
            v.iter().find(|v| v.rule == "no-tracking-before-choice").map(|v| (v.status, v.evidence.clone()));
        let (before_status, evidence) = before.unwrap_or((Status::Pass, vec![]));
        assert_eq!(before_status, Status::Fail);
        assert!(evidence[0].contains("googletagmanager.com/gtag/js"), "{evidence:?}");
        // Without a policy, a tracker seen means there was something to ask.
        assert_eq!(status(&v, "banner-shown"), Status::Fail);
    }

    #[test]
    fn trackers_after_reject_fail_but_those_before_the_click_count_as_before() {
        let mut reject = phase(PhaseId::RejectAll);
        reject.choice_made = true;
        reject.requests.push(ga_request(false));
        let phases = [phase(PhaseId::FirstVisit), reject];
        let v = without_policy(&phases);
        assert_eq!(status(&v, "nothing-after-reject"), Status::Pass);
        assert_eq!(status(&v, "no-tracking-before-choice"), Status::Fail);
    }

    #[test]
    fn a_small_faint_reject_button_is_not_as_easy_and_a_prechecked_box_fails() {
        let mut first = phase(PhaseId::FirstVisit);
        let text = "We and our partners use cookies for analytics. You can refuse, and withdraw at any time.";
        first.banner = Some(Banner {
            accept: Some(button("Accept", 200.0, 12.0)),
            reject: Some(button("Reject", 60.0, 1.5)),
            prechecked: vec!["analytics".into()],
            ..banner("other", text)
        });
        let phases = [first];
        let v = without_policy(&phases);
        assert_eq!(status(&v, "reject-as-easy-as-accept"), Status::Fail);
        assert_eq!(status(&v, "nothing-prechecked"), Status::Fail);
        assert_eq!(status(&v, "reject-on-first-layer"), Status::Pass);
        assert_eq!(status(&v, "first-layer-information"), Status::Pass);
        assert_eq!(status(&v, "privacy-policy-link"), Status::Fail);
    }

    #[test]
    fn with_a_policy_the_first_layer_must_carry_its_own_sentences() {
        let policy = Policy::from_json(
            r#"{"revision": 1,
                "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
                "services": [{"id": "ga", "name": "Google Analytics", "kind": "ga4", "category": "analytics",
                              "config": {"measurement_id": "G-AB12CD34"}}]}"#,
        );
        let Ok(policy) = policy else { panic!("{policy:?}") };
        let t = policy.texts_for(&["en"]);
        let full = format!(
            "{} {} {} Google Analytics {} {}",
            t.get(Key::purposes),
            t.category_title("analytics"),
            t.get(Key::third_parties),
            t.get(Key::refuse_notice),
            t.get(Key::withdraw_notice)
        );
        let mut first = phase(PhaseId::FirstVisit);
        first.banner = Some(banner("consentry", &full));
        let phases = [first];
        let facts = Facts {
            phases: &phases,
            policy: Some(&policy),
            policy_texts: true,
            page_lang: "en".into(),
            gpc_well_known: Some(true),
        };
        let v = evaluate(&facts);
        assert_eq!(status(&v, "first-layer-information"), Status::Pass);
        assert_eq!(status(&v, "gpc-well-known"), Status::Pass);
        let mut short = phase(PhaseId::FirstVisit);
        short.banner = Some(banner("consentry", "We use cookies."));
        let phases = [short];
        let v = evaluate(&Facts {
            phases: &phases,
            policy: Some(&policy),
            policy_texts: true,
            page_lang: "en".into(),
            gpc_well_known: Some(false),
        });
        assert_eq!(status(&v, "first-layer-information"), Status::Fail);
        assert_eq!(status(&v, "gpc-well-known"), Status::Fail);
    }

    #[test]
    fn every_rule_gets_exactly_one_verdict() {
        let phases: Vec<Phase> = PhaseId::ALL.iter().map(|&id| phase(id)).collect();
        let v = without_policy(&phases);
        let ids: Vec<&str> = v.iter().map(|v| v.rule).collect();
        let all: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        assert_eq!(ids, all);
    }
}
