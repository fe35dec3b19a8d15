//! Moves the oldest part of every long history to the object store (then
//! out of Redis), so an active order's memory stays bounded and nothing is
//! ever just trimmed. Run with the hourly sweep and by `vinpath sweep`.

use crate::domain::OrderId;
use crate::media::ClipStore;
use crate::store::spill::{RawEntries, SpilledPart};
use crate::store::{Store, StoreError};

/// Spills every history over the limit; returns how many parts it moved.
pub async fn spill_long_histories(store: &Store, clips: &ClipStore) -> Result<usize, StoreError> {
    let mut moved = 0;
    for (id, over) in store.long_histories().await? {
        if !store.take_order_for_work(&id, HOLD).await? {
            continue;
        }
        let moved_now = spill_one(store, clips, &id, over).await;
        store.release_order(&id).await?;
        moved += usize::from(moved_now?);
    }
    Ok(moved)
}

/// How long one instance may hold an order for archive work.
pub(super) const HOLD: std::time::Duration = std::time::Duration::from_secs(300);

async fn spill_one(
    store: &Store,
    clips: &ClipStore,
    id: &OrderId,
    over: usize,
) -> Result<bool, StoreError> {
    let raw = store.oldest_entries(id, over).await?;
    let (Some((first, _)), Some((last, _))) = (raw.first(), raw.last()) else {
        return Ok(false);
    };
    let part = SpilledPart {
        first: first.clone(),
        last: last.clone(),
        object: SpilledPart::object_key(id.as_str(), first, last),
    };
    let json = serde_json::to_vec(&raw).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if let Err(e) = clips.put_whole(&part.object, json).await {
        tracing::warn!(error = %e, order = %id, "could not move old history to the object store; Redis keeps it for now");
        return Ok(false);
    }
    store.spill(id, &part).await
}

/// An order's history parts in the object store, entries oldest first.
pub async fn spilled_entries(
    store: &Store,
    clips: &ClipStore,
    id: &OrderId,
) -> Result<(Vec<SpilledPart>, RawEntries), StoreError> {
    let parts = store.spilled(id).await?;
    let mut all = Vec::new();
    for part in &parts {
        let raw = read_part(clips, part).await?;
        let (Some(first), Some(last)) = (
            crate::store::history::cursor_key(&part.first),
            crate::store::history::cursor_key(&part.last),
        ) else {
            continue;
        };
        all.extend(raw.into_iter().filter(|(c, _)| {
            crate::store::history::cursor_key(c).is_some_and(|k| k >= first && k <= last)
        }));
    }
    Ok((parts, all))
}

/// A spilled part's entries as stored.
pub async fn read_part(clips: &ClipStore, part: &SpilledPart) -> Result<RawEntries, StoreError> {
    let bytes = clips
        .get_whole(&part.object)
        .await
        .map_err(|e| StoreError::Corrupt(format!("history part {}: {e}", part.object)))?
        .ok_or_else(|| StoreError::Corrupt(format!("history part {} is missing", part.object)))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::Corrupt(format!("history part {}: {e}", part.object)))
}
