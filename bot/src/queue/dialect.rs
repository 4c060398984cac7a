//! What really differs between SQLite and PostgreSQL for the job store:
//! connecting, migrations, how a writing transaction begins, row locks on a
//! claim, the larger-of-two function and how a list of values is bound as
//! one parameter. Both pools close a connection given back still inside a
//! transaction (a commit that failed on a full disk leaves one so, and every
//! later `BEGIN` on it would fail) instead of lending it out again.
//! Everything else is the same `$N` SQL in [`super::sql`].
//!
//! Must never: hold a query of its own beyond these fragments (a statement
//! written here for one database is a statement the other lacks), or open a
//! store anywhere but where [`super::open`] asks.

use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use gitkeeper_runner_protocol::RequestId;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgQueryResult};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{Connection, Database, Encode, IntoArguments, Pool, Postgres, Sqlite, Type};

use super::StoreError;

/// A database the job store runs on, with what its SQL says differently.
pub trait Dialect:
    Database<Arguments: IntoArguments<Self>, Connection: Migrate, QueryResult: Affected>
{
    /// Which backend this is, for logs and readiness.
    const BACKEND: &'static str;
    /// How a transaction that writes begins; `None` is the driver's plain
    /// `BEGIN`. SQLite takes the write lock up front (`BEGIN IMMEDIATE`), so
    /// two writers never deadlock upgrading a read lock.
    const BEGIN_WRITE: Option<&'static str>;
    /// True when the database lets one writer in at a time (SQLite): one
    /// commit in flight is then all there can be.
    const ONE_WRITER: bool;
    /// Ends the subquery that picks the row a claim takes: PostgreSQL locks it
    /// and skips rows another claim holds; SQLite serializes writers anyway.
    const SKIP_LOCKED: &'static str;
    /// The larger of two values (`MAX(a, b)` / `GREATEST(a, b)`).
    const GREATEST: &'static str;
    /// Membership in the list bound as `$2` (see [`Dialect::id_list`]), to
    /// follow the tested expression: `x IN (…)` / `x = ANY($2)`.
    const IN_LIST_2: &'static str;
    /// A list of ids as one bound value.
    type IdList: for<'q> Encode<'q, Self> + Type<Self> + Send;
    /// A list of names as one bound value.
    type NameList: for<'q> Encode<'q, Self> + Type<Self> + Send;

    /// `ids` as one value for [`Dialect::IN_LIST_2`].
    fn id_list(ids: &[RequestId]) -> Self::IdList;
    /// `names` as one value for [`Dialect::IN_LIST_2`].
    fn name_list(names: &[String]) -> Result<Self::NameList, StoreError>;
    /// The file the database lives in, when it is one (SQLite).
    fn database_file(url: &str) -> Option<std::path::PathBuf>;
    /// This dialect's migrations (`bot/migrations/<dialect>`).
    fn migrator() -> &'static Migrator;
    /// Open a pool on the database `url` names, creating what is missing.
    fn connect(
        url: &str,
        max_connections: Option<u32>,
    ) -> impl Future<Output = Result<Pool<Self>, StoreError>> + Send;
}

/// How many rows a statement changed; each driver has it, but not as a trait.
pub trait Affected {
    /// Rows inserted, updated or deleted.
    fn rows_affected(&self) -> u64;
}

impl Affected for SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        SqliteQueryResult::rows_affected(self)
    }
}

impl Affected for PgQueryResult {
    fn rows_affected(&self) -> u64 {
        PgQueryResult::rows_affected(self)
    }
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The default: one file under the data dir, WAL mode.
impl Dialect for Sqlite {
    const BACKEND: &'static str = "sqlite";
    const BEGIN_WRITE: Option<&'static str> = Some("BEGIN IMMEDIATE");
    const ONE_WRITER: bool = true;
    const SKIP_LOCKED: &'static str = "";
    const GREATEST: &'static str = "MAX";
    const IN_LIST_2: &'static str = "IN (SELECT value FROM json_each($2))";
    /// A JSON array, read with `json_each`.
    type IdList = String;
    type NameList = String;

    fn id_list(ids: &[RequestId]) -> String {
        serde_json::to_string(&ids.iter().map(|id| id.0).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into())
    }

    fn name_list(names: &[String]) -> Result<String, StoreError> {
        super::runners::encode("model list", &names)
    }

    fn database_file(url: &str) -> Option<std::path::PathBuf> {
        let options = SqliteConnectOptions::from_str(url).ok()?;
        let path = options.get_filename();
        (!path.as_os_str().is_empty() && path != Path::new(":memory:")).then(|| path.to_path_buf())
    }

    fn migrator() -> &'static Migrator {
        &SQLITE_MIGRATIONS
    }

    async fn connect(url: &str, _max_connections: Option<u32>) -> Result<Pool<Sqlite>, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|source| StoreError::Connect {
                url: url.into(),
                source,
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        if let Some(parent) = Path::new(options.get_filename()).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|source| StoreError::DataDir {
                    path: parent.display().to_string(),
                    source,
                })?;
            }
        }
        SqlitePoolOptions::new()
            .max_connections(4)
            .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect {
                url: url.into(),
                source,
            })
    }
}

/// For several bot replicas sharing one queue.
impl Dialect for Postgres {
    const BACKEND: &'static str = "postgres";
    const BEGIN_WRITE: Option<&'static str> = None;
    const ONE_WRITER: bool = false;
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    const GREATEST: &'static str = "GREATEST";
    const IN_LIST_2: &'static str = "= ANY($2)";
    /// Arrays, bound natively.
    type IdList = Vec<i64>;
    type NameList = Vec<String>;

    fn id_list(ids: &[RequestId]) -> Vec<i64> {
        ids.iter().map(|id| id.0).collect()
    }

    fn name_list(names: &[String]) -> Result<Vec<String>, StoreError> {
        Ok(names.to_vec())
    }

    fn database_file(_url: &str) -> Option<std::path::PathBuf> {
        None
    }

    fn migrator() -> &'static Migrator {
        &POSTGRES_MIGRATIONS
    }

    async fn connect(
        url: &str,
        max_connections: Option<u32>,
    ) -> Result<Pool<Postgres>, StoreError> {
        let shown = crate::config::redact_url(url);
        let options = PgConnectOptions::from_str(url).map_err(|source| StoreError::Connect {
            url: shown.clone(),
            source,
        })?;
        PgPoolOptions::new()
            .max_connections(max_connections.unwrap_or(10))
            .acquire_timeout(Duration::from_secs(10))
            .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Connect { url: shown, source })
    }
}
