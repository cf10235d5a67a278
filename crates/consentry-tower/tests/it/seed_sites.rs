//! Every row of docs/demo-sites.md, through the layer, on a page carrying every
//! kind of tag the seed sites have (nothing marked up for Consentry).

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use crate::common;

use common::{app, consent_cookie, get_page, live, preset, seed_page};
use consentry_tower::ConsentLayer;

const TRACKERS: &[&str] = &[
    "/_trackers/matomo/",
    "/_trackers/gtag/js",
    "/_trackers/gtm.js",
    "/_trackers/ads/",
    "/_trackers/segment/",
    "/_trackers/optimizely/",
    "/_trackers/vwo/",
    "/_trackers/drift/",
    "/_trackers/video/",
];

fn router(slug: &str) -> axum::Router {
    app(ConsentLayer::new(preset(slug)).inject_services(false), seed_page("en"))
}

/// No tracker of `policy`'s services is fetched or run, and the page itself
/// (app.js, the h1) is intact.
fn assert_no_live_tracker(slug: &str, html: &str) {
    let l = live(html);
    let policy = preset(slug);
    for t in TRACKERS {
        let belongs =
            policy.services().iter().any(|s| s.matches_url(&format!("https://x{t}x")) || s.matches_url(t));
        if belongs {
            assert!(!l.any_url_contains(t), "{slug}: live {t} in\n{html}");
        }
    }
    for s in policy.services() {
        let marker = match s.kind() {
            consentry_core::ServiceKind::Matomo => "_paq.push",
            consentry_core::ServiceKind::Ga4 => "gtag('config'",
            _ => continue,
        };
        assert!(!l.any_inline_contains(marker), "{slug}: live inline {marker}");
    }
    assert!(l.script_srcs.iter().any(|s| s == "/static/app.js"), "{slug}: the site's own script survives");
    assert!(html.contains("<h1>Hello</h1>"));
}

fn has_banner(html: &str) -> bool {
    html.contains("id=\"consentry-banner\"")
}

// --- rackslab ---------------------------------------------------------------

#[tokio::test]
async fn rackslab_first_visit_shows_the_banner_and_no_live_matomo() {
    let r = get_page(&router("rackslab"), &[]).await;
    assert!(has_banner(&r.text()));
    assert_no_live_tracker("rackslab", &r.text());
    assert_eq!(r.header("tk"), Some("N"));
}

#[tokio::test]
async fn rackslab_with_dnt_needs_no_banner_and_never_emits_matomo_live() {
    let r = get_page(&router("rackslab"), &[("dnt", "1")]).await;
    assert!(!has_banner(&r.text()));
    assert_no_live_tracker("rackslab", &r.text());
    assert!(!r.text().contains("matomo.php?idsite=1&amp;rec=1\" alt"), "the noscript pixel is inert");
    assert_eq!(r.header("tk"), Some("N"));
}

#[tokio::test]
async fn rackslab_with_gpc_behaves_as_with_dnt() {
    let r = get_page(&router("rackslab"), &[("sec-gpc", "1")]).await;
    assert!(!has_banner(&r.text()));
    assert_no_live_tracker("rackslab", &r.text());
}

#[tokio::test]
async fn rackslab_with_analytics_consent_emits_matomo_live_unless_dnt() {
    let cookie = consent_cookie(&preset("rackslab"), &["analytics"]);
    let r = get_page(&router("rackslab"), &[("cookie", &cookie)]).await;
    assert!(!has_banner(&r.text()));
    assert!(live(&r.text()).any_inline_contains("_paq.push"));
    assert!(live(&r.text()).any_url_contains("/_trackers/matomo/matomo.php"), "noscript pixel live");
    let r = get_page(&router("rackslab"), &[("cookie", &cookie), ("dnt", "1")]).await;
    assert_no_live_tracker("rackslab", &r.text());
}

// --- redis ------------------------------------------------------------------

#[tokio::test]
async fn redis_first_visit_shows_the_banner_and_keeps_ga_gtm_ads_inert() {
    let r = get_page(&router("redis"), &[]).await;
    assert!(has_banner(&r.text()));
    assert_no_live_tracker("redis", &r.text());
}

#[tokio::test]
async fn redis_with_dnt_still_shows_the_banner_and_says_it_disregards_dnt() {
    let r = get_page(&router("redis"), &[("dnt", "1")]).await;
    assert!(has_banner(&r.text()));
    assert_no_live_tracker("redis", &r.text());
    assert_eq!(r.header("tk"), Some("D"));
}

