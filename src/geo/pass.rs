//! What one newest fix means for a vehicle (a truck, or a car with its own
//! telematics) and the cars it carries: geofence crossings, stillness,
//! progress along each car's route, its ETA and the alerts that follow.
//! Pure: the caller reads the context and writes the decisions. Every time
//! rule runs on the fixes' own time, so replayed data behaves like live.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::eta::{self, EtaInput};
use super::fence::{self, Crossing, FenceState, Site};
use super::leg::{self, Leg};
use super::route::Route;
use super::speed::{TrackPoint, distance_m};
use crate::domain::{AlertKind, Milestone};

/// Thresholds of the alerts and assumptions of the ETA.
#[derive(Debug, Clone)]
pub struct GeoOptions {
    /// Still this long while in transit raises `stationary`.
    pub stationary: Duration,
    /// Farther than this from the route raises `off_route`.
    pub off_route_m: f64,
    /// Closer than this to the destination sends "arriving soon".
    pub arriving_m: f64,
    /// Expected stay at each warehouse between a car and its destination.
    pub warehouse_dwell: Duration,
    /// No fix for this long while in transit raises `no_signal`.
    pub no_signal: Duration,
}

impl Default for GeoOptions {
    fn default() -> Self {
        Self {
            stationary: Duration::minutes(45),
            off_route_m: 5_000.0,
            arriving_m: 5_000.0,
            warehouse_dwell: Duration::hours(12),
            no_signal: Duration::minutes(30),
        }
    }
}

/// Moves shorter than this are standing still (GPS wander).
const STILL_M: f64 = 200.0;
/// A stop this long counts as the driver's rest.
const REST_MS: i64 = 20 * 60_000;
/// Slower than this is not driving.
const MOVING_KMH: f64 = 5.0;

/// Where a vehicle stands still, and since when (fix time).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Still {
    pub lat: f64,
    pub lon: f64,
    pub since_ms: i64,
}

/// What vinpath remembers about a vehicle between its fixes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VehicleGeo {
    pub fence: FenceState,
    pub still: Option<Still>,
    pub last: Option<(i64, f64, f64)>,
    /// Driving time since the last rest, in ms.
    pub driven_ms: i64,
    /// Smoothed moving speed.
    pub speed_kmh: Option<f64>,
}

/// A site as the pass sees it.
#[derive(Debug, Clone)]
pub struct SiteInfo {
    pub site: Site,
    /// `plant`, `warehouse` or `compound`.
    pub kind: String,
    pub lat: f64,
    pub lon: f64,
}

/// A car the fix moves.
#[derive(Debug, Clone)]
pub struct CarContext {
    pub order_id: String,
    pub milestone: Milestone,
    pub route: Route,
    /// Whether the route was planned (set through the API); straight legs
    /// stand in otherwise, and a truck on real roads is far off those.
    pub route_planned: bool,
    pub destination: (f64, f64),
    pub promised_by: Option<DateTime<Utc>>,
    /// The ETA the customer was last told.
    pub eta: Option<DateTime<Utc>>,
    pub arriving_sent: bool,
    /// Kinds of the car's open alerts.
    pub open: Vec<AlertKind>,
    /// Where it was loaded and whether it is out of there.
    pub leg: Leg,
}

/// What the fix means for one car.
#[derive(Debug, Clone, PartialEq)]
pub struct CarOutcome {
    pub order_id: String,
    /// Milestones the crossings imply, each with its site and the fix time
    /// the crossing was first seen (not when the dwell confirmed it).
    pub milestones: Vec<(Milestone, String, i64)>,
    pub eta: DateTime<Utc>,
    /// The ETA moved enough to tell the customer.
    pub eta_changed: bool,
    /// Send "arriving soon" now.
    pub arriving: bool,
    /// Alerts to raise: kind and detail.
    pub raise: Vec<(AlertKind, String)>,
    /// Alert kinds to clear.
    pub clear: Vec<AlertKind>,
    /// The car's leg after this fix.
    pub leg: Leg,
}

