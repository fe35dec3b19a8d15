//! Live camera video: cameras registered to a truck or a site push HLS
//! (`ffmpeg -f hls -method PUT`) to their secret ingest URL; vinpath
//! stores each segment in the clip store, lists it once the camera's
//! playlist names it, and serves its own live playlist: to staff for any
//! camera, to a customer's link for the cameras that show their car now.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, Caller};
use crate::domain::camera::{
    LIVE_WINDOW, MAX_PLAYLIST_BYTES, MAX_SEGMENT_BYTES, judge_segment, parse_camera_id, valid_name,
};
use crate::domain::{Camera, FieldError, Pushed, Role, Watches, utc};
use crate::media::UploadError;
use crate::media::segment::Judged;
use crate::store::cameras::{Listed, Listing, Registered};
use crate::store::clips::ClipMeta;

#[derive(Deserialize)]
pub struct CameraIn {
    camera_id: Option<String>,
    truck_id: Option<String>,
    site_id: Option<String>,
    /// For a truck camera an admin registers: whose truck.
    carrier_id: Option<String>,
}

fn view(c: &Camera, live: bool) -> Value {
    let mut v = json!({"camera_id": c.camera_id, "kind": c.kind(), "live": live});
    match &c.watches {
        Watches::Truck {
            carrier_id,
            truck_id,
        } => {
            v["carrier_id"] = json!(carrier_id);
            v["truck_id"] = json!(truck_id);
        }
        Watches::Site { site_id } => v["site_id"] = json!(site_id),
    }
    v
}

#[utoipa::path(
    post,
    path = "/api/v1/cameras",
    operation_id = "cameras_register",
    tag = "cameras",
    summary = "Register a camera on a truck or in a warehouse bay (admin; a carrier for its trucks); answers its secret ingest URL, shown once",
    request_body = crate::http::openapi::schemas::CameraBody,
    responses(
        (status = 201, description = "Registered", body = crate::http::openapi::schemas::CameraRegistered),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn register(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let input: CameraIn = super::body::json(&req, payload).await?;
    let mut errors = Vec::new();
    let camera_id = match parse_camera_id(input.camera_id.as_deref().unwrap_or_default()) {
        Ok(id) => id,
        Err(e) => {
            errors.push(e);
            String::new()
        }
    };
    let watches = match (&caller.0, input.truck_id, input.site_id) {
        (_, Some(_), Some(_)) | (_, None, None) => {
            errors.push(FieldError::new(
                "truck_id",
                "a camera watches exactly one of truck_id and site_id",
            ));
            None
        }
        (Role::Carrier(c), Some(t), None) => Some(Watches::Truck {
            carrier_id: c.to_string(),
            truck_id: t,
        }),
        (Role::Admin, Some(t), None) => match input
            .carrier_id
            .as_deref()
            .and_then(|c| crate::domain::CarrierId::parse(c).ok())
        {
            Some(c) if state.store.carrier_exists(&c).await? => Some(Watches::Truck {
                carrier_id: c.to_string(),
                truck_id: t,
            }),
            _ => {
                errors.push(FieldError::new(
                    "carrier_id",
                    "a truck camera names the carrier whose truck it is",
                ));
                None
            }
        },
        (Role::Admin, None, Some(s)) => {
            let sites = state.store.current_sites().await?;
            if sites.iter().any(|x| x.site.id == s.as_str()) {
                Some(Watches::Site { site_id: s })
            } else {
                errors.push(FieldError::new("site_id", format!("no site {s:?}")));
                None
            }
        }
        _ => return Err(ApiError::Forbidden),
    };
    if let Some(Watches::Truck { truck_id, .. }) = &watches
        && crate::domain::TruckId::parse(truck_id).is_err()
    {
        errors.push(FieldError::new("truck_id", "not a truck id"));
    }
    let (Some(watches), true) = (watches, errors.is_empty()) else {
        return Err(ApiError::Invalid(errors));
    };
    let camera = Camera {
        camera_id,
        watches,
        created_at: utc(state.clock.now()),
    };
    match state.store.register_camera(&camera).await? {
        Registered::New(secret) => {
            let mut v = view(&camera, false);
            v["ingest_url"] = json!(format!(
                "{}/api/v1/ingest/{secret}/live.m3u8",
                state.public_url
            ));
            Ok(HttpResponse::Created().json(v))
        }
        Registered::Exists => Err(ApiError::Conflict(
            "camera_exists",
            format!("camera {} is registered already", camera.camera_id),
        )),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/cameras",
    operation_id = "cameras_list",
    tag = "cameras",
    summary = "Every camera and whether it is live (staff; a carrier sees its own)",
    responses(
        (status = 200, description = "The cameras", body = crate::http::openapi::schemas::CameraList),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all: Vec<Camera> = state
        .store
        .cameras()
        .await?
        .into_iter()
        .filter(|c| match (&caller.0, &c.watches) {
            (Role::Carrier(me), Watches::Truck { carrier_id, .. }) => me.as_str() == carrier_id,
            (Role::Carrier(_), Watches::Site { .. }) => false,
            _ => true,
        })
        .collect();
    let ids: Vec<&str> = all.iter().map(|c| c.camera_id.as_str()).collect();
    let states = state.store.live_states(&ids).await?;
    let now = state.clock.now();
    let cameras: Vec<Value> = all
        .iter()
        .map(|c| view(c, states.get(&c.camera_id).is_some_and(|s| s.live(now))))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"cameras": cameras})))
}

