//! Jump detection: a fix that implies an impossible speed from its
//! neighbours in time is a GPS jump, not a drive (DOMAIN.md, "Trucks, cars
//! and GPS").
//!
//! Neighbours are chosen by fix time, not by arrival order, so a late fix
//! sent in a batch is judged by the fixes around it on the track.

use ::geo::{Distance, Haversine, Point};

/// A fix reduced to what the speed check needs: its time and position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackPoint {
    /// Fix time, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// WGS-84 latitude in degrees.
    pub lat: f64,
    /// WGS-84 longitude in degrees.
    pub lon: f64,
}

/// A fix implying more than this from a neighbour in time is a jump.
pub const MAX_PLAUSIBLE_KMH: f64 = 130.0;

/// Moves shorter than this are ordinary jitter and never count as jumps,
/// however short the time between the two fixes.
pub const JITTER_M: f64 = 300.0;

/// Haversine distance between two track points, in metres.
pub fn distance_m(a: &TrackPoint, b: &TrackPoint) -> f64 {
    Haversine.distance(Point::new(a.lon, a.lat), Point::new(b.lon, b.lat))
}

/// Speed implied by moving from `a` to `b`, in km/h. Order does not
/// matter; the time between them is floored at one second so that two
/// fixes with the same timestamp do not divide by zero.
pub fn implied_kmh(a: &TrackPoint, b: &TrackPoint) -> f64 {
    // abs_diff cannot overflow, unlike a subtraction of two i64.
    let dt_s = (a.at_ms.abs_diff(b.at_ms) as f64 / 1000.0).max(1.0);
    distance_m(a, b) / dt_s * 3.6
}

/// Whether `neighbour` disagrees with `fix`: they are further apart than
/// jitter and the move between them is faster than a truck can drive.
fn disagrees(neighbour: &TrackPoint, fix: &TrackPoint) -> bool {
    distance_m(neighbour, fix) > JITTER_M && implied_kmh(neighbour, fix) > MAX_PLAUSIBLE_KMH
}

/// Whether `fix` is a jump, judged by its neighbours in time.
///
/// With both neighbours it is a jump only if both disagree with it (if only
/// one does, that neighbour is more likely the bad one); with a single
/// neighbour, if that one disagrees; with none there is nothing to judge by.
pub fn is_jump(prev: Option<&TrackPoint>, fix: &TrackPoint, next: Option<&TrackPoint>) -> bool {
    match (prev, next) {
        (Some(p), Some(n)) => disagrees(p, fix) && disagrees(n, fix),
        (Some(only), None) | (None, Some(only)) => disagrees(only, fix),
        (None, None) => false,
    }
}

