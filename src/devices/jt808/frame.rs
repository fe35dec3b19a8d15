//! JT/T 808 framing: `0x7e` flags, `0x7d` escapes, the XOR check code and
//! the message header of the 2013 and 2019 editions. Pure: bytes in,
//! frames out, and back.

/// The flag that opens and closes every frame.
pub const FLAG: u8 = 0x7e;
const ESCAPE: u8 = 0x7d;
/// The largest body the header's 10-bit length can name.
pub const MAX_BODY: usize = 0x3ff;
/// The longest header: 2019 edition (version byte, 10-byte phone) with
/// sub-package fields.
const MAX_HEADER: usize = 2 + 2 + 1 + 10 + 2 + 4;
/// The longest frame the standard allows between its flags, escaped: every
/// byte of header, body and check code escaped to two.
pub const MAX_ESCAPED: usize = 2 * (MAX_HEADER + MAX_BODY + 1);

/// A message header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub msg_id: u16,
    /// The protocol version byte of the 2019 edition; `None` for 2013.
    pub version: Option<u8>,
    /// The terminal's phone number, as the BCD digits of the header
    /// (12 in 2013, 20 in 2019).
    pub phone: String,
    pub serial: u16,
    /// The body is RSA-encrypted (attribute bit 10): vinpath refuses it.
    pub encrypted: bool,
    /// `(total, index)` of a long message's part, index from 1.
    pub package: Option<(u16, u16)>,
}

impl Header {
    /// A header for a platform message answering a terminal's, in its
    /// edition and with its phone number.
    pub fn reply(&self, msg_id: u16, serial: u16) -> Self {
        Self {
            msg_id,
            version: self.version,
            phone: self.phone.clone(),
            serial,
            encrypted: false,
            package: None,
        }
    }
}

/// One message, its escapes undone and its check code verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub header: Header,
    pub body: Vec<u8>,
}

/// What is wrong with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("0x7d not followed by 0x01 or 0x02")]
    Escape,
    #[error("the check code does not match")]
    Checksum,
    #[error("shorter than a header")]
    Short,
    #[error("the header's length does not match the body")]
    Length,
    #[error("the phone number is not BCD digits")]
    Bcd,
}

impl FrameError {
    /// A short name for metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            FrameError::Escape => "escape",
            FrameError::Checksum => "checksum",
            FrameError::Short => "short",
            FrameError::Length => "length",
            FrameError::Bcd => "bcd",
        }
    }
}

/// A frame that could not be read, with its header when that much could
/// be (so the answer can name the message it refuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadFrame {
    pub error: FrameError,
    pub header: Option<Header>,
}

/// Undoes the escapes of the bytes between two flags.
pub fn unescape(escaped: &[u8]) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::with_capacity(escaped.len());
    let mut bytes = escaped.iter();
    while let Some(&b) = bytes.next() {
        if b == ESCAPE {
            match bytes.next() {
                Some(0x01) => out.push(ESCAPE),
                Some(0x02) => out.push(FLAG),
                _ => return Err(FrameError::Escape),
            }
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

fn escape_into(out: &mut Vec<u8>, raw: &[u8]) {
    for &b in raw {
        match b {
            FLAG => out.extend_from_slice(&[ESCAPE, 0x02]),
            ESCAPE => out.extend_from_slice(&[ESCAPE, 0x01]),
            _ => out.push(b),
        }
    }
}

fn xor(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

fn bcd(bytes: &[u8]) -> Result<String, FrameError> {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if nibble > 9 {
                return Err(FrameError::Bcd);
            }
            s.push(char::from(b'0' + nibble));
        }
    }
    Ok(s)
}

/// Digits as `len` bytes of BCD, padded with leading zeros (extra leading
/// digits are cut: the standard's field is fixed).
fn to_bcd(digits: &str, len: usize) -> Vec<u8> {
    let mut nibbles: Vec<u8> = digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|d| d - b'0')
        .collect();
    let want = len * 2;
    if nibbles.len() > want {
        nibbles.drain(..nibbles.len() - want);
    }
    let mut padded = vec![0u8; want - nibbles.len()];
    padded.extend(nibbles);
    padded.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
}

fn u16_at(raw: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*raw.get(at)?, *raw.get(at + 1)?]))
}

/// Reads the header; returns it and where the body starts.
fn header(raw: &[u8]) -> Result<(Header, usize, usize), FrameError> {
    let msg_id = u16_at(raw, 0).ok_or(FrameError::Short)?;
    let attrs = u16_at(raw, 2).ok_or(FrameError::Short)?;
    let len = usize::from(attrs & 0x3ff);
    let encrypted = attrs & 0x1c00 != 0;
    let split = attrs & 0x2000 != 0;
    let (version, phone_at, phone_len) = if attrs & 0x4000 != 0 {
        (Some(*raw.get(4).ok_or(FrameError::Short)?), 5, 10)
    } else {
        (None, 4, 6)
    };
    let phone = bcd(raw
        .get(phone_at..phone_at + phone_len)
        .ok_or(FrameError::Short)?)?;
    let mut at = phone_at + phone_len;
    let serial = u16_at(raw, at).ok_or(FrameError::Short)?;
    at += 2;
    let package = if split {
        let total = u16_at(raw, at).ok_or(FrameError::Short)?;
        let index = u16_at(raw, at + 2).ok_or(FrameError::Short)?;
        at += 4;
        Some((total, index))
    } else {
        None
    };
    let h = Header {
        msg_id,
        version,
        phone,
        serial,
        encrypted,
        package,
    };
    Ok((h, at, len))
}

