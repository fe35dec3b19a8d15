//! The demo's live camera: the first truck's deck camera, registered as
//! its carrier would, streaming a test pattern with ffmpeg the way a
//! camera's encoder pushes HLS, for as long as the demo runs.

use serde_json::json;
use tokio::process::{Child, Command};

use vinpath::client::Api;

/// Registers the camera and starts ffmpeg pushing to it; `None` (and a
/// word why) when ffmpeg is not there or the camera cannot be registered.
pub async fn start(api: &Api, key: &str, truck: &str, run: i64) -> Option<Child> {
    let camera = format!("deck-{}", truck.to_lowercase());
    let (status, v) = api
        .post(
            "/api/v1/cameras",
            key,
            &json!({"camera_id": camera, "truck_id": truck}),
        )
        .await
        .ok()?;
    let Some(ingest) = v["ingest_url"].as_str().filter(|_| status == 201) else {
        eprintln!("camera {camera} of run {run}: {status} {v}");
        return None;
    };
    let label = format!(
        "drawtext=text='{truck} deck camera %{{localtime}}':fontcolor=white:fontsize=18:x=10:y=10:box=1:boxcolor=black@0.5"
    );
    let child = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=15",
            "-vf",
            &label,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-g",
            "30",
            "-pix_fmt",
            "yuv420p",
            "-b:v",
            "600k",
            "-f",
            "hls",
            "-hls_time",
            "2",
            "-hls_list_size",
            "5",
            "-method",
            "PUT",
            ingest,
        ])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    match child {
        Ok(c) => {
            println!("camera {camera}: streaming live from truck {truck}");
            Some(c)
        }
        Err(e) => {
            eprintln!("camera {camera}: ffmpeg could not start ({e}); no live video");
            None
        }
    }
}
