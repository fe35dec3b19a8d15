//! What a vehicle's newest fix in a request means (pure): the geo pass run
//! over its would-be newest fixes, turned into what rides with that fix's
//! own apply (geo memory, each car's ETA, notices, site and alerts) and the
//! milestones its geofence crossings imply, applied only while that fix is
//! still the car's position.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::plan::site_json;
use crate::domain::{Alert, AlertKind, CarrierEvent, EventBody, Milestone, utc};
use crate::geo::fence::Crossing;
use crate::geo::pass::{self, CarContext, GeoOptions, SiteInfo, VehicleGeo};
use crate::geo::speed::TrackPoint;
use crate::store::functions::{AlertOp, Conclusions, SitePlacement};

/// What the customer is told when the car comes near.
pub const ARRIVING_TEXT: &str = "Your car is arriving soon";

/// A vehicle's part of a request, as the geo pass needs it.
pub struct VehicleFixes<'a> {
    /// `carrier/truck` or the order id: names derived event ids.
    pub label: &'a str,
    pub truck: Option<&'a str>,
    /// Its fixes, in time order: index into the request and the event.
    pub fixes: Vec<(usize, &'a CarrierEvent)>,
    /// Its newest applied fix (ms) and memory before this request.
    pub pos_at: i64,
    pub geo: &'a VehicleGeo,
    pub cars: &'a [CarContext],
}

/// A milestone a crossing implies for one car.
#[derive(Debug, Clone, PartialEq)]
pub struct Crossed {
    pub order_id: String,
    /// The milestone crossed from, as this instance knew the car.
    pub from: Milestone,
    pub milestone: Milestone,
    pub event_id: String,
    pub record: String,
    pub at: DateTime<Utc>,
}

/// What the newest fix means.
#[derive(Debug, Clone)]
pub struct GeoPlan {
    /// The fix (index into the request) the conclusions ride with.
    pub fix: usize,
    pub fix_at_ms: i64,
    /// The vehicle's geo memory after it (JSON), and as it is.
    pub state: String,
    pub vehicle_after: VehicleGeo,
    /// The cars as they stand after it (milestones the crossings imply,
    /// alerts, notices, the ETA as told).
    pub cars_after: Vec<CarContext>,
    /// One per car, in the order of the vehicle's cars.
    pub cars: Vec<Conclusions>,
    pub crossed: Vec<Crossed>,
}

pub fn point(e: &CarrierEvent) -> Option<TrackPoint> {
    match &e.body {
        EventBody::Fix(f) => Some(TrackPoint {
            at_ms: e.occurred_at.timestamp_millis(),
            lat: f.position.lat,
            lon: f.position.lon,
        }),
        EventBody::Scan(_) => None,
    }
}

