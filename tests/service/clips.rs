//! Clips on all three stores: upload, refusal, idempotency, playback with
//! ranges, access, truck clips live, broken uploads, retention.

use std::time::Duration;

use actix_web::web::Bytes;
use chrono::Utc;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use vinpath::store::{Store, StoreOptions};

use crate::support::*;

const MP4: &[u8] = include_bytes!("../../fixtures/clips/truck.mp4");
const WEBM: &[u8] = include_bytes!("../../fixtures/clips/handover.webm");

async fn upload(
    app: &TestApp,
    key: &str,
    path: &str,
    body: &[u8],
    content_type: &str,
    idem: Option<&str>,
) -> Reply {
    let mut req = app
        .client
        .post(format!("{}{path}", app.base))
        .insert_header(("Authorization", format!("Bearer {key}")))
        .insert_header(("Content-Type", content_type));
    if let Some(k) = idem {
        req = req.insert_header(("Idempotency-Key", k));
    }
    read(req.send_body(body.to_vec()).await.expect("an answer")).await
}

async fn read<S>(res: awc::ClientResponse<S>) -> Reply
where
    S: futures_util::Stream<Item = Result<Bytes, awc::error::PayloadError>> + Unpin,
{
    Reply::read(res).await.expect("a whole answer")
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = app.client.get(format!("{}{path}", app.base));
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    read(req.send().await.expect("an answer")).await
}

fn clips_path(order: &str, kind: &str, minutes: i64) -> String {
    format!(
        "/api/v1/orders/{order}/clips?kind={kind}&captured_at={}",
        at(minutes)
    )
}

/// What Redis holds about clips: records and the sweep's index.
async fn clip_keys(redis: &TestRedis) -> (usize, usize) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let records: Vec<String> = redis::cmd("KEYS")
        .arg("vp:clip:*")
        .query_async(&mut c)
        .await
        .unwrap();
    // The sweep's index is one sorted set per partition.
    let parts: Vec<String> = redis::cmd("KEYS")
        .arg("vp:{p*}:clips")
        .query_async(&mut c)
        .await
        .unwrap();
    let mut indexed = 0;
    for p in parts {
        let n: usize = redis::cmd("ZCARD")
            .arg(p)
            .query_async(&mut c)
            .await
            .unwrap();
        indexed += n;
    }
    (records.len(), indexed)
}

