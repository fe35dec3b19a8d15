//! What one newest fix means for a vehicle (a truck, or a car with its own
//! telematics) and the cars it carries: geofence crossings, stillness,
//! progress along each car's route, its ETA and the alerts that follow.
//! Pure: the caller reads the context and writes the decisions. Every time
//! rule runs on the fixes' own time, so replayed data behaves like live.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

mod car;

use car::judge_car;

use super::fence::{self, Crossing, FenceState, Site};
use super::leg::Leg;
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
    /// When (ms) it was put on its truck (its last loading), for its
    /// truck's fixes and its own tracker's alike: earlier fixes say nothing
    /// of this leg.
    pub aboard_since_ms: i64,
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
    pub raise: Vec<(AlertKind, serde_json::Value)>,
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

#[cfg(test)]
mod tests;
