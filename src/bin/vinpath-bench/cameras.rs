//! Figures 11 and 12: live cameras. Cameras push as ffmpeg does (a
//! 2-second, 1 Mbit/s H.264 segment made once by ffmpeg, then the playlist
//! naming it, every 2 seconds, staggered); vinpath's own playlist is read
//! until it lists each segment. Then viewers poll the live playlists and
//! fetch each new segment, against reading the same stored bytes from disk.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::json;

use vinpath::client::Api;

use crate::scenarios::{Sizes, Target};
use crate::stats::{Figure, Samples, cpu_secs};

const SEGMENT_SECS: u64 = 2;

/// One real segment, made by ffmpeg: 2 s of 640x360 H.264 at 1 Mbit/s.
fn segment() -> Result<Vec<u8>, String> {
    let out = std::env::temp_dir().join(format!("vinpath-bench-{}.ts", std::process::id()));
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=15",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-b:v",
            "1M",
            "-maxrate",
            "1M",
            "-bufsize",
            "1M",
            "-f",
            "mpegts",
        ])
        .arg(&out)
        .status()
        .map_err(|e| format!("ffmpeg: {e}"))?;
    if !status.success() {
        return Err("ffmpeg could not make a segment".into());
    }
    let bytes = std::fs::read(&out).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&out);
    Ok(bytes)
}

/// The playlist a camera sends after its segment `n`.
fn playlist(n: u64) -> String {
    let first = n.saturating_sub(3);
    let mut p = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{SEGMENT_SECS}\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
    );
    for i in first..=n {
        p.push_str(&format!("#EXTINF:{SEGMENT_SECS}.000000,\nlive{i}.ts\n"));
    }
    p
}

async fn put(api: &Api, url: &str, body: Vec<u8>) -> Result<(), String> {
    let res = api
        .client
        .put(url)
        .send_body(body)
        .await
        .map_err(|e| e.to_string())?;
    if res.status().as_u16() == 201 {
        Ok(())
    } else {
        Err(format!("PUT answered {}", res.status()))
    }
}

/// Whether vinpath's playlist of a camera lists its sequence number `seq`.
async fn lists(api: &Api, camera: &str, seq: u64) -> bool {
    let url = format!("{}/api/v1/cameras/{camera}/live.m3u8", api.base);
    match api
        .client
        .get(url)
        .insert_header(("Authorization", format!("Bearer {}", api.admin)))
        .send()
        .await
    {
        Ok(mut r) if r.status().as_u16() == 200 => r
            .body()
            .await
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .any(|l| l == format!("{seq}.ts"))
            })
            .unwrap_or(false),
        _ => false,
    }
}

/// When a camera pushes: from `offset` after the start until `until`,
/// measuring the segments pushed before `measure_until`.
struct Window {
    offset: Duration,
    measure_until: Instant,
    until: Instant,
}

