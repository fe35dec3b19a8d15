//! `/metrics`: Prometheus text of the process's metrics, with vinpath's own
//! count of Redis round trips.

use std::sync::OnceLock;

use actix_web::{HttpResponse, web};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use super::AppState;
use crate::store::Source;

/// The process's one recorder. Tests build several apps in one process;
/// they share it.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            // Another recorder is installed (an embedding program's): keep
            // ours local; the round-trip count below still renders.
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
    })
}

/// Installs the recorder, so metrics count from the start.
pub fn install() {
    handle();
}

pub async fn render(state: web::Data<AppState>) -> HttpResponse {
    let mut text = handle().render();
    text.push_str(
        "# HELP vinpath_redis_round_trips_total Redis round trips this instance made, for requests and for background jobs.\n\
         # TYPE vinpath_redis_round_trips_total counter\n",
    );
    for (label, source) in [("requests", Source::Requests), ("jobs", Source::Jobs)] {
        text.push_str(&format!(
            "vinpath_redis_round_trips_total{{source=\"{label}\"}} {}\n",
            state.store.round_trips(source)
        ));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}
