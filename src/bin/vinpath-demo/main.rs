//! `vinpath-demo`: drives a running vinpath with a demo fleet, as carriers
//! would (scripts/demo runs it).

mod camera;
mod custody;
mod devices;
mod fleet;
mod plan;

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "vinpath-demo",
    version,
    about = "Drives a running vinpath with a demo fleet"
)]
struct Args {
    /// vinpath's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    /// Its admin token.
    #[arg(long, env = "VINPATH_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// The demo carrier's API key; unset: the carrier is created.
    #[arg(long)]
    carrier_key: Option<String>,
    /// The demo carrier's id.
    #[arg(long, default_value = "sf-auto")]
    carrier: String,
    /// Simulated seconds per real second (until the simulated clock
    /// reaches now; real time after).
    #[arg(long, default_value_t = 40.0)]
    speed: f64,
    /// vinpath's JT/T 808 listener (one truck reports through a
    /// terminal), or `off`.
    #[arg(long, default_value = "127.0.0.1:5015")]
    jt808: String,
    /// vinpath's Traccar Client listener (one truck's driver reports
    /// from the app), or `off`.
    #[arg(long, default_value = "http://127.0.0.1:5055")]
    osmand: String,
}

fn on(s: String) -> Option<String> {
    (s != "off").then_some(s)
}

#[actix_web::main]
async fn main() -> ExitCode {
    let a = Args::parse();
    let sim = fleet::Simulation {
        base: a.base,
        admin: a.admin_token,
        carrier_key: a.carrier_key,
        carrier: a.carrier,
        speed: a.speed,
        jt808: on(a.jt808),
        osmand: on(a.osmand),
    };
    match fleet::run(sim).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vinpath-demo: {e}");
            ExitCode::FAILURE
        }
    }
}
