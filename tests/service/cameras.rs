//! Live camera video with real parts: Debian's ffmpeg pushes a live test
//! pattern (H.264 in MPEG-TS, and in fMP4) to a camera's ingest URL as a
//! camera's encoder would (`-f hls -method PUT`); vinpath's own playlist
//! is read while it runs; segments are read back and decoded by ffprobe.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// ffmpeg pushing `seconds` of a live test pattern, 1-second segments.
fn push(ingest_url: &str, seconds: u32, fmp4: bool) -> Child {
    let seconds = seconds.to_string();
    // 640x360 at 1 Mbit/s: segments of some 130 KB, as a deck camera sends.
    let line = format!(
        "-hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=15 -t {seconds} \
         -c:v libx264 -preset ultrafast -tune zerolatency -g 15 -b:v 1M -pix_fmt yuv420p \
         -f hls -hls_time 1 -hls_list_size 4 -method PUT"
    );
    let mut args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    if fmp4 {
        args.extend(["-hls_segment_type".into(), "fmp4".into()]);
    }
    args.push(ingest_url.to_owned());
    Command::new("ffmpeg")
        .args(&args)
        .stdin(Stdio::null())
        .spawn()
        .expect("ffmpeg is installed (scripts/test installs it)")
}

/// What ffprobe makes of these bytes: the codec of their first video
/// stream and how many frames it decodes.
fn probe(bytes: &[u8]) -> (String, u64) {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("probe-{}.bin", ulid::Ulid::generate()));
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,nb_read_frames",
            "-of",
            "json",
        ])
        .arg(&path)
        .output()
        .expect("ffprobe comes with ffmpeg");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let s = &v["streams"][0];
    (
        s["codec_name"].as_str().unwrap_or_default().to_owned(),
        s["nb_read_frames"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    )
}

/// The segments vinpath listed for a camera, as Redis keeps them.
async fn listed(redis: &TestRedis, camera: &str) -> Vec<Value> {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let all: Vec<String> = redis::cmd("LRANGE")
        .arg(format!("vp:{{cam:{camera}}}:segs"))
        .arg(0)
        .arg(-1)
        .query_async(&mut c)
        .await
        .unwrap();
    all.iter()
        .map(|j| serde_json::from_str(j).unwrap())
        .collect()
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> Reply {
    app.call("GET", path, token, None).await
}

/// Segment URIs of a playlist, with its media sequence.
fn playlist(text: &str) -> (u64, Vec<String>, bool) {
    let seq = text
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let uris = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_owned)
        .collect();
    (seq, uris, text.contains("#EXT-X-ENDLIST"))
}

