//! The context a segment of GPS fixes is judged by: each vehicle's kept
//! track around its fixes, its geo memory, and the cars it moves with
//! their routes and open alerts. One round trip, and a second for trucks
//! with cars on board.

use std::collections::BTreeMap;

use chrono::DateTime;
use redis::Value;

use super::events::Call;
use super::{Result, Store, keys};
use crate::domain::{CarrierEvent, EventBody, Fix, FixTarget, Place};
use crate::geo::pass::{CarContext, SiteInfo, VehicleGeo};
use crate::geo::route::Route;
use crate::geo::speed::TrackPoint;

/// A vehicle's own fields the geo pass starts from.
const VEHICLE_FIELDS: [&str; 2] = ["pos_at", "geo"];

pub(super) const ALERT_KINDS: [&str; 4] = ["stationary", "off_route", "late", "no_signal"];

/// What a fix locates, as keys see it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Vehicle {
    /// `carrier/truck` and the truck's own id.
    Truck(String, String),
    Order(String),
}

impl Vehicle {
    pub(super) fn hash(&self) -> String {
        match self {
            Vehicle::Truck(name, _) => keys::truck(name),
            Vehicle::Order(o) => keys::order(o.as_str()),
        }
    }

    fn track(&self) -> String {
        match self {
            Vehicle::Truck(name, _) => keys::truck_track(name),
            Vehicle::Order(o) => keys::order_track(o.as_str()),
        }
    }

    pub(super) fn label(&self) -> &str {
        match self {
            Vehicle::Truck(name, _) => name,
            Vehicle::Order(o) => o,
        }
    }
}

pub(super) fn point(e: &CarrierEvent, f: &Fix) -> TrackPoint {
    TrackPoint {
        at_ms: e.occurred_at.timestamp_millis(),
        lat: f.position.lat,
        lon: f.position.lon,
    }
}

pub(super) fn member(p: &TrackPoint) -> String {
    format!("{}:{}:{}", p.at_ms, p.lat, p.lon)
}

fn parse_member(m: &str) -> Option<TrackPoint> {
    let mut it = m.splitn(3, ':');
    Some(TrackPoint {
        at_ms: it.next()?.parse().ok()?,
        lat: it.next()?.parse().ok()?,
        lon: it.next()?.parse().ok()?,
    })
}

fn points(v: Value) -> Vec<TrackPoint> {
    redis::from_redis_value::<Vec<String>>(v)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| parse_member(m))
        .collect()
}

/// The order fields a car's context is made of, in `car_context`'s order.
const CAR_FIELDS: [&str; 7] = [
    "m",
    "origin",
    "destination",
    "promised_by",
    "eta",
    "arriving",
    "pos_at",
];

/// Reads a car's context: order fields (after `first` fields of the same
/// hash the caller wants too), route, open alerts.
fn push_car_reads(pipe: &mut redis::Pipeline, order: &str, first: &[&str]) {
    pipe.cmd("HMGET")
        .arg(keys::order(order))
        .arg(first)
        .arg(&CAR_FIELDS);
    pipe.cmd("GET").arg(keys::order_route(order));
    let ids: Vec<String> = ALERT_KINDS.iter().map(|k| format!("{k}:{order}")).collect();
    pipe.cmd("HMGET").arg(keys::ALERTS).arg(ids);
}

fn car_context(order: &str, fields: Value, route: Value, alerts: Value) -> Option<CarContext> {
    let f: Vec<Option<String>> = redis::from_redis_value(fields).ok()?;
    let get = |i: usize| f.get(i).cloned().flatten().filter(|v| !v.is_empty());
    let place = |i: usize| get(i).and_then(|p| serde_json::from_str::<Place>(&p).ok());
    let ms = |i: usize| {
        get(i)
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_millis)
    };
    let origin = place(1)?;
    let destination = place(2)?;
    let planned = redis::from_redis_value::<Option<String>>(route)
        .ok()
        .flatten()
        .and_then(|r| serde_json::from_str::<Vec<[f64; 2]>>(&r).ok())
        .and_then(|coords| Route::new(coords.into_iter().map(|[lon, lat]| (lat, lon)).collect()));
    let route_planned = planned.is_some();
    let route = planned.unwrap_or_else(|| {
        Route::straight((origin.lat, origin.lon), (destination.lat, destination.lon))
    });
    let open: Vec<Option<String>> = redis::from_redis_value(alerts).unwrap_or_default();
    Some(CarContext {
        order_id: order.to_owned(),
        milestone: get(0)?,
        route,
        route_planned,
        destination: (destination.lat, destination.lon),
        promised_by: ms(3),
        eta: ms(4),
        arriving_sent: get(5).is_some(),
        open: ALERT_KINDS
            .iter()
            .zip(open)
            .filter(|(_, o)| o.is_some())
            .map(|(k, _)| (*k).to_owned())
            .collect(),
    })
}

