//! `vinpath serve`'s settings as flags and environment variables, turned
//! into [`Settings`] in one place, units and all.

use std::path::PathBuf;

use clap::Args;

use crate::app::Settings;
use crate::devices::DeviceOptions;
use crate::geo::pass::GeoOptions;
use crate::http::pages::PageLook;
use crate::store::StoreOptions;
use crate::webhooks::WebhookOptions;

/// Whether a delivery needs the customer's proof (`VINPATH_PROOF_OF_DELIVERY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProofOfDelivery {
    Required,
    Optional,
}

/// Everything `vinpath serve` (and `sweep`) can be told: a flag each, with
/// an environment variable of the same meaning.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to bind.
    #[arg(long, env = "VINPATH_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Redis URL (redis:// or rediss://); unset starts a private redis-server.
    #[arg(long, env = "VINPATH_REDIS_URL")]
    pub redis_url: Option<String>,
    /// PEM file of the certificate authority for rediss://; unset: the system's roots.
    #[arg(long, env = "VINPATH_REDIS_CA")]
    pub redis_ca: Option<PathBuf>,
    /// Acknowledge a write only once this many replicas hold it (WAIT); short of that, 503.
    #[arg(long, env = "VINPATH_DURABLE_REPLICAS", default_value_t = 0)]
    pub durable_replicas: u32,
    /// Clip storage: file:///abs/path, memory://, s3://bucket (endpoint and keys from AWS_*); unset: DATA_DIR/clips.
    #[arg(long, env = "VINPATH_STORE")]
    pub store: Option<String>,
    /// Largest clip accepted, in bytes.
    #[arg(long, env = "VINPATH_MAX_CLIP_BYTES", default_value_t = 512 * 1024 * 1024)]
    pub max_clip_bytes: u64,
    /// With S3 storage, answer clip reads with a 302 to a short-lived presigned URL.
    #[arg(long, env = "VINPATH_CLIP_REDIRECT", default_value_t = false)]
    pub clip_redirect: bool,
    /// Days clips are kept after their orders are delivered or cancelled.
    #[arg(long, env = "VINPATH_CLIP_RETENTION_DAYS", default_value_t = 90)]
    pub clip_retention_days: i64,
    /// Days after an order is delivered or cancelled when it leaves Redis
    /// for the archive in the clip store.
    #[arg(long, env = "VINPATH_ARCHIVE_AFTER_DAYS", default_value_t = 30)]
    pub archive_after_days: i64,
    /// Where the embedded defaults keep data.
    #[arg(long, env = "VINPATH_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Bearer token of the admin role; unset: generated at first start and printed once.
    #[arg(long, env = "VINPATH_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Key for anything vinpath signs; unset: generated once and kept in Redis.
    #[arg(long, env = "VINPATH_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Base of links handed to customers; unset: http://LISTEN.
    #[arg(long, env = "VINPATH_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Days a tracking link keeps working after delivery.
    #[arg(long, env = "VINPATH_LINK_EXPIRY_DAYS", default_value_t = 30)]
    pub link_expiry_days: i64,
    /// Minutes a car in transit may stand still before a `stationary` alert.
    #[arg(long, env = "VINPATH_STATIONARY_MINUTES", default_value_t = 45)]
    pub stationary_minutes: i64,
    /// Kilometres off the planned route before an `off_route` alert.
    #[arg(long, env = "VINPATH_OFF_ROUTE_KM", default_value_t = 5.0)]
    pub off_route_km: f64,
    /// Minutes without a fix, in transit, before a `no_signal` alert.
    #[arg(long, env = "VINPATH_NO_SIGNAL_MINUTES", default_value_t = 30)]
    pub no_signal_minutes: i64,
    /// Hours a car is expected to stay at each warehouse on its way (for the ETA).
    #[arg(long, env = "VINPATH_WAREHOUSE_DWELL_HOURS", default_value_t = 12)]
    pub warehouse_dwell_hours: i64,
    /// Kilometres from the destination at which the customer hears "arriving soon".
    #[arg(long, env = "VINPATH_ARRIVING_KM", default_value_t = 5.0)]
    pub arriving_km: f64,
    /// Map tiles for the pages, a {z}/{x}/{y} URL template; empty: an offline basemap of land outlines only.
    #[arg(
        long,
        env = "VINPATH_TILE_URL",
        default_value = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    )]
    pub tile_url: String,
    /// Attribution shown for the tiles.
    #[arg(
        long,
        env = "VINPATH_TILE_ATTRIBUTION",
        default_value = "© OpenStreetMap contributors"
    )]
    pub tile_attribution: String,
    /// The tiles' datum: wgs84, or gcj02 for Chinese providers (positions are converted in the browser).
    #[arg(long, env = "VINPATH_TILE_DATUM", default_value = "wgs84")]
    pub tile_datum: String,
    /// The seller's name on the customer's tracking page and its title.
    #[arg(long, env = "VINPATH_BRAND_NAME", default_value = "vinpath")]
    pub brand_name: String,
    /// How customers reach the seller's support (a phone number, an
    /// address); shown on the tracking page when set.
    #[arg(long, env = "VINPATH_SUPPORT_CONTACT", default_value = "")]
    pub support_contact: String,
    /// History entries kept in Redis per order; older ones move to the clip
    /// store (still served by the history API; a websocket resuming from
    /// one gets a reset snapshot).
    #[arg(long, env = "VINPATH_HISTORY_LIMIT", default_value_t = 1000)]
    pub history_limit: usize,
    /// Traccar Client / OsmAnd HTTP listener, or `off`.
    #[arg(long, env = "VINPATH_OSMAND_LISTEN", default_value = "127.0.0.1:5055")]
    pub osmand_listen: String,
    /// JT/T 808 TCP listener, or `off`.
    #[arg(long, env = "VINPATH_JT808_LISTEN", default_value = "127.0.0.1:5015")]
    pub jt808_listen: String,
    /// The JT/T 808 terminals' heartbeat interval, in seconds: a terminal
    /// silent for 3 of them is dropped.
    #[arg(long, env = "VINPATH_JT808_HEARTBEAT_SECS", default_value_t = 60)]
    pub jt808_heartbeat_secs: u64,
    /// JT/T 808 connections held at once; more are closed at accept.
    #[arg(long, env = "VINPATH_JT808_MAX_CONNECTIONS", default_value_t = 50_000)]
    pub jt808_max_connections: usize,
    /// Multiplies the webhook retry schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h).
    #[arg(long, env = "VINPATH_WEBHOOK_RETRY_SCALE", default_value_t = 1.0)]
    pub webhook_retry_scale: f64,
    /// `required`: a delivered scan needs the customer's handover code or a
    /// customer-not-available record with photos; `optional`: it does not.
    #[arg(long, env = "VINPATH_PROOF_OF_DELIVERY", value_enum, default_value_t = ProofOfDelivery::Required)]
    pub proof_of_delivery: ProofOfDelivery,
    /// Allow webhook URLs on loopback or private addresses.
    #[arg(long, env = "VINPATH_WEBHOOK_ALLOW_PRIVATE", default_value_t = false)]
    pub webhook_allow_private: bool,
    /// Days a finished webhook delivery (delivered or failed) stays
    /// listed; the retry schedule spans a little over three.
    #[arg(long, env = "VINPATH_WEBHOOK_KEEP_DAYS", default_value_t = 7)]
    pub webhook_keep_days: u64,
    /// Seconds a delivery (or outbox entry) an instance took stays its own;
    /// after that another instance takes it over (the first may have died).
    #[arg(long, env = "VINPATH_WEBHOOK_LEASE_SECS", default_value_t = 30)]
    pub webhook_lease_secs: u64,
}

