//! Trackers that report straight to vinpath (contract v2, "Devices"):
//! JT/T 808 terminals over TCP (`jt808`) and Traccar Client over HTTP
//! (`osmand`, its listener in `http::osmand`). Their decoders are pure;
//! every fix then goes through the ingest core as a `gps` event of the
//! device's carrier, judged exactly like one posted over HTTP.

pub mod jt808;
pub mod osmand;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::domain::{Device, DeviceFix, DeviceId, Outcome, Protocol};
use crate::store::{Result, Store};

/// Settings of the device listeners.
#[derive(Debug, Clone)]
pub struct DeviceOptions {
    /// Traccar Client / OsmAnd HTTP listener; `None` is off.
    pub osmand_listen: Option<String>,
    /// JT/T 808 TCP listener; `None` is off.
    pub jt808_listen: Option<String>,
    /// The terminals' heartbeat interval: one silent for 3 is dropped
    /// (so is a connection that never authenticates).
    pub heartbeat: Duration,
    /// JT/T 808 connections held at once; more are closed at accept.
    pub max_connections: usize,
}

impl Default for DeviceOptions {
    fn default() -> Self {
        Self {
            osmand_listen: Some("127.0.0.1:5055".into()),
            jt808_listen: Some("127.0.0.1:5015".into()),
            heartbeat: Duration::from_secs(60),
            max_connections: 50_000,
        }
    }
}

/// What device listeners share: the store, the clock, and which devices
/// have their emergency alarm on (so a report with it off clears the
/// alert without a round trip for every other report).
#[derive(Clone)]
pub struct Devices {
    pub store: Store,
    pub clock: Clock,
    alarms: Arc<Mutex<HashSet<(Protocol, DeviceId)>>>,
}

impl Devices {
    pub fn new(store: Store, clock: Clock) -> Self {
        Self {
            store,
            clock,
            alarms: Arc::default(),
        }
    }

    /// The registered device of this protocol and id (`None`: unknown,
    /// counted as a fix from an unregistered device by the caller).
    pub async fn find(&self, protocol: Protocol, id: &DeviceId) -> Result<Option<Device>> {
        self.store.device(protocol, id).await
    }

    /// Records a device's fixes (a batch is judged in time order, like
    /// any late batch) and sounds or clears its emergency alarm by its
    /// newest report's; one outcome per fix.
    pub async fn record(
        &self,
        device: &Device,
        fixes: &[DeviceFix],
        alarm: Option<(bool, DateTime<Utc>)>,
    ) -> Result<Vec<Outcome>> {
        let now = self.clock.now();
        let events = fixes.iter().map(|f| device.event(f, now)).collect();
        let outcomes = if fixes.is_empty() {
            Vec::new()
        } else {
            crate::ingest::ingest(&self.store, &device.carrier_id, events, now).await?
        };
        for o in &outcomes {
            metrics::counter!(
                "vinpath_device_fixes_total",
                "protocol" => device.protocol.as_str(),
                "status" => o.status.as_str()
            )
            .increment(1);
        }
        if let Some((on, at)) = alarm {
            self.alarm(device, on, at).await?;
        }
        Ok(outcomes)
    }

    async fn alarm(&self, device: &Device, on: bool, at: DateTime<Utc>) -> Result<()> {
        let key = (device.protocol, device.device_id.clone());
        let was_on = self
            .alarms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key);
        if !on && !was_on {
            return Ok(());
        }
        let detail = serde_json::json!({
            "protocol": device.protocol.as_str(),
            "device_id": device.device_id,
        });
        self.store
            .sound_emergency(&device.carrier_id, &device.target, on, at, &detail)
            .await?;
        let mut alarms = self.alarms.lock().unwrap_or_else(|p| p.into_inner());
        if on {
            alarms.insert(key);
        } else {
            alarms.remove(&key);
        }
        Ok(())
    }

    /// Counts a report from a device no carrier registered.
    pub fn unregistered(protocol: Protocol) {
        metrics::counter!("vinpath_device_fixes_unregistered_total", "protocol" => protocol.as_str())
            .increment(1);
    }
}
