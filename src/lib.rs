//! vinpath: tracks new cars from the plant to the customer's door.
//!
//! `domain` and `geo` are pure; `store` is the only module that knows
//! Redis and `media` the only one that knows object storage; `ingest`
//! decides what carrier events mean (its planning is pure) and applies
//! them through `store`; `live` and `http` are the edges; `app` puts them
//! together.

pub mod app;
#[cfg(feature = "client")]
pub mod client;
pub mod clock;
pub mod config;
pub mod correct;
pub mod devices;
pub mod domain;
pub mod geo;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod live;
pub mod media;
pub mod recording;
pub mod store;
pub mod webhooks;
