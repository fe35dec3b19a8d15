//! Builds the application from settings; used by `main` and the tests
//! alike.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle, Service};
use actix_web::{App, HttpServer, web};

use crate::clock::Clock;
use crate::devices::{DeviceOptions, Devices, jt808};
use crate::http::{self, AppState};
use crate::jobs::{Jobs, Keeping, Schedule};
use crate::live::fleet::FleetFeed;
use crate::live::{Hub, LiveOptions};
use crate::media::{ClipStore, MediaError, S3Config};
use crate::store::embedded::{EmbeddedError, EmbeddedRedis};
use crate::store::{Store, StoreError, StoreOptions, auth};
use crate::webhooks::{self, WebhookOptions};

/// Everything `vinpath serve` can be told.
#[derive(Clone)]
pub struct Settings {
    pub listen: String,
    /// Redis to use; `None` starts a private `redis-server`.
    pub redis_url: Option<String>,
    /// A PEM file of the authority a `rediss://` Redis is checked against.
    pub redis_ca: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub admin_token: Option<String>,
    pub secret: Option<String>,
    /// Base of customer links; `None` means `http://{listen}`.
    pub public_url: Option<String>,
    pub link_days: i64,
    /// Clip storage URL; `None` means `file://{data_dir}/clips`.
    pub clip_store: Option<String>,
    /// S3 settings beyond the `AWS_*` variables (tests use them).
    pub s3: Option<S3Config>,
    pub max_clip_bytes: u64,
    pub clip_redirect: bool,
    /// Days clips are kept after their orders finish.
    pub clip_retention_days: i64,
    /// Days after an order ends (delivered or cancelled) before it leaves
    /// Redis for the archive in the clip store.
    pub archive_after_days: i64,
    /// How often serve runs the retention sweep (and the archive).
    pub sweep_every: Duration,
    /// How the pages look: map tiles, the seller's name and support.
    pub look: crate::http::pages::PageLook,
    /// How often serve looks for trackers gone quiet.
    pub signal_every: Duration,
    /// How often serve completes follow-ups a failure left undone.
    pub repair_every: Duration,
    pub store: StoreOptions,
    pub live: LiveOptions,
    pub clock: Clock,
    /// HTTP worker threads; `None` is one per core.
    pub workers: Option<usize>,
    /// The device listeners (off unless set: `vinpath serve` sets them).
    pub devices: DeviceOptions,
    pub webhooks: WebhookOptions,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            redis_url: None,
            redis_ca: None,
            data_dir: PathBuf::from("./data"),
            admin_token: None,
            secret: None,
            public_url: None,
            link_days: 30,
            clip_store: None,
            s3: None,
            max_clip_bytes: 512 * 1024 * 1024,
            clip_redirect: false,
            clip_retention_days: 90,
            archive_after_days: 30,
            sweep_every: Duration::from_secs(3600),
            signal_every: Duration::from_secs(60),
            repair_every: Duration::from_secs(5),
            look: crate::http::pages::PageLook::default(),
            store: StoreOptions::default(),
            live: LiveOptions::default(),
            clock: Clock::System,
            workers: None,
            devices: DeviceOptions {
                osmand_listen: None,
                jt808_listen: None,
                ..DeviceOptions::default()
            },
            webhooks: WebhookOptions::default(),
        }
    }
}