/// Judges a batch of fixes of one vehicle (sorted by time) against the
/// fixes already kept (sorted) and each other. Kept fixes, and batch fixes
/// already judged good, are trusted neighbours; a later batch fix not yet
/// judged counts against a fix only if the one after it agrees. Returns,
/// per batch fix, whether it is a jump.
pub fn judge_batch(kept: &[TrackPoint], batch: &[TrackPoint]) -> Vec<bool> {
    let mut good: Vec<TrackPoint> = kept.to_vec();
    let mut jumps = Vec::with_capacity(batch.len());
    for (i, fix) in batch.iter().enumerate() {
        let prev = good
            .iter()
            .rev()
            .find(|p| p.at_ms <= fix.at_ms && *p != fix);
        let next_kept = good.iter().find(|p| p.at_ms > fix.at_ms);
        let mut later = batch[i + 1..].iter().filter(|p| p.at_ms > fix.at_ms);
        let next_batch = later.next();
        let before = prev.map(|p| disagrees(p, fix));
        let after = match (next_kept, next_batch) {
            (Some(k), Some(b)) if b.at_ms < k.at_ms => Some(disagrees(b, fix) && disagrees(k, fix)),
            (Some(k), _) => Some(disagrees(k, fix)),
            (None, Some(b)) => {
                Some(disagrees(b, fix) && later.next().is_none_or(|b2| disagrees(b2, fix)))
            }
            (None, None) => None,
        };
        let jump = match (before, after) {
            (Some(x), Some(y)) => x && y,
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => false,
        };
        if !jump {
            let at = good.partition_point(|p| p.at_ms <= fix.at_ms);
            good.insert(at, *fix);
        }
        jumps.push(jump);
    }
    jumps
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever order fixes of a steady drive arrive in, with jumps
        /// mixed in, filtering keeps the position moving forward in time:
        /// a fix moves the car only when it is newer than the position, and
        /// no real fix of the drive is thrown out.
        #[test]
        fn filtering_never_moves_the_position_back_in_time(
            order in Just((0..40usize).collect::<Vec<_>>()).prop_shuffle(),
            jumps in proptest::collection::vec(0..40usize, 0..4),
            batch in 1..6usize,
        ) {
            let drive: Vec<TrackPoint> = (0..40)
                .map(|i| TrackPoint { at_ms: i as i64 * 30_000, lat: 30.0 + i as f64 * 0.006, lon: 114.0 })
                .collect();
            let mut kept: Vec<TrackPoint> = Vec::new();
            let mut position: Option<i64> = None;
            for chunk in order.chunks(batch) {
                let mut fixes: Vec<(TrackPoint, bool)> = chunk
                    .iter()
                    .map(|&i| {
                        let mut p = drive[i];
                        let bad = jumps.contains(&i);
                        if bad { p.lon += 0.5; }
                        (p, bad)
                    })
                    .collect();
                fixes.sort_by_key(|(p, _)| p.at_ms);
                let points: Vec<TrackPoint> = fixes.iter().map(|(p, _)| *p).collect();
                for ((p, _), jump) in fixes.iter().zip(judge_batch(&kept, &points)) {
                    if jump { continue; }
                    let at = kept.partition_point(|k| k.at_ms <= p.at_ms);
                    kept.insert(at, *p);
                    let before = position;
                    if position.is_none_or(|pos| p.at_ms >= pos) {
                        position = Some(p.at_ms);
                    }
                    prop_assert!(position >= before);
                }
            }
            prop_assert!(position.is_some());
        }
    }

    /// Metres per degree of latitude on the haversine sphere.
    const M_PER_DEG_LAT: f64 = 111_194.93;

    fn tp(at_s: i64, lat: f64, lon: f64) -> TrackPoint {
        TrackPoint {
            at_ms: at_s * 1000,
            lat,
            lon,
        }
    }

    #[test]
    fn a_five_km_hop_between_agreeing_neighbours_is_a_jump() {
        let prev = tp(0, 23.0, 113.0);
        let hop = tp(30, 23.0 + 5_000.0 / M_PER_DEG_LAT, 113.0);
        let next = tp(60, 23.0 + 300.0 / M_PER_DEG_LAT, 113.0);
        assert!(implied_kmh(&prev, &hop) > 500.0);
        assert!(is_jump(Some(&prev), &hop, Some(&next)));
        assert!(is_jump(Some(&prev), &hop, None));
        assert!(is_jump(None, &hop, Some(&next)));
        assert!(!is_jump(None, &hop, None));
    }

    #[test]
    fn a_steady_80_kmh_drive_is_not_a_jump() {
        // 80 km/h for 30 s is 666.7 m: longer than jitter, slower than a jump.
        let step_deg = 80.0 / 3.6 * 30.0 / M_PER_DEG_LAT;
        let track: Vec<TrackPoint> = (0..10)
            .map(|i| tp(i * 30, 30.0 + step_deg * i as f64, 114.0))
            .collect();
        for (i, fix) in track.iter().enumerate() {
            let prev = i.checked_sub(1).and_then(|j| track.get(j));
            let next = track.get(i + 1);
            assert!(!is_jump(prev, fix, next), "fix {i} judged a jump");
        }
        let kmh = implied_kmh(&track[0], &track[1]);
        assert!((kmh - 80.0).abs() < 0.5, "{kmh}");
    }

    #[test]
    fn jitter_is_never_a_jump() {
        // 250 m in one second is 900 km/h, but it is still jitter.
        let a = tp(0, 30.0, 114.0);
        let b = tp(1, 30.0 + 250.0 / M_PER_DEG_LAT, 114.0);
        assert!(!is_jump(Some(&a), &b, None));
        // Same timestamp: the one-second floor keeps the speed finite.
        let c = tp(0, 30.0 + 250.0 / M_PER_DEG_LAT, 114.0);
        assert!(implied_kmh(&a, &c).is_finite());
    }

    #[test]
    fn a_late_fix_is_judged_by_its_neighbours_in_time() {
        // Fixes at 0 s and 120 s, then the truck drives on for 10 minutes
        // and 30 km (200 km/h from the late fix's point of view). The fix
        // at 60 s arrives last, in a batch.
        let before = tp(0, 30.0, 114.0);
        let after = tp(120, 30.0 + 2_000.0 / M_PER_DEG_LAT, 114.0);
        let newest = tp(600, 30.0 + 32_000.0 / M_PER_DEG_LAT, 114.0);
        let late = tp(60, 30.0 + 1_000.0 / M_PER_DEG_LAT, 114.0);

        // Against the newest fix received it would look like a jump...
        assert!(is_jump(Some(&newest), &late, None));
        // ...but between its neighbours in time it sits on the track.
        assert!(!is_jump(Some(&before), &late, Some(&after)));

        // A late fix kilometres off its neighbours is still a jump.
        let late_off = tp(60, 30.0 + 1_000.0 / M_PER_DEG_LAT, 114.1);
        assert!(is_jump(Some(&before), &late_off, Some(&after)));
    }

    #[test]
    fn a_jump_inside_a_late_batch_is_caught_by_the_batch() {
        let a = tp(0, 30.0, 114.0);
        let jump = tp(30, 30.0, 114.5);
        let b = tp(60, 30.0 + 1_000.0 / M_PER_DEG_LAT, 114.0);
        assert_eq!(judge_batch(&[], &[a, jump, b]), [false, true, false]);
        assert_eq!(judge_batch(&[a, b], &[jump]), [true]);
    }

    #[test]
    fn one_disagreeing_neighbour_of_two_is_not_enough() {
        let prev = tp(0, 30.0, 114.0);
        let fix = tp(30, 30.0 + 600.0 / M_PER_DEG_LAT, 114.0);
        let far_next = tp(60, 31.0, 114.0);
        assert!(!is_jump(Some(&prev), &fix, Some(&far_next)));
    }
}