/// The whole decision for one fix.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub vehicle: VehicleGeo,
    pub crossings: Vec<Crossing>,
    pub cars: Vec<CarOutcome>,
}

/// Evaluates the newest fix of a vehicle at `(at_ms, lat, lon)`.
pub fn evaluate(
    prev: &VehicleGeo,
    fix: TrackPoint,
    reported_kmh: Option<f64>,
    sites: &[SiteInfo],
    cars: &[CarContext],
    opts: &GeoOptions,
) -> Outcome {
    let plain: Vec<Site> = sites.iter().map(|s| s.site.clone()).collect();
    let (fence, crossings) = fence::step(&prev.fence, &plain, fix.at_ms, fix.lat, fix.lon);
    // A crossing is committed after its dwell; it happened when first seen.
    let crossed_at = prev
        .fence
        .candidate
        .as_ref()
        .map_or(fix.at_ms, |(_, since)| *since);
    let vehicle = advance(prev, fix, reported_kmh, fence);
    let still_ms = vehicle.still.map_or(0, |s| fix.at_ms - s.since_ms);
    let cars = cars
        .iter()
        .map(|car| {
            judge_car(
                car,
                &vehicle,
                fix,
                still_ms,
                (&crossings, crossed_at),
                sites,
                opts,
            )
        })
        .collect();
    Outcome {
        vehicle,
        crossings,
        cars,
    }
}

/// The vehicle's memory after this fix: stillness, driving time, speed.
fn advance(
    prev: &VehicleGeo,
    fix: TrackPoint,
    reported_kmh: Option<f64>,
    fence: FenceState,
) -> VehicleGeo {
    let mut next = VehicleGeo {
        fence,
        last: Some((fix.at_ms, fix.lat, fix.lon)),
        ..prev.clone()
    };
    let here = |s: &Still| TrackPoint {
        at_ms: s.since_ms,
        lat: s.lat,
        lon: s.lon,
    };
    match prev.still {
        Some(s) if distance_m(&here(&s), &fix) < STILL_M => {
            if fix.at_ms - s.since_ms >= REST_MS {
                next.driven_ms = 0;
            }
        }
        _ => {
            next.still = Some(Still {
                lat: fix.lat,
                lon: fix.lon,
                since_ms: fix.at_ms,
            })
        }
    }
    if let Some((at, lat, lon)) = prev.last {
        let dt = fix.at_ms - at;
        if dt > 0 {
            let km = distance_m(
                &TrackPoint {
                    at_ms: at,
                    lat,
                    lon,
                },
                &fix,
            ) / 1000.0;
            let kmh = reported_kmh.unwrap_or(km / (dt as f64 / 3_600_000.0));
            if kmh >= MOVING_KMH {
                next.driven_ms += dt;
                next.speed_kmh = Some(match prev.speed_kmh {
                    Some(old) => old * 0.7 + kmh * 0.3,
                    None => kmh,
                });
            }
        }
    }
    next
}

fn judge_car(
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
    if milestone == Loaded {
        let (next, left) = leg::step_loaded(&leg, sites, &fix);
        leg = next;
        if let Some((place, at)) = left {
            milestones.push((InTransit, place, at));
            milestone = InTransit;
        }
    }
    if milestone == InTransit && leg::near_destination(car.destination, sites, &fix) {
        milestones.push((Arrived, "destination".to_owned(), fix.at_ms));
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
                format!("still for {} min", still_ms / 60_000),
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
                format!(
                    "{:.1} km from the planned route",
                    progress.off_route_m / 1000.0
                ),
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
            format!("expected {} after the promised time", fmt_delay(eta - p)),
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

fn fmt_delay(d: Duration) -> String {
    let minutes = d.num_minutes();
    if minutes >= 120 {
        format!("{} h", minutes / 60)
    } else {
        format!("{minutes} min")
    }
}

#[cfg(test)]
mod tests;
