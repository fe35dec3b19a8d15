//! The handover at the door: the customer reviews the delivery inspection,
//! accepts the car (or writes what is wrong), signs, and gets a six-digit
//! code to tell the driver; the `delivered` scan carries that code, or a
//! customer-not-available record with photos.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::FieldError;

/// The largest signature accepted, as its data URL.
pub const MAX_SIGNATURE_BYTES: usize = 512 * 1024;
/// Wrong codes a delivery may take before its code is locked.
pub const MAX_TRIES: u32 = 5;
/// The photos a customer-not-available record needs at least.
pub const AWAY_PHOTOS: usize = 2;

/// What a customer signs, as sent.
#[derive(Debug, Clone, Deserialize)]
pub struct HandoverIn {
    pub accepted: Option<bool>,
    #[serde(default)]
    pub exceptions: Option<String>,
    pub signer_name: Option<String>,
    pub signature: Option<String>,
}

/// What a customer signed, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Handover {
    pub accepted: bool,
    /// What the customer found wrong ('' none).
    pub exceptions: String,
    pub signer_name: String,
    /// The signature, a PNG.
    pub signature: Vec<u8>,
}

impl TryFrom<HandoverIn> for Handover {
    type Error = Vec<FieldError>;

    fn try_from(i: HandoverIn) -> Result<Self, Self::Error> {
        let mut errors = Vec::new();
        let accepted = i.accepted.unwrap_or_else(|| {
            errors.push(FieldError::new(
                "accepted",
                "accepted is required (true or false)",
            ));
            false
        });
        let exceptions = i.exceptions.unwrap_or_default().trim().to_owned();
        if exceptions.chars().count() > 2000 {
            errors.push(FieldError::new("exceptions", "at most 2000 characters"));
        }
        if !accepted && exceptions.is_empty() {
            errors.push(FieldError::new(
                "exceptions",
                "a car not accepted needs the reason written in exceptions",
            ));
        }
        let signer_name = i.signer_name.unwrap_or_default().trim().to_owned();
        let n = signer_name.chars().count();
        if n == 0 || n > 100 {
            errors.push(FieldError::new(
                "signer_name",
                "the name of who signs, 1 to 100 characters",
            ));
        }
        let signature = match i.signature.as_deref().map(signature_png) {
            Some(Ok(png)) => png,
            Some(Err(m)) => {
                errors.push(FieldError::new("signature", m));
                Vec::new()
            }
            None => {
                errors.push(FieldError::new(
                    "signature",
                    "signature is required: a PNG data URL",
                ));
                Vec::new()
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            accepted,
            exceptions,
            signer_name,
            signature,
        })
    }
}

/// The PNG of a `data:image/png;base64,...` URL of at most 512 KiB.
fn signature_png(url: &str) -> Result<Vec<u8>, String> {
    if url.len() > MAX_SIGNATURE_BYTES {
        return Err(format!(
            "the signature is {} KiB; at most {} KiB",
            url.len() / 1024,
            MAX_SIGNATURE_BYTES / 1024
        ));
    }
    let data = url
        .strip_prefix("data:image/png;base64,")
        .ok_or("the signature must be a PNG data URL (data:image/png;base64,...)")?;
    let png = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| "the signature's base64 cannot be read")?;
    if !infer::image::is_png(&png) {
        return Err("the signature's bytes are not a PNG".into());
    }
    Ok(png)
}

/// How a `delivered` scan proves the car reached its customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Proof {
    /// The six digits the customer was given when they signed.
    Code(String),
    /// Nobody was there: the driver's photos of where the car was left.
    CustomerAway { photo_ids: Vec<String> },
}

impl Proof {
    /// Reads a scan's proof fields; `Ok(None)` when it has none.
    pub fn read(
        code: Option<String>,
        away: Option<bool>,
        photo_ids: Option<Vec<String>>,
    ) -> Result<Option<Self>, String> {
        match (code, away.unwrap_or(false)) {
            (Some(_), true) => Err(
                "a delivered scan carries either handover_code or customer_not_available".into(),
            ),
            (Some(c), false) => {
                if c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(Some(Proof::Code(c)))
                } else {
                    Err("handover_code is the six digits the customer was given".into())
                }
            }
            (None, true) => {
                let mut photo_ids = photo_ids.unwrap_or_default();
                let mut seen = std::collections::HashSet::new();
                photo_ids.retain(|p| seen.insert(p.clone()));
                if photo_ids.len() < AWAY_PHOTOS || photo_ids.len() > 20 {
                    return Err(format!(
                        "customer_not_available needs photo_ids of {AWAY_PHOTOS} to 20 photos"
                    ));
                }
                Ok(Some(Proof::CustomerAway { photo_ids }))
            }
            (None, false) => match photo_ids {
                Some(_) => Err("photo_ids go with customer_not_available".into()),
                None => Ok(None),
            },
        }
    }
}

/// A fresh handover code: six random digits.
pub fn new_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOT: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52,
    ];

    fn input(signature: String) -> HandoverIn {
        HandoverIn {
            accepted: Some(true),
            exceptions: None,
            signer_name: Some(" Li Wei ".into()),
            signature: Some(signature),
        }
    }

    fn png_url(bytes: &[u8]) -> String {
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }

    #[test]
    fn a_signed_acceptance_is_read() {
        let h = Handover::try_from(input(png_url(DOT))).unwrap();
        assert!(h.accepted);
        assert_eq!(h.signer_name, "Li Wei");
        assert_eq!(h.signature, DOT);
    }

    #[test]
    fn a_signature_must_be_a_png_data_url_of_at_most_512_kib() {
        let field = |r: Result<Handover, Vec<FieldError>>| r.unwrap_err()[0].field.clone();
        assert_eq!(
            field(Handover::try_from(input(
                "data:image/jpeg;base64,AAAA".into()
            ))),
            "signature"
        );
        assert_eq!(
            field(Handover::try_from(input(png_url(b"GIF89a....")))),
            "signature"
        );
        let mut big = DOT.to_vec();
        big.resize(400 * 1024, 0);
        assert_eq!(field(Handover::try_from(input(png_url(&big)))), "signature");
    }

    #[test]
    fn a_refusal_says_why() {
        let mut i = input(png_url(DOT));
        i.accepted = Some(false);
        assert_eq!(
            Handover::try_from(i.clone()).unwrap_err()[0].field,
            "exceptions"
        );
        i.exceptions = Some("scratch on the rear bumper".into());
        assert!(!Handover::try_from(i).unwrap().accepted);
    }

    #[test]
    fn a_scan_proves_a_delivery_one_way() {
        assert_eq!(Proof::read(None, None, None), Ok(None));
        assert_eq!(
            Proof::read(Some("012345".into()), None, None),
            Ok(Some(Proof::Code("012345".into())))
        );
        assert!(Proof::read(Some("12345".into()), None, None).is_err());
        assert!(Proof::read(Some("123456".into()), Some(true), None).is_err());
        assert!(Proof::read(None, Some(true), Some(vec!["a".into()])).is_err());
        assert!(
            Proof::read(None, Some(true), Some(vec!["a".into(), "a".into()])).is_err(),
            "one photo twice is one photo"
        );
        assert!(Proof::read(None, Some(true), Some(vec!["a".into(), "b".into()])).is_ok());
        assert!(Proof::read(None, None, Some(vec!["a".into(), "b".into()])).is_err());
        assert!(new_code().len() == 6);
    }
}
