//! Redis: the one place that knows key names, functions and channels. A
//! [`Store`] is a cheap handle; every call is one pipelined round trip
//! unless its doc says otherwise.

pub mod alerts;
pub mod archive;
pub mod audit;
pub mod auth;
pub mod cameras;
pub mod clips;
mod conn;
pub mod context;
pub mod corrections;
pub mod credentials;
pub mod devices;
pub mod embedded;
pub mod fleet;
pub mod functions;
pub mod handover;
pub mod history;
pub mod inspections;
mod keys;
pub mod links;
pub mod live_wire;
pub mod orders;
pub mod pending;
pub mod photos;
pub mod routes;
pub mod seats;
pub mod sites;
pub mod spill;
mod state;
pub mod subscribe;
pub mod uploads;
pub mod webhooks;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::{FromRedisValue, Pipeline, RedisError};
use tokio::sync::OnceCell;

pub use conn::Topology;
use conn::{Backend, Conn, Seeds};
pub use keys::{PARTITIONS, partition_of, truck_name};

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
    /// Entries kept in Redis of each order's history; the sweep moves older
    /// ones to the clip store (still served by the history API; a websocket
    /// resuming from one gets a reset snapshot).
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
    /// Audit log entries kept in Redis; the sweep moves older ones to the
    /// clip store (still read by `GET /api/v1/audit`).
    pub audit_kept: usize,
    /// A delivery needs the customer's handover code or a
    /// customer-not-available record (`VINPATH_PROOF_OF_DELIVERY`).
    pub proof_required: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            history_limit: 1000,
            dedupe_days: 7,
            geo: crate::geo::pass::GeoOptions::default(),
            redis_ca_pem: None,
            audit_kept: 100_000,
            durable_replicas: 0,
            proof_required: true,
        }
    }
}

/// A handle to vinpath's Redis (one server or a cluster): its connections,
/// made on first use, and a round-trip counter. Clones share the
/// connection; [`Store::own_connection`] gives a thread its own, so its
/// round trips never hop to another thread.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    conn: Arc<OnceCell<Conn>>,
    /// With durable replicas, the connection of the writes that `WAIT`:
    /// a `WAIT` holds its connection, so reads never queue behind one.
    durable: Option<Arc<OnceCell<Conn>>>,
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
    seeds: Seeds,
    /// The topology and its clients, once a seed has answered.
    backend: OnceCell<Backend>,
    round_trips: [AtomicU64; 2],
    options: StoreOptions,
    sites: sites::SiteCache,
    contexts: context::ContextCache,
    /// Credentials recently proven, by token hash: a request needs no
    /// round trip for them. Kept a second, so a revocation holds within a
    /// second even if its live message is missed.
    credentials: mini_moka::sync::Cache<String, (crate::domain::Role, Option<String>)>,
    /// When credentials were used (by token hash, ms), not written yet.
    used: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// Devices by `protocol:device_id` (`None`: not registered), forgotten
    /// on every instance when one changes.
    devices: mini_moka::sync::Cache<String, Option<crate::domain::Device>>,
}

impl Store {
    /// Prepares to reach Redis at `url` (one URL or comma-separated seeds):
    /// vinpath starts even while Redis is down, and connects, learns
    /// whether it is a cluster and loads vinpath's functions when it can.
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Self> {
        let seeds = Seeds::parse(url, options.redis_ca_pem.clone())?;
        let durable = options.durable_replicas > 0;
        let store = Self {
            conn: Arc::default(),
            durable: durable.then(Arc::default),
            source: Source::Requests,
            inner: Arc::new(Inner {
                seeds,
                backend: OnceCell::new(),
                round_trips: [AtomicU64::new(0), AtomicU64::new(0)],
                options,
                sites: sites::SiteCache::default(),
                contexts: context::ContextCache::default(),
                credentials: mini_moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(Duration::from_secs(1))
                    .build(),
                used: Default::default(),
                devices: mini_moka::sync::Cache::builder()
                    .max_capacity(200_000)
                    .time_to_live(Duration::from_secs(60))
                    .build(),
            }),
        };
        if let Err(e) = store.load_functions().await {
            tracing::warn!(error = ?e, "could not reach Redis or load vinpath's functions yet; will retry on use");
        }
        Ok(store)
    }

