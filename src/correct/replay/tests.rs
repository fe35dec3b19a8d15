use serde_json::json;

use super::*;

fn rec(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

fn scan(id: &str, m: &str, minute: i64) -> Map<String, Value> {
    rec(
        json!({"event_id": id, "kind": "scan", "order_id": "JD-1", "milestone": m,
        "occurred_at": format!("2026-11-30T08:{minute:02}:00Z")}),
    )
}

fn fix(id: &str, minute: i64, lat: f64) -> Map<String, Value> {
    rec(
        json!({"event_id": id, "kind": "gps", "order_id": "JD-1", "lat": lat, "lon": 113.0,
        "occurred_at": format!("2026-11-30T08:{minute:02}:00Z")}),
    )
}

fn run(records: &[(&str, Option<Change>, Map<String, Value>)], voids: &[&str]) -> Replayed {
    let entries: Vec<Entry<'_>> = records
        .iter()
        .map(|(status, change, record)| Entry {
            status,
            change: *change,
            record,
        })
        .collect();
    let voids = voids.iter().map(|v| (*v).to_owned()).collect();
    replay(0, &entries, &voids, &[])
}

fn milestones(r: &Replayed) -> Vec<String> {
    r.timeline
        .iter()
        .map(|t| serde_json::from_str::<Value>(t).expect("json")["milestone"].to_string())
        .collect()
}

#[test]
fn nothing_voided_replays_what_was_applied() {
    let mut loaded = scan("b", "loaded", 2);
    loaded.insert("truck_id".into(), json!("T1"));
    let r = run(
        &[
            (
                "accepted",
                Some(Change::Milestone),
                scan("a", "released", 1),
            ),
            ("accepted", Some(Change::Milestone), loaded),
            (
                "accepted",
                Some(Change::Milestone),
                scan("c", "in_transit", 3),
            ),
        ],
        &[],
    );
    assert_eq!(r.milestone, Milestone::InTransit);
    assert_eq!(r.truck.as_deref(), Some("T1"));
    assert_eq!(milestones(&r).len(), 4);
}

#[test]
fn a_voided_loading_takes_the_car_off_its_truck_and_what_needed_it_moves_nothing() {
    let mut loaded = scan("b", "loaded", 2);
    loaded.insert("truck_id".into(), json!("T1"));
    let r = run(
        &[
            (
                "accepted",
                Some(Change::Milestone),
                scan("a", "released", 1),
            ),
            ("accepted", Some(Change::Milestone), loaded),
            (
                "accepted",
                Some(Change::Milestone),
                scan("c", "in_transit", 3),
            ),
        ],
        &["b"],
    );
    // A gap never hides a loading: in transit cannot follow released.
    assert_eq!(r.milestone, Milestone::Released);
    assert_eq!(r.truck, None);
    assert_eq!(
        milestones(&r),
        vec!["\"ordered\"".to_owned(), "\"released\"".to_owned()]
    );
}

#[test]
fn a_voided_delivery_reopens_the_order() {
    let r = run(
        &[
            ("accepted", Some(Change::Milestone), scan("l", "loaded", 0)),
            (
                "accepted",
                Some(Change::Milestone),
                scan("a", "out_for_delivery", 1),
            ),
            (
                "accepted",
                Some(Change::Milestone),
                scan("b", "delivered", 2),
            ),
        ],
        &["b"],
    );
    assert_eq!(r.milestone, Milestone::OutForDelivery);
    assert_eq!(r.delivered_at, None);
}

#[test]
fn a_scan_that_was_stale_only_because_of_the_voided_one_now_applies() {
    let r = run(
        &[
            ("accepted", Some(Change::Milestone), scan("l", "loaded", 0)),
            (
                "accepted",
                Some(Change::Milestone),
                scan("a", "in_storage", 20),
            ),
            ("stale", None, scan("b", "gated_in", 10)),
        ],
        &["a"],
    );
    assert_eq!(r.milestone, Milestone::GatedIn);
    let at = DateTime::parse_from_rfc3339("2026-11-30T08:10:00Z").expect("a time");
    assert_eq!(r.m_at, at.timestamp_millis());
}

#[test]
fn a_voided_fix_gives_the_position_back_to_the_fix_before_and_its_eta_goes_with_it() {
    let eta = |id: &str, fix: &str, hour: u32| {
        rec(json!({"event_id": id, "kind": "eta", "fix_event_id": fix,
            "eta": format!("2026-12-01T{hour:02}:00:00Z"), "occurred_at": "2026-11-30T08:00:00Z"}))
    };
    let r = run(
        &[
            ("accepted", Some(Change::Position), fix("f1", 1, 23.0)),
            ("accepted", Some(Change::Eta), eta("eta-1", "f1", 10)),
            ("accepted", Some(Change::Position), fix("f2", 2, 23.1)),
            ("accepted", Some(Change::Eta), eta("eta-2", "f2", 12)),
            ("filtered", None, fix("f3", 3, 40.0)),
        ],
        &["f2"],
    );
    let pos: Value = serde_json::from_str(r.pos.as_deref().expect("a position")).expect("json");
    assert_eq!(pos["lat"], 23.0);
    assert_eq!(
        r.eta,
        DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .ok()
            .map(|t| t.timestamp_millis())
    );
}
