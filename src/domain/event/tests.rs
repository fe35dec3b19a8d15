use super::*;

fn now() -> DateTime<Utc> {
    "2026-11-25T01:00:00Z".parse().unwrap()
}

fn code(raw: Value) -> &'static str {
    CarrierEvent::parse(raw, now()).unwrap_err().code
}

#[test]
fn a_scan_parses() {
    let e = CarrierEvent::parse(
        json!({"event_id":"sf-1","kind":"scan","order_id":"JD-1","milestone":"loaded",
               "occurred_at":"2026-11-25T08:10:00+08:00","truck_id":"YUE-A-12345",
               "lat":23.03,"lon":113.47,"note":"deck 2"}),
        now(),
    )
    .unwrap();
    assert_eq!(
        e.occurred_at,
        "2026-11-25T00:10:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    let EventBody::Scan(s) = e.body else { panic!() };
    assert_eq!(s.milestone, Milestone::Loaded);
    assert_eq!(s.truck_id.unwrap().as_str(), "YUE-A-12345");
}

#[test]
fn a_fix_names_exactly_one_target() {
    let both = json!({"event_id":"g","kind":"gps","truck_id":"T","order_id":"O",
                      "occurred_at":"2026-11-25T00:00:00Z","lat":1.0,"lon":1.0});
    assert_eq!(code(both), "invalid_field");
    let none = json!({"event_id":"g","kind":"gps",
                      "occurred_at":"2026-11-25T00:00:00Z","lat":1.0,"lon":1.0});
    assert_eq!(code(none), "invalid_field");
}

#[test]
fn codes_for_each_kind_of_bad_input() {
    let base = |extra: Value| {
        let mut v = json!({"event_id":"g","kind":"gps","truck_id":"T",
                           "occurred_at":"2026-11-25T00:00:00Z","lat":1.0,"lon":1.0});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    };
    assert_eq!(code(base(json!({"lat": 95.0}))), "invalid_position");
    assert_eq!(
        code(base(json!({"occurred_at": "2026-11-25T01:06:00Z"}))),
        "invalid_time"
    );
    assert_eq!(
        code(base(json!({"occurred_at": "yesterday"}))),
        "invalid_field"
    );
    assert_eq!(code(base(json!({"kind": "teleport"}))), "invalid_field");
    assert_eq!(code(base(json!({"event_id": ""}))), "invalid_field");
    assert_eq!(code(base(json!({"lat": "north"}))), "invalid_field");
    assert!(
        CarrierEvent::parse(base(json!({"occurred_at": "2026-11-25T01:04:00Z"})), now()).is_ok()
    );
}

#[test]
fn record_keeps_the_payload_in_utc() {
    let e = CarrierEvent::parse(
        json!({"event_id":"g1","kind":"gps","order_id":"JD-1",
               "occurred_at":"2026-11-25T08:00:00+08:00","lat":23.3,"lon":113.5,"speed_kmh":72.5}),
        now(),
    )
    .unwrap();
    let r = e.record(now());
    assert_eq!(r["occurred_at"], "2026-11-25T00:00:00Z");
    assert_eq!(r["kind"], "gps");
    assert_eq!(r["speed_kmh"], 72.5);
    assert!(r.get("heading").is_none());
}
