//! One attempt at a run of fixes: every fix of the vehicles to do, the
//! milestones their crossings imply, one round trip; then the outcomes,
//! the cars found on the wrong truck, and what this instance keeps.

use std::collections::HashSet;
use std::sync::Arc;

use redis::Value;

use super::answer::settle;
use super::crossings;
use super::remember::{Applied, next_context};
use crate::domain::{CarrierEvent, EventBody, Outcome};
use crate::geo::pass::SiteInfo;
use crate::ingest::conclude::{self, GeoPlan, VehicleFixes};
use crate::ingest::{Request, followup, plan};
use crate::store::context::{Vehicle, VehicleContext, track_member};
use crate::store::functions::{
    CarriedFix, Conclusions, Fix, FixAnswer, FixCore, Function, IdSpace, Identity, ScanAnswer,
    Status, TruckFix, TruckFixAnswer, Unbind,
};
use crate::store::{Result, StoreError};

/// One fix, ready for its calls.
struct Prepared<'a> {
    index: usize,
    event: &'a CarrierEvent,
    identity: Identity,
    record: String,
    position: String,
    member: String,
}

/// What an answer in the pipeline is for.
enum Expect {
    /// A vehicle's own call: the segment index of its fix.
    Own {
        v: usize,
        k: usize,
    },
    Truck {
        v: usize,
        k: usize,
    },
    Carried {
        v: usize,
        k: usize,
        car: usize,
    },
}

