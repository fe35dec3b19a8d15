//! Corrections: a dispatcher voids a mis-scan or a bad fix, and the order
//! is recomputed from the rest of its history by the rules that judged it
//! (`replay`, pure), written in one atomic step that also records the
//! void, tells the customer's page and the fleet, and outboxes the webhook.
//! A truck's fix is voided on the truck and for every car it moved.

pub mod replay;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::domain::{Milestone, OrderId, OrderState, utc};
use crate::ingest::{followup, plan};
use crate::media::ClipStore;
use crate::store::functions::{Correct, CorrectAnswer, Function, VoidTruckFix};
use crate::store::history::HistoryEntry;
use crate::store::{Store, StoreError};
use replay::{Entry, Replayed};

/// A dispatcher's void of one event of one order.
#[derive(Debug, Clone)]
pub struct Void<'a> {
    pub order: &'a OrderId,
    pub event_id: &'a str,
    pub reason: &'a str,
    /// The credential that voided it.
    pub by: &'a str,
    pub at: DateTime<Utc>,
}

/// How a void went.
#[derive(Debug, Clone)]
pub enum Voided {
    /// Voided now or before: the order as it now stands.
    Done(Box<OrderState>),
    /// The order is not in Redis (unknown, or archived).
    NoOrder,
    /// The order's history holds no carrier event by that id.
    NoEvent,
}

/// The kinds of history entry a dispatcher may void: what carriers sent,
/// and the crossings vinpath derived from their fixes.
const VOIDABLE: [&str; 3] = ["scan", "gps", "geofence"];

/// How often a void is replayed again when the order changed meanwhile.
const ATTEMPTS: usize = 8;

/// Voids an event and recomputes its order (and, for a truck's fix, every
/// car it moved, and the truck). Voiding twice changes nothing more.
pub async fn void(store: &Store, clips: &ClipStore, v: &Void<'_>) -> Result<Voided, StoreError> {
    let (voided, record) = void_one(store, clips, v).await?;
    // A truck's fix: off the truck, and off every other car it moved
    // (done again on a repeated void, so a failure half way is finished).
    if let (Some(record), Voided::Done(state)) = (&record, &voided)
        && record.get("kind").and_then(Value::as_str) == Some("gps")
        && let Some(truck) = record.get("truck_id").and_then(Value::as_str)
    {
        let name = format!("{}/{truck}", state.carrier_id);
        let at = time_ms(record, "occurred_at").unwrap_or_default();
        void_on_truck(store, &name, state.carrier_id.as_str(), truck, record, at).await?;
        for other in store.truck_cars_before(&name, at, 50).await? {
            let Ok(id) = OrderId::parse(&other) else {
                continue;
            };
            if id != *v.order {
                void_one(store, clips, &Void { order: &id, ..*v }).await?;
            }
        }
    }
    Ok(voided)
}

/// Voids the event on one order; answers the voided event's record too.
async fn void_one(
    store: &Store,
    clips: &ClipStore,
    v: &Void<'_>,
) -> Result<(Voided, Option<Map<String, Value>>), StoreError> {
    for _ in 0..ATTEMPTS {
        let Some((state, rev)) = store.order_at_rev(v.order).await? else {
            return Ok((Voided::NoOrder, None));
        };
        let entries = whole_history(store, clips, v.order).await?;
        let Some(target) = entries.iter().find(|e| {
            e.record.get("event_id").and_then(Value::as_str) == Some(v.event_id)
                && e.record
                    .get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| VOIDABLE.contains(&k))
        }) else {
            return Ok((Voided::NoEvent, None));
        };
        let record = target.record.clone();
        if state.voids.contains_key(v.event_id) {
            return Ok((Voided::Done(Box::new(state)), Some(record)));
        }
        let mut voids: HashSet<String> = state.voids.keys().cloned().collect();
        voids.insert(v.event_id.to_owned());
        let sites = store.current_sites().await?;
        let replayed = replay::replay(
            state.created_at.timestamp_millis(),
            &entries
                .iter()
                .map(|e| Entry {
                    status: &e.status,
                    change: e.change,
                    record: &e.record,
                })
                .collect::<Vec<_>>(),
            &voids,
            &sites,
        );
        let void = json!({"reason": v.reason, "at": utc(v.at), "by": v.by}).to_string();
        let correction = json!({
            "event_id": format!("void-{}", v.event_id), "kind": "correction",
            "voided_event_id": v.event_id, "reason": v.reason, "by": v.by,
            "milestone": replayed.milestone, "position": replayed.pos.as_deref().and_then(|p| serde_json::from_str::<Value>(p).ok()),
            "occurred_at": utc(v.at), "received_at": utc(v.at),
        })
        .to_string();
        let member = own_track_member(&record);
        let answer = {
            let mut pipe = redis::pipe();
            Correct {
                order: v.order.as_str(),
                event_id: v.event_id,
                void: &void,
                expect_rev: rev,
                fields: &fields(&replayed, state.eta),
                timeline: &serde_json::to_string(&replayed.timeline).unwrap_or_default(),
                record: &correction,
                ends_alerts: !plan::alerts_ended(state.milestone, replayed.milestone).is_empty(),
                track_member: member.as_deref().unwrap_or(""),
                received_ms: v.at.timestamp_millis(),
            }
            .push(&mut pipe);
            let values = store.query_each(&mut pipe).await?;
            CorrectAnswer::parse(values.into_iter().next().unwrap_or(redis::Value::Nil))?
        };
        match answer {
            CorrectAnswer::Voided { followup, .. } => {
                followup::after(
                    store,
                    followup.into_iter().map(|f| *f).collect(),
                    Vec::new(),
                )
                .await?;
            }
            CorrectAnswer::Done => {}
            CorrectAnswer::Retry => continue,
            CorrectAnswer::Missing => return Ok((Voided::NoOrder, None)),
        }
        let now = store.order(v.order).await?;
        return Ok((
            now.map_or(Voided::NoOrder, |s| Voided::Done(Box::new(s))),
            Some(record),
        ));
    }
    // Changed under every attempt: the caller may try again shortly.
    Err(StoreError::Corrupt(format!(
        "order {} kept changing while it was corrected",
        v.order
    )))
}