fn unknown_camera() -> ApiError {
    ApiError::Unauthorized
}

/// `PUT` of a playlist or a segment to a camera's ingest URL.
#[utoipa::path(
    put,
    path = "/api/v1/ingest/{secret}/{name}",
    operation_id = "cameras_ingest",
    tag = "cameras",
    summary = "A camera pushes its HLS: playlists (.m3u8) and MPEG-TS or fMP4 segments, judged by their bytes",
    request_body(content = crate::http::openapi::schemas::Video, content_type = "application/octet-stream", description = "A playlist, or a segment of at most 64 MiB"),
    params(("secret" = String, Path), ("name" = String, Path)),
    responses(
        (status = 201, description = "Stored (a segment is listed once a playlist names it)"),
        (status = 429, description = "The camera pushes more than 20 segments or 64 MiB in 10 s", body = crate::http::openapi::schemas::Problem, content_type = "application/problem+json"),
        crate::http::openapi::schemas::WriteErrors,
    ),
)]
pub async fn ingest(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (secret, name) = path.into_inner();
    if !valid_name(&name) {
        return Err(ApiError::invalid(
            "name",
            "a file name of letters, digits, '-', '_' and '.'",
        ));
    }
    // The body is read as it comes while the secret is looked up: an
    // encoder shuts its side as soon as it has sent the last chunk, and a
    // body left waiting may then be cut short by the server.
    // A wrong secret is refused as soon as it is known, the body dropped.
    let is_playlist = name.ends_with(".m3u8");
    let read = read_pushed(payload, is_playlist);
    let lookup = state.store.camera_by_secret(&secret);
    tokio::pin!(read, lookup);
    let (camera, body) = tokio::select! {
        camera = &mut lookup => {
            let camera = camera?.ok_or_else(unknown_camera)?;
            (camera, read.await)
        }
        body = &mut read => (lookup.await?.ok_or_else(unknown_camera)?, body),
    };
    let body = body.inspect_err(|e| {
        tracing::warn!(camera = camera.camera_id, name, error = %e, "a push was refused");
    })?;
    let (kind, chunks, size) = match body {
        Body::Playlist(text) => return playlist(&state, &camera, &text).await,
        Body::Segment(kind, chunks, size) => (kind, chunks, size),
    };
    // A camera that floods, or pushes faster than real time, is capped.
    if !state
        .store
        .within_rate(&camera.camera_id, size, state.clock.now())
        .await?
    {
        use crate::domain::camera::{RATE_SEGMENTS, RATE_WINDOW_SECS};
        return Err(ApiError::TooMany(
            "camera_rate",
            format!(
                "a camera pushes at most {RATE_SEGMENTS} segments (64 MiB) every {RATE_WINDOW_SECS} s"
            ),
        ));
    }
    let object = format!(
        "live/{}/{}-{name}",
        camera.camera_id,
        ulid::Ulid::generate()
    );
    let rest = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, String>));
    let size = match state
        .clips
        .upload(&object, Bytes::new(), rest, MAX_SEGMENT_BYTES)
        .await
    {
        Ok(stored) if stored == size => stored,
        Ok(_) => return Err(ApiError::Internal),
        Err(UploadError::TooLarge(max)) => {
            return Err(ApiError::TooLarge(format!(
                "a segment is at most {max} bytes"
            )));
        }
        Err(UploadError::Broken(m)) => {
            return Err(ApiError::BadRequest(format!("the upload broke off: {m}")));
        }
        Err(UploadError::Store(e)) => return Err(e.into()),
    };
    let listing = state
        .store
        .segment_arrived(
            &camera.camera_id,
            &name,
            &object,
            kind.ext(),
            size,
            state.clock.now(),
        )
        .await?;
    told(&state, &camera, &listing).await?;
    Ok(HttpResponse::Created().finish())
}

