//! Judges a GPS fix as noise before it may move anything.

use crate::domain::Fix;

/// HDOP above this is not worth keeping (DOMAIN.md).
pub const MAX_HDOP: f64 = 10.0;

/// Why a fix was judged noise, in the contract's order of codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noise {
    NullIsland,
    LowAccuracy,
}

impl Noise {
    pub fn code(self) -> &'static str {
        match self {
            Noise::NullIsland => "null_island",
            Noise::LowAccuracy => "low_accuracy",
        }
    }
}

/// The checks a fix can fail on its own, without its neighbours in time.
/// The speed check against neighbours comes with the geo issue.
pub fn judge(fix: &Fix) -> Option<Noise> {
    let p = fix.position;
    if p.lat.abs() < 1e-6 && p.lon.abs() < 1e-6 {
        return Some(Noise::NullIsland);
    }
    if fix.hdop.is_some_and(|h| h > MAX_HDOP) {
        return Some(Noise::LowAccuracy);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{FixTarget, OrderId, Position};

    fn fix(lat: f64, lon: f64, hdop: Option<f64>) -> Fix {
        Fix {
            target: FixTarget::Order(OrderId::parse("O").unwrap()),
            position: Position { lat, lon },
            speed_kmh: None,
            heading: None,
            hdop,
        }
    }

    #[test]
    fn null_island_comes_before_accuracy() {
        assert_eq!(judge(&fix(0.0, 0.0, Some(50.0))), Some(Noise::NullIsland));
        assert_eq!(
            judge(&fix(23.0, 113.0, Some(10.5))),
            Some(Noise::LowAccuracy)
        );
        assert_eq!(judge(&fix(23.0, 113.0, Some(10.0))), None);
        assert_eq!(judge(&fix(0.0, 113.0, None)), None);
    }
}