/// A listener setting: an address, or `off`.
fn listener(s: String) -> Option<String> {
    (!s.eq_ignore_ascii_case("off")).then_some(s)
}

impl From<ServeArgs> for Settings {
    fn from(a: ServeArgs) -> Self {
        Settings {
            listen: a.listen,
            redis_url: a.redis_url,
            redis_ca: a.redis_ca,
            data_dir: a.data_dir,
            admin_token: a.admin_token,
            secret: a.secret,
            public_url: a.public_url,
            link_days: a.link_expiry_days,
            clip_store: a.store,
            max_clip_bytes: a.max_clip_bytes,
            clip_redirect: a.clip_redirect,
            clip_retention_days: a.clip_retention_days,
            archive_after_days: a.archive_after_days,
            look: PageLook {
                url: a.tile_url,
                attribution: a.tile_attribution,
                datum: a.tile_datum,
                brand: a.brand_name,
                support: a.support_contact,
            },
            store: StoreOptions {
                history_limit: a.history_limit.max(1),
                durable_replicas: a.durable_replicas,
                proof_required: a.proof_of_delivery == ProofOfDelivery::Required,
                geo: GeoOptions {
                    stationary: chrono::Duration::minutes(a.stationary_minutes),
                    off_route_m: a.off_route_km * 1000.0,
                    arriving_m: a.arriving_km * 1000.0,
                    warehouse_dwell: chrono::Duration::hours(a.warehouse_dwell_hours),
                    no_signal: chrono::Duration::minutes(a.no_signal_minutes),
                },
                ..StoreOptions::default()
            },
            devices: DeviceOptions {
                osmand_listen: listener(a.osmand_listen),
                jt808_listen: listener(a.jt808_listen),
                heartbeat: std::time::Duration::from_secs(a.jt808_heartbeat_secs.max(1)),
                max_connections: a.jt808_max_connections,
            },
            webhooks: WebhookOptions {
                retry_scale: a.webhook_retry_scale,
                allow_private: a.webhook_allow_private,
                lease: std::time::Duration::from_secs(a.webhook_lease_secs.max(1)),
                keep: std::time::Duration::from_secs(a.webhook_keep_days.max(1) * 86_400),
                ..WebhookOptions::default()
            },
            ..Settings::default()
        }
    }
}
