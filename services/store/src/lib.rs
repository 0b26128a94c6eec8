//! AIRIS-MON's storage contract: everything that knows what ClickHouse
//! holds. Ingestion writes through it, analytics reads through it, and a
//! new service adds its tables here.
//!
//! | module | job |
//! |---|---|
//! | [`tables`] | the name of every table, once; nothing else spells them |
//! | [`schema`] | DDL, versioned migrations, TTL reconciliation (`airis migrate`) |
//! | [`derived`] | columns ClickHouse computes at insert for the delta service's groupings |
//! | [`insert`] | inserts ClickHouse deduplicates by a batch's token |
//! | [`sql`] | SQL from trusted text and bound values, time windows, running it |
//! | [`rollup`] | the per-minute RED and service-map rollups: [`rollup::rules`] (what builder and queries both compute), [`rollup::counts`] (the loader's minute counts), [`rollup::plan`] (which minutes a query reads from the rollups), [`rollup::build`] (the builder) |
//!
//! Read planning lives here, not in the analytics service, because it is the
//! other half of the builder's contract: it decides what a build record
//! means.

pub mod derived;
pub mod insert;
pub mod rollup;
pub mod schema;
pub mod sql;
pub mod tables;
