//! Alert rules: checked ([`rule`]), stored per tenant ([`store`]), judged
//! minute by minute on the stored data ([`data`], [`evaluate`]), served by
//! the AlertService ([`service`]).

mod data;
mod evaluate;
mod rule;
mod service;
mod store;

pub use service::{Alerts, MAX_RULES_PER_TENANT, MAX_TEST_MINUTES};
