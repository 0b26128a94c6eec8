//! ClickHouse schema: the OpenTelemetry Collector ClickHouse exporter's tables
//! plus a tenant column, created by versioned, idempotent migrations.
//!
//! Column names and types follow the collector-contrib exporter
//! (`exporter/clickhouseexporter/internal/sqltemplates/*_table.sql`), so tools
//! that read that schema (Grafana's ClickHouse data source, ClickStack) can
//! read ours. What differs, and why, is written down in `docs/schema.md`:
//!
//! - every table has `TenantId LowCardinality(String)` first in its primary key;
//! - `otel_traces_trace_id_ts` is written by the loader itself (ingestion's
//!   `TraceBatch`), not by a materialized view, so every table
//!   is deduplicated by its own insert token;
//! - every MergeTree keeps a deduplication window, so a retried insert with
//!   the same `insert_deduplication_token` is dropped by ClickHouse;
//! - with `cluster` set, the same tables become `Replicated*MergeTree` local
//!   tables (`<name>_local`) behind `Distributed` tables with the public names.

use std::fmt::Write as _;

use crate::{derived, tables};

/// Where the schema lives and how long data is kept.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SchemaConfig {
    /// ClickHouse cluster name (`<remote_servers>`). When set, every statement
    /// runs `ON CLUSTER`, tables are replicated and sharded through
    /// `Distributed` tables; when unset, plain `MergeTree` tables.
    pub cluster: Option<String>,
    /// Retention of `otel_traces` and `otel_traces_trace_id_ts`; 0 keeps forever.
    pub traces_ttl_days: u32,
    /// Retention of `otel_logs`; 0 keeps forever.
    pub logs_ttl_days: u32,
    /// Retention of the five `otel_metrics_*` tables; 0 keeps forever.
    pub metrics_ttl_days: u32,
}

impl Default for SchemaConfig {
    fn default() -> Self {
        Self {
            cluster: None,
            traces_ttl_days: 15,
            logs_ttl_days: 15,
            metrics_ttl_days: 30,
        }
    }
}

/// A migration or the migration bookkeeping failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A database or cluster name that cannot be used in DDL.
    #[error("invalid {what} name {name:?}: {reason}")]
    InvalidName {
        what: &'static str,
        name: String,
        reason: &'static str,
    },
    /// `CREATE DATABASE` or the `airis_schema_migrations` table failed.
    #[error("preparing database {database}: {source}")]
    Prepare {
        database: String,
        #[source]
        source: clickhouse::error::Error,
    },
    /// One statement of a migration failed; the migration is not recorded
    /// and is retried whole by the next `migrate`.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: u32,
        name: &'static str,
        #[source]
        source: clickhouse::error::Error,
    },
    /// Applying the configured TTL to an existing table failed.
    #[error("setting the TTL of {table}: {source}")]
    Ttl {
        table: &'static str,
        #[source]
        source: clickhouse::error::Error,
    },
}

/// The projection of `otel_traces` ordered by trace id, which `GetTrace`
/// reads (one or two granules per part instead of one per span).
pub const TRACE_PROJECTION: &str = "by_trace";

/// Deduplication window (number of most recent insert blocks whose hashes a
/// table remembers). A batch insert makes one block per partition touched,
/// so this covers thousands of batches per table.
pub const DEDUPLICATION_WINDOW: u32 = 10_000;

/// How long a replicated table remembers block hashes (one week, ClickHouse's
/// default, made explicit): a batch retried within this time is deduplicated.
pub const REPLICATED_DEDUPLICATION_WINDOW_SECONDS: u32 = 7 * 24 * 3600;

/// Which retention setting applies to a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Traces,
    Logs,
    Metrics,
    /// What people configured (alert rules): kept until deleted, no TTL.
    Config,
}

