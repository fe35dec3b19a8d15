//! Inspection photos' records: what each is, where and when it was taken
//! (its EXIF), and who sent it. The images themselves live in the clip
//! store; a record is written only after they are all stored, so a record
//! always has its images.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{Result, Store, StoreError, keys};
use crate::domain::OrderId;

/// A photo of an order, as kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoRecord {
    pub photo_id: String,
    pub order_id: String,
    pub content_type: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    /// From its EXIF, where it had any.
    pub taken_at: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub uploaded_at: String,
    /// The credential that sent it.
    pub uploaded_by: String,
}

impl PhotoRecord {
    /// Where its images are in the clip store.
    pub fn object(order: &str, photo_id: &str, copy: PhotoCopy) -> String {
        let name = match copy {
            PhotoCopy::Original => "original",
            PhotoCopy::View => "view.jpg",
            PhotoCopy::Thumb => "thumb.jpg",
        };
        format!("photos/{order}/{photo_id}/{name}")
    }
}

/// The three copies of a photo: as sent (staff only), and the two
/// re-encoded without metadata (what customers see).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoCopy {
    Original,
    View,
    Thumb,
}

fn parse(raw: &str) -> Result<PhotoRecord> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("photo {raw:?}: {e}")))
}

impl Store {
    /// Keeps a photo's record; false when the order already had it (the
    /// same bytes sent again).
    pub async fn put_photo(&self, p: &PhotoRecord) -> Result<bool> {
        let json = serde_json::to_string(p).unwrap_or_default();
        let mut pipe = redis::pipe();
        pipe.cmd("HSETNX")
            .arg(keys::order_photos(&p.order_id))
            .arg(&p.photo_id)
            .arg(json);
        let (made,): (i64,) = self.query(&pipe).await?;
        Ok(made == 1)
    }

    pub async fn photo(&self, order: &OrderId, photo_id: &str) -> Result<Option<PhotoRecord>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGET")
            .arg(keys::order_photos(order))
            .arg(photo_id);
        let (raw,): (Option<String>,) = self.query(&pipe).await?;
        raw.as_deref().map(parse).transpose()
    }

    /// Every photo of an order, by id.
    pub async fn photos(&self, order: &OrderId) -> Result<HashMap<String, PhotoRecord>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HGETALL").arg(keys::order_photos(order));
        let (raw,): (HashMap<String, String>,) = self.query(&pipe).await?;
        raw.into_iter()
            .map(|(id, r)| Ok((id, parse(&r)?)))
            .collect()
    }
}