/// What a camera pushed, read whole: a playlist, or a segment's chunks as
/// they came (one copy), its kind and size.
enum Body {
    Playlist(BytesMut),
    Segment(Pushed, Vec<Bytes>, u64),
}

async fn read_pushed(mut payload: web::Payload, is_playlist: bool) -> Result<Body, ApiError> {
    let broke =
        |e: &dyn std::fmt::Display| ApiError::BadRequest(format!("the upload broke off: {e}"));
    if is_playlist {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            body.extend_from_slice(&chunk.map_err(|e| broke(&e))?);
            if body.len() > MAX_PLAYLIST_BYTES {
                return Err(ApiError::TooLarge(format!(
                    "a playlist is at most {MAX_PLAYLIST_BYTES} bytes"
                )));
            }
        }
        return Ok(Body::Playlist(body));
    }
    let mut head = BytesMut::new();
    while head.len() < 376 {
        match payload.next().await {
            Some(chunk) => head.extend_from_slice(&chunk.map_err(|e| broke(&e))?),
            None => break,
        }
    }
    let kind = judge_segment(&head).ok_or_else(|| {
        ApiError::UnsupportedMediaType(
            "a camera pushes .m3u8 playlists and MPEG-TS or fMP4 segments".into(),
        )
    })?;
    // A cut right after a whole segment is taken as its end (media::segment).
    let mut rest = Judged::new(payload, kind, &head);
    let mut size = head.len() as u64;
    let mut chunks = vec![head.freeze()];
    while let Some(chunk) = rest.next().await {
        let chunk = chunk.map_err(|e| broke(&e))?;
        size += chunk.len() as u64;
        if size > MAX_SEGMENT_BYTES {
            return Err(ApiError::TooLarge(format!(
                "a segment is at most {MAX_SEGMENT_BYTES} bytes"
            )));
        }
        chunks.push(chunk);
    }
    Ok(Body::Segment(kind, chunks, size))
}

/// A camera's playlist: the segments it names that have arrived are
/// listed, with its durations.
async fn playlist(
    state: &AppState,
    camera: &Camera,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let parsed = m3u8_rs::parse_media_playlist_res(body)
        .map_err(|_| ApiError::BadRequest("the playlist does not parse as HLS".into()))?;
    let named: Vec<(String, f64)> = parsed
        .segments
        .iter()
        .map(|s| {
            let name = s.uri.rsplit('/').next().unwrap_or(&s.uri).to_owned();
            (name, f64::from(s.duration))
        })
        .collect();
    let listing = state
        .store
        .list_segments(
            &camera.camera_id,
            &named,
            parsed.target_duration.max(1),
            parsed.end_list,
            state.clock.now(),
        )
        .await?;
    told(state, camera, &listing).await?;
    Ok(HttpResponse::Created().finish())
}

