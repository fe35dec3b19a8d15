//! Reading vehicles' contexts from Redis, strictly: a field of the wrong
//! shape is an error, never a default.

use std::sync::Arc;

use chrono::DateTime;
use redis::Value;

use super::{Vehicle, VehicleContext, Wanted};
use crate::domain::{AlertKind, Milestone, Place};
use crate::geo::pass::{CarContext, SiteInfo, VehicleGeo};
use crate::geo::route::Route;
use crate::geo::speed::TrackPoint;
use crate::store::{Result, Store, StoreError, keys};

fn parse_member(m: &str) -> Option<TrackPoint> {
    let mut it = m.splitn(3, ':');
    Some(TrackPoint {
        at_ms: it.next()?.parse().ok()?,
        lat: it.next()?.parse().ok()?,
        lon: it.next()?.parse().ok()?,
    })
}

fn points(v: Value) -> Result<Vec<TrackPoint>> {
    let members: Vec<String> =
        redis::from_redis_value(v).map_err(|e| StoreError::Corrupt(format!("track: {e}")))?;
    members
        .iter()
        .map(|m| parse_member(m).ok_or_else(|| StoreError::Corrupt(format!("track member {m:?}"))))
        .collect()
}

/// The order fields a car's context is made of, in `car_context`'s order.
/// The ETA is the one the customer was last told: a change is measured
/// against it, so a slow drift is told once it adds up.
const CAR_FIELDS: [&str; 10] = [
    "m",
    "origin",
    "destination",
    "promised_by",
    "eta_told",
    "arriving",
    "pos_at",
    "rev",
    "leg",
    "truck_since",
];
/// A vehicle's own fields the geo pass starts from.
const VEHICLE_FIELDS: [&str; 3] = ["pos_at", "geo", "rev"];

fn push_car_reads(pipe: &mut redis::Pipeline, order: &str, first: &[&str]) {
    pipe.cmd("HMGET")
        .arg(keys::order(order))
        .arg(first)
        .arg(&CAR_FIELDS);
    pipe.cmd("GET").arg(keys::order_route(order));
    let ids: Vec<String> = AlertKind::ALL.iter().map(|k| k.id(order)).collect();
    pipe.cmd("HMGET").arg(keys::alerts_of(order)).arg(ids);
}

/// A car's context and its revision; `None` for an order that is gone.
fn car_context(
    order: &str,
    fields: &[Option<String>],
    route: Value,
    alerts: Value,
) -> Result<Option<(CarContext, i64)>> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("order {order}: {what}"));
    let get = |i: usize| fields.get(i).cloned().flatten().filter(|v| !v.is_empty());
    let Some(m) = get(0) else { return Ok(None) };
    let place = |i: usize| -> Result<Place> {
        serde_json::from_str(&get(i).unwrap_or_default()).map_err(|_| corrupt(CAR_FIELDS[i]))
    };
    let ms = |i: usize| {
        get(i)
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_millis)
    };
    let origin = place(1)?;
    let destination = place(2)?;
    let route: Option<String> = redis::from_redis_value(route).map_err(|_| corrupt("route"))?;
    let planned = route
        .map(|r| serde_json::from_str::<Vec<[f64; 2]>>(&r).map_err(|_| corrupt("route")))
        .transpose()?
        .and_then(|coords| Route::new(coords.into_iter().map(|[lon, lat]| (lat, lon)).collect()));
    let route_planned = planned.is_some();
    let route = planned.unwrap_or_else(|| {
        Route::straight((origin.lat, origin.lon), (destination.lat, destination.lon))
    });
    let open: Vec<Option<String>> =
        redis::from_redis_value(alerts).map_err(|_| corrupt("alerts"))?;
    let rev = get(7).and_then(|r| r.parse().ok()).unwrap_or(0);
    let leg = match get(8) {
        Some(l) => serde_json::from_str(&l).map_err(|_| corrupt("leg"))?,
        None => Default::default(),
    };
    let car = CarContext {
        leg,
        aboard_since_ms: get(9).and_then(|t| t.parse().ok()).unwrap_or(0),
        order_id: order.to_owned(),
        milestone: Milestone::parse(&m).ok_or_else(|| corrupt("m"))?,
        route,
        route_planned,
        destination: (destination.lat, destination.lon),
        promised_by: ms(3),
        eta: ms(4),
        arriving_sent: get(5).is_some(),
        open: AlertKind::ALL
            .iter()
            .zip(open)
            .filter(|(_, o)| o.is_some())
            .map(|(k, _)| *k)
            .collect(),
    };
    Ok(Some((car, rev)))
}

