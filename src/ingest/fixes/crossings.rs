//! The milestones a request's geofence crossings imply, as scans of their
//! own pipelined after the fixes: each applies only while its fix is the
//! car's position and the car is at the milestone it was crossed from.

use crate::ingest::conclude::GeoPlan;
use crate::ingest::{Request, plan};
use crate::store::functions::{Function, IdSpace, Identity, Scan, SitePlacement};

/// Adds a scan per crossing; returns how many.
pub(super) fn push(
    req: &Request<'_>,
    plans: &[Option<GeoPlan>],
    pipe: &mut redis::Pipeline,
) -> usize {
    let options = req.store.options();
    let mut n = 0;
    for g in plans.iter().flatten() {
        for c in &g.crossed {
            let target = format!("order {}", c.order_id);
            let identity = Identity::new(
                &c.event_id,
                c.event_id.clone(),
                target,
                req.received_at,
                options.dedupe_days,
            );
            let letters = plan::scan_letters(c.milestone);
            Scan {
                order: &c.order_id,
                ids: IdSpace::Order(&c.order_id),
                carrier: None,
                identity: &identity,
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
                crossing: Some((g.fix_at_ms, c.from.as_str())),
                leg: None,
                // Crossings reach sites, never the customer's door.
                proof: "",
                proof_required: false,
            }
            .push(pipe);
            n += 1;
        }
    }
    n
}
