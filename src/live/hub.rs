//! The instance's one subscription to the live channel, and the local
//! fan-out of what it hears: per order for `/ws/track`, to all for the fleet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::broadcast;

use tokio::time::Instant;

use crate::store::LIVE_CHANNEL;
use crate::store::live_wire::BEAT;
pub use crate::store::live_wire::{AlertChange, LiveMessage, OrderChange, TruckMove};

/// What a local subscriber receives.
#[derive(Debug, Clone)]
pub enum Live {
    Order(Arc<OrderChange>),
    Truck(Arc<TruckMove>),
    Alert(Arc<AlertChange>),
    /// The subscription was re-established: changes may have been missed,
    /// so subscribers catch up from Redis.
    Resync,
    /// The order's tracking link was replaced (its sockets only).
    LinkChanged,
}

struct Inner {
    orders: Mutex<HashMap<String, broadcast::Sender<Live>>>,
    /// When the subscription last heard anything (or was made).
    heard: Mutex<Instant>,
    beat_every: Duration,
    links: super::limits::LinkSockets,
    fleet: broadcast::Sender<Live>,
    task: tokio::task::JoinHandle<()>,
    beats: tokio::task::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
        self.beats.abort();
    }
}

/// A handle to the instance's live fan-out; the listening task stops when
/// the last handle is dropped.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// A subscription to one order's changes; leaving it frees the channel.
pub struct OrderSubscription {
    pub rx: broadcast::Receiver<Live>,
    hub: Hub,
    order_id: String,
}

impl Drop for OrderSubscription {
    fn drop(&mut self) {
        let mut orders = self
            .hub
            .inner
            .orders
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = orders.get(&self.order_id)
            && tx.receiver_count() <= 1
        {
            orders.remove(&self.order_id);
        }
    }
}

impl Hub {
    /// Subscribes to the live channel and keeps the subscription up, with
    /// a beat down the channel every `beat_every`.
    pub fn start(client: redis::Client, beat_every: Duration) -> Self {
        let (fleet, _) = broadcast::channel(4096);
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| Inner {
            orders: Mutex::new(HashMap::new()),
            heard: Mutex::new(Instant::now()),
            beat_every,
            beats: tokio::spawn(beat(client.clone(), beat_every)),
            links: super::limits::LinkSockets::default(),
            fleet,
            task: tokio::spawn(listen(client, weak.clone())),
        });
        Self { inner }
    }

    pub fn subscribe_order(&self, order_id: &str) -> OrderSubscription {
        let mut orders = self.inner.orders.lock().unwrap_or_else(|p| p.into_inner());
        let rx = orders
            .entry(order_id.to_owned())
            // Small, as every idle customer socket holds one: a burst for
            // one order (a fix, its ETA, a notice, a milestone) fits, and a
            // socket that falls further behind catches up from Redis.
            .or_insert_with(|| broadcast::channel(4).0)
            .subscribe();
        OrderSubscription {
            rx,
            hub: self.clone(),
            order_id: order_id.to_owned(),
        }
    }

    /// A place for one more socket of a tracking link (by its hash) on
    /// this instance; `None` when it holds the most already.
    pub fn claim_link(&self, link_hash: &str) -> Option<super::limits::LinkSlot> {
        self.inner.links.claim(link_hash)
    }

    /// Whether the live channel carries messages to this instance now
    /// (something heard within three beats).
    pub fn listening(&self) -> bool {
        self.inner.heard_within()
    }

    pub fn subscribe_fleet(&self) -> broadcast::Receiver<Live> {
        self.inner.fleet.subscribe()
    }
}

impl Inner {
    fn heard_within(&self) -> bool {
        self.heard
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
            < self.beat_every * 3
    }

    fn hear(&self) {
        *self.heard.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn dispatch(&self, payload: &[u8]) {
        self.hear();
        let live = match LiveMessage::parse(payload) {
            Ok(LiveMessage::Beat) => return,
            Ok(LiveMessage::Order(c)) => Live::Order(Arc::new(c)),
            Ok(LiveMessage::Truck(t)) => Live::Truck(Arc::new(t)),
            Ok(LiveMessage::Alert(a)) => Live::Alert(Arc::new(a)),
            Ok(LiveMessage::Link(l)) => {
                // Only the order's own sockets care.
                let orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(tx) = orders.get(&l.order_id) {
                    let _ = tx.send(Live::LinkChanged);
                }
                return;
            }
            Err(e) => {
                // Another version's message (a rollout), or a broken one:
                // what it told is in Redis, so subscribers catch up there
                // rather than skip past it.
                tracing::warn!(error = %e, "unreadable live message; subscribers catch up from Redis");
                self.resync();
                return;
            }
        };
        if let Live::Order(c) = &live {
            let orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(tx) = orders.get(&c.order_id) {
                let _ = tx.send(live.clone());
            }
        }
        let _ = self.fleet.send(live);
    }

    fn resync(&self) {
        let orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
        for tx in orders.values() {
            let _ = tx.send(Live::Resync);
        }
        let _ = self.fleet.send(Live::Resync);
    }
}

async fn listen(client: redis::Client, hub: Weak<Inner>) {
    let mut backoff = Duration::from_millis(100);
    // Subscribers may have joined before the first subscription, or missed
    // changes after a loss: either way they resync once subscribed.
    let mut lost = true;
    loop {
        let Some(silence) = hub.upgrade().map(|h| h.beat_every * 3) else {
            return;
        };
        // A half-open connection may never answer the connect or the
        // subscribe either: give up on them as on a silent subscription.
        let connect = tokio::time::timeout(silence, client.get_async_pubsub()).await;
        let connect = connect.unwrap_or_else(|_| {
            Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "live channel connect timed out",
            )))
        });
        match connect {
            Ok(mut pubsub) => match tokio::time::timeout(silence, pubsub.subscribe(LIVE_CHANNEL))
                .await
                .unwrap_or_else(|_| {
                    Err(redis::RedisError::from((
                        redis::ErrorKind::Io,
                        "live channel subscribe timed out",
                    )))
                }) {
                Ok(()) => {
                    backoff = Duration::from_millis(100);
                    let Some(h) = hub.upgrade() else { return };
                    if lost {
                        tracing::info!("subscribed to the live channel");
                        h.resync();
                    }
                    let silence = h.beat_every * 3;
                    drop(h);
                    let mut messages = pubsub.on_message();
                    // Beats come every `beat_every`: a subscription silent
                    // for three is dead, even if its connection says nothing.
                    while let Ok(Some(msg)) = tokio::time::timeout(silence, messages.next()).await {
                        let Some(h) = hub.upgrade() else { return };
                        h.dispatch(msg.get_payload_bytes());
                    }
                    tracing::warn!("live channel lost or silent; subscribing again");
                }
                Err(e) => tracing::warn!(error = %e, "could not subscribe to the live channel"),
            },
            Err(e) => tracing::debug!(error = %e, "live channel unreachable"),
        }
        lost = true;
        if hub.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// Sends a beat down the live channel every `every`, so every instance's
/// subscription hears something while it works.
async fn beat(client: redis::Client, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut conn = None;
    loop {
        tick.tick().await;
        if conn.is_none() {
            conn = client.get_multiplexed_async_connection().await.ok();
        }
        if let Some(c) = conn.as_mut() {
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(LIVE_CHANNEL)
                .arg(BEAT)
                .query_async(c)
                .await;
            if sent.is_err() {
                conn = None;
            }
        }
    }
}
