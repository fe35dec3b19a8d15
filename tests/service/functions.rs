//! Every Redis function called through its Rust type on a real Redis, its
//! answer read by its Rust type, and every live message it publishes read
//! by the one Rust definition `live` uses.

use std::time::Duration;

use chrono::Utc;
use redis::Value;
use vinpath::store::functions::*;
use vinpath::store::live_wire::{AlertState, Change, LiveMessage};
use vinpath::store::subscribe::{Heard, LiveSubscription};
use vinpath::store::{Store, StoreOptions};

use crate::support::*;

/// The live channels as `live` hears them (the store's own subscription).
struct Listener {
    sub: LiveSubscription,
}

impl Listener {
    async fn start(store: &Store) -> Self {
        let sub = store
            .subscribe_live(Duration::from_secs(2))
            .await
            .expect("subscribed");
        Self { sub }
    }

    async fn payload(&mut self, within: Duration) -> Option<Vec<u8>> {
        match tokio::time::timeout(within, self.sub.next()).await {
            Err(_) => None,
            Ok(Some(Heard::Message { payload, .. })) => Some(payload),
            Ok(other) => panic!("the subscription holds: {other:?}"),
        }
    }

    /// The next message but the instances' beats, read strictly.
    async fn next(&mut self) -> LiveMessage {
        loop {
            let payload = self
                .payload(Duration::from_secs(5))
                .await
                .expect("a live message within 5 s");
            match LiveMessage::parse(&payload) {
                Ok(LiveMessage::Beat) => continue,
                Ok(m) => return m,
                Err(e) => panic!("{e}: {:?}", String::from_utf8_lossy(&payload)),
            }
        }
    }

    async fn none(&mut self) {
        while let Some(payload) = self.payload(Duration::from_millis(200)).await {
            let m = LiveMessage::parse(&payload).expect("a live message");
            assert!(matches!(m, LiveMessage::Beat), "no further message: {m:?}");
        }
    }
}

async fn call(store: &Store, f: &impl Function) -> Value {
    let mut pipe = redis::pipe();
    f.push(&mut pipe);
    let mut values = store.query_each(&mut pipe).await.expect("redis answers");
    values.pop().expect("one answer")
}

fn order_change(m: LiveMessage) -> vinpath::store::live_wire::OrderChange {
    match m {
        LiveMessage::Order(c) => c,
        other => panic!("an order change, not {other:?}"),
    }
}