impl Family {
    fn ttl_days(self, config: &SchemaConfig) -> u32 {
        match self {
            Family::Traces => config.traces_ttl_days,
            Family::Logs => config.logs_ttl_days,
            Family::Metrics => config.metrics_ttl_days,
            Family::Config => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // ClickHouse's names.
enum Engine {
    MergeTree,
    AggregatingMergeTree,
    /// Rows with the same sorting key collapse to the one with the largest
    /// version column (eventually: readers aggregate, never rely on it).
    ReplacingMergeTree(&'static str),
}

/// One table of the schema, engine-independent.
struct TableDef {
    name: &'static str,
    /// Column and index definitions, one per line, comma-separated.
    body: &'static str,
    engine: Engine,
    partition_by: &'static str,
    primary_key: Option<&'static str>,
    order_by: &'static str,
    /// The DateTime expression the TTL counts from.
    ttl_column: &'static str,
    family: Family,
    /// Sharding key of the `Distributed` table in cluster mode. It must be
    /// deterministic (never `rand()`): a retried batch has to reach the same
    /// shards to be deduplicated there.
    sharding_key: &'static str,
}

const TRACES_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8";

const TRACE_ID_TS_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime64(9)) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime64(9)) CODEC(ZSTD(1))";

/// Spans per tenant and minute of their start, written by the loader with
/// each batch (after its spans, under the batch's token), so that the
/// rollups can tell cheaply whether a minute changed since it was built.
const MINUTE_COUNTS_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    Minute DateTime CODEC(Delta(4), ZSTD(1)),
    Spans SimpleAggregateFunction(sum, UInt64) CODEC(ZSTD(1))";

/// Per tenant, minute, service, operation and kind: the RED numbers of the
/// spans that started in that minute, written by the rollup builder
/// ([`crate::rollup::build`]).
const RED_1M_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    Minute DateTime CODEC(Delta(4), ZSTD(1)),
    BuildId UInt64 CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    Requests UInt64 CODEC(T64, ZSTD(1)),
    Errors UInt64 CODEC(T64, ZSTD(1)),
    Latency AggregateFunction(quantilesExact(0.5, 0.95, 0.99), UInt64) CODEC(ZSTD(1))";

/// Per tenant, minute and caller → callee: the calls whose callee span
/// started in that minute, written by the rollup builder
/// ([`crate::rollup::build`]).
const EDGES_1M_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    Minute DateTime CODEC(Delta(4), ZSTD(1)),
    BuildId UInt64 CODEC(ZSTD(1)),
    Caller LowCardinality(String) CODEC(ZSTD(1)),
    Callee LowCardinality(String) CODEC(ZSTD(1)),
    Requests UInt64 CODEC(T64, ZSTD(1)),
    Errors UInt64 CODEC(T64, ZSTD(1)),
    Latency AggregateFunction(quantilesExact(0.5, 0.95, 0.99), UInt64) CODEC(ZSTD(1))";

/// One row per tenant, minute and build: the span counts the build saw for
/// the minute and its two neighbours. A build's rollup rows count only once
/// its row here exists, and only while the counts still equal `otel_traces`.
const ROLLUP_BUILDS_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    Minute DateTime CODEC(Delta(4), ZSTD(1)),
    BuildId UInt64 CODEC(ZSTD(1)),
    SpansBefore UInt64 CODEC(ZSTD(1)),
    Spans UInt64 CODEC(ZSTD(1)),
    SpansAfter UInt64 CODEC(ZSTD(1))";

/// Per tenant, watched series and minute: a point the aiops detector
/// scored at or above its threshold. Detection is deterministic, so a
/// minute replayed after a restart writes the same values again; readers
/// take the earliest `DetectedAt` of a key.
const ANOMALIES_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Operation LowCardinality(String) CODEC(ZSTD(1)),
    Signal LowCardinality(String) CODEC(ZSTD(1)),
    Minute DateTime CODEC(Delta(4), ZSTD(1)),
    Value Float64 CODEC(ZSTD(1)),
    Expected Float64 CODEC(ZSTD(1)),
    Lower Float64 CODEC(ZSTD(1)),
    Upper Float64 CODEC(ZSTD(1)),
    Score Float64 CODEC(ZSTD(1)),
    Kind LowCardinality(String) CODEC(ZSTD(1)),
    DetectedAt DateTime64(9) CODEC(Delta(8), ZSTD(1))";

/// Per tenant: every version of every alert rule, the newest one current
/// unless it marks the rule deleted. `Rule` is the `AlertRule` message,
/// encoded and hex-encoded; `Name` is its name, for ordering.
const ALERT_RULES_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    RuleId String CODEC(ZSTD(1)),
    Version UInt64,
    Deleted UInt8,
    Name String CODEC(ZSTD(1)),
    Rule String CODEC(ZSTD(3)),
    UpdatedAt DateTime64(9) CODEC(Delta(8), ZSTD(1))";

/// Per tenant: every version of every silence, the newest one current.
/// `Silence` is the `Silence` message, encoded and hex-encoded; the times
/// are its own, for listing by state without decoding.
const SILENCES_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    SilenceId String CODEC(ZSTD(1)),
    Version UInt64,
    StartsAt DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    EndsAt DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    Silence String CODEC(ZSTD(3)),
    UpdatedAt DateTime64(9) CODEC(Delta(8), ZSTD(1))";

/// Per tenant, rule and first active minute: the alert as last judged
/// (`EvaluatedAt`, the last minute judged, orders the versions). Times are
/// minutes, 0 when not yet; the annotations are rendered in both
/// languages, as the rule said them then.
const ALERTS_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    RuleId String CODEC(ZSTD(1)),
    ActiveAt DateTime CODEC(Delta(4), ZSTD(1)),
    RuleVersion UInt64,
    State LowCardinality(String) CODEC(ZSTD(1)),
    FiredAt DateTime CODEC(ZSTD(1)),
    ResolvedAt DateTime CODEC(ZSTD(1)),
    Value Float64 CODEC(ZSTD(1)),
    Labels Map(String, String) CODEC(ZSTD(1)),
    AnnotationsEn Map(String, String) CODEC(ZSTD(3)),
    AnnotationsKo Map(String, String) CODEC(ZSTD(3)),
    EvaluatedAt DateTime CODEC(Delta(4), ZSTD(1))";

/// Per tenant and watched series: its detector's state after `Minute`, the
/// last minute it learned. A checkpoint writes every series of a tenant
/// with the same `Minute`; readers take the newest row of each series.
/// Per tenant: every version of its notification policy, the newest one
/// current. `Policy` is the `NotificationPolicy` message, encoded and
/// hex-encoded.
const NOTIFICATION_POLICIES_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    Version UInt64,
    Policy String CODEC(ZSTD(3)),
    UpdatedAt DateTime64(9) CODEC(Delta(8), ZSTD(1))";

/// The notification log: per tenant, receiver, webhook and group, each
/// notification sent or attempted, with the fingerprints of the alerts it
/// named firing and resolved. The last delivered one of a group is what
/// the next flush compares with, so a restart sends nothing twice.
const NOTIFICATIONS_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    Receiver String CODEC(ZSTD(1)),
    Webhook UInt32,
    GroupKey String CODEC(ZSTD(1)),
    GroupLabels Map(String, String) CODEC(ZSTD(1)),
    Firing Array(String) CODEC(ZSTD(1)),
    Resolved Array(String) CODEC(ZSTD(1)),
    Alerts UInt32,
    SentAt DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    Delivered UInt8,
    Error String CODEC(ZSTD(1))";

const DETECTOR_STATES_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    Series String CODEC(ZSTD(1)),
    Minute DateTime CODEC(Delta(4), ZSTD(1)),
    State String CODEC(ZSTD(3))";

const LOGS_BODY: &str = "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TimestampTime DateTime DEFAULT toDateTime(Timestamp),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    EventName String CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8";

/// Columns every metric table starts with.
macro_rules! metric_common_columns {
    () => {
        "\
    TenantId LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl String CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1)),
    ScopeSchemaUrl String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    MetricName LowCardinality(String) CODEC(ZSTD(1)),
    MetricDescription String CODEC(ZSTD(1)),
    MetricUnit String CODEC(ZSTD(1)),
    Attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    StartTimeUnix DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TimeUnix DateTime64(9) CODEC(Delta(8), ZSTD(1)),
"
    };
}

/// Exemplars, for every metric table but summaries.
macro_rules! metric_exemplars {
    () => {
        "\
    Exemplars Nested (
        FilteredAttributes Map(LowCardinality(String), String),
        TimeUnix DateTime64(9),
        Value Float64,
        SpanId String,
        TraceId String
    ) CODEC(ZSTD(1)),
"
    };
}

/// Skip indexes every metric table ends with.
macro_rules! metric_indexes {
    () => {
        "\
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_key mapKeys(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_value mapValues(Attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_time_minmax TimeUnix TYPE minmax GRANULARITY 1"
    };
}

const GAUGE_BODY: &str = concat!(
    metric_common_columns!(),
    "    Value Float64 CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),
",
    metric_exemplars!(),
    metric_indexes!()
);

const SUM_BODY: &str = concat!(
    metric_common_columns!(),
    "    Value Float64 CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),
",
    metric_exemplars!(),
    "    AggregationTemporality Int32 CODEC(ZSTD(1)),
    IsMonotonic Bool CODEC(Delta(1), ZSTD(1)),
",
    metric_indexes!()
);

const HISTOGRAM_BODY: &str = concat!(
    metric_common_columns!(),
    "    Count UInt64 CODEC(Delta(8), ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    BucketCounts Array(UInt64) CODEC(ZSTD(1)),
    ExplicitBounds Array(Float64) CODEC(ZSTD(1)),
",
    metric_exemplars!(),
    "    Flags UInt32 CODEC(ZSTD(1)),
    Min Float64 CODEC(ZSTD(1)),
    Max Float64 CODEC(ZSTD(1)),
    AggregationTemporality Int32 CODEC(ZSTD(1)),
",
    metric_indexes!()
);

const EXP_HISTOGRAM_BODY: &str = concat!(
    metric_common_columns!(),
    "    Count UInt64 CODEC(Delta(8), ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    Scale Int32 CODEC(ZSTD(1)),
    ZeroCount UInt64 CODEC(ZSTD(1)),
    PositiveOffset Int32 CODEC(ZSTD(1)),
    PositiveBucketCounts Array(UInt64) CODEC(ZSTD(1)),
    NegativeOffset Int32 CODEC(ZSTD(1)),
    NegativeBucketCounts Array(UInt64) CODEC(ZSTD(1)),
",
    metric_exemplars!(),
    "    Flags UInt32 CODEC(ZSTD(1)),
    Min Float64 CODEC(ZSTD(1)),
    Max Float64 CODEC(ZSTD(1)),
    AggregationTemporality Int32 CODEC(ZSTD(1)),
",
    metric_indexes!()
);

const SUMMARY_BODY: &str = concat!(
    metric_common_columns!(),
    "    Count UInt64 CODEC(Delta(8), ZSTD(1)),
    Sum Float64 CODEC(ZSTD(1)),
    ValueAtQuantiles Nested (
        Quantile Float64,
        Value Float64
    ) CODEC(ZSTD(1)),
    Flags UInt32 CODEC(ZSTD(1)),
",
    metric_indexes!()
);

const METRIC_ORDER_BY: &str = "(TenantId, ServiceName, MetricName, toStartOfHour(TimeUnix), cityHash64(Attributes), TimeUnix)";
const METRIC_SHARDING_KEY: &str = "cityHash64(TenantId, ServiceName, MetricName, Attributes)";

const fn metric_table(name: &'static str, body: &'static str) -> TableDef {
    TableDef {
        name,
        body,
        engine: Engine::MergeTree,
        partition_by: "toDate(TimeUnix)",
        primary_key: None,
        order_by: METRIC_ORDER_BY,
        ttl_column: "toDateTime(TimeUnix)",
        family: Family::Metrics,
        sharding_key: METRIC_SHARDING_KEY,
    }
}

const TRACES: TableDef = TableDef {
    name: tables::TRACES,
    body: TRACES_BODY,
    engine: Engine::MergeTree,
    partition_by: "toDate(Timestamp)",
    primary_key: Some("(TenantId, ServiceName, SpanName, toDateTime(Timestamp))"),
    order_by: "(TenantId, ServiceName, SpanName, toDateTime(Timestamp), Timestamp)",
    ttl_column: "toDateTime(Timestamp)",
    family: Family::Traces,
    sharding_key: "cityHash64(TenantId, TraceId)",
};

const TRACE_ID_TS: TableDef = TableDef {
    name: tables::TRACE_ID_TS,
    body: TRACE_ID_TS_BODY,
    engine: Engine::AggregatingMergeTree,
    partition_by: "toStartOfWeek(Start)",
    primary_key: None,
    order_by: "(TenantId, TraceId)",
    ttl_column: "toDateTime(Start)",
    family: Family::Traces,
    // Same key as otel_traces: a trace's lookup row lives on its spans' shard.
    sharding_key: "cityHash64(TenantId, TraceId)",
};

const LOGS: TableDef = TableDef {
    name: tables::LOGS,
    body: LOGS_BODY,
    engine: Engine::MergeTree,
    partition_by: "toDate(TimestampTime)",
    primary_key: Some("(TenantId, ServiceName, TimestampTime)"),
    order_by: "(TenantId, ServiceName, TimestampTime, Timestamp)",
    ttl_column: "TimestampTime",
    family: Family::Logs,
    sharding_key: "cityHash64(TenantId, ServiceName, TraceId, Timestamp)",
};

const fn rollup_table(name: &'static str, body: &'static str, order_by: &'static str) -> TableDef {
    TableDef {
        name,
        body,
        engine: Engine::MergeTree,
        partition_by: "toDate(Minute)",
        primary_key: None,
        order_by,
        ttl_column: "Minute",
        family: Family::Traces,
        sharding_key: "cityHash64(TenantId, Minute)",
    }
}

const MINUTE_COUNTS: TableDef = TableDef {
    engine: Engine::AggregatingMergeTree,
    ..rollup_table(
        tables::MINUTE_COUNTS,
        MINUTE_COUNTS_BODY,
        "(TenantId, Minute)",
    )
};
const RED_1M: TableDef = rollup_table(
    tables::RED_1M,
    RED_1M_BODY,
    "(TenantId, Minute, BuildId, ServiceName, SpanName, SpanKind)",
);
const EDGES_1M: TableDef = rollup_table(
    tables::EDGES_1M,
    EDGES_1M_BODY,
    "(TenantId, Minute, BuildId, Caller, Callee)",
);
const ROLLUP_BUILDS: TableDef = rollup_table(
    tables::ROLLUP_BUILDS,
    ROLLUP_BUILDS_BODY,
    "(TenantId, Minute, BuildId)",
);

const ANOMALIES: TableDef = TableDef {
    name: tables::ANOMALIES,
    body: ANOMALIES_BODY,
    engine: Engine::ReplacingMergeTree("DetectedAt"),
    partition_by: "toDate(Minute)",
    primary_key: None,
    order_by: "(TenantId, Minute, ServiceName, Operation, Signal)",
    ttl_column: "Minute",
    family: Family::Metrics,
    sharding_key: "cityHash64(TenantId, Minute)",
};
const DETECTOR_STATES: TableDef = TableDef {
    name: tables::DETECTOR_STATES,
    body: DETECTOR_STATES_BODY,
    engine: Engine::ReplacingMergeTree("Minute"),
    partition_by: "toYYYYMM(Minute)",
    primary_key: None,
    order_by: "(TenantId, Series)",
    ttl_column: "Minute",
    family: Family::Metrics,
    sharding_key: "cityHash64(TenantId)",
};

// Plain MergeTree: every version stays (the history), and readers pick
// the newest by (Version, UpdatedAt) whatever merges did.
const ALERT_RULES: TableDef = TableDef {
    name: tables::ALERT_RULES,
    body: ALERT_RULES_BODY,
    engine: Engine::MergeTree,
    partition_by: "tuple()",
    primary_key: None,
    order_by: "(TenantId, RuleId, Version)",
    ttl_column: "UpdatedAt",
    family: Family::Config,
    sharding_key: "cityHash64(TenantId)",
};

// Plain MergeTree: every version stays (the history), and readers pick
// the newest by (Version, UpdatedAt) whatever merges did.
const SILENCES: TableDef = TableDef {
    name: tables::SILENCES,
    body: SILENCES_BODY,
    engine: Engine::MergeTree,
    partition_by: "tuple()",
    primary_key: None,
    order_by: "(TenantId, SilenceId, Version)",
    ttl_column: "UpdatedAt",
    family: Family::Config,
    sharding_key: "cityHash64(TenantId)",
};

const ALERTS: TableDef = TableDef {
    name: tables::ALERTS,
    body: ALERTS_BODY,
    engine: Engine::ReplacingMergeTree("EvaluatedAt"),
    partition_by: "toYYYYMM(ActiveAt)",
    primary_key: None,
    order_by: "(TenantId, RuleId, ActiveAt)",
    ttl_column: "ActiveAt",
    family: Family::Metrics,
    sharding_key: "cityHash64(TenantId)",
};

// Plain MergeTree: every version stays, readers take the newest by
// (Version, UpdatedAt).
const NOTIFICATION_POLICIES: TableDef = TableDef {
    name: tables::NOTIFICATION_POLICIES,
    body: NOTIFICATION_POLICIES_BODY,
    engine: Engine::MergeTree,
    partition_by: "tuple()",
    primary_key: None,
    order_by: "(TenantId, Version)",
    ttl_column: "UpdatedAt",
    family: Family::Config,
    sharding_key: "cityHash64(TenantId)",
};

const NOTIFICATIONS: TableDef = TableDef {
    name: tables::NOTIFICATIONS,
    body: NOTIFICATIONS_BODY,
    engine: Engine::MergeTree,
    partition_by: "toYYYYMM(SentAt)",
    primary_key: None,
    order_by: "(TenantId, Receiver, GroupKey, SentAt)",
    ttl_column: "SentAt",
    family: Family::Metrics,
    sharding_key: "cityHash64(TenantId)",
};

const GAUGE: TableDef = metric_table(tables::METRICS_GAUGE, GAUGE_BODY);
const SUM: TableDef = metric_table(tables::METRICS_SUM, SUM_BODY);
const HISTOGRAM: TableDef = metric_table(tables::METRICS_HISTOGRAM, HISTOGRAM_BODY);
const EXP_HISTOGRAM: TableDef = metric_table(tables::METRICS_EXP_HISTOGRAM, EXP_HISTOGRAM_BODY);
const SUMMARY: TableDef = metric_table(tables::METRICS_SUMMARY, SUMMARY_BODY);

/// Every table; the TTL of each follows the configuration of its family.
const ALL_TABLES: [&TableDef; 19] = [
    &TRACES,
    &TRACE_ID_TS,
    &MINUTE_COUNTS,
    &RED_1M,
    &EDGES_1M,
    &ROLLUP_BUILDS,
    &LOGS,
    &GAUGE,
    &SUM,
    &HISTOGRAM,
    &EXP_HISTOGRAM,
    &SUMMARY,
    &ANOMALIES,
    &DETECTOR_STATES,
    &ALERT_RULES,
    &SILENCES,
    &ALERTS,
    &NOTIFICATION_POLICIES,
    &NOTIFICATIONS,
];

/// One schema change. Statements must be idempotent (`IF NOT EXISTS`
/// everywhere): a migration interrupted halfway is re-run whole.
struct Migration {
    version: u32,
    name: &'static str,
    tables: &'static [&'static TableDef],
    /// Statements after the tables are created (e.g. `ALTER TABLE`).
    then: fn(&Renderer<'_>) -> Vec<String>,
}

fn nothing(_: &Renderer<'_>) -> Vec<String> {
    Vec::new()
}

/// Counts the spans stored before `otel_traces_minute_counts` existed, for
/// the minutes it has no count of yet (so a re-run adds nothing twice). The
/// loaders of this version count their own batches; stop older loaders
/// before migrating, or the spans they insert meanwhile go uncounted.
fn count_stored_minutes(r: &Renderer<'_>) -> Vec<String> {
    let counts = r.qualified(tables::MINUTE_COUNTS);
    let traces = r.qualified(tables::TRACES);
    vec![format!(
        "INSERT INTO {counts} (TenantId, Minute, Spans) \
         SELECT TenantId, toStartOfMinute(Timestamp) AS m, count() FROM {traces} \
         WHERE (TenantId, m) NOT IN (SELECT TenantId, Minute FROM {counts}) \
         GROUP BY TenantId, m"
    )]
}

/// Log search scans `Body` of every record in its range; LZ4 decompresses
/// it about twice as fast as ZSTD(1) for about twice the bytes of that one
/// column (docs/schema.md). New and merged parts get the new codec.
fn logs_body_lz4(r: &Renderer<'_>) -> Vec<String> {
    vec![format!(
        "ALTER TABLE {}{} MODIFY COLUMN Body String CODEC(LZ4)",
        r.qualified(&r.storage_name(tables::LOGS)),
        r.on_cluster
    )]
}

/// Rows per granule of `by_trace`: a trace is a few spans, so small
/// granules read little more than the trace itself.
const TRACE_PROJECTION_GRANULARITY: u32 = 1024;

/// `by_trace` is only ever read a whole row at a time, so its parts are
/// compact (all columns of a granule together, one file) at any size: a
/// lookup then opens one file per part instead of one per column stream
/// (~35 with the maps and nested columns), about 20 % faster with 20 parts.
const ALWAYS_COMPACT: u64 = 1 << 40;

/// `by_trace`: all columns again, ordered by trace id, for `GetTrace`
/// (projection settings need ClickHouse 26.1 or later).
/// `MATERIALIZE` builds it for parts written before (a background mutation;
/// until it is done, those parts are read without it).
fn trace_projection(r: &Renderer<'_>) -> Vec<String> {
    let table = r.qualified(&r.storage_name(tables::TRACES));
    vec![
        format!(
            "ALTER TABLE {table}{} ADD PROJECTION IF NOT EXISTS {TRACE_PROJECTION} \
             (SELECT * ORDER BY TenantId, TraceId, Timestamp) \
             WITH SETTINGS (index_granularity = {TRACE_PROJECTION_GRANULARITY}, \
             min_bytes_for_wide_part = {ALWAYS_COMPACT}, min_rows_for_wide_part = {ALWAYS_COMPACT})",
            r.on_cluster
        ),
        format!(
            "ALTER TABLE {table}{} MATERIALIZE PROJECTION {TRACE_PROJECTION}",
            r.on_cluster
        ),
    ]
}

/// `aiops_anomalies.Metric`: the metric series an anomaly was found in
/// (empty for RED series), part of the sorting key so that anomalies of
/// two metric series in the same minute stay two rows. A column may join
/// the sorting key only in the ALTER that adds it; run again, the column
/// and key are there and the statement changes nothing.
fn anomalies_metric(r: &Renderer<'_>) -> Vec<String> {
    let column = "Metric String CODEC(ZSTD(1)) AFTER Signal";
    let mut statements = vec![format!(
        "ALTER TABLE {}{} ADD COLUMN IF NOT EXISTS {column}, \
         MODIFY ORDER BY (TenantId, Minute, ServiceName, Operation, Signal, Metric)",
        r.qualified(&r.storage_name(tables::ANOMALIES)),
        r.on_cluster
    )];
    if r.config.cluster.is_some() {
        statements.push(format!(
            "ALTER TABLE {}{} ADD COLUMN IF NOT EXISTS {column}",
            r.qualified(tables::ANOMALIES),
            r.on_cluster
        ));
    }
    statements
}

/// The delta service's derived columns ([`crate::derived`]): computed by
/// ClickHouse as rows are inserted. Parts written before compute them when
/// read, with the same values, until merged or until an operator runs
/// `ALTER TABLE ... MATERIALIZE COLUMN` (docs/schema.md): a rewrite of every
/// part is not something a migration should start on its own.
fn derived_columns(r: &Renderer<'_>) -> Vec<String> {
    let columns = [
        (tables::TRACES, derived::span_compared_attributes()),
        (tables::LOGS, derived::log_body_shape()),
    ];
    let mut statements = Vec::new();
    for (table, column) in &columns {
        statements.push(format!(
            "ALTER TABLE {}{} ADD COLUMN IF NOT EXISTS {column}",
            r.qualified(&r.storage_name(table)),
            r.on_cluster
        ));
        // The Distributed table names the column too, so that it can be read.
        if r.config.cluster.is_some() {
            statements.push(format!(
                "ALTER TABLE {}{} ADD COLUMN IF NOT EXISTS {column}",
                r.qualified(table),
                r.on_cluster
            ));
        }
    }
    statements
}

/// The schema's history, in order. Append; never edit a released entry.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "otel_traces",
        tables: &[&TRACES, &TRACE_ID_TS],
        then: nothing,
    },
    Migration {
        version: 2,
        name: "otel_logs",
        tables: &[&LOGS],
        then: nothing,
    },
    Migration {
        version: 3,
        name: "otel_metrics",
        tables: &[&GAUGE, &SUM, &HISTOGRAM, &EXP_HISTOGRAM, &SUMMARY],
        then: nothing,
    },
    Migration {
        version: 4,
        name: "otel_traces_by_trace_projection",
        tables: &[],
        then: trace_projection,
    },
    Migration {
        version: 5,
        name: "otel_traces_rollups",
        tables: &[&MINUTE_COUNTS, &RED_1M, &EDGES_1M, &ROLLUP_BUILDS],
        then: count_stored_minutes,
    },
    Migration {
        version: 6,
        name: "otel_logs_body_lz4",
        tables: &[],
        then: logs_body_lz4,
    },
    Migration {
        version: 7,
        name: "aiops_anomalies",
        tables: &[&ANOMALIES, &DETECTOR_STATES],
        then: nothing,
    },
    Migration {
        version: 8,
        name: "aiops_alert_rules",
        tables: &[&ALERT_RULES],
        then: nothing,
    },
    Migration {
        version: 9,
        name: "aiops_silences",
        tables: &[&SILENCES],
        then: nothing,
    },
    Migration {
        version: 10,
        name: "aiops_alerts",
        tables: &[&ALERTS],
        then: nothing,
    },
    Migration {
        version: 11,
        name: "aiops_notifications",
        tables: &[&NOTIFICATION_POLICIES, &NOTIFICATIONS],
        then: nothing,
    },
    Migration {
        version: 12,
        name: "aiops_anomalies_metric",
        tables: &[],
        then: anomalies_metric,
    },
    Migration {
        version: 13,
        name: "delta_derived_columns",
        tables: &[],
        then: derived_columns,
    },
];

