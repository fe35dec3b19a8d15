//! `?after=&limit=` of the APIs that page through a stream (an order's
//! history, the audit log): read and checked once.

use serde::Deserialize;

use super::ApiError;
use crate::store::history::cursor_key;

#[derive(Deserialize)]
pub struct Page {
    after: Option<String>,
    limit: Option<String>,
}

impl Page {
    /// The cursor to page after (checked to be one this API gave) and the
    /// page size (1 to 1000, 100 unless asked).
    pub fn read(&self) -> Result<(Option<&str>, usize), ApiError> {
        let limit = match self.limit.as_deref() {
            None => 100,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=1000).contains(l))
                .ok_or_else(|| ApiError::BadRequest("limit must be 1 to 1000".into()))?,
        };
        let after = self.after.as_deref();
        if after.is_some_and(|a| cursor_key(a).is_none()) {
            return Err(ApiError::BadRequest(
                "after must be a cursor from this API".into(),
            ));
        }
        Ok((after, limit))
    }
}
