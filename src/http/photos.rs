//! Inspection photos: carriers and staff send them (JPEG, PNG or WebP,
//! judged by their bytes, at most 20 MiB); staff read them as sent,
//! customers only the copies made without metadata.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{ApiError, AppState, Caller};
use crate::domain::{OrderId, Role};
use crate::media::photo::{self, PhotoError};
use crate::store::photos::{PhotoCopy, PhotoRecord};

/// The most a photo may weigh.
pub const MAX_PHOTO_BYTES: usize = 20 * 1024 * 1024;

#[derive(Deserialize)]
pub struct CopyQuery {
    copy: Option<String>,
}

/// A photo's id: the same for the same bytes of the same order, so a
/// retried upload finds the photo it made.
fn photo_id(order: &OrderId, bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(order.as_str().as_bytes());
    h.update([0]);
    h.update(bytes);
    let hex: String = h
        .finalize()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("ph_{hex}")
}

fn answer(p: &PhotoRecord) -> serde_json::Value {
    json!({"photo_id": p.photo_id, "content_type": p.content_type, "width": p.width, "height": p.height,
        "taken_at": p.taken_at, "lat": p.lat, "lon": p.lon})
}

/// The order a caller names, if it exists and the caller may see it.
pub(super) async fn readable(
    caller: &Caller,
    state: &AppState,
    raw: &str,
) -> Result<OrderId, ApiError> {
    let id = super::orders::order_id(raw)?;
    let order = state
        .store
        .order(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no order {id}")))?;
    caller.may_read(&order)?;
    Ok(id)
}

#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/photos",
    operation_id = "photos_upload",
    tag = "inspections",
    summary = "Send a photo of a car for its inspections (its carrier, staff)",
    request_body(content = crate::http::openapi::schemas::Video, content_type = "application/octet-stream", description = "A JPEG, PNG or WebP image, judged by its bytes, at most 20 MiB"),
    params(("id" = String, Path)),
    responses(
        (status = 201, description = "Kept", body = crate::http::openapi::schemas::PhotoStored),
        (status = 200, description = "The same photo was sent before", body = crate::http::openapi::schemas::PhotoStored),
        crate::http::openapi::schemas::WriteErrors,
    ),
    security(("bearer" = []))
)]
pub async fn upload(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = readable(&caller, &state, &path).await?;
    let bytes = super::events::read_body_up_to(&req, payload, MAX_PHOTO_BYTES, "a photo")
        .await?
        .freeze();
    if photo::image_type(&bytes).is_none() {
        return Err(ApiError::UnsupportedMediaType(
            "a photo is a JPEG, PNG or WebP image".into(),
        ));
    }
    let photo_id = photo_id(&id, &bytes);
    if let Some(p) = state.store.photo(&id, &photo_id).await? {
        return Ok(HttpResponse::Ok().json(answer(&p)));
    }
    let original = bytes.clone();
    let made = web::block(move || photo::prepare(&original))
        .await
        .map_err(|_| ApiError::Internal)?
        .map_err(|e| match e {
            PhotoError::NotAnImage => {
                ApiError::UnsupportedMediaType("a photo is a JPEG, PNG or WebP image".into())
            }
            PhotoError::Broken(why) => {
                ApiError::invalid("body", format!("the image does not decode: {why}"))
            }
        })?;
    // The images first, the record last: a record always has its images.
    let object = |copy| PhotoRecord::object(id.as_str(), &photo_id, copy);
    state
        .clips
        .put_whole(&object(PhotoCopy::Original), bytes.to_vec())
        .await?;
    state
        .clips
        .put_whole(&object(PhotoCopy::View), made.view)
        .await?;
    state
        .clips
        .put_whole(&object(PhotoCopy::Thumb), made.thumb)
        .await?;
    let by = match &caller.0 {
        Role::Admin => "admin".to_owned(),
        Role::Dispatcher { name } => format!("dispatcher:{name}"),
        Role::Carrier(c) => format!("carrier:{c}"),
    };
    let record = PhotoRecord {
        photo_id: photo_id.clone(),
        order_id: id.to_string(),
        content_type: made.content_type.to_owned(),
        bytes: bytes.len() as u64,
        width: made.width,
        height: made.height,
        taken_at: made.taken.at.map(crate::domain::utc),
        lat: made.taken.lat,
        lon: made.taken.lon,
        uploaded_at: crate::domain::utc(state.clock.now()),
        uploaded_by: by,
    };
    if !state.store.put_photo(&record).await? {
        // Sent twice at once: the first record stands.
        let kept = state.store.photo(&id, &photo_id).await?.unwrap_or(record);
        return Ok(HttpResponse::Ok().json(answer(&kept)));
    }
    Ok(HttpResponse::Created().json(answer(&record)))
}

#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/photos/{photo_id}",
    operation_id = "photos_get",
    tag = "inspections",
    summary = "A photo: as sent, or its copy without metadata, or its thumbnail (staff, its carrier)",
    params(
        ("id" = String, Path),
        ("photo_id" = String, Path),
        ("copy" = Option<String>, Query, description = "original (default), view or thumb"),
    ),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg"),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<CopyQuery>,
) -> Result<HttpResponse, ApiError> {
    let (raw, photo_id) = path.into_inner();
    let id = readable(&caller, &state, &raw).await?;
    let copy = match query.copy.as_deref() {
        None | Some("original") => PhotoCopy::Original,
        Some("view") => PhotoCopy::View,
        Some("thumb") => PhotoCopy::Thumb,
        Some(_) => return Err(ApiError::invalid("copy", "must be original, view or thumb")),
    };
    serve(&state, &id, &photo_id, copy).await
}

#[utoipa::path(
    get,
    path = "/api/v1/track/{token}/photos/{photo_id}",
    operation_id = "photos_get_for_customer",
    tag = "tracking",
    summary = "A photo of the customer's car, without its metadata",
    params(
        ("token" = String, Path),
        ("photo_id" = String, Path),
        ("copy" = Option<String>, Query, description = "view (default) or thumb"),
    ),
    responses(
        (status = 200, description = "The image (JPEG)", content_type = "image/jpeg"),
        crate::http::openapi::schemas::ReadErrors,
    ),
)]
pub async fn get_for_customer(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<CopyQuery>,
) -> Result<HttpResponse, ApiError> {
    let (token, photo_id) = path.into_inner();
    let id = super::track::resolve(&state, &token).await?;
    let copy = match query.copy.as_deref() {
        None | Some("view") => PhotoCopy::View,
        Some("thumb") => PhotoCopy::Thumb,
        Some(_) => return Err(ApiError::invalid("copy", "must be view or thumb")),
    };
    serve(&state, &id, &photo_id, copy).await
}

async fn serve(
    state: &AppState,
    id: &OrderId,
    photo_id: &str,
    copy: PhotoCopy,
) -> Result<HttpResponse, ApiError> {
    let not_found = || ApiError::NotFound(format!("no photo {photo_id} of order {id}"));
    let record = state
        .store
        .photo(id, photo_id)
        .await?
        .ok_or_else(not_found)?;
    let bytes = state
        .clips
        .get_whole(&PhotoRecord::object(id.as_str(), photo_id, copy))
        .await?
        .ok_or_else(not_found)?;
    let content_type = match copy {
        PhotoCopy::Original => record.content_type,
        PhotoCopy::View | PhotoCopy::Thumb => "image/jpeg".to_owned(),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400, immutable"))
        .body(bytes))
}
