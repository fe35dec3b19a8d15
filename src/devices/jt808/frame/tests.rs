use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use super::super::message::{self, Message};
use super::*;

/// The real frames of `fixtures/jt808/frames.txt`, by name.
fn fixture(name: &str) -> Vec<u8> {
    let text = include_str!("../../../../fixtures/jt808/frames.txt");
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no fixture {name}"));
    hex::decode(line.split_whitespace().nth(1).unwrap()).unwrap()
}

fn all_fixtures() -> Vec<Vec<u8>> {
    include_str!("../../../../fixtures/jt808/frames.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| hex::decode(l.split_whitespace().nth(1).unwrap()).unwrap())
        .collect()
}

/// Cuts one wire frame and decodes it.
fn decode_wire(wire: &[u8]) -> Result<Frame, BadFrame> {
    let mut s = Splitter::default();
    s.buffer().extend_from_slice(wire);
    match s.next_piece() {
        Some(Piece::Frame(f)) => decode(&f),
        other => panic!("not one frame: {other:?}"),
    }
}

#[test]
fn every_real_frame_decodes_and_encodes_back_to_its_bytes() {
    for wire in all_fixtures() {
        let f = decode_wire(&wire).unwrap();
        assert_eq!(encode(&f.header, &f.body), wire, "{:?}", f.header);
    }
}

#[test]
fn a_real_registration_and_authentication() {
    let f = decode_wire(&fixture("register-2013")).unwrap();
    assert_eq!(f.header.msg_id, message::REGISTER);
    assert_eq!(f.header.phone, "013511221122");
    assert_eq!(f.header.serial, 5);
    assert_eq!(f.header.version, None);
    let f = decode_wire(&fixture("authenticate-2013")).unwrap();
    assert_eq!(
        message::read(&f.header, &f.body).unwrap(),
        Message::Authenticate {
            code: "authentication".into()
        }
    );
    assert_eq!(f.header.serial, 6);
}

#[test]
fn a_real_location_report_in_guangzhou() {
    let f = decode_wire(&fixture("location-guangzhou")).unwrap();
    assert_eq!(
        (f.header.phone.as_str(), f.header.serial),
        ("030300000228", 66)
    );
    let Message::Location(l) = message::read(&f.header, &f.body).unwrap() else {
        panic!("not a location");
    };
    assert_eq!((l.lat, l.lon), (23.169716, 113.450696));
    // 2018-09-21 16:14:57 in Beijing.
    assert_eq!(l.at, Utc.with_ymd_and_hms(2018, 9, 21, 8, 14, 57).unwrap());
    assert!(l.positioned() && !l.emergency());
    assert_eq!(l.heading, 5);
    assert_eq!(
        (l.mileage_km, l.signal, l.satellites),
        (Some(114.4), Some(16), Some(10))
    );
}

#[test]
fn a_real_emergency_in_the_western_hemisphere() {
    let f = decode_wire(&fixture("location-emergency-west")).unwrap();
    assert_eq!(
        (f.header.phone.as_str(), f.header.serial),
        ("094027587492", 10)
    );
    let Message::Location(l) = message::read(&f.header, &f.body).unwrap() else {
        panic!("not a location");
    };
    assert!(l.emergency());
    assert_eq!((l.lat, l.lon), (50.871735, -1.255923));
    assert_eq!(l.at, Utc.with_ymd_and_hms(2013, 4, 12, 8, 49, 52).unwrap());
    assert_eq!(l.mileage_km, Some(1.8));
}

#[test]
fn a_real_heartbeat_and_blind_area_batch() {
    let f = decode_wire(&fixture("heartbeat")).unwrap();
    assert_eq!(
        message::read(&f.header, &f.body).unwrap(),
        Message::Heartbeat
    );
    assert_eq!(
        (f.header.phone.as_str(), f.header.serial),
        ("043048325465", 0xb7)
    );
    let f = decode_wire(&fixture("batch-blind-area")).unwrap();
    assert_eq!(f.header.serial, 0x07f5);
    let Message::Batch {
        blind_area,
        locations,
    } = message::read(&f.header, &f.body).unwrap()
    else {
        panic!("not a batch");
    };
    assert!(blind_area);
    assert_eq!(locations.len(), 8);
    assert_eq!(
        (locations[0].lat, locations[0].lon),
        (22.639634, 114.031952)
    );
    assert_eq!(
        locations[0].at,
        Utc.with_ymd_and_hms(2016, 5, 27, 1, 6, 24).unwrap()
    );
    assert_eq!(locations[0].tachograph_kmh, Some(0.0));
    assert!(locations.windows(2).all(|w| w[0].at < w[1].at));
}

#[test]
fn real_frames_of_the_2019_edition_and_in_parts() {
    let f = decode_wire(&fixture("register-2019")).unwrap();
    assert_eq!(f.header.version, Some(1));
    assert_eq!(f.header.phone, "00000000017299841738");
    assert_eq!(
        message::read(&f.header, &f.body).unwrap(),
        Message::Register
    );
    let f = decode_wire(&fixture("heartbeat-2019")).unwrap();
    assert_eq!(
        message::read(&f.header, &f.body).unwrap(),
        Message::Heartbeat
    );
    let f = decode_wire(&fixture("subpackage-part")).unwrap();
    assert_eq!(f.header.package, Some((26, 2)));
    assert_eq!(
        (f.header.phone.as_str(), f.header.serial),
        ("001234567890", 0x02de)
    );
    assert_eq!(f.body, [0x28, 0x08, 0x00, 0x01, 0x02]);
    assert!(
        decode_wire(&fixture("rsa-encrypted"))
            .unwrap()
            .header
            .encrypted
    );
}

#[test]
fn real_broken_frames_give_their_errors() {
    let text = include_str!("../../../../fixtures/jt808/broken.txt");
    let mut n = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let [name, error, hx] = line.split_whitespace().collect::<Vec<_>>()[..] else {
            panic!("a line of three: {line}");
        };
        let got = decode_wire(&hex::decode(hx).unwrap()).unwrap_err();
        assert_eq!(got.error.as_str(), error, "{name}");
        n += 1;
    }
    assert_eq!(n, 3);
}

