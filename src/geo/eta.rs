//! Estimated time of arrival, anchored on the latest fix's time and never
//! on the server clock, so replaying the same fixes gives the same ETA and
//! a batch of late fixes does not make the truck look slow.
//!
//! The estimate is driving time at a plausible truck speed, plus the rests
//! the law requires (20 min after each 4 h of driving, DOMAIN.md), plus
//! planned stops such as warehouse dwell.

use chrono::{DateTime, Duration, Utc};

/// Everything an ETA is computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct EtaInput {
    /// Time of the latest fix; the ETA counts from here.
    pub anchor: DateTime<Utc>,
    /// Distance left to drive, in metres (route progress' `remaining_m`).
    pub remaining_m: f64,
    /// Average speed over the recent track, if known.
    pub recent_speed_kmh: Option<f64>,
    /// Driving time since the driver's last rest.
    pub driven_since_rest: Duration,
    /// Planned stops still ahead (warehouse dwell, handovers).
    pub dwell_stops: Vec<Duration>,
}

/// A driver must rest after this much driving.
pub const REST_EVERY: Duration = Duration::hours(4);
/// How long each required rest lasts.
pub const REST_FOR: Duration = Duration::minutes(20);
/// Speed assumed when the recent speed is unknown.
pub const DEFAULT_SPEED_KMH: f64 = 70.0;
/// Slowest speed assumed, so a truck stuck in a jam does not get an ETA
/// days away.
pub const MIN_SPEED_KMH: f64 = 20.0;
/// Fastest speed assumed: the expressway limit for trucks.
pub const MAX_SPEED_KMH: f64 = 100.0;
/// An ETA is worth announcing again only when it moved by more than this.
pub const MOVED_ENOUGH: Duration = Duration::minutes(5);

/// The speed an ETA assumes: the recent speed clamped to
/// [`MIN_SPEED_KMH`, `MAX_SPEED_KMH`], or [`DEFAULT_SPEED_KMH`] when it is
/// unknown or not a number.
pub fn assumed_speed_kmh(recent_speed_kmh: Option<f64>) -> f64 {
    match recent_speed_kmh {
        Some(v) if v.is_finite() => v.clamp(MIN_SPEED_KMH, MAX_SPEED_KMH),
        _ => DEFAULT_SPEED_KMH,
    }
}

/// Milliseconds needed to drive `remaining_m` metres at `speed_kmh`.
fn driving_ms(remaining_m: f64, speed_kmh: f64) -> i64 {
    // f64::max ignores NaN, so a NaN distance counts as nothing left.
    let ms = remaining_m.max(0.0) / (speed_kmh / 3.6) * 1000.0;
    // `as` saturates on overflow; the sum below saturates too.
    ms.round() as i64
}

/// Rests needed while driving `driving_ms` more, starting with
/// `driven_since_rest_ms` already driven: one for each multiple of
/// [`REST_EVERY`] the cumulative driving reaches before arrival. Arriving
/// exactly at the limit needs no rest; a driver already at or past the
/// limit rests before driving on.
fn rests_due(driven_since_rest_ms: i64, driving_ms: i64) -> i64 {
    if driving_ms <= 0 {
        return 0;
    }
    let every = REST_EVERY.num_milliseconds();
    let (owed, start) = if driven_since_rest_ms >= every {
        (1, 0)
    } else {
        (0, driven_since_rest_ms.max(0))
    };
    // Multiples k·every with k >= 1 and k·every < start + driving; all of
    // them are past `start` because start < every.
    owed + (start.saturating_add(driving_ms) - 1) / every
}

