//! A run of GPS fixes: read each vehicle's context, judge noise and jumps,
//! conclude what each vehicle's newest fix means, then apply everything in
//! one pipelined round trip: each fix (the newest with its conclusions),
//! the milestones its crossings imply, and nothing else.

use std::collections::BTreeMap;

use crate::domain::{CarrierEvent, EventBody, EventStatus, Fix as FixEvent, FixTarget, Outcome};
use crate::geo::speed::{TrackPoint, judge_batch};
use crate::geo::{filter, pass::CarContext};
use crate::store::context::{Vehicle, Wanted, track_member};
use crate::store::functions::{
    CarriedFix, Conclusions, Fix, FixAnswer, FixCore, Function, IdSpace, Identity, Scan,
    ScanAnswer, SitePlacement, Status, TruckFix, TruckFixAnswer, Unbind,
};
use crate::store::{Result, StoreError, truck_name};

use super::conclude::{self, GeoPlan, VehicleFixes};
use super::{Request, followup, plan};

/// One fix, ready for its calls.
struct Prepared<'a> {
    index: usize,
    event: &'a CarrierEvent,
    identity: Identity,
    record: String,
    position: String,
    member: String,
    noise: Option<&'static str>,
}

pub(super) async fn apply(
    req: &Request<'_>,
    segment: &[(usize, CarrierEvent)],
    outcomes: &mut [Option<Outcome>],
) -> Result<()> {
    let store = req.store;
    let carrier = req.carrier.as_str();
    let options = store.options();
    // Each vehicle's fixes, in time order (indexes into the segment).
    let mut by_vehicle: BTreeMap<Vehicle, Vec<usize>> = BTreeMap::new();
    for (k, (_, e)) in segment.iter().enumerate() {
        let EventBody::Fix(f) = &e.body else { continue };
        let v = match &f.target {
            FixTarget::Truck(t) => Vehicle::Truck {
                name: truck_name(req.carrier, t),
                truck: t.to_string(),
            },
            FixTarget::Order(o) => Vehicle::Order(o.to_string()),
        };
        by_vehicle.entry(v).or_default().push(k);
    }
    let wanted: Vec<Wanted> = by_vehicle
        .iter()
        .map(|(v, idx)| Wanted {
            vehicle: v.clone(),
            first_ms: segment[idx[0]].1.occurred_at.timestamp_millis(),
            last_ms: segment[idx[idx.len() - 1]].1.occurred_at.timestamp_millis(),
        })
        .collect();
    let (contexts, sites) = store.fix_context(&wanted).await?;

    // Judge: noise, jumps against the kept neighbours in time.
    let mut noise: Vec<Option<&'static str>> = vec![None; segment.len()];
    for (c, idx) in contexts.iter().zip(by_vehicle.values()) {
        let mut clean = Vec::new();
        for &k in idx {
            if let EventBody::Fix(f) = &segment[k].1.body {
                match filter::judge(f) {
                    Some(n) => noise[k] = Some(n.code()),
                    None => clean.push(k),
                }
            }
        }
        let batch: Vec<TrackPoint> = clean
            .iter()
            .filter_map(|&k| conclude::point(&segment[k].1))
            .collect();
        for (&k, jump) in clean.iter().zip(judge_batch(&c.kept, &batch)) {
            if jump {
                noise[k] = Some("implausible_speed");
            }
        }
    }
    let prepared: Vec<Prepared> = segment
        .iter()
        .enumerate()
        .filter_map(|(k, (i, e))| {
            let EventBody::Fix(f) = &e.body else {
                return None;
            };
            let p = conclude::point(e)?;
            Some(Prepared {
                index: *i,
                event: e,
                identity: Identity::new(
                    e.event_id.as_str(),
                    plan::digest(e),
                    plan::target(e),
                    req.received_at,
                    options.dedupe_days,
                ),
                record: e.record(req.received_at).to_string(),
                position: position_json(e, f),
                member: track_member(&p),
                noise: noise[k],
            })
        })
        .collect();
    let prep = |k: usize| {
        prepared
            .iter()
            .find(|p| std::ptr::eq(p.event, &segment[k].1))
    };

    // What each vehicle's newest fix means.
    let plans: Vec<Option<GeoPlan>> = contexts
        .iter()
        .zip(by_vehicle.values())
        .map(|(c, idx)| {
            let v = VehicleFixes {
                label: c.vehicle.label(),
                truck: match &c.vehicle {
                    Vehicle::Truck { truck, .. } => Some(truck.as_str()),
                    Vehicle::Order(_) => None,
                },
                fixes: idx.iter().map(|&k| (k, &segment[k].1)).collect(),
                pos_at: c.pos_at,
                geo: &c.geo,
                cars: &c.cars,
            };
            conclude::conclude(
                &v,
                &|k| noise[k].is_some(),
                &sites,
                &options.geo,
                req.received_at,
            )
        })
        .collect();

    // One round trip: every fix, then the milestones crossings implied.
    let none = Conclusions::default();
    let mut pipe = redis::pipe();
    let mut expect: Vec<Expect> = Vec::new();
    for ((c, idx), plan) in contexts.iter().zip(by_vehicle.values()).zip(&plans) {
        for &k in idx {
            let Some(p) = prep(k) else { continue };
            let newest = plan.as_ref().filter(|g| g.fix == k);
            let core = FixCore {
                carrier,
                identity: &p.identity,
                at: p.event.occurred_at,
                received_at: req.received_at,
                record: &p.record,
                noise: p.noise,
                position: &p.position,
                track_member: &p.member,
                options,
            };
            match &c.vehicle {
                Vehicle::Order(o) => {
                    Fix {
                        order: o,
                        fix: core,
                        geo: newest.map(|g| g.state.as_str()),
                        conclusions: newest.and_then(|g| g.cars.first()).unwrap_or(&none),
                    }
                    .push(&mut pipe);
                    expect.push(Expect::Own(p.index, &p.identity.target));
                }
                Vehicle::Truck { name, truck } => {
                    TruckFix {
                        name,
                        truck,
                        fix: core.clone(),
                        geo: newest.map(|g| g.state.as_str()),
                    }
                    .push(&mut pipe);
                    expect.push(Expect::Truck(p.index, &p.identity.target));
                    for (n, car) in c.cars.iter().enumerate() {
                        CarriedFix {
                            order: &car.order_id,
                            truck,
                            fix: core.clone(),
                            truck_stale: p.event.occurred_at.timestamp_millis() < c.pos_at,
                            conclusions: newest.and_then(|g| g.cars.get(n)).unwrap_or(&none),
                        }
                        .push(&mut pipe);
                        expect.push(Expect::Carried { name, car });
                    }
                }
            }
        }
    }
    let crossings: Vec<_> = plans
        .iter()
        .flatten()
        .flat_map(|g| g.crossed.iter().map(move |c| (g.fix_at_ms, c)))
        .map(|(at_fix, c)| {
            let identity = Identity::new(
                &c.event_id,
                c.event_id.clone(),
                format!("order {}", c.order_id),
                req.received_at,
                options.dedupe_days,
            );
            (at_fix, c, identity, plan::scan_letters(c.milestone))
        })
        .collect();
    for (at_fix, c, identity, letters) in &crossings {
        Scan {
            order: &c.order_id,
            ids: IdSpace::Order(&c.order_id),
            carrier: None,
            identity,
            at: c.at,
            received_at: req.received_at,
            record: &c.record,
            milestone: c.milestone.as_str(),
            by_current: &letters.by_current,
            from_hold: &letters.from_hold,
            ends_alerts: &letters.ends_alerts,
            truck: None,
            position: None,
            vin: None,
            site: &SitePlacement::Unchanged,
            only_at_fix: Some(*at_fix),
            options,
        }
        .push(&mut pipe);
    }
    let values = store.query_each(&mut pipe).await?;
    if values.len() != expect.len() + crossings.len() {
        return Err(StoreError::Corrupt("fix answers do not match".into()));
    }
    let mut values = values.into_iter();
    let mut strays = redis::pipe();
    let mut stray = false;
    for e in &expect {
        let v = values
            .next()
            .ok_or_else(|| StoreError::Corrupt("short answer".into()))?;
        match e {
            Expect::Own(i, target) => {
                let a = FixAnswer::parse(v)?;
                let judged = (a.status, a.code.as_deref(), a.detail.as_deref());
                outcomes[*i] = Some(outcome(judged, carrier, target));
            }
            Expect::Truck(i, target) => {
                let a = TruckFixAnswer::parse(v)?;
                let judged = (a.status, a.code.as_deref(), a.detail.as_deref());
                outcomes[*i] = Some(outcome(judged, carrier, target));
            }
            Expect::Carried { name, car } => {
                // A car that turned out to be elsewhere leaves this truck.
                let a = FixAnswer::parse(v)?;
                let truck = name.split_once('/').map_or("", |(_, t)| t);
                let upto = match (a.status, a.code.as_deref()) {
                    (Status::Skip, _) if a.truck.as_deref() != Some(truck) => {
                        Some(a.truck_since - 1)
                    }
                    (_, Some("not_your_order" | "unknown_order")) => Some(i64::MAX),
                    _ => None,
                };
                if let Some(upto) = upto {
                    Unbind {
                        name,
                        order: &car.order_id,
                        upto,
                    }
                    .push(&mut strays);
                    stray = true;
                }
            }
        }
    }
    let mut done = Vec::new();
    for v in values {
        done.extend(ScanAnswer::parse(v)?.followup);
    }
    if stray {
        let _: Vec<redis::Value> = store.query(&strays).await?;
    }
    followup::after(store, done, Vec::new()).await
}

