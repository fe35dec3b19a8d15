//! A segment of GPS fixes: read each vehicle's context (its kept track
//! around the fixes, its geo memory, the cars on a truck with their routes
//! and open alerts), judge jumps and what each newest fix means, then
//! apply everything in one pipelined round trip. The geo writes are
//! guarded by the fix still being the vehicle's newest, so instances
//! racing on one truck never let an older fix's conclusions win.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use redis::Value;
use serde_json::json;

use super::events::{
    Apply, Call, Outcome, applied, outcome, position_json, status, text, verdicts,
};
use super::{Result, Store, StoreError, keys, trucks};
use crate::domain::{CarrierEvent, EventBody, Fix, FixTarget, Milestone, OrderId, Place, utc};
use crate::geo::filter;
use crate::geo::pass::{self, CarContext, CarOutcome, VehicleGeo};
use crate::geo::route::Route;
use crate::geo::speed::{TrackPoint, judge_batch};

const ALERT_KINDS: [&str; 4] = ["stationary", "off_route", "late", "no_signal"];

/// What a fix locates, as keys see it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Vehicle {
    /// `carrier/truck` and the truck's own id.
    Truck(String, String),
    Order(String),
}

impl Vehicle {
    fn hash(&self) -> String {
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

    fn label(&self) -> &str {
        match self {
            Vehicle::Truck(name, _) => name,
            Vehicle::Order(o) => o,
        }
    }
}

fn point(e: &CarrierEvent, f: &Fix) -> TrackPoint {
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

/// Reads a car's context: order fields, route, open alerts.
fn push_car_reads(pipe: &mut redis::Pipeline, order: &str) {
    pipe.cmd("HMGET").arg(keys::order(order)).arg(&[
        "m",
        "origin",
        "destination",
        "promised_by",
        "eta",
        "arriving",
        "pos_at",
    ]);
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

/// Where a car inside a site is shown: the site, not the bay.
pub(super) fn site_json(sites: &[pass::SiteInfo], id: Option<&str>, at: DateTime<Utc>) -> String {
    id.and_then(|id| sites.iter().find(|s| s.site.id == id))
        .map(|s| {
            json!({"site_id": s.site.id, "lat": s.lat, "lon": s.lon, "at": utc(at)}).to_string()
        })
        .unwrap_or_default()
}

/// One vehicle's part of the segment.
struct VehicleWork {
    vehicle: Vehicle,
    /// Indexes into the segment, in time order.
    fixes: Vec<usize>,
    kept: Vec<TrackPoint>,
    pos_at: i64,
    geo: VehicleGeo,
    cars: Vec<CarContext>,
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
            pipe.cmd("HMGET").arg(v.hash()).arg("pos_at").arg("geo");
            match v {
                Vehicle::Truck(name, _) => {
                    pipe.cmd("ZRANGE")
                        .arg(keys::truck_orders(name))
                        .arg(0)
                        .arg(-1);
                }
                Vehicle::Order(o) => push_car_reads(&mut pipe, o),
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
            let (pos_at, geo): (Option<i64>, Option<String>) =
                redis::from_redis_value(next()).unwrap_or((None, None));
            let mut w = VehicleWork {
                vehicle: v,
                fixes: idx,
                kept,
                pos_at: pos_at.unwrap_or(0),
                geo: geo
                    .and_then(|g| serde_json::from_str(&g).ok())
                    .unwrap_or_default(),
                cars: Vec::new(),
            };
            match &w.vehicle {
                Vehicle::Truck(..) => {
                    let on_board: Vec<String> = redis::from_redis_value(next()).unwrap_or_default();
                    members.extend(on_board.into_iter().map(|o| (work.len(), o)));
                }
                Vehicle::Order(o) => {
                    let (f, r, a) = (next(), next(), next());
                    w.cars.extend(car_context(o, f, r, a));
                }
            }
            work.push(w);
        }
        // Round trip 2, for trucks with cars on board: the cars' context.
        if !members.is_empty() {
            let mut pipe = redis::pipe();
            for (_, o) in &members {
                push_car_reads(&mut pipe, o);
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
            self.plan_geo(call, segment, &noise, w, &sites, &mut geo_writes);
        }

        // Round trip 3: every fix applied, then the geo conclusions.
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
                match &w.vehicle {
                    Vehicle::Order(o) => {
                        let Ok(order) = OrderId::parse(o) else {
                            continue;
                        };
                        call.push_apply(
                            &mut pipe,
                            Apply {
                                order: &order,
                                kind: "fix",
                                carrier,
                                member: &m,
                                at: e.occurred_at,
                                noise: noise[k],
                                record: &record,
                                tail: &[&pos, "", "", &track],
                            },
                        );
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
                            .arg(&track);
                        let stale = if p.at_ms < w.pos_at { "1" } else { "" };
                        for car in &w.cars {
                            let Ok(order) = OrderId::parse(&car.order_id) else {
                                continue;
                            };
                            call.push_apply(
                                &mut pipe,
                                Apply {
                                    order: &order,
                                    kind: "fix",
                                    carrier,
                                    member: &m,
                                    at: e.occurred_at,
                                    noise: noise[k],
                                    record: &record,
                                    tail: &[&pos, truck, stale, &track],
                                },
                            );
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

    /// Runs the geo pass over a vehicle's would-be newest fixes and adds
    /// its guarded writes.
    fn plan_geo(
        &self,
        call: &Call<'_>,
        segment: &[(usize, CarrierEvent)],
        noise: &[&'static str],
        w: &mut VehicleWork,
        sites: &[pass::SiteInfo],
        writes: &mut redis::Pipeline,
    ) {
        let opts = &self.options().geo;
        let mut state = w.geo.clone();
        let mut newest = w.pos_at;
        let mut cars = w.cars.clone();
        let mut last: Option<(i64, Vec<CarOutcome>)> = None;
        let mut synthetic: Vec<(String, &'static str, String, DateTime<Utc>)> = Vec::new();
        // Alerts raised and cleared, in the order they happened (a late
        // batch may hold both), with the fix time.
        let mut alert_ops: Vec<(bool, &'static str, String, String, DateTime<Utc>)> = Vec::new();
        for &k in &w.fixes {
            let e = &segment[k].1;
            let EventBody::Fix(f) = &e.body else { continue };
            let p = point(e, f);
            if !noise[k].is_empty() || p.at_ms < newest {
                continue;
            }
            newest = p.at_ms;
            let out = pass::evaluate(&state, p, f.speed_kmh, sites, &cars, opts);
            state = out.vehicle.clone();
            for (car, o) in cars.iter_mut().zip(&out.cars) {
                for (m, site, at) in &o.milestones {
                    let at = DateTime::from_timestamp_millis(*at).unwrap_or(e.occurred_at);
                    synthetic.push((car.order_id.clone(), m, site.clone(), at));
                    car.milestone = (*m).to_owned();
                }
                for kind in &o.clear {
                    alert_ops.push((
                        false,
                        kind,
                        car.order_id.clone(),
                        String::new(),
                        e.occurred_at,
                    ));
                }
                for (kind, detail) in &o.raise {
                    // A stop is an alert since the car stopped, not since
                    // it was noticed.
                    let since = match state.still {
                        Some(still) if *kind == "stationary" => {
                            DateTime::from_timestamp_millis(still.since_ms).unwrap_or(e.occurred_at)
                        }
                        _ => e.occurred_at,
                    };
                    alert_ops.push((true, kind, car.order_id.clone(), detail.clone(), since));
                }
                car.open.retain(|k| !o.clear.contains(&k.as_str()));
                car.open
                    .extend(o.raise.iter().map(|(k, _)| (*k).to_owned()));
                car.arriving_sent |= o.arriving;
            }
            last = Some((p.at_ms, out.cars));
        }
        let Some((at, outs)) = last else { return };
        let Ok(state_json) = serde_json::to_string(&state) else {
            return;
        };
        writes
            .cmd("FCALL")
            .arg("vinpath_geo_vehicle")
            .arg(1)
            .arg(w.vehicle.hash())
            .arg(at)
            .arg(state_json);
        let at_time = DateTime::from_timestamp_millis(at).unwrap_or_default();
        let inside = site_json(sites, state.fence.inside.as_deref(), at_time);
        for (before, (after, o)) in w.cars.iter().zip(cars.iter().zip(outs)) {
            let eta_record = if crate::geo::eta::moved_enough(before.eta, o.eta) {
                json!({"event_id": format!("eta-{at}"), "kind": "eta", "eta": utc(o.eta), "occurred_at": utc(at_time), "received_at": utc(call.received_at)}).to_string()
            } else {
                String::new()
            };
            let notice = if after.arriving_sent && !before.arriving_sent {
                json!({"event_id": format!("arriving-{at}"), "kind": "notice", "text": "Your car is arriving soon", "occurred_at": utc(at_time), "received_at": utc(call.received_at)}).to_string()
            } else {
                String::new()
            };
            writes
                .cmd("FCALL")
                .arg("vinpath_geo_car")
                .arg(2)
                .arg(keys::order(o.order_id.as_str()))
                .arg(keys::order_log(o.order_id.as_str()))
                .arg(at)
                .arg(o.eta.timestamp_millis())
                .arg(eta_record)
                .arg(notice)
                .arg(self.options().history_limit)
                .arg(keys::LIVE_CHANNEL)
                .arg(&inside);
        }
        let truck = match &w.vehicle {
            Vehicle::Truck(_, t) => Some(t.as_str()),
            Vehicle::Order(_) => None,
        };
        for (raise, kind, order, detail, since) in alert_ops {
            let id = format!("{kind}:{order}");
            let alert = json!({"alert_id": id, "kind": kind, "order_id": order, "truck_id": truck, "since": utc(since), "detail": detail});
            writes
                .cmd("FCALL")
                .arg("vinpath_alert")
                .arg(1)
                .arg(keys::ALERTS)
                .arg(if raise { "raise" } else { "clear" })
                .arg(&id)
                .arg(alert.to_string())
                .arg(keys::LIVE_CHANNEL);
        }
        for (order, milestone, site, at) in synthetic {
            let Ok(id) = OrderId::parse(&order) else {
                continue;
            };
            let Some(m) = Milestone::parse(milestone) else {
                continue;
            };
            let (by_current, from_hold) = verdicts(m);
            let event_id = format!(
                "geo-{}-{site}-{milestone}-{}",
                w.vehicle.label(),
                at.timestamp_millis()
            );
            let record = json!({"event_id": event_id, "kind": "geofence", "order_id": order, "milestone": milestone, "site_id": site, "occurred_at": utc(at), "received_at": utc(call.received_at)}).to_string();
            let member = format!("geo|{event_id}");
            let tail = [
                milestone,
                by_current.as_str(),
                from_hold.as_str(),
                "",
                "",
                "",
            ];
            call.push_apply(
                writes,
                Apply {
                    order: &id,
                    kind: "scan",
                    carrier: "",
                    member: &member,
                    at,
                    noise: "",
                    record: &record,
                    tail: &tail,
                },
            );
        }
    }
}
