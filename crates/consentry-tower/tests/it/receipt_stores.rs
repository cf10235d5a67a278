//! One behaviour suite for every receipt store: embedded SQLite, and
//! PostgreSQL started by the test itself from Debian's package (initdb into
//! a temporary directory, Unix socket only, torn down at the end).

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use crate::common;

use std::path::Path;
use std::sync::Arc;

use consentry_core::{ChoiceMethod, Receipt, SignalsSeen};
use consentry_tower::receipts::{PostgresStore, SqliteStore};
use consentry_tower::{ConsentLayer, ReceiptError, ReceiptStore};

fn receipt(id: &str, at: u64, granted: &[&str]) -> Receipt {
    Receipt {
        id: id.to_owned(),
        at,
        revision: 3,
        policy_hash: "cd".repeat(32),
        granted: granted.iter().map(|s| (*s).to_owned()).collect(),
        denied: vec!["advertising".into()],
        signals: SignalsSeen { dnt: true, gpc: false },
        method: ChoiceMethod::Withdrawal,
    }
}

fn id(n: u32) -> String {
    format!("{n:0>22}")
}

/// What every store must do.
async fn behaviour_suite(store: Arc<dyn ReceiptStore>) {
    // Round trip, and nothing for unknown ids.
    let r = receipt(&id(1), 1_000, &["essential", "analytics"]);
    assert_eq!(store.store(r.clone()).await, Ok(()));
    assert_eq!(store.get(&id(1)).await, Ok(Some(r.clone())));
    assert_eq!(store.get(&id(999)).await, Ok(None));
    assert_eq!(store.get("'; DROP TABLE receipts; --").await, Ok(None), "ids are parameters, never SQL");

    // The same receipt twice is fine; another one with its id conflicts and loses.
    assert_eq!(store.store(r.clone()).await, Ok(()));
    assert_eq!(store.store(receipt(&id(1), 1_000, &["essential"])).await, Err(ReceiptError::Conflict));
    assert_eq!(store.get(&id(1)).await, Ok(Some(r)));

    // Concurrent writes of one id: exactly one wins.
    let mut tasks = Vec::new();
    for n in 0..12u64 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move { store.store(receipt(&id(2), n, &["essential"])).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(ReceiptError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 1);

    // Many receipts at once all land.
    let mut tasks = Vec::new();
    for n in 0..300u32 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store.store(receipt(&id(1000 + n), u64::from(n), &["essential"])).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), Ok(()));
    }
    assert!(store.get(&id(1299)).await.ok().flatten().is_some());

    // Hostile content is stored as data.
    let odd = Receipt { policy_hash: "\"><script>x</script>'".into(), ..receipt(&id(3), 7, &[]) };
    assert_eq!(store.store(odd.clone()).await, Ok(()));
    assert_eq!(store.get(&id(3)).await, Ok(Some(odd)));

    // Through the consent endpoint.
    let router = common::app(
        ConsentLayer::new(common::preset("mailjet")).receipts(Arc::clone(&store)),
        "<html></html>".into(),
    );
    let res = common::send(router, common::post_json(r#"{"granted": ["analytics"]}"#, &[])).await;
    let v: serde_json::Value = serde_json::from_slice(&res.body).unwrap_or_default();
    assert_eq!(v["receipt"], true, "{v}");
    let stored = store.get(v["id"].as_str().unwrap_or_default()).await.ok().flatten().expect("stored");
    assert_eq!(stored.granted, ["essential", "analytics"]);
    assert_eq!(stored.denied, ["functional", "experiments"]);
    assert_eq!(stored.method, ChoiceMethod::Custom);
}

#[tokio::test]
async fn sqlite_store_passes_the_behaviour_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("r.db")).unwrap();
    behaviour_suite(Arc::new(store)).await;
}

#[path = "../../../../tests/support/postgres.rs"]
mod postgres;
use postgres::Postgres;

