//! The clip retention sweep, run by `vinpath sweep` and by `serve`'s jobs.
//! Safe to run on several instances at once: every step is idempotent.

use chrono::{DateTime, Utc};

use crate::media::ClipStore;
use crate::store::{Store, StoreError};

/// How long an upload may stay under way before the sweep takes it for
/// dead (its request gone between storing the object and recording it).
pub const UPLOAD_DEAD_AFTER: chrono::Duration = chrono::Duration::hours(6);

/// Removes the objects of uploads that died before their clip was
/// recorded; returns how many.
pub async fn sweep_unfinished(
    store: &Store,
    clips: &ClipStore,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut removed = 0;
    for (clip_id, recorded) in store
        .unfinished_uploads(now - UPLOAD_DEAD_AFTER, 100)
        .await?
    {
        if !recorded {
            match clips.delete(&format!("clips/{clip_id}")).await {
                Ok(()) => removed += 1,
                Err(e) => {
                    tracing::warn!(error = %e, clip = clip_id, "could not delete an unrecorded clip; will retry");
                    continue;
                }
            }
        }
        store.end_upload(&clip_id).await?;
    }
    Ok(removed)
}

/// Deletes clips kept longer than `retention` after their orders finished:
/// the object first, then its metadata, so nothing points at a missing
/// clip for longer than one sweep. Returns how many were deleted.
pub async fn sweep_clips(
    store: &Store,
    clips: &ClipStore,
    now: DateTime<Utc>,
    retention: chrono::Duration,
) -> Result<usize, StoreError> {
    let mut deleted = 0;
    loop {
        let expired = store.expired_clips(now, retention, 100).await?;
        if expired.is_empty() {
            return Ok(deleted);
        }
        let mut progressed = false;
        for meta in expired {
            // A recording's segments go with it.
            if meta.content_type == crate::recording::HLS
                && let Err(e) = crate::recording::delete_segments(clips, &meta).await
            {
                tracing::warn!(error = %e, clip = meta.clip_id, "could not delete a recording's segments; will retry");
                continue;
            }
            match clips.delete(&meta.key).await {
                Ok(()) => {
                    store.forget_clip(&meta).await?;
                    deleted += 1;
                    progressed = true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, clip = meta.clip_id, "could not delete an expired clip; will retry")
                }
            }
        }
        if !progressed {
            return Ok(deleted);
        }
    }
}

/// Deletes live camera segments no recording kept: those written longer
/// ago than the clips' retention and a day (a recording's own go with it,
/// by then past its retention too). Returns how many.
pub async fn sweep_live(
    clips: &ClipStore,
    now: DateTime<Utc>,
    retention: chrono::Duration,
) -> Result<usize, StoreError> {
    let before = now - retention - chrono::Duration::days(1);
    let mut deleted = 0;
    let old = match clips.written_before("live/", before, 1000).await {
        Ok(old) => old,
        Err(e) => {
            tracing::warn!(error = %e, "could not list old live segments; will retry");
            return Ok(0);
        }
    };
    for key in old {
        match clips.delete(&key).await {
            Ok(()) => deleted += 1,
            Err(e) => {
                tracing::warn!(error = %e, key, "could not delete an old live segment; will retry")
            }
        }
    }
    Ok(deleted)
}
