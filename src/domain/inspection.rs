//! Inspections at each change of custody: the car's views, numbers and
//! damages in the industry's codes, and which damages are new since the
//! stages before (damage is charged to whoever held the car when it first
//! appears).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DamageCodes, EventId, FieldError, utc};

/// Where in the car's custody an inspection was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Pickup,
    GateIn,
    GateOut,
    Delivery,
}

/// The views a photo shows.
pub const VIEWS: [&str; 9] = [
    "front", "rear", "left", "right", "interior", "odometer", "vin", "keys", "damage",
];
/// The views pickup and delivery need at least.
pub const NEEDED_VIEWS: [&str; 6] = ["front", "rear", "left", "right", "interior", "odometer"];

/// A photo of the inspection, by the view it shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionPhoto {
    pub photo_id: String,
    pub view: String,
}

/// A damage, in codes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Damage {
    pub area: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub severity: String,
    #[serde(default)]
    pub photo_ids: Vec<String>,
    #[serde(default)]
    pub note: String,
}

impl Damage {
    /// The same damage at two stages: the same place, the same kind.
    fn same_as(&self, other: &Damage) -> bool {
        self.area == other.area && self.kind == other.kind
    }
}

/// An inspection as a carrier sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct InspectionIn {
    pub inspection_id: Option<String>,
    pub stage: Option<String>,
    pub at: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub inspector: Option<String>,
    pub odometer_km: Option<f64>,
    pub battery_soc_pct: Option<f64>,
    pub keys: Option<i64>,
    #[serde(default)]
    pub items: Vec<String>,
    #[serde(default)]
    pub photos: Vec<InspectionPhoto>,
    #[serde(default)]
    pub damages: Vec<Damage>,
}

/// An inspection that holds together: known codes and views, numbers in
/// range, the views its stage needs. (Whether its photos are the order's
/// is for the store to say.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    pub inspection_id: String,
    pub stage: Stage,
    pub at: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub inspector: String,
    pub odometer_km: Option<f64>,
    pub battery_soc_pct: Option<f64>,
    pub keys: Option<i64>,
    pub items: Vec<String>,
    pub photos: Vec<InspectionPhoto>,
    pub damages: Vec<Damage>,
}

impl Inspection {
    pub fn at(&self) -> Option<DateTime<Utc>> {
        self.at.parse().ok()
    }

    /// Every photo it names, in its views and its damages.
    pub fn photo_ids(&self) -> Vec<(String, &str)> {
        let mut out: Vec<(String, &str)> = self
            .photos
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("photos[{i}].photo_id"), p.photo_id.as_str()))
            .collect();
        for (i, d) in self.damages.iter().enumerate() {
            for (j, p) in d.photo_ids.iter().enumerate() {
                out.push((format!("damages[{i}].photo_ids[{j}]"), p.as_str()));
            }
        }
        out
    }

    /// This inspection's damages not seen at any stage before it.
    pub fn new_damages(&self, earlier: &[Inspection]) -> Vec<Damage> {
        self.damages
            .iter()
            .filter(|d| {
                !earlier
                    .iter()
                    .filter(|e| e.inspection_id != self.inspection_id && e.at() < self.at())
                    .any(|e| e.damages.iter().any(|x| x.same_as(d)))
            })
            .cloned()
            .collect()
    }
}

impl TryFrom<InspectionIn> for Inspection {
    type Error = Vec<FieldError>;