/// An order's whole history, oldest first: the parts moved to the object
/// store, then Redis's (read again if a part moved meanwhile).
async fn whole_history(
    store: &Store,
    clips: &ClipStore,
    id: &OrderId,
) -> Result<Vec<HistoryEntry>, StoreError> {
    for _ in 0..3 {
        let (parts, spilled) = crate::jobs::spilled_entries(store, clips, id).await?;
        let kept = store.log_entries(id).await?;
        if store.spilled(id).await?.len() == parts.len() {
            return Ok(spilled
                .into_iter()
                .chain(kept)
                .map(|(c, f)| HistoryEntry::parse(c, f))
                .collect());
        }
    }
    Err(StoreError::Corrupt(format!(
        "order {id}'s history kept moving while it was read"
    )))
}

/// The order's fields as replayed, for `Correct` (`""` removes one). The
/// ETA falls back to what the order had when no remaining fix told one.
fn fields(r: &Replayed, eta: Option<DateTime<Utc>>) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    json!({
        "m": r.milestone.as_str(),
        "m_at": r.m_at.to_string(),
        "stale_at": r.stale_at.to_string(),
        "held": r.held.map(Milestone::as_str).unwrap_or_default(),
        "truck": opt(&r.truck),
        "truck_since": r.truck_since.to_string(),
        "pos": opt(&r.pos),
        "pos_at": r.pos_at.to_string(),
        "site": opt(&r.site),
        "delivered_at": num(r.delivered_at),
        "eta": num(r.eta.or(eta.map(|t| t.timestamp_millis()))),
        "arriving": if r.arriving { "1" } else { "" },
        "leg": opt(&r.leg),
    })
    .to_string()
}

fn time_ms(record: &Map<String, Value>, key: &str) -> Option<i64> {
    let s = record.get(key)?.as_str()?;
    Some(DateTime::parse_from_rfc3339(s).ok()?.timestamp_millis())
}

/// The track member of a fix (as `store::context::track_member` made it).
fn track_member(record: &Map<String, Value>) -> Option<(String, i64)> {
    let at = time_ms(record, "occurred_at")?;
    let lat = record.get("lat")?.as_f64()?;
    let lon = record.get("lon")?.as_f64()?;
    Some((
        crate::store::context::track_member(&crate::geo::speed::TrackPoint {
            at_ms: at,
            lat,
            lon,
        }),
        at,
    ))
}

/// The member of a car's own tracker's fix in its track.
fn own_track_member(record: &Map<String, Value>) -> Option<String> {
    let own = record.get("kind").and_then(Value::as_str) == Some("gps")
        && record.get("order_id").is_some();
    own.then(|| track_member(record).map(|(m, _)| m)).flatten()
}

/// Takes a voided fix off its truck: out of its track and, while it was
/// the truck's position, the fix before it in its place.
async fn void_on_truck(
    store: &Store,
    name: &str,
    carrier: &str,
    truck: &str,
    record: &Map<String, Value>,
    at: i64,
) -> Result<(), StoreError> {
    let Some((member, _)) = track_member(record) else {
        return Ok(());
    };
    let before = store
        .truck_newest_fixes(name, 2)
        .await?
        .into_iter()
        .find(|(m, _)| *m != member)
        .and_then(|(m, _)| {
            let mut parts = m.splitn(3, ':');
            let at: i64 = parts.next()?.parse().ok()?;
            let lat: f64 = parts.next()?.parse().ok()?;
            let lon: f64 = parts.next()?.parse().ok()?;
            let when = DateTime::from_timestamp_millis(at)?;
            let pos = json!({"lat": lat, "lon": lon, "at": utc(when), "speed_kmh": null, "heading": null});
            Some((pos.to_string(), at))
        });
    let mut pipe = redis::pipe();
    VoidTruckFix {
        name,
        carrier,
        truck,
        member: &member,
        at_ms: at,
        before: before.as_ref().map(|(p, at)| (p.as_str(), *at)),
    }
    .push(&mut pipe);
    store.query_each(&mut pipe).await?;
    Ok(())
}
