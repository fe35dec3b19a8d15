//! The demo as a newcomer meets it: `vinpath-demo` against a real vinpath,
//! and every customer link it prints is a car on its way within moments.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// The demo fleet, its process group killed when dropped (its camera's
/// ffmpeg with it).
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let group = self.0.id() as i32;
        // SAFETY: a signal to the process group this test started.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

#[actix_web::test]
async fn every_printed_link_shows_a_car_on_its_way() {
    let redis = TestRedis::start();
    let app = TestApp::spawn(&redis).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vinpath-demo"))
        .args(["--base", &app.base, "--jt808", "off", "--osmand", "off"])
        .env("VINPATH_ADMIN_TOKEN", &app.admin)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("vinpath-demo runs");
    let out = child.stdout.take().unwrap();
    let _demo = Demo(child);
    // The links, as printed.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some((_, url)) = line.split_once("customer ")
                && let Some((_, url)) = url.split_once(": ")
            {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let mut links = Vec::new();
    while links.len() < 20 {
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the demo prints its customers' links");
        links.push(url);
    }
    let tokens: Vec<String> = links
        .iter()
        .map(|u| u.rsplit_once("/t/").expect("a tracking link").1.to_owned())
        .collect();
    // Every car loaded and moving within a minute or two of the start
    // (the simulated clock runs 40 times real speed; trucks leaving one
    // after another took over six minutes).
    let view = |t: String| {
        let app = &app;
        async move {
            app.call("GET", &format!("/api/v1/track/{t}"), None, None)
                .await
                .body
        }
    };
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut first = Vec::new();
    for t in &tokens {
        loop {
            let v = view(t.clone()).await;
            let moving = ["in_transit", "loaded"].contains(&v["milestone"].as_str().unwrap_or(""));
            if moving && v["position"]["lat"].is_number() {
                first.push(v["position"].clone());
                break;
            }
            assert!(Instant::now() < deadline, "{t} is not on its way: {v}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    // And each moves on.
    for (t, before) in tokens.iter().zip(&first) {
        loop {
            let v = view(t.clone()).await;
            if v["position"] != *before {
                break;
            }
            assert!(Instant::now() < deadline, "{t} stands still at {before}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
