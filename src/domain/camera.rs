//! Cameras on car carriers and in warehouse bays: where each looks, which
//! cars it shows (a truck camera the cars aboard, a site camera the cars
//! stored there), and what a camera may push (HLS: playlists, MPEG-TS or
//! fMP4 segments, judged by their bytes).

use serde::{Deserialize, Serialize};

use super::{FieldError, Milestone, OrderState};

/// The largest segment a camera may push.
pub const MAX_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// The largest playlist a camera may push.
pub const MAX_PLAYLIST_BYTES: usize = 256 * 1024;
/// A camera's pushes are capped per window of this many seconds...
pub const RATE_WINDOW_SECS: u64 = 10;
/// ...at this many segments (twice real time for 1-second segments)...
pub const RATE_SEGMENTS: u64 = 20;
/// ...and this many bytes (some 50 Mbit/s).
pub const RATE_BYTES: u64 = 64 * 1024 * 1024;

/// Segments the live playlist lists.
pub const LIVE_WINDOW: usize = 6;

/// What a camera looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Watches {
    /// A truck's deck (truck ids are the carrier's).
    Truck {
        carrier_id: String,
        truck_id: String,
    },
    /// A warehouse bay.
    Site { site_id: String },
}

/// A registered camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    pub camera_id: String,
    pub watches: Watches,
    pub created_at: String,
}

impl Camera {
    pub fn kind(&self) -> &'static str {
        match self.watches {
            Watches::Truck { .. } => "truck",
            Watches::Site { .. } => "site",
        }
    }

    /// Whether it shows this car now: a truck camera while the car is on
    /// that truck, a site camera while the car is stored at that site.
    pub fn shows(&self, o: &OrderState) -> bool {
        use Milestone::*;
        match &self.watches {
            Watches::Truck {
                carrier_id,
                truck_id,
            } => {
                matches!(o.milestone, Loaded | InTransit | Arrived)
                    && o.carrier_id.as_str() == carrier_id
                    && o.truck_id.as_ref().is_some_and(|t| t.as_str() == truck_id)
            }
            Watches::Site { site_id } => {
                matches!(
                    o.milestone,
                    GatedIn | InStorage | Pdi | InRepair | ReadyForDelivery
                ) && o.site.as_ref().is_some_and(|s| &s.site_id == site_id)
            }
        }
    }
}

impl Camera {
    /// Since when it shows this car (ms), if it shows it now: footage from
    /// before is not the car's to see.
    pub fn shows_since(&self, o: &OrderState) -> Option<i64> {
        if !self.shows(o) {
            return None;
        }
        let since = match &self.watches {
            Watches::Truck { .. } => o.truck_since,
            Watches::Site { .. } => o
                .site
                .as_ref()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s.at).ok())
                .map(|t| t.with_timezone(&chrono::Utc)),
        };
        Some(since.map_or(0, |t| t.timestamp_millis()))
    }
}

/// A camera's id: 1 to 64 of letters, digits, `-` and `_`.
pub fn parse_camera_id(s: &str) -> Result<String, FieldError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(FieldError::new(
            "camera_id",
            "1 to 64 letters, digits, '-' or '_'",
        ))
    }
}

/// What a camera pushed, by its name and its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Playlist,
    /// An MPEG-TS segment.
    Ts,
    /// An fMP4 media segment.
    Fmp4,
    /// An fMP4 initialisation segment.
    Init,
}

impl Pushed {
    /// The file extension vinpath serves it under.
    pub fn ext(self) -> &'static str {
        match self {
            Pushed::Playlist => "m3u8",
            Pushed::Ts => "ts",
            Pushed::Fmp4 => "m4s",
            Pushed::Init => "mp4",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Pushed::Playlist => "application/vnd.apple.mpegurl",
            Pushed::Ts => "video/mp2t",
            Pushed::Fmp4 | Pushed::Init => "video/mp4",
        }
    }
}

/// A pushed file's name: letters, digits, `-`, `_` and `.`, at most 100.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Judges a segment by its first bytes: MPEG-TS (sync bytes every 188),
/// an fMP4 media segment (`styp`, `moof`, or `sidx` first) or an
/// initialisation segment (`ftyp`). `None`: neither.
pub fn judge_segment(head: &[u8]) -> Option<Pushed> {
    if head.len() >= 188 && head[0] == 0x47 && (head.len() < 189 || head[188] == 0x47) {
        return Some(Pushed::Ts);
    }
    if head.len() >= 8 {
        return match &head[4..8] {
            b"ftyp" => Some(Pushed::Init),
            b"styp" | b"moof" | b"sidx" | b"prft" => Some(Pushed::Fmp4),
            _ => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_judged_by_their_bytes() {
        let mut ts = vec![0u8; 376];
        ts[0] = 0x47;
        ts[188] = 0x47;
        assert_eq!(judge_segment(&ts), Some(Pushed::Ts));
        ts[188] = 0;
        assert_eq!(judge_segment(&ts), None);
        assert_eq!(judge_segment(b"\0\0\0\x18ftypiso5...."), Some(Pushed::Init));
        assert_eq!(judge_segment(b"\0\0\0\x18moof........"), Some(Pushed::Fmp4));
        assert_eq!(judge_segment(b"GIF89a......"), None);
    }

    #[test]
    fn names_stay_in_their_folder() {
        assert!(valid_name("live12.ts"));
        assert!(!valid_name("../x.ts"));
        assert!(!valid_name(".hidden"));
        assert!(!valid_name("a/b.ts"));
        assert!(parse_camera_id("yue-a-12345-deck").is_ok());
        assert!(parse_camera_id("a b").is_err());
    }
}
