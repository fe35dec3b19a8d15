//! A long message sent in parts (header attribute bit 13), put back
//! together. One message at a time per connection, bounded in parts and
//! bytes, so a terminal cannot make vinpath hold more than that.

use std::collections::BTreeMap;

use super::frame::Header;

/// At most this many parts, and this many bytes, per message.
const MAX_PARTS: u16 = 64;
const MAX_BYTES: usize = 64 * 1024;

/// The parts of one message received so far.
#[derive(Debug)]
pub struct Parts {
    first: Header,
    total: u16,
    got: BTreeMap<u16, Vec<u8>>,
    bytes: usize,
}

/// What a part did.
#[derive(Debug, PartialEq)]
pub enum Added {
    /// Kept; more are to come.
    Waiting,
    /// The last part: the whole message, under its first part's header.
    Whole(Header, Vec<u8>),
    /// Out of bounds: the part is refused.
    Refused,
}

/// Adds a part to what `slot` holds (starting over when it belongs to
/// another message).
pub fn add(slot: &mut Option<Parts>, h: &Header, body: Vec<u8>) -> Added {
    let Some((total, index)) = h.package else {
        return Added::Refused;
    };
    if total == 0 || total > MAX_PARTS || index == 0 || index > total {
        return Added::Refused;
    }
    let same = slot
        .as_ref()
        .is_some_and(|p| p.first.msg_id == h.msg_id && p.total == total);
    if !same {
        *slot = None;
    }
    let parts = slot.get_or_insert_with(|| Parts {
        first: h.clone(),
        total,
        got: BTreeMap::new(),
        bytes: 0,
    });
    if index == 1 {
        parts.first = h.clone();
    }
    if parts.bytes + body.len() > MAX_BYTES {
        *slot = None;
        return Added::Refused;
    }
    parts.bytes += body.len();
    if let Some(old) = parts.got.insert(index, body) {
        parts.bytes -= old.len();
    }
    if parts.got.len() < usize::from(total) {
        return Added::Waiting;
    }
    let Some(done) = slot.take() else {
        return Added::Refused;
    };
    let mut first = done.first;
    first.package = None;
    Added::Whole(first, done.got.into_values().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(total: u16, index: u16) -> Header {
        Header {
            msg_id: 0x0704,
            version: None,
            phone: "013511221122".into(),
            serial: 10 + index,
            encrypted: false,
            package: Some((total, index)),
        }
    }

    #[test]
    fn parts_in_any_order_make_the_whole() {
        let mut slot = None;
        assert_eq!(add(&mut slot, &part(3, 2), vec![2]), Added::Waiting);
        assert_eq!(add(&mut slot, &part(3, 1), vec![1]), Added::Waiting);
        let Added::Whole(h, body) = add(&mut slot, &part(3, 3), vec![3]) else {
            panic!("not whole");
        };
        assert_eq!(body, vec![1, 2, 3]);
        assert_eq!((h.serial, h.package), (11, None));
        assert!(slot.is_none());
    }

    #[test]
    fn out_of_bounds_parts_are_refused() {
        let mut slot = None;
        assert_eq!(add(&mut slot, &part(0, 1), vec![]), Added::Refused);
        assert_eq!(add(&mut slot, &part(2, 3), vec![]), Added::Refused);
        assert_eq!(add(&mut slot, &part(65, 1), vec![]), Added::Refused);
        for i in 1..=32 {
            let r = add(&mut slot, &part(64, i), vec![0; 2000]);
            assert_eq!(r, Added::Waiting);
        }
        assert_eq!(add(&mut slot, &part(64, 33), vec![0; 2000]), Added::Refused);
        assert!(slot.is_none(), "what was held is let go");
    }
}
