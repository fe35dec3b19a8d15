//! vinpath: tracks new cars from the plant to the customer's door.
//!
//! `domain` and `geo` are pure; `store` is the only module that knows
//! Redis and `media` the only one that knows object storage; `live` and
//! `http` are the edges; `app` puts them together.

pub mod app;
pub mod clock;
pub mod domain;
pub mod geo;
pub mod http;
pub mod jobs;
pub mod live;
pub mod loadgen;
pub mod media;
pub mod simulate;
pub mod store;
