//! Figures 5 and 6: memory per idle customer socket, and a large clip
//! streamed to the file store.

use std::time::{Duration, Instant};

use actix_web::web::Bytes;

use vinpath::client::{Api, Socket, next_json};

use crate::scenarios::Sizes;
use crate::stats::{Figure, rss_kib};

pub async fn idle_sockets(
    api: &Api,
    tokens: &[String],
    pid: u32,
    sizes: &Sizes,
) -> Result<Vec<Figure>, String> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(pid).ok_or("cannot read vinpath's memory")?;
    let n = sizes.idle.min(tokens.len());
    let mut open: Vec<Socket> = Vec::with_capacity(n);
    for t in &tokens[..n] {
        let mut conn = api.ws(&format!("/ws/track/{t}")).await?;
        next_json(&mut conn).await.ok_or("no snapshot")?;
        open.push(conn);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid).ok_or("cannot read vinpath's memory")?;
    drop(open);
    // RSS that shrank says nothing about the sockets (too few of them to
    // outweigh what the allocator gave back): no figure, not a zero.
    let per = match after.checked_sub(before) {
        Some(grown) => grown as f64 / n as f64,
        None => f64::NAN,
    };
    Ok(vec![
        Figure::new(
            "5",
            &format!("{n} idle customer websockets: memory per connection"),
            per,
            "KiB",
        )
        .at_most(10.0),
        Figure::new(
            "5",
            "  vinpath RSS before them",
            before as f64 / 1024.0,
            "MiB",
        )
        .info(),
        Figure::new("5", "  vinpath RSS with them", after as f64 / 1024.0, "MiB").info(),
    ])
}

/// MB/s of `dd` writing the same amount to the same disk, synced before it
/// ends as vinpath syncs a clip before acknowledging it: the median of
/// three runs.
fn dd_baseline(dir: &std::path::Path, mib: usize) -> Result<f64, String> {
    let mut runs = [dd_once(dir, mib)?, dd_once(dir, mib)?, dd_once(dir, mib)?];
    runs.sort_by(f64::total_cmp);
    Ok(runs[1])
}

fn dd_once(dir: &std::path::Path, mib: usize) -> Result<f64, String> {
    let file = dir.join("bench-dd.bin");
    let start = Instant::now();
    let out = std::process::Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", file.display()))
        .args(["bs=1M", &format!("count={mib}"), "conv=fdatasync"])
        .output()
        .map_err(|e| format!("dd: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&file);
    if !out.status.success() {
        return Err(format!(
            "dd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(mib as f64 * 1.048576 / secs)
}

pub async fn upload(
    api: &Api,
    key: &str,
    pid: u32,
    dir: &std::path::Path,
    sizes: &Sizes,
) -> Result<Vec<Figure>, String> {
    api.orders("U", "bench", 1).await?;
    let mib = sizes.upload_mib;
    let baseline = dd_baseline(dir, mib)?;
    let before = rss_kib(pid).ok_or("cannot read vinpath's memory")?;
    // An MP4 header, then zeros, streamed in 256 KiB chunks: never held whole.
    let mut head = vec![0u8, 0, 0, 0x18];
    head.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2avc1mp41");
    let chunk = Bytes::from(vec![0u8; 256 * 1024]);
    let chunks = mib * 4;
    let body = futures_util::stream::iter((0..chunks).map(move |i| {
        Ok::<_, std::io::Error>(if i == 0 {
            let mut first = head.clone();
            first.resize(256 * 1024, 0);
            Bytes::from(first)
        } else {
            chunk.clone()
        })
    }));
    let peak = std::rc::Rc::new(std::cell::Cell::new(before));
    let sampler = {
        let peak = peak.clone();
        actix_web::rt::spawn(async move {
            loop {
                if let Some(r) = rss_kib(pid) {
                    peak.set(peak.get().max(r));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let start = Instant::now();
    let res = api
        .client
        .post(format!(
            "{}/api/v1/orders/U-0/clips?kind=transport&captured_at=2026-11-24T00:00:00Z",
            api.base
        ))
        .insert_header(("Authorization", format!("Bearer {key}")))
        .insert_header(("Content-Type", "video/mp4"))
        .timeout(Duration::from_secs(600))
        .send_stream(body)
        .await
        .map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    sampler.abort();
    if res.status().as_u16() != 201 {
        return Err(format!("upload answered {}", res.status()));
    }
    let rate = mib as f64 * 1.048576 / secs;
    let growth = peak.get().saturating_sub(before) as f64 / 1024.0;
    Ok(vec![
        Figure::new(
            "6",
            &format!("{mib} MiB clip upload to the file store"),
            rate,
            "MB/s",
        )
        .against(baseline, 0.5),
        Figure::new("6", "  peak RSS growth", growth, "MiB").at_most(64.0),
    ])
}
