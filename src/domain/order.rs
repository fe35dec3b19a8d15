//! Orders as the sales system creates and changes them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CarrierId, FieldError, OrderId, Position, Vin};

/// A named place: the plant an order leaves from, or the customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Deserialize)]
pub struct PlaceIn {
    name: Option<String>,
    address: Option<String>,
    lat: Option<f64>,
    lon: Option<f64>,
}

/// The body of `POST /api/v1/orders`, before parsing.
#[derive(Deserialize)]
pub struct NewOrderIn {
    order_id: Option<String>,
    vin: Option<String>,
    model: Option<String>,
    carrier_id: Option<String>,
    origin: Option<PlaceIn>,
    destination: Option<PlaceIn>,
    promised_by: Option<String>,
}

/// The body of `PATCH /api/v1/orders/{id}`, before parsing.
#[derive(Deserialize)]
pub struct OrderPatchIn {
    vin: Option<String>,
    carrier_id: Option<String>,
    destination: Option<PlaceIn>,
    promised_by: Option<String>,
}

/// A valid new order.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub order_id: OrderId,
    pub vin: Option<Vin>,
    pub model: String,
    pub carrier_id: CarrierId,
    pub origin: Place,
    pub destination: Place,
    pub promised_by: Option<DateTime<Utc>>,
    /// Doubts about accepted values, for the response's `warnings`.
    pub warnings: Vec<String>,
}

/// A valid change to an order; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct OrderPatch {
    pub vin: Option<Vin>,
    pub carrier_id: Option<CarrierId>,
    pub destination: Option<Place>,
    pub promised_by: Option<DateTime<Utc>>,
    pub warnings: Vec<String>,
}

/// Collects every failing field, so one answer names them all.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn take<T>(&mut self, field: &str, r: Result<T, String>) -> Option<T> {
        r.map_err(|m| self.0.push(FieldError::new(field, m))).ok()
    }

    fn required<T>(&mut self, field: &str, v: Option<T>) -> Option<T> {
        if v.is_none() {
            self.0.push(FieldError::new(field, "is required"));
        }
        v
    }
}

fn text(s: Option<String>, max: usize, what: &str) -> Result<Option<String>, String> {
    match s {
        Some(s) if s.chars().count() > max => Err(format!("{what} is limited to {max} characters")),
        Some(s) if s.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

fn place(field: &str, p: PlaceIn, errors: &mut Errors) -> Option<Place> {
    let name = errors.take(&format!("{field}.name"), text(p.name, 200, "name"));
    let address = errors.take(&format!("{field}.address"), text(p.address, 500, "address"));
    let lat = errors.required(&format!("{field}.lat"), p.lat);
    let lon = errors.required(&format!("{field}.lon"), p.lon);
    let pos = match (lat, lon) {
        (Some(lat), Some(lon)) => errors.take(field, Position::parse(lat, lon)),
        _ => None,
    };
    Some(Place {
        name: name?,
        address: address?,
        lat: pos?.lat,
        lon: pos?.lon,
    })
}

fn time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "must be an RFC 3339 time".to_owned())
}

fn vin(s: &str, warnings: &mut Vec<String>) -> Result<Vin, String> {
    let (vin, warning) = Vin::parse(s)?;
    warnings.extend(warning.map(|w| w.to_string()));
    Ok(vin)
}

