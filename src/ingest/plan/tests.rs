use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::geo::fence::{Area, Site};

fn event(raw: serde_json::Value) -> CarrierEvent {
    let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
    CarrierEvent::parse(raw, now).expect("a valid event")
}

fn scan(id: &str, milestone: &str, note: &str) -> CarrierEvent {
    event(
        json!({"event_id": id, "kind": "scan", "order_id": "JD-1", "milestone": milestone,
        "occurred_at": "2026-11-25T08:00:00+08:00", "note": note}),
    )
}

#[test]
fn the_same_event_has_the_same_digest_and_another_event_another() {
    assert_eq!(
        digest(&scan("a", "loaded", "deck 2")),
        digest(&scan("a", "loaded", "deck 2"))
    );
    assert_ne!(
        digest(&scan("a", "loaded", "deck 2")),
        digest(&scan("a", "loaded", "deck 3"))
    );
    assert_ne!(
        digest(&scan("a", "loaded", "x")),
        digest(&scan("a", "unloaded", "x"))
    );
    assert_eq!(target(&scan("a", "loaded", "")), "order JD-1");
}

#[test]
fn letters_follow_milestone_order_and_the_rules() {
    let l = scan_letters(Milestone::Loaded);
    assert_eq!(l.by_current.len(), Milestone::ALL.len());
    // ordered: gap? no: a gap never hides... released -> loaded is direct.
    let at = |m: Milestone| Milestone::ALL.iter().position(|x| *x == m).unwrap();
    assert_eq!(l.by_current.as_bytes()[at(Milestone::Released)], b'D');
    assert_eq!(l.by_current.as_bytes()[at(Milestone::Loaded)], b'S');
    assert_eq!(l.by_current.as_bytes()[at(Milestone::Delivered)], b'X');
    assert_eq!(l.from_hold.as_bytes()[at(Milestone::Released)], b'D');
    for (i, m) in Milestone::ALL.iter().enumerate() {
        let c = Milestone::judge(*m, None, Milestone::Loaded).letter();
        assert_eq!(l.by_current.as_bytes()[i] as char, c, "from {}", m.as_str());
    }
    let d = scan_letters(Milestone::Delivered);
    assert_eq!(
        d.ends_alerts, "1111111111111011",
        "reaching delivered ends alerts from anywhere else"
    );
    let a = scan_letters(Milestone::Arrived);
    assert_eq!(a.ends_alerts.as_bytes()[at(Milestone::InTransit)], b'1');
    assert_eq!(a.ends_alerts.as_bytes()[at(Milestone::Loaded)], b'0');
}

#[test]
fn what_a_milestone_ends() {
    use Milestone::*;
    assert_eq!(alerts_ended(InTransit, Delivered), &AlertKind::ALL);
    assert_eq!(alerts_ended(OutForDelivery, Cancelled), &AlertKind::ALL);
    assert_eq!(
        alerts_ended(InTransit, Arrived),
        &[AlertKind::Stationary, AlertKind::NoSignal]
    );
    assert!(alerts_ended(Loaded, InTransit).is_empty());
    assert!(alerts_ended(Delivered, Delivered).is_empty());
}

#[test]
fn scans_on_the_road_leave_sites_and_scans_at_known_sites_place_the_car() {
    let sites = [SiteInfo {
        site: Site {
            id: "jd-wuhan".into(),
            area: Area::Circle {
                lat: 30.62,
                lon: 114.14,
                radius_m: 400.0,
            },
        },
        kind: "warehouse".into(),
        lat: 30.62,
        lon: 114.14,
    }];
    let at = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
    let wuhan = SiteId::parse("jd-wuhan").unwrap();
    let nowhere = SiteId::parse("jd-mars").unwrap();
    assert_eq!(
        site_placement(Milestone::Loaded, Some(&wuhan), &sites, at),
        SitePlacement::Left
    );
    assert_eq!(
        site_placement(Milestone::Delivered, None, &sites, at),
        SitePlacement::Left
    );
    let SitePlacement::At(json) = site_placement(Milestone::GatedIn, Some(&wuhan), &sites, at)
    else {
        panic!("placed at the site");
    };
    assert!(json.contains("\"site_id\":\"jd-wuhan\"") && json.contains("30.62"));
    assert_eq!(
        site_placement(Milestone::GatedIn, Some(&nowhere), &sites, at),
        SitePlacement::Unchanged
    );
    assert_eq!(
        site_placement(Milestone::Pdi, None, &sites, at),
        SitePlacement::Unchanged
    );
}

