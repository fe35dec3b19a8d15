//! Leaving and arriving, car by car (DOMAIN.md, "Leaving and arriving"):
//! a car is loaded where it stands (a site, or a point where no site is
//! known) and is inside that place from the loading, so a truck that
//! drives off at once still takes it `in_transit`; arriving near the
//! destination counts even where the destination is no site.

use serde::{Deserialize, Serialize};

use super::fence::{DWELL_MS, MARGIN_M};
use super::pass::SiteInfo;
use super::speed::{TrackPoint, distance_m};

/// How far from a loading point that is no site a car has left it.
pub const LOADING_POINT_M: f64 = 1_000.0;
/// How near its destination a car in transit has arrived.
pub const DESTINATION_M: f64 = 1_000.0;
/// How soon after the loading a fix must be to say where the car was
/// loaded (a tracker's first fix an hour later is somewhere else; fixes
/// arrive late and out of order, so "first" is by time, within this).
pub const FIRST_FIX_MS: i64 = 10 * 60_000;

/// Where a car was loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadingPlace {
    Site(String),
    Point { lat: f64, lon: f64 },
}

impl LoadingPlace {
    /// The place at `(lat, lon)`: the site it lies in, else the point.
    pub fn at(sites: &[SiteInfo], lat: f64, lon: f64) -> Self {
        sites
            .iter()
            .find(|s| s.site.area.contains(lat, lon, 0.0))
            .map_or(LoadingPlace::Point { lat, lon }, |s| {
                LoadingPlace::Site(s.site.id.clone())
            })
    }

    /// Whether a fix is still at the place: inside the site's fence with
    /// the margin, or within a kilometre of the point. A site no longer
    /// known holds nothing.
    fn holds(&self, sites: &[SiteInfo], fix: &TrackPoint) -> bool {
        match self {
            LoadingPlace::Site(id) => sites
                .iter()
                .find(|s| &s.site.id == id)
                .is_some_and(|s| s.site.area.contains(fix.lat, fix.lon, MARGIN_M)),
            LoadingPlace::Point { lat, lon } => {
                let at = TrackPoint {
                    at_ms: fix.at_ms,
                    lat: *lat,
                    lon: *lon,
                };
                distance_m(&at, fix) <= LOADING_POINT_M
            }
        }
    }

    /// How the milestone's derived event names the place.
    pub fn label(&self) -> &str {
        match self {
            LoadingPlace::Site(id) => id,
            LoadingPlace::Point { .. } => "loading-point",
        }
    }
}

/// What a car remembers of its leg between fixes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    /// Where it was loaded; `None` until the scan or the first fix after
    /// the loading says.
    pub loaded_at: Option<LoadingPlace>,
    /// Since when (fix time, ms) it has been out of that place.
    pub out_since: Option<i64>,
}

/// A loaded car's leg after a fix, and when it left its loading place
/// (the fix time it was first seen out, once out for the dwell) with the
/// place's label. `loaded_ms`: when it was loaded.
pub fn step_loaded(
    leg: &Leg,
    sites: &[SiteInfo],
    fix: &TrackPoint,
    loaded_ms: i64,
) -> (Leg, Option<(String, i64)>) {
    let place = match &leg.loaded_at {
        Some(p) => p.clone(),
        // Where it stands a few minutes after the loading; a later fix
        // says nothing of where it was loaded.
        None if fix.at_ms - loaded_ms <= FIRST_FIX_MS => LoadingPlace::at(sites, fix.lat, fix.lon),
        None => return (leg.clone(), None),
    };
    if place.holds(sites, fix) {
        let next = Leg {
            loaded_at: Some(place),
            out_since: None,
        };
        return (next, None);
    }
    let since = leg.out_since.unwrap_or(fix.at_ms);
    let left = (fix.at_ms - since >= DWELL_MS).then(|| (place.label().to_owned(), since));
    let next = Leg {
        loaded_at: Some(place),
        out_since: Some(since),
    };
    (next, left)
}

