//! Where receipts of consent choices go.
//!
//! The endpoint hands every choice to a [`ReceiptStore`]. A store that fails
//! never breaks the page: the cookie is still set and the endpoint answers
//! `"receipt": false` (`receipt_error: "store_unavailable"`). An
//! [`OutboxStore`] in front of a store keeps what it cannot take in a local
//! durable outbox until it can, so an outage delays proof but loses none.

pub use consentry_core::{ChoiceMethod, Receipt, SignalsSeen};

mod store;
pub use store::{MemoryStore, NoReceipts, ReceiptError, ReceiptStore, StoreFuture};

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
mod outbox;
#[cfg(feature = "sqlite")]
pub use outbox::OutboxStore;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
pub use sqlite::{DEFAULT_QUEUE, SqliteStore, StoreStats};
