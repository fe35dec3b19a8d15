//! `vinpath-device`: replays a track as a tracker would report it, as a
//! JT/T 808 terminal over TCP or as Traccar Client over HTTP. The device
//! must be registered with vinpath first (`POST /api/v1/devices`).

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use clap::{Parser, ValueEnum};

use vinpath::client::devices::{Terminal, location, traccar_report};
use vinpath::geo::speed::{TrackPoint, distance_m};

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    /// A JT/T 808 terminal (registers, authenticates, reports 0x0200).
    Jt808,
    /// Traccar Client (HTTP, the OsmAnd protocol).
    Osmand,
}

#[derive(Parser)]
#[command(
    name = "vinpath-device",
    version,
    about = "Replays a track as a JT/T 808 terminal or Traccar Client"
)]
struct Args {
    #[arg(long, value_enum)]
    protocol: Kind,
    /// jt808: the listener's host:port; osmand: its URL.
    #[arg(long)]
    server: String,
    /// The terminal's phone number (jt808) or the app's device identifier.
    #[arg(long)]
    device_id: String,
    /// A track to follow: a file of `lat,lon` lines.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    track: Option<std::path::PathBuf>,
    /// Start of a straight track, `lat,lon`.
    #[arg(long, default_value = "23.03,113.47")]
    from: String,
    /// End of a straight track, `lat,lon`.
    #[arg(long, default_value = "23.35,113.60")]
    to: String,
    /// Seconds between reports.
    #[arg(long, default_value_t = 5.0)]
    every: f64,
    /// Speed along the track, km/h.
    #[arg(long, default_value_t = 80.0)]
    speed_kmh: f64,
    /// JT/T 808 edition: 2013 or 2019.
    #[arg(long, default_value_t = 2013)]
    edition: u16,
}

fn point(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s
        .split_once(',')
        .ok_or_else(|| format!("{s:?} is not lat,lon"))?;
    let n = |v: &str| v.trim().parse::<f64>().map_err(|e| format!("{v:?}: {e}"));
    Ok((n(a)?, n(b)?))
}

fn track(a: &Args) -> Result<Vec<(f64, f64)>, String> {
    match &a.track {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(point)
            .collect(),
        None => Ok(vec![point(&a.from)?, point(&a.to)?]),
    }
}

/// Where the device is `m` metres along the track; `None` past its end.
fn along(track: &[(f64, f64)], mut m: f64) -> Option<(f64, f64)> {
    let p = |(lat, lon): (f64, f64)| TrackPoint { at_ms: 0, lat, lon };
    for w in track.windows(2) {
        let d = distance_m(&p(w[0]), &p(w[1]));
        if m <= d {
            let f = if d > 0.0 { m / d } else { 0.0 };
            return Some((
                w[0].0 + (w[1].0 - w[0].0) * f,
                w[0].1 + (w[1].1 - w[0].1) * f,
            ));
        }
        m -= d;
    }
    None
}

async fn run(a: Args) -> Result<(), String> {
    let track = track(&a)?;
    if track.len() < 2 {
        return Err("a track needs two points at least".into());
    }
    let every = Duration::from_secs_f64(a.every.max(0.1));
    let step_m = a.speed_kmh / 3.6 * every.as_secs_f64();
    let mut terminal = match a.protocol {
        Kind::Jt808 => {
            let version = (a.edition >= 2019).then_some(1);
            let mut t = Terminal::connect(&a.server, &a.device_id, version)
                .await
                .map_err(|e| format!("{}: {e}", a.server))?;
            let code = t.register().await.map_err(|r| {
                format!("registration refused (result {r}): register the device with vinpath first")
            })?;
            match t.authenticate(&code).await? {
                0 => Some(t),
                r => return Err(format!("authentication refused (result {r})")),
            }
        }
        Kind::Osmand => None,
    };
    let http = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    let mut n = 0u64;
    while let Some((lat, lon)) = along(&track, step_m * n as f64) {
        let at = Utc::now();
        let outcome = match terminal.as_mut() {
            Some(t) => t
                .report(&location(at, lat, lon, a.speed_kmh))
                .await
                .map(|r| format!("result {r}")),
            None => traccar_report(&http, &a.server, &a.device_id, at, lat, lon, a.speed_kmh)
                .await
                .map(|s| format!("HTTP {s}")),
        }?;
        println!("{} {lat:.5},{lon:.5} {outcome}", at.format("%H:%M:%S"));
        n += 1;
        tokio::time::sleep(every).await;
    }
    println!("end of the track after {n} reports");
    Ok(())
}

#[actix_web::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vinpath-device: {e}");
            ExitCode::FAILURE
        }
    }
}
