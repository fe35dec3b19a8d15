//! Whether a pushed video segment arrived whole, judged by its structure
//! as its bytes stream by: MPEG-TS is whole 188-byte packets, each opening
//! with its sync byte; fMP4 is whole boxes, end to end.
//!
//! ffmpeg ends each `-method PUT` upload with the last chunk and then
//! shuts its side of the connection; actix-web may see that end before it
//! has read the last chunk and report the body cut short. A segment whose
//! structure is whole at that point arrived whole; one cut off mid-packet
//! or mid-box did not, and is refused.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;

use crate::domain::Pushed;

const TS_PACKET: u64 = 188;

/// Follows a segment's structure as its bytes go by.
#[derive(Debug)]
pub struct Structure {
    kind: Pushed,
    /// Bytes seen.
    seen: u64,
    /// fMP4: where the next box starts, and its header as far as seen.
    next_box: u64,
    header: Vec<u8>,
    broken: bool,
}

impl Structure {
    pub fn new(kind: Pushed) -> Self {
        Self {
            kind,
            seen: 0,
            next_box: 0,
            header: Vec::new(),
            broken: false,
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.broken {
                return;
            }
            match self.kind {
                Pushed::Ts => {
                    if self.seen.is_multiple_of(TS_PACKET) && b != 0x47 {
                        self.broken = true;
                    }
                }
                _ => {
                    if self.seen >= self.next_box {
                        self.header.push(b);
                        self.box_header();
                    }
                }
            }
            self.seen += 1;
        }
    }

    /// An fMP4 box header read whole: where the box ends.
    fn box_header(&mut self) {
        if self.header.len() < 8 {
            return;
        }
        let size = u32::from_be_bytes(self.header[..4].try_into().expect("4 bytes")) as u64;
        let size = match size {
            // A 64-bit size follows the type.
            1 if self.header.len() < 16 => return,
            1 => u64::from_be_bytes(self.header[8..16].try_into().expect("8 bytes")),
            // "To the end of the file": no way to tell it whole.
            0 => {
                self.broken = true;
                return;
            }
            n => n,
        };
        if size < self.header.len() as u64 {
            self.broken = true;
            return;
        }
        self.next_box += size;
        self.header.clear();
    }

    /// Whether what went by so far is a whole segment.
    pub fn whole(&self) -> bool {
        if self.broken || self.seen == 0 {
            return false;
        }
        match self.kind {
            Pushed::Ts => self.seen.is_multiple_of(TS_PACKET),
            _ => self.seen == self.next_box && self.header.is_empty(),
        }
    }
}

/// A segment's body as it streams: a break after a whole structure is its
/// end; a break in the middle of one stays an error.
pub struct Judged<S> {
    inner: S,
    structure: Structure,
}

impl<S> Judged<S> {
    /// `head`: the bytes read before (already in the upload).
    pub fn new(inner: S, kind: Pushed, head: &[u8]) -> Self {
        let mut structure = Structure::new(kind);
        structure.feed(head);
        Self { inner, structure }
    }
}

impl<S, E> Stream for Judged<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.structure.feed(&chunk);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(_))) if self.structure.whole() => Poll::Ready(None),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(packets: usize) -> Vec<u8> {
        let mut v = vec![0u8; packets * 188];
        for p in 0..packets {
            v[p * 188] = 0x47;
        }
        v
    }

    #[test]
    fn whole_packets_are_a_whole_ts_segment() {
        let mut s = Structure::new(Pushed::Ts);
        let bytes = ts(5);
        s.feed(&bytes[..400]);
        assert!(!s.whole(), "cut mid-packet");
        s.feed(&bytes[400..]);
        assert!(s.whole());
        let mut bad = Structure::new(Pushed::Ts);
        let mut b = ts(2);
        b[188] = 0;
        bad.feed(&b);
        assert!(!bad.whole(), "a packet without its sync byte");
    }

    #[test]
    fn whole_boxes_are_a_whole_fmp4_segment() {
        let mut bytes = Vec::new();
        for (kind, len) in [(b"styp", 24u32), (b"moof", 100), (b"mdat", 5000)] {
            bytes.extend_from_slice(&len.to_be_bytes());
            bytes.extend_from_slice(kind);
            bytes.resize(bytes.len() + len as usize - 8, 7);
        }
        let mut s = Structure::new(Pushed::Fmp4);
        s.feed(&bytes[..3000]);
        assert!(!s.whole(), "cut inside mdat");
        s.feed(&bytes[3000..]);
        assert!(s.whole());
        s.feed(&[0, 0, 0]);
        assert!(!s.whole(), "a box header begun");
    }
}
