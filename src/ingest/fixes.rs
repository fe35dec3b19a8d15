//! A run of GPS fixes. Each vehicle's context comes from this instance's
//! copy (or Redis, when it has none that covers the fixes); noise and
//! jumps are judged, each vehicle's newest fix concluded, and everything
//! applied in one pipelined round trip, each vehicle's first call carrying
//! the revision its context was read at. A function that finds the context
//! out of date does nothing and answers `retry`: that vehicle's context is
//! read again and its fixes applied again (a duplicate where they were).

mod answer;
mod apply;
mod crossings;
mod remember;

use std::collections::BTreeMap;

use crate::domain::{CarrierEvent, EventBody, FixTarget, Outcome};
use crate::geo::filter;
use crate::geo::speed::{TrackPoint, judge_batch};
use crate::store::context::{Vehicle, Wanted};
use crate::store::{Result, truck_name};

use super::Request;
use super::conclude;

/// Attempts at a vehicle whose context keeps changing under it; the last
/// one applies without the check (as a read-then-write would).
const ATTEMPTS: usize = 3;

pub(super) async fn apply(
    req: &Request<'_>,
    segment: &[(usize, CarrierEvent)],
    outcomes: &mut [Option<Outcome>],
) -> Result<()> {
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
    let mut todo: Vec<(Vehicle, Vec<usize>)> = by_vehicle.into_iter().collect();
    for attempt in 1..=ATTEMPTS {
        if todo.is_empty() {
            break;
        }
        let wanted: Vec<Wanted> = todo
            .iter()
            .map(|(v, idx)| Wanted {
                vehicle: v.clone(),
                first_ms: segment[idx[0]].1.occurred_at.timestamp_millis(),
                last_ms: segment[idx[idx.len() - 1]].1.occurred_at.timestamp_millis(),
            })
            .collect();
        let (contexts, sites) = req.store.fix_context(&wanted).await?;
        let noise = judge_noise(segment, &todo, &contexts);
        let checked = attempt < ATTEMPTS;
        let retry = apply::run(
            req, segment, &todo, &contexts, &sites, &noise, checked, outcomes,
        )
        .await?;
        todo.retain(|(v, _)| retry.contains(v));
        for (v, _) in &todo {
            req.store.forget_context(v);
        }
    }
    Ok(())
}

/// The noise code of each fix of the segment, if any: filtered by itself,
/// or a jump against its neighbours in time.
fn judge_noise(
    segment: &[(usize, CarrierEvent)],
    todo: &[(Vehicle, Vec<usize>)],
    contexts: &[std::sync::Arc<crate::store::context::VehicleContext>],
) -> Vec<Option<&'static str>> {
    let mut noise = vec![None; segment.len()];
    for (c, (_, idx)) in contexts.iter().zip(todo) {
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
    noise
}