/// A migration with its statements rendered for one database and config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedMigration {
    pub version: u32,
    pub name: &'static str,
    pub statements: Vec<String>,
}

/// Quotes an identifier for ClickHouse SQL: `` `name` `` with `` ` `` and `\` escaped.
fn ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('`');
    for c in name.chars() {
        if c == '`' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('`');
    out
}

/// Quotes a string literal for ClickHouse SQL.
fn literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn check_name(what: &'static str, name: &str) -> Result<(), MigrateError> {
    let reason = if name.is_empty() {
        "empty"
    } else if name.chars().any(char::is_control) {
        "contains control characters"
    } else {
        return Ok(());
    };
    Err(MigrateError::InvalidName {
        what,
        name: name.to_owned(),
        reason,
    })
}

/// Renders statements for one database and configuration.
struct Renderer<'a> {
    /// The database name as given.
    database: &'a str,
    /// The database name quoted as an identifier.
    db: String,
    config: &'a SchemaConfig,
    on_cluster: String,
}

impl<'a> Renderer<'a> {
    fn new(database: &'a str, config: &'a SchemaConfig) -> Self {
        let on_cluster = match &config.cluster {
            Some(cluster) => format!(" ON CLUSTER {}", ident(cluster)),
            None => String::new(),
        };
        Self {
            database,
            db: ident(database),
            config,
            on_cluster,
        }
    }

