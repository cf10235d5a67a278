//! Receipts in an embedded SQLite database (feature `sqlite`).
//!
//! One writer thread owns the write connection. Requests hand it receipts
//! through a bounded queue and wait for the commit: a burst never blocks
//! request handling (a full queue answers at once with an error, and the
//! endpoint still sets the cookie), and receipts that arrive together are
//! committed in one transaction. The database runs in WAL mode with
//! `synchronous=FULL`, so a receipt acknowledged to the caller survives a
//! crash or a power cut. Transient errors (a locked or briefly failing
//! database) are retried before the receipt is reported as not stored.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use consentry_core::{Receipt, SignalsSeen};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::store::{ReceiptError, ReceiptStore, StoreFuture};

/// Receipts waiting for the writer before new ones are refused.
pub const DEFAULT_QUEUE: usize = 4096;
/// Most receipts committed in one transaction.
const BATCH: usize = 512;
/// Attempts at a batch before its receipts are reported as not stored.
const ATTEMPTS: u32 = 4;

const MIGRATIONS: &[&str] = &[
    // 1: the receipts table.
    "CREATE TABLE receipts (
        id TEXT PRIMARY KEY NOT NULL,
        at INTEGER NOT NULL,
        revision INTEGER NOT NULL,
        policy_hash TEXT NOT NULL,
        granted TEXT NOT NULL,
        denied TEXT NOT NULL,
        dnt INTEGER NOT NULL,
        gpc INTEGER NOT NULL,
        method TEXT NOT NULL
    ) STRICT;
    CREATE INDEX receipts_at ON receipts (at);",
];

type Reply = tokio::sync::oneshot::Sender<Result<(), ReceiptError>>;

/// Counters a site can export to its monitoring.
#[derive(Debug, Default)]
pub struct StoreStats {
    /// Receipts committed.
    pub stored: AtomicU64,
    /// Receipts refused because the queue was full.
    pub refused_queue_full: AtomicU64,
    /// Receipts that could not be written after every retry.
    pub failed: AtomicU64,
    /// Transactions committed.
    pub batches: AtomicU64,
    /// Receipts deleted because their retention period had passed.
    pub pruned: AtomicU64,
}

/// Receipts in a SQLite file next to the app.
///
/// ```no_run
/// use consentry_engine::{Engine, receipts::SqliteStore};
/// # fn policy() -> consentry_core::Policy { unimplemented!() }
/// let engine = Engine::builder(policy()).receipts(SqliteStore::open("receipts.db")?).build();
/// # Ok::<(), consentry_engine::ReceiptError>(())
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    queue: mpsc::SyncSender<(Receipt, Reply)>,
    reader: Arc<Mutex<Connection>>,
    stats: Arc<StoreStats>,
    path: PathBuf,
}

fn unavailable(e: impl std::fmt::Display) -> ReceiptError {
    ReceiptError::Unavailable(e.to_string())
}

fn open_connection(path: &Path) -> Result<Connection, ReceiptError> {
    let conn = Connection::open(path).map_err(unavailable)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(unavailable)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(unavailable)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(unavailable)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), ReceiptError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(unavailable)?;
    let version = usize::try_from(version).unwrap_or(0);
    if version > MIGRATIONS.len() {
        return Err(ReceiptError::Unavailable(format!(
            "the receipts database has schema version {version}, newer than this build knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction().map_err(unavailable)?;
        tx.execute_batch(sql).map_err(unavailable)?;
        tx.pragma_update(None, "user_version", i64::try_from(i + 1).unwrap_or(i64::MAX))
            .map_err(unavailable)?;
        tx.commit().map_err(unavailable)?;
    }
    Ok(())
}

fn ids(list: &[String]) -> String {
    list.join(" ")
}

fn split_ids(s: &str) -> Vec<String> {
    s.split(' ').filter(|x| !x.is_empty()).map(str::to_owned).collect()
}

fn row_to_receipt(r: &rusqlite::Row<'_>) -> rusqlite::Result<Receipt> {
    let granted: String = r.get(4)?;
    let denied: String = r.get(5)?;
    let method: String = r.get(8)?;
    let (at, revision, method) =
        super::store::stored_fields(r.get(1)?, r.get(2)?, &method).map_err(|what| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Integer, what.into())
        })?;
    Ok(Receipt {
        id: r.get(0)?,
        at,
        revision,
        policy_hash: r.get(3)?,
        granted: split_ids(&granted),
        denied: split_ids(&denied),
        signals: SignalsSeen { dnt: r.get(6)?, gpc: r.get(7)? },
        method,
    })
}