#[actix_web::test]
async fn every_function_and_message_round_trips() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    app.order("JD-2", "sf-auto").await;
    let options = StoreOptions::default();
    let store = Store::connect(&redis.url(), options.clone())
        .await
        .expect("a store");
    let mut live = Listener::start(&store).await;
    let now = Utc::now();
    let record = r#"{"event_id":"e","kind":"scan","lat":23.03,"lon":113.47,"occurred_at":"2026-11-25T00:00:00Z"}"#;
    let position =
        r#"{"lat":23.03,"lon":113.47,"at":"2026-11-25T00:00:00Z","speed_kmh":null,"heading":null}"#;

    // A loading scan with a position: two entries, two messages, a follow-up.
    let id = Identity::new("e1", "d1".into(), "order JD-1".into(), now, 7);
    let l = vinpath::ingest::plan::scan_letters(vinpath::domain::Milestone::Loaded);
    let scan = Scan {
        order: "JD-1",
        ids: IdSpace::Carrier("sf-auto"),
        carrier: Some("sf-auto"),
        identity: &id,
        at: now,
        received_at: now,
        record,
        milestone: "loaded",
        by_current: &l.by_current,
        from_hold: &l.from_hold,
        ends_alerts: &l.ends_alerts,
        truck: Some("T1"),
        position: Some((
            position,
            r#"{"event_id":"e1","kind":"position","lat":23.03,"lon":113.47}"#,
        )),
        vin: None,
        site: &SitePlacement::Left,
        crossing: None,
        leg: None,
        proof: "",
        proof_required: false,
    };
    let a = ScanAnswer::parse(call(&store, &scan).await).expect("a scan answer");
    assert_eq!(
        a.status,
        Status::Event(vinpath::domain::EventStatus::Accepted)
    );
    assert_eq!(
        (a.milestone.as_deref(), a.truck.as_deref()),
        (Some("loaded"), Some("T1"))
    );
    let work = a.followup.expect("a follow-up: bind to T1");
    assert_eq!(
        (work.new_truck.as_str(), work.old_truck.as_str()),
        ("T1", "")
    );
    let m = order_change(live.next().await);
    assert_eq!(
        (m.change, m.milestone.as_str(), m.truck_id.as_str()),
        (Change::Milestone, "loaded", "T1")
    );
    let p = order_change(live.next().await);
    assert_eq!(p.change, Change::Position);
    assert_ne!(m.cursor, p.cursor, "each frame its own cursor");
    assert_eq!(a.cursor.as_deref(), Some(p.cursor.as_str()));

    // The same again is a duplicate; the same id with other content is not.
    let again = ScanAnswer::parse(call(&store, &scan).await).expect("an answer");
    assert_eq!(
        again.status,
        Status::Event(vinpath::domain::EventStatus::Duplicate)
    );
    assert_eq!(
        again.code.as_deref(),
        Some("pending"),
        "its follow-up is not done yet"
    );
    let other = Identity::new("e1", "d2".into(), "order JD-2".into(), now, 7);
    let reused = Scan {
        order: "JD-2",
        identity: &other,
        ..scan.clone()
    };
    let r = ScanAnswer::parse(call(&store, &reused).await).expect("an answer");
    assert_eq!(r.code.as_deref(), Some("event_id_reused"));
    assert_eq!(r.detail.as_deref(), Some("order JD-1"));

    // Bind, settle (and a clear of nothing), as the follow-up does.
    let work = vinpath::store::pending::Work {
        item: &work,
        ends: &[],
    };
    store.complete(&[work]).await.expect("follow-up done");
    assert!(store.pending_of(&["JD-1"]).await.expect("read").is_empty());
    live.none().await;

    // The truck's fix, then carried to the car.
    let at = now + chrono::Duration::seconds(1);
    let fid = Identity::new("g1", "f1".into(), "truck T1".into(), now, 7);
    let core = FixCore {
        carrier: "sf-auto",
        identity: &fid,
        at,
        received_at: now,
        record,
        noise: None,
        position,
        track_member: "1:23.03:113.47",
        options: &options,
    };
    // A copy of the context at another revision: nothing done, retry.
    let tf = TruckFix {
        name: "sf-auto/T1",
        truck: "T1",
        ids: IdSpace::Carrier("sf-auto"),
        fix: core.clone(),
        geo: Some("{}"),
        expect_rev: Some(999),
    };
    let t = TruckFixAnswer::parse(call(&store, &tf).await).expect("a truck answer");
    assert_eq!((t.status, t.rev), (Status::Retry, None));
    live.none().await;
    let tf = TruckFix {
        expect_rev: None,
        ..tf
    };
    let t = TruckFixAnswer::parse(call(&store, &tf).await).expect("a truck answer");
    assert!(t.rev.is_some(), "a moved truck's revision moves");
    assert_eq!(
        (t.status, t.on_board.clone()),
        (
            Status::Event(vinpath::domain::EventStatus::Accepted),
            vec!["JD-1".to_owned()]
        )
    );
    match live.next().await {
        LiveMessage::Truck(t) => assert_eq!(
            (t.carrier_id.as_str(), t.truck_id.as_str()),
            ("sf-auto", "T1")
        ),
        other => panic!("a truck move, not {other:?}"),
    }
    let alert = r#"{"alert_id":"late:JD-1","kind":"late","order_id":"JD-1","truck_id":"T1","since":"2026-11-25T00:00:00Z","detail":"x"}"#;
    let ops = AlertOp::encode(&[AlertOp::raise("late:JD-1".into(), alert.into())]);
    let conclusions = Conclusions {
        eta_ms: Some(at.timestamp_millis() + 3_600_000),
        eta_record: Some(
            r#"{"event_id":"eta-1","kind":"eta","eta":"2026-11-26T00:00:00Z"}"#.into(),
        ),
        notice: Some(r#"{"event_id":"n-1","kind":"notice","text":"soon"}"#.into()),
        site: SitePlacement::Unchanged,
        alerts: ops,
        leg: None,
    };
    let cf = CarriedFix {
        order: "JD-1",
        truck: "T1",
        taken: Some(IdSpace::Carrier("sf-auto")),
        fix: core.clone(),
        truck_stale: false,
        conclusions: &conclusions,
        expect_rev: Some(999),
    };
    let c = FixAnswer::parse(call(&store, &cf).await).expect("a fix answer");
    assert_eq!(c.status, Status::Retry);
    live.none().await;
    let cf = CarriedFix {
        expect_rev: None,
        ..cf
    };
    let c = FixAnswer::parse(call(&store, &cf).await).expect("a fix answer");
    assert_eq!(
        c.status,
        Status::Event(vinpath::domain::EventStatus::Accepted)
    );
    assert_eq!(order_change(live.next().await).change, Change::Position);
    assert_eq!(order_change(live.next().await).change, Change::Eta);
    assert_eq!(order_change(live.next().await).change, Change::Notice);
    match live.next().await {
        LiveMessage::Alert(a) => assert_eq!(
            (a.state, a.alert["alert_id"].as_str()),
            (AlertState::Raised, Some("late:JD-1"))
        ),
        other => panic!("an alert, not {other:?}"),
    }
    // Carried again: a duplicate for the car, telling nobody.
    let c = FixAnswer::parse(call(&store, &cf).await).expect("a fix answer");
    assert_eq!(
        c.status,
        Status::Event(vinpath::domain::EventStatus::Duplicate)
    );
    live.none().await;

    // A car's own tracker: JD-2 is on no truck; its own fix moves it.
    let oid = Identity::new("o1", "o1".into(), "order JD-2".into(), now, 7);
    let own = Fix {
        order: "JD-2",
        ids: IdSpace::Carrier("sf-auto"),
        fix: FixCore {
            identity: &oid,
            ..core.clone()
        },
        geo: Some("{}"),
        conclusions: &Conclusions::default(),
        expect_rev: None,
    };
    let o = FixAnswer::parse(call(&store, &own).await).expect("a fix answer");
    assert_eq!(
        (o.status, o.truck.as_deref()),
        (Status::Event(vinpath::domain::EventStatus::Accepted), None)
    );
    assert_eq!(order_change(live.next().await).change, Change::Position);

    // A clip for the truck reaches the car on it when it was filmed, and
    // no other: not a car elsewhere, not this car filmed before its loading.
    let before_loading = now - chrono::Duration::hours(1);
    for (order, at, reached) in [
        ("JD-1", at, true),
        ("JD-2", at, false),
        ("JD-1", before_loading, false),
    ] {
        let clip = Clip {
            order,
            carrier: Some("sf-auto"),
            clip_id: "c1",
            listing: r#"{"clip_id":"c1","clip_kind":"transport","captured_at":"2026-11-25T00:00:00Z"}"#,
            record: r#"{"event_id":"clip-c1","kind":"clip","clip_id":"c1"}"#,
            truck: Some("T1"),
            at,
        };
        let a = ClipAnswer::parse(call(&store, &clip).await).expect("a clip answer");
        assert_eq!(
            a.status == Status::Event(vinpath::domain::EventStatus::Accepted),
            reached,
            "{order}"
        );
    }
    assert_eq!(order_change(live.next().await).change, Change::Clip);
    live.none().await;

    // Alerts cleared outside a fix; a second clear tells nobody.
    let clear = [AlertOp::clear("late:JD-1".into())];
    call(
        &store,
        &AlertOps {
            order: "JD-1",
            ops: &clear,
        },
    )
    .await;
    match live.next().await {
        LiveMessage::Alert(a) => assert_eq!(a.state, AlertState::Cleared),
        other => panic!("an alert, not {other:?}"),
    }
    call(
        &store,
        &AlertOps {
            order: "JD-1",
            ops: &clear,
        },
    )
    .await;
    live.none().await;

    // Cancel: once accepted with its follow-up (off the truck), then the
    // same answer again.
    let rec = r#"{"event_id":"cancel-1","kind":"cancel","milestone":"cancelled"}"#;
    let cancel = Cancel {
        order: "JD-1",
        at: now,
        record: rec,
    };
    let a = ScanAnswer::parse(call(&store, &cancel).await).expect("a cancel answer");
    assert_eq!(
        a.status,
        Status::Event(vinpath::domain::EventStatus::Accepted)
    );
    let work = a.followup.expect("off the truck");
    assert_eq!(
        (
            work.old_truck.as_str(),
            work.new_truck.as_str(),
            work.to.as_str()
        ),
        ("T1", "", "cancelled")
    );
    assert_eq!(order_change(live.next().await).change, Change::Milestone);
    let again = ScanAnswer::parse(call(&store, &cancel).await).expect("a cancel answer");
    assert_eq!(
        again.status,
        Status::Event(vinpath::domain::EventStatus::Duplicate)
    );
    call(
        &store,
        &Unbind {
            name: "sf-auto/T1",
            order: "JD-1",
            upto: work.old_since,
        },
    )
    .await;
    call(
        &store,
        &Settle {
            order: "JD-1",
            item: &work.raw,
        },
    )
    .await;
    assert!(store.pending_of(&["JD-1"]).await.expect("read").is_empty());
    live.none().await;

    // Claims (a cluster's first step): new, a retry, another event, given
    // up, then free for another event.
    let first = Identity::new("k1", "d1".into(), "order JD-1".into(), now, 7);
    let other = Identity::new("k1", "d2".into(), "order JD-2".into(), now, 7);
    let claim = |identity| Claim {
        carrier: "sf-auto",
        identity,
    };
    let parse = |v| ClaimAnswer::parse(v).expect("a claim answer");
    assert_eq!(parse(call(&store, &claim(&first)).await), ClaimAnswer::Ours);
    assert_eq!(parse(call(&store, &claim(&first)).await), ClaimAnswer::Ours);
    assert_eq!(
        parse(call(&store, &claim(&other)).await),
        ClaimAnswer::Reused("order JD-1".into())
    );
    let wrong = Unclaim {
        carrier: "sf-auto",
        identity: &other,
    };
    assert_eq!(call(&store, &wrong).await, Value::Int(0));
    let mine = Unclaim {
        carrier: "sf-auto",
        identity: &first,
    };
    assert_eq!(call(&store, &mine).await, Value::Int(1));
    assert_eq!(parse(call(&store, &claim(&other)).await), ClaimAnswer::Ours);

    // An order that has not ended is never forgotten (the archive test
    // forgets one that has).
    let forget = Forget {
        order: "JD-2",
        ids: first.keys(&IdSpace::Order("JD-2")),
        last: "",
    };
    assert_eq!(
        call(&store, &forget).await,
        Value::Array(vec![Value::Int(0), Value::BulkString(Vec::new())])
    );

    // Seats: two of at most two, the third refused, a seat taken again is
    // kept, an ended lease frees its seat.
    let now_ms = now.timestamp_millis();
    let seat = |id, until_ms| Seat {
        link_hash: "h",
        seat_id: id,
        until_ms,
        now_ms,
        most: 2,
    };
    assert_eq!(
        call(&store, &seat("a", now_ms + 60_000)).await,
        Value::Int(1)
    );
    assert_eq!(call(&store, &seat("b", now_ms + 1)).await, Value::Int(1));
    assert_eq!(
        call(&store, &seat("c", now_ms + 60_000)).await,
        Value::Int(0)
    );
    assert_eq!(
        call(&store, &seat("a", now_ms + 60_000)).await,
        Value::Int(1)
    );
    let later = Seat {
        now_ms: now_ms + 2,
        ..seat("c", now_ms + 60_000)
    };
    assert_eq!(call(&store, &later).await, Value::Int(1), "b's lease ended");
}
