//! Per-minute rollups of `otel_traces` that ServiceOverview and ServiceMap
//! read instead of every span, and the task that builds them.
//!
//! Three tables (docs/schema.md): [`RED_1M`](crate::tables::RED_1M) (RED
//! numbers per service, operation and kind),
//! [`EDGES_1M`](crate::tables::EDGES_1M) (caller → callee calls) and
//! [`ROLLUP_BUILDS`](crate::tables::ROLLUP_BUILDS) (what each build saw).
//! The live span count of a minute comes from
//! [`MINUTE_COUNTS`](crate::tables::MINUTE_COUNTS), which the loader writes
//! with every batch right after its spans ([`counts`]), so a count never
//! covers spans that are not stored yet.
//!
//! A *build* of a range of minutes reads the per-minute span counts, writes
//! both rollups under a fresh `BuildId`, then records, per tenant and minute,
//! the counts it saw for that minute and its two neighbours. Readers use a
//! minute's rollup rows only when
//! - a build record exists for it (the record is the commit point: rows of a
//!   build that died halfway are never read), and
//! - its counts still equal the live counts (the minute
//!   itself for RED; the minute and both neighbours for edges, whose
//!   parents may lie there).
//!
//! Any other minute — still filling, changed by a late span, never built,
//! older than the builder looks — is computed from the spans at query time,
//! with the very same SQL. So an answer never depends on what was rolled up;
//! rollups only make it cheaper. Rebuilding is idempotent and needs no
//! coordination: several builders may run, the newest record wins.
//!
//! By job:
//! - [`rules`]: what both paths compute (errors, latency states, edges,
//!   minute arithmetic), as SQL fragments;
//! - [`counts`]: the live span counts per minute the loader writes;
//! - [`plan`]: which minutes of a query's window the rollups may answer;
//! - [`build`]: the builder, which runs next to every loader.

pub mod build;
pub mod counts;
pub mod plan;
pub mod rules;
