//! The `airis` process as a library: its configuration and which service
//! runs where ([`app`]). The binary is a command line over it, and the
//! end-to-end tests start services through [`app::start`] exactly as the
//! process does.

pub mod app;
