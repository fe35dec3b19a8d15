//! The geo pass's conclusions for a segment of fixes: what each vehicle's
//! newest fix means. Its geo state, ETA, notices and site ride with that
//! fix's own apply (written only if it is still the newest then); the
//! rare geofence milestones and alerts are calls of their own.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::events::{Apply, Call, verdicts};
use super::fix_context::{Vehicle, VehicleWork, point};
use super::{Store, keys};
use crate::domain::{CarrierEvent, EventBody, Milestone, OrderId, utc};
use crate::geo::pass::{self, CarOutcome};

/// Where a car inside a site is shown: the site, not the bay.
pub(super) fn site_json(sites: &[pass::SiteInfo], id: Option<&str>, at: DateTime<Utc>) -> String {
    id.and_then(|id| sites.iter().find(|s| s.site.id == id))
        .map(|s| {
            json!({"site_id": s.site.id, "lat": s.lat, "lon": s.lon, "at": utc(at)}).to_string()
        })
        .unwrap_or_default()
}

/// What a vehicle's newest fix in a segment means, for its apply calls.
pub(super) struct GeoPlan {
    /// The fix (an index into the segment) it was concluded from.
    pub fix: usize,
    /// The vehicle's geo state after it.
    pub state: String,
    /// The site the vehicle is in ('' none), as customers see it.
    pub inside: String,
    /// One per car, in the order of the vehicle's cars.
    pub cars: Vec<CarPlan>,
}

pub(super) struct CarPlan {
    pub eta_ms: String,
    /// The ETA event, when it moved enough to tell ('' otherwise).
    pub eta_record: String,
    /// The "arriving soon" notice, the first time ('' otherwise).
    pub notice: String,
}

impl GeoPlan {
    /// The apply arguments after the fix's own (15..19 in the Lua library)
    /// for car `i`; `own` when the car is the vehicle.
    pub fn car_args(&self, i: usize, own: bool) -> [&str; 5] {
        let state = if own { self.state.as_str() } else { "" };
        match self.cars.get(i) {
            Some(c) => [state, &c.eta_ms, &c.eta_record, &c.notice, &self.inside],
            None => [state, "", "", "", ""],
        }
    }
}

impl Store {
    /// Runs the geo pass over a vehicle's would-be newest fixes: returns
    /// what the newest means, and adds the milestones and alerts it raised.
    pub(super) fn plan_geo(
        &self,
        call: &Call<'_>,
        segment: &[(usize, CarrierEvent)],
        noise: &[&'static str],
        w: &mut VehicleWork,
        sites: &[pass::SiteInfo],
        writes: &mut redis::Pipeline,
    ) -> Option<GeoPlan> {
        let opts = &self.options().geo;
        let mut state = w.geo.clone();
        let mut newest = w.pos_at;
        let mut cars = w.cars.clone();
        let mut last: Option<(usize, i64, Vec<CarOutcome>)> = None;
        let mut synthetic: Vec<(String, &'static str, String, DateTime<Utc>)> = Vec::new();
        // Alerts raised and cleared, in the order they happened (a late
        // batch may hold both), with the fix time.
        let mut alert_ops: Vec<(bool, &'static str, String, String, DateTime<Utc>)> = Vec::new();
        // A fix sent twice in one request is applied once, as its first
        // copy: the conclusions ride with that one.
        let mut ids = std::collections::HashSet::new();
        for &k in &w.fixes {
            let e = &segment[k].1;
            let EventBody::Fix(f) = &e.body else { continue };
            let p = point(e, f);
            if !ids.insert(e.event_id.as_str()) || !noise[k].is_empty() || p.at_ms < newest {
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
            last = Some((k, p.at_ms, out.cars));
        }
        let (fix, at, outs) = last?;
        let at_time = DateTime::from_timestamp_millis(at).unwrap_or_default();
        let mut plan = GeoPlan {
            fix,
            state: serde_json::to_string(&state).ok()?,
            inside: site_json(sites, state.fence.inside.as_deref(), at_time),
            cars: Vec::new(),
        };
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
            plan.cars.push(CarPlan {
                eta_ms: o.eta.timestamp_millis().to_string(),
                eta_record,
                notice,
            });
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
                .arg("vinpath2_alert")
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
        Some(plan)
    }
}
