//! The store trait every receipt store implements, its error, and the two
//! stores that need no feature: [`NoReceipts`] and [`MemoryStore`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use consentry_core::ChoiceMethod;
use consentry_core::Receipt;

/// A boxed future, as the store methods return (keeps the trait object-safe).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ReceiptError>> + Send + 'a>>;

/// Why a receipt could not be stored or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiptError {
    /// The store is not reachable or refused the write; it may work later.
    Unavailable(String),
    /// A receipt with this id exists already with other content.
    Conflict,
    /// A stored receipt cannot be read back as it was written (a negative
    /// or out-of-range timestamp or revision, an unknown method): the store
    /// was changed behind Consentry's back. Never read as a default value.
    Corrupt(String),
}

impl std::fmt::Display for ReceiptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(why) => write!(f, "receipt store unavailable: {why}"),
            Self::Conflict => f.write_str("a different receipt with this id exists"),
            Self::Corrupt(what) => write!(f, "stored receipt unreadable: {what}"),
        }
    }
}

impl std::error::Error for ReceiptError {}

/// A stored timestamp, revision or method, read back or refused (by the
/// database stores).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn stored_fields(
    at: i64,
    revision: i64,
    method: &str,
) -> Result<(u64, u32, ChoiceMethod), String> {
    let at = u64::try_from(at).map_err(|_| format!("timestamp {at}"))?;
    let revision =
        u32::try_from(revision).ok().filter(|r| *r > 0).ok_or_else(|| format!("revision {revision}"))?;
    let method = ChoiceMethod::parse(method).ok_or_else(|| format!("method `{method}`"))?;
    Ok((at, revision, method))
}

/// Stores and finds receipts.
pub trait ReceiptStore: Send + Sync + 'static {
    /// Stores one receipt. Storing the same receipt twice is not an error.
    fn store(&self, receipt: Receipt) -> StoreFuture<'_, ()>;
    /// Finds a receipt by its id.
    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Receipt>>;
    /// Whether receipts are kept at all (the endpoint's `"receipt"` field).
    fn keeps_receipts(&self) -> bool {
        true
    }
    /// Receipts acknowledged but not yet in their final store (an
    /// `OutboxStore`'s outbox, feature `sqlite`), when the
    /// store has such a queue; `GET {prefix}health` reports it.
    fn waiting(&self) -> Option<u64> {
        None
    }
}

/// Keeps nothing: the default when no store is configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReceipts;

impl ReceiptStore for NoReceipts {
    fn store(&self, _receipt: Receipt) -> StoreFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
    fn get<'a>(&'a self, _id: &'a str) -> StoreFuture<'a, Option<Receipt>> {
        Box::pin(async { Ok(None) })
    }
    fn keeps_receipts(&self) -> bool {
        false
    }
}

/// Keeps receipts in memory: for tests and single-process demos (lost on
/// restart).
#[derive(Debug, Default)]
pub struct MemoryStore {
    receipts: Mutex<HashMap<String, Receipt>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every receipt, oldest first.
    pub fn all(&self) -> Vec<Receipt> {
        let mut v: Vec<Receipt> =
            self.receipts.lock().map(|m| m.values().cloned().collect()).unwrap_or_default();
        v.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        v
    }
}

impl ReceiptStore for MemoryStore {
    fn store(&self, receipt: Receipt) -> StoreFuture<'_, ()> {
        let result = match self.receipts.lock() {
            Ok(mut m) => match m.get(&receipt.id) {
                Some(existing) if existing != &receipt => Err(ReceiptError::Conflict),
                Some(_) => Ok(()),
                None => {
                    m.insert(receipt.id.clone(), receipt);
                    Ok(())
                }
            },
            Err(_) => Err(ReceiptError::Unavailable("memory store poisoned".into())),
        };
        Box::pin(async move { result })
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Receipt>> {
        let result = self
            .receipts
            .lock()
            .map(|m| m.get(id).cloned())
            .map_err(|_| ReceiptError::Unavailable("memory store poisoned".into()));
        Box::pin(async move { result })
    }
}

impl<T: ReceiptStore + ?Sized> ReceiptStore for std::sync::Arc<T> {
    fn store(&self, receipt: Receipt) -> StoreFuture<'_, ()> {
        (**self).store(receipt)
    }
    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Receipt>> {
        (**self).get(id)
    }
    fn keeps_receipts(&self) -> bool {
        (**self).keeps_receipts()
    }
    fn waiting(&self) -> Option<u64> {
        (**self).waiting()
    }
}
