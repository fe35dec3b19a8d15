//! Sites (plants, warehouses, compounds) in Redis, and each instance's copy
//! of them for the geofences, refreshed whenever their version changes.

use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Result, Store, StoreError, keys};
use crate::geo::fence::{Area, Site, parse_geojson_polygon};
use crate::geo::pass::SiteInfo;

/// A site as stored and listed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SiteRecord {
    pub site_id: String,
    pub name: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub center: Option<Center>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub radius_m: Option<f64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Center {
    pub lat: f64,
    pub lon: f64,
}

impl SiteRecord {
    /// The site as the geofences see it: its area and a point to place it.
    pub fn info(&self) -> std::result::Result<SiteInfo, String> {
        let (area, lat, lon) = match (&self.area, self.center, self.radius_m) {
            (Some(a), _, _) => {
                let poly = parse_geojson_polygon(a)?;
                // The mean of the ring's vertices places the site well enough.
                let ring = &poly.exterior().0;
                let n = ring.len().max(1) as f64;
                let (sx, sy) = ring.iter().fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
                (Area::Polygon(poly), sy / n, sx / n)
            }
            (None, Some(c), Some(r)) if r > 0.0 && r <= 50_000.0 => (
                Area::Circle {
                    lat: c.lat,
                    lon: c.lon,
                    radius_m: r,
                },
                c.lat,
                c.lon,
            ),
            (None, Some(_), Some(_)) => {
                return Err("radius_m must be more than 0 and at most 50000".into());
            }
            _ => {
                return Err(
                    "a site needs an area (GeoJSON Polygon) or a center and radius_m".into(),
                );
            }
        };
        Ok(SiteInfo {
            site: Site {
                id: self.site_id.clone(),
                area,
            },
            kind: self.kind.clone(),
            lat,
            lon,
        })
    }
}

/// This instance's copy of the sites, with the version it was read at.
#[derive(Default)]
pub(super) struct SiteCache(RwLock<(i64, Arc<Vec<SiteInfo>>)>);

impl Store {
    /// Creates a site; `false` if its id exists.
    pub async fn create_site(&self, site: &SiteRecord) -> Result<bool> {
        let json = serde_json::to_string(site).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HSETNX")
            .arg(keys::SITES)
            .arg(&site.site_id)
            .arg(json)
            .cmd("INCR")
            .arg(keys::SITES_VERSION)
            .ignore();
        let (created,): (bool,) = self.query(&pipe).await?;
        if created {
            // This instance knows at once; others at their next scan or fix.
            self.current_sites().await?;
        }
        Ok(created)
    }

    pub async fn sites(&self) -> Result<Vec<SiteRecord>> {
        let mut pipe = redis::pipe();
        pipe.cmd("HVALS").arg(keys::SITES);
        let (raw,): (Vec<String>,) = self.query(&pipe).await?;
        let mut sites: Vec<SiteRecord> = raw
            .iter()
            .filter_map(|r| serde_json::from_str(r).ok())
            .collect();
        sites.sort_by(|a, b| a.site_id.cmp(&b.site_id));
        Ok(sites)
    }

    /// The sites as they are now (one round trip for their version, a
    /// second only when they changed).
    pub async fn current_sites(&self) -> Result<Arc<Vec<SiteInfo>>> {
        let mut pipe = redis::pipe();
        pipe.cmd("GET").arg(keys::SITES_VERSION);
        let (version,): (Option<i64>,) = self.query(&pipe).await?;
        self.sites_at(version.unwrap_or(0)).await
    }

    /// Adds the read of the sites' version to a pipeline (its answer goes
    /// to [`Store::note_sites_version`]).
    pub fn push_sites_version(&self, pipe: &mut redis::Pipeline) {
        pipe.cmd("GET").arg(keys::SITES_VERSION);
    }

    /// Refreshes this instance's copy of the sites if the version read
    /// says it is out of date.
    pub async fn note_sites_version(&self, version: redis::Value) -> Result<()> {
        let version: Option<i64> = redis::from_redis_value(version)
            .map_err(|e| StoreError::Corrupt(format!("sites version: {e}")))?;
        self.sites_at(version.unwrap_or(0)).await?;
        Ok(())
    }

    /// The sites this instance last read.
    pub fn cached_sites(&self) -> Arc<Vec<SiteInfo>> {
        self.inner
            .sites
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }

    /// The sites for the geofences, as of `version` (read by the caller in
    /// its own round trip); reloaded only when the version moved.
    pub(super) async fn sites_at(&self, version: i64) -> Result<Arc<Vec<SiteInfo>>> {
        {
            let cache = self.inner.sites.0.read().unwrap_or_else(|p| p.into_inner());
            if cache.0 == version {
                return Ok(cache.1.clone());
            }
        }
        let infos: Vec<SiteInfo> = self
            .sites()
            .await?
            .iter()
            .filter_map(|s| s.info().ok())
            .collect();
        let infos = Arc::new(infos);
        *self
            .inner
            .sites
            .0
            .write()
            .unwrap_or_else(|p| p.into_inner()) = (version, infos.clone());
        Ok(infos)
    }
}
