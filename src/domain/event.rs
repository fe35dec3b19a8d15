//! Carrier events (scans and GPS fixes) as they arrive over HTTP, and their
//! parsing into domain types. An event that cannot be parsed is rejected on
//! its own; the others beside it go on.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

mod wire;

use wire::Wire;

use super::handover::Proof;
use super::{EventId, Milestone, OrderId, Position, SiteId, TruckId, Vin, utc};

/// How far in the future an `occurred_at` may be (device clocks drift).
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// Why an event was refused, with the contract's stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRejection {
    pub code: &'static str,
    pub message: String,
}

impl EventRejection {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn field(message: impl Into<String>) -> Self {
        Self::new("invalid_field", message)
    }
}

/// A warehouse or transport scan: the car reached a milestone.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub order_id: OrderId,
    pub milestone: Milestone,
    pub truck_id: Option<TruckId>,
    pub site_id: Option<SiteId>,
    pub position: Option<Position>,
    pub note: Option<String>,
    pub vin: Option<Vin>,
    /// A `delivered` scan's proof that the customer has the car.
    pub proof: Option<Proof>,
}

/// What a GPS fix locates: a truck (and every car on it) or one car.
#[derive(Debug, Clone, PartialEq)]
pub enum FixTarget {
    Truck(TruckId),
    Order(OrderId),
}

/// A GPS fix.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    pub target: FixTarget,
    pub position: Position,
    pub speed_kmh: Option<f64>,
    pub heading: Option<f64>,
    pub hdop: Option<f64>,
}

/// What a carrier event says.
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    Scan(Scan),
    Fix(Fix),
}

/// One carrier event, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct CarrierEvent {
    pub event_id: EventId,
    pub occurred_at: DateTime<Utc>,
    pub body: EventBody,
    /// Where it came from when not posted over HTTP: a device protocol
    /// (`jt808`, `osmand`), kept in history.
    pub source: Option<&'static str>,
}

/// The `event_id` of a raw event, if it has a readable one, so that even a
/// refused event can be answered under its own id.
pub fn raw_event_id(raw: &Value) -> Option<String> {
    raw.get("event_id")?.as_str().map(str::to_owned)
}

impl CarrierEvent {
    /// Parses one raw event of a batch, judged at `now`.
    pub fn parse(raw: Value, now: DateTime<Utc>) -> Result<Self, EventRejection> {
        let event_id = match raw.get("event_id") {
            Some(Value::String(s)) => EventId::parse(s).map_err(EventRejection::field)?,
            _ => return Err(EventRejection::field("event_id is required (a string)")),
        };
        let wire = Wire::read(&raw)?;
        let occurred_at = DateTime::parse_from_rfc3339(&wire.occurred_at)
            .map_err(|_| EventRejection::field("occurred_at must be an RFC 3339 time"))?
            .with_timezone(&Utc);
        if occurred_at > now + MAX_CLOCK_SKEW {
            return Err(EventRejection::new(
                "invalid_time",
                "occurred_at is more than 5 minutes in the future",
            ));
        }
        let body = match wire.kind.as_str() {
            "scan" => EventBody::Scan(parse_scan(wire)?),
            "gps" => EventBody::Fix(parse_fix(wire)?),
            other => {
                return Err(EventRejection::field(format!(
                    "kind must be \"scan\" or \"gps\", not {other:?}"
                )));
            }
        };
        Ok(Self {
            event_id,
            occurred_at,
            body,
            source: None,
        })
    }

    /// The event as history keeps it, before vinpath's judgement is added.
    pub fn record(&self, received_at: DateTime<Utc>) -> Value {
        let mut v = self.record_without_received();
        if let Some(m) = v.as_object_mut() {
            m.insert("received_at".into(), json!(utc(received_at)));
        }
        v
    }

