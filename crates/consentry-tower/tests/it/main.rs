//! consentry-tower's HTTP tests, in one binary (one link, one process per
//! test under nextest): real requests through the layer over hyper or
//! axum, each module one concern. The allocation count of the passthrough
//! path stays a binary of its own (`tests/passthrough_alloc.rs`: its counting
//! global allocator must see nothing else).

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// Helpers shared by the modules; not every module uses every one.
#[allow(dead_code)]
mod common;

mod consent_abuse;
mod embeds;
mod layer;
mod receipt_stores;
mod regions;
mod response_shapes;
mod seed_sites;
mod services;
mod shared_cases;
mod sqlite;
