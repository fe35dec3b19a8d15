//! The real thing for tests: a `redis-server` of the test's own on a free
//! port (`daemon`), vinpath built by the same `Application::build` main
//! uses, and HTTP and websocket clients over real sockets. A failing test
//! shows vinpath's log and its daemons' (set `VINPATH_TEST_LOG` to change
//! the level, `debug` say).

mod cluster;
mod daemon;
mod stores;

pub use cluster::TestCluster;
pub use daemon::{Daemon, TestRedis, free_port};
pub use stores::{TestS3, Where};

use std::time::Duration;

use awc::ws;
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use vinpath::app::{Application, Settings};
use vinpath::clock::Clock;
use vinpath::live::LiveOptions;
use vinpath::store::StoreOptions;

/// Sends vinpath's log to the test's captured output: shown only when the
/// test fails. (Threads vinpath spawns inherit the capture.)
fn show_logs_of_failing_tests() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let level = std::env::var("VINPATH_TEST_LOG").unwrap_or_else(|_| "info".into());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
                "{level},actix_server=warn,fantoccini=warn,hyper=warn"
            )))
            .with_test_writer()
            .with_ansi(false)
            .try_init();
    });
}

/// A running vinpath.
pub struct TestApp {
    handle: actix_web::dev::ServerHandle,
    /// Its background jobs, to run one now.
    pub jobs: vinpath::jobs::Jobs,
    pub base: String,
    pub admin: String,
    pub client: awc::Client,
    /// The client the tests share with the benchmark and the demo.
    pub api: vinpath::client::Api,
    /// The JT/T 808 listener's address, when the settings turned it on.
    pub jt808: Option<String>,
    /// The Traccar Client listener's base URL, when on.
    pub osmand: Option<String>,
}

pub fn settings(redis: &TestRedis) -> Settings {
    settings_at(redis.url())
}

/// Settings for a vinpath on the Redis (or the cluster's seeds) at `url`.
pub fn settings_at(url: String) -> Settings {
    Settings {
        listen: "127.0.0.1:0".into(),
        redis_url: Some(url),
        admin_token: Some("test-admin-token".into()),
        workers: Some(1),
        live: LiveOptions {
            ping_interval: Duration::from_millis(500),
            peer_timeout: Duration::from_secs(3),
            fleet_frame: Duration::from_millis(500),
            beat_every: Duration::from_millis(300),
        },
        // The tests of other things deliver cars without the customer's
        // handover; tests/service/handover.rs runs with the default
        // (`required`).
        store: StoreOptions {
            proof_required: false,
            ..StoreOptions::default()
        },
        clock: Clock::System,
        // Tests step the background jobs themselves (`TestApp::jobs`).
        signal_every: Duration::from_secs(3600),
        repair_every: Duration::from_secs(3600),
        sweep_every: Duration::from_secs(3600),
        ..Settings::default()
    }
}

impl TestApp {
    pub async fn spawn(redis: &TestRedis) -> Self {
        Self::with(settings(redis)).await
    }

    /// A vinpath on the Redis (or the cluster's seeds) at `url`.
    pub async fn spawn_at(url: String) -> Self {
        Self::with(settings_at(url)).await
    }

    pub async fn with(settings: Settings) -> Self {
        show_logs_of_failing_tests();
        let admin = settings
            .admin_token
            .clone()
            .expect("tests set an admin token");
        let app = Application::build(settings).await.expect("vinpath starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let handle = app.handle();
        let jobs = app.jobs();
        let jt808 = app.jt808_port().map(|p| format!("127.0.0.1:{p}"));
        let osmand = app.osmand_port().map(|p| format!("http://127.0.0.1:{p}"));
        actix_web::rt::spawn(app.run_until_stopped());
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(10))
            .finish();
        let api = vinpath::client::Api::new(&base, &admin, 16);
        let app = Self {
            handle,
            jobs,
            base,
            admin,
            client,
            api,
            jt808,
            osmand,
        };
        // As a load balancer would, wait until it says it is ready (it
        // hears its live channels moments after it starts); a test whose
        // Redis is down on purpose goes on after a while.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while app.call("GET", "/readyz", None, None).await.status != 200
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        app
    }

