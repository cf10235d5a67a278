//! `consentry-demo`: the five seed sites behind `ConsentLayer`.
//!
//! ```text
//! consentry-demo [--addr 127.0.0.1:8080] [--db PATH] [--assets DIR] [--no-layer] [--server axum|actix]
//! ```
//!
//! With `--server actix` the same sites are served by actix-web behind
//! `consentry-actix`'s middleware instead of axum behind `ConsentLayer`
//! (`actix.rs`).
//!
//! With `--no-layer` the sites are served bare, tags and all, as a site that
//! knows nothing of consent would serve them: put `consentry serve --upstream`
//! in front of it, with one site's policy, to see the proxy gate them.

mod actix;
mod region;
mod sites;
mod trackers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get, post};
use consentry_core::{Policy, consent_from_headers};
use consentry_tower::ReceiptStore;
use consentry_tower::receipts::{PostgresStore, SqliteStore};
use consentry_tower::{Assets, ConsentDecision, ConsentLayer, RegionHeaders, SecureCookie};

use sites::{SITES, Site};
use trackers::HitLog;

const USAGE: &str = "\
consentry-demo: the five seed sites behind ConsentLayer

usage: consentry-demo [--addr HOST:PORT] [--db PATH | --postgres CONFIG] [--assets DIR] [--no-layer] [--leaky-tag]
                      [--server axum|actix]

  --addr HOST:PORT   where to listen (default 127.0.0.1:8080)
  --db PATH          SQLite receipts database (default target/consentry-demo.db)
  --postgres CONFIG  store receipts in PostgreSQL instead (e.g. host=/run/postgresql user=app)
  --assets DIR       banner files built by `cargo xtask dist` (default www/dist)
  --no-layer         serve the sites without ConsentLayer (every tag live, no banner), as
                     an upstream for `consentry serve`, e.g.
                       consentry-demo --no-layer --addr 127.0.0.1:8000 &
                       consentry serve --policy www/policies/redis.json \
                         --upstream http://127.0.0.1:8000 --addr 127.0.0.1:8080
                     then open http://127.0.0.1:8080/redis/
  --leaky-tag        add to every page a tag no policy declares (a Facebook-pixel-like
                     inline script that sets the `_fbp` cookie and calls /_trackers/pixel/):
                     the layer does not know it, so it runs; `consentry audit` must catch it
  --server NAME      the web server the sites and the middleware run in: `axum` (default;
                     consentry-tower's ConsentLayer) or `actix` (actix-web; consentry-actix's
                     Consent middleware). Same pages, same policies, same behaviour.
  --help             this text
";

struct Args {
    addr: SocketAddr,
    db: PathBuf,
    postgres: Option<String>,
    assets: PathBuf,
    no_layer: bool,
    leaky_tag: bool,
    server: Server,
}

/// The web server the demo runs in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    Axum,
    Actix,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
        db: PathBuf::from("target/consentry-demo.db"),
        postgres: None,
        assets: PathBuf::from("www/dist"),
        no_layer: false,
        leaky_tag: false,
        server: Server::Axum,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"));
        match a.as_str() {
            "--addr" => {
                let v = value("--addr")?;
                args.addr =
                    v.parse().map_err(|_| format!("--addr: `{v}` is not HOST:PORT (e.g. 127.0.0.1:8080)"))?;
            }
            "--db" => args.db = PathBuf::from(value("--db")?),
            "--postgres" => args.postgres = Some(value("--postgres")?),
            "--assets" => args.assets = PathBuf::from(value("--assets")?),
            "--no-layer" => args.no_layer = true,
            "--leaky-tag" => args.leaky_tag = true,
            "--server" => {
                args.server = match value("--server")?.as_str() {
                    "axum" => Server::Axum,
                    "actix" => Server::Actix,
                    other => return Err(format!("--server: `{other}` is not `axum` or `actix`")),
                }
            }
            "--help" | "-h" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(args)
}

