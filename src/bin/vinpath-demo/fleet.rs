//! The demo fleet, driven through the real HTTP API exactly as carriers
//! would drive it. Four car carriers leave the GAC Aion plant one after
//! another for the JD warehouses in Wuhan, Shanghai, Chengdu and Beijing
//! with five cars each; at the warehouse the cars are stored, inspected,
//! driven to their customers (each car's own tracker on the last mile) and
//! delivered. Simulated time runs `speed` times faster than real time,
//! always in the past, until it reaches now, then at real speed: the first
//! truck is on the road within seconds and the fleet keeps going for well
//! over half an hour, with cars at every stage. Trucks and trackers are the
//! run's own, so a second run on the same data never meets the first.

use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;
use serde_json::{Value, json};

use vinpath::client::Api;

use crate::devices::Trackers;
use crate::plan::{Leg, Step};
use vinpath::geo::speed::{TrackPoint, distance_m};

pub const PLANT: (f64, f64) = (23.03, 113.47);
const CITIES: [(&str, &str, (f64, f64)); 4] = [
    ("Wuhan", "jd-wuhan", (30.62, 114.14)),
    ("Shanghai", "jd-shanghai", (31.38, 121.27)),
    ("Chengdu", "jd-chengdu", (30.82, 104.16)),
    ("Beijing", "jd-beijing", (39.79, 116.50)),
];
const MP4: &[u8] = include_bytes!("../../../fixtures/clips/truck.mp4");
const STORAGE: &[u8] = include_bytes!("../../../fixtures/clips/warehouse.mp4");
const WEBM: &[u8] = include_bytes!("../../../fixtures/clips/handover.webm");
const MODELS: [&str; 4] = ["Aion Y Plus", "Aion S Max", "Aion V", "Aion Hyper GT"];
/// How far back the simulated clock starts: at the default speed it
/// reaches real time after about half an hour.
const LEAD_HOURS: i64 = 20;

/// What `run` needs.
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

/// Kilometres between two `(lat, lon)` points, on vinpath's own Earth.
pub fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let p = |(lat, lon): (f64, f64)| TrackPoint { at_ms: 0, lat, lon };
    distance_m(&p(a), &p(b)) / 1000.0
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

struct Sim {
    api: Api,
    key: String,
    start: DateTime<Utc>,
    speed: f64,
    began: std::time::Instant,
    seq: u64,
    /// Each order's tracking token (the customer's page and handover).
    tokens: std::collections::HashMap<String, String>,
    /// The handover code each customer was given at the door.
    codes: std::collections::HashMap<String, String>,
}

impl Sim {
    /// The simulated now: fast, and never past the real now.
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

    fn scans(
        &mut self,
        orders: &[String],
        milestone: &str,
        at: DateTime<Utc>,
        extra: &Value,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        for o in orders {
            let mut e = json!({"event_id": self.id(milestone), "kind": "scan", "order_id": o,
                "milestone": milestone, "occurred_at": iso(at)});
            // The driver hands the car over with the customer's code.
            if milestone == "delivered"
                && let Some(code) = self.codes.get(o)
            {
                e["handover_code"] = json!(code);
            }
            if let (Some(e), Some(x)) = (e.as_object_mut(), extra.as_object()) {
                e.extend(x.clone());
            }
            out.push(e);
        }
        out
    }

