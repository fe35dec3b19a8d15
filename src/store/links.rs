//! Tracking links: a customer's token, kept only as its hash, pointing at
//! one order; rotating one makes the old answer 404.

use super::functions::{Function, Rotate};
use super::{Result, Store, auth, keys};
use crate::domain::OrderId;

/// A tracking link: the token to hand out, shown once.
pub struct TrackingToken(pub String);

impl Store {
    /// Replaces an order's tracking link; the old one answers 404 from now.
    pub async fn rotate_tracking(&self, id: &OrderId) -> Result<Option<TrackingToken>> {
        let token = auth::new_token("");
        let h = auth::hash(&token);
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(keys::link(&h))
            .arg(id.as_str())
            .ignore();
        Rotate {
            order: id.as_str(),
            new_hash: &h,
        }
        .push(&mut pipe);
        let (old,): (Option<String>,) = self.query(&pipe).await?;
        let mut pipe = redis::pipe();
        match &old {
            Some(old) => pipe.cmd("DEL").arg(keys::link(old)).ignore(),
            None => pipe.cmd("DEL").arg(keys::link(&h)).ignore(),
        };
        let () = self.query(&pipe).await?;
        Ok(old.map(|_| TrackingToken(token)))
    }

    /// Whether `hash` is still the order's tracking link.
    pub async fn link_is_current(&self, id: &OrderId, hash: &str) -> Result<bool> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGET").arg(keys::order(id)).arg("link_hash");
        let (current,): (Option<String>,) = self.query(&pipe).await?;
        Ok(current.as_deref() == Some(hash))
    }

    /// The order a tracking token opens, if the token is current.
    pub async fn order_by_tracking(&self, token: &str) -> Result<Option<OrderId>> {
        let h = auth::hash(token);
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(keys::link(&h));
        let (id,): (Option<String>,) = self.query(&pipe).await?;
        let Some(id) = id.and_then(|i| OrderId::parse(&i).ok()) else {
            return Ok(None);
        };
        let mut pipe = redis::pipe();
        pipe.cmd("HGET").arg(keys::order(&id)).arg("link_hash");
        let (current,): (Option<String>,) = self.query(&pipe).await?;
        Ok((current.as_deref() == Some(h.as_str())).then_some(id))
    }
}