/// Loads a preset, scoping its cookie to the site's path: the five sites
/// share one host here, and each must keep its own choice.
fn load_policy(root: &std::path::Path, slug: &str) -> Result<Policy, String> {
    let path = root.join("www").join("policies").join(format!("{slug}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    v["cookie"]["path"] = serde_json::Value::String(format!("/{slug}/"));
    Policy::from_json(&v.to_string()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Finds the repository root (where `www/policies` is), from the current
/// directory or the binary's location.
fn repo_root() -> PathBuf {
    let candidates = [
        std::env::current_dir().ok(),
        option_env!("CARGO_MANIFEST_DIR").map(|d| PathBuf::from(d).join("../..")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join("www").join("policies").is_dir())
        .unwrap_or_else(|| PathBuf::from("."))
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("consentry-demo: {e}");
            std::process::exit(2);
        }
    };
    if args.server == Server::Actix && args.no_layer {
        eprintln!("consentry-demo: --no-layer serves the bare sites with axum; leave out --server actix");
        std::process::exit(2);
    }
    match args.server {
        Server::Actix => {
            if let Err(e) = actix_web::rt::System::new().block_on(actix::run(args)) {
                eprintln!("consentry-demo: server error: {e}");
                std::process::exit(1);
            }
        }
        Server::Axum => {
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("consentry-demo: cannot start the async runtime: {e}");
                    std::process::exit(1);
                }
            };
            runtime.block_on(run_axum(args));
        }
    }
}

/// Each site's policy, loaded once (exits with one line when one cannot be read).
fn policies(root: &std::path::Path) -> Vec<(&'static str, Policy)> {
    SITES
        .iter()
        .map(|site| match load_policy(root, site.slug) {
            Ok(p) => (site.slug, p),
            Err(e) => {
                eprintln!("consentry-demo: {e}");
                std::process::exit(1);
            }
        })
        .collect()
}

/// The engine settings of one site's middleware, the same for both servers.
fn site_settings(
    slug: &str,
    policy: Policy,
    assets: &Assets,
    receipts: &Arc<dyn ReceiptStore>,
) -> consentry_tower::EngineBuilder {
    consentry_tower::EngineBuilder::new(policy)
        .prefix(format!("/{slug}/consentry/"))
        .assets(assets.clone())
        .receipts(Arc::clone(receipts))
        .inject_services(false)
        .secure_cookie(SecureCookie::Auto)
        // As a site behind Cloudflare would; the picker plays Cloudflare.
        .region_headers(RegionHeaders::cloudflare())
}

/// The demo's routes (sites, tracker stubs, inspector), each site behind
/// `ConsentLayer` when `layered` gives its assets and receipts.
fn routes(
    root: &std::path::Path,
    leak: bool,
    layered: Option<&(Assets, Arc<dyn ReceiptStore>)>,
    state: &HitLog,
) -> Router {
    let mut app = Router::new()
        .route("/", get(index))
        .route("/_trackers/{*path}", get(trackers::serve).post(trackers::serve))
        .route("/_inspector/hits", get(trackers::hits))
        .route("/_inspector/reset", post(trackers::reset))
        .route("/_demo/site.css", get(site_css))
        .route("/_demo/region", post(region::pick))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }));
    for (slug, policy) in policies(root) {
        let mut site_router = Router::new()
            .route(&format!("/{slug}/"), get(move |d, h, s| page(slug, leak, d, h, s)))
            .route(&format!("/{slug}/privacy"), get(move || privacy(slug)))
            // Consentry's own routes live under the site's prefix; the layer answers them.
            .route(&format!("/{slug}/consentry/{{*rest}}"), any(|| async { StatusCode::NOT_FOUND }))
            .route(&format!("/{slug}/.well-known/gpc.json"), any(|| async { StatusCode::NOT_FOUND }));
        if let Some((assets, receipts)) = layered {
            site_router =
                site_router.layer(ConsentLayer::from(site_settings(slug, policy, assets, receipts)));
        }
        app = app.merge(site_router.with_state(state.clone()));
    }
    app.with_state(state.clone())
}

async fn run_axum(args: Args) {
    let root = repo_root();
    // Without the layer there is no banner to serve and no receipt to store.
    let layered = if args.no_layer {
        None
    } else {
        Some((banner_assets(&args, &root), open_receipts(&args, &root).await))
    };
    let state = HitLog::default();
    // Outside every site's layer: plays the CDN that sets the region headers.
    let app = routes(&root, args.leaky_tag, layered.as_ref(), &state)
        .layer(axum::middleware::map_request(region::simulate_cloudflare));

    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "consentry-demo: cannot listen on {}: {e} (is another demo running? try --addr 127.0.0.1:8081)",
                args.addr
            );
            std::process::exit(1);
        }
    };
    let addr = listener.local_addr().map_or(args.addr, |a| a);
    if layered.is_some() {
        announce(addr, "ConsentLayer (axum)");
    } else {
        println!(
            "consentry-demo: serving the five demo sites WITHOUT ConsentLayer on http://{addr}/ (every tag live; put `consentry serve --upstream http://{addr}` in front)"
        );
        for s in SITES {
            println!("  http://{addr}/{}/", s.slug);
        }
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        println!("\nconsentry-demo: stopping");
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        eprintln!("consentry-demo: server error: {e}");
        std::process::exit(1);
    }
}