    /// The table that holds the data: `<name>_local` in cluster mode.
    fn storage_name(&self, table: &str) -> String {
        if self.config.cluster.is_some() {
            format!("{table}_local")
        } else {
            table.to_owned()
        }
    }

    fn qualified(&self, table: &str) -> String {
        format!("{}.{}", self.db, ident(table))
    }

    fn create_database(&self) -> String {
        format!(
            "CREATE DATABASE IF NOT EXISTS {}{}",
            self.db, self.on_cluster
        )
    }

    fn engine(&self, engine: &str) -> String {
        match &self.config.cluster {
            Some(_) => format!(
                "Replicated{engine}('/clickhouse/tables/{{shard}}/{{database}}/{{table}}', '{{replica}}')"
            ),
            None => engine.to_owned(),
        }
    }

    fn dedup_settings(&self) -> String {
        match &self.config.cluster {
            Some(_) => format!(
                "replicated_deduplication_window = {DEDUPLICATION_WINDOW}, \
                 replicated_deduplication_window_seconds = {REPLICATED_DEDUPLICATION_WINDOW_SECONDS}"
            ),
            None => format!("non_replicated_deduplication_window = {DEDUPLICATION_WINDOW}"),
        }
    }

    fn migrations_table(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {}{} (\n    \
             version UInt32,\n    \
             name String,\n    \
             applied_at DateTime64(3, 'UTC') DEFAULT now64(3)\n\
             ) ENGINE = {}\nORDER BY version",
            self.qualified(tables::MIGRATIONS),
            self.on_cluster,
            self.engine("ReplacingMergeTree"),
        )
    }

    /// `TTL <expr>` of a table, without the keyword; `None` for no TTL.
    fn ttl(&self, table: &TableDef) -> Option<String> {
        match table.family.ttl_days(self.config) {
            0 => None,
            days => Some(format!("{} + toIntervalDay({days})", table.ttl_column)),
        }
    }

    fn create_table(&self, table: &TableDef) -> Vec<String> {
        let storage = self.storage_name(table.name);
        let engine = match table.engine {
            Engine::MergeTree => self.engine("MergeTree"),
            Engine::AggregatingMergeTree => self.engine("AggregatingMergeTree"),
            Engine::ReplacingMergeTree(version) => {
                let engine = self.engine("ReplacingMergeTree");
                // The replicated form already has its arguments in
                // parentheses; the version column comes last.
                match engine.strip_suffix(')') {
                    Some(args) => format!("{args}, {version})"),
                    None => format!("{engine}({version})"),
                }
            }
        };
        let mut sql = format!(
            "CREATE TABLE IF NOT EXISTS {}{} (\n    {}\n) ENGINE = {engine}\nPARTITION BY {}\n",
            self.qualified(&storage),
            self.on_cluster,
            table.body,
            table.partition_by,
        );
        if let Some(primary_key) = table.primary_key {
            let _ = writeln!(sql, "PRIMARY KEY {primary_key}");
        }
        let _ = writeln!(sql, "ORDER BY {}", table.order_by);
        if let Some(ttl) = self.ttl(table) {
            let _ = writeln!(sql, "TTL {ttl}");
        }
        let _ = write!(
            sql,
            "SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, {}",
            self.dedup_settings()
        );
        let mut statements = vec![sql];
        if let Some(cluster) = &self.config.cluster {
            statements.push(format!(
                "CREATE TABLE IF NOT EXISTS {}{} AS {}\nENGINE = Distributed({}, {}, {}, {})",
                self.qualified(table.name),
                self.on_cluster,
                self.qualified(&storage),
                literal(cluster),
                literal(self.database),
                literal(&storage),
                table.sharding_key,
            ));
        }
        statements
    }
}