/// One vehicle's part of the segment.
pub(super) struct VehicleWork {
    pub(super) vehicle: Vehicle,
    /// Indexes into the segment, in time order.
    pub(super) fixes: Vec<usize>,
    pub(super) kept: Vec<TrackPoint>,
    pub(super) pos_at: i64,
    pub(super) geo: VehicleGeo,
    pub(super) cars: Vec<CarContext>,
    /// What its newest fix in the segment means.
    pub(super) plan: Option<super::geo_plan::GeoPlan>,
}

impl Store {
    /// Reads the context of every vehicle the segment's fixes locate, and
    /// the sites they may be at.
    pub(super) async fn read_fix_context(
        &self,
        call: &Call<'_>,
        segment: &[(usize, CarrierEvent)],
    ) -> Result<(Vec<VehicleWork>, std::sync::Arc<Vec<SiteInfo>>)> {
        let mut by_vehicle: BTreeMap<Vehicle, Vec<usize>> = BTreeMap::new();
        for (k, (_, e)) in segment.iter().enumerate() {
            let EventBody::Fix(f) = &e.body else { continue };
            let v = match &f.target {
                FixTarget::Truck(t) => {
                    Vehicle::Truck(keys::truck_name(call.carrier, t), t.to_string())
                }
                FixTarget::Order(o) => Vehicle::Order(o.to_string()),
            };
            by_vehicle.entry(v).or_default().push(k);
        }

        // Round trip 1: each vehicle's track around its fixes, its geo
        // memory, and the cars it moves.
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(keys::SITES_VERSION);
        for (v, idx) in &by_vehicle {
            let first = segment[idx[0]].1.occurred_at.timestamp_millis();
            let last = segment[idx[idx.len() - 1]].1.occurred_at.timestamp_millis();
            pipe.cmd("ZREVRANGEBYSCORE")
                .arg(v.track())
                .arg(format!("({first}"))
                .arg("-inf")
                .arg("LIMIT")
                .arg(0)
                .arg(2);
            pipe.cmd("ZRANGEBYSCORE")
                .arg(v.track())
                .arg(first)
                .arg(last);
            pipe.cmd("ZRANGEBYSCORE")
                .arg(v.track())
                .arg(format!("({last}"))
                .arg("+inf")
                .arg("LIMIT")
                .arg(0)
                .arg(2);
            // The vehicle's own fields first: for a car, in the same read
            // as its context.
            match v {
                Vehicle::Truck(name, _) => {
                    pipe.cmd("HMGET").arg(v.hash()).arg(&VEHICLE_FIELDS);
                    pipe.cmd("ZRANGE")
                        .arg(keys::truck_orders(name))
                        .arg(0)
                        .arg(-1);
                }
                Vehicle::Order(o) => push_car_reads(&mut pipe, o, &VEHICLE_FIELDS),
            }
        }
        let mut values = self.query::<Vec<Value>>(&pipe).await?.into_iter();
        let mut next = || values.next().unwrap_or(Value::Nil);
        let version: i64 = redis::from_redis_value::<Option<i64>>(next())
            .ok()
            .flatten()
            .unwrap_or(0);
        let mut work = Vec::new();
        let mut members: Vec<(usize, String)> = Vec::new();
        for (v, idx) in by_vehicle {
            let mut kept = points(next());
            kept.reverse();
            kept.extend(points(next()));
            kept.extend(points(next()));
            kept.sort_by_key(|p| p.at_ms);
            let mut fields = match next() {
                Value::Array(items) => items,
                _ => Vec::new(),
            };
            let rest = fields.split_off(VEHICLE_FIELDS.len().min(fields.len()));
            let (pos_at, geo): (Option<i64>, Option<String>) =
                redis::from_redis_value(Value::Array(fields)).unwrap_or((None, None));
            let mut w = VehicleWork {
                vehicle: v,
                fixes: idx,
                kept,
                pos_at: pos_at.unwrap_or(0),
                geo: geo
                    .and_then(|g| serde_json::from_str(&g).ok())
                    .unwrap_or_default(),
                cars: Vec::new(),
                plan: None,
            };
            match &w.vehicle {
                Vehicle::Truck(..) => {
                    let on_board: Vec<String> = redis::from_redis_value(next()).unwrap_or_default();
                    members.extend(on_board.into_iter().map(|o| (work.len(), o)));
                }
                Vehicle::Order(o) => {
                    let (r, a) = (next(), next());
                    w.cars.extend(car_context(o, Value::Array(rest), r, a));
                }
            }
            work.push(w);
        }
        // Round trip 2, for trucks with cars on board: the cars' context.
        if !members.is_empty() {
            let mut pipe = redis::pipe();
            for (_, o) in &members {
                push_car_reads(&mut pipe, o, &[]);
            }
            let mut values = self.query::<Vec<Value>>(&pipe).await?.into_iter();
            for (w, o) in members {
                let (f, r, a) = (
                    values.next().unwrap_or(Value::Nil),
                    values.next().unwrap_or(Value::Nil),
                    values.next().unwrap_or(Value::Nil),
                );
                work[w].cars.extend(car_context(&o, f, r, a));
            }
        }
        Ok((work, self.sites_at(version).await?))
    }
}
