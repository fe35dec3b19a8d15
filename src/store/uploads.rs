//! Clip uploads: idempotency keys (a retried upload finds the clip the
//! first one made), and uploads under way (an object never recorded is
//! found and removed).

use chrono::{DateTime, Utc};

use super::{Result, Store, keys};
use crate::domain::CarrierId;

/// The state of an `Idempotency-Key`.
pub enum Claim {
    /// First use: the caller uploads, then finishes or releases the claim.
    New,
    /// An earlier upload with this key made this clip.
    Done(String),
    /// An upload with this key is under way.
    Busy,
}

const CLAIM_TTL_S: i64 = 3600;
const DONE_TTL_S: i64 = 7 * 86_400;

impl Store {
    /// Claims an idempotency key for an upload.
    pub async fn claim_upload(&self, carrier: &CarrierId, key: &str) -> Result<Claim> {
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(keys::idempotency(carrier, key))
            .arg("")
            .arg("NX")
            .arg("GET")
            .arg("EX")
            .arg(CLAIM_TTL_S);
        let (old,): (Option<String>,) = self.query(&pipe).await?;
        Ok(match old {
            None => Claim::New,
            Some(id) if id.is_empty() => Claim::Busy,
            Some(id) => Claim::Done(id),
        })
    }

    /// Ends a claim: with the clip made, or (on failure) freeing the key.
    pub async fn settle_upload(
        &self,
        carrier: &CarrierId,
        key: &str,
        clip_id: Option<&str>,
    ) -> Result<()> {
        let mut pipe = redis::pipe();
        match clip_id {
            Some(id) => pipe
                .cmd("SET")
                .arg(keys::idempotency(carrier, key))
                .arg(id)
                .arg("EX")
                .arg(DONE_TTL_S)
                .ignore(),
            None => pipe
                .cmd("DEL")
                .arg(keys::idempotency(carrier, key))
                .ignore(),
        };
        let () = self.query(&pipe).await?;
        Ok(())
    }
}

/// Clip uploads under way: begun, not yet recorded or cleaned up. An upload
/// whose request died between storing the object and recording it leaves
/// its entry here, and the sweep removes the object.
impl Store {
    /// Notes that the object of `clip_id` is about to be stored.
    pub async fn begin_upload(&self, clip_id: &str, now: DateTime<Utc>) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("ZADD")
            .arg(keys::UPLOADS)
            .arg(now.timestamp_millis())
            .arg(clip_id)
            .ignore();
        let () = self.query(&pipe).await?;
        Ok(())
    }

    /// Notes that the upload of `clip_id` ended (recorded, or its object
    /// removed).
    pub async fn end_upload(&self, clip_id: &str) -> Result<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("ZREM").arg(keys::UPLOADS).arg(clip_id).ignore();
        let () = self.query(&pipe).await?;
        Ok(())
    }

    /// Uploads begun before `cutoff` that never ended, with whether their
    /// clip was recorded after all.
    pub async fn unfinished_uploads(
        &self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(String, bool)>> {
        let mut pipe = redis::pipe();
        pipe.cmd("ZRANGEBYSCORE")
            .arg(keys::UPLOADS)
            .arg("-inf")
            .arg(cutoff.timestamp_millis())
            .arg("LIMIT")
            .arg(0)
            .arg(limit);
        let (ids,): (Vec<String>,) = self.query(&pipe).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("EXISTS").arg(keys::clip(id));
        }
        let recorded: Vec<bool> = self.query(&pipe).await?;
        Ok(ids.into_iter().zip(recorded).collect())
    }
}