/// A camera going on or off air: its cars are told; a broadcast that
/// ended is recorded.
async fn told(state: &AppState, camera: &Camera, listing: &Listing) -> Result<(), ApiError> {
    let now = state.clock.now();
    if listing.started {
        let n = state.store.announce_camera(camera, true, now).await?;
        tracing::info!(camera = camera.camera_id, cars = n, "a camera went live");
    }
    if let Some(broadcast) = &listing.ended {
        let n = state.store.announce_camera(camera, false, now).await?;
        tracing::info!(camera = camera.camera_id, cars = n, "a camera went off air");
        crate::recording::record(&state.store, &state.clips, camera, broadcast, now).await?;
    }
    Ok(())
}

/// `DELETE` of an old segment: vinpath keeps what it listed, for its own
/// window and recordings.
#[utoipa::path(
    delete,
    path = "/api/v1/ingest/{secret}/{name}",
    operation_id = "cameras_ingest_delete",
    tag = "cameras",
    summary = "A camera drops an old segment (vinpath keeps its own window)",
    params(("secret" = String, Path), ("name" = String, Path)),
    responses(
        (status = 204, description = "Done"),
        crate::http::openapi::schemas::ReadErrors,
    ),
)]
pub async fn ingest_delete(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (secret, _) = path.into_inner();
    state
        .store
        .camera_by_secret(&secret)
        .await?
        .ok_or_else(unknown_camera)?;
    Ok(HttpResponse::NoContent().finish())
}

