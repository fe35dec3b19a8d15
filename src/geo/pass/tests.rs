use super::*;
use crate::geo::fence::Area;

fn site(id: &str, lat: f64, lon: f64) -> SiteInfo {
    SiteInfo {
        site: Site {
            id: id.into(),
            area: Area::Circle {
                lat,
                lon,
                radius_m: 500.0,
            },
        },
        kind: "warehouse".into(),
        lat,
        lon,
    }
}

fn car(milestone: &str) -> CarContext {
    CarContext {
        order_id: "JD-1".into(),
        milestone: Milestone::parse(milestone).expect("a milestone"),
        route: Route::straight((23.03, 113.47), (30.62, 114.14)),
        route_planned: true,
        destination: (30.62, 114.14),
        promised_by: None,
        eta: None,
        arriving_sent: false,
        open: Vec::new(),
        leg: Default::default(),
        aboard_since_ms: 0,
    }
}

fn pt(min: i64, lat: f64, lon: f64) -> TrackPoint {
    TrackPoint {
        at_ms: min * 60_000,
        lat,
        lon,
    }
}

/// Feeds fixes one by one, carrying the vehicle's memory and the car's
/// milestone along as the caller would.
fn drive(fixes: &[TrackPoint], sites: &[SiteInfo], mut c: CarContext) -> Vec<Outcome> {
    let mut v = VehicleGeo::default();
    let mut out = Vec::new();
    for f in fixes {
        let o = evaluate(
            &v,
            *f,
            None,
            sites,
            std::slice::from_ref(&c),
            &GeoOptions::default(),
        );
        v = o.vehicle.clone();
        if let Some((m, _, _)) = o.cars[0].milestones.last() {
            c.milestone = *m;
        }
        for (k, _) in &o.cars[0].raise {
            c.open.push(*k);
        }
        c.open.retain(|k| !o.cars[0].clear.contains(k));
        c.eta = Some(o.cars[0].eta);
        c.leg = o.cars[0].leg.clone();
        c.arriving_sent |= o.cars[0].arriving;
        out.push(o);
    }
    out
}

#[test]
fn leaving_the_plant_puts_a_loaded_car_in_transit_and_arriving_gives_arrived() {
    let sites = [site("plant", 23.03, 113.47), site("wuhan", 30.62, 114.14)];
    let mut fixes: Vec<TrackPoint> = (0..5).map(|m| pt(m, 23.03, 113.47)).collect();
    fixes.extend((5..12).map(|m| pt(m, 23.03 + f64::from(m as i32 - 4) * 0.01, 113.47)));
    let out = drive(&fixes, &sites, car("loaded"));
    let all: Vec<_> = out
        .iter()
        .flat_map(|o| o.cars[0].milestones.clone())
        .collect();
    assert_eq!(all.len(), 1);
    assert_eq!(
        (all[0].0, all[0].1.as_str()),
        (Milestone::InTransit, "plant")
    );
    assert!(
        all[0].2 < 12 * 60_000,
        "dated when first seen outside, not when confirmed"
    );
    let arrive: Vec<TrackPoint> = (100..110).map(|m| pt(m, 30.62, 114.14)).collect();
    let out = drive(&arrive, &sites, car("in_transit"));
    let all: Vec<_> = out
        .iter()
        .flat_map(|o| o.cars[0].milestones.clone())
        .collect();
    assert_eq!(
        all,
        vec![(Milestone::Arrived, "wuhan".to_owned(), 100 * 60_000)]
    );
    assert_eq!(
        out.iter().filter(|o| o.cars[0].arriving).count(),
        1,
        "arriving soon, once"
    );
}

#[test]
fn a_long_stop_in_transit_raises_and_moving_clears_stationary() {
    let mut fixes: Vec<TrackPoint> = (0..60).map(|m| pt(m, 25.0, 113.5)).collect();
    fixes.extend((60..70).map(|m| pt(m, 25.0 + f64::from(m as i32 - 59) * 0.01, 113.5)));
    let out = drive(&fixes, &[], car("in_transit"));
    let raised: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, o)| o.cars[0].raise.iter().any(|r| r.0 == AlertKind::Stationary))
        .map(|(i, _)| i)
        .collect();
    let cleared: Vec<usize> = out
        .iter()
        .enumerate()
        .filter(|(_, o)| o.cars[0].clear.contains(&AlertKind::Stationary))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(raised, vec![45]);
    assert_eq!(cleared, vec![60]);
}

#[test]
fn off_route_and_late_are_raised_and_cleared() {
    let mut c = car("in_transit");
    c.promised_by = DateTime::from_timestamp_millis(60_000);
    let out = drive(&[pt(1, 25.0, 110.0)], &[], c.clone());
    let kinds: Vec<AlertKind> = out[0].cars[0].raise.iter().map(|r| r.0).collect();
    assert_eq!(kinds, [AlertKind::OffRoute, AlertKind::Late]);
    c.open = kinds;
    c.promised_by = None;
    let back = evaluate(
        &VehicleGeo::default(),
        pt(2, 25.0, 113.645),
        None,
        &[],
        &[c],
        &GeoOptions::default(),
    );
    assert_eq!(
        back.cars[0].clear,
        vec![AlertKind::OffRoute, AlertKind::Late]
    );
}

#[test]
fn a_car_in_transit_inside_a_site_has_arrived_even_without_the_crossing() {
    // The truck's fence already holds it inside Wuhan (the fix that crossed
    // it was applied, the car's crossing lost): the next fix makes it good.
    let sites = [site("wuhan", 30.62, 114.14)];
    let mut v = VehicleGeo::default();
    v.fence.inside = Some("wuhan".into());
    let o = evaluate(
        &v,
        pt(10, 30.62, 114.14),
        None,
        &sites,
        &[car("in_transit")],
        &GeoOptions::default(),
    );
    assert_eq!(
        o.cars[0].milestones,
        vec![(Milestone::Arrived, "wuhan".to_owned(), 10 * 60_000)]
    );
    // Not where it was loaded: that site it is only leaving.
    let mut loaded_here = car("in_transit");
    loaded_here.leg.loaded_at = Some(crate::geo::leg::LoadingPlace::Site("wuhan".into()));
    let o = evaluate(
        &v,
        pt(10, 30.62, 114.14),
        None,
        &sites,
        &[loaded_here],
        &GeoOptions::default(),
    );
    assert!(o.cars[0].milestones.is_empty());
}

#[test]
fn a_truck_fix_from_before_the_loading_says_nothing_of_the_leg() {
    let mut c = car("loaded");
    c.aboard_since_ms = 60 * 60_000;
    // Far from anywhere, before the car was aboard: no loading place taken.
    let o = evaluate(
        &VehicleGeo::default(),
        pt(5, 25.0, 113.0),
        None,
        &[],
        &[c.clone()],
        &GeoOptions::default(),
    );
    assert_eq!(o.cars[0].leg, c.leg);
    assert!(o.cars[0].milestones.is_empty());
}
