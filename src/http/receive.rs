//! Receiving a clip upload: sniffed by its bytes, streamed into storage
//! and recorded for its orders, with nothing left behind on a failure.

use actix_web::web;
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};

use super::clips::too_large;
use super::{ApiError, AppState};
use crate::domain::CarrierId;
use crate::media::UploadError;
use crate::media::sniff::{SNIFF_BYTES, video_type};
use crate::store::clips::{AttachError, ClipMeta};

/// Sniffs, streams into storage and records the clip; on any failure
/// nothing is left behind. `recorded` names the clip once it is recorded
/// (for some orders at least): what a retry with its idempotency key finds.
pub(super) async fn store_clip(
    state: &AppState,
    carrier: &CarrierId,
    kind: String,
    captured_at: chrono::DateTime<chrono::Utc>,
    (order_ids, truck_id): (Vec<String>, Option<String>),
    payload: &mut web::Payload,
    recorded: &mut Option<String>,
) -> Result<ClipMeta, ApiError> {
    let max = state.max_clip_bytes;
    let mut head = BytesMut::new();
    while head.len() < SNIFF_BYTES {
        match payload.next().await {
            Some(chunk) => {
                let chunk = chunk
                    .map_err(|e| ApiError::BadRequest(format!("the upload broke off: {e}")))?;
                head.extend_from_slice(&chunk);
                if head.len() as u64 > max {
                    return Err(too_large(max));
                }
            }
            None => break,
        }
    }
    let content_type = video_type(&head)
        .ok_or_else(|| ApiError::UnsupportedMediaType("a clip must be MP4 or WebM video".into()))?;
    let clip_id = ulid::Ulid::generate().to_string();
    let key = format!("clips/{clip_id}");
    // Noted first: should this request die between storing the object and
    // recording it, the sweep finds the object and removes it.
    state
        .store
        .begin_upload(&clip_id, state.clock.now())
        .await?;
    let rest = payload.map_err(|e| e.to_string());
    let size = match state.clips.upload(&key, Bytes::from(head), rest, max).await {
        Ok(size) => size,
        Err(e) => {
            // A refused or broken upload leaves no object behind.
            let _ = state.store.end_upload(&clip_id).await;
            return Err(match e {
                UploadError::TooLarge(max) => too_large(max),
                UploadError::Broken(m) => {
                    ApiError::BadRequest(format!("the upload broke off: {m}"))
                }
                UploadError::Store(e) => e.into(),
            });
        }
    };
    let now = state.clock.now();
    let mut meta = ClipMeta {
        clip_id,
        key,
        content_type: content_type.to_owned(),
        size,
        kind,
        captured_at,
        carrier_id: carrier.to_string(),
        order_ids,
        truck_id,
        created_at: now,
    };
    let delete = async |key: &str| {
        if let Err(d) = state.clips.delete(key).await {
            tracing::error!(error = %d, key, "could not delete an unrecorded clip");
        }
    };
    let clip_id = meta.clip_id.clone();
    let result = match state.store.attach_clip(&meta, now).await {
        Ok(reached) if reached.is_empty() => {
            delete(&meta.key).await;
            Err(ApiError::Conflict(
                "order_changed",
                "the order is no longer this carrier's".into(),
            ))
        }
        Ok(reached) => {
            meta.order_ids = reached;
            *recorded = Some(clip_id.clone());
            Ok(meta)
        }
        Err(AttachError::NotRecorded(e)) => {
            delete(&meta.key).await;
            Err(e.into())
        }
        // Recorded: the clip stays for the orders that have it, and the
        // retention sweep knows it.
        Err(AttachError::Partial(e)) => {
            *recorded = Some(clip_id.clone());
            Err(e.into())
        }
    };
    // Ended either way (recorded, or its object removed); should this note
    // fail, the sweep finds the clip recorded and only forgets the note.
    let _ = state.store.end_upload(&clip_id).await;
    result
}
