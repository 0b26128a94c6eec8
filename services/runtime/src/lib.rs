//! Runtime pieces every AIRIS-MON service shares, so none of them is copied
//! into a service:
//!
//! - [`config`]: defaults → TOML file → `AIRIS_*` environment, resolved from a
//!   map the caller passes in (tests build config without touching the process
//!   environment);
//! - [`shutdown`]: one signal for SIGTERM / ctrl-c that every task can await;
//! - [`grpc`]: serving a tonic router with `grpc.health.v1` and reflection
//!   (v1 and v1alpha) registered, draining on shutdown;
//! - [`mesh`]: the local mesh's Envoy templates filled in, for the launcher
//!   and the tests alike;
//! - [`telemetry`]: `tracing` logs and optional self-telemetry over OTLP;
//! - [`auth`]: authentication and roles, i.e. which [`tenant`] a request
//!   acts for and what it may do;
//! - [`clock`]: "now" in the platform's units;
//! - [`clickhouse`], [`kafka`] and [`redis`]: client construction from config.

pub mod auth;
pub mod clickhouse;
pub mod clock;
pub mod config;
pub mod connect;
pub mod grpc;
pub mod kafka;
pub mod listen;
pub mod mesh;
pub mod redis;
pub mod shutdown;
pub mod telemetry;
pub mod tenant;

pub use shutdown::Shutdown;