/// A camera pushing through its window: each segment's time from its
/// upload done to vinpath listing it.
async fn camera(
    api: Api,
    (camera, ingest): (String, String),
    bytes: Rc<Vec<u8>>,
    w: Window,
    latencies: Rc<RefCell<Samples>>,
) -> Result<u64, String> {
    let Window {
        offset,
        measure_until,
        until,
    } = w;
    tokio::time::sleep(offset).await;
    let folder = ingest.trim_end_matches("live.m3u8").to_owned();
    let mut n = 0u64;
    let mut next = Instant::now();
    while Instant::now() < until {
        put(&api, &format!("{folder}live{n}.ts"), bytes.to_vec()).await?;
        let done = Instant::now();
        put(&api, &ingest, playlist(n).into_bytes()).await?;
        let mut listed = false;
        while done.elapsed() < Duration::from_secs(SEGMENT_SECS) {
            if lists(&api, &camera, n).await {
                listed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if done < measure_until {
            latencies.borrow_mut().push(if listed {
                done.elapsed()
            } else {
                Duration::from_secs(SEGMENT_SECS)
            });
        }
        n += 1;
        next += Duration::from_secs(SEGMENT_SECS);
        tokio::time::sleep_until(next.into()).await;
    }
    Ok(n)
}

/// A viewer of a camera: the live playlist every second, each new segment
/// fetched whole once; answers the segments and bytes it got.
async fn viewer(
    api: Api,
    camera: String,
    start: Instant,
    until: Instant,
    times: Rc<RefCell<Samples>>,
) -> (u64, u64) {
    tokio::time::sleep_until(start.into()).await;
    let base = format!("{}/api/v1/cameras/{camera}/", api.base);
    let auth = format!("Bearer {}", api.admin);
    let (mut got, mut bytes, mut last) = (0, 0, String::new());
    while Instant::now() < until {
        let newest = match api
            .client
            .get(format!("{base}live.m3u8"))
            .insert_header(("Authorization", auth.clone()))
            .send()
            .await
        {
            Ok(mut r) if r.status().as_u16() == 200 => r.body().await.ok().and_then(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .rfind(|l| !l.starts_with('#') && !l.is_empty())
                    .map(str::to_owned)
            }),
            _ => None,
        };
        if let Some(uri) = newest.filter(|u| *u != last) {
            let asked = Instant::now();
            if let Ok(mut r) = api
                .client
                .get(format!("{base}{uri}"))
                .insert_header(("Authorization", auth.clone()))
                .send()
                .await
                && r.status().as_u16() == 200
                && let Ok(b) = r.body().limit(64 << 20).await
            {
                times.borrow_mut().push(asked.elapsed());
                got += 1;
                bytes += b.len() as u64;
                last = uri;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    (got, bytes)
}

/// Reads the stored segments of the cameras from disk, as `dd` would, for
/// `dur`: segments read per second.
fn read_from_disk(disk: &Path, cameras: &[String], dur: Duration) -> f64 {
    // The file store keeps clips under the data directory's `clips`.
    let files: Vec<_> = cameras
        .iter()
        .filter_map(|c| std::fs::read_dir(disk.join("clips/live").join(c)).ok())
        .flat_map(|d| d.filter_map(|e| e.ok().map(|e| e.path())))
        .collect();
    if files.is_empty() {
        return f64::NAN;
    }
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < dur {
        for f in &files {
            if std::fs::read(f).is_ok() {
                n += 1;
            }
        }
    }
    n as f64 / started.elapsed().as_secs_f64()
}

pub async fn cameras(
    api: &Api,
    key: &str,
    target: &Target,
    sizes: &Sizes,
) -> Result<Vec<Figure>, String> {
    let bytes = Rc::new(segment()?);
    let run = std::process::id();
    let mut ingests = Vec::new();
    for i in 0..sizes.cameras {
        let camera = format!("bench-{run}-{i}");
        let (status, v) = api
            .post(
                "/api/v1/cameras",
                key,
                &json!({"camera_id": camera, "truck_id": format!("BENCH-CAM-{i}")}),
            )
            .await?;
        let ingest = v["ingest_url"]
            .as_str()
            .filter(|_| status == 201)
            .ok_or(format!("camera: {status} {v}"))?
            .to_owned();
        ingests.push((camera, ingest));
    }
    // Phase one: the cameras alone (figure 11); phase two: viewers too
    // (figure 12). The cameras push through both.
    let dur = sizes.camera_dur;
    let started = Instant::now();
    let phase_two = started + dur + Duration::from_secs(SEGMENT_SECS);
    let until = phase_two + dur;
    let latencies = Rc::new(RefCell::new(Samples::default()));
    let pushers = Api::new(&target.base, &target.admin, sizes.cameras * 4);
    let cpu_before = cpu_secs(target.pid);
    let stagger = Duration::from_millis(SEGMENT_SECS * 1000 / sizes.cameras.max(1) as u64);
    let cameras = join_all(ingests.iter().enumerate().map(|(i, (c, ingest))| {
        camera(
            pushers.clone(),
            (c.clone(), ingest.clone()),
            bytes.clone(),
            Window {
                offset: stagger * i as u32,
                measure_until: phase_two,
                until,
            },
            latencies.clone(),
        )
    }));
    let times = Rc::new(RefCell::new(Samples::default()));
    let watchers = Api::new(&target.base, &target.admin, sizes.viewers.max(1));
    let viewers = join_all((0..sizes.viewers).map(|v| {
        viewer(
            watchers.clone(),
            ingests[v % ingests.len()].0.clone(),
            phase_two + Duration::from_millis((v as u64 * 997) % 1000),
            until,
            times.clone(),
        )
    }));
    let cpu_at_two = Rc::new(RefCell::new(None));
    let mark = {
        let cpu_at_two = cpu_at_two.clone();
        let pid = target.pid;
        async move {
            tokio::time::sleep_until(phase_two.into()).await;
            *cpu_at_two.borrow_mut() = cpu_secs(pid);
        }
    };
    let (pushed, served, ()) = futures_util::join!(cameras, viewers, mark);
    for p in &pushed {
        p.as_ref().map_err(|e| e.clone())?;
    }
    let phase_one_cpu = match (cpu_before, *cpu_at_two.borrow()) {
        (Some(a), Some(b)) => (b - a) / (phase_two - started).as_secs_f64() * 100.0,
        _ => f64::NAN,
    };
    let mut lat = latencies.take();
    let (segments, bytes_served): (u64, u64) =
        served.iter().fold((0, 0), |(s, b), (n, x)| (s + n, b + x));
    let per_sec = segments as f64 / dur.as_secs_f64();
    let disk = read_from_disk(
        &target.disk,
        &ingests.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
        Duration::from_secs(2),
    );
    let mut t = times.take();
    let n = sizes.cameras;
    Ok(vec![
        Figure::new(
            "11",
            &format!("{n} cameras pushing: segment-to-playlist p99"),
            lat.quantile_ms(0.99),
            "ms",
        )
        .at_most(500.0),
        Figure::new("11", "  median", lat.quantile_ms(0.5), "ms").info(),
        Figure::new(
            "11",
            "  vinpath CPU per camera (2 s, 1 Mbit/s)",
            phase_one_cpu / n as f64,
            "% core",
        )
        .info(),
        Figure::new(
            "12",
            &format!("{} viewers: segments served per second", sizes.viewers),
            per_sec,
            "seg/s",
        )
        .info(),
        Figure::new(
            "12",
            "  the same segments read from disk (dd-style, one reader)",
            disk,
            "seg/s",
        )
        .info(),
        Figure::new("12", "  segment fetch p99", t.quantile_ms(0.99), "ms").info(),
        Figure::new(
            "12",
            "  bytes served per second",
            bytes_served as f64 / dur.as_secs_f64() / 1e6,
            "MB/s",
        )
        .info(),
    ])
}