#[test]
fn a_bad_check_code_keeps_the_header_for_the_answer() {
    let mut wire = fixture("location-guangzhou");
    let n = wire.len();
    wire[n - 2] ^= 0x55;
    let bad = decode_wire(&wire).unwrap_err();
    assert_eq!(bad.error, FrameError::Checksum);
    assert_eq!(bad.header.unwrap().serial, 66);
}

#[test]
fn a_length_that_lies_is_refused() {
    let f = decode_wire(&fixture("location-guangzhou")).unwrap();
    let mut body = f.body.clone();
    body.push(0);
    let mut wire = encode(&f.header, &body);
    // Say one byte fewer than the body holds, and fix the check code.
    let mut raw = unescape(&wire[1..wire.len() - 1]).unwrap();
    raw[3] -= 1;
    raw.pop();
    raw.push(xor(&raw));
    wire = vec![FLAG];
    escape_into(&mut wire, &raw);
    wire.push(FLAG);
    assert_eq!(decode_wire(&wire).unwrap_err().error, FrameError::Length);
}

#[test]
fn escapes_round_trip_and_a_bad_escape_is_refused() {
    let h = Header {
        msg_id: 0x0200,
        version: Some(1),
        phone: "13800138000".into(),
        serial: 0x7e7d,
        encrypted: false,
        package: Some((2, 1)),
    };
    let body = [0x7e, 0x7d, 0x01, 0x02, 0x7e];
    let wire = encode(&h, &body);
    assert_eq!(wire.iter().filter(|&&b| b == FLAG).count(), 2);
    let f = decode_wire(&wire).unwrap();
    assert_eq!(f.body, body);
    assert_eq!(f.header.phone, "00000000013800138000");
    assert_eq!(decode(&[0x7d, 0x03]).unwrap_err().error, FrameError::Escape);
}

#[test]
fn garbage_and_overlong_frames_are_cut_away() {
    let mut s = Splitter::default();
    s.buffer().extend_from_slice(b"GET / HTTP/1.1\r\n");
    assert_eq!(s.next_piece(), Some(Piece::Garbage(16)));
    assert_eq!(s.next_piece(), None);
    s.buffer().push(FLAG);
    s.buffer()
        .extend(std::iter::repeat_n(0x11, MAX_ESCAPED + 1));
    assert_eq!(s.next_piece(), Some(Piece::Garbage(MAX_ESCAPED + 2)));
    // Two frames back to back, the second in two reads.
    let a = fixture("heartbeat");
    let b = fixture("location-guangzhou");
    s.buffer().extend_from_slice(&a);
    s.buffer().extend_from_slice(&b[..10]);
    assert!(matches!(s.next_piece(), Some(Piece::Frame(_))));
    assert_eq!(s.next_piece(), None);
    s.buffer().extend_from_slice(&b[10..]);
    let Some(Piece::Frame(f)) = s.next_piece() else {
        panic!("the second frame");
    };
    assert_eq!(decode(&f).unwrap().header.serial, 66);
    assert_eq!(s.pending(), 0);
}

fn header() -> impl Strategy<Value = Header> {
    (
        any::<u16>(),
        proptest::option::of(any::<u8>()),
        "[0-9]{1,20}",
        any::<u16>(),
        proptest::option::of((1u16.., 1u16..)),
    )
        .prop_map(|(msg_id, version, phone, serial, package)| {
            let width = if version.is_some() { 20 } else { 12 };
            let phone = format!("{:0>width$}", &phone[phone.len().saturating_sub(width)..]);
            Header {
                msg_id,
                version,
                phone,
                serial,
                encrypted: false,
                package,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct(
                "fixtures/jt808/proptest-regressions.txt",
            ),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_frame_round_trips(h in header(), body in proptest::collection::vec(any::<u8>(), 0..=MAX_BODY)) {
        let wire = encode(&h, &body);
        prop_assert!(wire.len() - 2 <= MAX_ESCAPED);
        let f = decode_wire(&wire).unwrap();
        prop_assert_eq!(f.header, h);
        prop_assert_eq!(f.body, body);
    }

    /// The real frames, mutated: the splitter and decoder never panic,
    /// never hold more than a frame's worth, and answer every piece.
    #[test]
    fn mutated_real_frames_never_panic(
        pick in 0usize..10,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        chunk in 1usize..64,
    ) {
        let fixtures = all_fixtures();
        let mut wire = fixtures[pick % fixtures.len()].clone();
        for (at, b) in flips {
            let i = at.index(wire.len());
            wire[i] = b;
        }
        wire.truncate(cut.index(wire.len()) + 1);
        wire.extend_from_slice(&fixtures[0]);
        let mut s = Splitter::default();
        for part in wire.chunks(chunk) {
            s.buffer().extend_from_slice(part);
            while let Some(p) = s.next_piece() {
                if let Piece::Frame(f) = p
                    && let Ok(f) = decode(&f)
                {
                    let _ = message::read(&f.header, &f.body);
                }
            }
            prop_assert!(s.pending() <= MAX_ESCAPED + 1);
        }
    }
}
