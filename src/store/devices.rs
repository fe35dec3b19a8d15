//! The device registry (contract v2, "Devices"): which carrier holds each
//! tracker and what it locates, and the authentication codes vinpath gave
//! JT/T 808 terminals, kept in Redis so any instance accepts them.
//!
//! Every instance reads devices through its own cache (a fix is never a
//! registry round trip); a change is told on the live channels so every
//! instance forgets its copy at once.

use super::conn::Topology;
use super::{Result, Store, StoreError, keys, live_wire};
use crate::domain::{CarrierId, Device, DeviceId, Protocol};

/// How a registration went.
#[derive(Debug, Clone, PartialEq)]
pub enum Registration {
    /// Registered now, or changed (its target) for the same carrier.
    Done(Device),
    /// Another carrier holds the device.
    HeldByAnother,
}

fn field(protocol: Protocol, id: &DeviceId) -> String {
    format!("{}:{id}", protocol.as_str())
}

fn parse(raw: &str) -> Result<Device> {
    let v: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| StoreError::Corrupt(format!("device {raw:?}: {e}")))?;
    Device::from_json(&v).map_err(|e| StoreError::Corrupt(format!("device {raw:?}: {e}")))
}

impl Store {
    /// Registers a device for its carrier; registering it again changes
    /// what it locates.
    pub async fn register_device(&self, device: &Device) -> Result<Registration> {
        let key = field(device.protocol, &device.device_id);
        let json = device.to_json().to_string();
        let mut pipe = redis::pipe();
        pipe.cmd("HSETNX").arg(keys::DEVICES).arg(&key).arg(&json);
        pipe.cmd("HGET").arg(keys::DEVICES).arg(&key);
        let (_, held): (i64, Option<String>) = self.query(&pipe).await?;
        let held = held.as_deref().map(parse).transpose()?;
        match held {
            Some(h) if h.carrier_id != device.carrier_id => return Ok(Registration::HeldByAnother),
            Some(h) if h == *device => {}
            _ => {
                let mut pipe = redis::pipe();
                pipe.cmd("HSET")
                    .arg(keys::DEVICES)
                    .arg(&key)
                    .arg(&json)
                    .ignore();
                let () = self.query(&pipe).await?;
            }
        }
        self.device_changed(&key).await?;
        Ok(Registration::Done(device.clone()))
    }

    /// Every device, or one carrier's, ordered by protocol and id.
    pub async fn devices(&self, carrier: Option<&CarrierId>) -> Result<Vec<Device>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HVALS").arg(keys::DEVICES);
        let (raw,): (Vec<String>,) = self.query(&pipe).await?;
        let mut all = raw.iter().map(|r| parse(r)).collect::<Result<Vec<_>>>()?;
        all.retain(|d| carrier.is_none_or(|c| *c == d.carrier_id));
        all.sort_by(|a, b| {
            (a.protocol.as_str(), &a.device_id).cmp(&(b.protocol.as_str(), &b.device_id))
        });
        Ok(all)
    }

    /// Removes a device (only its own carrier's, when `carrier` is given)
    /// and its authentication code; false if there was none.
    pub async fn delete_device(
        &self,
        protocol: Protocol,
        id: &DeviceId,
        carrier: Option<&CarrierId>,
    ) -> Result<bool> {
        let key = field(protocol, id);
        let Some(held) = self.device_uncached(&key).await? else {
            return Ok(false);
        };
        if carrier.is_some_and(|c| *c != held.carrier_id) {
            return Ok(false);
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("HDEL").arg(keys::DEVICES).arg(&key).ignore();
        pipe.cmd("HDEL").arg(keys::DEVICE_CODES).arg(&key).ignore();
        let () = self.query(&pipe).await?;
        self.device_changed(&key).await?;
        Ok(true)
    }

    async fn device_uncached(&self, key: &str) -> Result<Option<Device>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGET").arg(keys::DEVICES).arg(key);
        let (raw,): (Option<String>,) = self.query(&pipe).await?;
        raw.as_deref().map(parse).transpose()
    }

    /// A device as this instance knows it (`None`: not registered).
    pub async fn device(&self, protocol: Protocol, id: &DeviceId) -> Result<Option<Device>> {
        let key = field(protocol, id);
        if let Some(d) = self.inner.devices.get(&key) {
            return Ok(d);
        }
        let d = self.device_uncached(&key).await?;
        self.inner.devices.insert(key, d.clone());
        Ok(d)
    }

    /// Forgets this instance's copy of a device (`protocol:device_id`).
    pub fn forget_device(&self, key: &str) {
        self.inner.devices.invalidate(&key.to_owned());
    }

    /// Forgets every cached device (a change may have been missed).
    pub fn forget_devices(&self) {
        self.inner.devices.invalidate_all();
    }

    /// Tells every instance (this one included) to forget a device.
    async fn device_changed(&self, key: &str) -> Result<()> {
        self.forget_device(key);
        let message = serde_json::json!({"v": live_wire::VERSION, "kind": "device", "key": key});
        self.tell(&keys::live_of(key), &message.to_string()).await
    }

    /// Publishes a message on a live channel (sharded on a cluster).
    pub(super) async fn tell(&self, channel: &str, message: &str) -> Result<()> {
        let publish = match self.topology().await? {
            Topology::Single => "PUBLISH",
            Topology::Cluster => "SPUBLISH",
        };
        let mut pipe = redis::pipe();
        pipe.cmd(publish).arg(channel).arg(message).ignore();
        self.query(&pipe).await
    }

    /// Keeps the authentication code given to a JT/T 808 terminal.
    pub async fn set_device_code(&self, id: &DeviceId, code: &str) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("HSET")
            .arg(keys::DEVICE_CODES)
            .arg(field(Protocol::Jt808, id))
            .arg(code)
            .ignore();
        self.query(&pipe).await
    }

    /// The authentication code a JT/T 808 terminal was given, if any.
    pub async fn device_code(&self, id: &DeviceId) -> Result<Option<String>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGET")
            .arg(keys::DEVICE_CODES)
            .arg(field(Protocol::Jt808, id));
        let (code,): (Option<String>,) = self.query(&pipe).await?;
        Ok(code)
    }

    /// Forgets a terminal's code (it logged out: it registers again).
    pub async fn clear_device_code(&self, id: &DeviceId) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("HDEL")
            .arg(keys::DEVICE_CODES)
            .arg(field(Protocol::Jt808, id))
            .ignore();
        self.query(&pipe).await
    }
}
