//! consentry-core's integration tests, in one binary (one link, one
//! process per test under nextest): each module is one concern.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod js_types;
mod properties;
mod ready;
mod regions;
mod rules;
mod seed_sites;
mod services;
mod versions;