fn answer(status: Status, code: &str, detail: &str, milestone: &str) -> ScanAnswer {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    ScanAnswer {
        status,
        code: some(code),
        detail: some(detail),
        milestone: some(milestone),
        truck: None,
        cursor: None,
        followup: None,
    }
}

#[test]
fn every_refusal_says_what_to_do_in_plain_words() {
    let rejected = Status::Event(EventStatus::Rejected);
    let o = scan_outcome(
        &answer(rejected, "illegal_transition", "", "in_storage"),
        "JD-1",
        Milestone::Arrived,
        "sf",
    );
    let m = o.message.unwrap();
    assert!(
        m.contains("in_storage") && m.contains("pdi, loaded, on_hold") && m.contains("arrived"),
        "{m}"
    );
    assert!(m.contains("scan loaded first"), "{m}");

    let o = scan_outcome(
        &answer(rejected, "illegal_transition", "", "delivered"),
        "JD-1",
        Milestone::Pdi,
        "sf",
    );
    assert!(
        o.message
            .unwrap()
            .contains("is delivered: no scan may follow")
    );

    let o = scan_outcome(
        &answer(rejected, "illegal_transition", "in_storage", "on_hold"),
        "JD-1",
        Milestone::Delivered,
        "sf",
    );
    let m = o.message.unwrap();
    assert!(
        m.contains("on_hold") && m.contains("in_storage, pdi"),
        "{m}"
    );

    let o = scan_outcome(
        &answer(rejected, "event_id_reused", "order JD-2", "loaded"),
        "JD-1",
        Milestone::Loaded,
        "sf",
    );
    assert_eq!(o.code.as_deref(), Some("event_id_reused"));
    assert!(o.message.unwrap().contains("order JD-2"));

    let o = scan_outcome(
        &answer(rejected, "not_your_order", "", "loaded"),
        "JD-1",
        Milestone::Loaded,
        "sf",
    );
    assert_eq!(
        o.message.as_deref(),
        Some("order JD-1 is not assigned to carrier sf")
    );

    let o = scan_outcome(
        &answer(
            Status::Event(EventStatus::Stale),
            "",
            "1764028800000",
            "unloaded",
        ),
        "JD-1",
        Milestone::Arrived,
        "sf",
    );
    assert_eq!(o.status, EventStatus::Stale);
    let m = o.message.unwrap();
    assert!(m.contains("unloaded since 2025-11-25T00:00:00Z"), "{m}");

    let o = scan_outcome(
        &answer(Status::Event(EventStatus::Accepted), "gap", "", "unloaded"),
        "JD-1",
        Milestone::Unloaded,
        "sf",
    );
    assert_eq!(o, Outcome::new(EventStatus::Accepted));
}

#[test]
fn the_record_is_the_event_with_when_it_came_and_the_digest_ignores_that() {
    let e = scan("a", "loaded", "deck 2");
    let t = |h| Utc.with_ymd_and_hms(2026, 11, 25, h, 0, 0).unwrap();
    let (r1, d1) = record_and_digest(&e, t(1));
    let (r2, d2) = record_and_digest(&e, t(2));
    assert_eq!(d1, d2);
    assert_ne!(r1, r2);
    let v: serde_json::Value = serde_json::from_str(&r1).expect("JSON");
    assert_eq!(v, e.record(t(1)));
}