    /// A handle like this one with a connection of its own, driven by the
    /// runtime of the thread that first uses it (an HTTP worker's), so
    /// that worker's round trips stay on its thread. Call it on that thread.
    pub fn own_connection(&self) -> Result<Self> {
        Ok(Self {
            inner: self.inner.clone(),
            conn: Arc::default(),
            durable: self.durable.as_ref().map(|_| Arc::default()),
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

    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// One Redis or a cluster (asked of the first seed that answers).
    pub async fn topology(&self) -> Result<Topology> {
        Ok(self.backend().await?.topology())
    }

    async fn backend(&self) -> Result<&Backend> {
        self.inner
            .backend
            .get_or_try_init(|| async {
                let (topology, url) = conn::detect(&self.inner.seeds).await?;
                tracing::info!(?topology, "reached Redis");
                Backend::new(topology, &url, &self.inner.seeds)
            })
            .await
    }

    async fn conn(&self, durable: bool) -> Result<&Conn> {
        let cell = match &self.durable {
            Some(d) if durable => d,
            _ => &self.conn,
        };
        let backend = self.backend().await?;
        cell.get_or_try_init(|| backend.connect()).await
    }

    /// Redis round trips made by this process so far, for requests or jobs.
    pub fn round_trips(&self, source: Source) -> u64 {
        self.inner.round_trips[source as usize].load(Ordering::Relaxed)
    }

    fn count_trip(&self) {
        self.inner.round_trips[self.source as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Loads vinpath's functions (on a cluster, on every primary), with
    /// sharded pub/sub for the live messages on a cluster.
    async fn load_functions(&self) -> Result<()> {
        let library = match self.backend().await?.topology() {
            Topology::Single => LIBRARY.to_owned(),
            Topology::Cluster => {
                let classic = "local PUBLISH = 'PUBLISH'";
                debug_assert!(LIBRARY.contains(classic));
                LIBRARY.replacen(classic, "local PUBLISH = 'SPUBLISH'", 1)
            }
        };
        let mut cmd = redis::cmd("FUNCTION");
        cmd.arg("LOAD").arg("REPLACE").arg(library);
        self.count_trip();
        let _: String = match self.conn(false).await? {
            Conn::Single(c) => cmd.query_async(&mut c.clone()).await?,
            Conn::Cluster(c) => cmd.query_async(&mut c.clone()).await?,
        };
        Ok(())
    }

    /// Runs a pipeline in one round trip. If Redis lost vinpath's functions
    /// (a fresh Redis after a failover), none of them ran: load and retry.
    pub async fn query<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T> {
        Ok(self.query_on(false, pipe, None).await?.0)
    }

    async fn query_on<T: FromRedisValue>(
        &self,
        durable: bool,
        pipe: &Pipeline,
        replicas: Option<u32>,
    ) -> Result<(T, Option<i64>)> {
        let conn = self.conn(durable).await?;
        self.count_trip();
        match conn.run(pipe, replicas).await {
            Err(e) if is_missing_function(&e) => {
                self.load_functions().await?;
                self.count_trip();
                Ok(conn.run(pipe, replicas).await?)
            }
            other => Ok(other?),
        }
    }

    /// Runs a pipeline whose commands may fail one by one (function calls
    /// that return errors); each result stands alone.
    ///
    /// These are the pipelines that write what vinpath acknowledges: with
    /// `durable_replicas`, the same round trip ends with a `WAIT` for that
    /// many replicas (on a cluster, one per slot written), and fewer is an
    /// error (a 503; the retry a duplicate).
    pub async fn query_each(&self, pipe: &mut Pipeline) -> Result<Vec<redis::Value>> {
        pipe.ignore_errors();
        let wanted = self.options().durable_replicas;
        let replicas = (wanted > 0 && self.durable.is_some()).then_some(wanted);
        let pipe = &*pipe;
        let (mut values, mut acked): (Vec<redis::Value>, _) =
            self.query_on(true, pipe, replicas).await?;
        // A Redis without vinpath's functions (a fresh one, or on a cluster
        // one fresh primary) ran none of the calls sent to it: load them
        // and send again just those; the rest ran and must not run twice.
        let missing: Vec<usize> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| match v {
                redis::Value::ServerError(e) => e.to_string().contains("Function not found"),
                _ => false,
            })
            .map(|(i, _)| i)
            .collect();
        if !missing.is_empty() {
            self.load_functions().await?;
            let mut again = redis::pipe();
            again.ignore_errors();
            for (i, cmd) in pipe.cmd_iter().enumerate() {
                if missing.contains(&i) {
                    again.add_command(cmd.clone());
                }
            }
            let (redone, acked_again): (Vec<redis::Value>, _) =
                self.query_on(true, &again, replicas).await?;
            for (&i, v) in missing.iter().zip(redone) {
                values[i] = v;
            }
            acked = match (acked, acked_again) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        if let Some(wanted) = replicas {
            // The calls' own answers first: a demoted primary says READONLY
            // there (and refuses the WAIT), which is a 503 like the rest.
            for v in &values {
                if let redis::Value::ServerError(e) = v
                    && let err @ StoreError::Unavailable(_) =
                        StoreError::from(redis::RedisError::from(e.clone()))
                {
                    return Err(err);
                }
            }
            // `None`: nothing was written, nothing to wait for.
            let got = acked.unwrap_or(i64::from(wanted));
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
        if let Ok(Conn::Single(c)) = self.conn(false).await {
            let _: std::result::Result<(), _> = cmd.query_async(&mut c.clone()).await;
        }
    }
}

/// Errors by which Redis says "not now": loading its data, a replica or a
/// failover, a cluster reshaping, a busy script, memory full. The request
/// may be retried shortly (503), like an unreachable Redis.
fn is_not_now(e: &RedisError) -> bool {
    const NOT_NOW: [&str; 9] = [
        // A slot that moved (a failover): the next try goes to its node.
        "MOVED",
        "ASK",
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

fn is_missing_function(e: &RedisError) -> bool {
    e.to_string().contains("Function not found")
}