async fn camera(app: &TestApp, key: &str, id: &str, truck: &str) -> String {
    let r = app
        .call(
            "POST",
            "/api/v1/cameras",
            Some(key),
            Some(json!({"camera_id": id, "truck_id": truck})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["kind"], "truck");
    r.body["ingest_url"].as_str().unwrap().to_owned()
}

async fn a_live_stream_is_listed_as_it_arrives(fmp4: bool, place: Where) {
    let redis = TestRedis::start();
    let mut s = settings(&redis);
    place.apply(&mut s);
    let stored_in = place.dir().expect("a store the test can read");
    // The customer's socket below is read only once the stream ends.
    s.live.peer_timeout = Duration::from_secs(120);
    let app = TestApp::with(s).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    let token = app.order("JD-V1", "sf-auto").await;
    let other = app.order("JD-V2", "sf-auto").await;
    load(&app, &key, "JD-V1", "YUE-A-7", -30).await;
    let cam = if fmp4 { "deck-fmp4" } else { "deck-ts" };
    let ingest = camera(&app, &key, cam, "YUE-A-7").await;
    assert!(ingest.ends_with("/live.m3u8"), "{ingest}");

    // The customer's view offers the camera, off until it pushes.
    let view = get(&app, &format!("/api/v1/track/{token}"), None)
        .await
        .body;
    assert_eq!(view["cameras"][0]["camera_id"], cam, "{}", view["cameras"]);
    assert_eq!(view["cameras"][0]["live"], false);
    let url = view["cameras"][0]["url"].as_str().unwrap().to_owned();
    let customer_path = url[url.find("/api/").unwrap()..].to_owned();

    // A third car is loaded onto the truck while the camera is on air.
    let late = app.order("JD-V3", "sf-auto").await;
    let mut late_watching = app.ws(&format!("/ws/track/{late}")).await.expect("opens");
    assert_eq!(late_watching.next().await["type"], "snapshot");
    let mut watching = app.ws(&format!("/ws/track/{token}")).await.expect("opens");
    assert_eq!(watching.next().await["type"], "snapshot");
    let mut ffmpeg = push(&ingest, 10, fmp4);
    let staff = format!("/api/v1/cameras/{cam}/live.m3u8");
    let started = Instant::now();
    let mut sequences = Vec::new();
    let mut went_live = false;
    while ffmpeg.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < Duration::from_secs(30), "ffmpeg ends");
        let r = get(&app, &staff, Some(&dispatcher)).await;
        if r.status == 200 {
            let text = String::from_utf8(r.bytes.clone()).unwrap();
            let (seq, uris, _) = playlist(&text);
            assert!(!uris.is_empty());
            if fmp4 {
                assert!(text.contains("#EXT-X-MAP:URI=\"init.mp4\""), "{text}");
            }
            sequences.push(seq);
            if !went_live {
                let cams = get(&app, "/api/v1/cameras", Some(&dispatcher)).await.body;
                went_live = cams["cameras"][0]["live"] == true;
                if went_live {
                    // Loaded now: footage from before is not its customer's.
                    let now =
                        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    let mut rel = scan("V3-rel", "JD-V3", "released", -5);
                    let mut loaded = scan("V3-load", "JD-V3", "loaded", 0);
                    rel["occurred_at"] = json!(now);
                    loaded["occurred_at"] = json!(now);
                    loaded["truck_id"] = json!("YUE-A-7");
                    app.post_expect(&key, json!([rel, loaded]), "accepted")
                        .await;
                    let first = get(
                        &app,
                        &format!(
                            "/api/v1/track/{late}/cameras/{cam}/0.{}",
                            if fmp4 { "m4s" } else { "ts" }
                        ),
                        None,
                    )
                    .await;
                    assert_eq!(
                        first.status, 404,
                        "a segment from before the car was loaded"
                    );
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ffmpeg.wait().unwrap().success(), "ffmpeg pushed it all");
    assert!(went_live, "the camera was live while it pushed");
    assert!(
        sequences.windows(2).all(|w| w[0] <= w[1]) && sequences.last() > sequences.first(),
        "the media sequence advances: {sequences:?}"
    );

    // The customer's page was told the camera went live, then off.
    let mut told = Vec::new();
    while told.len() < 2 {
        let m = watching
            .next_within(Duration::from_secs(5))
            .await
            .expect("told live and off");
        if m["event"]["kind"] == "live" {
            assert_eq!(m["event"]["camera_id"], cam);
            assert!(
                m["event"]["url"]
                    .as_str()
                    .unwrap()
                    .ends_with(&customer_path),
                "{m}"
            );
            told.push(m["event"]["live"].clone());
        }
    }
    assert_eq!(told, [json!(true), json!(false)]);
    // The car loaded mid-broadcast was told too, and is in its recording.
    let mut late_told = Vec::new();
    while late_told.len() < 2 {
        let m = late_watching
            .next_within(Duration::from_secs(5))
            .await
            .expect("the late car told live and off");
        if m["event"]["kind"] == "live" {
            late_told.push(m["event"]["live"].clone());
        }
    }
    assert_eq!(late_told, [json!(true), json!(false)]);

    // Every segment was listed within 500 ms of arriving whole, and is
    // served as stored, decodable H.264.
    let all = listed(&redis, cam).await;
    assert!(all.len() >= 5, "{} segments", all.len());
    for seg in &all {
        let waited = seg["at"].as_i64().unwrap() - seg["put"].as_i64().unwrap();
        assert!(
            (0..=500).contains(&waited),
            "listed {waited} ms after its PUT: {seg}"
        );
    }
    let init = if fmp4 {
        let r = get(
            &app,
            &format!("/api/v1/cameras/{cam}/init.mp4"),
            Some(&dispatcher),
        )
        .await;
        assert_eq!(r.status, 200);
        r.bytes
    } else {
        Vec::new()
    };
    let (_, uris, ended) =
        playlist(&String::from_utf8(get(&app, &staff, Some(&dispatcher)).await.bytes).unwrap());
    assert!(ended, "a broadcast that ended says so");
    for uri in &uris {
        let r = get(
            &app,
            &format!("/api/v1/cameras/{cam}/{uri}"),
            Some(&dispatcher),
        )
        .await;
        assert_eq!(r.status, 200, "{uri}");
        let seq: u64 = uri.split('.').next().unwrap().parse().unwrap();
        let seg = all.iter().find(|s| s["seq"] == seq).unwrap();
        let stored = std::fs::read(stored_in.join(seg["obj"].as_str().unwrap())).unwrap();
        assert_eq!(r.bytes, stored, "{uri} is served as stored");
        let mut whole = init.clone();
        whole.extend_from_slice(&r.bytes);
        let (codec, frames) = probe(&whole);
        assert_eq!(codec, "h264", "{uri}");
        assert!(frames >= 10, "{uri} decodes to {frames} frames");
    }
    // A part of a segment, as players ask.
    let part = app
        .api
        .client
        .get(format!("{}/api/v1/cameras/{cam}/{}", app.base, uris[0]))
        .insert_header(("Authorization", format!("Bearer {dispatcher}")))
        .insert_header(("Range", "bytes=0-99"))
        .send()
        .await
        .unwrap();
    assert_eq!(part.status().as_u16(), 206);
    let cams = get(&app, "/api/v1/cameras", Some(&dispatcher)).await.body;
    assert_eq!(
        cams["cameras"][0]["live"], false,
        "off after #EXT-X-ENDLIST"
    );

    // The broadcast became a clip of the cars it showed: a VOD playlist
    // whose segments play under the customer's link; the other car has none.
    let late_view = get(&app, &format!("/api/v1/track/{late}"), None).await.body;
    assert!(
        late_view["clips"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["hls"] == true),
        "the late car has the recording: {}",
        late_view["clips"]
    );
    let view = get(&app, &format!("/api/v1/track/{token}"), None)
        .await
        .body;
    let clip = view["clips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["hls"] == true)
        .cloned()
        .unwrap_or_else(|| panic!("a recording: {}", view["clips"]));
    assert_eq!(clip["kind"], "transport");
    let url = clip["url"].as_str().unwrap();
    let path = &url[url.find("/api/").unwrap()..];
    let vod = get(&app, path, None).await;
    assert_eq!(vod.status, 200);
    let vod = String::from_utf8(vod.bytes).unwrap();
    assert!(
        vod.contains("#EXT-X-PLAYLIST-TYPE:VOD") && vod.contains("#EXT-X-ENDLIST"),
        "{vod}"
    );
    let (_, parts, _) = playlist(&vod);
    assert_eq!(
        parts.len(),
        all.len(),
        "every segment of the broadcast: {vod}"
    );
    let folder = &path[..path.rfind('/').unwrap()];
    let first = format!("{folder}/{}", parts[0]);
    assert_eq!(get(&app, &first, None).await.status, 200, "{first}");
    let stranger = format!(
        "{folder}/{}/not-in-it.ts",
        clip["clip_id"].as_str().unwrap()
    );
    assert_eq!(get(&app, &stranger, None).await.status, 404);
    assert!(
        get(&app, &format!("/api/v1/track/{other}"), None)
            .await
            .body["clips"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // The customer plays it while the car is on the truck; another
    // customer's link does not; unloaded, the camera is no longer theirs.
    let r = get(&app, &customer_path, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = get(
        &app,
        &format!("/api/v1/track/{token}/cameras/{cam}/{}", uris[0]),
        None,
    )
    .await;
    assert_eq!(r.status, 200);
    let theirs = get(
        &app,
        &format!("/api/v1/track/{other}/cameras/{cam}/live.m3u8"),
        None,
    )
    .await;
    assert_eq!(theirs.status, 404);
    assert_eq!(
        get(&app, &format!("/api/v1/track/{other}"), None)
            .await
            .body["cameras"],
        json!([])
    );
    app.post_expect(
        &key,
        json!([scan("V1-off", "JD-V1", "unloaded", -1)]),
        "accepted",
    )
    .await;
    assert_eq!(get(&app, &customer_path, None).await.status, 404);
    assert_eq!(
        get(&app, &format!("/api/v1/track/{token}"), None)
            .await
            .body["cameras"],
        json!([])
    );

    // Retention: once its cars are delivered and their clips' time is up, the
    // recording goes with every segment it named; live segments no
    // recording kept go a day later.
    app.post_expect(
        &key,
        json!([scan("V1-done", "JD-V1", "delivered", 0)]),
        "accepted",
    )
    .await;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut off = scan("V3-off", "JD-V3", "unloaded", 0);
    let mut done = scan("V3-done", "JD-V3", "delivered", 0);
    off["occurred_at"] = json!(now);
    done["occurred_at"] = json!(now);
    app.post_expect(&key, json!([off, done]), "accepted").await;
    let live_dir = stored_in.join(format!("live/{cam}"));
    let files = |dir: &std::path::Path| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    assert!(files(&live_dir) >= all.len());
    let clip_store = place.open().expect("the store");
    let store =
        vinpath::store::Store::connect(&redis.url(), vinpath::store::StoreOptions::default())
            .await
            .unwrap();
    let later = chrono::Utc::now() + chrono::Duration::days(91);
    let n = vinpath::jobs::sweep_clips(&store, &clip_store, later, chrono::Duration::days(90))
        .await
        .unwrap();
    assert_eq!(n, 1, "the recording");
    let left = files(&live_dir);
    assert!(
        left <= 1,
        "its segments went with it ({left} left: an init segment at most)"
    );
    vinpath::jobs::sweep_live(
        &clip_store,
        later + chrono::Duration::days(2),
        chrono::Duration::days(90),
    )
    .await
    .unwrap();
    assert_eq!(files(&live_dir), 0, "nothing of the camera is left");
}

#[actix_web::test]
async fn a_live_ts_stream_is_listed_as_it_arrives() {
    a_live_stream_is_listed_as_it_arrives(false, Where::File(tempfile::tempdir().unwrap())).await;
}

#[actix_web::test]
async fn a_live_fmp4_stream_is_listed_as_it_arrives_on_s3() {
    a_live_stream_is_listed_as_it_arrives(true, Where::S3(TestS3::start())).await;
}

#[actix_web::test]
async fn bad_pushes_are_refused_and_leave_nothing_listed() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    let ingest = camera(&app, &key, "deck-bad", "YUE-A-8").await;
    let folder = ingest.trim_end_matches("live.m3u8");
    let put = |url: String, body: Vec<u8>| {
        let client = app.api.client.clone();
        async move {
            client
                .put(url)
                .send_body(body)
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // A wrong secret.
    let wrong = format!("{}/api/v1/ingest/vpcam_wrong/live0.ts", app.base);
    let mut ts = vec![0u8; 188 * 4];
    for i in 0..4 {
        ts[i * 188] = 0x47;
    }
    assert_eq!(put(wrong, ts.clone()).await, 401);
    // Not TS or fMP4.
    assert_eq!(
        put(
            format!("{folder}live0.ts"),
            b"GIF89a not video at all".repeat(30)
        )
        .await,
        415
    );
    // A playlist that does not parse.
    assert_eq!(
        put(format!("{folder}live.m3u8"), b"hello".to_vec()).await,
        400
    );
    // Over 64 MiB.
    let mut huge = ts.clone();
    huge.resize(64 * 1024 * 1024 + 1, 0);
    assert_eq!(put(format!("{folder}big.ts"), huge).await, 413);
    // A segment cut off mid-upload (the connection drops mid-packet).
    {
        use tokio::io::AsyncWriteExt;
        let path = &folder[folder.find("/api/").unwrap()..];
        let mut conn = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
            .await
            .unwrap();
        let head =
            format!("PUT {path}cut.ts HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
        conn.write_all(head.as_bytes()).await.unwrap();
        let part = &ts[..500];
        conn.write_all(format!("{:x}\r\n", part.len()).as_bytes())
            .await
            .unwrap();
        conn.write_all(part).await.unwrap();
        conn.write_all(b"\r\n").await.unwrap();
        conn.shutdown().await.unwrap();
        drop(conn);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A playlist naming what never arrived (or was refused) lists nothing.
    let named = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nlive0.ts\n#EXTINF:1.0,\nbig.ts\n#EXTINF:1.0,\ncut.ts\n";
    assert_eq!(
        put(format!("{folder}live.m3u8"), named.as_bytes().to_vec()).await,
        201
    );
    assert_eq!(
        get(
            &app,
            "/api/v1/cameras/deck-bad/live.m3u8",
            Some(&dispatcher)
        )
        .await
        .status,
        404
    );
    assert!(listed(&redis, "deck-bad").await.is_empty());
    // A camera pushing far faster than real time is capped (20 segments in
    // 10 s): of 45 pushed at once, some are refused, at most 40 kept.
    let mut kept = 0;
    let mut capped = 0;
    for i in 0..45 {
        match put(format!("{folder}flood{i}.ts"), ts.clone()).await {
            201 => kept += 1,
            429 => capped += 1,
            other => panic!("{other}"),
        }
    }
    assert!(capped > 0 && kept <= 40, "{kept} kept, {capped} capped");
    // A carrier registers cameras only on its own trucks; ids are unique.
    let r = app
        .call(
            "POST",
            "/api/v1/cameras",
            Some(&key),
            Some(json!({"camera_id": "deck-bad", "truck_id": "YUE-A-9"})),
        )
        .await;
    assert_eq!(r.status, 409);
    let r = app
        .call(
            "POST",
            "/api/v1/cameras",
            Some(&key),
            Some(json!({"camera_id": "bay-1", "site_id": "jd-wuhan"})),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .call(
            "POST",
            "/api/v1/cameras",
            Some(&app.admin),
            Some(json!({"camera_id": "bay 1", "site_id": "nowhere"})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
}

/// On a 360 px phone, in both languages, the customer taps "watch live"
/// and the car's truck camera plays through hls.js: its time advances for
/// seconds; when the camera stops, the player says so.
#[actix_web::test]
async fn the_customer_watches_the_truck_camera_live_on_a_phone() {
    use crate::pages::{Driver, js, screenshot, until};
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let driver = Driver::start();
    for (n, lang) in ["zh-CN", "en-US"].into_iter().enumerate() {
        let short = &lang[..2];
        let order = format!("JD-LV-{short}");
        let truck = format!("YUE-A-5{n}");
        let token = app.order(&order, "sf-auto").await;
        load(&app, &key, &order, &truck, -30).await;
        let ingest = camera(&app, &key, &format!("deck-{short}"), &truck).await;
        let c = driver.browser(true, lang).await;
        c.goto(&format!("{}/t/{token}", app.base)).await.unwrap();
        assert!(
            until(
                &c,
                "return document.body.dataset.milestone === 'loaded'",
                Duration::from_secs(10)
            )
            .await
        );
        let mut ffmpeg = push(&ingest, 14, false);
        assert!(
            until(
                &c,
                "const p = document.querySelector('[data-camera-id][data-live=\"true\"]'); return !!p && !document.getElementById('live-box').hidden",
                Duration::from_secs(10)
            )
            .await,
            "the page shows the camera live ({lang})"
        );
        screenshot(&c, &format!("live-phone-{short}-ready")).await;
        c.find(fantoccini::Locator::Css("[data-camera-id] .play"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert!(
            until(
                &c,
                "const v = document.querySelector('[data-camera-id] video'); return v.currentTime > 0.5 && !v.paused",
                Duration::from_secs(15)
            )
            .await,
            "it plays ({lang}): {}",
            js(&c, "const v = document.querySelector('[data-camera-id] video'); return JSON.stringify({t: v.currentTime, paused: v.paused, err: v.error && v.error.code, rs: v.readyState})").await
        );
        let first = js(
            &c,
            "return document.querySelector('[data-camera-id] video').currentTime",
        )
        .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let later = js(
            &c,
            "return document.querySelector('[data-camera-id] video').currentTime",
        )
        .await;
        assert!(
            later.as_f64().unwrap() - first.as_f64().unwrap() > 1.5,
            "time advances ({lang}): {first} → {later}"
        );
        screenshot(&c, &format!("live-phone-{short}-playing")).await;
        ffmpeg.wait().unwrap();
        assert!(
            until(
                &c,
                "return document.querySelector('[data-camera-id]').dataset.live === 'false'",
                Duration::from_secs(10)
            )
            .await,
            "the player is told the camera stopped ({lang})"
        );
        // The broadcast is recorded: a clip of the car, played from the
        // clips list.
        assert!(
            until(
                &c,
                "return !!document.querySelector('[data-clip-id] .play')",
                Duration::from_secs(10)
            )
            .await,
            "the recording is in the clips list ({lang})"
        );
        js(
            &c,
            "document.querySelector('[data-clip-id]').scrollIntoView()",
        )
        .await;
        c.find(fantoccini::Locator::Css("[data-clip-id] .play"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert!(
            until(
                &c,
                "const v = document.querySelector('[data-clip-id] video'); return v.currentTime > 2 && !v.paused",
                Duration::from_secs(15)
            )
            .await,
            "the recording plays ({lang}): {}",
            js(&c, "const v = document.querySelector('[data-clip-id] video'); return JSON.stringify({t: v.currentTime, paused: v.paused, err: v.error && v.error.code})").await
        );
        screenshot(&c, &format!("recording-phone-{short}")).await;
        c.close().await.ok();
    }
}

/// A dispatcher opens a truck on the console and watches its deck camera.
#[actix_web::test]
async fn a_dispatcher_watches_a_trucks_camera_from_its_details() {
    use crate::pages::{Driver, js, screenshot, sign_in, until};
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let key = app.carrier("sf-auto").await;
    let dispatcher = app.dispatcher().await;
    app.order("JD-DC", "sf-auto").await;
    load(&app, &key, "JD-DC", "YUE-C-1", -30).await;
    app.post_expect(
        &key,
        json!([truck_fix("dc-1", "YUE-C-1", -1, 24.8, 113.6)]),
        "accepted",
    )
    .await;
    let ingest = camera(&app, &key, "deck-c1", "YUE-C-1").await;
    let mut ffmpeg = push(&ingest, 20, false);
    let driver = Driver::start();
    let c = driver.browser(false, "zh-CN").await;
    sign_in(&c, &app.base, &dispatcher).await;
    assert!(
        until(
            &c,
            "return !!document.querySelector('[data-truck-id=\"YUE-C-1\"]')",
            Duration::from_secs(10)
        )
        .await,
        "the truck is listed"
    );
    // Live once its first segments are in.
    let started = std::time::Instant::now();
    while get(&app, "/api/v1/cameras", Some(&dispatcher)).await.body["cameras"][0]["live"] != true {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the camera goes live"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.find(fantoccini::Locator::Css("[data-truck-id=\"YUE-C-1\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        until(
            &c,
            "return !!document.querySelector('#details [data-camera-id=\"deck-c1\"][data-live=\"true\"] button')",
            Duration::from_secs(10)
        )
        .await,
        "the details offer the live camera: {}",
        js(&c, "return document.getElementById('details').innerHTML").await
    );
    c.find(fantoccini::Locator::Css("#details [data-camera-id] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        until(
            &c,
            "const v = document.querySelector('#details [data-camera-id] video'); return v.currentTime > 1 && !v.paused",
            Duration::from_secs(15)
        )
        .await,
        "it plays with the dispatcher's token: {}",
        js(&c, "const v = document.querySelector('#details [data-camera-id] video'); return JSON.stringify({t: v.currentTime, paused: v.paused, err: v.error && v.error.code})").await
    );
    screenshot(&c, "dispatcher-camera-zh").await;
    let _ = ffmpeg.kill();
    let _ = ffmpeg.wait();
    c.close().await.ok();
}
