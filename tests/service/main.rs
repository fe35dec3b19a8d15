//! vinpath driven from outside, as carriers, dispatchers and customers use
//! it: real Redis, real sockets.

mod archive;
mod binary;
mod cameras;
mod clips;
mod cluster;
mod console;
mod corrections;
mod credentials;
mod demo;
mod devices;
mod events;
mod functions;
mod geo;
mod handover;
mod ingest;
mod inspections;
mod journey;
mod legs;
mod live;
mod openapi;
mod orders;
mod pages;
mod replay;
mod resilience;
mod steady;
mod support;
mod tls;
mod webhooks;