    async fn clip(
        &self,
        path: &str,
        kind: &str,
        body: &'static [u8],
        ctype: &str,
        at: DateTime<Utc>,
    ) {
        let url = format!(
            "{}{path}?kind={kind}&captured_at={}",
            self.api.base,
            iso(at)
        );
        let sent = self
            .api
            .client
            .post(url)
            .insert_header(("Authorization", format!("Bearer {}", self.key)))
            .insert_header(("Content-Type", ctype))
            .send_body(body)
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => eprintln!("simulate: a clip upload to {path} answered {}", r.status()),
            Err(e) => eprintln!("simulate: a clip upload failed: {e}"),
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
    let start = Utc::now() - chrono::Duration::hours(LEAD_HOURS);
    let mut sim = Sim {
        api: api.clone(),
        key,
        start,
        speed: s.speed,
        began: std::time::Instant::now(),
        seq: 0,
        tokens: Default::default(),
        codes: Default::default(),
    };
    let run = Utc::now().timestamp();
    let mut legs = Vec::new();
    for (l, (name, _site, city)) in CITIES.iter().enumerate() {
        // The run's own plates: a truck of an earlier run keeps its track.
        let truck = format!("YUE-A-{}{l}", run.rem_euclid(10_000));
        let mut orders = Vec::new();
        let mut homes = Vec::new();
        for c in 0..5 {
            let id = format!("DEMO-{run}-{l}{c}");
            let home = (
                city.0 + 0.05 * (c as f64 - 2.0),
                city.1 + 0.04 * (c as f64 - 2.0),
            );
            let body = json!({"order_id": id, "model": MODELS[(l + c) % 4], "carrier_id": s.carrier,
                "origin": {"name": "GAC Aion Panyu plant", "lat": PLANT.0, "lon": PLANT.1},
                "destination": {"name": format!("Customer {l}{c}"), "address": format!("{name}, home {}", c + 1),
                    "lat": home.0, "lon": home.1},
                "promised_by": iso(start + chrono::Duration::hours(30 + 3 * l as i64))});
            let (status, v) = api.post("/api/v1/orders", &api.admin, &body).await?;
            if status != 201 {
                return Err(format!("order {id}: {status} {v}"));
            }
            println!(
                "customer {id}: {}",
                v["tracking_url"].as_str().unwrap_or("")
            );
            if let Some(t) = v["tracking_token"].as_str() {
                sim.tokens.insert(id.clone(), t.to_owned());
            }
            orders.push(id);
            homes.push(home);
        }
        // Every truck leaves at once (a few minutes apart), so every
        // printed link shows a car on its way; their roads' lengths
        // (830 to 1,900 km) spread them over every stage as the demo runs.
        let load_at = start + chrono::Duration::minutes(10 + 3 * l as i64);
        legs.push(Leg::new(truck, *city, orders, homes, load_at));
    }
    let trucks: Vec<&str> = legs.iter().map(|l| l.truck.as_str()).collect();
    let mut trackers = Trackers::start(
        &api,
        &sim.key,
        &trucks,
        s.jt808.as_deref(),
        s.osmand.as_deref(),
        run,
    )
    .await?;
    // The first truck's deck camera streams live while the demo runs.
    let _camera = crate::camera::start(&api, &sim.key, &legs[0].truck, run).await;
    let all: Vec<String> = legs.iter().flat_map(|l| l.orders.clone()).collect();
    let produced = sim.scans(&all, "produced", start, &json!({}));
    sim.post(produced).await?;
    let released = sim.scans(
        &all,
        "released",
        start + chrono::Duration::minutes(5),
        &json!({"site_id": "gac-panyu"}),
    );
    sim.post(released).await?;

    let bar = ProgressBar::new(legs.len() as u64 * 100);
    bar.set_style(ProgressStyle::with_template("{bar:40} {msg}").map_err(|e| e.to_string())?);
    let mut rng = rand::rng();
    let mut minute = start + chrono::Duration::minutes(6);
    while legs.iter().any(|l| !l.done()) {
        minute += chrono::Duration::minutes(1);
        sim.until(minute).await;
        let mut events = Vec::new();
        for (i, leg) in legs.iter_mut().enumerate() {
            for step in leg.steps(minute) {
                match step {
                    Step::Scan(milestone, extra) => {
                        events.extend(sim.scans(&leg.orders, milestone, minute, &extra));
                        if i == 0 && milestone == "in_storage" {
                            sim.clip(
                                &format!("/api/v1/orders/{}/clips", leg.orders[0]),
                                "storage",
                                STORAGE,
                                "video/mp4",
                                minute,
                            )
                            .await;
                        }
                        // Checked and photographed as each car is loaded,
                        // the first car of the first truck with a small
                        // scratch on its front bumper already.
                        if milestone == "loaded" {
                            for (c, order) in leg.orders.iter().enumerate() {
                                let damages = if i == 0 && c == 0 {
                                    json!([{"area": "03", "type": "12", "severity": "1", "note": "factory scuff"}])
                                } else {
                                    json!([])
                                };
                                crate::custody::inspect(
                                    &sim.api, &sim.key, order, "pickup", minute, damages,
                                )
                                .await;
                            }
                        }
                        if milestone == "loaded" && i == 0 {
                            // The loading is posted first: a truck's clip
                            // reaches the cars on board.
                            sim.post(std::mem::take(&mut events)).await?;
                            sim.clip(
                                &format!("/api/v1/trucks/{}/clips", leg.truck),
                                "transport",
                                MP4,
                                "video/mp4",
                                minute,
                            )
                            .await;
                        }
                    }
                    Step::Truck(lat, lon, kmh) => {
                        let (lat, lon) = (
                            lat + rng.random_range(-0.0002..0.0002),
                            lon + rng.random_range(-0.0002..0.0002),
                        );
                        // One jump, filtered as implausible.
                        let lon = if i == 1 && leg.driven_minutes(minute) == 90 {
                            lon + 0.05
                        } else {
                            lon
                        };
                        if trackers.report(i, minute, lat, lon, kmh).await {
                            continue;
                        }
                        let fix = json!({"event_id": sim.id("gps"), "kind": "gps", "truck_id": leg.truck,
                            "occurred_at": iso(minute), "lat": lat, "lon": lon, "speed_kmh": kmh, "hdop": 0.9});
                        // The Chengdu truck loses coverage for twenty minutes
                        // and sends it all late.
                        let m = leg.driven_minutes(minute);
                        if i == 2 && (120..140).contains(&m) {
                            leg.late.push(fix);
                        } else {
                            events.push(fix);
                            if i == 2 && m == 160 {
                                events.append(&mut leg.late);
                            }
                        }
                    }
                    Step::Car(c, lat, lon) => {
                        events.push(json!({"event_id": sim.id("car"), "kind": "gps", "order_id": leg.orders[c],
                            "occurred_at": iso(minute), "lat": lat, "lon": lon, "speed_kmh": 30.0, "hdop": 1.0}));
                    }
                    Step::Handover => {
                        // At the door; the first car of the first truck
                        // arrives with a new scratch on its left front door.
                        for (c, order) in leg.orders.iter().enumerate() {
                            let damages = match (i, c) {
                                (0, 0) => json!([
                                    {"area": "03", "type": "12", "severity": "1", "note": "factory scuff"},
                                    {"area": "10", "type": "12", "severity": "2", "note": "new scratch"},
                                ]),
                                _ => json!([]),
                            };
                            crate::custody::inspect(
                                &sim.api, &sim.key, order, "delivery", minute, damages,
                            )
                            .await;
                            // The customer looks the car over and signs on
                            // their phone; the code goes with the delivery.
                            if let Some(token) = sim.tokens.get(order)
                                && let Some(code) = crate::custody::sign(
                                    &sim.api,
                                    token,
                                    &format!("Customer {i}{c}"),
                                    (i, c) == (0, 0),
                                )
                                .await
                            {
                                sim.codes.insert(order.clone(), code);
                            }
                        }
                        if i == 0 {
                            sim.clip(
                                &format!("/api/v1/orders/{}/clips", leg.orders[0]),
                                "handover",
                                WEBM,
                                "video/webm",
                                minute,
                            )
                            .await;
                        }
                    }
                }
            }
        }
        sim.post(events).await?;
        bar.set_position(legs.iter().map(|l| l.progress(minute)).sum());
        bar.set_message(format!(
            "simulated {} · {}",
            iso(minute),
            legs.iter()
                .map(|l| l.stage(minute))
                .collect::<Vec<_>>()
                .join(" · ")
        ));
    }
    bar.finish_with_message("all delivered");
    Ok(())
}
