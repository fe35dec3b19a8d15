//! Pure geometry over WGS-84 positions, with no I/O:
//!
//! - `filter`: a fix judged noise on its own (null island, poor HDOP);
//! - `speed`: a fix judged a jump against its neighbours in time;
//! - `route`: progress along a planned route, in metres on the Earth;
//! - `eta`: arrival time anchored on the latest fix, with required rests;
//! - `fence`: sites as circles or GeoJSON polygons, and entering or leaving
//!   them with hysteresis and a dwell in fix time;
//! - `leg`: where each car was loaded, and when it left or arrived;
//! - `pass`: what one newest fix means for a vehicle and its cars.

pub mod eta;
pub mod fence;
pub mod filter;
pub mod leg;
pub mod pass;
pub mod route;
pub mod speed;
