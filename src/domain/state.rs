//! An order as it stands now, and the views each audience gets of it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{CarrierId, Milestone, OrderId, Place, TruckId, Vin, utc};

/// A reported position, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositionReport {
    pub lat: f64,
    pub lon: f64,
    pub at: String,
    pub speed_kmh: Option<f64>,
    pub heading: Option<f64>,
}

/// A site a car is inside, placed at the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SitePosition {
    pub site_id: String,
    pub lat: f64,
    pub lon: f64,
    pub at: String,
}

/// One milestone the car reached, for the public timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub milestone: Milestone,
    pub at: String,
    pub gap: bool,
}

/// A clip as an order lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClipListing {
    pub clip_id: String,
    pub clip_kind: String,
    pub captured_at: String,
    /// A recorded broadcast, played as HLS (others are MP4 or WebM files).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hls: bool,
}

/// Everything vinpath knows of an order now.
#[derive(Debug, Clone)]
pub struct OrderState {
    pub order_id: OrderId,
    pub carrier_id: CarrierId,
    pub vin: Option<Vin>,
    pub model: String,
    pub origin: Place,
    pub destination: Place,
    pub promised_by: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub milestone: Milestone,
    pub milestone_at: DateTime<Utc>,
    pub truck_id: Option<TruckId>,
    /// Since when the car is on that truck (when the loading scan says).
    pub truck_since: Option<DateTime<Utc>>,
    pub position: Option<PositionReport>,
    /// The site the car is inside, if any: where customers see it.
    pub site: Option<SitePosition>,
    pub eta: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// SHA-256 (hex) of the current tracking token.
    pub link_hash: String,
    /// Whether the customer was told the car is arriving soon (a standing
    /// notice until it is delivered).
    pub arriving: bool,
    /// Events a dispatcher voided: event id to `{reason, at, by}`.
    pub voids: std::collections::BTreeMap<String, Value>,
}

impl OrderState {
    /// The order as admins, dispatchers and its carrier see it.
    pub fn internal_view(&self) -> Value {
        json!({
            "order_id": self.order_id,
            "vin": self.vin,
            "model": self.model,
            "carrier_id": self.carrier_id,
            "milestone": self.milestone,
            "milestone_at": utc(self.milestone_at),
            "truck_id": self.truck_id,
            "site": self.site,
            "position": self.position,
            "eta": self.eta.map(utc),
            "promised_by": self.promised_by.map(utc),
            "origin": self.origin,
            "destination": self.destination,
            "created_at": utc(self.created_at),
            "updated_at": utc(self.updated_at),
        })
    }

    /// The order as the customer sees it: nothing carrier-internal.
    /// `clip_url` makes the link a customer plays a clip by.
    pub fn public_view(
        &self,
        timeline: &[TimelineEntry],
        clips: &[ClipListing],
        clip_url: impl Fn(&str) -> String,
    ) -> Value {
        let clips: Vec<Value> = clips
            .iter()
            .map(|c| json!({"clip_id": c.clip_id, "kind": c.clip_kind, "captured_at": c.captured_at, "url": clip_url(&c.clip_id), "hls": c.hls}))
            .collect();
        json!({
            "order_id": self.order_id,
            "model": self.model,
            "vin_masked": self.vin.as_ref().map(|v| Vin::masked(v.as_str())),
            "milestone": self.milestone,
            "milestone_at": utc(self.milestone_at),
            "timeline": timeline,
            "position": self.public_position(),
            "eta": self.eta.map(utc),
            "promised_by": self.promised_by.map(utc),
            "destination": {"lat": self.destination.lat, "lon": self.destination.lon,
                "address": self.destination.address},
            "updated_at": utc(self.updated_at),
            "clips": clips,
            "notices": self.notices(),
        })
    }

    /// What the customer is told until it stops being true (the page shows
    /// it whenever opened, not only to whoever had it open when sent).
    fn notices(&self) -> Vec<Value> {
        let mut out = Vec::new();
        if self.arriving && !self.milestone.is_final() {
            out.push(json!({"kind": "arriving"}));
        }
        out
    }

    /// Where the customer sees the car: at its site while inside one (not
    /// the bay it is parked in), else its latest fix.
    fn public_position(&self) -> Value {
        match (&self.site, &self.position) {
            (Some(s), _) => {
                json!({"lat": s.lat, "lon": s.lon, "at": s.at, "speed_kmh": null, "heading": null, "site_id": s.site_id})
            }
            (None, Some(p)) => json!(p),
            (None, None) => Value::Null,
        }
    }

    /// The order as one line of the dispatchers' fleet.
    pub fn fleet_view(&self) -> Value {
        json!({
            "order_id": self.order_id,
            "vin": self.vin,
            "model": self.model,
            "carrier_id": self.carrier_id,
            "milestone": self.milestone,
            "milestone_at": utc(self.milestone_at),
            "truck_id": self.truck_id,
            "position": self.position,
            "site_id": self.site.as_ref().map(|s| &s.site_id),
            "eta": self.eta.map(utc),
            "promised_by": self.promised_by.map(utc),
            "alerts": [],
        })
    }
}
