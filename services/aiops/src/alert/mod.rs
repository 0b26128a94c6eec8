//! Alert rules: checked ([`rule`]), stored per tenant ([`store`]), judged
//! minute by minute on the stored data ([`data`], [`evaluate`]), served by
//! the AlertService ([`service`]) and continuously in the watcher's
//! process ([`evaluator`]), their alerts stored ([`history`]); and
//! silences, checked and matched ([`silence`]) and stored
//! ([`silence_store`]); and notifications of firing and resolved alerts
//! ([`notify`]) by each tenant's policy ([`policy`], stored with the
//! notification log in [`notify_store`]).

mod data;
mod evaluate;
mod evaluator;
mod history;
mod notify;
mod notify_store;
mod policy;
mod rule;
mod service;
mod silence;
mod silence_store;
mod store;

pub(crate) use evaluator::Evaluator;
pub(crate) use notify::{Notifier, NotifyConfig, Snapshot};
pub use service::{Alerts, MAX_RULES_PER_TENANT, MAX_SILENCES_PER_TENANT, MAX_TEST_MINUTES};