/// Whether a car in transit has arrived near a destination that is no
/// site (a site's own fence, with its dwell, tells arriving there).
pub fn near_destination(destination: (f64, f64), sites: &[SiteInfo], fix: &TrackPoint) -> bool {
    let (lat, lon) = destination;
    if sites.iter().any(|s| s.site.area.contains(lat, lon, 0.0)) {
        return false;
    }
    let d = TrackPoint {
        at_ms: fix.at_ms,
        lat: destination.0,
        lon: destination.1,
    };
    distance_m(&d, fix) <= DESTINATION_M
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geo::fence::{Area, Site};

    fn plant() -> SiteInfo {
        SiteInfo {
            site: Site {
                id: "plant".into(),
                area: Area::Circle {
                    lat: 23.03,
                    lon: 113.47,
                    radius_m: 500.0,
                },
            },
            kind: "plant".into(),
            lat: 23.03,
            lon: 113.47,
        }
    }

    fn fix(s: i64, lat: f64) -> TrackPoint {
        TrackPoint {
            at_ms: s * 1000,
            lat,
            lon: 113.47,
        }
    }

    #[test]
    fn a_truck_that_drives_off_at_once_takes_the_car_out_of_the_plant() {
        let sites = [plant()];
        // The first fix after loading is inside the plant: that is where
        // the car was loaded, with no dwell needed.
        let (leg, left) = step_loaded(&Leg::default(), &sites, &fix(0, 23.03), 0);
        assert_eq!(leg.loaded_at, Some(LoadingPlace::Site("plant".into())));
        assert!(left.is_none());
        // Out 30 s later, on the road for the dwell: left when first seen out.
        let (leg, left) = step_loaded(&leg, &sites, &fix(30, 23.05), 0);
        assert!(left.is_none());
        let (_, left) = step_loaded(&leg, &sites, &fix(30 + 120, 23.07), 0);
        assert_eq!(left, Some(("plant".into(), 30_000)));
    }

    #[test]
    fn a_loading_point_that_is_no_site_counts_within_a_kilometre() {
        let leg = Leg {
            loaded_at: Some(LoadingPlace::Point {
                lat: 25.0,
                lon: 113.47,
            }),
            out_since: None,
        };
        let (leg, left) = step_loaded(&leg, &[], &fix(0, 25.005), 0);
        assert!(
            left.is_none() && leg.out_since.is_none(),
            "0.5 km: still there"
        );
        let (leg, _) = step_loaded(&leg, &[], &fix(10, 25.02), 0);
        let (_, left) = step_loaded(&leg, &[], &fix(200, 25.05), 0);
        assert_eq!(left, Some(("loading-point".into(), 10_000)));
        // Back within the kilometre before the dwell: not left.
        let (leg, _) = step_loaded(&Leg::default(), &[], &fix(0, 26.0), 0);
        let (leg, _) = step_loaded(&leg, &[], &fix(10, 26.02), 0);
        let (leg, _) = step_loaded(&leg, &[], &fix(20, 26.001), 0);
        assert!(leg.out_since.is_none());
    }

    #[test]
    fn a_first_fix_long_after_the_loading_says_nothing_of_where_it_was() {
        let hour = 3600;
        let (leg, left) = step_loaded(&Leg::default(), &[], &fix(hour, 25.0), 0);
        assert_eq!((leg, left), (Leg::default(), None));
        let (leg, _) = step_loaded(&Leg::default(), &[], &fix(9 * 60, 25.0), 0);
        assert!(
            leg.loaded_at.is_some(),
            "nine minutes after: where it was loaded"
        );
    }

    #[test]
    fn near_the_destination_is_within_a_kilometre() {
        let home = (39.92, 116.46);
        assert!(near_destination(
            home,
            &[],
            &fix(0, 39.92).with_lon(116.465)
        ));
        assert!(!near_destination(
            home,
            &[],
            &fix(0, 39.95).with_lon(116.46)
        ));
        // A destination inside a site is the site's fence's to tell.
        let gate = (23.03, 113.47);
        assert!(!near_destination(gate, &[plant()], &fix(0, 23.03)));
    }

    impl TrackPoint {
        fn with_lon(mut self, lon: f64) -> Self {
            self.lon = lon;
            self
        }
    }
}
