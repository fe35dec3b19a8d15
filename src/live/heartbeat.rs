//! The websocket peer with its heartbeat: the server pings every interval
//! and drops a peer silent for longer than the timeout.

use std::time::Duration;

use actix_ws::{AggregatedMessage, AggregatedMessageStream, Session};
use futures_util::StreamExt;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::LiveOptions;

/// How long a close frame may wait for a peer that does not read.
const CLOSE_WITHIN: Duration = Duration::from_secs(2);

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
                let ping = tokio::time::timeout_at(self.deadline(), self.session.ping(b""));
                match ping.await {
                    Ok(Ok(())) => FromPeer::Alive,
                    _ => FromPeer::Gone,
                }
            }
            msg = self.stream.next() => match msg {
                Some(Ok(AggregatedMessage::Ping(bytes))) => {
                    self.last_seen = Instant::now();
                    let pong = tokio::time::timeout_at(self.deadline(), self.session.pong(&bytes));
                    match pong.await {
                        Ok(Ok(())) => FromPeer::Alive,
                        _ => FromPeer::Gone,
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

    /// When a peer last heard stops counting as there.
    fn deadline(&self) -> Instant {
        (self.last_seen + self.timeout).max(Instant::now())
    }

    /// Sends a text frame; false when the peer is gone, or has not taken
    /// anything for the peer timeout (a peer that stops reading holds its
    /// socket no longer than a silent one, and its buffers stay bounded).
    pub async fn send(&mut self, text: String) -> bool {
        matches!(
            tokio::time::timeout_at(self.deadline(), self.session.text(text)).await,
            Ok(Ok(()))
        )
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
        // A peer that does not read may never take the close frame either.
        let _ = tokio::time::timeout(CLOSE_WITHIN, self.session.close(reason)).await;
    }
}
