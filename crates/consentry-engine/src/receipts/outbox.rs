//! A local, durable outbox in front of a receipt store (feature `sqlite`).
//!
//! Proof of consent must outlive an outage of the database that keeps it.
//! [`OutboxStore`] hands each receipt to its store (PostgreSQL, typically);
//! when that store is unavailable, the receipt is written to a SQLite file
//! beside the process (WAL, `synchronous=FULL`: acknowledged means on disk)
//! and the caller is told it was stored. A background task drains the
//! outbox into the store, oldest first, as soon as it answers again:
//!
//! - **ids kept**: a receipt is stored as it was made, never re-issued;
//! - **no duplicates**: a receipt is deleted from the outbox only after the
//!   store took it, and stores take the same receipt twice as once (the
//!   [`ReceiptStore`] contract), so a crash between the two repeats a write,
//!   never a row;
//! - **order kept**: while anything waits, new receipts queue behind it;
//! - **visible**: [`OutboxStore::pending`], `GET {prefix}health`
//!   (`receipts_waiting`), and a log line when receipts start waiting and
//!   when the outbox is drained.
//!
//! The outbox's SQLite calls run on tokio's blocking threads, never on the
//! async workers.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consentry_core::Receipt;
use rusqlite::{Connection, OptionalExtension, params};

use super::store::{ReceiptError, ReceiptStore, StoreFuture};

/// Receipts drained in one pass before the outbox is read again.
const DRAIN_BATCH: usize = 256;

/// A receipt store behind a durable local outbox; see the module docs.
///
/// ```no_run
/// # async fn run() -> Result<(), consentry_engine::ReceiptError> {
/// use consentry_engine::receipts::{OutboxStore, PostgresStore};
/// let postgres = PostgresStore::connect("host=/run/postgresql user=app", 16).await?;
/// let store = OutboxStore::open(postgres, "/var/lib/app/receipts-outbox.db")?;
/// # Ok(()) }
/// ```
pub struct OutboxStore {
    inner: Arc<Shared>,
}

struct Shared {
    primary: Box<dyn ReceiptStore>,
    queue: Mutex<Connection>,
    waiting: AtomicU64,
    wake: tokio::sync::Notify,
    path: PathBuf,
}

impl std::fmt::Debug for OutboxStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxStore")
            .field("path", &self.inner.path)
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> ReceiptError {
    ReceiptError::Unavailable(e.to_string())
}

impl OutboxStore {
    /// Puts an outbox at `path` (created if needed; receipts left in it by an
    /// earlier run are drained too) in front of `primary`, and starts the
    /// task that drains it. Must be called inside a tokio runtime.
    pub fn open(primary: impl ReceiptStore, path: impl AsRef<Path>) -> Result<Self, ReceiptError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| unavailable(format!("{}: {e}", dir.display())))?;
        }
        let conn = Connection::open(&path).map_err(|e| unavailable(format!("{}: {e}", path.display())))?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS outbox (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 id TEXT NOT NULL,
                 receipt TEXT NOT NULL
             ) STRICT;",
        )
        .map_err(unavailable)?;
        let waiting: u64 = conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0))
            .map_err(unavailable)?
            .try_into()
            .unwrap_or(0);
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| unavailable("the receipt outbox must be opened inside a tokio runtime"))?;
        let inner = Arc::new(Shared {
            primary: Box::new(primary),
            queue: Mutex::new(conn),
            waiting: AtomicU64::new(waiting),
            wake: tokio::sync::Notify::new(),
            path,
        });
        if waiting > 0 {
            tracing::warn!(waiting, outbox = %inner.path.display(), "receipts left in the outbox by an earlier run; draining");
        }
        runtime.spawn(drain(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    /// Receipts acknowledged and waiting in the outbox for the store.
    pub fn pending(&self) -> u64 {
        self.inner.waiting.load(Ordering::Relaxed)
    }

    /// Where the outbox is.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

impl Shared {
    /// Runs `f` on the outbox's connection on a blocking thread.
    async fn with_queue<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, ReceiptError> {
        let me = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let conn = me.queue.lock().map_err(|_| unavailable("outbox poisoned"))?;
            f(&conn).map_err(unavailable)
        })
        .await
        .map_err(unavailable)?
    }

    async fn enqueue(self: &Arc<Self>, receipt: Receipt) -> Result<(), ReceiptError> {
        let json = serde_json::to_string(&receipt).map_err(unavailable)?;
        let id = receipt.id;
        self.with_queue(move |c| {
            c.execute("INSERT INTO outbox (id, receipt) VALUES (?1, ?2)", params![id, json])
        })
        .await?;
        if self.waiting.fetch_add(1, Ordering::Relaxed) == 0 {
            tracing::warn!(outbox = %self.path.display(), "receipt store unavailable: receipts wait in the outbox");
        }
        self.wake.notify_one();
        Ok(())
    }

    async fn queued(self: &Arc<Self>, id: String) -> Result<Option<Receipt>, ReceiptError> {
        let json = self
            .with_queue(move |c| {
                c.query_row("SELECT receipt FROM outbox WHERE id = ?1 ORDER BY seq LIMIT 1", [id], |r| {
                    r.get::<_, String>(0)
                })
                .optional()
            })
            .await?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| ReceiptError::Corrupt(e.to_string()))).transpose()
    }
}

