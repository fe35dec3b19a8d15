//! The demo fleet driven through the real HTTP API exactly
//! as carriers would drive it. Four car carriers leave the GAC Aion plant
//! for the JD warehouses in Wuhan, Shanghai, Chengdu and Beijing with five
//! cars each; the cars are stored, inspected and delivered to their
//! customers. Time runs fast (a simulated minute every `1/speed` of a real
//! one) and always in the past, so no event is from the future; the fixes
//! carry GPS noise, one jump and one late batch; clips are filmed at
//! loading, in storage and at handover.

use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;
use serde_json::{Value, json};

use vinpath::client::Api;

use crate::devices::Trackers;
use vinpath::geo::speed::{TrackPoint, distance_m};

const PLANT: (f64, f64) = (23.03, 113.47);
const LEGS: [(&str, &str, (f64, f64)); 4] = [
    ("YUE-A-10001", "jd-wuhan", (30.62, 114.14)),
    ("YUE-A-10002", "jd-shanghai", (31.38, 121.27)),
    ("YUE-A-10003", "jd-chengdu", (30.82, 104.16)),
    ("YUE-A-10004", "jd-beijing", (39.79, 116.50)),
];
const MP4: &[u8] = include_bytes!("../../../fixtures/clips/truck.mp4");
const STORAGE: &[u8] = include_bytes!("../../../fixtures/clips/warehouse.mp4");
const WEBM: &[u8] = include_bytes!("../../../fixtures/clips/handover.webm");
const MODELS: [&str; 4] = ["Aion Y Plus", "Aion S Max", "Aion V", "Aion Hyper GT"];

/// What `simulate` needs.
pub struct Simulation {
    pub base: String,
    pub admin: String,
    /// The carrier's API key; `None` creates the carrier.
    pub carrier_key: Option<String>,
    pub carrier: String,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// vinpath's JT/T 808 listener, for the truck with a terminal.
    pub jt808: Option<String>,
    /// vinpath's Traccar Client URL, for the truck whose driver runs it.
    pub osmand: Option<String>,
}

/// Where a truck is after `km` along the straight road from a to b.
fn along(a: (f64, f64), b: (f64, f64), f: f64) -> (f64, f64) {
    (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f)
}

/// Kilometres between two `(lat, lon)` points, on vinpath's own Earth.
fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let p = |(lat, lon): (f64, f64)| TrackPoint { at_ms: 0, lat, lon };
    distance_m(&p(a), &p(b)) / 1000.0
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

struct Sim {
    api: Api,
    key: String,
    start: DateTime<Utc>,
    speed: f64,
    began: std::time::Instant,
    seq: u64,
}

impl Sim {
    /// The simulated now: always in the past.
    fn now(&self) -> DateTime<Utc> {
        let sim = self.start
            + chrono::Duration::milliseconds(
                (self.began.elapsed().as_secs_f64() * self.speed * 1000.0) as i64,
            );
        sim.min(Utc::now() - chrono::Duration::seconds(1))
    }

    fn id(&mut self, what: &str) -> String {
        self.seq += 1;
        format!("sim-{}-{what}-{}", self.start.timestamp(), self.seq)
    }

    async fn post(&mut self, events: Vec<Value>) -> Result<(), String> {
        if events.is_empty() {
            return Ok(());
        }
        self.api.events(&self.key, events).await
    }

    async fn scans(
        &mut self,
        orders: &[String],
        milestone: &str,
        extra: Value,
    ) -> Result<(), String> {
        let at = iso(self.now());
        let mut events = Vec::new();
        for o in orders {
            let mut e = json!({"event_id": self.id(milestone), "kind": "scan", "order_id": o, "milestone": milestone, "occurred_at": at});
            if let (Some(e), Some(x)) = (e.as_object_mut(), extra.as_object()) {
                e.extend(x.clone());
            }
            events.push(e);
        }
        self.post(events).await
    }

    async fn clip(&self, path: &str, kind: &str, body: &'static [u8], ctype: &str) {
        let url = format!(
            "{}{path}?kind={kind}&captured_at={}",
            self.api.base,
            iso(self.now())
        );
        let sent = self
            .api
            .client
            .post(url)
            .insert_header(("Authorization", format!("Bearer {}", self.key)))
            .insert_header(("Content-Type", ctype))
            .send_body(body)
            .await;
        if let Err(e) = sent {
            eprintln!("simulate: a clip upload failed: {e}");
        }
    }

