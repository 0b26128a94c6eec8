//! AIRIS-MON contracts.
//!
//! `build.rs` compiles every file under `proto/` once; this crate exposes the
//! generated modules nested like the protobuf packages (`airis::common::v1`),
//! the OTLP types from the `opentelemetry-proto` crate (and [`kv`] to build
//! their attributes), one encoded descriptor set that every server
//! registers for gRPC reflection, and the names of the services the
//! contracts define ([`SERVICES`]).
//!
//! Services depend on this crate for `tonic` and `prost` too, so the whole
//! workspace builds exactly one version of each.

pub use opentelemetry_proto as otlp;
pub use prost;
pub use prost_types;
pub use tonic;

pub mod kv;

include!(concat!(env!("OUT_DIR"), "/_includes.rs"));

/// Encoded `FileDescriptorSet` of every AIRIS-MON proto file, for tonic-reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/airis_descriptor.bin"));

// `SERVICES`, written by build.rs.
include!(concat!(env!("OUT_DIR"), "/services.rs"));
