//! A segment of GPS fixes: read each vehicle's context (its kept track
//! around the fixes, its geo memory, the cars on a truck with their routes
//! and open alerts), judge jumps and what each newest fix means, then
//! apply everything in one pipelined round trip. The geo writes are
//! guarded by the fix still being the vehicle's newest, so instances
//! racing on one truck never let an older fix's conclusions win.

use std::collections::BTreeMap;

use chrono::DateTime;
use redis::Value;

use super::events::{Apply, Call, Outcome, applied, outcome, position_json, status, text};
use super::{Result, Store, StoreError, keys, trucks};
use crate::domain::{CarrierEvent, EventBody, Fix, FixTarget, OrderId, Place};
use crate::geo::filter;
use crate::geo::pass::{CarContext, VehicleGeo};
use crate::geo::route::Route;
use crate::geo::speed::{TrackPoint, judge_batch};

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

fn member(p: &TrackPoint) -> String {
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
    pub(super) plan: Option<super::geo_writes::GeoPlan>,
}

impl Store {
    pub(super) async fn apply_fix_segment(
        &self,
        call: &Call<'_>,
        segment: &[(usize, CarrierEvent)],
        outcomes: &mut [Option<Outcome>],
    ) -> Result<()> {
        let carrier = call.carrier.as_str();
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
        let sites = self.sites_at(version).await?;

        // Judge: noise, jumps, and what each newest fix means.
        let mut noise: Vec<&'static str> = vec![""; segment.len()];
        let mut pipe = redis::pipe();
        let mut geo_writes = redis::pipe();
        for w in &mut work {
            let mut clean = Vec::new();
            for &k in &w.fixes {
                let e = &segment[k].1;
                let EventBody::Fix(f) = &e.body else { continue };
                match filter::judge(f) {
                    Some(n) => noise[k] = n.code(),
                    None => clean.push(k),
                }
            }
            let batch: Vec<TrackPoint> = clean
                .iter()
                .filter_map(|&k| match &segment[k].1.body {
                    EventBody::Fix(f) => Some(point(&segment[k].1, f)),
                    _ => None,
                })
                .collect();
            for (&k, jump) in clean.iter().zip(judge_batch(&w.kept, &batch)) {
                if jump {
                    noise[k] = "implausible_speed";
                }
            }
            w.plan = self.plan_geo(call, segment, &noise, w, &sites, &mut geo_writes);
        }

        // Round trip 3: every fix applied (the newest with its geo
        // conclusions), then the milestones and alerts they raised.
        for w in &work {
            for &k in &w.fixes {
                let e = &segment[k].1;
                let EventBody::Fix(f) = &e.body else { continue };
                let p = point(e, f);
                let pos = position_json(
                    f.position.lat,
                    f.position.lon,
                    e.occurred_at,
                    f.speed_kmh,
                    f.heading,
                );
                let record = e.record(call.received_at).to_string();
                let m = call.member(e);
                let track = member(&p);
                let plan = w.plan.as_ref().filter(|g| g.fix == k);
                // The fix applied to one car (its own, or carried by a truck).
                let apply_fix = |pipe: &mut redis::Pipeline, order: &str, tail: &[&str]| {
                    if let Ok(order) = OrderId::parse(order) {
                        let fix = Apply {
                            order: &order,
                            kind: "fix",
                            carrier,
                            member: &m,
                            at: e.occurred_at,
                            noise: noise[k],
                            record: &record,
                            tail,
                        };
                        call.push_apply(pipe, fix);
                    }
                };
                match &w.vehicle {
                    Vehicle::Order(o) => {
                        let geo = plan.map(|g| g.car_args(0, true)).unwrap_or_default();
                        let tail = [&pos, "", "", &track, geo[0], geo[1], geo[2], geo[3], geo[4]];
                        apply_fix(&mut pipe, o, &tail)
                    }
                    Vehicle::Truck(name, truck) => {
                        let mut ks = vec![
                            keys::truck(name),
                            keys::truck_orders(name),
                            keys::truck_track(name),
                        ];
                        ks.extend(call.seen_keys(|d| keys::truck_seen(name, d)));
                        pipe.cmd("FCALL")
                            .arg("vinpath_truck_fix")
                            .arg(ks.len())
                            .arg(&ks);
                        pipe.arg(carrier)
                            .arg(truck)
                            .arg(&m)
                            .arg(p.at_ms)
                            .arg(noise[k])
                            .arg(&pos)
                            .arg(call.ttl())
                            .arg(keys::LIVE_CHANNEL)
                            .arg(&track)
                            .arg(plan.map(|g| g.state.as_str()).unwrap_or_default());
                        let stale = if p.at_ms < w.pos_at { "1" } else { "" };
                        for (i, car) in w.cars.iter().enumerate() {
                            let geo = plan.map(|g| g.car_args(i, false)).unwrap_or_default();
                            let tail = [
                                &pos, truck, stale, &track, geo[0], geo[1], geo[2], geo[3], geo[4],
                            ];
                            apply_fix(&mut pipe, &car.order_id, &tail);
                        }
                    }
                }
            }
        }
        let fix_count = pipe.len();
        for cmd in geo_writes.cmd_iter() {
            pipe.add_command(cmd.clone()).ignore();
        }
        let values = self.query_each(&mut pipe).await?;
        let mut values = values.into_iter().take(fix_count);
        let mut strays = redis::pipe();
        let mut stray = false;
        for w in &work {
            for &k in &w.fixes {
                let v = values.next().unwrap_or(Value::Nil);
                let (i, _) = &segment[k];
                match &w.vehicle {
                    Vehicle::Order(_) => outcomes[*i] = Some(outcome(&applied(v)?)?),
                    Vehicle::Truck(name, truck) => {
                        let Value::Array(items) = v else {
                            return Err(applied(v)
                                .err()
                                .unwrap_or_else(|| StoreError::Corrupt("truck fix".into())));
                        };
                        let st = items.first().map(text).unwrap_or_default();
                        let code = items.get(1).map(text).unwrap_or_default();
                        let mut o = Outcome {
                            status: status(&st)?,
                            code: None,
                            message: None,
                        };
                        if !code.is_empty() {
                            o.code = Some(code);
                        }
                        outcomes[*i] = Some(o);
                        for car in &w.cars {
                            let a = applied(values.next().unwrap_or(Value::Nil))?;
                            if a.status == "skip" && a.truck != *truck {
                                trucks::unbind(&mut strays, name, &car.order_id, a.since - 1);
                                stray = true;
                            } else if a.code == "not_your_order" {
                                trucks::unbind(&mut strays, name, &car.order_id, i64::MAX);
                                stray = true;
                            }
                        }
                    }
                }
            }
        }
        if stray {
            let () = self.query(&strays).await?;
        }
        Ok(())
    }
}