/// When the truck is expected to arrive: the anchor plus driving time,
/// required rests and planned stops. Saturates at the latest representable
/// time instead of overflowing.
pub fn eta(input: &EtaInput) -> DateTime<Utc> {
    let speed = assumed_speed_kmh(input.recent_speed_kmh);
    let drive = driving_ms(input.remaining_m, speed);
    let rests = rests_due(input.driven_since_rest.num_milliseconds(), drive);
    let dwell = input
        .dwell_stops
        .iter()
        .map(|d| d.num_milliseconds().max(0))
        .fold(0_i64, i64::saturating_add);
    let total_ms = drive
        .saturating_add(rests.saturating_mul(REST_FOR.num_milliseconds()))
        .saturating_add(dwell);
    Duration::try_milliseconds(total_ms)
        .and_then(|d| input.anchor.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whether a new ETA is worth announcing: there was none, or it moved by
/// more than [`MOVED_ENOUGH`] either way.
pub fn moved_enough(old: Option<DateTime<Utc>>, new: DateTime<Utc>) -> bool {
    match old {
        None => true,
        Some(old) => (new - old).abs() > MOVED_ENOUGH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    fn input(remaining_km: f64, speed: Option<f64>, driven: Duration) -> EtaInput {
        EtaInput {
            anchor: at(1_750_000_000),
            remaining_m: remaining_km * 1000.0,
            recent_speed_kmh: speed,
            driven_since_rest: driven,
            dwell_stops: vec![],
        }
    }

    fn eta_after(i: &EtaInput) -> Duration {
        eta(i) - i.anchor
    }

    #[test]
    fn ten_hours_of_driving_needs_two_rests() {
        let i = input(700.0, Some(70.0), Duration::zero());
        assert_eq!(eta_after(&i), Duration::hours(10) + REST_FOR * 2);
    }

    #[test]
    fn arriving_exactly_at_the_limit_needs_no_rest() {
        let i = input(280.0, Some(70.0), Duration::zero());
        assert_eq!(eta_after(&i), Duration::hours(4));
    }

    #[test]
    fn driving_already_done_counts_towards_the_next_rest() {
        let i = input(140.0, Some(70.0), Duration::hours(3));
        assert_eq!(eta_after(&i), Duration::hours(2) + REST_FOR);
        let overdue = input(70.0, Some(70.0), Duration::minutes(270));
        assert_eq!(eta_after(&overdue), Duration::hours(1) + REST_FOR);
    }

    #[test]
    fn speed_is_clamped_and_defaulted() {
        assert_eq!(assumed_speed_kmh(None), DEFAULT_SPEED_KMH);
        assert_eq!(assumed_speed_kmh(Some(f64::NAN)), DEFAULT_SPEED_KMH);
        assert_eq!(assumed_speed_kmh(Some(150.0)), MAX_SPEED_KMH);
        assert_eq!(assumed_speed_kmh(Some(3.0)), MIN_SPEED_KMH);
        assert_eq!(assumed_speed_kmh(Some(85.0)), 85.0);
        let parked = input(20.0, Some(0.0), Duration::zero());
        assert_eq!(eta_after(&parked), Duration::hours(1));
    }

    #[test]
    fn dwell_stops_are_added_and_nothing_left_is_the_anchor() {
        let mut i = input(0.0, None, Duration::hours(5));
        assert_eq!(eta(&i), i.anchor);
        i.dwell_stops = vec![
            Duration::hours(12),
            Duration::minutes(-5),
            Duration::hours(6),
        ];
        assert_eq!(eta_after(&i), Duration::hours(18));
    }

    #[test]
    fn the_eta_moves_with_the_anchor_not_the_clock() {
        let mut i = input(350.0, Some(70.0), Duration::zero());
        let first = eta(&i);
        i.anchor += Duration::days(3);
        assert_eq!(eta(&i) - first, Duration::days(3));
    }

    #[test]
    fn absurd_inputs_do_not_panic() {
        let i = input(f64::INFINITY, Some(20.0), Duration::zero());
        assert_eq!(eta(&i), DateTime::<Utc>::MAX_UTC);
        let nan = input(f64::NAN, None, Duration::zero());
        assert_eq!(eta(&nan), nan.anchor);
    }

    #[test]
    fn moved_enough_means_more_than_five_minutes() {
        let t = at(1_750_000_000);
        assert!(moved_enough(None, t));
        assert!(!moved_enough(Some(t), t + Duration::minutes(5)));
        assert!(!moved_enough(Some(t), t - Duration::minutes(4)));
        assert!(moved_enough(Some(t), t + Duration::minutes(6)));
        assert!(moved_enough(Some(t), t - Duration::minutes(6)));
    }

    proptest! {
        /// A truck driving steadily at the speed the ETA assumes, resting
        /// when due, never sees its ETA slip.
        #[test]
        fn eta_never_increases_while_driving_steadily(
            remaining_km in 1.0f64..1500.0,
            speed in 20.0f64..100.0,
            dt_s in 30i64..1800,
            driven_min in 0i64..240,
            dwell_min in proptest::collection::vec(0i64..600, 0..3),
        ) {
            let step_m = speed / 3.6 * dt_s as f64;
            let dt = Duration::seconds(dt_s);
            let mut i = input(remaining_km, Some(speed), Duration::minutes(driven_min));
            i.dwell_stops = dwell_min.into_iter().map(Duration::minutes).collect();
            let mut last = eta(&i);
            // Stop a metre short of the last full step: arriving exactly as
            // a rest falls due is an edge the ETA rightly treats as no rest.
            while i.remaining_m > step_m + 1.0 {
                i.remaining_m -= step_m;
                i.anchor += dt;
                i.driven_since_rest += dt;
                if i.driven_since_rest >= REST_EVERY {
                    i.anchor += REST_FOR;
                    i.driven_since_rest = Duration::zero();
                }
                let next = eta(&i);
                prop_assert!(
                    next <= last + Duration::seconds(1),
                    "ETA slipped from {last} to {next} with {i:?}"
                );
                last = next;
            }
        }
    }
}