/// Every migration's statements for `database` and `config`, in order. For
/// tests, docs and operators who want to see the DDL; [`migrate`] runs them.
pub fn render_migrations(database: &str, config: &SchemaConfig) -> Vec<RenderedMigration> {
    let renderer = Renderer::new(database, config);
    MIGRATIONS
        .iter()
        .map(|migration| RenderedMigration {
            version: migration.version,
            name: migration.name,
            statements: migration
                .tables
                .iter()
                .flat_map(|table| renderer.create_table(table))
                .chain((migration.then)(&renderer))
                .collect(),
        })
        .collect()
}

/// Applies every migration not yet recorded; returns the versions applied now.
///
/// Safe to run repeatedly and from several processes at once: every statement
/// is `CREATE ... IF NOT EXISTS`, a migration is recorded only after all of
/// its statements succeeded, and the record table is a `ReplacingMergeTree`
/// read with `DISTINCT`, so two concurrent runs at worst both apply (no-op)
/// and both record the same version. Afterwards, the TTL of every table is
/// brought in line with `config` (tables created earlier with another TTL are
/// altered).
///
/// `client` may have a default database that does not exist yet: statements
/// use fully qualified names and run with `system` as the session database.
pub async fn migrate(
    client: &clickhouse::Client,
    database: &str,
    config: &SchemaConfig,
) -> Result<Vec<u32>, MigrateError> {
    check_name("database", database)?;
    if let Some(cluster) = &config.cluster {
        check_name("cluster", cluster)?;
    }
    let client = client.clone().with_database("system");
    let renderer = Renderer::new(database, config);
    let prepare = |source| MigrateError::Prepare {
        database: database.to_owned(),
        source,
    };

    client
        .query_raw(&renderer.create_database())
        .execute()
        .await
        .map_err(prepare)?;
    client
        .query_raw(&renderer.migrations_table())
        .execute()
        .await
        .map_err(prepare)?;

    let applied: Vec<u32> = client
        .query_raw(&format!(
            "SELECT DISTINCT version FROM {} ORDER BY version",
            renderer.qualified(tables::MIGRATIONS)
        ))
        .fetch_all()
        .await
        .map_err(prepare)?;

    let mut applied_now = Vec::new();
    for migration in render_migrations(database, config) {
        if applied.contains(&migration.version) {
            continue;
        }
        let failed = |source| MigrateError::Migration {
            version: migration.version,
            name: migration.name,
            source,
        };
        for statement in &migration.statements {
            client
                .query_raw(statement)
                .execute()
                .await
                .map_err(failed)?;
        }
        client
            .query_raw(&format!(
                "INSERT INTO {} (version, name) VALUES ({}, {})",
                renderer.qualified(tables::MIGRATIONS),
                migration.version,
                literal(migration.name),
            ))
            .execute()
            .await
            .map_err(failed)?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied ClickHouse migration"
        );
        applied_now.push(migration.version);
    }

    reconcile_ttl(&client, database, &renderer).await?;
    Ok(applied_now)
}

