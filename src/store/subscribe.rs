//! The live channels from the listening side: a subscription to every
//! partition's channel (classic pub/sub on one Redis, sharded pub/sub on a
//! cluster, where each channel is served by its slot's node and the
//! subscription follows slot moves and failovers), and the beats every
//! instance sends down each of them so a silent subscription is noticed.

use std::time::Duration;

use redis::{PushInfo, PushKind, Value};
use tokio::sync::mpsc;

use super::conn::{Backend, Topology};
use super::live_wire::BEAT;
use super::{Result, Store, keys};

/// What a live subscription hears.
#[derive(Debug)]
pub enum Heard {
    /// A message on the channel of this partition.
    Message { partition: u16, payload: Vec<u8> },
    /// The subscription was made again (a reconnect, a failover): messages
    /// may have been missed.
    Resubscribed,
    /// The connection under it was lost.
    Lost,
}

/// An open subscription to every partition's live channel.
pub struct LiveSubscription {
    rx: mpsc::UnboundedReceiver<PushInfo>,
    /// Held so the connection stays open.
    _conn: Box<dyn std::any::Any + Send>,
    /// Subscription confirmations still expected from the first subscribe;
    /// any beyond are resubscriptions.
    confirmations: usize,
}

impl LiveSubscription {
    /// The next thing heard; `None` when the connection is gone for good.
    pub async fn next(&mut self) -> Option<Heard> {
        loop {
            let push = self.rx.recv().await?;
            match push.kind {
                PushKind::Message | PushKind::SMessage => {
                    let mut data = push.data.into_iter();
                    let (Some(channel), Some(Value::BulkString(payload))) =
                        (data.next(), data.next())
                    else {
                        continue;
                    };
                    let Some(partition) = channel_partition(&channel) else {
                        continue;
                    };
                    return Some(Heard::Message { partition, payload });
                }
                PushKind::Subscribe | PushKind::SSubscribe => {
                    if self.confirmations > 0 {
                        self.confirmations -= 1;
                    } else {
                        return Some(Heard::Resubscribed);
                    }
                }
                PushKind::Disconnection => return Some(Heard::Lost),
                _ => {}
            }
        }
    }
}

/// The partition of a live channel's name (`vp:{pN}:live`).
fn channel_partition(channel: &Value) -> Option<u16> {
    let Value::BulkString(name) = channel else {
        return None;
    };
    let name = std::str::from_utf8(name).ok()?;
    let n = name.strip_prefix("vp:{p")?.strip_suffix("}:live")?;
    n.parse().ok().filter(|p| *p < keys::PARTITIONS)
}

impl Store {
    /// Subscribes to every partition's live channel, within `patience`.
    pub async fn subscribe_live(&self, patience: Duration) -> Result<LiveSubscription> {
        let (tx, rx) = mpsc::unbounded_channel();
        let channels: Vec<String> = keys::partitions().map(keys::live).collect();
        let subscribe = async {
            let backend = self.backend().await?;
            let seeds = &self.inner.seeds;
            Ok::<Box<dyn std::any::Any + Send>, super::StoreError>(match backend {
                Backend::Single(url, _) => {
                    let client = seeds.resp3_client(url)?;
                    let config = redis::AsyncConnectionConfig::new()
                        .set_push_sender(tx)
                        .set_connection_timeout(Some(patience))
                        .set_response_timeout(Some(patience));
                    let mut c = client
                        .get_multiplexed_async_connection_with_config(&config)
                        .await?;
                    c.subscribe(&channels).await?;
                    Box::new(c)
                }
                Backend::Cluster(_) => {
                    let client = seeds.cluster(Some(tx))?;
                    let mut c = client.get_async_connection().await?;
                    // One at a time: a shard channel's subscription goes to
                    // its slot's node.
                    for channel in &channels {
                        c.ssubscribe(channel).await?;
                    }
                    Box::new(c)
                }
            })
        };
        let held = tokio::time::timeout(patience, subscribe)
            .await
            .map_err(|_| {
                super::StoreError::Unavailable(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "live channel subscribe timed out",
                )))
            })??;
        Ok(LiveSubscription {
            rx,
            _conn: held,
            confirmations: channels.len(),
        })
    }

    /// Sends a beat down every partition's live channel.
    pub async fn beat(&self) -> Result<()> {
        let publish = match self.backend().await?.topology() {
            Topology::Single => "PUBLISH",
            Topology::Cluster => "SPUBLISH",
        };
        let mut pipe = redis::pipe();
        for p in keys::partitions() {
            pipe.cmd(publish).arg(keys::live(p)).arg(BEAT).ignore();
        }
        let () = self.query(&pipe).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_name_their_partition() {
        let name = Value::BulkString(keys::live(17).into_bytes());
        assert_eq!(channel_partition(&name), Some(17));
        let other = Value::BulkString(b"vp:{p99}:live".to_vec());
        assert_eq!(channel_partition(&other), None);
    }
}
