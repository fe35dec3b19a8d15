//! Pure geometry over WGS-84 positions: GPS filtering for now; geofences,
//! route progress and ETA join it with the geo issue.

pub mod filter;
