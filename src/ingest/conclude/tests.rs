use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::geo::fence::{Area, Site};
use crate::geo::route::Route;

const PLANT: (f64, f64) = (23.03, 113.47);

fn sites() -> Vec<SiteInfo> {
    vec![SiteInfo {
        site: Site {
            id: "plant".into(),
            area: Area::Circle {
                lat: PLANT.0,
                lon: PLANT.1,
                radius_m: 500.0,
            },
        },
        kind: "plant".into(),
        lat: PLANT.0,
        lon: PLANT.1,
    }]
}

fn car(milestone: Milestone) -> CarContext {
    CarContext {
        order_id: "JD-1".into(),
        milestone,
        route: Route::straight(PLANT, (30.62, 114.14)),
        route_planned: false,
        destination: (30.62, 114.14),
        promised_by: None,
        eta: None,
        arriving_sent: false,
        open: Vec::new(),
        leg: Default::default(),
        aboard_since_ms: base().timestamp_millis(),
    }
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap()
}

fn fix(id: &str, minute: i64, lat: f64, lon: f64) -> CarrierEvent {
    let at = base() + chrono::Duration::minutes(minute);
    CarrierEvent::parse(
        json!({"event_id": id, "kind": "gps", "truck_id": "T1", "occurred_at": utc(at), "lat": lat, "lon": lon}),
        base() + chrono::Duration::days(1),
    )
    .expect("a valid fix")
}

fn run(events: &[CarrierEvent], cars: &[CarContext], noisy: &[usize]) -> Option<GeoPlan> {
    let geo = VehicleGeo::default();
    let v = VehicleFixes {
        label: "sf/T1",
        truck: Some("T1"),
        fixes: events.iter().enumerate().collect(),
        pos_at: 0,
        geo: &geo,
        cars,
    };
    conclude(
        &v,
        &|k| noisy.contains(&k),
        &sites(),
        &GeoOptions::default(),
        base(),
    )
}

#[test]
fn leaving_the_plant_concludes_in_transit_and_takes_the_car_out_of_the_site() {
    // Parked in the plant, then driving north well past its fence.
    let mut events: Vec<_> = (0..4)
        .map(|m| fix(&format!("p{m}"), m, PLANT.0, PLANT.1))
        .collect();
    events.extend((4..12).map(|m| {
        fix(
            &format!("d{m}"),
            m,
            PLANT.0 + 0.01 * (m - 3) as f64,
            PLANT.1,
        )
    }));
    let plan = run(&events, &[car(Milestone::Loaded)], &[]).expect("a plan");
    assert_eq!(
        plan.fix,
        events.len() - 1,
        "the conclusions ride with the newest fix"
    );
    assert_eq!(plan.crossed.len(), 1);
    let c = &plan.crossed[0];
    assert_eq!(
        (c.order_id.as_str(), c.milestone),
        ("JD-1", Milestone::InTransit)
    );
    assert!(
        c.event_id.starts_with("geo-sf/T1-plant-in_transit-"),
        "{}",
        c.event_id
    );
    assert!(c.record.contains("\"kind\":\"geofence\""));
    assert_eq!(plan.cars[0].site, SitePlacement::Left);
    assert!(plan.cars[0].eta_ms.is_some());
}

#[test]
fn a_first_step_out_does_not_take_a_car_out_of_its_site() {
    // One fix outside, no dwell yet: the site a scan gave the car stays.
    let events = vec![fix("a", 0, PLANT.0 + 0.02, PLANT.1)];
    let plan = run(&events, &[car(Milestone::InStorage)], &[]).expect("a plan");
    assert_eq!(plan.cars[0].site, SitePlacement::Unchanged);
    // Inside the fence long enough: shown at the site, not the bay.
    let inside: Vec<_> = (0..4)
        .map(|m| fix(&format!("i{m}"), m, PLANT.0, PLANT.1))
        .collect();
    let plan = run(&inside, &[car(Milestone::InStorage)], &[]).expect("a plan");
    let SitePlacement::At(json) = &plan.cars[0].site else {
        panic!("at the site: {:?}", plan.cars[0].site);
    };
    assert!(json.contains("\"site_id\":\"plant\""));
}

#[test]
fn the_eta_is_told_against_the_one_last_told() {
    let events = vec![fix("a", 0, 25.0, 113.6)];
    let quiet = run(&events, &[car(Milestone::InTransit)], &[]).expect("a plan");
    let eta = quiet.cars[0].eta_ms.expect("an eta");
    assert!(quiet.cars[0].eta_record.is_some(), "never told: told now");
    let mut told = car(Milestone::InTransit);
    told.eta = DateTime::from_timestamp_millis(eta - 60_000);
    let plan = run(&events, &[told.clone()], &[]).expect("a plan");
    assert!(
        plan.cars[0].eta_record.is_none(),
        "a minute off is not worth telling"
    );
    told.eta = DateTime::from_timestamp_millis(eta - 3_600_000);
    let plan = run(&events, &[told], &[]).expect("a plan");
    let rec = plan.cars[0]
        .eta_record
        .as_deref()
        .expect("an hour off is told");
    assert!(rec.contains("\"kind\":\"eta\""));
}

#[test]
fn noise_repeats_and_old_fixes_conclude_nothing() {
    let events = vec![
        fix("a", 5, 25.0, 113.6),
        fix("a", 5, 25.0, 113.6),
        fix("b", 6, 0.0, 0.0),
    ];
    let plan = run(&events, &[car(Milestone::InTransit)], &[2]).expect("a plan");
    assert_eq!(
        plan.fix, 0,
        "the first copy carries the conclusions; noise none"
    );
    let geo = VehicleGeo::default();
    let cars = [car(Milestone::InTransit)];
    let v = VehicleFixes {
        label: "sf/T1",
        truck: Some("T1"),
        fixes: events.iter().enumerate().collect(),
        pos_at: (base() + chrono::Duration::hours(1)).timestamp_millis(),
        geo: &geo,
        cars: &cars,
    };
    assert!(conclude(&v, &|_| false, &sites(), &GeoOptions::default(), base()).is_none());
}

#[test]
fn alerts_raised_ride_with_the_fix_as_ops() {
    // Still in transit for an hour: stationary, dated from when it stopped.
    let events: Vec<_> = (0..8)
        .map(|m| fix(&format!("s{m}"), m * 10, 25.0, 113.6))
        .collect();
    let plan = run(&events, &[car(Milestone::InTransit)], &[]).expect("a plan");
    let ops = plan.cars[0].alerts.as_deref().expect("an alert op");
    let ops: serde_json::Value = serde_json::from_str(ops).unwrap();
    assert_eq!(ops[0]["op"], "raise");
    assert_eq!(ops[0]["id"], "stationary:JD-1");
    let alert: serde_json::Value = serde_json::from_str(ops[0]["alert"].as_str().unwrap()).unwrap();
    assert_eq!(alert["kind"], "stationary");
    assert_eq!(alert["truck_id"], "T1");
    assert_eq!(alert["since"], utc(base()));
}
