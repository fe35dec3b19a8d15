//! The `vinpath` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use vinpath::app::{Application, Settings};
use vinpath::geo::pass::GeoOptions;
use vinpath::store::StoreOptions;

// Ingest allocates and frees many buffers of all sizes per request; glibc
// spent about a third of vinpath's time on them (perf, scripts/bench
// figure 2), jemalloc much less, at the same memory per idle socket.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "vinpath",
    version,
    about = "Tracks new cars from the plant to the customer's door"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the websockets and the pages.
    Serve(Config),
    /// Delete clips kept past their retention, once, and exit.
    Sweep(Config),
    /// Drive a running vinpath with benchmark load (scripts/bench runs it).
    Loadgen(Loadgen),
    /// Drive a running vinpath with a demo fleet, as carriers would (scripts/demo runs it).
    Simulate(Simulate),
}

#[derive(Args)]
struct Simulate {
    /// vinpath's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    /// Its admin token.
    #[arg(long, env = "VINPATH_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// The demo carrier's API key; unset: the carrier is created.
    #[arg(long)]
    carrier_key: Option<String>,
    /// The demo carrier's id.
    #[arg(long, default_value = "sf-auto")]
    carrier: String,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 900.0)]
    speed: f64,
}

#[derive(Args)]
struct Loadgen {
    /// vinpath's base URL.
    #[arg(long)]
    base: String,
    /// Its admin token.
    #[arg(long, env = "VINPATH_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// Its process id, for its memory.
    #[arg(long)]
    pid: u32,
    /// The port of its Redis, for the redis-benchmark baseline.
    #[arg(long)]
    redis_port: u16,
    /// The directory its clip store writes to, for the dd baseline.
    #[arg(long)]
    disk: PathBuf,
    /// A few seconds per figure instead of the full sizes.
    #[arg(long)]
    quick: bool,
    /// Where to write the figures as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Only these figures (1 to 7), comma-separated.
    #[arg(long, value_delimiter = ',')]
    only: Vec<u8>,
}

#[derive(Args)]
struct Config {
    /// Address to bind.
    #[arg(long, env = "VINPATH_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Redis URL (redis:// or rediss://); unset starts a private redis-server.
    #[arg(long, env = "VINPATH_REDIS_URL")]
    redis_url: Option<String>,
    /// Clip storage: file:///abs/path, memory://, s3://bucket (endpoint and keys from AWS_*); unset: DATA_DIR/clips.
    #[arg(long, env = "VINPATH_STORE")]
    store: Option<String>,
    /// Largest clip accepted, in bytes.
    #[arg(long, env = "VINPATH_MAX_CLIP_BYTES", default_value_t = 512 * 1024 * 1024)]
    max_clip_bytes: u64,
    /// With S3 storage, answer clip reads with a 302 to a short-lived presigned URL.
    #[arg(long, env = "VINPATH_CLIP_REDIRECT", default_value_t = false)]
    clip_redirect: bool,
    /// Days clips are kept after their orders are delivered or cancelled.
    #[arg(long, env = "VINPATH_CLIP_RETENTION_DAYS", default_value_t = 90)]
    clip_retention_days: i64,
    /// Where the embedded defaults keep data.
    #[arg(long, env = "VINPATH_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Bearer token of the admin role; unset: generated at first start and printed once.
    #[arg(long, env = "VINPATH_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Key for anything vinpath signs; unset: generated once and kept in Redis.
    #[arg(long, env = "VINPATH_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Base of links handed to customers; unset: http://LISTEN.
    #[arg(long, env = "VINPATH_PUBLIC_URL")]
    public_url: Option<String>,
    /// Days a tracking link keeps working after delivery.
    #[arg(long, env = "VINPATH_LINK_EXPIRY_DAYS", default_value_t = 30)]
    link_expiry_days: i64,
    /// Minutes a car in transit may stand still before a `stationary` alert.
    #[arg(long, env = "VINPATH_STATIONARY_MINUTES", default_value_t = 45)]
    stationary_minutes: i64,
    /// Kilometres off the planned route before an `off_route` alert.
    #[arg(long, env = "VINPATH_OFF_ROUTE_KM", default_value_t = 5.0)]
    off_route_km: f64,
    /// Minutes without a fix, in transit, before a `no_signal` alert.
    #[arg(long, env = "VINPATH_NO_SIGNAL_MINUTES", default_value_t = 30)]
    no_signal_minutes: i64,
    /// Hours a car is expected to stay at each warehouse on its way (for the ETA).
    #[arg(long, env = "VINPATH_WAREHOUSE_DWELL_HOURS", default_value_t = 12)]
    warehouse_dwell_hours: i64,
    /// Kilometres from the destination at which the customer hears "arriving soon".
    #[arg(long, env = "VINPATH_ARRIVING_KM", default_value_t = 5.0)]
    arriving_km: f64,
    /// Map tiles for the pages, a {z}/{x}/{y} URL template; empty: an offline basemap of land outlines only.
    #[arg(
        long,
        env = "VINPATH_TILE_URL",
        default_value = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    )]
    tile_url: String,
    /// Attribution shown for the tiles.
    #[arg(
        long,
        env = "VINPATH_TILE_ATTRIBUTION",
        default_value = "© OpenStreetMap contributors"
    )]
    tile_attribution: String,
    /// The tiles' datum: wgs84, or gcj02 for Chinese providers (positions are converted in the browser).
    #[arg(long, env = "VINPATH_TILE_DATUM", default_value = "wgs84")]
    tile_datum: String,
    /// History entries kept per order (older cursors get a reset snapshot).
    #[arg(long, env = "VINPATH_HISTORY_LIMIT", default_value_t = 10_000)]
    history_limit: usize,
}

