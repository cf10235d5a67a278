//! What is particular to the SQLite receipt store: persistence across
//! reopening, batching, the bounded queue, export and retention, and
//! durability under SIGKILL. The behaviour every store shares is in
//! `receipt_stores.rs`.

// Test code: a panic is the test failing (clippy.toml allows this in
// `#[test]` functions; this extends it to the helpers beside them).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use consentry_core::{ChoiceMethod, Receipt, SignalsSeen};
use consentry_tower::receipts::SqliteStore;
use consentry_tower::{ReceiptError, ReceiptStore};

fn receipt(id: &str, at: u64, granted: &[&str]) -> Receipt {
    Receipt {
        id: id.to_owned(),
        at,
        revision: 3,
        policy_hash: "ab".repeat(32),
        granted: granted.iter().map(|s| (*s).to_owned()).collect(),
        denied: vec!["advertising".into()],
        signals: SignalsSeen { dnt: false, gpc: true },
        method: ChoiceMethod::Custom,
    }
}

fn id(n: u32) -> String {
    format!("{n:0>22}")
}

#[tokio::test]
async fn a_stored_receipt_is_found_again_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/receipts.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        store.store(receipt(&id(1), 1_000, &["essential", "analytics"])).await.unwrap();
        assert_eq!(
            store.get(&id(1)).await.ok().flatten().map(|r| r.granted),
            Some(vec!["essential".into(), "analytics".into()])
        );
        assert_eq!(store.get("nope").await.ok().flatten(), None);
    }
    let again = SqliteStore::open(&path).unwrap();
    assert_eq!(
        again.get(&id(1)).await.ok().flatten(),
        Some(receipt(&id(1), 1_000, &["essential", "analytics"]))
    );
}

#[tokio::test]
async fn a_burst_is_committed_in_batches_and_every_receipt_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("r.db")).unwrap());
    let mut tasks = Vec::new();
    for n in 0..2000u32 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store.store(receipt(&id(10_000 + n), u64::from(n), &["essential"])).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), Ok(()));
    }
    let stats = store.stats();
    assert_eq!(stats.stored.load(std::sync::atomic::Ordering::Relaxed), 2000);
    let batches = stats.batches.load(std::sync::atomic::Ordering::Relaxed);
    assert!(batches < 2000, "writes were batched ({batches} transactions)");
}

#[tokio::test]
async fn a_full_queue_refuses_at_once_instead_of_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::with_queue(dir.path().join("r.db"), 1).unwrap();
    // Queue many without awaiting: the writer cannot drain a queue of one that fast.
    let futures: Vec<_> =
        (0..200u32).map(|n| store.store(receipt(&id(20_000 + n), 1, &["essential"]))).collect();
    let mut refused = 0;
    for f in futures {
        if let Err(ReceiptError::Unavailable(why)) = f.await {
            assert!(why.contains("queue full"));
            refused += 1;
        }
    }
    assert!(refused > 0, "some were refused rather than blocking the caller");
    assert_eq!(store.stats().refused_queue_full.load(std::sync::atomic::Ordering::Relaxed), refused);
}

#[tokio::test]
async fn export_writes_json_lines_between_two_dates_and_retention_deletes_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let store = SqliteStore::open(&path).unwrap();
    for (n, at) in [(1, 100), (2, 200), (3, 300)] {
        store.store(receipt(&id(30 + n), at, &["essential"])).await.unwrap();
    }
    let mut out = Vec::new();
    let n = SqliteStore::export_jsonl(&path, 150, 301, &mut out).unwrap();
    assert_eq!(n, 2);
    let lines: Vec<Receipt> = String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.iter().map(|r| r.at).collect::<Vec<_>>(), [200, 300]);
    assert_eq!(SqliteStore::delete_before(&path, 250).unwrap(), 2);
    let mut out = Vec::new();
    assert_eq!(SqliteStore::export_jsonl(&path, 0, u64::MAX, &mut out).unwrap(), 1);
}

#[tokio::test]
#[ignore = "child process of every_acknowledged_receipt_survives_sigkill"]
async fn child_writer_for_the_kill_test() {
    let Ok(path) = std::env::var("CONSENTRY_KILL_TEST_DB") else { return };
    let store = SqliteStore::open(&path).unwrap();
    for n in 0.. {
        let rid = id(40_000_000 + n);
        if store.store(receipt(&rid, u64::from(n), &["essential"])).await.is_ok() {
            println!("ACK {rid}");
        }
    }
}

#[test]
fn every_acknowledged_receipt_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kill.db");
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "sqlite::child_writer_for_the_kill_test",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CONSENTRY_KILL_TEST_DB", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().expect("stdout");
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(rid) = line.strip_prefix("ACK ") {
            acked.push(rid.to_owned());
            if acked.len() == 300 {
                // SIGKILL mid-stream: no destructor, no flush runs.
                let _ = child.kill();
                break;
            }
        }
    }
    let _ = child.wait();
    assert_eq!(acked.len(), 300, "the child acknowledged receipts before it was killed");
    let mut out = Vec::new();
    SqliteStore::export_jsonl(&path, 0, u64::MAX, &mut out).unwrap();
    let present: std::collections::HashSet<String> = String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<Receipt>(l).ok())
        .map(|r| r.id)
        .collect();
    let missing: Vec<&String> = acked.iter().filter(|id| !present.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged receipts lost: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    println!("kill -9: {} acknowledged, {} present after the kill", acked.len(), present.len());
}

#[tokio::test]
async fn a_configured_retention_deletes_old_receipts_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    {
        let store = SqliteStore::open(&path).unwrap();
        store.store(receipt(&id(50), now - 400 * 86_400, &["essential"])).await.unwrap();
        store.store(receipt(&id(51), now - 10 * 86_400, &["essential"])).await.unwrap();
    }
    let store = SqliteStore::with_retention(&path, std::time::Duration::from_secs(365 * 86_400)).unwrap();
    // The writer prunes before taking any receipt: one write makes sure it ran.
    store.store(receipt(&id(52), now, &["essential"])).await.unwrap();
    assert_eq!(store.get(&id(50)).await, Ok(None), "past retention: deleted");
    assert!(store.get(&id(51)).await.ok().flatten().is_some(), "within retention: kept");
    assert_eq!(store.stats().pruned.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_receipt_changed_behind_the_stores_back_is_an_error_never_a_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("receipts.db");
    let store = SqliteStore::open(&path).unwrap();
    for n in 1..=3 {
        store.store(receipt(&id(n), 1_000, &["essential"])).await.unwrap();
    }
    let raw = rusqlite::Connection::open(&path).unwrap();
    for (sql, n) in [
        ("UPDATE receipts SET at = -5 WHERE id = ?1", 1),
        ("UPDATE receipts SET revision = 0 WHERE id = ?1", 2),
        ("UPDATE receipts SET method = 'whatever' WHERE id = ?1", 3),
    ] {
        raw.execute(sql, [id(n)]).unwrap();
    }
    for (n, what) in [(1, "timestamp -5"), (2, "revision 0"), (3, "method `whatever`")] {
        match store.get(&id(n)).await {
            Err(ReceiptError::Corrupt(why)) => assert!(why.contains(what), "{why}"),
            other => panic!("receipt {n}: {other:?}"),
        }
    }
}