/// vinpath's live playlist of a camera: its last segments under its own
/// sequence numbers (ended with `#EXT-X-ENDLIST` once the camera is off).
async fn live_playlist(
    state: &AppState,
    camera: &str,
    since_ms: i64,
) -> Result<HttpResponse, ApiError> {
    let listed: Vec<Listed> = state
        .store
        .listed(camera)
        .await?
        .into_iter()
        .filter(|l| l.at >= since_ms)
        .collect();
    let live = state.store.live_states(&[camera]).await?;
    let s = live.get(camera).cloned().unwrap_or_default();
    let now = state.clock.now();
    let on = s.live(now);
    let broadcast = if on {
        s.broadcast.clone()
    } else {
        listed.last().map(|l| l.b.clone()).unwrap_or_default()
    };
    let window: Vec<&Listed> = listed
        .iter()
        .filter(|l| l.b == broadcast)
        .rev()
        .take(LIVE_WINDOW)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if window.is_empty() {
        return Err(ApiError::NotFound(format!(
            "camera {camera} has not broadcast"
        )));
    }
    let fmp4 = window.iter().any(|l| l.k == "m4s");
    let segments = window
        .iter()
        .enumerate()
        .map(|(i, l)| m3u8_rs::MediaSegment {
            uri: format!("{}.{}", l.seq, l.k),
            duration: l.dur as f32,
            map: (fmp4 && i == 0).then(|| m3u8_rs::Map {
                uri: "init.mp4".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let p = m3u8_rs::MediaPlaylist {
        version: Some(if fmp4 { 7 } else { 3 }),
        target_duration: window
            .iter()
            .map(|l| l.dur.ceil() as u64)
            .max()
            .unwrap_or(1)
            .max(s.target),
        media_sequence: window[0].seq,
        segments,
        end_list: !on,
        ..Default::default()
    };
    let mut out = Vec::new();
    p.write_to(&mut out).map_err(|_| ApiError::Internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, Pushed::Playlist.content_type()))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(out))
}

/// A segment (`{seq}.ts`, `{seq}.m4s`) or the initialisation segment
/// (`init.mp4`) of a camera's broadcast, Range supported.
async fn segment(
    state: &AppState,
    req: &HttpRequest,
    camera: &str,
    file: &str,
    since_ms: i64,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no {file} of camera {camera}"));
    let (key, size, content_type) = if file == "init.mp4" {
        let live = state.store.live_states(&[camera]).await?;
        let (obj, n) = live
            .get(camera)
            .and_then(|s| s.init.clone())
            .ok_or_else(not_found)?;
        (obj, n, Pushed::Init.content_type())
    } else {
        let (seq, ext) = file.split_once('.').ok_or_else(not_found)?;
        let seq: u64 = seq.parse().map_err(|_| not_found())?;
        let l = state
            .store
            .listed(camera)
            .await?
            .into_iter()
            .find(|l| l.seq == seq && l.k == ext && l.at >= since_ms)
            .ok_or_else(not_found)?;
        let t = if l.k == "ts" {
            Pushed::Ts
        } else {
            Pushed::Fmp4
        };
        (l.obj, l.n, t.content_type())
    };
    let meta = ClipMeta {
        clip_id: key.rsplit('/').next().unwrap_or(&key).to_owned(),
        key,
        content_type: content_type.to_owned(),
        size,
        kind: "live".into(),
        captured_at: DateTime::<Utc>::UNIX_EPOCH,
        carrier_id: String::new(),
        order_ids: Vec::new(),
        truck_id: None,
        created_at: DateTime::<Utc>::UNIX_EPOCH,
    };
    super::playback::play(state, req, meta).await
}

/// A file of a camera's live stream for staff: `live.m3u8` or a segment.
#[utoipa::path(
    get,
    path = "/api/v1/cameras/{camera_id}/{file}",
    operation_id = "cameras_play",
    tag = "cameras",
    summary = "A camera's live playlist (live.m3u8), or one of its segments (staff; a carrier its own trucks')",
    params(("camera_id" = String, Path), ("file" = String, Path, description = "live.m3u8, init.mp4 or a segment the playlist names")),
    responses(
        (status = 200, description = "The playlist or segment", content_type = "application/vnd.apple.mpegurl"),
        (status = 206, description = "Part of a segment", content_type = "video/mp2t"),
        crate::http::openapi::schemas::ClipErrors,
    ),
    security(("bearer" = []))
)]
pub async fn staff_file(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (camera, file) = path.into_inner();
    match &caller.0 {
        Role::Carrier(me) => match state.store.camera(&camera).await? {
            Some(Camera {
                watches: Watches::Truck { carrier_id, .. },
                ..
            }) if carrier_id == me.as_str() => {}
            _ => return Err(ApiError::NotFound(format!("no camera {camera}"))),
        },
        _ => {
            state
                .store
                .camera(&camera)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("no camera {camera}")))?;
        }
    }
    serve(&state, &req, &camera, &file, 0).await
}

/// `since_ms`: the oldest footage the viewer may see (a customer's car
/// came into view then; staff: 0).
async fn serve(
    state: &AppState,
    req: &HttpRequest,
    camera: &str,
    file: &str,
    since_ms: i64,
) -> Result<HttpResponse, ApiError> {
    if file == "live.m3u8" {
        live_playlist(state, camera, since_ms).await
    } else {
        segment(state, req, camera, file, since_ms).await
    }
}

/// A file of a camera's live stream under a customer's link: only a
/// camera that shows their car now; any other is 404.
#[utoipa::path(
    get,
    path = "/api/v1/track/{token}/cameras/{camera_id}/{file}",
    operation_id = "cameras_play_for_customer",
    tag = "tracking",
    summary = "The live playlist (live.m3u8) or a segment of a camera that shows the customer's car now",
    params(("token" = String, Path), ("camera_id" = String, Path), ("file" = String, Path)),
    responses(
        (status = 200, description = "The playlist or segment", content_type = "application/vnd.apple.mpegurl"),
        (status = 206, description = "Part of a segment", content_type = "video/mp2t"),
        crate::http::openapi::schemas::PublicClipErrors,
    ),
)]
pub async fn customer_file(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (token, camera, file) = path.into_inner();
    let not_found = || ApiError::NotFound(format!("no camera {camera} for this link"));
    let id = super::track::resolve(&state, &token).await?;
    let order = state.store.order(&id).await?.ok_or_else(not_found)?;
    let since = state
        .store
        .camera(&camera)
        .await?
        .and_then(|c| c.shows_since(&order));
    let Some(since) = since.filter(|_| !super::track::expired(&state, &order)) else {
        return Err(not_found());
    };
    serve(&state, &req, &camera, &file, since).await
}