#[actix_web::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VINPATH_LOG")
                .unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .init();
    let (args, sweep) = match Cli::parse().command {
        Command::Serve(c) => (c, false),
        Command::Sweep(c) => (c, true),
        Command::Loadgen(l) => return loadgen(l).await,
        Command::Simulate(s) => {
            let sim = vinpath::simulate::Simulation {
                base: s.base,
                admin: s.admin_token,
                carrier_key: s.carrier_key,
                carrier: s.carrier,
                speed: s.speed,
            };
            return match vinpath::simulate::run(sim).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("vinpath simulate: {e}");
                    ExitCode::FAILURE
                }
            };
        }
    };
    let settings = Settings {
        listen: args.listen,
        redis_url: args.redis_url,
        data_dir: args.data_dir,
        admin_token: args.admin_token,
        secret: args.secret,
        public_url: args.public_url,
        link_days: args.link_expiry_days,
        clip_store: args.store,
        max_clip_bytes: args.max_clip_bytes,
        clip_redirect: args.clip_redirect,
        clip_retention_days: args.clip_retention_days,
        tiles: vinpath::http::pages::Tiles {
            url: args.tile_url,
            attribution: args.tile_attribution,
            datum: args.tile_datum,
        },
        store: StoreOptions {
            history_limit: args.history_limit.max(1),
            geo: GeoOptions {
                stationary: chrono::Duration::minutes(args.stationary_minutes),
                off_route_m: args.off_route_km * 1000.0,
                arriving_m: args.arriving_km * 1000.0,
                warehouse_dwell: chrono::Duration::hours(args.warehouse_dwell_hours),
                no_signal: chrono::Duration::minutes(args.no_signal_minutes),
            },
            ..StoreOptions::default()
        },
        ..Settings::default()
    };
    if sweep {
        return match vinpath::app::sweep_once(&settings).await {
            Ok(n) => {
                println!("vinpath: deleted {n} expired clips");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("vinpath: {}", vinpath::http::chain(&e));
                ExitCode::FAILURE
            }
        };
    }
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("vinpath: {}", vinpath::http::chain(&e));
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = stop_on_signals(app.handle()) {
        eprintln!("vinpath: cannot handle signals: {e}");
        return ExitCode::FAILURE;
    }
    if let Some(token) = &app.new_admin_token {
        println!("vinpath: admin token (shown once, keep it safe): {token}");
    }
    println!("vinpath: listening on port {}", app.port());
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vinpath: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn loadgen(l: Loadgen) -> ExitCode {
    use vinpath::loadgen::{self, Sizes, Target, stats};
    let target = Target {
        base: l.base,
        admin: l.admin_token,
        pid: l.pid,
        redis_port: l.redis_port,
        disk: l.disk,
    };
    let sizes = if l.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    match loadgen::run(&target, &sizes, &l.only).await {
        Ok(figures) => {
            print!("{}", stats::table(&figures));
            if let Some(path) = l.json {
                let json = serde_json::to_string_pretty(&figures).unwrap_or_default();
                if let Err(e) = std::fs::write(&path, json) {
                    eprintln!("vinpath: cannot write {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vinpath loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Stops the server gracefully on SIGTERM or Ctrl-C. The handlers are in
/// place when this returns, before vinpath says it is listening.
fn stop_on_signals(handle: actix_web::dev::ServerHandle) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    actix_web::rt::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("stopping");
        handle.stop(true).await;
    });
    Ok(())
}
