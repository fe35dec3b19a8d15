//! Background jobs of `vinpath serve`: the clip retention sweep (with the
//! archive of ended orders and the move of old history out of Redis), the watch
//! for trackers gone quiet, and the repair of follow-ups a failure left
//! undone. Each runs on its own schedule until shut down, and can be run
//! now through the [`Jobs`] handle (tests step them instead of sleeping).
//! Safe on several instances at once: every step is idempotent.

mod archive;
mod audit;
mod no_signal;
mod spill;
mod sweep;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use archive::archive_due;
pub use audit::{archive_audit, audit_page};

/// How often `last_used_at` of credentials is written.
const USED_EVERY: Duration = Duration::from_secs(30);
pub use spill::{read_part, spill_long_histories, spilled_entries};
pub use sweep::{sweep_clips, sweep_live};

use crate::clock::Clock;
use crate::media::ClipStore;
use crate::store::{Store, StoreError};

/// How often each job runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub sweep_every: Duration,
    pub signal_every: Duration,
    pub repair_every: Duration,
}

/// A handle to the background jobs; cloning it is cheap.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    clips: ClipStore,
    clock: Clock,
    keep: Keeping,
    schedule: Schedule,
}

/// How long vinpath keeps what ended: clips after their orders end, and
/// orders in Redis before the archive takes them.
#[derive(Debug, Clone, Copy)]
pub struct Keeping {
    pub clips: chrono::Duration,
    pub archive_after: chrono::Duration,
    /// Finished webhook deliveries.
    pub deliveries: chrono::Duration,
}

/// The running jobs; dropping it does not stop them, `shutdown` does.
pub struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops every job after the step it is in, and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

impl Jobs {
    pub fn new(
        store: Store,
        clips: ClipStore,
        clock: Clock,
        keep: Keeping,
        schedule: Schedule,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clips,
                clock,
                keep,
                schedule,
            }),
        }
    }

    /// Deletes clips past their retention and objects of uploads that
    /// died before they were recorded, and archives orders that ended long
    /// enough ago, now; returns how many things it did.
    pub async fn sweep_now(&self) -> Result<usize, StoreError> {
        let i = &self.inner;
        let now = i.clock.now();
        let expired = sweep_clips(&i.store, &i.clips, now, i.keep.clips).await?;
        let live = sweep::sweep_live(&i.clips, now, i.keep.clips).await?;
        let unfinished = sweep::sweep_unfinished(&i.store, &i.clips, now).await?;
        let archived = archive_due(&i.store, &i.clips, now, i.keep.archive_after).await?;
        let spilled = spill_long_histories(&i.store, &i.clips).await?;
        let audit = archive_audit(&i.store, &i.clips).await?;
        let deliveries = i.store.forget_deliveries(now - i.keep.deliveries).await?;
        Ok(expired + live + unfinished + archived + spilled + audit + deliveries)
    }

    /// Raises `no_signal` for trackers gone quiet now; returns how many.
    pub async fn check_no_signal_now(&self) -> Result<usize, StoreError> {
        let i = &self.inner;
        let quiet = i.store.options().geo.no_signal;
        no_signal::check(&i.store, i.clock.now(), quiet).await
    }

    /// Completes follow-ups left undone for a while; returns for how many
    /// orders.
    pub async fn repair_now(&self) -> Result<usize, StoreError> {
        let i = &self.inner;
        crate::ingest::followup::repair_due(&i.store, i.clock.now()).await
    }

    /// Ends camera broadcasts gone silent, telling their cars; returns
    /// how many.
    pub async fn quiet_cameras_now(&self) -> Result<usize, StoreError> {
        let i = &self.inner;
        let now = i.clock.now();
        let ended = i.store.quiet_cameras(now).await?;
        for (camera, broadcast) in &ended {
            crate::recording::record(&i.store, &i.clips, camera, broadcast, now).await?;
        }
        Ok(ended.len())
    }

    /// Writes when credentials were last used, as noted since the last
    /// time; returns how many.
    pub async fn flush_used_now(&self) -> Result<usize, StoreError> {
        self.inner.store.flush_last_used().await
    }

    /// Starts every job on its schedule.
    pub fn start(&self) -> Running {
        let (stop, rx) = watch::channel(false);
        let s = &self.inner.schedule;
        let tasks = vec![
            self.every(
                "clip retention sweep",
                s.sweep_every,
                rx.clone(),
                |j| async move { j.sweep_now().await },
            ),
            self.every(
                "no-signal watch",
                s.signal_every,
                rx.clone(),
                |j| async move { j.check_no_signal_now().await },
            ),
            self.every(
                "follow-up repair",
                s.repair_every,
                rx.clone(),
                |j| async move { j.repair_now().await },
            ),
            // A camera off air is told within a second or two of its
            // 3 target durations.
            self.every(
                "camera watch",
                Duration::from_secs(1),
                rx.clone(),
                |j| async move { j.quiet_cameras_now().await },
            ),
            // Not a write per request: when each credential was last used,
            // twice a minute.
            self.every("credential use", USED_EVERY, rx, |j| async move {
                j.flush_used_now().await.map(|_| 0)
            }),
        ];
        Running { stop, tasks }
    }

    fn every<F, Fut>(
        &self,
        name: &'static str,
        period: Duration,
        mut stop: watch::Receiver<bool>,
        step: F,
    ) -> JoinHandle<()>
    where
        F: Fn(Jobs) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<usize, StoreError>> + Send,
    {
        let jobs = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => return,
                }
                match step(jobs.clone()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(job = name, n, "background job did work"),
                    Err(e) => {
                        tracing::warn!(job = name, error = %e, "background job failed; will retry")
                    }
                }
            }
        })
    }
}
