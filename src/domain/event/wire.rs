//! A raw event's fields, each read with a message that names it (no
//! parser jargon: a carrier's developer reads these).

use serde_json::Value;

use super::EventRejection;

/// The fields of a raw event, each read with a message that names it.
pub(super) struct Wire {
    pub kind: String,
    pub occurred_at: String,
    pub order_id: Option<String>,
    pub truck_id: Option<String>,
    pub milestone: Option<String>,
    pub site_id: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub note: Option<String>,
    pub vin: Option<String>,
    pub speed_kmh: Option<f64>,
    pub heading: Option<f64>,
    pub hdop: Option<f64>,
    pub handover_code: Option<String>,
    pub customer_not_available: Option<bool>,
    pub photo_ids: Option<Vec<String>>,
}

impl Wire {
    pub(super) fn read(raw: &Value) -> Result<Self, EventRejection> {
        let Value::Object(m) = raw else {
            return Err(EventRejection::field("each event is a JSON object"));
        };
        let text = |k: &str| -> Result<Option<String>, EventRejection> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(EventRejection::field(format!("{k} must be a string"))),
            }
        };
        let number = |k: &str| -> Result<Option<f64>, EventRejection> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => Ok(n.as_f64()),
                Some(_) => Err(EventRejection::field(format!(
                    "{k} must be a number (not a string)"
                ))),
            }
        };
        let flag = |k: &str| -> Result<Option<bool>, EventRejection> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(EventRejection::field(format!("{k} must be true or false"))),
            }
        };
        let texts = |k: &str| -> Result<Option<Vec<String>>, EventRejection> {
            let wrong = || EventRejection::field(format!("{k} must be an array of strings"));
            match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned).ok_or_else(wrong))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(_) => Err(wrong()),
            }
        };
        let required = |k: &str| -> Result<String, EventRejection> {
            text(k)?.ok_or_else(|| EventRejection::field(format!("{k} is required")))
        };
        Ok(Self {
            kind: required("kind")?,
            occurred_at: required("occurred_at")?,
            order_id: text("order_id")?,
            truck_id: text("truck_id")?,
            milestone: text("milestone")?,
            site_id: text("site_id")?,
            lat: number("lat")?,
            lon: number("lon")?,
            note: text("note")?,
            vin: text("vin")?,
            speed_kmh: number("speed_kmh")?,
            heading: number("heading")?,
            hdop: number("hdop")?,
            handover_code: text("handover_code")?,
            customer_not_available: flag("customer_not_available")?,
            photo_ids: texts("photo_ids")?,
        })
    }
}