/// A read that failed: a receipt that does not read back is corrupt, the
/// rest is the store being unavailable.
fn read_error(e: rusqlite::Error) -> ReceiptError {
    match e {
        rusqlite::Error::FromSqlConversionFailure(_, _, what) => ReceiptError::Corrupt(what.to_string()),
        e => unavailable(e),
    }
}

const SELECT: &str = "SELECT id, at, revision, policy_hash, granted, denied, dnt, gpc, method FROM receipts";

/// Writes one receipt inside the writer's transaction: an identical
/// receipt already there is fine, a different one with the same id is a
/// conflict.
fn write_one(tx: &rusqlite::Transaction<'_>, r: &Receipt) -> rusqlite::Result<Result<(), ReceiptError>> {
    let inserted = tx.execute(
        "INSERT INTO receipts (id, at, revision, policy_hash, granted, denied, dnt, gpc, method)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
        params![
            r.id,
            i64::try_from(r.at).unwrap_or(i64::MAX),
            i64::from(r.revision),
            r.policy_hash,
            ids(&r.granted),
            ids(&r.denied),
            r.signals.dnt,
            r.signals.gpc,
            r.method.as_str()
        ],
    )?;
    if inserted == 1 {
        return Ok(Ok(()));
    }
    let existing = tx.query_row(&format!("{SELECT} WHERE id = ?1"), [&r.id], row_to_receipt).optional()?;
    Ok(if existing.as_ref() == Some(r) { Ok(()) } else { Err(ReceiptError::Conflict) })
}

/// How often the writer applies the retention period while idle.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn prune(conn: &Connection, retention: Option<Duration>, stats: &StoreStats) {
    let Some(keep) = retention else { return };
    let before = now().saturating_sub(keep.as_secs());
    match conn.execute("DELETE FROM receipts WHERE at < ?1", [clamp(before)]) {
        Ok(n) => {
            stats.pruned.fetch_add(n as u64, Ordering::Relaxed);
        }
        Err(e) => tracing::warn!(error = %e, "could not delete receipts past their retention period"),
    }
}

