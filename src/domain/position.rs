//! A point on the Earth in WGS-84, as GPS devices report it.

/// A WGS-84 point whose latitude and longitude are in range.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
}

impl Position {
    pub fn parse(lat: f64, lon: f64) -> Result<Self, String> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err("lat must be between -90 and 90".into());
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err("lon must be between -180 and 180".into());
        }
        Ok(Self { lat, lon })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_checked() {
        assert!(Position::parse(23.03, 113.47).is_ok());
        assert!(Position::parse(90.0, -180.0).is_ok());
        assert!(Position::parse(91.0, 0.0).is_err());
        assert!(Position::parse(0.0, 180.5).is_err());
        assert!(Position::parse(f64::NAN, 0.0).is_err());
    }
}
