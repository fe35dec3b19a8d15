//! Live updates: one Redis pub/sub subscription per instance fans changes
//! out to the websockets this instance holds (`/ws/track` and `/ws/fleet`),
//! with cursors and resume from each order's history stream.

pub mod fleet;
mod heartbeat;
pub mod hub;
pub mod limits;
pub mod messages;
pub mod track;

use std::time::Duration;

pub use hub::Hub;

/// Timing of live connections.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// How often the server pings each socket.
    pub ping_interval: Duration,
    /// A peer silent this long is dropped.
    pub peer_timeout: Duration,
    /// How often the fleet socket's position frame goes out (at most).
    pub fleet_frame: Duration,
    /// How often each instance sends a beat down the live channel: a
    /// subscription that hears nothing for three beats is dead (a half-open
    /// connection says nothing), and is made again.
    pub beat_every: Duration,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(10),
            peer_timeout: Duration::from_secs(45),
            fleet_frame: Duration::from_millis(500),
            beat_every: Duration::from_secs(5),
        }
    }
}