fn writer(
    mut conn: Connection,
    queue: mpsc::Receiver<(Receipt, Reply)>,
    stats: Arc<StoreStats>,
    retention: Option<Duration>,
) {
    prune(&conn, retention, &stats);
    let mut last_prune = std::time::Instant::now();
    loop {
        let first = match queue.recv_timeout(PRUNE_EVERY) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                prune(&conn, retention, &stats);
                last_prune = std::time::Instant::now();
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        };
        if last_prune.elapsed() >= PRUNE_EVERY {
            prune(&conn, retention, &stats);
            last_prune = std::time::Instant::now();
        }
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut outcome: Option<Vec<Result<(), ReceiptError>>> = None;
        let mut last_error = String::new();
        for attempt in 0..ATTEMPTS {
            let result = (|| -> rusqlite::Result<Vec<Result<(), ReceiptError>>> {
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let mut results = Vec::with_capacity(batch.len());
                for (r, _) in &batch {
                    results.push(write_one(&tx, r)?);
                }
                tx.commit()?;
                Ok(results)
            })();
            match result {
                Ok(r) => {
                    outcome = Some(r);
                    break;
                }
                Err(e) => {
                    last_error = e.to_string();
                    tracing::warn!(error = %e, attempt, "receipt batch not committed; retrying");
                    std::thread::sleep(Duration::from_millis(25 << attempt));
                }
            }
        }
        match outcome {
            Some(results) => {
                stats.batches.fetch_add(1, Ordering::Relaxed);
                for ((_, reply), result) in batch.into_iter().zip(results) {
                    if result.is_ok() {
                        stats.stored.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = reply.send(result);
                }
            }
            None => {
                for (_, reply) in batch {
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    let _ = reply.send(Err(ReceiptError::Unavailable(last_error.clone())));
                }
            }
        }
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, applies the schema
    /// migrations, and starts the writer with a queue of [`DEFAULT_QUEUE`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReceiptError> {
        Self::with_queue(path, DEFAULT_QUEUE)
    }

    /// Like [`open`](Self::open) with a queue of `capacity` receipts.
    pub fn with_queue(path: impl AsRef<Path>, capacity: usize) -> Result<Self, ReceiptError> {
        Self::with_options(path, capacity, None)
    }

    /// Like [`open`](Self::open), deleting receipts older than `retention`
    /// (e.g. the limitation period for proving consent in your jurisdiction)
    /// at start-up and then every hour.
    pub fn with_retention(path: impl AsRef<Path>, retention: Duration) -> Result<Self, ReceiptError> {
        Self::with_options(path, DEFAULT_QUEUE, Some(retention))
    }

    fn with_options(
        path: impl AsRef<Path>,
        capacity: usize,
        retention: Option<Duration>,
    ) -> Result<Self, ReceiptError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| unavailable(format!("{}: {e}", dir.display())))?;
        }
        let mut conn = open_connection(&path)?;
        migrate(&mut conn)?;
        let reader = open_connection(&path)?;
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        let stats = Arc::new(StoreStats::default());
        let writer_stats = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("consentry-receipts".into())
            .spawn(move || writer(conn, rx, writer_stats, retention))
            .map_err(unavailable)?;
        Ok(Self { queue: tx, reader: Arc::new(Mutex::new(reader)), stats, path })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counters: stored, refused, failed, batches.
    pub fn stats(&self) -> &StoreStats {
        &self.stats
    }

    /// Every receipt made in `[since, until)` (Unix seconds), oldest first,
    /// written as JSON Lines. Returns how many were written.
    pub fn export_jsonl(
        path: impl AsRef<Path>,
        since: u64,
        until: u64,
        out: &mut dyn std::io::Write,
    ) -> Result<u64, ReceiptError> {
        let conn = Connection::open_with_flags(path.as_ref(), OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| unavailable(format!("{}: {e}", path.as_ref().display())))?;
        let mut stmt = conn
            .prepare(&format!("{SELECT} WHERE at >= ?1 AND at < ?2 ORDER BY at, id"))
            .map_err(unavailable)?;
        let rows =
            stmt.query_map(params![clamp(since), clamp(until)], row_to_receipt).map_err(unavailable)?;
        let mut n = 0;
        for row in rows {
            let r = row.map_err(read_error)?;
            let line = serde_json::to_string(&r).map_err(unavailable)?;
            writeln!(out, "{line}").map_err(unavailable)?;
            n += 1;
        }
        Ok(n)
    }

    /// Deletes receipts made before `before` (Unix seconds): the retention
    /// period has passed. Returns how many were deleted.
    pub fn delete_before(path: impl AsRef<Path>, before: u64) -> Result<u64, ReceiptError> {
        let conn = open_connection(path.as_ref())?;
        let n = conn.execute("DELETE FROM receipts WHERE at < ?1", [clamp(before)]).map_err(unavailable)?;
        Ok(n as u64)
    }
}

fn clamp(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl ReceiptStore for SqliteStore {
    fn store(&self, receipt: Receipt) -> StoreFuture<'_, ()> {
        let (reply, done) = tokio::sync::oneshot::channel();
        let queued = match self.queue.try_send((receipt, reply)) {
            Ok(()) => Ok(done),
            Err(mpsc::TrySendError::Full(_)) => {
                self.stats.refused_queue_full.fetch_add(1, Ordering::Relaxed);
                Err(ReceiptError::Unavailable("receipt queue full".into()))
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                Err(ReceiptError::Unavailable("receipt writer stopped".into()))
            }
        };
        Box::pin(async move {
            match queued {
                Ok(done) => done
                    .await
                    .unwrap_or_else(|_| Err(ReceiptError::Unavailable("receipt writer stopped".into()))),
                Err(e) => Err(e),
            }
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Receipt>> {
        // On one of tokio's blocking threads (the reader's lock may be held
        // by another lookup, and a disk may be slow): never on an async worker.
        let reader = Arc::clone(&self.reader);
        let id = id.to_owned();
        let lookup = move || {
            reader.lock().map_err(|_| ReceiptError::Unavailable("reader poisoned".into())).and_then(|conn| {
                conn.query_row(&format!("{SELECT} WHERE id = ?1"), [id], row_to_receipt)
                    .optional()
                    .map_err(read_error)
            })
        };
        Box::pin(async move {
            match tokio::runtime::Handle::try_current() {
                Ok(_) => tokio::task::spawn_blocking(lookup).await.map_err(unavailable)?,
                Err(_) => lookup(),
            }
        })
    }
}
