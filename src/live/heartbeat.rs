//! The websocket peer with its heartbeat: the server pings every interval
//! and drops a peer silent for longer than the timeout.

use std::time::Duration;

use actix_ws::{AggregatedMessage, AggregatedMessageStream, Session};
use futures_util::StreamExt;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::LiveOptions;

/// A connected websocket client.
pub(super) struct Peer {
    /// `track` or `fleet`, for the connection gauge.
    kind: &'static str,
    pub session: Session,
    stream: AggregatedMessageStream,
    interval: Interval,
    last_seen: Instant,
    timeout: Duration,
}

/// What the client side asked for.
pub(super) enum FromPeer {
    /// Traffic handled (pong, ping answered, a message ignored).
    Alive,
    /// Closed, broken, timed out: stop serving.
    Gone,
}

impl Peer {
    pub fn new(
        kind: &'static str,
        session: Session,
        stream: actix_ws::MessageStream,
        opts: &LiveOptions,
    ) -> Self {
        metrics::gauge!("vinpath_ws_connections", "kind" => kind).increment(1.0);
        let mut interval = tokio::time::interval(opts.ping_interval);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self {
            kind,
            session,
            stream: stream
                .aggregate_continuations()
                .max_continuation_size(64 * 1024),
            interval,
            last_seen: Instant::now(),
            timeout: opts.peer_timeout,
        }
    }

    /// Waits for the next thing the client side needs: a ping to send, a
    /// silent peer to drop, or a message to answer.
    pub async fn next(&mut self) -> FromPeer {
        tokio::select! {
            _ = tokio::time::sleep_until(self.last_seen + self.timeout) => FromPeer::Gone,
            _ = self.interval.tick() => {
                match self.session.ping(b"").await {
                    Ok(()) => FromPeer::Alive,
                    Err(_) => FromPeer::Gone,
                }
            }
            msg = self.stream.next() => match msg {
                Some(Ok(AggregatedMessage::Ping(bytes))) => {
                    self.last_seen = Instant::now();
                    match self.session.pong(&bytes).await {
                        Ok(()) => FromPeer::Alive,
                        Err(_) => FromPeer::Gone,
                    }
                }
                Some(Ok(AggregatedMessage::Close(_))) | Some(Err(_)) | None => FromPeer::Gone,
                Some(Ok(_)) => {
                    self.last_seen = Instant::now();
                    FromPeer::Alive
                }
            }
        }
    }

    /// Sends a text frame; false when the peer is gone.
    pub async fn send(&mut self, text: String) -> bool {
        self.session.text(text).await.is_ok()
    }

    pub async fn close(self) {
        self.close_with(None).await;
    }

    /// Closes with a code the client can act on (4404: the link no longer
    /// works).
    pub async fn close_with(self, code: Option<u16>) {
        metrics::gauge!("vinpath_ws_connections", "kind" => self.kind).decrement(1.0);
        let reason = code.map(|c| actix_ws::CloseReason {
            code: actix_ws::CloseCode::Other(c),
            description: None,
        });
        let _ = self.session.close(reason).await;
    }
}
