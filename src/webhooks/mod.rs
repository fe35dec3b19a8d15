//! Webhooks for the retailer's other systems (contract v2): Standard
//! Webhooks deliveries of order changes and alerts. The change and its
//! outbox entry are written by one Redis function; every instance's
//! worker turns outbox entries into deliveries (a consumer group, whose
//! entries a dead instance held are claimed by another) and sends those
//! due, one at a time per order and endpoint, retrying on the contract's
//! schedule.

pub mod event;
pub mod sign;
pub mod target;
mod worker;

use std::time::Duration;

pub use worker::{Worker, start};

/// The retry schedule after a failed attempt, in seconds (then `failed`).
pub const SCHEDULE_S: [u64; 9] = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400];

/// How webhooks are sent.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Multiplies the retry schedule (tests use e.g. 0.001).
    pub retry_scale: f64,
    /// Allow URLs on loopback or private addresses.
    pub allow_private: bool,
    /// How long a taken delivery or outbox entry is an instance's before
    /// another may take it (the instance may have died).
    pub lease: Duration,
    /// How often the worker looks for work.
    pub poll: Duration,
    /// How long finished deliveries (delivered or failed) stay listed.
    pub keep: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            retry_scale: 1.0,
            allow_private: false,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(250),
            keep: Duration::from_secs(7 * 86_400),
        }
    }
}

/// When attempt `n` (from 1) failed, how long until the next; `None`: no
/// more.
pub fn retry_after(attempts: u32, scale: f64) -> Option<Duration> {
    let s = SCHEDULE_S.get(usize::try_from(attempts).ok()?.checked_sub(1)?)?;
    Some(Duration::from_secs_f64(*s as f64 * scale.max(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contracts_schedule_then_failed() {
        assert_eq!(retry_after(1, 1.0), Some(Duration::from_secs(5)));
        assert_eq!(retry_after(2, 1.0), Some(Duration::from_secs(300)));
        assert_eq!(retry_after(9, 1.0), Some(Duration::from_secs(86_400)));
        assert_eq!(retry_after(10, 1.0), None);
        assert_eq!(retry_after(1, 0.001), Some(Duration::from_millis(5)));
    }
}
