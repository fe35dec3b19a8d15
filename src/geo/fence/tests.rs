//! Tests for the geofence: hysteresis, dwell, and GeoJSON polygons.

use super::*;
use serde_json::json;

/// JD warehouse Wuhan (Dongxihu).
const WH: (f64, f64) = (30.62, 114.14);
/// Metres per degree of latitude on the haversine sphere.
const M_PER_DEG_LAT: f64 = 111_194.93;

/// A 500 m circle around the Wuhan warehouse.
fn circle_site() -> Site {
    Site {
        id: "wuhan".into(),
        area: Area::Circle {
            lat: WH.0,
            lon: WH.1,
            radius_m: 500.0,
        },
    }
}

/// Feeds fixes the given metres due north of the warehouse, 30 s apart
/// from time 0, and gathers every crossing.
fn drive(start: FenceState, sites: &[Site], north_m: &[f64]) -> (FenceState, Vec<Crossing>) {
    let mut state = start;
    let mut all = Vec::new();
    for (i, d) in north_m.iter().enumerate() {
        let at_ms = i as i64 * 30_000;
        let (next, crossings) = step(&state, sites, at_ms, WH.0 + d / M_PER_DEG_LAT, WH.1);
        state = next;
        all.extend(crossings);
    }
    (state, all)
}

fn inside(id: &str) -> FenceState {
    FenceState {
        inside: Some(id.into()),
        candidate: None,
    }
}

#[test]
fn jitter_at_an_edge_gives_nothing() {
    let sites = [circle_site()];
    // ±60 m around the 500 m edge for an hour, from outside and inside.
    let jitter: Vec<f64> = (0..120)
        .map(|i| if i % 2 == 0 { 440.0 } else { 560.0 })
        .collect();
    let (state, crossings) = drive(FenceState::default(), &sites, &jitter);
    assert!(crossings.is_empty(), "{crossings:?}");
    assert_eq!(state.inside, None);
    let (state, crossings) = drive(inside("wuhan"), &sites, &jitter);
    assert!(crossings.is_empty(), "{crossings:?}");
    assert_eq!(state.inside.as_deref(), Some("wuhan"));

    // Wilder jitter clears both margins but never holds for the dwell.
    let wild: Vec<f64> = (0..120)
        .map(|i| if i % 2 == 0 { 300.0 } else { 700.0 })
        .collect();
    let (_, crossings) = drive(FenceState::default(), &sites, &wild);
    assert!(crossings.is_empty(), "{crossings:?}");
    let (_, crossings) = drive(inside("wuhan"), &sites, &wild);
    assert!(crossings.is_empty(), "{crossings:?}");
}

#[test]
fn a_real_exit_gives_exactly_one_left_after_the_dwell() {
    let sites = [circle_site()];
    let track = [200.0, 700.0, 900.0, 1200.0, 1500.0, 1800.0, 2100.0, 2400.0];
    // Outside the grown circle from the fix at 30 s; the dwell ends at 150 s.
    let (state, crossings) = drive(inside("wuhan"), &sites, &track[..5]);
    assert!(crossings.is_empty(), "{crossings:?}");
    assert_eq!(state.candidate, Some((None, 30_000)));
    let (state, crossings) = drive(inside("wuhan"), &sites, &track);
    assert_eq!(crossings, vec![Crossing::Left("wuhan".into())]);
    assert_eq!(state, FenceState::default());
}

#[test]
fn entering_gives_exactly_one_entered() {
    let sites = [circle_site()];
    // 600 m is in the band: not yet in. From 300 m (90 s) it is a candidate,
    // kept while in the grown circle (400 m), committed at 210 s.
    let track = [
        2000.0, 1000.0, 600.0, 300.0, 200.0, 400.0, 100.0, 50.0, 0.0, 20.0,
    ];
    let (state, crossings) = drive(FenceState::default(), &sites, &track);
    assert_eq!(crossings, vec![Crossing::Entered("wuhan".into())]);
    assert_eq!(state, inside("wuhan"));
}

#[test]
fn moving_between_sites_leaves_one_and_enters_the_other() {
    let other = Site {
        id: "yard".into(),
        area: Area::Circle {
            lat: WH.0 + 3000.0 / M_PER_DEG_LAT,
            lon: WH.1,
            radius_m: 500.0,
        },
    };
    let sites = [circle_site(), other];
    let track = [0.0, 3000.0, 3000.0, 3000.0, 3000.0, 3000.0];
    let (state, crossings) = drive(inside("wuhan"), &sites, &track);
    assert_eq!(
        crossings,
        vec![
            Crossing::Left("wuhan".into()),
            Crossing::Entered("yard".into())
        ]
    );
    assert_eq!(state, inside("yard"));
}

