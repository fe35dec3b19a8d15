//! The dispatchers' `/ws/fleet`: one shared feed per instance folds every
//! vehicle's positions into a frame at most every `fleet_frame`, and passes
//! other changes one by one; each socket starts with a snapshot.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast::{self, error::RecvError};

use super::heartbeat::{FromPeer, Peer};
use super::hub::Live;
use super::{Hub, LiveOptions, messages};
use crate::store::live_wire::Change;
use crate::store::{Store, StoreError};

/// What the shared feed sends to each fleet socket.
#[derive(Debug, Clone)]
enum FleetFrame {
    Text(Arc<str>),
    /// Changes may have been missed: send a fresh snapshot.
    Resync,
    /// A credential was revoked (its token's hash).
    Revoked(Arc<str>),
}

/// The instance's fleet feed; the folding task stops with the last handle.
#[derive(Clone)]
pub struct FleetFeed {
    tx: broadcast::Sender<FleetFrame>,
    _task: Arc<AbortOnDrop>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl FleetFeed {
    pub fn start(hub: &Hub, opts: &LiveOptions) -> Self {
        let (tx, _) = broadcast::channel(1024);
        let task = tokio::spawn(fold(hub.subscribe_fleet(), tx.clone(), opts.fleet_frame));
        Self {
            tx,
            _task: Arc::new(AbortOnDrop(task)),
        }
    }
}

async fn fold(
    mut rx: broadcast::Receiver<Live>,
    tx: broadcast::Sender<FleetFrame>,
    every: std::time::Duration,
) {
    let mut latest: HashMap<String, Value> = HashMap::new();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if !latest.is_empty() {
                    let vehicles = latest.drain().map(|(_, v)| v).collect();
                    let _ = tx.send(FleetFrame::Text(messages::positions(vehicles).into()));
                }
            }
            live = rx.recv() => match live {
                Ok(Live::Order(c)) => match c.change {
                    Change::Position | Change::SitePosition => {
                        latest.insert(format!("o:{}", c.order_id), messages::order_vehicle(&c));
                    }
                    Change::Milestone => {
                        // A position still held for the next frame carries
                        // the milestone it had: keep it current.
                        if let Some(v) = latest.get_mut(&format!("o:{}", c.order_id)) {
                            v["milestone"] = serde_json::json!(c.milestone);
                        }
                        let _ = tx.send(FleetFrame::Text(messages::fleet_milestone(&c).into()));
                    }
                    Change::Clip => {
                        let _ = tx.send(FleetFrame::Text(messages::fleet_clip(&c).into()));
                    }
                    Change::Live => {
                        let _ = tx.send(FleetFrame::Text(messages::fleet_live(&c).into()));
                    }
                    Change::Correction => {
                        latest.remove(&format!("o:{}", c.order_id));
                        let _ = tx.send(FleetFrame::Text(messages::fleet_correction(&c).into()));
                    }
                    // (A damage an inspection found reaches dispatchers as its alert.)
                    Change::Eta | Change::Notice | Change::Inspection | Change::Handover => {}
                },
                Ok(Live::Alert(a)) => {
                    let _ = tx.send(FleetFrame::Text(messages::fleet_alert(&a).into()));
                }
                Ok(Live::Truck(t)) => {
                    latest.insert(format!("t:{}/{}", t.carrier_id, t.truck_id), messages::truck_vehicle(&t));
                }
                Ok(Live::LinkChanged) => {}
                Ok(Live::Revoked(h)) => {
                    let _ = tx.send(FleetFrame::Revoked(h));
                }
                Ok(Live::Resync) | Err(RecvError::Lagged(_)) => {
                    latest.clear();
                    let _ = tx.send(FleetFrame::Resync);
                }
                Err(RecvError::Closed) => return,
            }
        }
    }
}

async fn send_snapshot(peer: &mut Peer, store: &Store) -> Result<bool, StoreError> {
    let mut fleet = store.fleet().await?.to_json();
    fleet["type"] = serde_json::json!("snapshot");
    Ok(peer.send(fleet.to_string()).await)
}

/// The close code of a socket whose credential was revoked.
const REVOKED: u16 = 4401;

/// Serves one dispatcher's fleet socket until the peer leaves, or its
/// credential (`credential`, its token's hash; `None` for the admin token,
/// which is not revoked this way) is revoked.
pub async fn serve(
    session: actix_ws::Session,
    stream: actix_ws::MessageStream,
    store: Store,
    feed: FleetFeed,
    opts: LiveOptions,
    credential: Option<String>,
) {
    let mut rx = feed.tx.subscribe();
    let mut peer = Peer::new("fleet", session, stream, &opts);
    let mut alive = matches!(send_snapshot(&mut peer, &store).await, Ok(true));
    while alive {
        let step = tokio::select! {
            from_peer = peer.next() => Ok(matches!(from_peer, FromPeer::Alive)),
            frame = rx.recv() => match frame {
                Ok(FleetFrame::Text(t)) => Ok(peer.send(t.to_string()).await),
                Ok(FleetFrame::Resync) | Err(RecvError::Lagged(_)) => {
                    // A revocation may have been missed with the rest: the
                    // credential is asked again (the admin token has none).
                    let gone = match &credential {
                        Some(c) => !store.credential_exists(c).await.unwrap_or(true),
                        None => false,
                    };
                    if gone {
                        peer.close_with(Some(REVOKED)).await;
                        return;
                    }
                    send_snapshot(&mut peer, &store).await
                }
                Ok(FleetFrame::Revoked(h)) if credential.as_deref() == Some(&*h) => {
                    peer.close_with(Some(REVOKED)).await;
                    return;
                }
                Ok(FleetFrame::Revoked(_)) => Ok(true),
                Err(RecvError::Closed) => Ok(false),
            },
        };
        alive = step.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "fleet socket lost its store");
            false
        });
    }
    peer.close().await;
}
