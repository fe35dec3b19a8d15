//! The property corrections rest on: events applied in any arrival order,
//! then some voided, leave an order as if only the others had ever come.
//! Run against a real vinpath and Redis: one carrier applies everything
//! and voids, another (same event ids, its own namespace) sends only the
//! rest in the same order; the two orders must read the same.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::support::*;

/// A legal journey, each step optional (gaps are the carriers' reality).
const JOURNEY: [&str; 10] = [
    "released",
    "loaded",
    "in_transit",
    "arrived",
    "unloaded",
    "gated_in",
    "in_storage",
    "ready_for_delivery",
    "out_for_delivery",
    "delivered",
];

#[derive(Debug, Clone)]
struct Case {
    /// Events in arrival order, each with whether it is voided after.
    events: Vec<(Value, bool)>,
}

fn case() -> impl Strategy<Value = Case> {
    let steps = proptest::collection::vec(any::<bool>(), JOURNEY.len());
    // Fixes while the car is on its way (one after the delivery is
    // answered, not kept).
    let fixes = proptest::collection::vec(-200i64..-70, 0..5);
    (steps, fixes)
        .prop_flat_map(|(steps, fixes)| {
            let mut events = Vec::new();
            for (i, (m, keep)) in JOURNEY.iter().zip(&steps).enumerate() {
                // A gap never hides a loading: every journey has one.
                if *keep || *m == "loaded" {
                    let mut s = scan(&format!("s{i}"), "ORDER", m, -200 + 15 * i as i64);
                    if *m == "loaded" {
                        s["truck_id"] = json!("T1");
                    }
                    events.push(s);
                }
            }
            for (j, minute) in fixes.iter().enumerate() {
                // Within tens of metres: noise-free, crossing no fence.
                let f = order_fix(
                    &format!("f{j}"),
                    "ORDER",
                    *minute,
                    23.0 + j as f64 * 0.0001,
                    113.0,
                );
                events.push(f);
            }
            let n = events.len();
            // Arrival: each event held back 0 to 3 rounds (flaky networks
            // deliver late, not at random), in time order within a round.
            (
                Just(events),
                proptest::collection::vec(
                    prop_oneof![5 => Just(0u8), 1 => Just(1), 1 => Just(2), 1 => Just(3)],
                    n,
                ),
                proptest::collection::vec(any::<bool>(), n),
            )
        })
        .prop_map(|(events, delays, voids)| {
            let mut events: Vec<(u8, Value, bool)> = events
                .into_iter()
                .zip(delays)
                .zip(voids)
                .map(|((e, d), v)| (d, e, v))
                .collect();
            events.sort_by(|(a, x, _), (b, y, _)| {
                (a, x["occurred_at"].as_str()).cmp(&(b, y["occurred_at"].as_str()))
            });
            Case {
                events: events.into_iter().map(|(_, e, v)| (e, v)).collect(),
            }
        })
}

/// The event for one case's order (ids are the carrier's for days: each
/// case has its own).
fn for_order(e: &Value, order: &str, case: usize) -> Value {
    let mut e = e.clone();
    e["order_id"] = json!(order);
    e["event_id"] = json!(format!("{case}-{}", e["event_id"].as_str().unwrap_or("")));
    e
}

/// What the order reads as: state and the customer's timeline (its ETA
/// is left out: it hangs on the speed memory of every fix the vehicle
/// ever sent, which a correction does not rewind).
async fn reads(app: &TestApp, order: &str, token: &str) -> Value {
    let o = app.get_order(order).await;
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await;
    let read = json!({
        "milestone": o["milestone"], "milestone_at": o["milestone_at"], "truck_id": o["truck_id"],
        "position": [o["position"]["lat"], o["position"]["lon"], o["position"]["at"]],
        "timeline": view.body["timeline"],
    });
    // The two orders were made milliseconds apart.
    let created = o["created_at"].as_str().expect("created_at");
    serde_json::from_str(&read.to_string().replace(created, "created")).expect("json")
}

#[actix_web::test]
async fn voiding_events_leaves_the_order_as_if_only_the_others_had_come() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let (ka, kb) = (app.carrier("pa").await, app.carrier("pb").await);
    let dispatcher = app.dispatcher().await;
    let mut runner = TestRunner::new(Config {
        cases: 40,
        ..Config::default()
    });
    let strategy = case();
    let (mut checked, mut skipped) = (0, 0);
    for n in 0..200 {
        if checked == 40 {
            break;
        }
        let c = strategy.new_tree(&mut runner).expect("a case").current();
        let (a, b) = (format!("P{n}-A"), format!("P{n}-B"));
        let ta = app.order(&a, "pa").await;
        let tb = app.order(&b, "pb").await;
        for (e, _) in &c.events {
            let r = app.events(&ka, json!([for_order(e, &a, n)])).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        // What vinpath never kept (a rejected scan, a fix after the end)
        // cannot come back when what stood in its way is voided.
        let kept: Vec<String> = app
            .history(&a)
            .await
            .iter()
            .filter_map(|h| h["event_id"].as_str().map(str::to_owned))
            .collect();
        let replayable = c.events.iter().filter(|(_, v)| !v).all(|(e, _)| {
            kept.contains(
                &for_order(e, &a, n)["event_id"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        });
        if !replayable {
            skipped += 1;
            continue;
        }
        for (e, voided) in &c.events {
            if *voided {
                let e = for_order(e, &a, n);
                let id = e["event_id"].as_str().expect("an id");
                let r = app
                    .call(
                        "POST",
                        &format!("/api/v1/orders/{a}/events/{id}/void"),
                        Some(&dispatcher),
                        Some(json!({"reason": "property"})),
                    )
                    .await;
                // One never kept is not there to void.
                let was_kept = kept.iter().any(|k| k == id);
                assert_eq!(r.status, if was_kept { 200 } else { 404 }, "{}", r.body);
            }
        }
        for (e, voided) in &c.events {
            if !voided {
                let r = app.events(&kb, json!([for_order(e, &b, n)])).await;
                assert_eq!(r.status, 200, "{}", r.body);
            }
        }
        assert_eq!(
            reads(&app, &a, &ta).await,
            reads(&app, &b, &tb).await,
            "case {n}: {:#?}",
            c.events
        );
        checked += 1;
    }
    eprintln!("{checked} cases checked, {skipped} skipped");
    assert!(
        checked >= 30,
        "only {checked} cases could be checked ({skipped} had events vinpath never kept)"
    );
}