    /// Waits until the simulated clock passes `t`.
    async fn until(&self, t: DateTime<Utc>) {
        while self.now() < t {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Runs the demo fleet to the end; prints each customer's tracking link.
pub async fn run(s: Simulation) -> Result<(), String> {
    let api = Api::new(&s.base, &s.admin, 16);
    let key = match s.carrier_key {
        Some(k) => k,
        None => api.carrier(&s.carrier).await?,
    };
    // A day of simulated time ends now: it starts in the past.
    let start = Utc::now() - chrono::Duration::hours(30);
    let mut sim = Sim {
        api: api.clone(),
        key,
        start,
        speed: s.speed,
        began: std::time::Instant::now(),
        seq: 0,
    };
    let stamp = start.timestamp();
    let mut legs = Vec::new();
    for (l, (truck, _site, city)) in LEGS.iter().enumerate() {
        let mut orders = Vec::new();
        for c in 0..5 {
            let id = format!("DEMO-{stamp}-{l}{c}");
            let home = (
                city.0 + 0.05 * (c as f64 - 2.0),
                city.1 + 0.04 * (c as f64 - 2.0),
            );
            let body = json!({"order_id": id, "model": MODELS[(l + c) % 4], "carrier_id": s.carrier,
                "origin": {"name": "GAC Aion Panyu plant", "lat": PLANT.0, "lon": PLANT.1},
                "destination": {"name": format!("Customer {l}{c}"), "lat": home.0, "lon": home.1},
                "promised_by": iso(start + chrono::Duration::hours(40))});
            let (status, v) = api.post("/api/v1/orders", &api.admin, &body).await?;
            if status != 201 {
                return Err(format!("order {id}: {status} {v}"));
            }
            println!(
                "customer {id}: {}",
                v["tracking_url"].as_str().unwrap_or("")
            );
            orders.push(id);
        }
        legs.push((truck.to_string(), *city, orders));
    }
    let trucks: Vec<&str> = LEGS.iter().map(|(t, _, _)| *t).collect();
    let mut trackers = Trackers::start(
        &api,
        &sim.key,
        &trucks,
        s.jt808.as_deref(),
        s.osmand.as_deref(),
    )
    .await?;
    let bar = ProgressBar::new(100);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}% {msg}").map_err(|e| e.to_string())?,
    );
    let all: Vec<String> = legs.iter().flat_map(|(_, _, o)| o.clone()).collect();
    sim.scans(&all, "produced", json!({})).await?;
    sim.until(start + chrono::Duration::minutes(30)).await;
    sim.scans(&all, "released", json!({"site_id": "gac-panyu"}))
        .await?;
    for (truck, _, orders) in &legs {
        sim.scans(
            orders,
            "loaded",
            json!({"truck_id": truck, "site_id": "gac-panyu", "lat": PLANT.0, "lon": PLANT.1}),
        )
        .await?;
    }
    sim.clip(
        &format!("/api/v1/trucks/{}/clips", legs[0].0),
        "transport",
        MP4,
        "video/mp4",
    )
    .await;
    // Parked at the plant a few minutes (so the geofence knows they are in
    // it), then the drive: a fix a simulated minute per truck, ~80 km/h.
    let parked = sim.now();
    for m in 0..5 {
        let t = parked + chrono::Duration::minutes(m);
        sim.until(t).await;
        let mut fixes = Vec::new();
        for (i, (truck, _, _)) in legs.iter().enumerate() {
            if !trackers.report(i, t, PLANT.0, PLANT.1, 0.0).await {
                fixes.push(json!({"event_id": sim.id("gps"), "kind": "gps", "truck_id": truck, "occurred_at": iso(t),
                    "lat": PLANT.0, "lon": PLANT.1, "speed_kmh": 0.0, "hdop": 0.9}));
            }
        }
        sim.post(fixes).await?;
    }
    let depart = sim.now();
    let longest = legs
        .iter()
        .map(|(_, c, _)| km(PLANT, *c))
        .fold(0.0, f64::max);
    let hours = longest / 80.0;
    let mut late: Vec<Value> = Vec::new();
    let mut minute = 0i64;
    let mut rng = rand::rng();
    loop {
        minute += 1;
        let t = depart + chrono::Duration::minutes(minute);
        sim.until(t).await;
        let mut fixes = Vec::new();
        let mut moving = false;
        for (i, (truck, city, _)) in legs.iter().enumerate() {
            let total = km(PLANT, *city);
            let f = (minute as f64 / 60.0 * 80.0 / total).min(1.0);
            moving |= f < 1.0;
            if f >= 1.0 && minute as f64 / 60.0 > total / 80.0 + 0.5 {
                continue;
            }
            let (mut lat, mut lon) = along(PLANT, *city, f);
            lat += rng.random_range(-0.0002..0.0002);
            lon += rng.random_range(-0.0002..0.0002);
            if i == 1 && minute == 90 {
                lon += 0.05; // a jump, filtered as implausible
            }
            let kmh = if f < 1.0 { 80.0 } else { 0.0 };
            if trackers.report(i, t, lat, lon, kmh).await {
                continue;
            }
            let fix = json!({"event_id": sim.id("gps"), "kind": "gps", "truck_id": truck, "occurred_at": iso(t),
                "lat": lat, "lon": lon, "speed_kmh": kmh, "hdop": 0.9});
            // Truck 3 loses coverage for twenty minutes and sends it all late.
            if i == 2 && (120..140).contains(&minute) {
                late.push(fix);
            } else {
                fixes.push(fix);
            }
        }
        if minute == 160 {
            fixes.append(&mut late);
        }
        sim.post(fixes).await?;
        bar.set_position(((minute as f64 / 60.0 / (hours + 0.6)) * 70.0).min(70.0) as u64);
        bar.set_message(format!("trucks on the road, simulated {}", iso(t)));
        if !moving && minute as f64 / 60.0 > hours + 0.5 {
            break;
        }
    }
    // At the warehouses: off the truck, in storage, inspected, delivered.
    for (step, (milestone, progress)) in [
        ("unloaded", 75),
        ("gated_in", 78),
        ("in_storage", 80),
        ("pdi", 85),
        ("ready_for_delivery", 88),
        ("out_for_delivery", 92),
    ]
    .iter()
    .enumerate()
    {
        sim.until(sim.now() + chrono::Duration::minutes(20)).await;
        sim.scans(&all, milestone, json!({})).await?;
        if step == 2 {
            sim.clip(
                &format!("/api/v1/orders/{}/clips", all[0]),
                "storage",
                STORAGE,
                "video/mp4",
            )
            .await;
        }
        bar.set_position(*progress);
        bar.set_message(milestone.to_string());
    }
    sim.until(sim.now() + chrono::Duration::minutes(40)).await;
    sim.clip(
        &format!("/api/v1/orders/{}/clips", all[0]),
        "handover",
        WEBM,
        "video/webm",
    )
    .await;
    sim.scans(&all, "delivered", json!({})).await?;
    bar.finish_with_message("all delivered");
    Ok(())
}
