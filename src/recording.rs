//! Recordings: a camera's broadcast that ended becomes a clip of every car
//! it showed (those in view when it went live or when it went off): a VOD
//! playlist of its segments, kept in the clip store beside them, announced
//! to each car as a `clip` event like any other clip. Its retention is the
//! clips' own: the sweep deletes its segments with it.

use chrono::{DateTime, Utc};

use crate::domain::{Camera, Watches};
use crate::media::{ClipStore, MediaError};
use crate::store::cameras::Listed;
use crate::store::clips::ClipMeta;
use crate::store::{Store, StoreError};

/// The content type recordings are served with.
pub const HLS: &str = "application/vnd.apple.mpegurl";

/// Where a recording's playlist is kept.
fn playlist_key(camera: &str, clip_id: &str) -> String {
    format!("recordings/{camera}/{clip_id}.m3u8")
}

/// The folder of a recording's segments: its camera's live objects.
pub fn segments_folder(playlist_key: &str) -> Option<String> {
    let camera = playlist_key
        .strip_prefix("recordings/")?
        .split('/')
        .next()?;
    Some(format!("live/{camera}/"))
}

/// The VOD playlist of a broadcast's segments, each named under the clip
/// (`{clip_id}/{object name}`), fMP4 with its initialisation segment.
pub fn vod_playlist(clip_id: &str, segments: &[Listed]) -> Vec<u8> {
    let fmp4 = segments.iter().any(|s| s.k == "m4s");
    let name = |obj: &str| obj.rsplit('/').next().unwrap_or(obj).to_owned();
    let mut init_before: Option<&str> = None;
    let list = segments
        .iter()
        .map(|s| {
            let init = s.i.as_deref().filter(|i| Some(*i) != init_before);
            if init.is_some() {
                init_before = init;
            }
            m3u8_rs::MediaSegment {
                uri: format!("{clip_id}/{}", name(&s.obj)),
                duration: s.dur as f32,
                map: init.map(|i| m3u8_rs::Map {
                    uri: format!("{clip_id}/{}", name(i)),
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    let p = m3u8_rs::MediaPlaylist {
        version: Some(if fmp4 { 7 } else { 3 }),
        target_duration: segments
            .iter()
            .map(|s| s.dur.ceil() as u64)
            .max()
            .unwrap_or(1),
        segments: list,
        end_list: true,
        playlist_type: Some(m3u8_rs::MediaPlaylistType::Vod),
        ..Default::default()
    };
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = p.write_to(&mut out);
    out
}

/// Makes the ended broadcast a clip of the cars it showed; `None` when it
/// listed nothing or showed no car.
pub async fn record(
    store: &Store,
    clips: &ClipStore,
    camera: &Camera,
    broadcast: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let (segments, cars) = store.take_recording(&camera.camera_id, broadcast).await?;
    if segments.is_empty() || cars.is_empty() {
        return Ok(None);
    }
    let clip_id = ulid::Ulid::generate().to_string();
    let key = playlist_key(&camera.camera_id, &clip_id);
    let body = vod_playlist(&clip_id, &segments);
    let size = body.len() as u64;
    // Noted first, as any upload: should this die before the clip is
    // recorded, the sweep removes the playlist.
    store.begin_upload(&clip_id, now).await?;
    clips
        .put_whole(&key, body)
        .await
        .map_err(|e| StoreError::Corrupt(format!("recording {clip_id}: {e}")))?;
    let captured_at = broadcast
        .parse()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or(now);
    let (kind, carrier_id) = match &camera.watches {
        Watches::Truck { carrier_id, .. } => ("transport", carrier_id.clone()),
        Watches::Site { .. } => ("storage", String::new()),
    };
    let meta = ClipMeta {
        clip_id: clip_id.clone(),
        key,
        content_type: HLS.into(),
        size,
        kind: kind.into(),
        captured_at,
        carrier_id,
        order_ids: cars,
        truck_id: None,
        created_at: now,
    };
    let reached = store.attach_clip(&meta, now).await;
    store.end_upload(&clip_id).await?;
    match reached {
        Ok(orders) => {
            tracing::info!(
                camera = camera.camera_id,
                clip = clip_id,
                cars = orders.len(),
                "a broadcast was recorded"
            );
            Ok(Some(clip_id))
        }
        Err(
            crate::store::clips::AttachError::NotRecorded(e)
            | crate::store::clips::AttachError::Partial(e),
        ) => Err(e),
    }
}

/// Deletes the segments a recording's playlist names (and their
/// initialisation segments): the sweep's part before the playlist goes.
pub async fn delete_segments(clips: &ClipStore, meta: &ClipMeta) -> Result<usize, MediaError> {
    let Some(folder) = segments_folder(&meta.key) else {
        return Ok(0);
    };
    let Some(playlist) = clips.get_whole(&meta.key).await? else {
        return Ok(0);
    };
    let prefix = format!("{}/", meta.clip_id);
    let text = String::from_utf8_lossy(&playlist);
    let mut deleted = 0;
    for line in text.lines() {
        let uri = match line.split_once("URI=\"") {
            Some((_, rest)) => rest.split('"').next().unwrap_or_default(),
            None if !line.starts_with('#') => line,
            None => continue,
        };
        if let Some(name) = uri.strip_prefix(&prefix)
            && crate::domain::camera::valid_name(name)
        {
            clips.delete(&format!("{folder}{name}")).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}