fn fields(v: Value, what: &str) -> Result<Vec<Option<String>>> {
    redis::from_redis_value(v).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

impl Store {
    pub(super) async fn read_fix_context(
        &self,
        wanted: &[&Wanted],
    ) -> Result<(Vec<VehicleContext>, Arc<Vec<SiteInfo>>)> {
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(keys::SITES_VERSION);
        for w in wanted {
            let track = w.vehicle.track();
            pipe.cmd("ZREVRANGEBYSCORE")
                .arg(&track)
                .arg(format!("({}", w.first_ms))
                .arg("-inf")
                .arg("LIMIT")
                .arg(0)
                .arg(2);
            pipe.cmd("ZRANGEBYSCORE")
                .arg(&track)
                .arg(w.first_ms)
                .arg(w.last_ms);
            pipe.cmd("ZRANGEBYSCORE")
                .arg(&track)
                .arg(format!("({}", w.last_ms))
                .arg("+inf")
                .arg("LIMIT")
                .arg(0)
                .arg(2);
            match &w.vehicle {
                Vehicle::Truck { name, .. } => {
                    pipe.cmd("HMGET").arg(w.vehicle.hash()).arg(&VEHICLE_FIELDS);
                    pipe.cmd("ZRANGE")
                        .arg(keys::truck_orders(name))
                        .arg(0)
                        .arg(-1);
                }
                // A car's own fields and its context in one read.
                Vehicle::Order(o) => push_car_reads(&mut pipe, o, &VEHICLE_FIELDS),
            }
        }
        let mut values = self.query::<Vec<Value>>(&pipe).await?.into_iter();
        let mut next = || {
            values
                .next()
                .ok_or_else(|| StoreError::Corrupt("short context read".into()))
        };
        let version: Option<i64> = redis::from_redis_value(next()?)
            .map_err(|e| StoreError::Corrupt(format!("sites version: {e}")))?;
        let mut out = Vec::new();
        let mut members: Vec<(usize, String)> = Vec::new();
        for w in wanted {
            let mut kept = points(next()?)?;
            kept.reverse();
            kept.extend(points(next()?)?);
            kept.extend(points(next()?)?);
            kept.sort_by_key(|p| p.at_ms);
            let f = fields(next()?, "vehicle")?;
            let (own, rest) = f.split_at(VEHICLE_FIELDS.len().min(f.len()));
            let geo = match own.get(1).cloned().flatten() {
                Some(g) => serde_json::from_str(&g)
                    .map_err(|_| StoreError::Corrupt(format!("{}: geo", w.vehicle.label())))?,
                None => VehicleGeo::default(),
            };
            let number = |i: usize| {
                own.get(i)
                    .cloned()
                    .flatten()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0)
            };
            let mut c = VehicleContext {
                vehicle: w.vehicle.clone(),
                kept,
                pos_at: number(0),
                geo,
                rev: number(2),
                cars: Vec::new(),
                car_revs: Vec::new(),
            };
            match &w.vehicle {
                Vehicle::Truck { .. } => {
                    let on_board: Vec<String> = redis::from_redis_value(next()?)
                        .map_err(|e| StoreError::Corrupt(format!("cars on board: {e}")))?;
                    members.extend(on_board.into_iter().map(|o| (out.len(), o)));
                }
                Vehicle::Order(o) => {
                    let (r, a) = (next()?, next()?);
                    if let Some((car, rev)) = car_context(o, rest, r, a)? {
                        c.cars.push(car);
                        c.car_revs.push(rev);
                    }
                }
            }
            out.push(c);
        }
        // Round trip 2, for trucks with cars on board: the cars' context.
        if !members.is_empty() {
            let mut pipe = redis::pipe();
            for (_, o) in &members {
                push_car_reads(&mut pipe, o, &[]);
            }
            let mut values = self.query::<Vec<Value>>(&pipe).await?.into_iter();
            let mut next = || {
                values
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("short car read".into()))
            };
            for (i, o) in members {
                let (f, r, a) = (fields(next()?, "car")?, next()?, next()?);
                if let Some((car, rev)) = car_context(&o, &f, r, a)? {
                    out[i].cars.push(car);
                    out[i].car_revs.push(rev);
                }
            }
        }
        Ok((out, self.sites_at(version.unwrap_or(0)).await?))
    }
}
