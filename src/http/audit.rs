//! The audit log: every write by an admin or a dispatcher (`Audited`, left
//! on the request by the caller's authentication), recorded once it
//! succeeded; and `GET /api/v1/audit` to read it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use serde_json::json;

use super::auth::Audited;
use super::page::Page;
use super::{ApiError, AppState, Caller};

/// Records each successful write of an admin or a dispatcher.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let write = !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS");
    let res = next.call(req).await?;
    if !write || !res.status().is_success() {
        return Ok(res);
    }
    let request = res.request();
    let who = request.extensions().get::<Audited>().cloned();
    let state = request.app_data::<web::Data<AppState>>().cloned();
    if let (Some(who), Some(state)) = (who, state) {
        let action = format!(
            "{} {}",
            request.method(),
            request
                .match_pattern()
                .unwrap_or_else(|| request.path().to_owned())
        );
        let target = super::loggable_path(request.path());
        if let Err(e) = state
            .store
            .audit(&who.credential_id, who.role, &action, &target)
            .await
        {
            tracing::warn!(error = %e, action, "could not record a write in the audit log");
        }
    }
    Ok(res)
}

/// `GET /api/v1/audit?after=&limit=` (admin).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "audit_list",
    tag = "credentials",
    summary = "Every write by an admin or a dispatcher, oldest first (admin)",
    params(
        ("after" = Option<String>, Query, description = "The cursor after which to read (`next` of the previous page)"),
        ("limit" = Option<u32>, Query, description = "At most this many"),
    ),
    responses(
        (status = 200, description = "Done", body = crate::http::openapi::schemas::AuditPage),
        crate::http::openapi::schemas::ReadErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    query: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    caller.admin()?;
    let (after, limit) = query.read()?;
    let (entries, more) = crate::jobs::audit_page(&state.store, &state.clips, after, limit).await?;
    let next = more
        .then(|| entries.last().map(|e| e.cursor.clone()))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({"entries": entries, "next": next})))
}
