//! Moves the audit log's oldest entries beyond what Redis keeps to the
//! clip store (`archive/audit/`), part by part, with the hourly sweep; and
//! reads the whole log back, parts first, for `GET /api/v1/audit`.

use crate::media::ClipStore;
use crate::store::audit::AuditEntry;
use crate::store::history::cursor_key;
use crate::store::spill::SpilledPart;
use crate::store::{Store, StoreError};

/// Entries per part.
const PART: usize = 10_000;

/// Moves what is over the limit; returns how many parts it wrote. One
/// instance at a time: another sweeping meanwhile leaves it be.
pub async fn archive_audit(store: &Store, clips: &ClipStore) -> Result<usize, StoreError> {
    if !store.take_audit_for_work(HOLD).await? {
        return Ok(0);
    }
    let moved = move_parts(store, clips).await;
    store.release_audit().await?;
    moved
}

/// How long one sweep may hold the audit log.
const HOLD: std::time::Duration = std::time::Duration::from_secs(600);

async fn move_parts(store: &Store, clips: &ClipStore) -> Result<usize, StoreError> {
    let mut parts = 0;
    loop {
        let raw = store.audit_overflow(PART).await?;
        let (Some((first, _)), Some((last, _))) = (raw.first(), raw.last()) else {
            return Ok(parts);
        };
        let part = SpilledPart {
            first: first.clone(),
            last: last.clone(),
            object: format!("archive/audit/{first}_{last}.json"),
        };
        let json = serde_json::to_vec(&raw).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if let Err(e) = clips.put_whole(&part.object, json).await {
            tracing::warn!(error = %e, "could not move old audit entries to the object store; Redis keeps them for now");
            return Ok(parts);
        }
        store.audit_moved(&part).await?;
        parts += 1;
    }
}

/// Up to `limit` entries after `after`, from the parts in the clip store
/// and then Redis, and whether more follow.
pub async fn audit_page(
    store: &Store,
    clips: &ClipStore,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<AuditEntry>, bool), StoreError> {
    let after_key = after.and_then(cursor_key);
    let mut out: Vec<AuditEntry> = Vec::new();
    let mut last_moved: Option<String> = None;
    for part in store.audit_parts().await? {
        last_moved = Some(part.last.clone());
        if after_key.is_some_and(|a| cursor_key(&part.last).is_some_and(|l| l <= a)) {
            continue;
        }
        if out.len() > limit {
            break;
        }
        for e in crate::jobs::read_part(clips, &part).await? {
            if after_key.is_none_or(|a| cursor_key(&e.0).is_some_and(|k| k > a)) {
                out.push(AuditEntry::from_raw(e));
            }
        }
    }
    if out.len() <= limit {
        // Redis from after the later of `after` and the last part moved.
        let from = match (after, last_moved.as_deref()) {
            (Some(a), Some(m)) if cursor_key(m) > cursor_key(a) => Some(m),
            (Some(a), _) => Some(a),
            (None, m) => m,
        };
        let (rest, _) = store.audit_page(from, limit + 1 - out.len()).await?;
        out.extend(rest);
    }
    let more = out.len() > limit;
    out.truncate(limit);
    Ok((out, more))
}
