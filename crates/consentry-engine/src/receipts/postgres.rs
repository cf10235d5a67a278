//! Receipts in PostgreSQL (feature `postgres`), for sites with several app
//! servers sharing one database.
//!
//! A connection pool bounds the load on the database; a request whose
//! receipt cannot get a connection in time gets an error at once (the
//! endpoint still sets the cookie and says `"receipt": false`). A receipt is
//! acknowledged only after PostgreSQL committed it.

use std::time::Duration;

use consentry_core::{Receipt, SignalsSeen};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Timeouts};
use tokio_postgres::NoTls;

use super::store::{ReceiptError, ReceiptStore, StoreFuture};

const MIGRATIONS: &[&str] = &[
    // 1: the receipts table (same columns as the SQLite store).
    "CREATE TABLE consentry_receipts (
        id TEXT PRIMARY KEY,
        at BIGINT NOT NULL,
        revision BIGINT NOT NULL,
        policy_hash TEXT NOT NULL,
        granted TEXT NOT NULL,
        denied TEXT NOT NULL,
        dnt BOOLEAN NOT NULL,
        gpc BOOLEAN NOT NULL,
        method TEXT NOT NULL
    );
    CREATE INDEX consentry_receipts_at ON consentry_receipts (at);",
];

const SELECT: &str =
    "SELECT id, at, revision, policy_hash, granted, denied, dnt, gpc, method FROM consentry_receipts";

fn unavailable(e: impl std::fmt::Display) -> ReceiptError {
    ReceiptError::Unavailable(e.to_string())
}

/// Receipts in a PostgreSQL database.
pub struct PostgresStore {
    pool: Pool,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("status", &self.pool.status()).finish()
    }
}

fn row_to_receipt(r: &tokio_postgres::Row) -> Result<Receipt, ReceiptError> {
    let get_s = |i: usize| r.try_get::<_, String>(i).map_err(unavailable);
    let split = |s: String| s.split(' ').filter(|x| !x.is_empty()).map(str::to_owned).collect();
    let (at, revision, method) = super::store::stored_fields(
        r.try_get::<_, i64>(1).map_err(unavailable)?,
        r.try_get::<_, i64>(2).map_err(unavailable)?,
        &get_s(8)?,
    )
    .map_err(ReceiptError::Corrupt)?;
    Ok(Receipt {
        id: get_s(0)?,
        at,
        revision,
        policy_hash: get_s(3)?,
        granted: split(get_s(4)?),
        denied: split(get_s(5)?),
        signals: SignalsSeen {
            dnt: r.try_get(6).map_err(unavailable)?,
            gpc: r.try_get(7).map_err(unavailable)?,
        },
        method,
    })
}

/// The configuration without its `sslrootcert=PATH` (a libpq key that
/// tokio-postgres does not know), and that path. Key=value form only.
fn take_sslrootcert(config: &str) -> (String, Option<String>) {
    let mut path = None;
    let rest: Vec<&str> = config
        .split_whitespace()
        .filter(|kv| match kv.strip_prefix("sslrootcert=") {
            Some(p) => {
                path = Some(p.trim_matches('\'').to_owned());
                false
            }
            None => true,
        })
        .collect();
    (rest.join(" "), path)
}

/// A TLS connector that verifies the server against Mozilla's roots and,
/// when given, the certificates of a PEM file.
fn tls(root_cert: Option<&str>) -> Result<tokio_postgres_rustls::MakeRustlsConnect, ReceiptError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = root_cert {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| unavailable(format!("sslrootcert {path}: {e}")))?;
        for cert in certs {
            let cert = cert.map_err(|e| unavailable(format!("sslrootcert {path}: {e}")))?;
            roots.add(cert).map_err(|e| unavailable(format!("sslrootcert {path}: {e}")))?;
        }
    }
    // ring: no build dependency beyond a C compiler. (rustls deprecates its
    // default provider for lacking post-quantum key exchange; the link to a
    // database is not where that matters first.)
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(unavailable)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