/// A PostgreSQL server of our own for one test, or `None` (with the reason
/// on stderr) when PostgreSQL is not installed; any other failure to start
/// fails the test.
fn postgres_or_skip() -> Option<Postgres> {
    let dir = tempfile::Builder::new().prefix("consentry-pg-").tempdir().unwrap().keep();
    match Postgres::start(&dir, &["fsync=off", "max_connections=50"], &[]) {
        Ok(pg) => Some(pg),
        Err(why) if postgres::bin_dir().is_none() => {
            eprintln!("SKIPPED: {why}");
            None
        }
        Err(why) => panic!("{why}"),
    }
}

fn dir_exists(p: &Path) -> bool {
    p.is_dir()
}

#[tokio::test]
async fn postgres_store_passes_the_behaviour_suite() {
    let Some(pg) = postgres_or_skip() else { return };
    // A real server answers on the socket.
    let (client, conn) = tokio_postgres::connect(&pg.config(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let version: String =
        client.query_one("SHOW server_version", &[]).await.map(|r| r.get(0)).unwrap_or_default();
    assert!(!version.is_empty());
    println!("PostgreSQL {version} at {}", pg.dir.display());
    let store = PostgresStore::connect(&pg.config(), 8).await.unwrap();
    // A second app server starting at the same time runs the migrations safely.
    let again = PostgresStore::connect(&pg.config(), 2).await;
    assert!(again.is_ok(), "{again:?}");
    behaviour_suite(Arc::new(store)).await;

    let store = PostgresStore::connect(&pg.config(), 2).await.unwrap();
    let mut out = Vec::new();
    let n = store.export_jsonl(100, 200, &mut out).await.unwrap();
    assert_eq!(n, 100, "receipts at 100..200 of the 300 written");
    assert!(String::from_utf8_lossy(&out).lines().all(|l| serde_json::from_str::<Receipt>(l).is_ok()));
    let deleted = store.delete_before(50).await.unwrap();
    assert!(deleted >= 50, "{deleted}");
    let dir = pg.dir.clone();
    drop(pg);
    assert!(!dir_exists(&dir), "torn down");
}

#[tokio::test]
async fn a_postgres_store_that_is_down_fails_fast_and_the_cookie_is_still_set() {
    let Some(pg) = postgres_or_skip() else { return };
    let store = Arc::new(PostgresStore::connect(&pg.config(), 2).await.unwrap());
    drop(pg); // the database goes away under the running app
    let router = common::app(
        ConsentLayer::new(common::preset("alkaes")).receipts(Arc::clone(&store)),
        "<html></html>".into(),
    );
    let started = std::time::Instant::now();
    let res = common::send(router, common::post_json(r#"{"granted": "all"}"#, &[])).await;
    assert_eq!(res.status, axum::http::StatusCode::OK);
    assert!(res.header("set-cookie").is_some(), "the visitor's choice is kept");
    let v: serde_json::Value = serde_json::from_slice(&res.body).unwrap_or_default();
    assert_eq!(v["receipt"], false);
    assert!(v["receipt_error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "no long hang");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_loses_no_acknowledged_receipt() {
    let Some(mut pg) = postgres_or_skip() else { return };
    let postgres = Arc::new(PostgresStore::connect(&pg.config(), 4).await.unwrap());
    let outbox_dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(
        consentry_tower::receipts::OutboxStore::open(
            Arc::clone(&postgres),
            outbox_dir.path().join("outbox.db"),
        )
        .unwrap(),
    );
    let router = common::app(
        ConsentLayer::new(common::preset("alkaes")).receipts(Arc::clone(&outbox)),
        "<html></html>".into(),
    );
    const RUN: usize = 90;
    let mut acknowledged = Vec::new();
    let mut waiting_seen = 0;
    for n in 0..RUN {
        // The middle third of the run: PostgreSQL is down.
        if n == RUN / 3 {
            pg.stop();
        }
        if n == 2 * RUN / 3 {
            waiting_seen = outbox.pending();
            pg.restart().unwrap();
        }
        let res = common::send(router.clone(), common::post_json(r#"{"granted": "all"}"#, &[])).await;
        assert_eq!(res.status, axum::http::StatusCode::OK);
        let v: serde_json::Value = serde_json::from_slice(&res.body).unwrap_or_default();
        if v["receipt"] == true {
            acknowledged.push(v["id"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert_eq!(acknowledged.len(), RUN, "every choice was acknowledged, the outage's included");
    assert!(waiting_seen >= (RUN / 3) as u64, "the outage's receipts waited in the outbox ({waiting_seen})");
    // The outbox drains once PostgreSQL is back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while outbox.pending() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(outbox.pending(), 0, "drained");
    let (client, conn) = tokio_postgres::connect(&pg.config(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let rows = client.query("SELECT id, count(*) FROM consentry_receipts GROUP BY id", &[]).await.unwrap();
    let stored: std::collections::HashMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let duplicated = stored.values().filter(|&&c| c > 1).count();
    let missing: Vec<&String> = acknowledged.iter().filter(|id| !stored.contains_key(*id)).collect();
    println!(
        "outage run: acknowledged {}, stored {}, duplicated {duplicated}, waited in the outbox {waiting_seen}",
        acknowledged.len(),
        stored.len()
    );
    assert!(missing.is_empty(), "acknowledged but not in PostgreSQL: {missing:?}");
    assert_eq!(duplicated, 0);
    assert_eq!(stored.len(), acknowledged.len(), "nothing else stored");
    // The health route says nothing waits.
    let health = common::send(
        router.clone(),
        common::request("GET", "/consentry/health", &[], axum::body::Body::empty()),
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&health.body).unwrap_or_default();
    assert_eq!(v["receipts_waiting"], 0, "{v}");
}

#[tokio::test]
async fn a_postgres_store_reached_over_tls_stores_receipts_and_refuses_an_unknown_certificate() {
    if postgres::bin_dir().is_none() {
        eprintln!("SKIPPED: {}", postgres::NOT_INSTALLED);
        return;
    }
    // A server certificate for 127.0.0.1, readable by the server's user.
    let certs = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(certs.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (crt, key) = (certs.path().join("server.crt"), certs.path().join("server.key"));
    std::fs::write(&crt, cert.cert.pem()).unwrap();
    std::fs::write(&key, cert.signing_key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    if let Some((uid, gid)) = postgres::run_as() {
        for f in [&crt, &key] {
            std::os::unix::fs::chown(f, Some(uid), Some(gid)).unwrap();
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::Builder::new().prefix("consentry-pg-tls-").tempdir().unwrap().keep();
    let settings = [
        "fsync=off".to_owned(),
        "listen_addresses=127.0.0.1".to_owned(),
        format!("port={port}"),
        "ssl=on".to_owned(),
        format!("ssl_cert_file={}", crt.display()),
        format!("ssl_key_file={}", key.display()),
    ];
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
    let _pg = Postgres::start(&dir, &settings, &[]).unwrap();
    let base = format!("host=127.0.0.1 port={port} user=postgres dbname=postgres");

    // Over TLS, the server verified against the CA given: stores and reads back.
    let store = PostgresStore::connect(&format!("{base} sslmode=require sslrootcert={}", crt.display()), 2)
        .await
        .unwrap();
    let r = receipt(&id(77), 1_000, &["essential"]);
    assert_eq!(store.store(r.clone()).await, Ok(()));
    assert_eq!(store.get(&id(77)).await, Ok(Some(r)));
    // The connection really is encrypted.
    let (client, conn) =
        tokio_postgres::connect(&format!("{base} sslmode=disable"), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let encrypted: i64 = client
        .query_one("SELECT count(*) FROM pg_stat_ssl WHERE ssl AND pid <> pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(encrypted >= 1, "the store's connection uses TLS");
    // Without the CA, the self-signed certificate is refused: no silent
    // downgrade, no unverified connection.
    assert!(PostgresStore::connect(&format!("{base} sslmode=require"), 2).await.is_err());
}