impl NewOrder {
    pub fn parse(w: NewOrderIn) -> Result<Self, Vec<FieldError>> {
        let mut e = Errors::default();
        let mut warnings = Vec::new();
        let order_id = e
            .required("order_id", w.order_id)
            .and_then(|s| e.take("order_id", OrderId::parse(&s)));
        let vin = match w.vin.as_deref() {
            Some(s) => e.take("vin", vin(s, &mut warnings)).map(Some),
            None => Some(None),
        };
        let model = e
            .required("model", w.model)
            .and_then(|m| e.take("model", text(Some(m), 100, "model")))
            .flatten();
        if model.is_none() && !e.0.iter().any(|f| f.field == "model") {
            e.0.push(FieldError::new("model", "is required"));
        }
        let carrier_id = e
            .required("carrier_id", w.carrier_id)
            .and_then(|s| e.take("carrier_id", CarrierId::parse(&s)));
        let origin = e
            .required("origin", w.origin)
            .and_then(|p| place("origin", p, &mut e));
        let destination = e
            .required("destination", w.destination)
            .and_then(|p| place("destination", p, &mut e));
        let promised_by = match w.promised_by.as_deref() {
            Some(s) => e.take("promised_by", time(s)).map(Some),
            None => Some(None),
        };
        match (
            order_id,
            vin,
            model,
            carrier_id,
            origin,
            destination,
            promised_by,
        ) {
            (
                Some(order_id),
                Some(vin),
                Some(model),
                Some(carrier_id),
                Some(origin),
                Some(destination),
                Some(promised_by),
            ) if e.0.is_empty() => Ok(Self {
                order_id,
                vin,
                model,
                carrier_id,
                origin,
                destination,
                promised_by,
                warnings,
            }),
            _ => Err(e.0),
        }
    }
}

impl OrderPatch {
    pub fn parse(w: OrderPatchIn) -> Result<Self, Vec<FieldError>> {
        let mut e = Errors::default();
        let mut warnings = Vec::new();
        let patch = OrderPatch {
            vin: w.vin.and_then(|s| e.take("vin", vin(&s, &mut warnings))),
            carrier_id: w
                .carrier_id
                .and_then(|s| e.take("carrier_id", CarrierId::parse(&s))),
            destination: w.destination.and_then(|p| place("destination", p, &mut e)),
            promised_by: w.promised_by.and_then(|s| e.take("promised_by", time(&s))),
            warnings,
        };
        if e.0.is_empty() { Ok(patch) } else { Err(e.0) }
    }

    pub fn is_empty(&self) -> bool {
        self.vin.is_none()
            && self.carrier_id.is_none()
            && self.destination.is_none()
            && self.promised_by.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<NewOrder, Vec<FieldError>> {
        NewOrder::parse(serde_json::from_value(v).unwrap())
    }

    fn example() -> serde_json::Value {
        json!({"order_id": "JD-2026-000123", "vin": "LNAA2AA17SF000001", "model": "Aion Y Plus",
               "carrier_id": "sf-auto",
               "origin": {"name": "GAC Aion Panyu plant", "lat": 23.03, "lon": 113.47},
               "destination": {"name": "Li Wei", "address": "Chaoyang, Beijing", "lat": 39.92, "lon": 116.46},
               "promised_by": "2026-12-30T18:00:00+08:00"})
    }

    #[test]
    fn the_contract_example_parses() {
        let o = parse(example()).unwrap();
        assert_eq!(o.order_id.as_str(), "JD-2026-000123");
        assert!(o.warnings.is_empty());
        assert_eq!(
            o.promised_by.unwrap().to_rfc3339(),
            "2026-12-30T10:00:00+00:00"
        );
    }

    #[test]
    fn every_failing_field_is_named() {
        let mut v = example();
        v["vin"] = json!("LNAA2AA18SF000001");
        v["destination"]["lat"] = json!(95.0);
        v.as_object_mut().unwrap().remove("model");
        let fields: Vec<String> = parse(v).unwrap_err().into_iter().map(|f| f.field).collect();
        assert_eq!(fields, ["vin", "model", "destination"]);
    }

    #[test]
    fn a_doubtful_vin_is_a_warning_and_no_vin_is_fine() {
        let mut v = example();
        v["vin"] = json!("WVWZZZ1JZXW000001");
        assert_eq!(parse(v).unwrap().warnings.len(), 1);
        let mut v = example();
        v.as_object_mut().unwrap().remove("vin");
        assert!(parse(v).unwrap().vin.is_none());
    }
}