/// Runs the pass over the vehicle's clean fixes newer than its position.
/// `noisy[i]` tells the fixes judged noise.
pub fn conclude(
    v: &VehicleFixes<'_>,
    noisy: &dyn Fn(usize) -> bool,
    sites: &[SiteInfo],
    opts: &GeoOptions,
    received_at: DateTime<Utc>,
) -> Option<GeoPlan> {
    let mut state = v.geo.clone();
    let mut newest = v.pos_at;
    let mut cars = v.cars.to_vec();
    let mut ops: Vec<Vec<AlertOp>> = vec![Vec::new(); cars.len()];
    let mut crossed = Vec::new();
    let mut left = false;
    let mut last: Option<(usize, i64, &str, Vec<pass::CarOutcome>)> = None;
    // A fix sent twice in one request is applied once, as its first copy.
    let mut ids = std::collections::HashSet::new();
    for &(k, e) in &v.fixes {
        let (Some(p), EventBody::Fix(f)) = (point(e), &e.body) else {
            continue;
        };
        if !ids.insert(e.event_id.as_str()) || noisy(k) || p.at_ms < newest {
            continue;
        }
        newest = p.at_ms;
        let out = pass::evaluate(&state, p, f.speed_kmh, sites, &cars, opts);
        state = out.vehicle.clone();
        left |= out.crossings.iter().any(|c| matches!(c, Crossing::Left(_)));
        for (i, (car, o)) in cars.iter_mut().zip(&out.cars).enumerate() {
            for (m, site, at) in &o.milestones {
                let at = DateTime::from_timestamp_millis(*at).unwrap_or(e.occurred_at);
                let moved = (car.milestone, *m);
                crossed.push(crossing(
                    (v.label, e.event_id.as_str()),
                    &car.order_id,
                    moved,
                    site,
                    (at, received_at),
                ));
                car.milestone = *m;
            }
            for kind in &o.clear {
                ops[i].push(AlertOp::clear(kind.id(&car.order_id)));
            }
            for (kind, detail) in &o.raise {
                // A stop is an alert since the car stopped, not since it
                // was noticed.
                let since = match state.still {
                    Some(still) if *kind == AlertKind::Stationary => {
                        DateTime::from_timestamp_millis(still.since_ms).unwrap_or(e.occurred_at)
                    }
                    _ => e.occurred_at,
                };
                let alert = Alert::for_order(*kind, &car.order_id, v.truck, since, detail.clone());
                ops[i].push(AlertOp::raise(alert.alert_id.clone(), alert.to_json()));
            }
            car.open.retain(|k| !o.clear.contains(k));
            car.open.extend(o.raise.iter().map(|(k, _)| *k));
            car.arriving_sent |= o.arriving;
            car.leg = o.leg.clone();
        }
        last = Some((k, p.at_ms, e.event_id.as_str(), out.cars));
    }
    let (fix, at, fix_id, outs) = last?;
    let at_time = DateTime::from_timestamp_millis(at).unwrap_or_default();
    // The site customers see the car at: the one its vehicle is inside;
    // out of one only once a departure is confirmed (a car placed at a
    // site by a scan stays there through a fix's first steps out).
    let site = match state.fence.inside.as_deref() {
        Some(id) => {
            site_json(sites, id, at_time).map_or(SitePlacement::Unchanged, SitePlacement::At)
        }
        None if left => SitePlacement::Left,
        None => SitePlacement::Unchanged,
    };
    for (car, o) in cars.iter_mut().zip(&outs) {
        if o.eta_changed {
            car.eta = Some(o.eta);
        }
    }
    let conclusions = v
        .cars
        .iter()
        .zip(cars.iter().zip(outs))
        .zip(ops)
        .map(|((before, (after, o)), ops)| Conclusions {
            eta_ms: Some(o.eta.timestamp_millis()),
            eta_record: o.eta_changed.then(|| {
                json!({"event_id": format!("eta-{at}"), "kind": "eta", "eta": utc(o.eta),
                    "fix_event_id": fix_id, "occurred_at": utc(at_time), "received_at": utc(received_at)})
                .to_string()
            }),
            notice: (after.arriving_sent && !before.arriving_sent).then(|| {
                json!({"event_id": format!("arriving-{at}"), "kind": "notice", "text": ARRIVING_TEXT,
                    "fix_event_id": fix_id, "occurred_at": utc(at_time), "received_at": utc(received_at)})
                .to_string()
            }),
            site: site.clone(),
            alerts: AlertOp::encode(&ops),
            leg: serde_json::to_string(&o.leg).ok(),
        })
        .collect();
    Some(GeoPlan {
        fix,
        fix_at_ms: at,
        state: serde_json::to_string(&state).ok()?,
        vehicle_after: state,
        cars_after: cars,
        cars: conclusions,
        crossed,
    })
}

/// The milestone a crossing implies, as an event of its own, naming the
/// fix that implied it (a correction that voids the fix voids it too).
fn crossing(
    (vehicle, fix_id): (&str, &str),
    order: &str,
    (from, milestone): (Milestone, Milestone),
    site: &str,
    (at, received_at): (DateTime<Utc>, DateTime<Utc>),
) -> Crossed {
    let event_id = format!(
        "geo-{vehicle}-{site}-{}-{}",
        milestone.as_str(),
        at.timestamp_millis()
    );
    let record = json!({"event_id": event_id, "kind": "geofence", "order_id": order,
        "milestone": milestone, "site_id": site, "fix_event_id": fix_id, "occurred_at": utc(at),
        "received_at": utc(received_at)})
    .to_string();
    Crossed {
        order_id: order.to_owned(),
        from,
        milestone,
        event_id,
        record,
        at,
    }
}

#[cfg(test)]
mod tests;
