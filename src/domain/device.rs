//! Trackers that report straight to vinpath (contract v2, "Devices"): which
//! protocol and device, what it locates, and one of its fixes turned into
//! a `gps` event of its carrier, judged like one posted over HTTP.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::{CarrierEvent, CarrierId, EventRejection, FixTarget, OrderId, TruckId, utc};

/// How a device talks to vinpath.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// JT/T 808 terminals over TCP (China's road-freight standard).
    Jt808,
    /// Traccar Client and other OsmAnd-style apps over HTTP.
    Osmand,
}

impl Protocol {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "jt808" => Some(Protocol::Jt808),
            "osmand" => Some(Protocol::Osmand),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Jt808 => "jt808",
            Protocol::Osmand => "osmand",
        }
    }
}

/// A device's id: as its carrier gave it, and the form vinpath keys it by
/// (a JT/T 808 terminal phone number without its leading zeros, which do
/// not matter; a Traccar Client identifier as given). Two ids are the same
/// device when their keys are equal.
#[derive(Debug, Clone)]
pub struct DeviceId {
    given: String,
    key: String,
}

impl DeviceId {
    pub fn parse(protocol: Protocol, s: &str) -> Result<Self, String> {
        let key = match protocol {
            Protocol::Jt808 => {
                if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(
                        "a JT/T 808 device_id is the terminal's phone number: 1 to 20 digits"
                            .into(),
                    );
                }
                let trimmed = s.trim_start_matches('0');
                if trimmed.is_empty() { "0" } else { trimmed }.to_owned()
            }
            Protocol::Osmand => {
                let ok = (1..=64).contains(&s.len())
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
                if !ok {
                    return Err(
                        "an osmand device_id is 1 to 64 letters, digits, '-', '_' or '.'".into(),
                    );
                }
                s.to_owned()
            }
        };
        Ok(Self {
            given: s.to_owned(),
            key,
        })
    }

    /// The form vinpath keys the device by.
    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The id as its carrier registered it.
    pub fn given(&self) -> &str {
        &self.given
    }
}

impl PartialEq for DeviceId {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for DeviceId {}

impl std::hash::Hash for DeviceId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for DeviceId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DeviceId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl Serialize for DeviceId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.given)
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

/// A registered device: whose it is and what it locates.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub protocol: Protocol,
    pub device_id: DeviceId,
    pub carrier_id: CarrierId,
    pub target: FixTarget,
}

/// One fix as a device reported it, in vinpath's units.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceFix {
    /// When the device took it (its own clock).
    pub at: DateTime<Utc>,
    pub lat: f64,
    pub lon: f64,
    pub speed_kmh: Option<f64>,
    pub heading: Option<f64>,
    pub hdop: Option<f64>,
    /// The device's emergency (SOS) alarm was on.
    pub emergency: bool,
}

impl Device {
    /// The `event_id` of a fix: the same fix sent again is a `duplicate`.
    pub fn event_id(&self, fix: &DeviceFix) -> String {
        format!(
            "dev:{}:{}:{}",
            self.protocol.as_str(),
            self.device_id,
            fix.at.timestamp_millis()
        )
    }

    /// A fix as its carrier's `gps` event, parsed by the same rules as one
    /// posted over HTTP (so a position out of range or a time in the
    /// future is refused the same way).
    pub fn event(
        &self,
        fix: &DeviceFix,
        now: DateTime<Utc>,
    ) -> Result<CarrierEvent, EventRejection> {
        let mut raw = json!({
            "event_id": self.event_id(fix),
            "kind": "gps",
            "occurred_at": utc(fix.at),
            "lat": fix.lat,
            "lon": fix.lon,
            "speed_kmh": fix.speed_kmh,
            "heading": fix.heading,
            "hdop": fix.hdop,
        });
        match &self.target {
            FixTarget::Truck(t) => raw["truck_id"] = json!(t),
            FixTarget::Order(o) => raw["order_id"] = json!(o),
        }
        let mut event = CarrierEvent::parse(raw, now)?;
        event.source = Some(self.protocol.as_str());
        Ok(event)
    }

    /// The device as the API shows it (`device_id` as registered).
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = json!({
            "device_id": self.device_id,
            "protocol": self.protocol,
            "carrier_id": self.carrier_id,
        });
        match &self.target {
            FixTarget::Truck(t) => v["truck_id"] = json!(t),
            FixTarget::Order(o) => v["order_id"] = json!(o),
        }
        v
    }

    /// Reads a device back from [`Device::to_json`].
    pub fn from_json(v: &serde_json::Value) -> Result<Self, String> {
        let text = |k: &str| v.get(k).and_then(|x| x.as_str());
        let protocol = text("protocol")
            .and_then(Protocol::parse)
            .ok_or("device without a protocol")?;
        let device_id = DeviceId::parse(protocol, text("device_id").unwrap_or(""))?;
        let carrier_id = CarrierId::parse(text("carrier_id").unwrap_or(""))?;
        let target = match (text("truck_id"), text("order_id")) {
            (Some(t), None) => FixTarget::Truck(TruckId::parse(t)?),
            (None, Some(o)) => FixTarget::Order(OrderId::parse(o)?),
            _ => return Err("a device locates one truck or one order".into()),
        };
        Ok(Self {
            protocol,
            device_id,
            carrier_id,
            target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truck_device() -> Device {
        Device {
            protocol: Protocol::Jt808,
            device_id: DeviceId::parse(Protocol::Jt808, "013511221122").unwrap(),
            carrier_id: CarrierId::parse("sf-auto").unwrap(),
            target: FixTarget::Truck(TruckId::parse("YUE-A-12345").unwrap()),
        }
    }

    #[test]
    fn leading_zeros_of_a_terminal_phone_do_not_matter() {
        let a = DeviceId::parse(Protocol::Jt808, "013511221122").unwrap();
        let b = DeviceId::parse(Protocol::Jt808, "00000013511221122").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "13511221122");
        assert!(DeviceId::parse(Protocol::Jt808, "0135-1122").is_err());
        assert!(DeviceId::parse(Protocol::Osmand, "a b").is_err());
        assert_eq!(
            DeviceId::parse(Protocol::Osmand, "0123").unwrap().as_str(),
            "0123"
        );
    }

    #[test]
    fn a_fix_becomes_a_gps_event_of_its_source() {
        let now = Utc::now();
        let d = truck_device();
        let fix = DeviceFix {
            at: now,
            lat: 22.5,
            lon: 113.9,
            speed_kmh: Some(60.0),
            heading: None,
            hdop: None,
            emergency: false,
        };
        let e = d.event(&fix, now).unwrap();
        assert_eq!(
            e.event_id.as_str(),
            format!("dev:jt808:13511221122:{}", now.timestamp_millis())
        );
        assert_eq!(e.record(now)["source"], "jt808");
        assert_eq!(e.record(now)["truck_id"], "YUE-A-12345");
        let far = DeviceFix { lat: 95.0, ..fix };
        assert_eq!(d.event(&far, now).unwrap_err().code, "invalid_position");
    }

    #[test]
    fn a_device_round_trips_through_its_json() {
        let d = truck_device();
        assert_eq!(Device::from_json(&d.to_json()).unwrap(), d);
    }
}
