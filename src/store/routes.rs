//! An order's planned route.

use super::{Result, Store, keys};

impl Store {
    /// Sets an order's planned route (GeoJSON LineString coordinates,
    /// `[lon, lat]` pairs). `false` if the order does not exist.
    pub async fn set_route(
        &self,
        order: &crate::domain::OrderId,
        coordinates: &[[f64; 2]],
    ) -> Result<bool> {
        let json = serde_json::to_string(coordinates).unwrap_or_default();
        let mut pipe = redis::pipe();
        pipe.cmd("EXISTS").arg(keys::order(order));
        let (exists,): (bool,) = self.query(&pipe).await?;
        if exists {
            // The route and the revision of what fixes are judged by, together.
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.cmd("SET")
                .arg(keys::order_route(order))
                .arg(json)
                .ignore();
            pipe.cmd("HINCRBY")
                .arg(keys::order(order))
                .arg("rev")
                .arg(1)
                .ignore();
            let () = self.query(&pipe).await?;
        }
        Ok(exists)
    }
}
