//! The name of every ClickHouse table, once. Queries and inserts name
//! tables only through these constants (the DDL is in [`crate::schema`]).
//!
//! In cluster mode these are the `Distributed` tables; the data lives in
//! `<name>_local` ([`crate::schema`]).

/// Spans, as the OpenTelemetry Collector's ClickHouse exporter stores them.
pub const TRACES: &str = "otel_traces";
/// Per tenant and trace: the earliest and latest span start (GetTrace's
/// time bounds).
pub const TRACE_ID_TS: &str = "otel_traces_trace_id_ts";
/// Log records.
pub const LOGS: &str = "otel_logs";
/// Metric data points, one table per OTLP metric type.
pub const METRICS_GAUGE: &str = "otel_metrics_gauge";
pub const METRICS_SUM: &str = "otel_metrics_sum";
pub const METRICS_HISTOGRAM: &str = "otel_metrics_histogram";
pub const METRICS_EXP_HISTOGRAM: &str = "otel_metrics_exponential_histogram";
pub const METRICS_SUMMARY: &str = "otel_metrics_summary";
/// Spans per tenant and minute, written by the loader with every batch
/// ([`crate::rollup::counts`]).
pub const MINUTE_COUNTS: &str = "otel_traces_minute_counts";
/// Per-minute RED rollup ([`crate::rollup`]).
pub const RED_1M: &str = "otel_traces_red_1m";
/// Per-minute service-map rollup ([`crate::rollup`]).
pub const EDGES_1M: &str = "otel_traces_edges_1m";
/// What each rollup build saw, its commit point ([`crate::rollup`]).
pub const ROLLUP_BUILDS: &str = "otel_traces_rollup_builds";
/// Anomalies that continuous detection found, one row per series and
/// minute (a replayed minute may write its row again).
pub const ANOMALIES: &str = "aiops_anomalies";
/// The state of every watched series' detector as of a minute, so a
/// restarted watcher resumes where it was.
pub const DETECTOR_STATES: &str = "aiops_detector_states";
/// Alert rules, every version of each ([`crate::schema`]).
pub const ALERT_RULES: &str = "aiops_alert_rules";
/// Silences, every version of each ([`crate::schema`]).
pub const SILENCES: &str = "aiops_silences";
/// Alerts of stored rules, one row per (rule, first active minute) as
/// last judged: pending, firing and resolved ones (the history).
pub const ALERTS: &str = "aiops_alerts";
/// Notification policies (receivers, routes), every version of each
/// tenant's ([`crate::schema`]).
pub const NOTIFICATION_POLICIES: &str = "aiops_notification_policies";
/// The notification log: every notification sent or attempted.
pub const NOTIFICATIONS: &str = "aiops_notifications";
/// The migrations applied ([`crate::schema::migrate`]).
pub const MIGRATIONS: &str = "airis_schema_migrations";
