//! Orders that ended long enough ago leave Redis for the object store and
//! read the same from there.

use serde_json::{Value, json};

use crate::support::*;

/// Every page of an order's history, `limit` at a time, as the API gives.
async fn pages(app: &TestApp, order: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let q = after
            .as_ref()
            .map(|a| format!("?after={a}&limit={limit}"))
            .unwrap_or_else(|| format!("?limit={limit}"));
        let r = app
            .call(
                "GET",
                &format!("/api/v1/orders/{order}/history{q}"),
                Some(&app.admin),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        out.push(r.body.clone());
        match r.body["next"].as_str() {
            Some(n) => after = Some(n.to_owned()),
            None => return out,
        }
    }
}

/// Every key Redis holds.
async fn redis_keys(redis: &TestRedis) -> Vec<String> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut c)
        .await
        .unwrap()
}

#[actix_web::test]
async fn an_ended_order_leaves_redis_and_reads_the_same_from_the_archive() {
    let redis = TestRedis::start();
    let clips = tempfile::tempdir().unwrap();
    let clip_store = format!("file://{}", clips.path().display());
    let mut s = settings(&redis);
    s.clip_store = Some(clip_store.clone());
    s.archive_after_days = 1;
    // A short history in Redis: the sweep moves the rest to the store.
    s.store.history_limit = 3;
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    app.order("JD-2", "sf-auto").await;
    load(&app, &key, "JD-1", "YUE-A-1", -120).await;
    let fixes: Vec<Value> = (0..5)
        .map(|i| {
            truck_fix(
                &format!("g{i}"),
                "YUE-A-1",
                -100 + i * 10,
                23.0 + 0.01 * i as f64,
                113.5,
            )
        })
        .collect();
    app.post_expect(&key, json!(fixes), "accepted").await;
    for (i, m) in ["arrived", "unloaded", "out_for_delivery", "delivered"]
        .iter()
        .enumerate()
    {
        let id = format!("s{i}");
        app.post_expect(
            &key,
            json!([scan(&id, "JD-1", m, -40 + i as i64 * 5)]),
            "accepted",
        )
        .await;
    }
    // A clip of its transport: clips keep their own retention (90 days).
    let clip = app
        .raw(
            &format!(
                "/api/v1/orders/JD-1/clips?kind=transport&captured_at={}",
                at(-90)
            ),
            &key,
            "video/mp4",
            include_bytes!("../../fixtures/clips/truck.mp4").to_vec(),
        )
        .await;
    assert_eq!(clip.status, 201, "{}", clip.body);
    // A photo of its inspections: its record goes to the archive with it.
    let photo = app
        .raw(
            "/api/v1/orders/JD-1/photos",
            &key,
            "image/jpeg",
            include_bytes!("../../fixtures/photos/front.jpg").to_vec(),
        )
        .await;
    assert_eq!(photo.status, 201, "{}", photo.body);
    let order = app.get_order("JD-1").await;
    let history = pages(&app, "JD-1", 4).await;
    assert!(history.len() > 2, "several pages: {history:?}");

    // Ended minutes ago, kept a day: it stays, but all but three entries
    // of its history move to the clip store, and read the same.
    app.jobs.sweep_now().await.expect("a sweep");
    assert_eq!(app.get_order("JD-1").await, order);
    let client = redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let p = vinpath::store::partition_of("JD-1");
    let kept: usize = redis::cmd("XLEN")
        .arg(format!("vp:{{p{p}}}:o:JD-1:log"))
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(kept, 3);
    assert!(clips.path().join("archive/history/JD-1").is_dir());
    assert_eq!(pages(&app, "JD-1", 4).await, history);
    let all = pages(&app, "JD-1", 1000).await;
    let one_by_one = pages(&app, "JD-1", 1).await;
    assert_eq!(one_by_one.len(), all[0]["events"].as_array().unwrap().len());

    // Kept no time: it goes to the archive, and nothing of it stays in
    // Redis (its tracking link neither).
    let mut s = settings(&redis);
    s.clip_store = Some(clip_store);
    s.archive_after_days = 0;
    s.store.history_limit = 3;
    let now = TestApp::with(s).await;
    // (Its jobs sweep once as it starts; this one makes sure.)
    now.jobs.sweep_now().await.expect("a sweep");
    let left: Vec<String> = redis_keys(&redis)
        .await
        .into_iter()
        .filter(|k| k.contains("JD-1"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let ended: Option<f64> = redis::cmd("ZSCORE")
        .arg(format!("vp:{{p{p}}}:ended"))
        .arg("JD-1")
        .query_async(&mut c)
        .await
        .unwrap();
    let active: bool = redis::cmd("SISMEMBER")
        .arg(format!("vp:{{p{p}}}:active"))
        .arg("JD-1")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(
        (ended, active),
        (None, false),
        "out of its partition's indexes"
    );

    assert!(
        clips.path().join("archive/orders/JD-1.json").exists(),
        "one object in the clip store"
    );
    let archived: Value = serde_json::from_slice(
        &std::fs::read(clips.path().join("archive/orders/JD-1.json")).unwrap(),
    )
    .unwrap();
    let photo_id = photo.body["photo_id"].as_str().unwrap();
    assert!(
        archived["photos"][photo_id].is_string(),
        "its photos' records are archived: {}",
        archived["photos"]
    );
    let parts = clips.path().join("archive/history/JD-1").read_dir();
    assert!(
        !parts.is_ok_and(|mut d| d.next().is_some()),
        "its history's parts joined it"
    );

    // The same order and history, page by page, cursor by cursor.
    let mut archived = order.clone();
    archived["archived"] = json!(true);
    assert_eq!(app.get_order("JD-1").await, archived);
    assert_eq!(pages(&app, "JD-1", 4).await, history);
    assert_eq!(pages(&app, "JD-1", 1000).await.len(), 1);

    // Its clip stays: it keeps its own retention from when the order ended.
    let clip_keys: Vec<String> = redis::cmd("KEYS")
        .arg("vp:clip:*")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(clip_keys.len(), 1, "the clip outlives the order's keys");
    // Its id is taken for good.
    let again = app
        .call(
            "POST",
            "/api/v1/orders",
            Some(&app.admin),
            Some(order_body("JD-1", "sf-auto")),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);

    // The order still active is untouched; a second sweep archives nothing.
    assert_eq!(app.get_order("JD-2").await["milestone"], "ordered");
    assert_eq!(now.jobs.sweep_now().await.expect("a sweep"), 0);
    assert_eq!(app.get_order("JD-1").await, archived);
}
