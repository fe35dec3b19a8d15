//! JT/T 808 message bodies vinpath reads and writes: registration,
//! authentication, heartbeat, logout, location (0x0200) and batch upload
//! (0x0704) from the terminal; the general response (0x8001) and the
//! registration response (0x8100) from the platform.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

use super::frame::Header;
use crate::domain::DeviceFix;

pub const TERMINAL_RESPONSE: u16 = 0x0001;
pub const HEARTBEAT: u16 = 0x0002;
pub const LOGOUT: u16 = 0x0003;
pub const REGISTER: u16 = 0x0100;
pub const AUTHENTICATE: u16 = 0x0102;
pub const LOCATION: u16 = 0x0200;
pub const BATCH: u16 = 0x0704;
pub const PLATFORM_RESPONSE: u16 = 0x8001;
pub const REGISTER_RESPONSE: u16 = 0x8100;

/// A message id as a metrics label: the ones vinpath reads by name, any
/// other as "other" (a terminal must not grow the label set at will).
pub fn label(msg_id: u16) -> &'static str {
    match msg_id {
        TERMINAL_RESPONSE => "0x0001",
        HEARTBEAT => "0x0002",
        LOGOUT => "0x0003",
        REGISTER => "0x0100",
        AUTHENTICATE => "0x0102",
        LOCATION => "0x0200",
        BATCH => "0x0704",
        _ => "other",
    }
}

/// Results of the platform general response (0x8001).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Result808 {
    Ok = 0,
    Failure = 1,
    /// The message could not be read.
    BadMessage = 2,
    /// vinpath does not take this message.
    Unsupported = 3,
}

/// Results of the registration response (0x8100).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Registered {
    Ok = 0,
    /// No such terminal: the device is not registered with vinpath.
    NoSuchTerminal = 4,
}

/// A location report (0x0200, and each item of 0x0704).
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub alarm: u32,
    pub status: u32,
    pub lat: f64,
    pub lon: f64,
    pub altitude_m: u16,
    /// From the GNSS, km/h.
    pub speed_kmh: f64,
    pub heading: u16,
    pub at: DateTime<Utc>,
    /// Additional item 0x01, km.
    pub mileage_km: Option<f64>,
    /// Additional item 0x03, the tachograph's speed, km/h.
    pub tachograph_kmh: Option<f64>,
    /// Additional item 0x30, the mobile network's signal strength.
    pub signal: Option<u8>,
    /// Additional item 0x31, GNSS satellites in view.
    pub satellites: Option<u8>,
}

impl Location {
    /// Alarm bit 0: the driver pressed the emergency button.
    pub fn emergency(&self) -> bool {
        self.alarm & 1 != 0
    }

    /// Status bit 1: the position is a fix (not the last known one).
    pub fn positioned(&self) -> bool {
        self.status & 0b10 != 0
    }

    /// The fix in vinpath's units: the tachograph's speed where there is
    /// one (the vehicle's own, legally calibrated), else the GNSS's.
    pub fn fix(&self) -> DeviceFix {
        DeviceFix {
            at: self.at,
            lat: self.lat,
            lon: self.lon,
            speed_kmh: Some(self.tachograph_kmh.unwrap_or(self.speed_kmh)),
            heading: Some(f64::from(self.heading % 360)),
            hdop: None,
            emergency: self.emergency(),
        }
    }
}

