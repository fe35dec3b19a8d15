//! Redis: the one place that knows key names, functions and channels. A
//! [`Store`] is a cheap handle; every call is one pipelined round trip
//! unless its doc says otherwise.

pub mod alerts;
pub mod auth;
pub mod clips;
pub mod context;
pub mod embedded;
pub mod fleet;
pub mod functions;
pub mod history;
mod keys;
pub mod links;
pub mod live_wire;
pub mod orders;
pub mod pending;
pub mod routes;
pub mod sites;
mod state;
pub mod uploads;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::aio::ConnectionManagerConfig;
use redis::{FromRedisValue, Pipeline, RedisError};

pub use keys::{LIVE_CHANNEL, truck_name};

use functions::LIBRARY;

/// What went wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis cannot be reached now; the caller may retry shortly.
    #[error("redis is unavailable")]
    Unavailable(#[source] RedisError),
    /// Redis answered with an error vinpath did not expect.
    #[error("redis failed")]
    Redis(#[source] RedisError),
    /// Redis holds data vinpath cannot read.
    #[error("unreadable data in redis: {0}")]
    Corrupt(String),
    /// Fewer replicas than asked for hold a write yet; the caller may
    /// retry shortly (the write may have been made: a retry is a
    /// duplicate).
    #[error("only {got} of {wanted} replicas hold the write")]
    NotReplicated { wanted: u32, got: i64 },
}

impl From<RedisError> for StoreError {
    fn from(e: RedisError) -> Self {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || is_not_now(&e)
        {
            StoreError::Unavailable(e)
        } else {
            StoreError::Redis(e)
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Tunables of what vinpath keeps in Redis.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Entries kept in each order's history stream (older ones are trimmed
    /// and answer a websocket resume with a reset snapshot).
    pub history_limit: usize,
    /// Days an event id is remembered at least, for duplicate detection.
    pub dedupe_days: u32,
    /// Alert thresholds and ETA assumptions.
    pub geo: crate::geo::pass::GeoOptions,
    /// The certificate authority (PEM) a `rediss://` Redis is checked
    /// against; `None`: the system's roots.
    pub redis_ca_pem: Option<Vec<u8>>,
    /// Replicas that must hold a write before it is acknowledged (`WAIT`).
    pub durable_replicas: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            history_limit: 10_000,
            dedupe_days: 7,
            geo: crate::geo::pass::GeoOptions::default(),
            redis_ca_pem: None,
            durable_replicas: 0,
        }
    }
}

/// A handle to vinpath's Redis: a reconnecting multiplexed connection, the
/// client for dedicated connections (pub/sub), and a round-trip counter.
/// Clones share the connection; [`Store::own_connection`] gives a thread
/// its own, so its round trips never hop to another thread.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    conn: ConnectionManager,
    /// With durable replicas, the connection of the writes that `WAIT`:
    /// a `WAIT` holds its connection, so reads never queue behind one.
    durable: Option<ConnectionManager>,
    /// Whose round trips this handle counts.
    source: Source,
}

/// Who made a round trip: requests, or the background jobs (counted apart,
/// so a request's cost reads plainly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Requests = 0,
    Jobs = 1,
}

struct Inner {
    client: redis::Client,
    round_trips: [AtomicU64; 2],
    options: StoreOptions,
    sites: sites::SiteCache,
    contexts: context::ContextCache,
    /// Credentials recently proven, by token hash: a request needs no
    /// round trip for them. Short-lived, so a change in Redis is seen soon.
    credentials: mini_moka::sync::Cache<String, crate::domain::Role>,
}

