//! Seats: the sockets open on each tracking link across every instance,
//! held as leases in Redis that each instance renews for its own open
//! sockets, so the contract's "at most 8 per link" holds however many
//! instances serve the link, and a dead instance's seats free themselves.

use std::time::Duration;

use super::functions::{Function, Seat};
use super::{Result, Store, keys};

impl Store {
    /// Takes a seat on `link_hash` for `lease`, unless `most` are taken.
    pub async fn take_seat(
        &self,
        link_hash: &str,
        seat_id: &str,
        most: usize,
        lease: Duration,
    ) -> Result<bool> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut pipe = redis::pipe();
        Seat {
            link_hash,
            seat_id,
            until_ms: now_ms + lease.as_millis() as i64,
            now_ms,
            most,
        }
        .push(&mut pipe);
        let (taken,): (i64,) = self.query(&pipe).await?;
        Ok(taken == 1)
    }

    /// Gives a seat back.
    pub async fn free_seat(&self, link_hash: &str, seat_id: &str) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("ZREM")
            .arg(keys::link_seats(link_hash))
            .arg(seat_id)
            .ignore();
        let () = self.query(&pipe).await?;
        Ok(())
    }

    /// Renews the leases of these seats (link hash, seat id) for `lease`.
    pub async fn renew_seats(&self, seats: &[(String, String)], lease: Duration) -> Result<()> {
        if seats.is_empty() {
            return Ok(());
        }
        let until_ms = chrono::Utc::now().timestamp_millis() + lease.as_millis() as i64;
        let mut pipe = redis::pipe();
        for (link, seat) in seats {
            let key = keys::link_seats(link);
            pipe.cmd("ZADD")
                .arg(&key)
                .arg("XX")
                .arg(until_ms)
                .arg(seat)
                .ignore();
            // Never shortens the key's life (another instance's lease).
            pipe.cmd("PEXPIREAT")
                .arg(&key)
                .arg(until_ms)
                .arg("GT")
                .ignore();
        }
        let () = self.query(&pipe).await?;
        Ok(())
    }
}