/// Moves receipts from the outbox to the store, oldest first, while the
/// store takes them; waits (a second, doubling to 30 s) while it does not.
/// Ends when the [`OutboxStore`] is dropped.
async fn drain(shared: std::sync::Weak<Shared>) {
    let mut pause = Duration::from_secs(1);
    loop {
        let Some(me) = shared.upgrade() else { return };
        if me.waiting.load(Ordering::Relaxed) == 0 {
            // Woken by a receipt queued, or every few seconds (to notice that
            // the store was dropped, and a wake-up that came too early).
            let _ = tokio::time::timeout(Duration::from_secs(5), me.wake.notified()).await;
            continue;
        }
        let batch = me
            .with_queue(|c| {
                let mut st = c.prepare("SELECT seq, receipt FROM outbox ORDER BY seq LIMIT ?1")?;
                let rows = st
                    .query_map([DRAIN_BATCH as i64], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await;
        let mut stalled = false;
        match batch {
            Ok(rows) => {
                for (seq, json) in rows {
                    let stored = match serde_json::from_str::<Receipt>(&json) {
                        Ok(receipt) => match me.primary.store(receipt).await {
                            Ok(()) => true,
                            Err(ReceiptError::Unavailable(why)) => {
                                tracing::debug!(%why, "outbox: the store is still unavailable");
                                stalled = true;
                                break;
                            }
                            // Not lost: the receipt stays in the log.
                            Err(e) => {
                                tracing::error!(error = %e, receipt = %json, "outbox: the store refused a receipt");
                                true
                            }
                        },
                        Err(e) => {
                            tracing::error!(error = %e, receipt = %json, "outbox: an unreadable entry");
                            true
                        }
                    };
                    if stored {
                        let deleted = me
                            .with_queue(move |c| c.execute("DELETE FROM outbox WHERE seq = ?1", [seq]))
                            .await;
                        if deleted.is_err() {
                            stalled = true;
                            break;
                        }
                        if me.waiting.fetch_sub(1, Ordering::Relaxed) == 1 {
                            tracing::info!("receipt outbox drained: every waiting receipt is in the store");
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "outbox: cannot read the outbox");
                stalled = true;
            }
        }
        drop(me);
        if stalled {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(30));
        } else {
            pause = Duration::from_secs(1);
        }
    }
}

impl ReceiptStore for OutboxStore {
    fn store(&self, receipt: Receipt) -> StoreFuture<'_, ()> {
        let shared = Arc::clone(&self.inner);
        Box::pin(async move {
            // While receipts wait, new ones queue behind them: order kept.
            if shared.waiting.load(Ordering::Relaxed) == 0 {
                match shared.primary.store(receipt.clone()).await {
                    Err(ReceiptError::Unavailable(why)) => {
                        tracing::debug!(%why, "receipt store unavailable; the receipt goes to the outbox");
                    }
                    done => return done,
                }
            }
            shared.enqueue(receipt).await
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Receipt>> {
        let shared = Arc::clone(&self.inner);
        Box::pin(async move {
            let from_store = shared.primary.get(id).await;
            if let Ok(Some(r)) = from_store {
                return Ok(Some(r));
            }
            match shared.queued(id.to_owned()).await? {
                Some(r) => Ok(Some(r)),
                None => from_store,
            }
        })
    }

    fn waiting(&self) -> Option<u64> {
        Some(self.pending())
    }
}