/// Applies the fixes of `todo`'s vehicles; returns the vehicles whose
/// context was out of date (nothing of theirs done but what was, which a
/// retry finds as duplicates).
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    req: &Request<'_>,
    segment: &[(usize, CarrierEvent)],
    todo: &[(Vehicle, Vec<usize>)],
    contexts: &[Arc<VehicleContext>],
    sites: &[SiteInfo],
    noise: &[Option<&'static str>],
    checked: bool,
    outcomes: &mut [Option<Outcome>],
) -> Result<HashSet<Vehicle>> {
    let store = req.store;
    let carrier = req.carrier.as_str();
    let options = store.options();
    let prepared: Vec<Option<Prepared>> = segment
        .iter()
        .map(|(i, e)| {
            let EventBody::Fix(f) = &e.body else {
                return None;
            };
            let p = conclude::point(e)?;
            let (record, digest) = plan::record_and_digest(e, req.received_at);
            Some(Prepared {
                index: *i,
                event: e,
                identity: Identity::new(
                    e.event_id.as_str(),
                    digest,
                    plan::target(e),
                    req.received_at,
                    options.dedupe_days,
                ),
                record,
                position: plan::fix_position(e, f),
                member: track_member(&p),
            })
        })
        .collect();

    // What each vehicle's newest fix means.
    let plans: Vec<Option<GeoPlan>> = contexts
        .iter()
        .zip(todo)
        .map(|(c, (v, idx))| {
            let fixes = VehicleFixes {
                label: v.label(),
                truck: match v {
                    Vehicle::Truck { truck, .. } => Some(truck.as_str()),
                    Vehicle::Order(_) => None,
                },
                fixes: idx.iter().map(|&k| (k, &segment[k].1)).collect(),
                pos_at: c.pos_at,
                geo: &c.geo,
                cars: &c.cars,
            };
            let noisy = |k: usize| noise[k].is_some();
            conclude::conclude(&fixes, &noisy, sites, &options.geo, req.received_at)
        })
        .collect();

    // One round trip: every fix, the milestones crossings implied, and the
    // sites' version (a copy of the sites out of date is read for the next).
    let none = Conclusions::default();
    let mut pipe = redis::pipe();
    let mut expect: Vec<Expect> = Vec::new();
    for (v, ((c, (vehicle, idx)), plan)) in contexts.iter().zip(todo).zip(&plans).enumerate() {
        // Every call checks the revision it expects: the context's, moved
        // by one for each call of this request before it (each call that
        // passes its check moves it by one, whatever it answers). Where the
        // guess is wrong, another instance got there first: the call does
        // nothing and the vehicle is read again, so no conclusion is drawn
        // from a changed context.
        let mut vehicle_rev = c.rev;
        let mut car_revs = c.car_revs.clone();
        for &k in idx {
            let Some(p) = &prepared[k] else { continue };
            let newest = plan.as_ref().filter(|g| g.fix == k);
            let rev = |r: i64| checked.then_some(r);
            let core = FixCore {
                carrier,
                identity: &p.identity,
                at: p.event.occurred_at,
                received_at: req.received_at,
                record: &p.record,
                noise: noise[k],
                position: &p.position,
                track_member: &p.member,
                options,
            };
            match vehicle {
                Vehicle::Order(o) => {
                    Fix {
                        order: o,
                        ids: req.ids(IdSpace::Order(o)),
                        fix: core,
                        geo: newest.map(|g| g.state.as_str()),
                        conclusions: newest.and_then(|g| g.cars.first()).unwrap_or(&none),
                        expect_rev: rev(vehicle_rev),
                    }
                    .push(&mut pipe);
                    expect.push(Expect::Own { v, k });
                    vehicle_rev += 1;
                }
                Vehicle::Truck { name, truck } => {
                    TruckFix {
                        name,
                        truck,
                        ids: req.ids(IdSpace::Truck(name)),
                        fix: core.clone(),
                        geo: newest.map(|g| g.state.as_str()),
                        expect_rev: rev(vehicle_rev),
                    }
                    .push(&mut pipe);
                    expect.push(Expect::Truck { v, k });
                    vehicle_rev += 1;
                    for (n, car) in c.cars.iter().enumerate() {
                        CarriedFix {
                            order: &car.order_id,
                            truck,
                            // Where the truck's fix was remembered, to check
                            // it took this very event (a claim did, on a
                            // cluster).
                            taken: (!req.claimed).then(|| req.ids(IdSpace::Truck(name))),
                            fix: core.clone(),
                            truck_stale: p.event.occurred_at.timestamp_millis() < c.pos_at,
                            conclusions: newest.and_then(|g| g.cars.get(n)).unwrap_or(&none),
                            expect_rev: car_revs.get(n).copied().and_then(rev),
                        }
                        .push(&mut pipe);
                        expect.push(Expect::Carried { v, k, car: n });
                        if let Some(r) = car_revs.get_mut(n) {
                            *r += 1;
                        }
                    }
                }
            }
        }
    }
    let crossings = crossings::push(req, &plans, &mut pipe);
    store.push_sites_version(&mut pipe);
    let mut values = store.query_each(&mut pipe).await?;
    let version = values.pop();
    if values.len() != expect.len() + crossings {
        return Err(StoreError::Corrupt("fix answers do not match".into()));
    }
    let crossing_answers = values.split_off(expect.len());

    // Outcomes, strays, and what each vehicle's calls did.
    let mut applied: Vec<Applied> = contexts.iter().map(|_| Applied::default()).collect();
    let mut retry = HashSet::new();
    let mut strays = redis::pipe();
    for (e, v) in expect.iter().zip(values) {
        match *e {
            Expect::Own { v: i, k } | Expect::Truck { v: i, k } => {
                // A vehicle's own call: the fix's outcome, and what it did.
                let (status, code, detail, rev, on_board) = match e {
                    Expect::Truck { .. } => {
                        let a = TruckFixAnswer::parse(v)?;
                        (a.status, a.code, a.detail, a.rev, Some(a.on_board))
                    }
                    _ => {
                        let a = FixAnswer::parse(v)?;
                        (a.status, a.code, a.detail, a.rev, None)
                    }
                };
                let p = prepared[k]
                    .as_ref()
                    .ok_or_else(|| StoreError::Corrupt("a fix".into()))?;
                let judged = (status, code.as_deref(), detail.as_deref());
                settle(outcomes, p.index, judged, carrier, &p.identity.target);
                applied[i].own(k, status, rev);
                match on_board {
                    Some(cars) => applied[i].on_board = Some(cars),
                    // A car with its own tracker is its own (only) car.
                    None => applied[i].car(0, k, status, rev),
                }
            }
            Expect::Carried { v: i, k, car } => {
                let a = FixAnswer::parse(v)?;
                applied[i].car(car, k, a.status, a.rev);
                // A car that turned out to be elsewhere leaves this truck.
                let (Vehicle::Truck { name, truck }, Some(c)) =
                    (&todo[i].0, contexts[i].cars.get(car))
                else {
                    continue;
                };
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
                        order: &c.order_id,
                        upto,
                    }
                    .push(&mut strays);
                }
            }
        }
    }
    let points: Vec<_> = segment.iter().map(|(_, e)| conclude::point(e)).collect();
    for (i, (vehicle, _)) in todo.iter().enumerate() {
        if applied[i].retried() {
            retry.insert(vehicle.clone());
            continue;
        }
        let crossed = plans[i].as_ref().is_some_and(|g| !g.crossed.is_empty());
        match next_context(
            &contexts[i],
            &applied[i],
            plans[i].as_ref(),
            &points,
            crossed,
        ) {
            Some(next) => store.keep_context(next),
            None => store.forget_context(vehicle),
        }
    }
    let mut done = Vec::new();
    for v in crossing_answers {
        done.extend(ScanAnswer::parse(v)?.followup);
    }
    if !strays.is_empty() {
        let _: Vec<Value> = store.query(&strays).await?;
    }
    if let Some(v) = version {
        store.note_sites_version(v).await?;
    }
    followup::after(store, done, Vec::new()).await?;
    Ok(retry)
}
