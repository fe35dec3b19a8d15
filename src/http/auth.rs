//! Who is calling: the bearer credential of the request (or, for the fleet
//! websocket, its `access_token` query parameter) resolved to a role.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use super::{ApiError, AppState};
use crate::domain::{CarrierId, OrderState, Role};

/// Who made a write the audit log keeps: an admin or a dispatcher.
#[derive(Debug, Clone)]
pub struct Audited {
    pub credential_id: String,
    pub role: &'static str,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Role);

fn bearer(req: &HttpRequest) -> Option<String> {
    let h = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn access_token(req: &HttpRequest) -> Option<String> {
    web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .ok()?
        .get("access_token")
        .cloned()
}

/// The bearer token of a request (on a websocket, also its
/// `access_token`: browsers cannot set headers there).
pub(super) fn token(req: &HttpRequest) -> Option<String> {
    bearer(req).or_else(|| {
        req.path()
            .starts_with("/ws/")
            .then(|| access_token(req))
            .flatten()
    })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = token(req);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or(ApiError::Internal)?;
            let token = token
                .filter(|t| !t.is_empty())
                .ok_or(ApiError::Unauthorized)?;
            let role = state
                .store
                .authenticate(&token, state.admin_hash.as_deref())
                .await?;
            let (role, credential_id) = role.ok_or(ApiError::Unauthorized)?;
            let audited = match &role {
                Role::Admin => Some("admin"),
                Role::Dispatcher { .. } => Some("dispatcher"),
                Role::Carrier(_) => None,
            };
            if let Some(r) = audited {
                req.extensions_mut().insert(Audited {
                    credential_id: credential_id.unwrap_or_else(|| "admin".into()),
                    role: r,
                });
            }
            Ok(Caller(role))
        })
    }
}

impl Caller {
    /// Admins and dispatchers.
    pub fn dispatcher(&self) -> Result<(), ApiError> {
        if self.0.dispatches() {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    pub fn admin(&self) -> Result<(), ApiError> {
        match self.0 {
            Role::Admin => Ok(()),
            _ => Err(ApiError::Forbidden),
        }
    }

    pub fn carrier(&self) -> Result<&CarrierId, ApiError> {
        match &self.0 {
            Role::Carrier(c) => Ok(c),
            _ => Err(ApiError::Forbidden),
        }
    }

    /// Admins, dispatchers and the order's own carrier may read an order.
    pub fn may_read(&self, order: &OrderState) -> Result<(), ApiError> {
        match &self.0 {
            Role::Carrier(c) if *c != order.carrier_id => Err(ApiError::Forbidden),
            _ => Ok(()),
        }
    }
}
