//! The archive: orders that ended `after` ago leave Redis for the object
//! store (`archive/orders/<id>.json`), run by `vinpath sweep` and by
//! `serve`'s hourly sweep. Safe on several instances at once: writing the
//! same object twice is harmless, and an order leaves Redis only if
//! nothing was added to it since it was read.

use chrono::{DateTime, Utc};

use crate::domain::OrderId;
use crate::media::ClipStore;
use crate::store::archive::ArchivedOrder;
use crate::store::{Store, StoreError};

/// Archives every order that ended before `now - after`; returns how many.
pub async fn archive_due(
    store: &Store,
    clips: &ClipStore,
    now: DateTime<Utc>,
    after: chrono::Duration,
) -> Result<usize, StoreError> {
    let cutoff = (now - after).timestamp_millis();
    let mut archived = 0;
    loop {
        let due = store.ended_before(cutoff, 100).await?;
        let mut progressed = false;
        for id in &due {
            let Ok(id) = OrderId::parse(id) else { continue };
            // One instance at a time writes an order's objects.
            if !store.take_order_for_work(&id, super::spill::HOLD).await? {
                continue;
            }
            let done = archive_one(store, clips, &id).await;
            store.release_order(&id).await?;
            if done? {
                archived += 1;
                progressed = true;
            }
        }
        if !progressed {
            return Ok(archived);
        }
    }
}

/// Archives one order; true when it left Redis.
async fn archive_one(store: &Store, clips: &ClipStore, id: &OrderId) -> Result<bool, StoreError> {
    let Some(mut whole) = store.read_whole(id).await? else {
        return Ok(false);
    };
    // The parts of its history already in the object store join the rest
    // in the one archived object, in cursor order, each entry once.
    let (parts, mut all) = super::spill::spilled_entries(store, clips, id).await?;
    all.append(&mut whole.history);
    all.sort_by_key(|(c, _)| crate::store::history::cursor_key(c));
    all.dedup_by(|a, b| a.0 == b.0);
    whole.history = all;
    let json = serde_json::to_vec(&whole).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if let Err(e) = clips
        .put_whole(&ArchivedOrder::object_key(id.as_str()), json)
        .await
    {
        tracing::warn!(error = %e, order = %id, "could not archive an order; will retry");
        return Ok(false);
    }
    if !store.forget_archived(&whole).await? {
        return Ok(false);
    }
    for part in parts {
        if let Err(e) = clips.delete(&part.object).await {
            tracing::warn!(error = %e, object = part.object, "could not delete an archived history part");
        }
    }
    Ok(true)
}