    /// What the event says, as history keeps it, without when it came.
    pub fn record_without_received(&self) -> Value {
        let mut m = Map::new();
        m.insert("event_id".into(), json!(self.event_id));
        m.insert("occurred_at".into(), json!(utc(self.occurred_at)));
        let mut put = |k: &str, v: Value| {
            if !v.is_null() {
                m.insert(k.into(), v);
            }
        };
        match &self.body {
            EventBody::Scan(s) => {
                put("kind", json!("scan"));
                put("order_id", json!(s.order_id));
                put("milestone", json!(s.milestone));
                put("truck_id", json!(s.truck_id));
                put("site_id", json!(s.site_id));
                put("lat", json!(s.position.map(|p| p.lat)));
                put("lon", json!(s.position.map(|p| p.lon)));
                put("note", json!(s.note));
                put("vin", json!(s.vin));
                // The code itself is the customer's secret, and spent once
                // used: history keeps that one was given, not the digits.
                match &s.proof {
                    Some(Proof::Code(_)) => put("handover", json!("code")),
                    Some(Proof::CustomerAway { photo_ids }) => {
                        put("customer_not_available", json!(true));
                        put("photo_ids", json!(photo_ids));
                    }
                    None => {}
                }
            }
            EventBody::Fix(f) => {
                put("kind", json!("gps"));
                match &f.target {
                    FixTarget::Truck(t) => put("truck_id", json!(t)),
                    FixTarget::Order(o) => put("order_id", json!(o)),
                }
                put("lat", json!(f.position.lat));
                put("lon", json!(f.position.lon));
                put("speed_kmh", json!(f.speed_kmh));
                put("heading", json!(f.heading));
                put("hdop", json!(f.hdop));
            }
        }
        put("source", json!(self.source));
        Value::Object(m)
    }
}

fn parse_position(lat: Option<f64>, lon: Option<f64>) -> Result<Option<Position>, EventRejection> {
    match (lat, lon) {
        (None, None) => Ok(None),
        (Some(lat), Some(lon)) => Position::parse(lat, lon)
            .map(Some)
            .map_err(|m| EventRejection::new("invalid_position", m)),
        _ => Err(EventRejection::field("lat and lon come together")),
    }
}

fn parse_scan(w: Wire) -> Result<Scan, EventRejection> {
    let order_id = w
        .order_id
        .as_deref()
        .ok_or_else(|| EventRejection::field("a scan needs order_id"))
        .and_then(|s| OrderId::parse(s).map_err(EventRejection::field))?;
    let milestone = w
        .milestone
        .as_deref()
        .ok_or_else(|| EventRejection::field("a scan needs milestone"))?;
    let milestone = Milestone::parse(milestone)
        .ok_or_else(|| EventRejection::field(format!("unknown milestone {milestone:?}")))?;
    let truck_id = w
        .truck_id
        .as_deref()
        .map(TruckId::parse)
        .transpose()
        .map_err(EventRejection::field)?;
    let site_id = w
        .site_id
        .as_deref()
        .map(SiteId::parse)
        .transpose()
        .map_err(EventRejection::field)?;
    if w.note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(EventRejection::field("note is limited to 1000 characters"));
    }
    let vin = w
        .vin
        .as_deref()
        .map(|v| Vin::parse(v).map(|(vin, _)| vin))
        .transpose()
        .map_err(|m| EventRejection::field(format!("vin: {m}")))?;
    let proof = Proof::read(w.handover_code, w.customer_not_available, w.photo_ids)
        .map_err(EventRejection::field)?;
    if proof.is_some() && milestone != Milestone::Delivered {
        return Err(EventRejection::field(
            "handover_code and customer_not_available go with a delivered scan",
        ));
    }
    Ok(Scan {
        order_id,
        milestone,
        truck_id,
        site_id,
        position: parse_position(w.lat, w.lon)?,
        note: w.note,
        vin,
        proof,
    })
}

fn parse_fix(w: Wire) -> Result<Fix, EventRejection> {
    let target = match (w.truck_id.as_deref(), w.order_id.as_deref()) {
        (Some(t), None) => FixTarget::Truck(TruckId::parse(t).map_err(EventRejection::field)?),
        (None, Some(o)) => FixTarget::Order(OrderId::parse(o).map_err(EventRejection::field)?),
        _ => {
            return Err(EventRejection::field(
                "a gps event names exactly one of truck_id and order_id",
            ));
        }
    };
    let position = parse_position(w.lat, w.lon)?
        .ok_or_else(|| EventRejection::field("a gps event needs lat and lon"))?;
    if w.speed_kmh.is_some_and(|s| !s.is_finite() || s < 0.0) {
        return Err(EventRejection::field("speed_kmh must be 0 or more"));
    }
    if w.heading.is_some_and(|h| !(0.0..=360.0).contains(&h)) {
        return Err(EventRejection::field("heading must be between 0 and 360"));
    }
    if w.hdop.is_some_and(|h| !h.is_finite() || h < 0.0) {
        return Err(EventRejection::field("hdop must be 0 or more"));
    }
    Ok(Fix {
        target,
        position,
        speed_kmh: w.speed_kmh,
        heading: w.heading,
        hdop: w.hdop,
    })
}

#[cfg(test)]
mod tests;
