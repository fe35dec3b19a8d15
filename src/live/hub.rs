//! The instance's one subscription to the live channel, and the local
//! fan-out of what it hears: per order for `/ws/track`, to all for the fleet.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::broadcast;

use tokio::time::Instant;

use crate::store::Store;
pub use crate::store::live_wire::{AlertChange, LiveMessage, OrderChange, TruckMove};
use crate::store::subscribe::Heard;

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
    /// A credential was revoked (by its token's hash): its sockets close.
    Revoked(Arc<str>),
}

struct Inner {
    /// For forgetting revoked credentials.
    store: Store,
    orders: Mutex<HashMap<String, broadcast::Sender<Live>>>,
    /// When the subscription last heard anything on each partition's
    /// channel (`None`: never).
    heard: Mutex<Vec<Option<Instant>>>,
    beat_every: Duration,
    links: super::limits::LinkSockets,
    fleet: broadcast::Sender<Live>,
    task: tokio::task::JoinHandle<()>,
    beats: tokio::task::JoinHandle<()>,
    /// Renews the seats of this instance's tracking sockets.
    renew: tokio::task::JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
        self.beats.abort();
        self.renew.abort();
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
    pub fn start(store: Store, beat_every: Duration) -> Self {
        let (fleet, _) = broadcast::channel(4096);
        let partitions = usize::from(crate::store::PARTITIONS);
        let links = super::limits::LinkSockets::new(store.clone());
        let renew = tokio::spawn(links.clone().renew_forever());
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| Inner {
            store: store.clone(),
            orders: Mutex::new(HashMap::new()),
            heard: Mutex::new(vec![None; partitions]),
            beat_every,
            beats: tokio::spawn(beat(store.clone(), beat_every)),
            links,
            renew,
            fleet,
            task: tokio::spawn(listen(store, weak.clone())),
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

    /// A seat for one more socket of a tracking link (by its hash), across
    /// instances; `None` when it holds the most already.
    pub async fn claim_link(
        &self,
        link_hash: &str,
    ) -> Result<Option<super::limits::LinkSlot>, crate::store::StoreError> {
        self.inner.links.claim(link_hash).await
    }

    /// Whether the live channels carry messages to this instance now
    /// (something heard on every partition's within three beats).
    pub fn listening(&self) -> bool {
        self.inner.heard_within()
    }

    pub fn subscribe_fleet(&self) -> broadcast::Receiver<Live> {
        self.inner.fleet.subscribe()
    }
}

impl Inner {
    fn heard_within(&self) -> bool {
        self.longest_silence() < self.beat_every * 3
    }

    /// How long the quietest partition's channel has been silent.
    fn longest_silence(&self) -> Duration {
        let heard = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        heard
            .iter()
            .map(|h| h.map_or(Duration::MAX, |h| h.elapsed()))
            .max()
            .unwrap_or_default()
    }

    fn hear(&self, partition: u16) {
        let mut heard = self.heard.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = heard.get_mut(usize::from(partition)) {
            *h = Some(Instant::now());
        }
    }

    fn dispatch(&self, partition: u16, payload: &[u8]) {
        self.hear(partition);
        let live = match LiveMessage::parse(payload) {
            Ok(LiveMessage::Beat) => return,
            Ok(LiveMessage::Order(c)) => Live::Order(Arc::new(c)),
            Ok(LiveMessage::Truck(t)) => Live::Truck(Arc::new(t)),
            Ok(LiveMessage::Alert(a)) => Live::Alert(Arc::new(a)),
            Ok(LiveMessage::Revoked(r)) => {
                self.store.forget_credential(&r.credential);
                let _ = self.fleet.send(Live::Revoked(r.credential.into()));
                return;
            }
            Ok(LiveMessage::Device(d)) => {
                self.store.forget_device(&d.key);
                return;
            }
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
        // An order's own sockets hear its changes and its alerts.
        let order = match &live {
            Live::Order(c) => Some(c.order_id.as_str()),
            Live::Alert(a) => a.alert.get("order_id").and_then(|o| o.as_str()),
            _ => None,
        };
        if let Some(order) = order {
            let orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(tx) = orders.get(order) {
                let _ = tx.send(live.clone());
            }
        }
        let _ = self.fleet.send(live);
    }

    fn resync(&self) {
        // A revocation may have been missed too.
        self.store.forget_credentials();
        self.store.forget_devices();
        let orders = self.orders.lock().unwrap_or_else(|p| p.into_inner());
        for tx in orders.values() {
            let _ = tx.send(Live::Resync);
        }
        let _ = self.fleet.send(Live::Resync);
    }
}

async fn listen(store: Store, hub: Weak<Inner>) {
    let mut backoff = Duration::from_millis(100);
    // Subscribers may have joined before the first subscription, or missed
    // changes after a loss: either way they resync once subscribed.
    let mut lost = true;
    loop {
        let Some(beat_every) = hub.upgrade().map(|h| h.beat_every) else {
            return;
        };
        // A half-open connection may never answer the subscribe either:
        // give up on it as on a silent subscription.
        match store.subscribe_live(beat_every * 3).await {
            Ok(mut sub) => {
                backoff = Duration::from_millis(100);
                let Some(h) = hub.upgrade() else { return };
                let subscribed = Instant::now();
                // A beat at once: the instance is ready as soon as it hears
                // every channel, not a beat later.
                if let Err(e) = store.beat().await {
                    tracing::debug!(error = ?e, "could not send a live beat");
                }
                if lost {
                    tracing::info!("subscribed to the live channels");
                    h.resync();
                }
                drop(h);
                // Beats come down every channel every `beat_every`: a
                // channel silent for three is dead, even if its connection
                // says nothing (a half-open one, a shard not followed).
                loop {
                    let heard = tokio::time::timeout(beat_every, sub.next()).await;
                    let Some(h) = hub.upgrade() else { return };
                    match heard {
                        Ok(Some(Heard::Message { partition, payload })) => {
                            h.dispatch(partition, &payload)
                        }
                        Ok(Some(Heard::Resubscribed)) => {
                            tracing::info!("live channels subscribed again; subscribers catch up");
                            h.resync();
                        }
                        Ok(Some(Heard::Lost) | None) => break,
                        Err(_) => {}
                    }
                    // Until it has heard something, a fresh subscription is
                    // not ready (/readyz), and gets three beats' time.
                    let silent = beat_every * 3;
                    if h.longest_silence() >= silent && subscribed.elapsed() >= silent {
                        break;
                    }
                }
                tracing::warn!("a live channel was lost or silent; subscribing again");
            }
            Err(e) => tracing::debug!(error = ?e, "could not subscribe to the live channels"),
        }
        lost = true;
        if hub.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// Sends a beat down every live channel every `every`, so every
/// instance's subscription hears something on each while it works.
async fn beat(store: Store, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = store.beat().await {
            tracing::debug!(error = %e, "could not send a live beat");
        }
    }
}