/// The line the harness and a reader wait for, and the five sites' addresses.
fn announce(addr: SocketAddr, behind: &str) {
    println!(
        "consentry-demo: serving the five demo sites on http://{addr}/ behind {behind}  (Ctrl-C to stop)"
    );
    for s in SITES {
        println!("  http://{addr}/{}/", s.slug);
    }
}

/// The banner files, or the built-in server-rendered banner when they were not built.
pub(crate) fn banner_assets(args: &Args, root: &std::path::Path) -> Assets {
    let assets_dir = if args.assets.is_absolute() { args.assets.clone() } else { root.join(&args.assets) };
    match Assets::from_dir(&assets_dir) {
        Ok(a) => a,
        Err(_) => {
            eprintln!(
                "consentry-demo: no banner assets in {} (run `cargo xtask dist`); serving the server-rendered banner only",
                assets_dir.display()
            );
            Assets::builtin()
        }
    }
}

/// The receipts store the flags ask for; exits with one line when it cannot be opened.
pub(crate) async fn open_receipts(args: &Args, root: &std::path::Path) -> Arc<dyn ReceiptStore> {
    match &args.postgres {
        Some(config) => match PostgresStore::connect(config, 16).await {
            Ok(s) => {
                println!("consentry-demo: receipts stored in PostgreSQL");
                Arc::new(s)
            }
            Err(e) => {
                eprintln!("consentry-demo: cannot use PostgreSQL ({config}): {e}");
                std::process::exit(1);
            }
        },
        None => {
            let db = if args.db.is_absolute() { args.db.clone() } else { root.join(&args.db) };
            match SqliteStore::open(&db) {
                Ok(s) => {
                    println!(
                        "consentry-demo: receipts stored in {} (export: cargo run -p consentry-cli -- receipts export --db {})",
                        db.display(),
                        db.display()
                    );
                    Arc::new(s)
                }
                Err(e) => {
                    eprintln!("consentry-demo: cannot open the receipts database {}: {e}", db.display());
                    std::process::exit(1);
                }
            }
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn index() -> Html<String> {
    let mut items = String::new();
    for s in SITES {
        items.push_str(&format!(
            "<li><a href=\"/{slug}/\">{name}</a> <span lang=\"{lang}\">— {tag}</span></li>",
            slug = s.slug,
            name = esc(s.name),
            lang = s.lang,
            tag = esc(s.tagline)
        ));
    }
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Consentry demo</title><link rel=\"stylesheet\" href=\"/_demo/site.css\"></head><body><main>\
         <h1>Consentry demo</h1><p>Five real-world sites, each behind <code>ConsentLayer</code> with its own policy \
         (<code>www/policies/</code>). Trackers are local stubs under <code>/_trackers/</code> that record every hit, shown in each \
         page's decision inspector. Try each site with your browser's Do Not Track or Global Privacy Control on.</p>\
         <ul>{items}</ul></main></body></html>"
    ))
}

async fn privacy(slug: &'static str) -> Html<String> {
    let name = sites::find(slug).map_or(slug, |s| s.name);
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{name} privacy</title>\
         <link rel=\"stylesheet\" href=\"/_demo/site.css\"></head><body><main><h1>{name}: privacy policy</h1>\
         <p>A placeholder for the site's privacy policy; the facts the banner relies on are in <code>www/policies/{slug}.json</code>.</p>\
         <p><a href=\"/{slug}/\">Back</a></p></main></body></html>"
    ))
}

/// The tag `--leaky-tag` adds: what a marketing plugin would paste in,
/// known to no policy preset.
const LEAKY_TAG: &str = "<script>document.cookie = \"_fbp=fb.1.\" + Date.now() + \".4242; path=/; max-age=7776000\";\
     new Image().src = \"/_trackers/pixel/tr?id=4242&ev=PageView\";</script>";