    /// Stops the server (its websockets drop), as a restart would.
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    pub fn ws_base(&self) -> String {
        self.base.replacen("http", "ws", 1)
    }

    /// Sends a request with an optional bearer token and JSON body;
    /// returns the status, headers and body as JSON (or Null).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.api
            .call(method, path, token, body.as_ref())
            .await
            .expect("vinpath answers")
    }

    /// Sends raw bytes with a content type.
    pub async fn raw(&self, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("Content-Type", content_type))
            .send_body(body)
            .await;
        Reply::read(res.expect("vinpath answers"))
            .await
            .expect("a whole answer")
    }

    pub async fn carrier(&self, id: &str) -> String {
        let r = self
            .call(
                "POST",
                "/api/v1/carriers",
                Some(&self.admin),
                Some(json!({"carrier_id": id, "name": id})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["api_key"].as_str().expect("an api key").to_owned()
    }

    pub async fn dispatcher(&self) -> String {
        let r = self
            .call(
                "POST",
                "/api/v1/dispatchers",
                Some(&self.admin),
                Some(json!({"name": "ops"})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["token"].as_str().expect("a token").to_owned()
    }

    /// Creates an order for a carrier; returns its tracking token.
    pub async fn order(&self, id: &str, carrier: &str) -> String {
        let r = self
            .call(
                "POST",
                "/api/v1/orders",
                Some(&self.admin),
                Some(order_body(id, carrier)),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["tracking_token"]
            .as_str()
            .expect("a token")
            .to_owned()
    }

    pub async fn events(&self, key: &str, events: Value) -> Reply {
        self.call(
            "POST",
            "/api/v1/events",
            Some(key),
            Some(json!({ "events": events })),
        )
        .await
    }

    /// Posts events that must all be judged as `expect`.
    pub async fn post_expect(&self, key: &str, events: Value, expect: &str) {
        let r = self.events(key, events).await;
        assert_eq!(r.status, 200, "{}", r.body);
        for res in r.body["results"].as_array().expect("results") {
            assert_eq!(res["status"], expect, "{res}");
        }
    }

    pub async fn get_order(&self, id: &str) -> Value {
        let r = self
            .call(
                "GET",
                &format!("/api/v1/orders/{id}"),
                Some(&self.admin),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// The whole history of an order, every page.
    pub async fn history(&self, id: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let q = after
                .as_ref()
                .map(|a| format!("?after={a}&limit=50"))
                .unwrap_or_else(|| "?limit=50".into());
            let r = self
                .call(
                    "GET",
                    &format!("/api/v1/orders/{id}/history{q}"),
                    Some(&self.admin),
                    None,
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            out.extend(r.body["events"].as_array().expect("events").iter().cloned());
            match r.body["next"].as_str() {
                Some(n) => after = Some(n.to_owned()),
                None => return out,
            }
        }
    }

    /// The carrier events of an order's history (scans and fixes), without
    /// what vinpath added (ETA, notices, geofence milestones, clips).
    pub async fn carrier_history(&self, id: &str) -> Vec<Value> {
        let all = self.history(id).await;
        all.into_iter()
            .filter(|e| e["kind"] == "scan" || e["kind"] == "gps")
            .collect()
    }

    pub async fn ws(&self, path: &str) -> Result<Socket, u16> {
        Socket::open(&self.client, &format!("{}{path}", self.ws_base())).await
    }
}

/// An HTTP answer as the tests read it.
pub use vinpath::client::Reply;

/// What tests check of a problem+json answer.
pub trait Problem {
    fn assert_problem(&self, status: u16, code: &str);
}

impl Problem for Reply {
    /// Asserts a problem+json answer with this status and code.
    fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(self.body["status"], status);
        assert_eq!(self.body["code"], code, "{}", self.body);
        assert!(self.body["title"].is_string() && self.body["type"].is_string());
    }
}

/// A websocket client that answers pings, as browsers do.
pub struct Socket {
    conn: actix_codec::Framed<awc::BoxedSocket, ws::Codec>,
}

impl Socket {
    /// Opens a websocket at `url` (`ws://...`); the refusal's status if
    /// refused.
    pub async fn open(client: &awc::Client, url: &str) -> Result<Self, u16> {
        match client.ws(url).connect().await {
            Ok((_, conn)) => Ok(Socket { conn }),
            Err(awc::error::WsClientError::InvalidResponseStatus(s)) => Err(s.as_u16()),
            Err(e) => panic!("websocket failed: {e}"),
        }
    }

    /// The next JSON text frame, or `None` if none comes within `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.conn.next())
                .await
                .ok()??;
            match frame.expect("a websocket frame") {
                ws::Frame::Text(t) => return Some(serde_json::from_slice(&t).expect("JSON text")),
                ws::Frame::Ping(p) => {
                    let _ = self.conn.send(ws::Message::Pong(p)).await;
                }
                ws::Frame::Close(_) => return None,
                _ => {}
            }
        }
    }

    pub async fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(5))
            .await
            .expect("a message within 5 s")
    }

    /// The close code the server closed the socket with within `wait`,
    /// reading (and answering pings) meanwhile; `None` if it did not.
    pub async fn close_code_within(&mut self, wait: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.conn.next()).await {
                Err(_) | Ok(None) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(ws::Frame::Close(reason)))) => {
                    return reason.map(|r| u16::from(r.code));
                }
                Ok(Some(Ok(ws::Frame::Ping(p)))) => {
                    let _ = self.conn.send(ws::Message::Pong(p)).await;
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Whether the server closed the socket within `wait`, never answering
    /// its pings (a silent peer).
    pub async fn closed_when_silent(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.conn.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(ws::Frame::Close(_)))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

pub fn order_body(id: &str, carrier: &str) -> Value {
    json!({"order_id": id, "vin": "LNAA2AA17SF000001", "model": "Aion Y Plus",
           "carrier_id": carrier,
           "origin": {"name": "GAC Aion Panyu plant", "lat": 23.03, "lon": 113.47},
           "destination": {"name": "Li Wei", "address": "Chaoyang, Beijing", "lat": 39.92, "lon": 116.46},
           "promised_by": "2026-12-30T18:00:00+08:00"})
}

/// An RFC 3339 time `minutes` from when the tests started (negative: in
/// the past). One base for the whole run, so an event built twice is the
/// same event (a changed `occurred_at` would make its id `event_id_reused`).
pub fn at(minutes: i64) -> String {
    static BASE: std::sync::LazyLock<DateTime<Utc>> = std::sync::LazyLock::new(Utc::now);
    at_from(*BASE, minutes)
}

pub fn at_from(base: DateTime<Utc>, minutes: i64) -> String {
    (base + chrono::Duration::minutes(minutes)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn scan(id: &str, order: &str, milestone: &str, minutes: i64) -> Value {
    json!({"event_id": id, "kind": "scan", "order_id": order, "milestone": milestone, "occurred_at": at(minutes)})
}

pub fn truck_fix(id: &str, truck: &str, minutes: i64, lat: f64, lon: f64) -> Value {
    json!({"event_id": id, "kind": "gps", "truck_id": truck, "occurred_at": at(minutes), "lat": lat, "lon": lon, "speed_kmh": 70.0, "heading": 10})
}

pub fn order_fix(id: &str, order: &str, minutes: i64, lat: f64, lon: f64) -> Value {
    json!({"event_id": id, "kind": "gps", "order_id": order, "occurred_at": at(minutes), "lat": lat, "lon": lon})
}

/// Brings an order to `loaded` on a truck, with scans `minutes` ago.
pub async fn load(app: &TestApp, key: &str, order: &str, truck: &str, minutes: i64) {
    let mut loaded = scan(&format!("{order}-load"), order, "loaded", minutes);
    loaded["truck_id"] = json!(truck);
    app.post_expect(
        key,
        json!([
            scan(&format!("{order}-rel"), order, "released", minutes - 1),
            loaded
        ]),
        "accepted",
    )
    .await;
}

/// A latitude along a test drive north from Guangzhou: step `i`.
pub fn lat(i: i64) -> f64 {
    23.0 + i as f64 * 0.01
}