/// The TTL clause of a table's `engine_full`, without the keyword.
fn current_ttl(engine_full: &str) -> Option<&str> {
    let start = engine_full.find(" TTL ")? + " TTL ".len();
    let rest = &engine_full[start..];
    let end = rest.find(" SETTINGS ").unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// Alters tables whose TTL differs from the configuration (e.g. the
/// retention was changed after the tables were created).
async fn reconcile_ttl(
    client: &clickhouse::Client,
    database: &str,
    renderer: &Renderer<'_>,
) -> Result<(), MigrateError> {
    for table in ALL_TABLES {
        let storage = renderer.storage_name(table.name);
        let failed = |source| MigrateError::Ttl {
            table: table.name,
            source,
        };
        let engine_full: Option<String> = client
            .query_raw(
                "SELECT engine_full FROM system.tables \
                 WHERE database = {db:String} AND name = {table:String}",
            )
            .param("db", database)
            .param("table", storage.as_str())
            .fetch_optional()
            .await
            .map_err(failed)?;
        let Some(engine_full) = engine_full else {
            continue;
        };
        let wanted = renderer.ttl(table);
        if current_ttl(&engine_full) == wanted.as_deref() {
            continue;
        }
        let alter = match &wanted {
            Some(ttl) => format!("MODIFY TTL {ttl}"),
            None => "REMOVE TTL".to_owned(),
        };
        client
            .query_raw(&format!(
                "ALTER TABLE {}{} {alter}",
                renderer.qualified(&storage),
                renderer.on_cluster
            ))
            .execute()
            .await
            .map_err(failed)?;
        tracing::info!(table = table.name, ttl = ?wanted, "changed ClickHouse table TTL");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_statements(config: &SchemaConfig) -> Vec<String> {
        render_migrations("airis", config)
            .into_iter()
            .flat_map(|m| m.statements)
            .collect()
    }

    /// The `CREATE TABLE` statements, in order.
    fn creates(config: &SchemaConfig) -> Vec<String> {
        all_statements(config)
            .into_iter()
            .filter(|s| s.starts_with("CREATE TABLE"))
            .collect()
    }

    #[test]
    fn anomalies_get_their_metric_series_in_the_sorting_key() {
        let single = render_migrations("airis", &SchemaConfig::default());
        assert_eq!(
            single[11].statements,
            [
                "ALTER TABLE `airis`.`aiops_anomalies` ADD COLUMN IF NOT EXISTS Metric String \
              CODEC(ZSTD(1)) AFTER Signal, MODIFY ORDER BY \
              (TenantId, Minute, ServiceName, Operation, Signal, Metric)"
            ]
        );
        let cluster = render_migrations(
            "airis",
            &SchemaConfig {
                cluster: Some("prod".to_owned()),
                ..SchemaConfig::default()
            },
        );
        let statements = &cluster[11].statements;
        assert_eq!(statements.len(), 2, "{statements:#?}");
        assert!(
            statements[0].starts_with(
                "ALTER TABLE `airis`.`aiops_anomalies_local` ON CLUSTER `prod` ADD COLUMN"
            ) && statements[0].contains("MODIFY ORDER BY"),
            "{statements:#?}"
        );
        assert!(
            statements[1].starts_with("ALTER TABLE `airis`.`aiops_anomalies` ON CLUSTER `prod` ADD COLUMN IF NOT EXISTS Metric")
                && !statements[1].contains("ORDER BY"),
            "{statements:#?}"
        );
    }

    #[test]
    fn derived_columns_are_added_where_the_data_is_and_named_where_it_is_read() {
        let single = render_migrations("airis", &SchemaConfig::default());
        let statements = &single[12].statements;
        assert_eq!(single[12].name, "delta_derived_columns");
        assert_eq!(statements.len(), 2, "{statements:#?}");
        assert!(statements[0].starts_with(
            "ALTER TABLE `airis`.`otel_traces` ADD COLUMN IF NOT EXISTS ComparedAttributes \
             LowCardinality(String) MATERIALIZED "
        ));
        assert_eq!(
            statements[1],
            "ALTER TABLE `airis`.`otel_logs` ADD COLUMN IF NOT EXISTS BodyShape String \
             MATERIALIZED replaceRegexpAll(Body, '[^[:space:]]*[0-9][^[:space:]]*', '<*>') \
             CODEC(ZSTD(1))"
        );
        let cluster = render_migrations(
            "airis",
            &SchemaConfig {
                cluster: Some("prod".to_owned()),
                ..SchemaConfig::default()
            },
        );
        let tables: Vec<&str> = cluster[12]
            .statements
            .iter()
            .map(|s| s.split(" ADD COLUMN").next().unwrap())
            .collect();
        assert_eq!(
            tables,
            [
                "ALTER TABLE `airis`.`otel_traces_local` ON CLUSTER `prod`",
                "ALTER TABLE `airis`.`otel_traces` ON CLUSTER `prod`",
                "ALTER TABLE `airis`.`otel_logs_local` ON CLUSTER `prod`",
                "ALTER TABLE `airis`.`otel_logs` ON CLUSTER `prod`",
            ]
        );
    }

    #[test]
    fn trace_projection_is_added_and_materialized() {
        for config in [
            SchemaConfig::default(),
            SchemaConfig {
                cluster: Some("prod".to_owned()),
                ..SchemaConfig::default()
            },
        ] {
            let alters: Vec<String> = all_statements(&config)
                .into_iter()
                .filter(|s| s.starts_with("ALTER TABLE") && s.contains("PROJECTION"))
                .collect();
            let backfill: Vec<String> = all_statements(&config)
                .into_iter()
                .filter(|s| s.starts_with("INSERT"))
                .collect();
            assert_eq!(backfill.len(), 1);
            assert!(backfill[0].contains("INTO `airis`.`otel_traces_minute_counts`"));
            assert!(backfill[0].contains("FROM `airis`.`otel_traces`"));
            let logs = if config.cluster.is_some() {
                "`airis`.`otel_logs_local` ON CLUSTER `prod`"
            } else {
                "`airis`.`otel_logs`"
            };
            assert!(all_statements(&config).contains(&format!(
                "ALTER TABLE {logs} MODIFY COLUMN Body String CODEC(LZ4)"
            )));
            let table = if config.cluster.is_some() {
                "`airis`.`otel_traces_local` ON CLUSTER `prod`"
            } else {
                "`airis`.`otel_traces`"
            };
            assert_eq!(
                alters,
                [
                    format!(
                        "ALTER TABLE {table} ADD PROJECTION IF NOT EXISTS by_trace \
                         (SELECT * ORDER BY TenantId, TraceId, Timestamp) \
                         WITH SETTINGS (index_granularity = 1024, \
                         min_bytes_for_wide_part = 1099511627776, \
                         min_rows_for_wide_part = 1099511627776)"
                    ),
                    format!("ALTER TABLE {table} MATERIALIZE PROJECTION by_trace"),
                ]
            );
        }
    }

    #[test]
    fn versions_are_strictly_increasing_and_cover_every_table() {
        let mut last = 0;
        let mut covered = Vec::new();
        for migration in MIGRATIONS {
            assert!(migration.version > last, "versions must increase");
            last = migration.version;
            covered.extend(migration.tables.iter().map(|t| t.name));
        }
        let mut expected: Vec<_> = ALL_TABLES.iter().map(|t| t.name).collect();
        covered.sort_unstable();
        expected.sort_unstable();
        assert_eq!(covered, expected);
    }

    #[test]
    fn single_node_tables() {
        let statements = creates(&SchemaConfig::default());
        assert_eq!(statements.len(), ALL_TABLES.len());
        for statement in &statements {
            assert!(
                statement.starts_with("CREATE TABLE IF NOT EXISTS `airis`.`otel_")
                    || statement.starts_with("CREATE TABLE IF NOT EXISTS `airis`.`aiops_")
            );
            assert!(!statement.contains("ON CLUSTER"));
            assert!(!statement.contains("Replicated"));
            assert!(statement.contains("non_replicated_deduplication_window = 10000"));
            assert!(statement.contains("ORDER BY (TenantId, "), "{statement}");
            assert!(statement.contains("TenantId LowCardinality(String)"));
        }
        let traces = &statements[0];
        assert!(traces.contains("ENGINE = MergeTree\n"));
        assert!(traces.contains("PRIMARY KEY (TenantId, ServiceName, SpanName"));
        assert!(traces.contains("TTL toDateTime(Timestamp) + toIntervalDay(15)"));
        let lookup = &statements[1];
        assert!(lookup.contains("ENGINE = AggregatingMergeTree\n"));
        assert!(lookup.contains("TTL toDateTime(Start) + toIntervalDay(15)"));
        let logs = &statements[2];
        assert!(logs.contains("TTL TimestampTime + toIntervalDay(15)"));
        for metric in &statements[3..8] {
            assert!(metric.contains("TTL toDateTime(TimeUnix) + toIntervalDay(30)"));
        }
        assert!(statements[8].contains("ENGINE = AggregatingMergeTree\n"));
        assert!(statements[8].contains("ORDER BY (TenantId, Minute)\n"));
        for rollup in &statements[9..12] {
            assert!(
                rollup.contains("ORDER BY (TenantId, Minute, BuildId"),
                "{rollup}"
            );
        }
        for rollup in &statements[8..12] {
            assert!(
                rollup.contains("TTL Minute + toIntervalDay(15)"),
                "{rollup}"
            );
        }
    }

    #[test]
    fn aiops_tables_replace_by_their_version_column() {
        let statements = creates(&SchemaConfig::default());
        let anomalies = &statements[12];
        assert!(anomalies.contains("`aiops_anomalies`"), "{anomalies}");
        assert!(anomalies.contains("ENGINE = ReplacingMergeTree(DetectedAt)\n"));
        assert!(anomalies.contains("TTL Minute + toIntervalDay(30)"));
        let states = &statements[13];
        assert!(states.contains("ENGINE = ReplacingMergeTree(Minute)\n"));
        assert!(states.contains("ORDER BY (TenantId, Series)\n"));
        let cluster = creates(&SchemaConfig {
            cluster: Some("prod".to_owned()),
            ..SchemaConfig::default()
        });
        assert!(cluster[24].contains(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', DetectedAt)"
        ));
    }

    #[test]
    fn zero_ttl_means_no_ttl() {
        let config = SchemaConfig {
            traces_ttl_days: 0,
            logs_ttl_days: 7,
            metrics_ttl_days: 0,
            ..SchemaConfig::default()
        };
        let statements = creates(&config);
        assert!(!statements[0].contains("TTL "));
        assert!(!statements[1].contains("TTL "));
        assert!(statements[2].contains("TTL TimestampTime + toIntervalDay(7)"));
        assert!(statements[3..].iter().all(|s| !s.contains("TTL ")));
        assert!(
            all_statements(&config)
                .iter()
                .all(|s| !s.contains("toIntervalDay(30)"))
        );
    }

    #[test]
    fn cluster_mode_uses_replicated_local_and_distributed_tables() {
        let config = SchemaConfig {
            cluster: Some("prod".to_owned()),
            ..SchemaConfig::default()
        };
        let renderer = Renderer::new("airis", &config);
        assert_eq!(
            renderer.create_database(),
            "CREATE DATABASE IF NOT EXISTS `airis` ON CLUSTER `prod`"
        );
        assert!(renderer.migrations_table().contains(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')"
        ));
        let statements = creates(&config);
        assert_eq!(statements.len(), 2 * ALL_TABLES.len());
        for pair in statements.chunks(2) {
            let (local, distributed) = (&pair[0], &pair[1]);
            assert!(local.contains("_local` ON CLUSTER `prod` ("), "{local}");
            assert!(local.contains("ENGINE = Replicated"));
            assert!(
                local.contains("('/clickhouse/tables/{shard}/{database}/{table}', '{replica}'")
            );
            assert!(local.contains("replicated_deduplication_window = 10000"));
            assert!(!local.contains("non_replicated"));
            assert!(
                distributed.contains(" ON CLUSTER `prod` AS `airis`.`otel_")
                    || distributed.contains(" ON CLUSTER `prod` AS `airis`.`aiops_")
            );
            assert!(
                distributed.contains("ENGINE = Distributed('prod', 'airis', 'otel_")
                    || distributed.contains("ENGINE = Distributed('prod', 'airis', 'aiops_")
            );
            assert!(!distributed.contains("rand()"));
        }
        assert!(
            statements[0].starts_with("CREATE TABLE IF NOT EXISTS `airis`.`otel_traces_local`")
        );
        assert!(
            statements[1]
                .starts_with("CREATE TABLE IF NOT EXISTS `airis`.`otel_traces` ON CLUSTER")
        );
        assert!(statements[2].contains("ENGINE = ReplicatedAggregatingMergeTree("));
    }

    #[test]
    fn names_are_quoted() {
        assert_eq!(ident("a`b\\c"), "`a\\`b\\\\c`");
        assert_eq!(literal("it's"), "'it\\'s'");
        let statements = all_statements(&SchemaConfig {
            cluster: Some("c'1".to_owned()),
            ..SchemaConfig::default()
        });
        assert!(statements[1].contains("Distributed('c\\'1', 'airis', 'otel_traces_local'"));
        let statements = render_migrations(
            "my`db",
            &SchemaConfig {
                cluster: Some("c".to_owned()),
                ..SchemaConfig::default()
            },
        );
        assert!(statements[0].statements[1].contains("AS `my\\`db`.`otel_traces_local`"));
        assert!(
            statements[0].statements[1].contains("Distributed('c', 'my`db', 'otel_traces_local'")
        );
        assert!(check_name("database", "").is_err());
        assert!(check_name("database", "a\nb").is_err());
        assert!(check_name("database", "airis_test").is_ok());
    }

    #[test]
    fn ttl_clause_is_found_in_engine_full() {
        let full = "MergeTree PARTITION BY toDate(Timestamp) ORDER BY (TenantId) \
                    TTL toDateTime(Timestamp) + toIntervalDay(15) SETTINGS index_granularity = 8192";
        assert_eq!(
            current_ttl(full),
            Some("toDateTime(Timestamp) + toIntervalDay(15)")
        );
        assert_eq!(current_ttl("MergeTree ORDER BY x SETTINGS a = 1"), None);
        assert_eq!(
            current_ttl("MergeTree ORDER BY x TTL t + toIntervalDay(1)"),
            Some("t + toIntervalDay(1)")
        );
    }

    #[test]
    fn config_defaults_and_parsing() {
        let config = SchemaConfig::default();
        assert_eq!(
            (
                config.traces_ttl_days,
                config.logs_ttl_days,
                config.metrics_ttl_days
            ),
            (15, 15, 30)
        );
        assert!(config.cluster.is_none());
        let parsed: SchemaConfig = toml::from_str("cluster = \"c\"\nlogs_ttl_days = 3").unwrap();
        assert_eq!(parsed.cluster.as_deref(), Some("c"));
        assert_eq!((parsed.traces_ttl_days, parsed.logs_ttl_days), (15, 3));
        assert!(toml::from_str::<SchemaConfig>("ttl_days = 3").is_err());
    }
}