/// What a terminal said.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Register,
    Authenticate {
        code: String,
    },
    Heartbeat,
    Logout,
    Location(Location),
    /// A batch upload; `blind_area` when it supplements reports the
    /// terminal could not send in time.
    Batch {
        blind_area: bool,
        locations: Vec<Location>,
    },
    /// The terminal's answer to a platform message: nothing to answer.
    Response,
    Other(u16),
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(pub &'static str);

fn u16_at(b: &[u8], at: usize) -> Result<u16, BodyError> {
    b.get(at..at + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or(BodyError("the body is cut short"))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, BodyError> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(BodyError("the body is cut short"))
}

fn bcd2(b: u8) -> Result<u32, BodyError> {
    let (hi, lo) = (b >> 4, b & 0x0f);
    if hi > 9 || lo > 9 {
        return Err(BodyError("the time is not BCD"));
    }
    Ok(u32::from(hi * 10 + lo))
}

/// `YYMMDDhhmmss` in BCD, in Beijing time (UTC+8) as the standard says.
fn bcd_time(b: &[u8]) -> Result<DateTime<Utc>, BodyError> {
    let d: Vec<u32> = b.iter().map(|&x| bcd2(x)).collect::<Result<_, _>>()?;
    let bad = BodyError("the time is not a date");
    let date = NaiveDate::from_ymd_opt(2000 + d[0] as i32, d[1], d[2]).ok_or(bad.clone())?;
    let naive = date.and_hms_opt(d[3], d[4], d[5]).ok_or(bad.clone())?;
    let beijing = FixedOffset::east_opt(8 * 3600).ok_or(bad.clone())?;
    beijing
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or(bad)
}

/// Reads a location report's body.
pub fn location(b: &[u8]) -> Result<Location, BodyError> {
    if b.len() < 28 {
        return Err(BodyError("a location report is at least 28 bytes"));
    }
    let status = u32_at(b, 4)?;
    let mut lat = f64::from(u32_at(b, 8)?) / 1e6;
    let mut lon = f64::from(u32_at(b, 12)?) / 1e6;
    if status & 0b100 != 0 {
        lat = -lat;
    }
    if status & 0b1000 != 0 {
        lon = -lon;
    }
    let mut loc = Location {
        alarm: u32_at(b, 0)?,
        status,
        lat,
        lon,
        altitude_m: u16_at(b, 16)?,
        speed_kmh: f64::from(u16_at(b, 18)?) / 10.0,
        heading: u16_at(b, 20)?,
        at: bcd_time(&b[22..28])?,
        mileage_km: None,
        tachograph_kmh: None,
        signal: None,
        satellites: None,
    };
    // Additional items: id, length, value. Ones vinpath does not use are
    // skipped; one cut short ends the list (terminals pad oddly).
    let mut at = 28;
    while let (Some(&id), Some(&len)) = (b.get(at), b.get(at + 1)) {
        let Some(value) = b.get(at + 2..at + 2 + usize::from(len)) else {
            break;
        };
        match (id, value.len()) {
            (0x01, 4) => loc.mileage_km = Some(f64::from(u32_at(value, 0)?) / 10.0),
            (0x03, 2) => loc.tachograph_kmh = Some(f64::from(u16_at(value, 0)?) / 10.0),
            (0x30, 1) => loc.signal = Some(value[0]),
            (0x31, 1) => loc.satellites = Some(value[0]),
            _ => {}
        }
        at += 2 + usize::from(len);
    }
    Ok(loc)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .trim_end_matches('\0')
        .trim()
        .to_owned()
}

/// Reads a terminal's message.
pub fn read(h: &Header, body: &[u8]) -> Result<Message, BodyError> {
    Ok(match h.msg_id {
        REGISTER => Message::Register,
        AUTHENTICATE => {
            // 2019: a length byte, the code, then IMEI and software version.
            let code = if h.version.is_some() {
                let n = usize::from(*body.first().ok_or(BodyError("no authentication code"))?);
                text(
                    body.get(1..1 + n)
                        .ok_or(BodyError("the code is cut short"))?,
                )
            } else {
                text(body)
            };
            Message::Authenticate { code }
        }
        HEARTBEAT => Message::Heartbeat,
        LOGOUT => Message::Logout,
        LOCATION => Message::Location(location(body)?),
        BATCH => {
            let count = usize::from(u16_at(body, 0)?);
            let kind = *body.get(2).ok_or(BodyError("the body is cut short"))?;
            let mut at = 3;
            let mut locations = Vec::with_capacity(count.min(64));
            for _ in 0..count {
                let len = usize::from(u16_at(body, at)?);
                let item = body
                    .get(at + 2..at + 2 + len)
                    .ok_or(BodyError("a batch item is cut short"))?;
                locations.push(location(item)?);
                at += 2 + len;
            }
            Message::Batch {
                blind_area: kind == 1,
                locations,
            }
        }
        TERMINAL_RESPONSE => Message::Response,
        other => Message::Other(other),
    })
}

/// The platform general response body (0x8001).
pub fn general_response(to: &Header, result: Result808) -> Vec<u8> {
    let mut b = Vec::with_capacity(5);
    b.extend_from_slice(&to.serial.to_be_bytes());
    b.extend_from_slice(&to.msg_id.to_be_bytes());
    b.push(result as u8);
    b
}

/// The registration response body (0x8100): the code only on success.
pub fn register_response(to: &Header, result: Registered, code: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(3 + code.len());
    b.extend_from_slice(&to.serial.to_be_bytes());
    b.push(result as u8);
    if result == Registered::Ok {
        b.extend_from_slice(code.as_bytes());
    }
    b
}

/// A location body (for the device simulator and tests).
pub fn location_body(l: &Location) -> Vec<u8> {
    let mut status = l.status & !0b1100;
    if l.lat < 0.0 {
        status |= 0b100;
    }
    if l.lon < 0.0 {
        status |= 0b1000;
    }
    let mut b = Vec::with_capacity(40);
    b.extend_from_slice(&l.alarm.to_be_bytes());
    b.extend_from_slice(&status.to_be_bytes());
    b.extend_from_slice(&((l.lat.abs() * 1e6).round() as u32).to_be_bytes());
    b.extend_from_slice(&((l.lon.abs() * 1e6).round() as u32).to_be_bytes());
    b.extend_from_slice(&l.altitude_m.to_be_bytes());
    b.extend_from_slice(&((l.speed_kmh * 10.0).round() as u16).to_be_bytes());
    b.extend_from_slice(&l.heading.to_be_bytes());
    let beijing = l.at + chrono::Duration::hours(8);
    let s = beijing.format("%y%m%d%H%M%S").to_string();
    for pair in s.as_bytes().chunks(2) {
        b.push(((pair[0] - b'0') << 4) | (pair[1] - b'0'));
    }
    if let Some(m) = l.mileage_km {
        b.extend_from_slice(&[0x01, 4]);
        b.extend_from_slice(&((m * 10.0).round() as u32).to_be_bytes());
    }
    if let Some(s) = l.tachograph_kmh {
        b.extend_from_slice(&[0x03, 2]);
        b.extend_from_slice(&((s * 10.0).round() as u16).to_be_bytes());
    }
    if let Some(s) = l.signal {
        b.extend_from_slice(&[0x30, 1, s]);
    }
    if let Some(s) = l.satellites {
        b.extend_from_slice(&[0x31, 1, s]);
    }
    b
}

/// A batch upload body (0x0704).
pub fn batch_body(blind_area: bool, locations: &[Location]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(locations.len() as u16).to_be_bytes());
    b.push(u8::from(blind_area));
    for l in locations {
        let item = location_body(l);
        b.extend_from_slice(&(item.len() as u16).to_be_bytes());
        b.extend(item);
    }
    b
}