#[test]
fn a_small_circle_shrinks_only_to_half() {
    let small = Area::Circle {
        lat: WH.0,
        lon: WH.1,
        radius_m: 200.0,
    };
    assert!(small.contains(WH.0 + 90.0 / M_PER_DEG_LAT, WH.1, -MARGIN_M));
    assert!(!small.contains(WH.0 + 110.0 / M_PER_DEG_LAT, WH.1, -MARGIN_M));
    assert!(small.contains(WH.0 + 340.0 / M_PER_DEG_LAT, WH.1, MARGIN_M));
}

/// A square about 1 km across around the Wuhan warehouse, as GeoJSON.
fn square() -> serde_json::Value {
    let (lat, lon, h) = (WH.0, WH.1, 0.005);
    json!({
        "type": "Polygon",
        "coordinates": [[
            [lon - h, lat - h], [lon + h, lat - h], [lon + h, lat + h],
            [lon - h, lat + h], [lon - h, lat - h]
        ]]
    })
}

#[test]
fn a_geojson_square_contains_the_warehouse() {
    let area = Area::Polygon(parse_geojson_polygon(&square()).unwrap());
    assert!(area.contains(WH.0, WH.1, 0.0));
    assert!(area.contains(WH.0, WH.1, -MARGIN_M));
    assert!(!area.contains(30.70, 114.14, 0.0));
    assert!(!area.contains(30.70, 114.14, MARGIN_M));

    // The east edge is at 114.145; 0.000523° of longitude is about 50 m here.
    let just_out = WH.1 + 0.005 + 0.000523;
    assert!(!area.contains(WH.0, just_out, 0.0));
    assert!(area.contains(WH.0, just_out, MARGIN_M));
    assert!(!area.contains(WH.0, just_out, 30.0));
    let just_in = WH.1 + 0.005 - 0.000523;
    assert!(area.contains(WH.0, just_in, 0.0));
    assert!(!area.contains(WH.0, just_in, -MARGIN_M));
    assert!(area.contains(WH.0, just_in, -30.0));
}

#[test]
fn a_polygon_site_is_entered_too() {
    let area = Area::Polygon(parse_geojson_polygon(&square()).unwrap());
    let sites = [Site {
        id: "wuhan".into(),
        area,
    }];
    let track = [3000.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let (state, crossings) = drive(FenceState::default(), &sites, &track);
    assert_eq!(crossings, vec![Crossing::Entered("wuhan".into())]);
    assert_eq!(state, inside("wuhan"));
}

#[test]
fn holes_are_outside() {
    let (lat, lon, h) = (WH.0, WH.1, 0.001);
    let mut v = square();
    let hole = json!([
        [lon - h, lat - h],
        [lon - h, lat + h],
        [lon + h, lat + h],
        [lon + h, lat - h],
        [lon - h, lat - h]
    ]);
    v["coordinates"].as_array_mut().unwrap().push(hole);
    let area = Area::Polygon(parse_geojson_polygon(&v).unwrap());
    assert!(!area.contains(WH.0, WH.1, 0.0));
    assert!(area.contains(WH.0 + 0.003, WH.1, 0.0));
}

#[test]
fn bad_geojson_is_refused() {
    let mut wrong_type = square();
    wrong_type["type"] = json!("Point");
    assert!(parse_geojson_polygon(&wrong_type).is_err());

    let open = json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]});
    assert!(parse_geojson_polygon(&open).is_err());
    let short = json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]});
    assert!(parse_geojson_polygon(&short).is_err());
    let text = json!({"type": "Polygon", "coordinates": [[[0, 0], ["a", 0], [1, 1], [0, 0]]]});
    assert!(parse_geojson_polygon(&text).is_err());
    let far = json!({"type": "Polygon", "coordinates": [[[0, 0], [0, 95], [1, 1], [0, 0]]]});
    assert!(parse_geojson_polygon(&far).is_err());
    let empty = json!({"type": "Polygon", "coordinates": []});
    assert!(parse_geojson_polygon(&empty).is_err());

    // An altitude after lon, lat is allowed.
    let alt = json!({"type": "Polygon", "coordinates": [[[0, 0, 5], [1, 0], [1, 1], [0, 0, 5]]]});
    assert!(parse_geojson_polygon(&alt).is_ok());
}

#[test]
fn fence_state_round_trips_through_json() {
    let state = FenceState {
        inside: Some("wuhan".into()),
        candidate: Some((None, 1_750_000_000_000)),
    };
    let back: FenceState = serde_json::from_value(serde_json::to_value(&state).unwrap()).unwrap();
    assert_eq!(back, state);
}