/// A segment of a recorded broadcast (a clip whose playlist names it as
/// `{clip_id}/{file}`), Range supported.
async fn recorded(
    state: &AppState,
    req: &HttpRequest,
    meta: ClipMeta,
    file: &str,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no {file} in clip {}", meta.clip_id));
    let folder = crate::recording::segments_folder(&meta.key).ok_or_else(not_found)?;
    if !valid_name(file) {
        return Err(not_found());
    }
    // Only what its playlist names.
    let playlist = state
        .clips
        .get_whole(&meta.key)
        .await?
        .ok_or_else(not_found)?;
    let named = format!("{}/{file}", meta.clip_id);
    if !String::from_utf8_lossy(&playlist)
        .lines()
        .any(|l| l == named || l.contains(&format!("URI=\"{named}\"")))
    {
        return Err(not_found());
    }
    let key = format!("{folder}{file}");
    let size = state.clips.size(&key).await?.ok_or_else(not_found)?;
    let content_type = match file.rsplit('.').next() {
        Some("ts") => Pushed::Ts.content_type(),
        _ => Pushed::Fmp4.content_type(),
    };
    let meta = ClipMeta {
        clip_id: file.to_owned(),
        key,
        content_type: content_type.to_owned(),
        size,
        ..meta
    };
    super::playback::play(state, req, meta).await
}

/// A segment of a recording, under a customer's link.
#[utoipa::path(
    get,
    path = "/api/v1/track/{token}/clips/{clip}/{file}",
    operation_id = "recordings_play_for_customer",
    tag = "tracking",
    summary = "A segment of a recorded broadcast (a clip played as HLS), Range supported",
    params(("token" = String, Path), ("clip" = String, Path), ("file" = String, Path)),
    responses(
        (status = 200, description = "The segment", content_type = "video/mp2t"),
        (status = 206, description = "Part of it", content_type = "video/mp2t"),
        crate::http::openapi::schemas::PublicClipErrors,
    ),
)]
pub async fn recording_for_customer(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (token, clip_id, file) = path.into_inner();
    let id = super::track::resolve(&state, &token).await?;
    // As the clip's playlist: not once the link has expired.
    let gone = || ApiError::NotFound("this tracking link is not valid".into());
    let order = state.store.order(&id).await?.ok_or_else(gone)?;
    if super::track::expired(&state, &order) {
        return Err(gone());
    }
    let meta = super::playback::clip_of(&state, &clip_id, id.as_str()).await?;
    recorded(&state, &req, meta, &file).await
}

/// A segment of a recording, for staff and the order's carrier.
#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/clips/{clip}/{file}",
    operation_id = "recordings_play_for_order",
    tag = "clips",
    summary = "A segment of a recorded broadcast (a clip played as HLS), Range supported",
    params(("id" = String, Path), ("clip" = String, Path), ("file" = String, Path)),
    responses(
        (status = 200, description = "The segment", content_type = "video/mp2t"),
        (status = 206, description = "Part of it", content_type = "video/mp2t"),
        crate::http::openapi::schemas::ClipErrors,
    ),
    security(("bearer" = []))
)]
pub async fn recording_for_order(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (order, clip_id, file) = path.into_inner();
    let id = super::photos::readable(&caller, &state, &order).await?;
    let meta = super::playback::clip_of(&state, &clip_id, id.as_str()).await?;
    recorded(&state, &req, meta, &file).await
}
