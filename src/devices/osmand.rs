//! Traccar Client and OsmAnd-style reports, read the way Traccar's own
//! OsmAnd decoder reads them: the fields in the query (or a form body),
//! or the JSON body of Traccar Client 9. Pure: a request's parts in, a
//! device id and a fix out.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

use crate::domain::DeviceFix;

/// Why a report could not be read (answered 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

fn unreadable(m: impl Into<String>) -> Unreadable {
    Unreadable(m.into())
}

/// One report: the device's id as sent, and its fix.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub device_id: String,
    pub fix: DeviceFix,
}

const KNOT_KMH: f64 = 1.852;

/// An accuracy radius in metres as an HDOP, for the same noise filter: a
/// phone's radius is roughly HDOP times 10 m at street level, so a fix
/// vaguer than 100 m is as poor as an HDOP over 10.
fn accuracy_as_hdop(m: f64) -> f64 {
    m / 10.0
}

/// `timestamp` as Traccar reads it: Unix seconds or milliseconds, ISO
/// 8601, or `yyyy-MM-dd HH:mm:ss` in UTC.
fn time(v: &str) -> Result<DateTime<Utc>, Unreadable> {
    let bad = || unreadable(format!("timestamp {v:?} is not a time"));
    if let Ok(n) = v.parse::<i64>() {
        let ms = if n < i64::from(i32::MAX) { n * 1000 } else { n };
        return DateTime::from_timestamp_millis(ms).ok_or_else(bad);
    }
    if let Ok(n) = v.parse::<f64>() {
        return DateTime::from_timestamp_millis((n * 1000.0) as i64).ok_or_else(bad);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .map(|t| t.and_utc())
        .map_err(|_| bad())
}

fn number(k: &str, v: &str) -> Result<f64, Unreadable> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| unreadable(format!("{k} {v:?} is not a number")))
}

/// A report from query (or form) fields.
pub fn from_fields<'a>(
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    received: DateTime<Utc>,
) -> Result<Report, Unreadable> {
    let mut id = None;
    let (mut lat, mut lon) = (None, None);
    let mut fix = DeviceFix {
        at: received,
        lat: 0.0,
        lon: 0.0,
        speed_kmh: None,
        heading: None,
        hdop: None,
        emergency: false,
    };
    let mut accuracy = None;
    for (k, v) in fields {
        match k {
            "id" | "deviceid" => id = Some(v.to_owned()),
            "lat" => lat = Some(number(k, v)?),
            "lon" => lon = Some(number(k, v)?),
            "location" => {
                let (a, b) = v
                    .split_once(',')
                    .ok_or_else(|| unreadable("location is lat,lon"))?;
                lat = Some(number("lat", a)?);
                lon = Some(number("lon", b)?);
            }
            "timestamp" => fix.at = time(v)?,
            "speed" => fix.speed_kmh = Some(number(k, v)? * KNOT_KMH),
            "bearing" | "heading" => fix.heading = Some(number(k, v)?),
            "hdop" => fix.hdop = Some(number(k, v)?),
            "accuracy" => accuracy = Some(number(k, v)?),
            "alarm" => fix.emergency = matches!(v, "sos" | "general"),
            _ => {}
        }
    }
    let device_id = id.ok_or_else(|| unreadable("the report needs id (or deviceid)"))?;
    match (lat, lon) {
        (Some(a), Some(b)) => (fix.lat, fix.lon) = (a, b),
        _ => return Err(unreadable("the report needs lat and lon (or location)")),
    }
    if fix.hdop.is_none() {
        fix.hdop = accuracy.filter(|a| *a > 0.0).map(accuracy_as_hdop);
    }
    Ok(Report { device_id, fix })
}

/// A report from Traccar Client 9's JSON body.
pub fn from_json(body: &[u8], received: DateTime<Utc>) -> Result<Report, Unreadable> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| unreadable(format!("malformed JSON: {e}")))?;
    let device_id = doc
        .get("device_id")
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .ok_or_else(|| unreadable("the body needs device_id"))?;
    let location = doc
        .get("location")
        .ok_or_else(|| unreadable("the body needs location"))?;
    let coords = location
        .get("coords")
        .ok_or_else(|| unreadable("location needs coords"))?;
    let num = |k: &str| coords.get(k).and_then(Value::as_f64);
    // The app says -1 for what it does not know.
    let known = |k: &str| num(k).filter(|v| *v >= 0.0);
    let at = match location.get("timestamp").and_then(Value::as_str) {
        Some(t) => time(t)?,
        None => received,
    };
    let fix = DeviceFix {
        at,
        lat: num("latitude").ok_or_else(|| unreadable("coords need latitude"))?,
        lon: num("longitude").ok_or_else(|| unreadable("coords need longitude"))?,
        speed_kmh: known("speed").map(|ms| ms * 3.6),
        heading: known("heading"),
        hdop: known("accuracy").filter(|a| *a > 0.0).map(accuracy_as_hdop),
        emergency: false,
    };
    Ok(Report { device_id, fix })
}

#[cfg(test)]
mod tests;
