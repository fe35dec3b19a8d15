//! Inspection photos: judged by their bytes (JPEG, PNG or WebP), their
//! EXIF time and place read, and two copies made once, a thumbnail and the
//! copy customers see, both re-encoded as JPEG so no EXIF (a phone's GPS,
//! its serial number) leaves with them. CPU work: run it off the
//! request's thread.

use std::io::Cursor;

use chrono::{DateTime, NaiveDateTime, Utc};
use image::{DynamicImage, ImageFormat, ImageReader};

/// The longest side of a thumbnail and of the customer's copy, in pixels.
const THUMB_SIDE: u32 = 320;
const VIEW_SIDE: u32 = 1600;

/// Why a photo was refused.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("the image does not decode: {0}")]
    Broken(String),
}

/// What a photo's EXIF says of where and when it was taken.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Taken {
    pub at: Option<DateTime<Utc>>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// A photo made ready to keep.
#[derive(Debug)]
pub struct Photo {
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub taken: Taken,
    /// JPEG copies without metadata.
    pub thumb: Vec<u8>,
    pub view: Vec<u8>,
}

/// The image type of these bytes, if vinpath keeps it.
pub fn image_type(head: &[u8]) -> Option<&'static str> {
    match infer::get(head)?.mime_type() {
        "image/jpeg" => Some("image/jpeg"),
        "image/png" => Some("image/png"),
        "image/webp" => Some("image/webp"),
        _ => None,
    }
}

/// Reads, checks and copies a photo.
pub fn prepare(bytes: &[u8]) -> Result<Photo, PhotoError> {
    let content_type = image_type(bytes).ok_or(PhotoError::NotAnImage)?;
    let format = match content_type {
        "image/png" => ImageFormat::Png,
        "image/webp" => ImageFormat::WebP,
        _ => ImageFormat::Jpeg,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // A photo of a car is never larger than this; a forged header is.
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| PhotoError::Broken(e.to_string()))?;
    Ok(Photo {
        content_type,
        width: img.width(),
        height: img.height(),
        taken: taken(bytes),
        thumb: jpeg(&img, THUMB_SIDE, 78)?,
        view: jpeg(&img, VIEW_SIDE, 85)?,
    })
}

fn jpeg(img: &DynamicImage, side: u32, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let small = if img.width() > side || img.height() > side {
        img.resize(side, side, image::imageops::FilterType::Triangle)
    } else {
        img.clone()
    };
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    small
        .to_rgb8()
        .write_with_encoder(encoder)
        .map_err(|e| PhotoError::Broken(e.to_string()))?;
    Ok(out)
}

/// The EXIF time (as the camera's local time, taken as China's, UTC+8,
/// unless it says its offset) and GPS position, where there are any.
fn taken(bytes: &[u8]) -> Taken {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return Taken::default();
    };
    let text = |tag| {
        exif.get_field(tag, exif::In::PRIMARY)
            .map(|f| f.display_value().to_string().trim_matches('"').to_owned())
    };
    let at = text(exif::Tag::DateTimeOriginal)
        .or_else(|| text(exif::Tag::DateTime))
        .and_then(|t| {
            let local = NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S").ok()?;
            let offset = text(exif::Tag::OffsetTimeOriginal)
                .and_then(|o| o.parse::<chrono::FixedOffset>().ok())
                .or_else(|| chrono::FixedOffset::east_opt(8 * 3600))?;
            Some(local.and_local_timezone(offset).single()?.to_utc())
        });
    let degrees = |value, reference, negative: &str| {
        let field = exif.get_field(value, exif::In::PRIMARY)?;
        let exif::Value::Rational(parts) = &field.value else {
            return None;
        };
        let [d, m, s] = parts.as_slice() else {
            return None;
        };
        let deg = d.to_f64() + m.to_f64() / 60.0 + s.to_f64() / 3600.0;
        let sign = if text(reference).is_some_and(|r| r.starts_with(negative)) {
            -1.0
        } else {
            1.0
        };
        Some(sign * deg).filter(|v| v.is_finite())
    };
    Taken {
        at,
        lat: degrees(exif::Tag::GPSLatitude, exif::Tag::GPSLatitudeRef, "S"),
        lon: degrees(exif::Tag::GPSLongitude, exif::Tag::GPSLongitudeRef, "W"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRONT: &[u8] = include_bytes!("../../fixtures/photos/front.jpg");
    const KEYS: &[u8] = include_bytes!("../../fixtures/photos/keys.png");

    #[test]
    fn a_phone_photo_keeps_its_time_and_place_and_its_copies_lose_them() {
        let p = prepare(FRONT).unwrap();
        assert_eq!(p.content_type, "image/jpeg");
        assert_eq!((p.width, p.height), (1280, 960));
        assert_eq!(
            p.taken.at.map(|t| t.to_rfc3339()),
            Some("2026-11-25T00:05:00+00:00".to_owned()),
            "08:05 at +08:00"
        );
        assert!((p.taken.lat.unwrap() - 23.0301).abs() < 1e-4);
        assert!((p.taken.lon.unwrap() - 113.4702).abs() < 1e-4);
        for copy in [&p.thumb, &p.view] {
            assert_eq!(image_type(copy), Some("image/jpeg"));
            assert!(
                exif::Reader::new()
                    .read_from_container(&mut Cursor::new(copy))
                    .is_err(),
                "no EXIF in a copy"
            );
        }
        let thumb = image::load_from_memory(&p.thumb).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 240));
    }

    #[test]
    fn a_png_without_exif_and_what_is_no_image() {
        let p = prepare(KEYS).unwrap();
        assert_eq!(p.content_type, "image/png");
        assert_eq!(p.taken, Taken::default());
        assert!(matches!(
            prepare(b"%PDF-1.7 not a photo"),
            Err(PhotoError::NotAnImage)
        ));
        // A JPEG's start, then nothing a decoder can read.
        let mut forged = vec![0xFF, 0xD8, 0xFF, 0xE0];
        forged.extend_from_slice(&[0x13; 64]);
        assert!(matches!(prepare(&forged), Err(PhotoError::Broken(_))));
    }
}