/// Reads one frame from the bytes between its flags.
pub fn decode(escaped: &[u8]) -> Result<Frame, BadFrame> {
    let bad = |error, header| BadFrame { error, header };
    let raw = unescape(escaped).map_err(|e| bad(e, None))?;
    let Some((&check, raw)) = raw.split_last() else {
        return Err(bad(FrameError::Short, None));
    };
    let (h, body_at, len) = header(raw).map_err(|e| bad(e, None))?;
    if xor(raw) != check {
        return Err(bad(FrameError::Checksum, Some(h)));
    }
    if raw.len() - body_at != len {
        return Err(bad(FrameError::Length, Some(h)));
    }
    Ok(Frame {
        body: raw[body_at..].to_vec(),
        header: h,
    })
}

/// A message on the wire: flags, escapes and check code added. A body
/// longer than [`MAX_BODY`] is the caller's mistake; its length is cut to
/// the field's 10 bits.
pub fn encode(h: &Header, body: &[u8]) -> Vec<u8> {
    let mut attrs = (body.len().min(MAX_BODY) as u16) & 0x3ff;
    if h.encrypted {
        attrs |= 0x0400;
    }
    if h.package.is_some() {
        attrs |= 0x2000;
    }
    if h.version.is_some() {
        attrs |= 0x4000;
    }
    let mut raw = Vec::with_capacity(MAX_HEADER + body.len() + 1);
    raw.extend_from_slice(&h.msg_id.to_be_bytes());
    raw.extend_from_slice(&attrs.to_be_bytes());
    match h.version {
        Some(v) => {
            raw.push(v);
            raw.extend(to_bcd(&h.phone, 10));
        }
        None => raw.extend(to_bcd(&h.phone, 6)),
    }
    raw.extend_from_slice(&h.serial.to_be_bytes());
    if let Some((total, index)) = h.package {
        raw.extend_from_slice(&total.to_be_bytes());
        raw.extend_from_slice(&index.to_be_bytes());
    }
    raw.extend_from_slice(body);
    raw.push(xor(&raw));
    let mut out = Vec::with_capacity(raw.len() + 8);
    out.push(FLAG);
    escape_into(&mut out, &raw);
    out.push(FLAG);
    out
}

/// Cuts a byte stream into frames: what lies between two flags. Bytes
/// before a first flag are garbage; a frame longer than the standard
/// allows is dropped whole.
#[derive(Debug, Default)]
pub struct Splitter {
    buf: Vec<u8>,
}

/// One piece cut from the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// The escaped bytes between two flags.
    Frame(Vec<u8>),
    /// Bytes that were no frame: outside any flags, or more than a frame
    /// may hold.
    Garbage(usize),
}

impl Splitter {
    /// The bytes read and not cut yet.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// How many bytes wait for their closing flag.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Returns the memory of an empty buffer (idle connections keep none).
    pub fn shrink(&mut self) {
        if self.buf.is_empty() {
            self.buf = Vec::new();
        }
    }

    /// The next piece, or `None` until more bytes arrive.
    pub fn next_piece(&mut self) -> Option<Piece> {
        let start = match self.buf.iter().position(|&b| b == FLAG) {
            Some(0) => 0,
            Some(n) => {
                self.buf.drain(..n);
                return Some(Piece::Garbage(n));
            }
            None if self.buf.is_empty() => return None,
            None => {
                let n = self.buf.len();
                self.buf.clear();
                return Some(Piece::Garbage(n));
            }
        };
        // Back-to-back frames may share no bytes between their flags: an
        // empty pair is a closing flag then an opening one.
        while self.buf.len() > start + 1 && self.buf[start + 1] == FLAG {
            self.buf.remove(start);
        }
        match self.buf[start + 1..].iter().position(|&b| b == FLAG) {
            Some(end) => {
                let frame = self.buf[start + 1..start + 1 + end].to_vec();
                // Keep the closing flag: it may open the next frame.
                self.buf.drain(..start + 1 + end);
                if self.buf == [FLAG] {
                    self.buf.clear();
                }
                Some(Piece::Frame(frame))
            }
            None if self.buf.len() - 1 > MAX_ESCAPED => {
                let n = self.buf.len();
                self.buf.clear();
                Some(Piece::Garbage(n))
            }
            None => None,
        }
    }
}

#[cfg(test)]
mod tests;
