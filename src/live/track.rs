//! One customer's `/ws/track` socket: a snapshot or a resume from a cursor,
//! then every change of the order in the order recorded, with no gap and
//! no repeat, even across a lost subscription.

use chrono::{DateTime, Duration, Utc};
use tokio::sync::broadcast::error::RecvError;

use super::heartbeat::{FromPeer, Peer};
use super::hub::Live;
use super::{Hub, LiveOptions, messages};
use crate::clock::Clock;
use crate::domain::OrderId;
use crate::store::history::{HistoryEntry, cursor_key};
use crate::store::live_wire::{AlertState, Change};
use crate::store::{Store, StoreError};

struct Track {
    peer: Peer,
    store: Store,
    order: OrderId,
    /// The cursor of the last thing this client has seen.
    last: String,
    /// The customer's URL prefixes for clips and photos (they hold their
    /// token).
    clip_base: String,
    photo_base: String,
    camera_base: String,
    /// Now, for whether cameras are on air.
    clock: Clock,
    /// The hash of the link the socket was opened with, and when that link
    /// stops working (a set number of days after delivery).
    link_hash: String,
    expires_at: Option<DateTime<Utc>>,
    link_days: i64,
    /// Why the socket closes, when the client should not come back.
    closing: Option<u16>,
}

/// The close code of a link that no longer works (as its 404).
const LINK_GONE: u16 = 4404;

impl Track {
    async fn send_snapshot(&mut self, reset: bool) -> Result<bool, StoreError> {
        let Some(snap) = self.store.order_snapshot(&self.order).await? else {
            return Ok(false);
        };
        let mut view = snap.public_view(
            |id| format!("{}{id}", self.clip_base),
            |id| format!("{}{id}", self.photo_base),
        );
        view["cameras"] = self
            .store
            .camera_views(&snap.state, &self.camera_base, self.clock.now())
            .await?;
        self.last = snap.cursor;
        if snap.state.milestone == crate::domain::Milestone::Delivered
            && let Some(d) = snap.state.delivered_at
        {
            self.expires_at = Some(d + Duration::days(self.link_days));
        }
        let text = messages::snapshot(&self.last, view, reset);
        Ok(self.peer.send(text).await)
    }

    async fn send_entries(&mut self, entries: Vec<HistoryEntry>) -> bool {
        for e in entries {
            if e.change == Some(Change::Milestone) {
                self.note_milestone(&e.record);
            }
            if let Some(text) = self.frame(&e.cursor, e.change, e.gap, &e.record).await
                && !self.peer.send(text).await
            {
                return false;
            }
            self.last = e.cursor;
        }
        true
    }