async fn suite(place: Where) {
    let redis = TestRedis::start();
    let mut s = settings(&redis);
    place.apply(&mut s);
    s.max_clip_bytes = 200_000;
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    let other = app.carrier("other").await;
    let dispatcher = app.dispatcher().await;
    let token = app.order("JD-1", "sf-auto").await;
    app.order("JD-2", "sf-auto").await;

    // Upload: judged by the bytes, whatever the header says.
    let r = upload(
        &app,
        &key,
        &clips_path("JD-1", "transport", -30),
        MP4,
        "video/mp4",
        None,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["order_ids"], json!(["JD-1"]));
    let mp4_id = r.body["clip_id"].as_str().unwrap().to_owned();
    let r = upload(
        &app,
        &key,
        &clips_path("JD-1", "handover", -10),
        WEBM,
        "application/octet-stream",
        None,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let webm_id = r.body["clip_id"].as_str().unwrap().to_owned();
    let stored = place.objects();
    assert_eq!(stored, place.dir().map(|_| 2));

    // Refusals leave nothing behind.
    let r = upload(
        &app,
        &key,
        &clips_path("JD-1", "transport", -5),
        b"<html>not a video</html>",
        "video/mp4",
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let mut big = MP4.to_vec();
    big.resize(300_000, 0);
    let r = upload(
        &app,
        &key,
        &clips_path("JD-1", "transport", -5),
        &big,
        "video/mp4",
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (413, Some("too_large"))
    );
    let chunks: Vec<Result<Bytes, std::io::Error>> = big
        .chunks(16_384)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let res = app
        .client
        .post(format!(
            "{}{}",
            app.base,
            clips_path("JD-1", "transport", -5)
        ))
        .insert_header(("Authorization", format!("Bearer {key}")))
        .send_stream(futures_util::stream::iter(chunks))
        .await
        .expect("an answer");
    assert_eq!(
        res.status().as_u16(),
        413,
        "chunked uploads are counted too"
    );
    for (path, code) in [
        (
            "/api/v1/orders/JD-1/clips?kind=selfie&captured_at=2026-11-24T10:00:00Z",
            422,
        ),
        ("/api/v1/orders/JD-1/clips?kind=storage", 422),
        (
            "/api/v1/orders/JD-404/clips?kind=storage&captured_at=2026-11-24T10:00:00Z",
            404,
        ),
    ] {
        assert_eq!(
            upload(&app, &key, path, MP4, "video/mp4", None)
                .await
                .status,
            code,
            "{path}"
        );
    }
    assert_eq!(
        upload(
            &app,
            &other,
            &clips_path("JD-1", "storage", -5),
            MP4,
            "video/mp4",
            None
        )
        .await
        .status,
        403
    );
    assert_eq!(
        upload(
            &app,
            &dispatcher,
            &clips_path("JD-1", "storage", -5),
            MP4,
            "video/mp4",
            None
        )
        .await
        .status,
        403
    );
    assert_eq!(place.objects(), stored, "nothing left by refused uploads");
    assert_eq!(
        clip_keys(&redis).await,
        (2, 2),
        "no record of refused uploads"
    );

    // Idempotency: a retried upload returns the first clip.
    let first = upload(
        &app,
        &key,
        &clips_path("JD-2", "storage", -20),
        MP4,
        "video/mp4",
        Some("up-1"),
    )
    .await;
    assert_eq!(first.status, 201);
    let again = upload(
        &app,
        &key,
        &clips_path("JD-2", "storage", -20),
        MP4,
        "video/mp4",
        Some("up-1"),
    )
    .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["clip_id"], first.body["clip_id"]);
    assert_eq!(
        place.objects(),
        stored.map(|n| n + 1),
        "one object for a retried upload"
    );
    assert_eq!(
        clip_keys(&redis).await,
        (3, 3),
        "one record for a retried upload"
    );

    // Playback, whole and by range, for the customer.
    let url = format!("/api/v1/track/{token}/clips/{mp4_id}");
    let whole = get(&app, &url, &[]).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.bytes, MP4);
    assert_eq!(whole.header("content-type"), Some("video/mp4"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    let etag = whole.header("etag").unwrap().to_owned();
    let part = get(&app, &url, &[("Range", "bytes=100-199")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 100-199/{}", MP4.len()).as_str())
    );
    assert_eq!(part.bytes, &MP4[100..200]);
    let tail = get(&app, &url, &[("Range", "bytes=-50")]).await;
    assert_eq!(tail.status, 206);
    assert_eq!(tail.bytes, &MP4[MP4.len() - 50..]);
    let open = get(&app, &url, &[("Range", "bytes=14000-")]).await;
    assert_eq!(open.bytes, &MP4[14000..]);
    let beyond = get(&app, &url, &[("Range", "bytes=999999-")]).await;
    assert_eq!(beyond.status, 416);
    assert_eq!(
        beyond.header("content-range"),
        Some(format!("bytes */{}", MP4.len()).as_str())
    );
    assert_eq!(
        get(&app, &url, &[("If-None-Match", &etag)]).await.status,
        304
    );
    let webm = get(&app, &format!("/api/v1/track/{token}/clips/{webm_id}"), &[]).await;
    assert_eq!(
        (webm.status, webm.header("content-type")),
        (200, Some("video/webm"))
    );

    // Who may play it.
    let staff = format!("/api/v1/orders/JD-1/clips/{mp4_id}");
    for (who, status) in [
        (&dispatcher, 200),
        (&key, 200),
        (&app.admin, 200),
        (&other, 403),
    ] {
        assert_eq!(
            get(&app, &staff, &[("Authorization", &format!("Bearer {who}"))])
                .await
                .status,
            status
        );
    }
    assert_eq!(get(&app, &staff, &[]).await.status, 401);
    assert_eq!(
        get(
            &app,
            &format!("/api/v1/track/not-a-token/clips/{mp4_id}"),
            &[]
        )
        .await
        .status,
        404
    );
    let not_this_order = format!("/api/v1/orders/JD-2/clips/{mp4_id}");
    assert_eq!(
        get(
            &app,
            &not_this_order,
            &[("Authorization", &format!("Bearer {dispatcher}"))]
        )
        .await
        .status,
        404
    );

    // The customer's view lists them, newest first.
    let view = app
        .call("GET", &format!("/api/v1/track/{token}"), None, None)
        .await;
    let clips = view.body["clips"].as_array().unwrap();
    assert_eq!(clips.len(), 2);
    assert_eq!(clips[0]["clip_id"], webm_id.as_str());
    assert_eq!(clips[0]["kind"], "handover");
    assert!(clips[1]["url"].as_str().unwrap().ends_with(&url));

    // Retention: once delivered and past the retention, the sweep deletes
    // object and metadata together.
    if let Some(clip_store) = place.open() {
        load(&app, &key, "JD-1", "YUE-A-1", -60).await;
        app.post_expect(
            &key,
            json!([scan("d", "JD-1", "delivered", -1)]),
            "accepted",
        )
        .await;
        let store = Store::connect(&redis.url(), StoreOptions::default())
            .await
            .unwrap();
        let now = Utc::now();
        let n = vinpath::jobs::sweep_clips(&store, &clip_store, now, chrono::Duration::days(90))
            .await
            .unwrap();
        assert_eq!(n, 0, "kept within the retention");
        let n = vinpath::jobs::sweep_clips(
            &store,
            &clip_store,
            now + chrono::Duration::days(91),
            chrono::Duration::days(90),
        )
        .await
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(place.objects(), Some(1), "JD-2's clip stays");
        assert_eq!(get(&app, &url, &[]).await.status, 404);
        let view = app
            .call("GET", &format!("/api/v1/track/{token}"), None, None)
            .await;
        assert_eq!(view.body["clips"], json!([]));
    }
}

#[actix_web::test]
async fn clips_on_local_disk() {
    suite(Where::File(tempfile::tempdir().unwrap())).await;
}

#[actix_web::test]
async fn clips_in_memory() {
    suite(Where::Memory).await;
}

#[actix_web::test]
async fn clips_on_s3() {
    suite(Where::S3(TestS3::start())).await;
}

#[actix_web::test]
async fn s3_can_hand_out_presigned_links() {
    let s3 = TestS3::start();
    let redis = TestRedis::start();
    let mut s = settings(&redis);
    let place = Where::S3(s3);
    place.apply(&mut s);
    s.clip_redirect = true;
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    let token = app.order("JD-1", "sf-auto").await;
    let r = upload(
        &app,
        &key,
        &clips_path("JD-1", "storage", -5),
        MP4,
        "video/mp4",
        None,
    )
    .await;
    let id = r.body["clip_id"].as_str().unwrap();
    let no_follow = awc::Client::builder().disable_redirects().finish();
    let res = read(
        no_follow
            .get(format!("{}/api/v1/track/{token}/clips/{id}", app.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, 302);
    let signed = res.header("location").unwrap().to_owned();
    assert!(signed.contains("X-Amz-Signature"), "{signed}");
    let direct = read(awc::Client::default().get(&signed).send().await.unwrap()).await;
    assert_eq!(direct.status, 200, "the signature checks out");
    assert_eq!(direct.bytes, MP4);
}

#[actix_web::test]
async fn a_truck_clip_reaches_every_car_on_board_live() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    let mut sockets = Vec::new();
    for o in ["JD-1", "JD-2"] {
        let token = app.order(o, "sf-auto").await;
        load(&app, &key, o, "YUE-A-1", -30).await;
        let mut ws = app.ws(&format!("/ws/track/{token}")).await.unwrap();
        assert_eq!(ws.next().await["type"], "snapshot");
        sockets.push((token, ws));
    }
    let mut fleet = app
        .ws(&format!("/ws/fleet?access_token={dispatcher}"))
        .await
        .unwrap();
    assert_eq!(fleet.next().await["type"], "snapshot");
    let path = format!(
        "/api/v1/trucks/YUE-A-1/clips?kind=transport&captured_at={}",
        at(-1)
    );
    let r = upload(&app, &key, &path, MP4, "video/mp4", None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["order_ids"], json!(["JD-1", "JD-2"]));
    let id = r.body["clip_id"].as_str().unwrap();
    for (token, ws) in &mut sockets {
        let m = ws.next().await;
        assert_eq!(m["event"]["kind"], "clip");
        assert_eq!(m["event"]["clip_id"], id);
        assert_eq!(m["event"]["clip_kind"], "transport");
        let url = m["event"]["url"].as_str().unwrap();
        assert!(url.ends_with(&format!("/api/v1/track/{token}/clips/{id}")));
        assert_eq!(
            get(&app, url.trim_start_matches(&app.base), &[])
                .await
                .bytes,
            MP4
        );
    }
    let mut kinds = Vec::new();
    while let Some(m) = fleet.next_within(Duration::from_secs(1)).await {
        kinds.push((m["event"]["kind"].clone(), m["event"]["order_id"].clone()));
    }
    assert!(
        kinds.contains(&(json!("clip"), json!("JD-1")))
            && kinds.contains(&(json!("clip"), json!("JD-2"))),
        "{kinds:?}"
    );
    // A truck that is not the carrier's, or is empty, takes no clip.
    let path = |t: &str| {
        format!(
            "/api/v1/trucks/{t}/clips?kind=transport&captured_at={}",
            at(-1)
        )
    };
    assert_eq!(
        upload(&app, &key, &path("NOPE"), MP4, "video/mp4", None)
            .await
            .status,
        404
    );
    let other = app.carrier("other").await;
    assert_eq!(
        upload(&app, &other, &path("YUE-A-1"), MP4, "video/mp4", None)
            .await
            .status,
        404,
        "trucks are the carrier's own"
    );
    for o in ["JD-1", "JD-2"] {
        app.post_expect(
            &key,
            json!([scan(&format!("{o}-u"), o, "unloaded", 0)]),
            "accepted",
        )
        .await;
    }
    let r = upload(&app, &key, &path("YUE-A-1"), MP4, "video/mp4", None).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (409, Some("empty_truck"))
    );
    assert_eq!(
        clip_keys(&redis).await,
        (1, 1),
        "only the first truck clip is recorded"
    );
}

#[actix_web::test]
async fn an_upload_cut_off_halfway_leaves_nothing_on_disk() {
    cut_off(Where::File(tempfile::tempdir().unwrap())).await;
}

#[actix_web::test]
async fn an_upload_cut_off_halfway_leaves_nothing_on_s3() {
    cut_off(Where::S3(TestS3::start())).await;
}

async fn cut_off(place: Where) {
    let redis = TestRedis::start();
    let mut s = settings(&redis);
    place.apply(&mut s);
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    let mut body = MP4.to_vec();
    body.resize(2_000_000, 7);
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: video/mp4\r\nContent-Length: {}\r\n\r\n",
        clips_path("JD-1", "transport", -5),
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&body[..1_000_000]).await.unwrap();
    tcp.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(tcp);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(place.objects(), Some(0), "no object, no staging file");
    let view = app.get_order("JD-1").await;
    assert_eq!(view["milestone"], "ordered");
    assert!(app.history("JD-1").await.is_empty(), "no clip recorded");
}

/// An upload whose request died between storing the object and recording
/// the clip leaves nothing for long: the sweep finds the object by the
/// upload's note and removes it; a recorded clip stays.
#[actix_web::test]
async fn an_object_stored_but_never_recorded_is_swept() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let clock = vinpath::clock::Clock::manual(chrono::Utc::now());
    let mut s = settings(&redis);
    s.clip_store = Some(format!("file://{}", dir.path().display()));
    s.clock = clock.clone();
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    app.order("JD-1", "sf-auto").await;
    let kept = upload(
        &app,
        &key,
        &clips_path("JD-1", "transport", -5),
        MP4,
        "video/mp4",
        None,
    )
    .await;
    assert_eq!(kept.status, 201, "{}", kept.body);
    // The died upload: its note, and its object, but no record.
    let store = vinpath::store::Store::connect(&redis.url(), Default::default())
        .await
        .unwrap();
    store
        .begin_upload("01DIEDUPLOAD", clock.now())
        .await
        .unwrap();
    std::fs::create_dir_all(dir.path().join("clips")).unwrap();
    std::fs::write(dir.path().join("clips/01DIEDUPLOAD"), MP4).unwrap();
    assert_eq!(
        app.jobs.sweep_now().await.unwrap(),
        0,
        "it may still be under way"
    );
    clock.advance(chrono::Duration::hours(7));
    assert_eq!(app.jobs.sweep_now().await.unwrap(), 1);
    assert!(!dir.path().join("clips/01DIEDUPLOAD").exists());
    let id = kept.body["clip_id"].as_str().unwrap();
    assert!(
        dir.path().join(format!("clips/{id}")).exists(),
        "the recorded clip stays"
    );
}

/// Staff pages play clips by streaming from a short-lived signed link (a
/// `<video>` sends no token): the link plays, by range too, without a
/// token; it opens that clip of that order only; a changed one is refused.
#[actix_web::test]
async fn a_signed_link_plays_a_clip_without_a_token_and_nothing_else() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let other_key = app.carrier("other").await;
    app.order("JD-L1", "sf-auto").await;
    app.order("JD-L2", "sf-auto").await;
    let r = upload(
        &app,
        &key,
        &clips_path("JD-L1", "transport", -5),
        MP4,
        "video/mp4",
        None,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let clip = r.body["clip_id"].as_str().unwrap().to_owned();
    let dispatcher = app.dispatcher().await;
    let link_path = format!("/api/v1/orders/JD-L1/clips/{clip}/link");
    let bearer = |t: &str| format!("Bearer {t}");
    let r = get(&app, &link_path, &[("Authorization", &bearer(&dispatcher))]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let url = r.body["url"].as_str().unwrap().to_owned();
    assert!(r.body["expires_at"].is_string());
    let path = url
        .strip_prefix(&app.base)
        .expect("on this vinpath")
        .to_owned();

    // No token: it plays, whole and by range.
    let whole = get(&app, &path, &[]).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.bytes, MP4);
    let part = get(&app, &path, &[("Range", "bytes=0-99")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.bytes, &MP4[..100]);

    // Changed, or used for another order, it opens nothing.
    let tampered = path.replace("sig=", "sig=00");
    get(&app, &tampered, &[])
        .await
        .assert_problem(401, "unauthorized");
    let elsewhere = path.replace("/orders/JD-L1/", "/orders/JD-L2/");
    get(&app, &elsewhere, &[])
        .await
        .assert_problem(401, "unauthorized");
    let later = path.replace("expires=", "expires=9");
    get(&app, &later, &[])
        .await
        .assert_problem(401, "unauthorized");
    // Without a link, a token is still needed; another carrier gets none.
    let plain = format!("/api/v1/orders/JD-L1/clips/{clip}");
    get(&app, &plain, &[])
        .await
        .assert_problem(401, "unauthorized");
    get(&app, &link_path, &[("Authorization", &bearer(&other_key))])
        .await
        .assert_problem(403, "forbidden");
    get(&app, &link_path, &[])
        .await
        .assert_problem(401, "unauthorized");
}
