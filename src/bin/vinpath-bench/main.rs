//! `vinpath-bench`: the load generator `scripts/bench` runs against a
//! vinpath and its Redis. It drives the real HTTP API and websockets as
//! carriers, dispatchers and customers do, measures what they would feel,
//! and sets each figure beside a baseline taken on this machine in the
//! same run (plain HTTP, plain Redis, plain disk).

mod cameras;
mod devices;
mod fanout;
mod ingest;
mod memory;
mod page;
mod scale;
mod scenarios;
mod stats;
mod ticks;
mod trips;
mod webhooks;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use scenarios::{Sizes, Target};

#[derive(Parser)]
#[command(name = "vinpath-bench", version, about = "Measures a running vinpath")]
struct Args {
    /// vinpath's base URL.
    #[arg(long)]
    base: String,
    /// Its admin token.
    #[arg(long, env = "VINPATH_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// Its process id, for its memory.
    #[arg(long)]
    pid: u32,
    /// The port of its Redis, for the redis-benchmark baseline.
    #[arg(long)]
    redis_port: u16,
    /// The directory its clip store writes to, for the dd baseline.
    #[arg(long)]
    disk: PathBuf,
    /// A few seconds per figure instead of the full sizes.
    #[arg(long)]
    quick: bool,
    /// Where to write the figures as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Only these figures (1 to 15), comma-separated.
    #[arg(long, value_delimiter = ',')]
    only: Vec<u8>,
    /// The vinpath instances on a Redis Cluster (figures 8 and 10),
    /// comma-separated base URLs.
    #[arg(long, value_delimiter = ',')]
    cluster_bases: Vec<String>,
    /// The ports of that cluster's nodes (figure 10 kills one).
    #[arg(long, value_delimiter = ',')]
    cluster_ports: Vec<u16>,
    /// The vinpath binary, to run `vinpath sweep` (figure 9).
    #[arg(long)]
    vinpath_bin: Option<String>,
    /// Its JT/T 808 listener, host:port (figure 13).
    #[arg(long)]
    jt808: Option<String>,
    /// Its Traccar Client listener's URL (figure 13).
    #[arg(long)]
    osmand: Option<String>,
}

#[actix_web::main]
async fn main() -> ExitCode {
    let a = Args::parse();
    let target = Target {
        base: a.base,
        admin: a.admin_token,
        pid: a.pid,
        redis_port: a.redis_port,
        disk: a.disk,
        cluster: (!a.cluster_bases.is_empty()).then_some(scale::Cluster {
            bases: a.cluster_bases,
            node_ports: a.cluster_ports,
        }),
        vinpath_bin: a.vinpath_bin,
        jt808: a.jt808,
        osmand: a.osmand,
    };
    let sizes = if a.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let figures = match scenarios::run(&target, &sizes, &a.only).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("vinpath-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", stats::table(&figures));
    if let Some(path) = a.json {
        let json = serde_json::to_string_pretty(&figures).unwrap_or_default();
        if let Err(e) = std::fs::write(&path, json) {
            eprintln!("vinpath-bench: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
