//! The request forms of Traccar's OsmAnd decoder test
//! (traccar/traccar, src/test/java/org/traccar/protocol/OsmAndProtocolDecoderTest.java).

use chrono::{TimeZone, Utc};

use super::*;

fn query(q: &str) -> Result<Report, Unreadable> {
    let pairs: Vec<(String, String)> = url_pairs(q);
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
    from_fields(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), now)
}

/// Splits and percent-decodes a query as actix does for the listener.
fn url_pairs(q: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(q).unwrap()
}

#[test]
fn every_form_traccar_reads() {
    let r = query("id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0&altitude=224.0&speed=0.0").unwrap();
    assert_eq!(r.device_id, "902064");
    assert_eq!((r.fix.lat, r.fix.lon), (42.06288, -88.23412));
    assert_eq!(
        r.fix.at,
        Utc.with_ymd_and_hms(2016, 1, 27, 18, 55, 47).unwrap()
    );
    assert_eq!(r.fix.hdop, Some(6.0));

    let r = query("id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0&altitude=224.0&speed=0.0").unwrap();
    assert_eq!(r.fix.at.timestamp_millis(), 1442068686579);

    let r = query("lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7&speed=0.0&id=353861053849681").unwrap();
    assert_eq!(
        r.fix.at,
        Utc.with_ymd_and_hms(2014, 6, 4, 9, 10, 11).unwrap()
    );
    assert_eq!(r.device_id, "353861053849681");

    let r = query("id=123456&timestamp=1377177267&lat=60.0&lon=30.0&speed=10.0&bearing=90.0&altitude=0&hdop=0.0").unwrap();
    assert_eq!(r.fix.at.timestamp(), 1377177267);
    assert!((r.fix.speed_kmh.unwrap() - 18.52).abs() < 1e-9, "knots");
    assert_eq!(r.fix.heading, Some(90.0));

    let r =
        query("lat=60.0&lon=30.0&speed=0.0&heading=0.0&vacc=0&hacc=0&altitude=0&deviceid=123456")
            .unwrap();
    assert_eq!(r.device_id, "123456");
    assert_eq!(
        r.fix.at,
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
        "no timestamp: when received"
    );

    let r = query(
        "id=861001000719969&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&batt=87",
    )
    .unwrap();
    assert_eq!(r.fix.lon, -0.883333);

    let r = query("id=123456&timestamp=1377177267&location=60.0,30.0").unwrap();
    assert_eq!((r.fix.lat, r.fix.lon), (60.0, 30.0));

    let r = query("id=1&lat=1&lon=2&accuracy=250").unwrap();
    assert_eq!(
        r.fix.hdop,
        Some(25.0),
        "a vague phone fix reads as a poor HDOP"
    );
}

#[test]
fn a_report_without_id_or_position_is_unreadable() {
    assert!(query("timestamp=1377177267&lat=60.0&lon=30.0").is_err());
    assert!(query("id=123456&timestamp=1377177267&cell=257,02,16,2224").is_err());
    assert!(query("id=1&lat=north&lon=30").is_err());
    assert!(query("id=1&lat=1&lon=2&timestamp=yesterday").is_err());
}

#[test]
fn the_json_body_of_traccar_client_9() {
    let now = Utc::now();
    let body = br#"{"location":{"extras":{},"mock":true,"coords":{"speed_accuracy":-1,"speed":10,"longitude":113.52,"ellipsoidal_altitude":0,"floor":null,"heading_accuracy":-1,"latitude":23.31,"accuracy":5,"altitude_accuracy":-1,"altitude":0,"heading":-1},"is_moving":true,"age":3,"odometer":0,"uuid":"0a4c4a4e","event":"motionchange","battery":{"level":0.75,"is_charging":false},"activity":{"type":"in_vehicle","confidence":100},"timestamp":"2026-11-30T08:00:00.000Z"},"device_id":"7044"}"#;
    let r = from_json(body, now).unwrap();
    assert_eq!(r.device_id, "7044");
    assert_eq!((r.fix.lat, r.fix.lon), (23.31, 113.52));
    assert_eq!(r.fix.speed_kmh, Some(36.0), "m/s");
    assert_eq!(r.fix.heading, None, "-1 is unknown");
    assert_eq!(
        r.fix.at,
        Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap()
    );
    assert!(from_json(b"{\"device_id\":\"1\"}", now).is_err());
    assert!(from_json(b"not json", now).is_err());
}
