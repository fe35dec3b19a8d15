//! Idempotency keys of clip uploads: a retried upload finds the clip the
//! first one made.

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