/// Why vinpath could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error("could not reach Redis at start")]
    Store(#[from] StoreError),
    #[error("clip storage")]
    Clips(#[from] MediaError),
    #[error("could not listen on {0}")]
    Listen(String, #[source] std::io::Error),
    #[error("could not read the Redis certificate authority {0}")]
    RedisCa(String, #[source] std::io::Error),
}

/// A built, not yet running vinpath.
pub struct Application {
    port: u16,
    server: Server,
    /// The Traccar Client / OsmAnd listener, if on.
    osmand: Option<(u16, Server)>,
    /// The JT/T 808 listener, if on (started with the server).
    jt808: Option<(std::net::TcpListener, u16)>,
    devices: Devices,
    device_options: DeviceOptions,
    webhook_options: WebhookOptions,
    public_url: String,
    store: Store,
    embedded: Option<EmbeddedRedis>,
    /// The background jobs, started with the server.
    jobs: Jobs,
    /// The admin token generated at this first start, to show once.
    pub new_admin_token: Option<String>,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let embedded = match &settings.redis_url {
            Some(_) => None,
            None => Some(EmbeddedRedis::start(&settings.data_dir).await?),
        };
        let url = match (&settings.redis_url, &embedded) {
            (Some(u), _) => u.clone(),
            (None, Some(e)) => e.url().to_owned(),
            (None, None) => unreachable!("an embedded Redis was started above"),
        };
        let mut options = settings.store.clone();
        if let Some(ca) = &settings.redis_ca {
            let pem =
                std::fs::read(ca).map_err(|e| StartError::RedisCa(ca.display().to_string(), e))?;
            options.redis_ca_pem = Some(pem);
        }
        let store = Store::connect(&url, options).await?;
        if let Some(policy) = store.eviction_policy().await
            && policy != "noeviction"
        {
            tracing::warn!(
                policy,
                "Redis may evict keys (maxmemory-policy is not noeviction): acknowledged events could be lost; set maxmemory-policy noeviction"
            );
        }
        let new_admin_token = store
            .ensure_admin_token(settings.admin_token.as_deref())
            .await?;
        let secret: std::sync::Arc<str> = store
            .ensure_secret(settings.secret.as_deref())
            .await?
            .into();
        // Scans are placed at their sites from this copy: start with one.
        store.current_sites().await?;

        let listener = TcpListener::bind(&settings.listen)
            .map_err(|e| StartError::Listen(settings.listen.clone(), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::Listen(settings.listen.clone(), e))?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_owned();
        let public_url_kept = public_url.clone();
        let clips = open_clips(&settings)?;
        let jobs = Jobs::new(
            store.for_jobs(),
            clips.clone(),
            settings.clock.clone(),
            Keeping {
                clips: chrono::Duration::days(settings.clip_retention_days),
                archive_after: chrono::Duration::days(settings.archive_after_days),
                deliveries: chrono::Duration::from_std(settings.webhooks.keep)
                    .unwrap_or(chrono::Duration::days(7)),
            },
            Schedule {
                sweep_every: settings.sweep_every,
                signal_every: settings.signal_every,
                repair_every: settings.repair_every,
            },
        );
        let hub = Hub::start(store.for_jobs(), settings.live.beat_every);
        let fleet = FleetFeed::start(&hub, &settings.live);
        let state = AppState {
            store: store.clone(),
            hub,
            fleet,
            clock: settings.clock.clone(),
            admin_hash: settings.admin_token.as_deref().map(auth::hash),
            public_url,
            link_days: settings.link_days,
            clips,
            max_clip_bytes: settings.max_clip_bytes,
            clip_redirect: settings.clip_redirect,
            look: settings.look.clone(),
            secret,
            live: settings.live.clone(),
            webhook_allow_private: settings.webhooks.allow_private,
        };
        http::metrics::install();
        let mut server = HttpServer::new(move || {
            // Each worker talks to Redis over its own connection.
            let mut worker = state.clone();
            if let Ok(store) = state.store.own_connection() {
                worker.store = store;
            }
            App::new()
                .app_data(web::Data::new(worker))
                .wrap(http::security_headers())
                .wrap(actix_web::middleware::from_fn(http::audit_writes))
                .wrap_fn(|req, srv| {
                    let method = req.method().clone();
                    let path = http::loggable_path(req.path());
                    let start = Instant::now();
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await?;
                        let status = res.status().as_u16();
                        metrics::counter!("vinpath_http_requests_total", "status" => status.to_string()).increment(1);
                        metrics::histogram!("vinpath_http_request_seconds").record(start.elapsed().as_secs_f64());
                        tracing::info!(
                            target: "vinpath::http",
                            "{method} {path} {} {:.1}ms",
                            res.status().as_u16(),
                            start.elapsed().as_secs_f64() * 1000.0
                        );
                        Ok(res)
                    }
                })
                .configure(http::configure)
        })
        .shutdown_timeout(5)
        // Signals are main's to handle, once it is ready for them.
        .disable_signals()
        .listen(listener)
        .map_err(|e| StartError::Listen(settings.listen.clone(), e))?;
        if let Some(w) = settings.workers {
            server = server.workers(w);
        }
        let devices = Devices::new(store.clone(), settings.clock.clone());
        let osmand = match &settings.devices.osmand_listen {
            Some(at) => Some(osmand_server(at, &devices)?),
            None => None,
        };
        let jt808 = match &settings.devices.jt808_listen {
            Some(at) => {
                let l = TcpListener::bind(at).map_err(|e| StartError::Listen(at.clone(), e))?;
                let port = l
                    .local_addr()
                    .map_err(|e| StartError::Listen(at.clone(), e))?
                    .port();
                Some((l, port))
            }
            None => None,
        };
        Ok(Self {
            port: addr.port(),
            server: server.run(),
            osmand,
            jt808,
            devices,
            device_options: settings.devices.clone(),
            webhook_options: settings.webhooks.clone(),
            public_url: public_url_kept,
            store,
            embedded,
            jobs,
            new_admin_token,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Traccar Client / OsmAnd listener's port, if it is on.
    pub fn osmand_port(&self) -> Option<u16> {
        self.osmand.as_ref().map(|(p, _)| *p)
    }

    /// The JT/T 808 listener's port, if it is on.
    pub fn jt808_port(&self) -> Option<u16> {
        self.jt808.as_ref().map(|(_, p)| *p)
    }

    /// The background jobs, to run one now.
    pub fn jobs(&self) -> Jobs {
        self.jobs.clone()
    }

    /// A handle that stops the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (a signal, or the handle), then stops the
    /// private Redis, if any, cleanly.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let started = Instant::now();
        let jobs = self.jobs.start();
        // Its own connection: its reads of every partition never queue
        // in front of a request's; its round trips are the jobs' (counted
        // as a request's, they made a request's count depend on when the
        // worker's tick fell).
        let hooks = webhooks::start(
            self.store
                .own_connection()
                .map(|s| s.for_jobs())
                .unwrap_or_else(|_| self.store.for_jobs()),
            self.devices.clock.clone(),
            self.webhook_options,
            self.public_url,
        );
        let jt808 = match self.jt808 {
            Some((l, _)) => Some(jt808::listen(l, self.devices, &self.device_options)?),
            None => None,
        };
        let osmand = self.osmand.map(|(_, server)| {
            let handle = server.handle();
            actix_web::rt::spawn(server);
            handle
        });
        let result = self.server.await;
        hooks.stop();
        if let Some(l) = jt808 {
            l.stop();
        }
        if let Some(h) = osmand {
            h.stop(true).await;
        }
        jobs.shutdown().await;
        if let Some(redis) = self.embedded {
            self.store.shutdown_server().await;
            redis.wait().await;
        }
        tracing::info!(uptime_s = started.elapsed().as_secs(), "vinpath stopped");
        result
    }
}

/// The Traccar Client / OsmAnd listener: its own small server, so its
/// port can be opened to phones without the API's.
fn osmand_server(at: &str, devices: &Devices) -> Result<(u16, Server), StartError> {
    let listener = TcpListener::bind(at).map_err(|e| StartError::Listen(at.to_owned(), e))?;
    let port = listener
        .local_addr()
        .map_err(|e| StartError::Listen(at.to_owned(), e))?
        .port();
    let devices = devices.clone();
    let server = HttpServer::new(move || {
        let mut worker = devices.clone();
        if let Ok(store) = devices.store.own_connection() {
            worker.store = store;
        }
        App::new()
            .app_data(web::Data::new(worker))
            .configure(http::osmand::configure)
    })
    .workers(1)
    .shutdown_timeout(5)
    .disable_signals()
    .listen(listener)
    .map_err(|e| StartError::Listen(at.to_owned(), e))?
    .run();
    Ok((port, server))
}

/// Opens the clip store the settings name (local disk by default).
pub fn open_clips(settings: &Settings) -> Result<ClipStore, StartError> {
    let url = match &settings.clip_store {
        Some(u) => u.clone(),
        None => {
            let dir = settings.data_dir.join("clips");
            std::fs::create_dir_all(&dir)
                .map_err(|e| MediaError::Dir(dir.display().to_string(), e))?;
            let abs = dir
                .canonicalize()
                .map_err(|e| MediaError::Dir(dir.display().to_string(), e))?;
            format!("file://{}", abs.display())
        }
    };
    Ok(ClipStore::open(&url, settings.s3.as_ref())?)
}

/// Runs the clip retention sweep and the archive once, as `vinpath sweep`
/// does. With no
/// Redis URL it uses the private Redis of a running serve, or starts one.
pub async fn sweep_once(settings: &Settings) -> Result<usize, StartError> {
    let socket = settings.data_dir.join("redis/redis.sock");
    let mut embedded = None;
    let url = match &settings.redis_url {
        Some(u) => u.clone(),
        None if socket.exists() => format!(
            "redis+unix://{}",
            socket.canonicalize().unwrap_or(socket).display()
        ),
        None => {
            let e = EmbeddedRedis::start(&settings.data_dir).await?;
            let url = e.url().to_owned();
            embedded = Some(e);
            url
        }
    };
    let store = Store::connect(&url, settings.store.clone()).await?;
    let clips = open_clips(settings)?;
    let now = settings.clock.now();
    let days = chrono::Duration::days;
    let n = crate::jobs::sweep_clips(&store, &clips, now, days(settings.clip_retention_days))
        .await?
        + crate::jobs::archive_due(&store, &clips, now, days(settings.archive_after_days)).await?
        + crate::jobs::spill_long_histories(&store, &clips).await?
        + crate::jobs::archive_audit(&store, &clips).await?
        + store
            .forget_deliveries(
                now - chrono::Duration::from_std(settings.webhooks.keep).unwrap_or(days(7)),
            )
            .await?;
    if let Some(e) = embedded {
        store.shutdown_server().await;
        e.wait().await;
    }
    Ok(n)
}