#[tokio::test]
async fn redis_with_gpc_needs_no_banner_and_denies_everything_optional() {
    let r = get_page(&router("redis"), &[("sec-gpc", "1")]).await;
    assert!(!has_banner(&r.text()));
    assert_no_live_tracker("redis", &r.text());
}

#[tokio::test]
async fn redis_with_analytics_consent_shows_a_live_ga_tag_but_ads_stay_inert() {
    let cookie = consent_cookie(&preset("redis"), &["analytics"]);
    let r = get_page(&router("redis"), &[("cookie", &cookie)]).await;
    let l = live(&r.text());
    assert!(l.any_url_contains("/_trackers/gtag/js"), "{}", r.text());
    assert!(l.any_url_contains("/_trackers/gtm.js"));
    assert!(l.any_inline_contains("gtag('config'"));
    assert!(!l.any_url_contains("/_trackers/ads/"));
    assert!(!l.any_url_contains("/_trackers/video/"));
    assert_eq!(r.header("tk"), Some("C"));
    let with_gpc = get_page(&router("redis"), &[("cookie", &cookie), ("sec-gpc", "1")]).await;
    assert_no_live_tracker("redis", &with_gpc.text());
}

// --- mailjet ----------------------------------------------------------------

#[tokio::test]
async fn mailjet_first_visit_shows_the_banner_and_keeps_all_third_party_tags_inert() {
    let r = get_page(&router("mailjet"), &[]).await;
    assert!(has_banner(&r.text()));
    assert_no_live_tracker("mailjet", &r.text());
}

#[tokio::test]
async fn mailjet_with_dnt_needs_no_banner_and_denies_all() {
    let r = get_page(&router("mailjet"), &[("dnt", "1")]).await;
    assert!(!has_banner(&r.text()));
    assert_no_live_tracker("mailjet", &r.text());
}

#[tokio::test]
async fn mailjet_with_gpc_behaves_as_with_dnt() {
    let r = get_page(&router("mailjet"), &[("sec-gpc", "1")]).await;
    assert!(!has_banner(&r.text()));
    assert_no_live_tracker("mailjet", &r.text());
}

#[tokio::test]
async fn mailjet_with_analytics_consent_runs_ga_and_segment_only() {
    let cookie = consent_cookie(&preset("mailjet"), &["analytics"]);
    let l = live(&get_page(&router("mailjet"), &[("cookie", &cookie)]).await.text());
    assert!(l.any_url_contains("/_trackers/gtag/js") && l.any_url_contains("/_trackers/segment/"));
    for t in ["/_trackers/optimizely/", "/_trackers/vwo/", "/_trackers/drift/"] {
        assert!(!l.any_url_contains(t), "{t}");
    }
}

// --- alkaes -----------------------------------------------------------------

#[tokio::test]
async fn alkaes_first_visit_shows_the_banner_in_french_and_keeps_ga_inert() {
    let r = get_page(&app(ConsentLayer::new(preset("alkaes")).inject_services(false), seed_page("fr")), &[])
        .await;
    assert!(has_banner(&r.text()));
    assert!(r.text().contains("Tout refuser"), "French page, French banner");
    assert_no_live_tracker("alkaes", &r.text());
}

#[tokio::test]
async fn alkaes_with_dnt_needs_no_banner_and_denies_ga() {
    let r = get_page(&router("alkaes"), &[("dnt", "1")]).await;
    assert!(!has_banner(&r.text()));
    assert_no_live_tracker("alkaes", &r.text());
}

#[tokio::test]
async fn alkaes_with_gpc_behaves_as_with_dnt() {
    let r = get_page(&router("alkaes"), &[("sec-gpc", "1")]).await;
    assert!(!has_banner(&r.text()));
    assert_no_live_tracker("alkaes", &r.text());
}

// --- kisslabs ---------------------------------------------------------------

#[tokio::test]
async fn kisslabs_never_shows_a_banner_with_or_without_signals() {
    for headers in [&[][..], &[("dnt", "1")][..], &[("sec-gpc", "1")][..]] {
        let r = get_page(&router("kisslabs"), headers).await;
        assert!(!has_banner(&r.text()), "{headers:?}");
        assert_eq!(r.header("tk"), Some("N"));
    }
}

#[tokio::test]
async fn kisslabs_injects_no_tag_and_no_consent_mode() {
    let r = get_page(&app(ConsentLayer::new(preset("kisslabs")), seed_page("fr")), &[]).await;
    assert!(!r.text().contains("gtag('consent'"));
    assert!(!r.text().contains("data-consentry-injected=\"\" data-category"));
}