async fn page(
    slug: &'static str,
    leak: bool,
    decision: Option<ConsentDecision>,
    headers: HeaderMap,
    State(hits): State<HitLog>,
) -> Response {
    let Some(site) = sites::find(slug) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let inspector = inspector(site, decision.as_ref(), &headers, &hits);
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{name}</title>\
         <link rel=\"stylesheet\" href=\"/_demo/site.css\">{tags_head}</head><body><header><a href=\"/\">Consentry demo</a> › {name}{picker}</header>\
         <main><h1>{name}</h1><p class=\"tagline\">{tagline}</p>{body}\
         <p><a href=\"/{slug}/privacy\">Privacy</a> · <button type=\"button\" data-consentry=\"preferences\">Cookie settings</button></p>\
         {inspector}</main>{tags_body}</body></html>",
        lang = site.lang,
        name = esc(site.name),
        tagline = esc(site.tagline),
        body = site.body,
        tags_head = site.tags_head,
        picker = region::picker(&headers, &format!("/{slug}/")),
        tags_body = if leak { format!("{}{LEAKY_TAG}", site.tags_body) } else { site.tags_body.to_owned() },
    ))
    .into_response()
}

fn inspector(site: &Site, d: Option<&ConsentDecision>, headers: &HeaderMap, log: &HitLog) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let dnt = headers.get("dnt").and_then(|v| v.to_str().ok()).unwrap_or("(absent)");
    let gpc = headers.get("sec-gpc").and_then(|v| v.to_str().ok()).unwrap_or("(absent)");
    let cookies: Vec<&[u8]> = headers.get_all(header::COOKIE).iter().map(|v| v.as_bytes()).collect();
    let consent = consent_from_headers(cookies, "consentry");
    let consent_row = match &consent {
        Some(c) => format!(
            "revision {}, given at {} (Unix), grants [{}], id <code>{}</code>",
            c.revision(),
            c.given_at(),
            esc(&c.granted().join(", ")),
            esc(c.id().as_str())
        ),
        None => "none (or unreadable)".to_owned(),
    };
    let decided = match d {
        Some(d) => {
            let mut rows = String::new();
            for (id, g) in d.categories() {
                rows.push_str(&format!(
                    "<tr><td>{}</td><td class=\"{cls}\">{}</td><td>{}</td></tr>",
                    esc(id),
                    if g.granted { "granted" } else { "denied" },
                    g.reason,
                    cls = if g.granted { "ok" } else { "no" }
                ));
            }
            let location = d.location();
            format!(
                "<dt>Region</dt><dd id=\"region\">{region}</dd><dt>Region source</dt><dd id=\"region-source\">{source}</dd>\
                 <dt>Consent model</dt><dd id=\"model\">{model}</dd>\
                 <dt>Banner needed</dt><dd id=\"needs-banner\">{nb}</dd><dt>Tk</dt><dd>{tk}</dd></dl>\
                 <table><thead><tr><th>category</th><th>decision</th><th>reason</th></tr></thead><tbody>{rows}</tbody></table>",
                region = location.region.map_or_else(|| "unknown".to_owned(), |r| r.to_string()),
                source = location.source.as_str(),
                model = d.model().as_str(),
                nb = yes_no(d.needs_banner()),
                tk = d.tk().as_str(),
            )
        }
        None => {
            "<dt>Decision</dt><dd id=\"needs-banner\">not made here: this server runs without ConsentLayer \
                 (<code>--no-layer</code>); the proxy in front of it decides and gates this page</dd></dl>"
                .to_owned()
        }
    };
    let hits = log.for_site(site.slug);
    let hit_list = if hits.is_empty() {
        "<p id=\"tracker-hits\" data-count=\"0\">No tracker contacted.</p>".to_owned()
    } else {
        let items: String =
            hits.iter().map(|h| format!("<li><code>/_trackers/{}</code></li>", esc(&h.path))).collect();
        format!("<ul id=\"tracker-hits\" data-count=\"{}\">{items}</ul>", hits.len())
    };
    format!(
        "<section class=\"inspector\" aria-labelledby=\"inspector-title\" lang=\"en\"><h2 id=\"inspector-title\">Decision inspector</h2>\
         <p>What the server saw for this request, and what it decided.</p>\
         <dl><dt>DNT header</dt><dd>{dnt}</dd><dt>Sec-GPC header</dt><dd>{gpc}</dd>\
         <dt>Consent cookie</dt><dd>{consent_row}</dd>{decided}\
         <h3>Tracker hits for this site so far (before this page's own)</h3>{hit_list}\
         <p><a href=\"/_inspector/hits?site={slug}\">hits as JSON</a></p></section>",
        dnt = esc(dnt),
        gpc = esc(gpc),
        slug = site.slug,
    )
}

async fn site_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("site.css"))
}