impl Store {
    /// Connects to Redis lazily (vinpath starts even while Redis is down)
    /// and loads vinpath's functions when it can.
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Self> {
        let client = match &options.redis_ca_pem {
            Some(ca) if url.starts_with("rediss://") => {
                let certs = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(ca.clone()),
                };
                redis::Client::build_with_tls(url, certs)
            }
            _ => redis::Client::open(url),
        }
        .map_err(StoreError::Redis)?;
        let conn = manager(&client)?;
        let durable = (options.durable_replicas > 0)
            .then(|| manager(&client))
            .transpose()?;
        let store = Self {
            conn,
            durable,
            source: Source::Requests,
            inner: Arc::new(Inner {
                client,
                round_trips: [AtomicU64::new(0), AtomicU64::new(0)],
                options,
                sites: sites::SiteCache::default(),
                contexts: context::ContextCache::default(),
                credentials: mini_moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(Duration::from_secs(30))
                    .build(),
            }),
        };
        if let Err(e) = store.load_functions().await {
            tracing::warn!(error = ?e, "could not load vinpath's Redis functions yet; will retry on use");
        }
        Ok(store)
    }

    /// A handle like this one with a connection of its own, driven by the
    /// runtime of the thread that first uses it (an HTTP worker's), so
    /// that worker's round trips stay on its thread. Call it on that thread.
    pub fn own_connection(&self) -> Result<Self> {
        Ok(Self {
            inner: self.inner.clone(),
            conn: manager(&self.inner.client)?,
            durable: self
                .durable
                .as_ref()
                .map(|_| manager(&self.inner.client))
                .transpose()?,
            source: self.source,
        })
    }

    /// A handle like this one whose round trips count as the jobs'.
    pub fn for_jobs(&self) -> Self {
        Self {
            source: Source::Jobs,
            ..self.clone()
        }
    }

    pub fn client(&self) -> &redis::Client {
        &self.inner.client
    }

    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// Redis round trips made by this process so far, for requests or jobs.
    pub fn round_trips(&self, source: Source) -> u64 {
        self.inner.round_trips[source as usize].load(Ordering::Relaxed)
    }

    fn count_trip(&self) {
        self.inner.round_trips[self.source as usize].fetch_add(1, Ordering::Relaxed);
    }

    async fn load_functions(&self) -> Result<()> {
        let mut cmd = redis::cmd("FUNCTION");
        cmd.arg("LOAD").arg("REPLACE").arg(LIBRARY);
        self.count_trip();
        let _: String = cmd.query_async(&mut self.conn.clone()).await?;
        Ok(())
    }

    /// Runs a pipeline in one round trip. If Redis lost vinpath's functions
    /// (a fresh Redis after a failover), none of them ran: load and retry.
    pub async fn query<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T> {
        self.query_on(&self.conn, pipe).await
    }

    async fn query_on<T: FromRedisValue>(
        &self,
        conn: &ConnectionManager,
        pipe: &Pipeline,
    ) -> Result<T> {
        self.count_trip();
        match pipe.query_async(&mut conn.clone()).await {
            Err(e) if is_missing_function(&e) => {
                self.load_functions().await?;
                self.count_trip();
                Ok(pipe.query_async(&mut conn.clone()).await?)
            }
            other => Ok(other?),
        }
    }

    /// Runs a pipeline whose commands may fail one by one (function calls
    /// that return errors); each result stands alone.
    ///
    /// These are the pipelines that write what vinpath acknowledges: with
    /// `durable_replicas`, the same round trip ends with a `WAIT` for that
    /// many replicas, and fewer is an error (a 503; the retry a duplicate).
    pub async fn query_each(&self, pipe: &mut Pipeline) -> Result<Vec<redis::Value>> {
        pipe.ignore_errors();
        let wanted = self.options().durable_replicas;
        let conn = match &self.durable {
            Some(c) if wanted > 0 => {
                // A write first, so the WAIT covers everything written so
                // far on any connection: a retry that writes nothing (a
                // duplicate) still waits for the first try's write.
                pipe.cmd("INCR").arg(keys::DURABLE);
                pipe.cmd("WAIT").arg(wanted).arg(WAIT_MS);
                c
            }
            _ => &self.conn,
        };
        let durable = &*pipe;
        let mut values: Vec<redis::Value> = self.query_on(conn, durable).await?;
        let missing = values.iter().any(|v| match v {
            redis::Value::ServerError(e) => e.to_string().contains("Function not found"),
            _ => false,
        });
        if missing {
            self.load_functions().await?;
            values = self.query_on(conn, durable).await?;
        }
        if wanted > 0 && self.durable.is_some() {
            let waited = values.pop();
            let marked = values.pop();
            // The calls' own answers first: a demoted primary says READONLY
            // there (and refuses the WAIT), which is a 503 like the rest.
            for v in values.iter().chain(&marked) {
                if let redis::Value::ServerError(e) = v
                    && let err @ StoreError::Unavailable(_) =
                        StoreError::from(redis::RedisError::from(e.clone()))
                {
                    return Err(err);
                }
            }
            let got = match waited {
                Some(redis::Value::Int(n)) => n,
                _ => 0,
            };
            if got < i64::from(wanted) {
                return Err(StoreError::NotReplicated { wanted, got });
            }
        }
        Ok(values)
    }

    /// Whether Redis answers now.
    pub async fn ping(&self) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("PING");
        let _: (String,) = self.query(&pipe).await?;
        Ok(())
    }

    /// Redis's `maxmemory-policy`, where the server lets us read it.
    pub async fn eviction_policy(&self) -> Option<String> {
        let mut pipe = redis::pipe();
        pipe.cmd("CONFIG").arg("GET").arg("maxmemory-policy");
        let (pair,): (Vec<String>,) = self.query(&pipe).await.ok()?;
        pair.into_iter().nth(1)
    }

    /// Asks Redis to persist and stop (used for the embedded child).
    pub async fn shutdown_server(&self) {
        let mut cmd = redis::cmd("SHUTDOWN");
        cmd.arg("SAVE");
        let _: std::result::Result<(), _> = cmd.query_async(&mut self.conn.clone()).await;
    }
}

/// A lazy reconnecting connection: vinpath starts while Redis is down, and
/// a request fails fast (503) rather than waiting out a long outage.
fn manager(client: &redis::Client) -> Result<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_millis(1000)))
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(200));
    Ok(ConnectionManager::new_lazy_with_config(
        client.clone(),
        config,
    )?)
}

/// Errors by which Redis says "not now": loading its data, a replica or a
/// failover, a cluster reshaping, a busy script, memory full. The request
/// may be retried shortly (503), like an unreachable Redis.
fn is_not_now(e: &RedisError) -> bool {
    const NOT_NOW: [&str; 7] = [
        "LOADING",
        "READONLY",
        "MASTERDOWN",
        "CLUSTERDOWN",
        "TRYAGAIN",
        "BUSY",
        "OOM",
    ];
    e.code().is_some_and(|c| NOT_NOW.contains(&c))
}

/// How long a write waits for its replicas (within the connection's
/// one-second answer time).
const WAIT_MS: u64 = 800;

fn is_missing_function(e: &RedisError) -> bool {
    e.to_string().contains("Function not found")
}