    /// The frame of one history entry; a correction carries the order as
    /// it now stands (read when sent: the page replaces its view with it).
    async fn frame(
        &mut self,
        cursor: &str,
        change: Option<Change>,
        gap: bool,
        record: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<String> {
        if change == Some(Change::Live) {
            // Played under this link.
            let mut event = messages::track_event_object(Change::Live, gap, record, "")?;
            let camera = record.get("camera_id").and_then(|v| v.as_str())?;
            event["url"] = format!("{}{camera}/live.m3u8", self.camera_base).into();
            return Some(
                serde_json::json!({"type": "event", "cursor": cursor, "event": event}).to_string(),
            );
        }
        if change != Some(Change::Correction) {
            return messages::track_event(cursor, change, gap, record, &self.clip_base);
        }
        let mut event = messages::track_event_object(Change::Correction, gap, record, "")?;
        match self.store.order_snapshot(&self.order).await {
            Ok(Some(snap)) => {
                event["order"] = snap.public_view(
                    |id| format!("{}{id}", self.clip_base),
                    |id| format!("{}{id}", self.photo_base),
                );
                // A voided delivery gives the link back its life.
                self.expires_at = snap
                    .state
                    .delivered_at
                    .filter(|_| snap.state.milestone == crate::domain::Milestone::Delivered)
                    .map(|d| d + Duration::days(self.link_days));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "a correction went out without its order"),
        }
        Some(serde_json::json!({"type": "event", "cursor": cursor, "event": event}).to_string())
    }

    /// A car standing still unusually long is a standing notice for its
    /// customer (raised and cleared with its `stationary` alert); sent with
    /// the last cursor, as it is no entry of the order's history.
    async fn on_alert(&mut self, a: &crate::store::live_wire::AlertChange) -> bool {
        let about = |k: &str| a.alert.get(k).and_then(|v| v.as_str());
        if about("order_id") != Some(self.order.as_str()) || about("kind") != Some("stationary") {
            return true;
        }
        let event = match a.state {
            AlertState::Raised => {
                serde_json::json!({"kind": "notice", "notice": "stopped", "since": about("since"),
                    "text": "Your car has stood still for a while"})
            }
            AlertState::Cleared => {
                serde_json::json!({"kind": "notice", "notice": "stopped", "cleared": true,
                    "text": "Your car is moving again"})
            }
            AlertState::Acked => return true,
        };
        let text =
            serde_json::json!({"type": "event", "cursor": self.last, "event": event}).to_string();
        self.peer.send(text).await
    }

    /// Everything after the last cursor, or a reset snapshot when that
    /// cursor has left the kept history.
    async fn catch_up(&mut self) -> Result<bool, StoreError> {
        match self
            .store
            .entries_after(&self.order, &self.last.clone())
            .await?
        {
            Some(entries) => Ok(self.send_entries(entries).await),
            None => self.send_snapshot(true).await,
        }
    }

    /// A delivery starts the link's last days: the socket closes when they
    /// end.
    fn note_milestone(&mut self, record: &serde_json::Map<String, serde_json::Value>) {
        if record.get("milestone").and_then(|m| m.as_str()) == Some("delivered") {
            let at = record.get("occurred_at").and_then(|a| a.as_str());
            self.expires_at = at
                .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
                .map(|d| d.to_utc() + Duration::days(self.link_days));
        }
    }

    /// Whether the socket's link still opens the order; closes it if not.
    async fn check_link(&mut self) -> Result<bool, StoreError> {
        let current = self
            .store
            .link_is_current(&self.order, &self.link_hash)
            .await?;
        if !current {
            self.closing = Some(LINK_GONE);
        }
        Ok(current)
    }

    async fn on_live(&mut self, live: Result<Live, RecvError>) -> Result<bool, StoreError> {
        match live {
            Ok(Live::Order(c)) => {
                if c.change == Change::Milestone {
                    self.note_milestone(&c.event);
                }
                if cursor_key(&c.cursor) <= cursor_key(&self.last) {
                    return Ok(true);
                }
                if let Some(text) = self.frame(&c.cursor, Some(c.change), c.gap, &c.event).await
                    && !self.peer.send(text).await
                {
                    return Ok(false);
                }
                self.last = c.cursor.clone();
                Ok(true)
            }
            Ok(Live::Alert(a)) => Ok(self.on_alert(&a).await),
            Ok(Live::Truck(_) | Live::Revoked(_)) => Ok(true),
            Ok(Live::LinkChanged) => self.check_link().await,
            Ok(Live::Resync) | Err(RecvError::Lagged(_)) => {
                // A rotation may have been missed too.
                Ok(self.check_link().await? && self.catch_up().await?)
            }
            Err(RecvError::Closed) => Ok(false),
        }
    }
}

/// One customer's tracking socket, before it is served.
pub struct TrackSocket {
    pub store: Store,
    pub hub: Hub,
    pub order: OrderId,
    /// Resume after this cursor; `None` starts with a snapshot.
    pub after: Option<String>,
    pub clip_base: String,
    /// Where the link reads its car's photos.
    pub photo_base: String,
    /// Where the link plays the cameras that show its car.
    pub camera_base: String,
    pub opts: LiveOptions,
    /// The hash of the link it was opened with.
    pub link_hash: String,
    /// When that link stops working, if the order is delivered.
    pub expires_at: Option<DateTime<Utc>>,
    /// Days a link works after delivery.
    pub link_days: i64,
    pub clock: Clock,
    /// Its place under its link's limit, held while it is open.
    pub slot: super::limits::LinkSlot,
}

/// Serves one tracking socket until the peer leaves.
pub async fn serve(
    session: actix_ws::Session,
    stream: actix_ws::MessageStream,
    socket: TrackSocket,
) {
    let TrackSocket {
        store,
        hub,
        order,
        after,
        clip_base,
        photo_base,
        camera_base,
        opts,
        link_hash,
        expires_at,
        link_days,
        clock,
        slot,
    } = socket;
    // Subscribe before reading Redis, so nothing falls between the two.
    let mut sub = hub.subscribe_order(order.as_str());
    let mut t = Track {
        peer: Peer::new("track", session, stream, &opts),
        store,
        order,
        last: after.clone().unwrap_or_default(),
        clip_base,
        photo_base,
        camera_base,
        clock: clock.clone(),
        link_hash,
        expires_at,
        link_days,
        closing: None,
    };
    // A rotation between the handler's check and the subscription told
    // nobody: check once now that this socket hears of the next.
    let first = match t.check_link().await {
        Ok(true) => match after {
            Some(_) => t.catch_up().await,
            None => t.send_snapshot(false).await,
        },
        other => other,
    };
    let mut alive = matches!(first, Ok(true));
    while alive {
        // The link stops working a set time after delivery: close then.
        let expiry = t.expires_at.map(|at| {
            let left = (at - clock.now()).to_std().unwrap_or_default();
            tokio::time::Instant::now() + left
        });
        let step = tokio::select! {
            from_peer = t.peer.next() => Ok(matches!(from_peer, FromPeer::Alive)),
            live = sub.rx.recv() => t.on_live(live).await,
            _ = sleep_until_some(expiry) => {
                t.closing = Some(LINK_GONE);
                Ok(false)
            }
        };
        alive = match step {
            Ok(a) => a,
            Err(e) => {
                // Redis is away: close, the client reconnects with its cursor.
                tracing::warn!(error = %e, "tracking socket lost its store");
                false
            }
        };
    }
    t.peer.close_with(t.closing).await;
    drop(slot);
}

async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
