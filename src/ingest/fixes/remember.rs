//! What this instance keeps of a vehicle's context after its own write:
//! the context as the write left it, at the revisions the functions
//! answered, so the vehicle's next fix needs no read. Anything unexpected
//! (a car elsewhere, a crossing, a refusal) drops the copy instead.

use crate::domain::EventStatus;
use crate::geo::speed::TrackPoint;
use crate::ingest::conclude::GeoPlan;
use crate::store::context::VehicleContext;
use crate::store::functions::Status;

/// Kept fixes a copy holds: enough neighbours in time to judge jumps.
const KEPT: usize = 4;

/// What one vehicle's calls answered.
#[derive(Debug, Default)]
pub(super) struct Applied {
    /// Its own calls: the fix (segment index) and its status.
    own: Vec<(usize, Status)>,
    rev: Option<i64>,
    /// Per car: its last revision answered, whether all went as known,
    /// and the fixes accepted for it.
    cars: Vec<(Option<i64>, bool, Vec<usize>)>,
    retry: bool,
    /// The cars on board, as the truck's function answered.
    pub(super) on_board: Option<Vec<String>>,
}

impl Applied {
    pub(super) fn own(&mut self, k: usize, status: Status, rev: Option<i64>) {
        self.retry |= status == Status::Retry;
        self.own.push((k, status));
        self.rev = rev.or(self.rev);
    }

    pub(super) fn car(&mut self, n: usize, k: usize, status: Status, rev: Option<i64>) {
        self.retry |= status == Status::Retry;
        if self.cars.len() <= n {
            self.cars.resize(n + 1, (None, true, Vec::new()));
        }
        let known = matches!(
            status,
            Status::Event(
                EventStatus::Accepted
                    | EventStatus::Duplicate
                    | EventStatus::Filtered
                    | EventStatus::Stale
            )
        );
        let c = &mut self.cars[n];
        c.0 = rev.or(c.0);
        c.1 &= known;
        if status == Status::Event(EventStatus::Accepted) {
            c.2.push(k);
        }
    }

    pub(super) fn retried(&self) -> bool {
        self.retry
    }
}

/// The vehicle's context after these calls, or `None` where it is better
/// read again.
pub(super) fn next_context(
    before: &VehicleContext,
    applied: &Applied,
    plan: Option<&GeoPlan>,
    points: &[Option<TrackPoint>],
    crossed: bool,
) -> Option<VehicleContext> {
    use EventStatus::*;
    if crossed || applied.cars.iter().any(|(_, known, _)| !known) {
        return None;
    }
    if let Some(on_board) = &applied.on_board {
        let mut now: Vec<&str> = on_board.iter().map(String::as_str).collect();
        let mut known: Vec<&str> = before.cars.iter().map(|c| c.order_id.as_str()).collect();
        now.sort_unstable();
        known.sort_unstable();
        if now != known {
            return None;
        }
    }
    let mut next = before.clone();
    for &(k, status) in &applied.own {
        match status {
            Status::Event(Accepted | Stale) => {
                let p = points.get(k).copied().flatten()?;
                next.kept.push(p);
                if status == Status::Event(Accepted) {
                    next.pos_at = next.pos_at.max(p.at_ms);
                }
            }
            Status::Event(Duplicate | Filtered) => {}
            _ => return None,
        }
    }
    next.kept.sort_by_key(|p| p.at_ms);
    next.kept.dedup_by_key(|p| p.at_ms);
    let drop = next.kept.len().saturating_sub(KEPT);
    next.kept.drain(..drop);
    next.rev = applied.rev.unwrap_or(before.rev);
    for (rev, (n, _)) in next
        .car_revs
        .iter_mut()
        .zip(applied.cars.iter().enumerate())
    {
        *rev = applied.cars[n].0.unwrap_or(*rev);
    }
    if let Some(g) = plan {
        // The conclusions were written only where their fix was accepted:
        // by the vehicle, and by every car (each judges for itself).
        let concluded = applied
            .own
            .iter()
            .any(|&(k, s)| k == g.fix && s == Status::Event(Accepted))
            && applied.cars.len() == before.cars.len()
            && applied
                .cars
                .iter()
                .all(|(_, _, accepted)| accepted.contains(&g.fix));
        if !concluded {
            return None;
        }
        next.geo = g.vehicle_after.clone();
        next.cars = g.cars_after.clone();
    }
    Some(next)
}
