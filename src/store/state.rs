//! An order hash read into its state, and its timeline.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Result, StoreError};
use crate::domain::{
    CarrierId, Milestone, OrderId, OrderState, Place, PositionReport, TimelineEntry, TruckId, Vin,
    utc,
};

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: &str) -> Option<DateTime<Utc>> {
    v.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
}

pub(super) fn place_json(p: &Place) -> String {
    serde_json::to_string(p).unwrap_or_default()
}

/// Reads an order hash into its state.
pub(super) fn parse_state(h: &HashMap<String, String>) -> Result<Option<OrderState>> {
    let Some(order_id) = h.get("order_id") else {
        return Ok(None);
    };
    let get = |k: &str| h.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let corrupt = |what: &str| StoreError::Corrupt(format!("order {order_id}: {what}"));
    let time = |k: &str| get(k).and_then(from_ms);
    let place = |k: &str| -> Result<Place> {
        serde_json::from_str(get(k).unwrap_or("")).map_err(|_| corrupt(k))
    };
    // What was parsed on the way in is parsed again on the way out: data
    // that no longer reads is an error, never a string passed along.
    Ok(Some(OrderState {
        order_id: OrderId::parse(order_id).map_err(|_| corrupt("order_id"))?,
        carrier_id: get("carrier_id")
            .and_then(|c| CarrierId::parse(c).ok())
            .ok_or_else(|| corrupt("carrier_id"))?,
        vin: get("vin")
            .map(|v| {
                Vin::parse(v)
                    .map(|(vin, _)| vin)
                    .map_err(|_| corrupt("vin"))
            })
            .transpose()?,
        model: get("model").unwrap_or_default().to_owned(),
        origin: place("origin")?,
        destination: place("destination")?,
        promised_by: time("promised_by"),
        created_at: time("created_at").ok_or_else(|| corrupt("created_at"))?,
        milestone: get("m")
            .and_then(Milestone::parse)
            .ok_or_else(|| corrupt("m"))?,
        milestone_at: time("m_at").ok_or_else(|| corrupt("m_at"))?,
        truck_id: get("truck")
            .map(|t| TruckId::parse(t).map_err(|_| corrupt("truck")))
            .transpose()?,
        truck_since: time("truck_since"),
        position: get("pos").and_then(|p| serde_json::from_str::<PositionReport>(p).ok()),
        site: get("site").and_then(|s| serde_json::from_str(s).ok()),
        eta: time("eta"),
        updated_at: time("updated_at").ok_or_else(|| corrupt("updated_at"))?,
        delivered_at: time("delivered_at"),
        link_hash: get("link_hash").unwrap_or_default().to_owned(),
        arriving: get("arriving").is_some(),
        voids: h
            .iter()
            .filter_map(|(k, v)| {
                let id = k.strip_prefix("void:")?;
                Some((id.to_owned(), serde_json::from_str(v).ok()?))
            })
            .collect(),
    }))
}

pub(super) fn parse_timeline(raw: Vec<String>) -> Vec<TimelineEntry> {
    #[derive(serde::Deserialize)]
    struct Raw {
        milestone: Milestone,
        at: i64,
        gap: bool,
    }
    raw.iter()
        .filter_map(|s| serde_json::from_str::<Raw>(s).ok())
        .filter_map(|r| {
            Some(TimelineEntry {
                milestone: r.milestone,
                at: utc(DateTime::from_timestamp_millis(r.at)?),
                gap: r.gap,
            })
        })
        .collect()
}
