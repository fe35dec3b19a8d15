//! Event times and fixes for the load: a clock that never runs into the
//! future, and fixes a few metres from the plant.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// Event times: a clock that starts two days back and ticks a millisecond
/// per event, so every event is newer than the last and never in the future.
pub struct Ticks {
    base: DateTime<Utc>,
    next: u64,
}

impl Ticks {
    pub fn new() -> Self {
        // Whole seconds, so a time printed to the millisecond reads back
        // as the same tick.
        let base = Utc::now() - chrono::Duration::days(2);
        let base = DateTime::from_timestamp(base.timestamp(), 0).unwrap_or(base);
        Self { base, next: 0 }
    }

    pub fn tick(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    pub fn at(&self, tick: u64) -> String {
        (self.base + chrono::Duration::milliseconds(tick as i64))
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub fn tick_of(&self, at: &str) -> Option<u64> {
        let t: DateTime<Utc> = at.parse().ok()?;
        u64::try_from((t - self.base).num_milliseconds()).ok()
    }
}

impl Default for Ticks {
    fn default() -> Self {
        Self::new()
    }
}

/// An order's own fix, a few metres from the plant.
pub fn order_fix(id: &str, order: &str, at: &str, nudge: f64) -> Value {
    json!({"event_id": id, "kind": "gps", "order_id": order, "occurred_at": at, "lat": 23.03 + nudge, "lon": 113.47})
}

pub fn truck_fix(id: &str, truck: &str, at: &str, nudge: f64) -> Value {
    json!({"event_id": id, "kind": "gps", "truck_id": truck, "occurred_at": at, "lat": 23.03 + nudge, "lon": 113.47})
}
