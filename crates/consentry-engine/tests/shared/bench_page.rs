//! The page and policy every middleware benchmark serves (`cargo xtask
//! bench`): consentry-tower's `bench_server` and consentry-actix's
//! `bench_actix` examples include this file (`#[path]`), so both adapters are
//! measured on the same bytes.

/// A ~50 KB page with GA and Matomo tags, as a site writes it.
pub fn page() -> String {
    let mut body = String::new();
    let mut i = 0;
    while body.len() < 48_000 {
        body.push_str(&format!(
            "<article id=\"a{i}\"><h2>Section {i}</h2><p>Lorem ipsum dolor sit amet, <a href=\"/p/{i}\">consectetur</a> adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.</p><img src=\"/img/{i}.png\" alt=\"\"></article>\n"
        ));
        i += 1;
    }
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bench</title>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-AB12CD34"></script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}gtag('js',new Date());gtag('config','G-AB12CD34');</script>
<script src="/static/app.js"></script></head><body>{body}
<script>var _paq=window._paq=window._paq||[];_paq.push(['trackPageView']);</script></body></html>"#
    )
}

pub const POLICY: &str = r#"{"revision": 1, "categories": [{"id": "essential", "required": true}, {"id": "analytics"}],
  "services": [{"id": "ga4", "kind": "ga4", "category": "analytics", "config": {"measurement_id": "G-AB12CD34"}},
               {"id": "matomo", "kind": "matomo", "category": "analytics", "config": {"url": "https://stats.example.org/", "site_id": "1"}}]}"#;