fn clamp(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl PostgresStore {
    /// Connects with a libpq-style configuration (`host=/run/postgresql
    /// user=app dbname=app`, or a `postgresql://` URL), runs the schema
    /// migrations (serialised by an advisory lock, so several app servers
    /// may start at once), and keeps a pool of `pool_size` connections.
    ///
    /// Each statement may run for 5 s (`statement_timeout`) unless the
    /// configuration sets its own `options`: a database that hangs must not
    /// hold a consent request (put an `OutboxStore`, feature `sqlite`, in
    /// front to keep what it cannot take).
    ///
    /// TLS, for a database reached over the network (a managed one): add
    /// `sslmode=require` (the connection is then encrypted, and the
    /// server's certificate verified against Mozilla's roots), and
    /// `sslrootcert=/path/ca.pem` for a CA of your own (a cloud provider's).
    /// Without `sslmode`, or with `sslmode=disable`, no TLS is attempted
    /// (a Unix socket, or a database on the same host).
    pub async fn connect(config: &str, pool_size: usize) -> Result<Self, ReceiptError> {
        let (config, root_cert) = take_sslrootcert(config);
        let mut pg: tokio_postgres::Config = config.parse().map_err(unavailable)?;
        if pg.get_options().is_none() {
            pg.options("-c statement_timeout=5000");
        }
        let asked_for_tls =
            config.contains("sslmode") && pg.get_ssl_mode() != tokio_postgres::config::SslMode::Disable;
        let recycling = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = if asked_for_tls {
            Manager::from_config(pg, tls(root_cert.as_deref())?, recycling)
        } else {
            if root_cert.is_some() {
                return Err(ReceiptError::Unavailable("sslrootcert needs sslmode=require".into()));
            }
            Manager::from_config(pg, NoTls, recycling)
        };
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .timeouts(Timeouts {
                wait: Some(Duration::from_secs(2)),
                create: Some(Duration::from_secs(5)),
                recycle: Some(Duration::from_secs(5)),
            })
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(unavailable)?;
        let mut client = pool.get().await.map_err(unavailable)?;
        let tx = client.transaction().await.map_err(unavailable)?;
        tx.execute("SELECT pg_advisory_xact_lock(7411913)", &[]).await.map_err(unavailable)?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS consentry_schema (version INT NOT NULL)")
            .await
            .map_err(unavailable)?;
        let version: i32 = tx
            .query_opt("SELECT version FROM consentry_schema", &[])
            .await
            .map_err(unavailable)?
            .map(|r| r.get(0))
            .unwrap_or(0);
        let version = usize::try_from(version).unwrap_or(0);
        if version > MIGRATIONS.len() {
            return Err(ReceiptError::Unavailable(format!(
                "the receipts schema has version {version}, newer than this build knows ({})",
                MIGRATIONS.len()
            )));
        }
        for sql in &MIGRATIONS[version..] {
            tx.batch_execute(sql).await.map_err(unavailable)?;
        }
        let new_version = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
        tx.execute("DELETE FROM consentry_schema", &[]).await.map_err(unavailable)?;
        tx.execute("INSERT INTO consentry_schema (version) VALUES ($1)", &[&new_version])
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(Self { pool })
    }

    async fn store_inner(&self, r: Receipt) -> Result<(), ReceiptError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let inserted = client
            .execute(
                "INSERT INTO consentry_receipts (id, at, revision, policy_hash, granted, denied, dnt, gpc, method)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
                &[
                    &r.id,
                    &clamp(r.at),
                    &i64::from(r.revision),
                    &r.policy_hash,
                    &r.granted.join(" "),
                    &r.denied.join(" "),
                    &r.signals.dnt,
                    &r.signals.gpc,
                    &r.method.as_str(),
                ],
            )
            .await
            .map_err(unavailable)?;
        if inserted == 1 {
            return Ok(());
        }
        let existing =
            client.query_opt(&format!("{SELECT} WHERE id = $1"), &[&r.id]).await.map_err(unavailable)?;
        match existing.map(|row| row_to_receipt(&row)).transpose()? {
            Some(e) if e == r => Ok(()),
            _ => Err(ReceiptError::Conflict),
        }
    }

    async fn get_inner(&self, id: &str) -> Result<Option<Receipt>, ReceiptError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let row = client.query_opt(&format!("{SELECT} WHERE id = $1"), &[&id]).await.map_err(unavailable)?;
        row.map(|r| row_to_receipt(&r)).transpose()
    }

    /// Every receipt made in `[since, until)`, oldest first, as JSON Lines.
    pub async fn export_jsonl(
        &self,
        since: u64,
        until: u64,
        out: &mut dyn std::io::Write,
    ) -> Result<u64, ReceiptError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        let rows = client
            .query(
                &format!("{SELECT} WHERE at >= $1 AND at < $2 ORDER BY at, id"),
                &[&clamp(since), &clamp(until)],
            )
            .await
            .map_err(unavailable)?;
        let mut n = 0;
        for row in rows {
            let line = serde_json::to_string(&row_to_receipt(&row)?).map_err(unavailable)?;
            writeln!(out, "{line}").map_err(unavailable)?;
            n += 1;
        }
        Ok(n)
    }

    /// Deletes receipts made before `before` (Unix seconds).
    pub async fn delete_before(&self, before: u64) -> Result<u64, ReceiptError> {
        let client = self.pool.get().await.map_err(unavailable)?;
        client
            .execute("DELETE FROM consentry_receipts WHERE at < $1", &[&clamp(before)])
            .await
            .map_err(unavailable)
    }
}

impl ReceiptStore for PostgresStore {
    fn store(&self, receipt: Receipt) -> StoreFuture<'_, ()> {
        Box::pin(self.store_inner(receipt))
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Receipt>> {
        Box::pin(self.get_inner(id))
    }
}
