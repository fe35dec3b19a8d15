//! What a vehicle's newest fix means for one car it moves: the milestones
//! its crossings and its leg imply, its ETA, and the alerts raised or
//! cleared.

use chrono::{DateTime, Duration};
use serde_json::json;

use super::{CarContext, CarOutcome, GeoOptions, SiteInfo, VehicleGeo};
use crate::domain::{AlertKind, Milestone};
use crate::geo::eta::{self, EtaInput};
use crate::geo::fence::Crossing;
use crate::geo::leg;
use crate::geo::speed::{TrackPoint, distance_m};

pub(super) fn judge_car(
    car: &CarContext,
    vehicle: &VehicleGeo,
    fix: TrackPoint,
    still_ms: i64,
    (crossings, crossed_at): (&[Crossing], i64),
    sites: &[SiteInfo],
    opts: &GeoOptions,
) -> CarOutcome {
    use Milestone::*;
    let mut milestone = car.milestone;
    let mut milestones = Vec::new();
    // A truck's fix from before the car was put on it says nothing of the
    // car's leg: no crossing, no leaving.
    let aboard = fix.at_ms >= car.aboard_since_ms;
    let crossings = if aboard { crossings } else { &[] };
    for c in crossings {
        match c {
            Crossing::Left(site) if milestone == Arrived => {
                milestones.push((InTransit, site.clone(), crossed_at));
                milestone = InTransit;
            }
            Crossing::Entered(site) if milestone == InTransit => {
                milestones.push((Arrived, site.clone(), crossed_at));
                milestone = Arrived;
            }
            _ => {}
        }
    }
    // Leaving where it was loaded, and arriving near its destination, are
    // the car's own: its loading place need be nobody's site.
    let mut leg = car.leg.clone();
    if milestone == Loaded && aboard {
        let (next, left) = leg::step_loaded(&leg, sites, &fix, car.aboard_since_ms);
        leg = next;
        if let Some((place, at)) = left {
            milestones.push((InTransit, place, at));
            milestone = InTransit;
        }
    }
    if milestone == InTransit && aboard && leg::near_destination(car.destination, sites, &fix) {
        milestones.push((Arrived, "destination".to_owned(), fix.at_ms));
        milestone = Arrived;
    }
    // Inside a site, a car in transit has arrived there, whether or not
    // this fix is the one that crossed its fence (a crossing whose apply
    // was lost, say to a retry, is made good by the next fix): unless it
    // is the site it was loaded at, which it is only leaving.
    if milestone == InTransit
        && aboard
        && let Some(site) = vehicle.fence.inside.as_deref()
        && car.leg.loaded_at != Some(leg::LoadingPlace::Site(site.to_owned()))
    {
        milestones.push((Arrived, site.to_owned(), fix.at_ms));
        milestone = Arrived;
    }
    let progress = car.route.progress(fix.lat, fix.lon);
    let length = car.route.length_m();
    let inside = vehicle.fence.inside.as_deref();
    let dwell_stops = sites
        .iter()
        .filter(|s| {
            matches!(s.kind.as_str(), "warehouse" | "compound")
                && Some(s.site.id.as_str()) != inside
        })
        .filter(|s| {
            let p = car.route.progress(s.lat, s.lon);
            p.off_route_m < 10_000.0
                && p.along_m > progress.along_m + 2_000.0
                && p.along_m < length - 2_000.0
        })
        .map(|_| opts.warehouse_dwell)
        .collect();
    let eta = eta::eta(&EtaInput {
        anchor: DateTime::from_timestamp_millis(fix.at_ms).unwrap_or_default(),
        remaining_m: progress.remaining_m,
        recent_speed_kmh: vehicle.speed_kmh,
        driven_since_rest: Duration::milliseconds(vehicle.driven_ms),
        dwell_stops,
    });
    let to_destination = distance_m(
        &fix,
        &TrackPoint {
            at_ms: fix.at_ms,
            lat: car.destination.0,
            lon: car.destination.1,
        },
    );
    let open = |k: AlertKind| car.open.contains(&k);
    let mut raise = Vec::new();
    let mut clear = Vec::new();
    let moving = milestone == InTransit;
    if moving && still_ms >= opts.stationary.num_milliseconds() {
        if !open(AlertKind::Stationary) {
            raise.push((
                AlertKind::Stationary,
                json!({"minutes_still": still_ms / 60_000}),
            ));
        }
    } else if open(AlertKind::Stationary) {
        clear.push(AlertKind::Stationary);
    }
    // Off route and late matter while the car is on the road.
    let on_road = milestone.on_truck();
    if on_road && car.route_planned && progress.off_route_m > opts.off_route_m {
        if !open(AlertKind::OffRoute) {
            raise.push((
                AlertKind::OffRoute,
                json!({"km_off_route": (progress.off_route_m / 100.0).round() / 10.0}),
            ));
        }
    } else if (!on_road || progress.off_route_m < opts.off_route_m * 0.8)
        && open(AlertKind::OffRoute)
    {
        clear.push(AlertKind::OffRoute);
    }
    let late = car.promised_by.filter(|p| on_road && eta > *p);
    match late {
        Some(p) if !open(AlertKind::Late) => raise.push((
            AlertKind::Late,
            json!({"minutes_late": (eta - p).num_minutes(), "eta": crate::domain::utc(eta),
                "promised_by": crate::domain::utc(p)}),
        )),
        None if open(AlertKind::Late) => clear.push(AlertKind::Late),
        _ => {}
    }
    if open(AlertKind::NoSignal) {
        clear.push(AlertKind::NoSignal);
    }
    CarOutcome {
        order_id: car.order_id.clone(),
        milestones,
        eta,
        eta_changed: eta::moved_enough(car.eta, eta),
        arriving: !car.arriving_sent
            && matches!(milestone, InTransit | OutForDelivery)
            && to_destination <= opts.arriving_m,
        raise,
        clear,
        leg,
    }
}
