//! Background jobs: the clip retention sweep, run by `vinpath sweep` and
//! periodically by `vinpath serve`. Safe to run on several instances at
//! once: every step is idempotent.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::media::ClipStore;
use crate::store::{Store, StoreError};

/// Deletes clips kept longer than `retention` after their orders finished:
/// the object first, then its metadata, so nothing points at a missing
/// clip for longer than one sweep. Returns how many were deleted.
pub async fn sweep_clips(
    store: &Store,
    clips: &ClipStore,
    now: DateTime<Utc>,
    retention: chrono::Duration,
) -> Result<usize, StoreError> {
    let mut deleted = 0;
    loop {
        let expired = store.expired_clips(now, retention, 100).await?;
        if expired.is_empty() {
            return Ok(deleted);
        }
        let mut progressed = false;
        for meta in expired {
            match clips.delete(&meta.key).await {
                Ok(()) => {
                    store.forget_clip(&meta).await?;
                    deleted += 1;
                    progressed = true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, clip = meta.clip_id, "could not delete an expired clip; will retry")
                }
            }
        }
        if !progressed {
            return Ok(deleted);
        }
    }
}

/// Runs the sweep every `every` until the task is dropped.
pub async fn sweep_forever(
    store: Store,
    clips: ClipStore,
    clock: crate::clock::Clock,
    retention: chrono::Duration,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match sweep_clips(&store, &clips, clock.now(), retention).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "clip retention sweep"),
            Err(e) => tracing::warn!(error = %e, "clip retention sweep failed; will retry"),
        }
    }
}

/// Raises `no_signal` for quiet trackers every `every`, until dropped.
pub async fn watch_signal_forever(store: Store, clock: crate::clock::Clock, every: Duration) {
    let quiet = store.options().geo.no_signal;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = store.check_no_signal(clock.now(), quiet).await {
            tracing::debug!(error = %e, "no-signal check failed; will retry");
        }
    }
}
