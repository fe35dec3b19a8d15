//! Progress along a planned route, measured on the Earth: how far a truck
//! has come, how far it has left, and how far it strays from the road.
//!
//! Lengths are haversine great-circle distances in metres, and each leg of
//! a route is the great-circle arc between its two vertices.

use ::geo::{Closest, Distance, Haversine, HaversineClosestPoint, Line, Point};

/// A planned route: a polyline of WGS-84 vertices, with the distance from
/// the first vertex to each vertex precomputed.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// Vertices as geo points (x = lon, y = lat). Shared: every car's
    /// context holds its route, and contexts are copied per request.
    points: std::sync::Arc<[Point<f64>]>,
    /// `cumulative_m[i]` is the route length from the first vertex to
    /// vertex `i`; the first entry is 0.
    cumulative_m: std::sync::Arc<[f64]>,
}

/// Where a position lies relative to a route.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Distance along the route to the point closest to the position.
    pub along_m: f64,
    /// Distance along the route from that point to the destination.
    pub remaining_m: f64,
    /// Distance from the position to the route.
    pub off_route_m: f64,
}

impl Route {
    /// A route through `points`, each `(lat, lon)` in degrees. `None` when
    /// there are fewer than two points or one is not a WGS-84 position.
    pub fn new(points: Vec<(f64, f64)>) -> Option<Route> {
        if points.len() < 2 || !points.iter().all(|&(lat, lon)| in_range(lat, lon)) {
            return None;
        }
        let points = points
            .into_iter()
            .map(|(lat, lon)| Point::new(lon, lat))
            .collect();
        Some(Route::from_points(points))
    }

    /// The direct great-circle route from `from` to `to`, each `(lat, lon)`,
    /// for when no planned route is known. Both are expected to be valid
    /// positions (the domain's `Position` guarantees that).
    pub fn straight(from: (f64, f64), to: (f64, f64)) -> Route {
        Route::from_points(vec![Point::new(from.1, from.0), Point::new(to.1, to.0)])
    }

    fn from_points(points: Vec<Point<f64>>) -> Route {
        let mut cumulative_m = Vec::with_capacity(points.len());
        let mut total = 0.0;
        cumulative_m.push(total);
        for pair in points.windows(2) {
            if let [a, b] = pair {
                total += haversine_m(*a, *b);
                cumulative_m.push(total);
            }
        }
        Route {
            points: points.into(),
            cumulative_m: cumulative_m.into(),
        }
    }

    /// Total length of the route in metres.
    pub fn length_m(&self) -> f64 {
        self.cumulative_m.last().copied().unwrap_or(0.0)
    }

    /// Where `(lat, lon)` lies on the route: the closest point over all
    /// legs decides, and on a tie the earlier leg wins, so a truck at a
    /// corner is counted at the corner, not before it.
    pub fn progress(&self, lat: f64, lon: f64) -> Progress {
        let p = Point::new(lon, lat);
        // (off_route_m, along_m) of the best leg so far.
        let mut best: Option<(f64, f64)> = None;
        for (pair, start_m) in self.points.windows(2).zip(self.cumulative_m.iter()) {
            let [a, b] = pair else { continue };
            let closest = closest_on_segment(*a, *b, p);
            let off = haversine_m(closest, p);
            if best.is_none_or(|(best_off, _)| off < best_off) {
                best = Some((off, start_m + haversine_m(*a, closest)));
            }
        }
        let length = self.length_m();
        let (off_route_m, along_m) = best.unwrap_or_else(|| {
            // Unreachable for a route of two or more points; measured from
            // the start so the answer is still meaningful.
            let start = self.points.first().copied().unwrap_or(p);
            (haversine_m(start, p), 0.0)
        });
        // max/min rather than clamp: clamp panics if `length` were NaN.
        let along_m = along_m.max(0.0).min(length);
        Progress {
            along_m,
            remaining_m: (length - along_m).max(0.0),
            off_route_m,
        }
    }
}

fn in_range(lat: f64, lon: f64) -> bool {
    // NaN and infinities fall outside both ranges.
    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)
}

/// Haversine distance between two geo points (x = lon, y = lat), metres.
pub(crate) fn haversine_m(a: Point<f64>, b: Point<f64>) -> f64 {
    Haversine.distance(a, b)
}

/// The point of the great-circle arc from `a` to `b` closest to `p`.
///
/// geo's spherical projection can produce NaN when `p` is within rounding
/// of an end of the arc; the nearer end is the right answer then.
pub(crate) fn closest_on_segment(a: Point<f64>, b: Point<f64>, p: Point<f64>) -> Point<f64> {
    let found = match Line::new(a, b).haversine_closest_point(&p) {
        Closest::Intersection(c) | Closest::SinglePoint(c) => Some(c),
        Closest::Indeterminate => None,
    };
    match found {
        Some(c) if c.x().is_finite() && c.y().is_finite() => c,
        _ if haversine_m(a, p) <= haversine_m(b, p) => a,
        _ => b,
    }
}

