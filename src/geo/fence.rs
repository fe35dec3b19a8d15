//! Sites (warehouses, plants, gates) and geofences with hysteresis: a truck
//! enters or leaves a site only when the move is clear of GPS jitter at the
//! edge and has lasted long enough in fix time.

use ::geo::{Contains, Coord, LineString, Point, Polygon};
use serde::{Deserialize, Serialize};

use super::route::{closest_on_segment, haversine_m};

/// Hysteresis margin: leave only when this far outside a site, enter only
/// when this far inside.
pub const MARGIN_M: f64 = 150.0;
/// How long, in fix time, a change must be observed before it counts.
pub const DWELL_MS: i64 = 120_000;

/// The ground a site covers, in WGS-84.
#[derive(Clone, Debug, PartialEq)]
pub enum Area {
    /// Everything within `radius_m` metres of a centre.
    Circle { lat: f64, lon: f64, radius_m: f64 },
    /// A polygon whose coordinates are x = lon, y = lat; holes allowed.
    Polygon(Polygon<f64>),
}

impl Area {
    /// Whether `(lat, lon)` lies in the area grown by `margin_m` metres
    /// (shrunk when negative). A circle never shrinks below half its
    /// radius, so a small site can still be entered. A polygon grown by a
    /// margin also holds the points within that distance of its boundary;
    /// shrunk, it holds only the points at least that far inside.
    pub fn contains(&self, lat: f64, lon: f64, margin_m: f64) -> bool {
        let p = Point::new(lon, lat);
        match self {
            Area::Circle {
                lat: c_lat,
                lon: c_lon,
                radius_m,
            } => {
                let radius = (radius_m + margin_m).max(radius_m / 2.0);
                haversine_m(Point::new(*c_lon, *c_lat), p) <= radius
            }
            Area::Polygon(poly) => {
                let inside = poly.contains(&p);
                if margin_m > 0.0 {
                    inside || boundary_distance_m(poly, p) <= margin_m
                } else if margin_m < 0.0 {
                    inside && boundary_distance_m(poly, p) >= -margin_m
                } else {
                    inside
                }
            }
        }
    }
}

/// Haversine distance from `p` to the nearest edge of any ring of `poly`.
fn boundary_distance_m(poly: &Polygon<f64>, p: Point<f64>) -> f64 {
    std::iter::once(poly.exterior())
        .chain(poly.interiors())
        .flat_map(|ring| ring.lines())
        .map(|edge| {
            haversine_m(
                closest_on_segment(edge.start_point(), edge.end_point(), p),
                p,
            )
        })
        .fold(f64::INFINITY, f64::min)
}

/// Reads a GeoJSON Polygon geometry:
/// `{"type":"Polygon","coordinates":[[[lon,lat],...],...]}`. The first ring
/// is the outline, any others are holes; each ring needs at least four
/// positions and must end where it starts.
pub fn parse_geojson_polygon(v: &serde_json::Value) -> Result<Polygon<f64>, String> {
    if v.get("type").and_then(serde_json::Value::as_str) != Some("Polygon") {
        return Err("type must be \"Polygon\"".into());
    }
    let rings = v
        .get("coordinates")
        .and_then(serde_json::Value::as_array)
        .ok_or("coordinates must be an array of rings")?;
    let mut rings = rings.iter().enumerate().map(|(i, r)| parse_ring(i, r));
    let exterior = rings.next().ok_or("a polygon needs an outer ring")??;
    let holes = rings.collect::<Result<Vec<_>, String>>()?;
    Ok(Polygon::new(exterior, holes))
}

fn parse_ring(index: usize, ring: &serde_json::Value) -> Result<LineString<f64>, String> {
    let positions = ring
        .as_array()
        .ok_or_else(|| format!("ring {index} must be an array of positions"))?;
    if positions.len() < 4 {
        return Err(format!("ring {index} needs at least 4 positions"));
    }
    let mut coords = Vec::with_capacity(positions.len());
    for pos in positions {
        let pair = pos.as_array().map(|a| a.as_slice()).unwrap_or_default();
        let (lon, lat) = match pair {
            [lon, lat, ..] => (lon.as_f64(), lat.as_f64()),
            _ => (None, None),
        };
        match (lon, lat) {
            (Some(x), Some(y)) if (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y) => {
                coords.push(Coord { x, y });
            }
            _ => {
                return Err(format!(
                    "ring {index} has a position that is not [lon, lat]"
                ));
            }
        }
    }
    if coords.first() != coords.last() {
        return Err(format!("ring {index} is not closed"));
    }
    Ok(LineString::new(coords))
}

/// A named place a truck can be at.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    /// The site's id, as named in crossings.
    pub id: String,
    /// The ground it covers.
    pub area: Area,
}

/// What the fence remembers about one truck between fixes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FenceState {
    /// The site the truck is committed to being in, if any.
    pub inside: Option<String>,
    /// A different zone (a site, or `None` for open road) observed since
    /// the given fix time and not yet observed for [`DWELL_MS`].
    pub candidate: Option<(Option<String>, i64)>,
}

/// A committed change of site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Crossing {
    /// The truck arrived in the site with this id.
    Entered(String),
    /// The truck left the site with this id.
    Left(String),
}

/// The zone a fix is observed in. Sticky: the committed site, then a
/// pending candidate site, keep the fix while it is within their grown
/// area; otherwise the fix must be well inside a site to count as in it.
fn observe(state: &FenceState, sites: &[Site], lat: f64, lon: f64) -> Option<String> {
    let pending = state.candidate.as_ref().and_then(|(zone, _)| zone.as_ref());
    for id in [state.inside.as_ref(), pending].into_iter().flatten() {
        let holds = sites
            .iter()
            .any(|s| s.id == *id && s.area.contains(lat, lon, MARGIN_M));
        if holds {
            return Some(id.clone());
        }
    }
    sites
        .iter()
        .find(|s| s.area.contains(lat, lon, -MARGIN_M))
        .map(|s| s.id.clone())
}

/// Feeds one fix, at fix time `at_ms`, through the fence. Returns the new
/// state and the crossings it commits: a change of zone becomes a
/// candidate, and is committed, as `Left` of the old site and/or `Entered`
/// of the new one, once observed continuously for [`DWELL_MS`].
pub fn step(
    state: &FenceState,
    sites: &[Site],
    at_ms: i64,
    lat: f64,
    lon: f64,
) -> (FenceState, Vec<Crossing>) {
    let observed = observe(state, sites, lat, lon);
    if observed == state.inside {
        let settled = FenceState {
            inside: state.inside.clone(),
            candidate: None,
        };
        return (settled, Vec::new());
    }
    let since = match &state.candidate {
        Some((zone, since)) if *zone == observed => *since,
        _ => at_ms,
    };
    if at_ms.saturating_sub(since) < DWELL_MS {
        let pending = FenceState {
            inside: state.inside.clone(),
            candidate: Some((observed, since)),
        };
        return (pending, Vec::new());
    }
    let mut crossings = Vec::new();
    if let Some(old) = &state.inside {
        crossings.push(Crossing::Left(old.clone()));
    }
    if let Some(new) = &observed {
        crossings.push(Crossing::Entered(new.clone()));
    }
    let committed = FenceState {
        inside: observed,
        candidate: None,
    };
    (committed, crossings)
}

#[cfg(test)]
mod tests;