    fn try_from(i: InspectionIn) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let mut bad = |f: &str, m: &str| errors.push(FieldError::new(f, m));
        let id = i.inspection_id.unwrap_or_default();
        if let Err(e) = EventId::parse(&id) {
            bad("inspection_id", &e);
        }
        let stage = match i.stage.as_deref() {
            Some("pickup") => Some(Stage::Pickup),
            Some("gate_in") => Some(Stage::GateIn),
            Some("gate_out") => Some(Stage::GateOut),
            Some("delivery") => Some(Stage::Delivery),
            _ => {
                bad("stage", "must be pickup, gate_in, gate_out or delivery");
                None
            }
        };
        let at =
            i.at.as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| utc(t.to_utc()));
        if at.is_none() {
            bad("at", "must be an RFC 3339 time");
        }
        match (i.lat, i.lon) {
            (None, None) => {}
            (Some(lat), Some(lon))
                if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => {}
            _ => bad("lat", "lat and lon go together, in degrees (WGS-84)"),
        }
        let inspector = i.inspector.unwrap_or_default().trim().to_owned();
        if inspector.is_empty() || inspector.chars().count() > 100 {
            bad(
                "inspector",
                "must name who inspected, in 1 to 100 characters",
            );
        }
        if i.odometer_km
            .is_some_and(|k| !(0.0..=1_000_000.0).contains(&k))
        {
            bad("odometer_km", "must be 0 to 1,000,000");
        }
        if i.battery_soc_pct
            .is_some_and(|p| !(0.0..=100.0).contains(&p))
        {
            bad("battery_soc_pct", "must be 0 to 100");
        }
        if i.keys.is_some_and(|k| !(0..=10).contains(&k)) {
            bad("keys", "must be 0 to 10");
        }
        if i.items.len() > 50
            || i.items
                .iter()
                .any(|s| s.is_empty() || s.chars().count() > 100)
        {
            bad("items", "at most 50 items, each 1 to 100 characters");
        }
        if i.photos.len() > 100 {
            bad("photos", "at most 100 photos");
        }
        for (n, p) in i.photos.iter().enumerate() {
            if !VIEWS.contains(&p.view.as_str()) {
                bad(
                    &format!("photos[{n}].view"),
                    "must be front, rear, left, right, interior, odometer, vin, keys or damage",
                );
            }
        }
        if matches!(stage, Some(Stage::Pickup | Stage::Delivery)) {
            for view in NEEDED_VIEWS {
                if !i.photos.iter().any(|p| p.view == view) {
                    bad(
                        "photos",
                        &format!(
                            "pickup and delivery need a photo of each of front, rear, left, right, interior and odometer: {view} is missing"
                        ),
                    );
                }
            }
        }
        let codes = DamageCodes::get();
        if i.damages.len() > 100 {
            bad("damages", "at most 100 damages");
        }
        for (n, d) in i.damages.iter().enumerate() {
            if codes.area(&d.area).is_none() {
                bad(
                    &format!("damages[{n}].area"),
                    "not an AIAG damage area code (GET /api/v1/damage-codes)",
                );
            }
            if codes.kind(&d.kind).is_none() {
                bad(
                    &format!("damages[{n}].type"),
                    "not an AIAG damage type code",
                );
            }
            if codes.severity(&d.severity).is_none() {
                bad(
                    &format!("damages[{n}].severity"),
                    "not an AIAG damage severity code (1 to 6)",
                );
            }
            if d.note.chars().count() > 500 || d.photo_ids.len() > 20 {
                bad(
                    &format!("damages[{n}]"),
                    "a note of at most 500 characters and at most 20 photos",
                );
            }
        }
        match (stage, at) {
            (Some(stage), Some(at)) if errors.is_empty() => Ok(Inspection {
                inspection_id: id,
                stage,
                at,
                lat: i.lat,
                lon: i.lon,
                inspector,
                odometer_km: i.odometer_km,
                battery_soc_pct: i.battery_soc_pct,
                keys: i.keys,
                items: i.items,
                photos: i.photos,
                damages: i.damages,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: serde_json::Value) -> Result<Inspection, Vec<FieldError>> {
        Inspection::try_from(serde_json::from_value::<InspectionIn>(v).unwrap())
    }

    fn body(id: &str, stage: &str, at: &str, damages: serde_json::Value) -> serde_json::Value {
        let photos: Vec<_> = NEEDED_VIEWS
            .iter()
            .map(|v| json!({"photo_id": format!("ph_{v}"), "view": v}))
            .collect();
        json!({"inspection_id": id, "stage": stage, "at": at, "inspector": "Wang Qiang",
            "odometer_km": 12, "battery_soc_pct": 80, "keys": 2, "photos": photos, "damages": damages})
    }

    #[test]
    fn unknown_codes_views_and_missing_views_are_named() {
        let mut b = body(
            "i1",
            "pickup",
            "2026-11-25T08:05:00+08:00",
            json!([{"area": "99", "type": "12", "severity": "9"}]),
        );
        b["photos"][0]["view"] = json!("roof");
        let errors = parse(b).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"damages[0].area"), "{fields:?}");
        assert!(fields.contains(&"damages[0].severity"), "{fields:?}");
        assert!(fields.contains(&"photos[0].view"), "{fields:?}");
        assert!(fields.contains(&"photos"), "front is missing: {fields:?}");
        assert!(!fields.contains(&"damages[0].type"));
        let mut b = body("i1", "pickup", "2026-11-25T08:05:00+08:00", json!([]));
        b["battery_soc_pct"] = json!(130);
        assert_eq!(parse(b).unwrap_err()[0].field, "battery_soc_pct");
        // A gate-in needs no six views.
        let mut b = body("i2", "gate_in", "2026-11-25T08:05:00+08:00", json!([]));
        b["photos"] = json!([]);
        assert!(parse(b).is_ok());
    }

    #[test]
    fn damage_is_new_only_where_no_earlier_stage_saw_it() {
        let scratch = json!({"area": "03", "type": "12", "severity": "2"});
        let dent = json!({"area": "10", "type": "14", "severity": "1"});
        let pickup = parse(body(
            "p",
            "pickup",
            "2026-11-25T08:00:00Z",
            json!([scratch]),
        ))
        .unwrap();
        let delivery = parse(body(
            "d",
            "delivery",
            "2026-11-27T08:00:00Z",
            json!([scratch, dent]),
        ))
        .unwrap();
        let new = delivery.new_damages(&[pickup.clone(), delivery.clone()]);
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].area, "10");
        // Nothing before the first inspection: all its damage is new.
        assert_eq!(pickup.new_damages(&[pickup.clone(), delivery]).len(), 1);
    }
}
