//! One truck's leg of the demo as a schedule in simulated time: loaded at
//! the plant, a few minutes parked, the drive at 80 km/h, then at the
//! warehouse its cars are unloaded, stored, inspected, driven to their
//! customers by their own trackers, and delivered.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::fleet::{PLANT, km};

/// What a leg does in one simulated minute.
pub enum Step {
    /// A scan of every car of the leg (with these extra fields).
    Scan(&'static str, Value),
    /// The truck's fix: lat, lon, km/h.
    Truck(f64, f64, f64),
    /// Car `i`'s own fix on its last mile.
    Car(usize, f64, f64),
    /// The cars are handed over (a clip is filmed).
    Handover,
}

/// The warehouse milestones, minutes after the truck arrives.
const AT_WAREHOUSE: [(&str, i64); 6] = [
    ("unloaded", 30),
    ("gated_in", 40),
    ("in_storage", 60),
    ("pdi", 150),
    ("ready_for_delivery", 170),
    ("out_for_delivery", 190),
];
/// The last mile, minutes after the truck arrives, and the delivery.
const LAST_MILE: (i64, i64) = (191, 250);
const KMH: f64 = 80.0;
const PARKED_MIN: i64 = 5;

pub struct Leg {
    pub truck: String,
    pub city: (f64, f64),
    pub orders: Vec<String>,
    pub homes: Vec<(f64, f64)>,
    load_at: DateTime<Utc>,
    depart_at: DateTime<Utc>,
    arrive_at: DateTime<Utc>,
    /// Fixes held back while coverage is lost, sent late.
    pub late: Vec<Value>,
    /// Scans of the warehouse schedule already sent.
    sent: usize,
    loaded: bool,
    delivered: bool,
}

impl Leg {
    pub fn new(
        truck: String,
        city: (f64, f64),
        orders: Vec<String>,
        homes: Vec<(f64, f64)>,
        load_at: DateTime<Utc>,
    ) -> Self {
        let depart_at = load_at + Duration::minutes(PARKED_MIN);
        let drive = Duration::minutes((km(PLANT, city) / KMH * 60.0).ceil() as i64);
        Self {
            truck,
            city,
            orders,
            homes,
            load_at,
            depart_at,
            arrive_at: depart_at + drive,
            late: Vec::new(),
            sent: 0,
            loaded: false,
            delivered: false,
        }
    }

    pub fn done(&self) -> bool {
        self.delivered
    }

    pub fn driven_minutes(&self, t: DateTime<Utc>) -> i64 {
        (t - self.depart_at).num_minutes()
    }

    fn end(&self) -> DateTime<Utc> {
        self.arrive_at + Duration::minutes(LAST_MILE.1)
    }

    /// How far along the leg is, 0 to 100.
    pub fn progress(&self, t: DateTime<Utc>) -> u64 {
        let whole = (self.end() - self.load_at).num_seconds().max(1) as f64;
        ((t - self.load_at).num_seconds() as f64 / whole * 100.0).clamp(0.0, 100.0) as u64
    }

    /// The leg in a word, for the progress line.
    pub fn stage(&self, t: DateTime<Utc>) -> &'static str {
        if self.delivered {
            "delivered"
        } else if t < self.load_at {
            "waiting"
        } else if t < self.arrive_at {
            "on the road"
        } else if self.sent < AT_WAREHOUSE.len() {
            "at the warehouse"
        } else {
            "out for delivery"
        }
    }

    /// What the leg does at simulated minute `t`.
    pub fn steps(&mut self, t: DateTime<Utc>) -> Vec<Step> {
        let mut out = Vec::new();
        if self.delivered || t < self.load_at {
            return out;
        }
        if !self.loaded {
            self.loaded = true;
            out.push(Step::Scan(
                "loaded",
                json!({"truck_id": self.truck, "site_id": "gac-panyu", "lat": PLANT.0, "lon": PLANT.1}),
            ));
        }
        if t <= self.arrive_at {
            let total = (self.arrive_at - self.depart_at).num_seconds().max(1) as f64;
            let f = ((t - self.depart_at).num_seconds() as f64 / total).clamp(0.0, 1.0);
            let kmh = if t > self.depart_at && f < 1.0 {
                KMH
            } else {
                0.0
            };
            let (lat, lon) = along(PLANT, self.city, f);
            out.push(Step::Truck(lat, lon, kmh));
            return out;
        }
        let after = (t - self.arrive_at).num_minutes();
        while let Some((milestone, at)) = AT_WAREHOUSE.get(self.sent)
            && after >= *at
        {
            out.push(Step::Scan(milestone, json!({})));
            self.sent += 1;
        }
        if (LAST_MILE.0..LAST_MILE.1).contains(&after) {
            let f = (after - LAST_MILE.0) as f64 / (LAST_MILE.1 - LAST_MILE.0) as f64;
            for (i, home) in self.homes.iter().enumerate() {
                let (lat, lon) = along(self.city, *home, f);
                out.push(Step::Car(i, lat, lon));
            }
        } else if after >= LAST_MILE.1 {
            out.push(Step::Handover);
            out.push(Step::Scan("delivered", json!({})));
            self.delivered = true;
        }
        out
    }
}

/// Where a vehicle is a fraction `f` of the straight road from a to b.
fn along(a: (f64, f64), b: (f64, f64), f: f64) -> (f64, f64) {
    (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f)
}