/// A planned route (`[lon, lat]`, as set) as a customer's map draws it,
/// `[lat, lon]`: a long one simplified to within about 200 m, which a
/// phone's map cannot tell apart; a short one as it is.
pub fn for_a_map(route: &[[f64; 2]]) -> Vec<[f64; 2]> {
    use ::geo::{LineString, Simplify};
    const LONG: usize = 400;
    let line = LineString::from(route.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>());
    let line = if route.len() > LONG {
        line.simplify(0.002)
    } else {
        line
    };
    line.points().map(|p| [p.y(), p.x()]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUANGZHOU: (f64, f64) = (23.13, 113.26);
    const WUHAN: (f64, f64) = (30.59, 114.31);

    fn close(actual: f64, expected: f64, tol: f64) -> bool {
        (actual - expected).abs() <= tol
    }

    #[test]
    fn guangzhou_to_wuhan_is_about_835_km() {
        // Haversine with R = 6371.0088 km, worked out by hand (Python):
        // 836 012.8 m.
        let expected = 836_012.8;
        let route = Route::straight(GUANGZHOU, WUHAN);
        let d = route.length_m();
        assert!(((d - expected) / expected).abs() < 0.005, "{d}");
        assert!(((d - 835_000.0) / 835_000.0).abs() < 0.005, "{d}");

        let start = route.progress(GUANGZHOU.0, GUANGZHOU.1);
        assert!(close(start.along_m, 0.0, 1.0), "{start:?}");
        assert!(close(start.remaining_m, d, 1.0), "{start:?}");
        let end = route.progress(WUHAN.0, WUHAN.1);
        assert!(close(end.remaining_m, 0.0, 1.0), "{end:?}");
        assert!(close(end.off_route_m, 0.0, 1.0), "{end:?}");
    }

    /// North along the 114° E meridian for 0.5°, then east along 30.5° N.
    fn l_shape() -> Route {
        match Route::new(vec![(30.0, 114.0), (30.5, 114.0), (30.5, 114.6)]) {
            Some(r) => r,
            None => panic!("valid route rejected"),
        }
    }

    #[test]
    fn lengths_add_up_per_leg() {
        let route = l_shape();
        // By hand: 55 597.5 m north, 57 485.3 m east.
        assert!(close(route.length_m(), 55_597.5 + 57_485.3, 1.0));
    }

    #[test]
    fn a_point_near_the_corner_is_one_leg_along() {
        let route = l_shape();
        let first_leg = 55_597.5;
        let p = route.progress(30.4999, 114.0001);
        assert!(close(p.along_m, first_leg, 30.0), "{p:?}");
        assert!(
            close(p.remaining_m, route.length_m() - first_leg, 30.0),
            "{p:?}"
        );
        assert!(p.off_route_m < 20.0, "{p:?}");
        // Exactly at the corner.
        let c = route.progress(30.5, 114.0);
        assert!(close(c.along_m, first_leg, 1.0), "{c:?}");
    }

    #[test]
    fn a_point_off_the_route_reports_its_distance_to_it() {
        let route = l_shape();
        // 0.01° east of the first leg, halfway up. A meridian is a great
        // circle, so the foot of the perpendicular is (30.25, 114.0):
        // 960.5 m away and 27 798.8 m along, by hand.
        let p = route.progress(30.25, 114.01);
        assert!(close(p.off_route_m, 960.5, 1.0), "{p:?}");
        assert!(close(p.along_m, 27_798.8, 5.0), "{p:?}");
    }

    #[test]
    fn points_beyond_the_ends_clamp_to_them() {
        let route = l_shape();
        let before = route.progress(29.9, 114.0);
        assert!(close(before.along_m, 0.0, 1.0), "{before:?}");
        assert!(close(before.off_route_m, 11_119.5, 5.0), "{before:?}");
        let after = route.progress(30.5, 114.7);
        assert!(close(after.remaining_m, 0.0, 1.0), "{after:?}");
    }

    #[test]
    fn too_few_or_bad_points_are_refused() {
        assert!(Route::new(vec![]).is_none());
        assert!(Route::new(vec![(30.0, 114.0)]).is_none());
        assert!(Route::new(vec![(30.0, 114.0), (f64::NAN, 114.0)]).is_none());
        assert!(Route::new(vec![(30.0, 114.0), (91.0, 114.0)]).is_none());
    }

    #[test]
    fn a_long_route_is_drawn_with_fewer_points_a_short_one_as_it_is() {
        // 2,000 points along a road north, each a metre or two off a line.
        let long: Vec<[f64; 2]> = (0..2000)
            .map(|i| {
                [
                    113.5 + 0.00001 * f64::from(i % 2),
                    23.1 + 0.004 * f64::from(i),
                ]
            })
            .collect();
        let drawn = for_a_map(&long);
        assert!(drawn.len() < 50, "{}", drawn.len());
        assert_eq!(drawn[0], [23.1, 113.5], "[lat, lon], from its start");
        assert_eq!(
            *drawn.last().unwrap(),
            [long[1999][1], long[1999][0]],
            "to its end"
        );
        let short = [[113.5, 23.1], [114.3, 30.6], [116.46, 39.95]];
        assert_eq!(
            for_a_map(&short),
            [[23.1, 113.5], [30.6, 114.3], [39.95, 116.46]]
        );
    }
}
