//! The `vinpath` command line: the server, and the clip sweep.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vinpath::app::{Application, Settings};
use vinpath::config::ServeArgs;

// Ingest allocates and frees many buffers of all sizes per request; glibc
// spent about a third of vinpath's time on them (perf, scripts/bench
// figure 2), jemalloc much less, at the same memory per idle socket.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "vinpath",
    version,
    about = "Tracks new cars from the plant to the customer's door"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the websockets and the pages.
    Serve(ServeArgs),
    /// Delete clips kept past their retention, archive orders that ended
    /// long enough ago, once, and exit.
    Sweep(ServeArgs),
}

#[actix_web::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VINPATH_LOG")
                .unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .init();
    let result = match Cli::parse().command {
        Command::Serve(a) => serve(a.into()).await,
        Command::Sweep(a) => vinpath::app::sweep_once(&a.into())
            .await
            .map(|n| println!("vinpath: deleted {n} expired clips"))
            .map_err(|e| vinpath::http::chain(&e)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vinpath: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    let app = Application::build(settings)
        .await
        .map_err(|e| vinpath::http::chain(&e))?;
    stop_on_signals(app.handle()).map_err(|e| format!("cannot handle signals: {e}"))?;
    if let Some(token) = &app.new_admin_token {
        println!("vinpath: admin token (shown once, keep it safe): {token}");
    }
    if let Some(p) = app.jt808_port() {
        println!("vinpath: JT/T 808 terminals report on port {p}");
    }
    if let Some(p) = app.osmand_port() {
        println!("vinpath: Traccar Client reports on port {p}");
    }
    println!("vinpath: listening on port {}", app.port());
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

/// Stops the server gracefully on SIGTERM or Ctrl-C. The handlers are in
/// place when this returns, before vinpath says it is listening.
fn stop_on_signals(handle: actix_web::dev::ServerHandle) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    actix_web::rt::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("stopping");
        handle.stop(true).await;
    });
    Ok(())
}
