//! Builds the application from settings; used by `main` and the tests
//! alike.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Instant;

use actix_web::dev::{Server, ServerHandle, Service};
use actix_web::{App, HttpServer, web};

use crate::clock::Clock;
use crate::http::{self, AppState};
use crate::live::fleet::FleetFeed;
use crate::live::{Hub, LiveOptions};
use crate::store::embedded::{EmbeddedError, EmbeddedRedis};
use crate::store::{Store, StoreError, StoreOptions, auth};

/// Everything `vinpath serve` can be told.
#[derive(Clone)]
pub struct Settings {
    pub listen: String,
    /// Redis to use; `None` starts a private `redis-server`.
    pub redis_url: Option<String>,
    pub data_dir: PathBuf,
    pub admin_token: Option<String>,
    pub secret: Option<String>,
    /// Base of customer links; `None` means `http://{listen}`.
    pub public_url: Option<String>,
    pub link_days: i64,
    pub store: StoreOptions,
    pub live: LiveOptions,
    pub clock: Clock,
    /// HTTP worker threads; `None` is one per core.
    pub workers: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            redis_url: None,
            data_dir: PathBuf::from("./data"),
            admin_token: None,
            secret: None,
            public_url: None,
            link_days: 30,
            store: StoreOptions::default(),
            live: LiveOptions::default(),
            clock: Clock::System,
            workers: None,
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
    #[error("could not listen on {0}")]
    Listen(String, #[source] std::io::Error),
}

/// A built, not yet running vinpath.
pub struct Application {
    port: u16,
    server: Server,
    store: Store,
    embedded: Option<EmbeddedRedis>,
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
        let store = Store::connect(&url, settings.store.clone()).await?;
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
        store.ensure_secret(settings.secret.as_deref()).await?;

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
        let hub = Hub::start(store.client().clone());
        let fleet = FleetFeed::start(&hub, &settings.live);
        let state = web::Data::new(AppState {
            store: store.clone(),
            hub,
            fleet,
            clock: settings.clock.clone(),
            admin_hash: settings.admin_token.as_deref().map(auth::hash),
            public_url,
            link_days: settings.link_days,
            live: settings.live.clone(),
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(http::security_headers())
                .wrap_fn(|req, srv| {
                    let method = req.method().clone();
                    let path = http::loggable_path(req.path());
                    let start = Instant::now();
                    let fut = srv.call(req);
                    async move {
                        let res = fut.await?;
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
        Ok(Self {
            port: addr.port(),
            server: server.run(),
            store,
            embedded,
            new_admin_token,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (a signal, or the handle), then stops the
    /// private Redis, if any, cleanly.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let started = Instant::now();
        let result = self.server.await;
        if let Some(redis) = self.embedded {
            self.store.shutdown_server().await;
            redis.wait().await;
        }
        tracing::info!(uptime_s = started.elapsed().as_secs(), "vinpath stopped");
        result
    }
}