/// What an answer in the pipeline is for.
enum Expect<'a> {
    Own(usize, &'a str),
    Truck(usize, &'a str),
    Carried { name: &'a str, car: &'a CarContext },
}

fn position_json(e: &CarrierEvent, f: &FixEvent) -> String {
    serde_json::json!({
        "lat": f.position.lat, "lon": f.position.lon, "at": crate::domain::utc(e.occurred_at),
        "speed_kmh": f.speed_kmh, "heading": f.heading,
    })
    .to_string()
}

/// A fix's outcome, in words a carrier's developer can act on; `target`
/// names what the fix is about (`order JD-1`, `truck YUE-A-12345`).
fn outcome(
    (status, code, detail): (Status, Option<&str>, Option<&str>),
    carrier: &str,
    target: &str,
) -> Outcome {
    match status {
        Status::Event(EventStatus::Rejected) => {
            let code = code.unwrap_or("rejected");
            let message = match code {
                "unknown_order" => format!("there is no {target}"),
                "not_your_order" => format!("{target} is not assigned to carrier {carrier}"),
                "unknown_truck" => format!(
                    "carrier {carrier} never loaded a car on {target}: send the loaded scan with its truck_id first"
                ),
                "event_id_reused" => plan::reused(detail),
                other => other.to_owned(),
            };
            Outcome::rejected(code, message)
        }
        Status::Event(EventStatus::Filtered) => {
            let o = Outcome::new(EventStatus::Filtered);
            match code {
                Some(c) => o.with_code(c),
                None => o,
            }
        }
        Status::Event(s) => Outcome::new(s),
        Status::Skip => Outcome::new(EventStatus::Stale),
    }
}
