//! Building blocks every query shares: limits and time windows. SQL is assembled only from bound parameters, with the storage
//! crate's [`Sql`].

use airis_proto::airis::common::v1::TimeRange;
pub use airis_store::sql::{Bind, Sql, Window};

use crate::Error;

/// Bounds on what one request may ask of ClickHouse.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Longest time range a request may cover.
    pub max_time_range_secs: u64,
    /// Page size when a request leaves it 0.
    pub default_page_size: u32,
    /// Largest page size a request may ask for.
    pub max_page_size: u32,
    /// Server-side limit on one query's run time (`max_execution_time`).
    pub max_query_time_ms: u64,
    /// Server-side limit on rows one query may read (`max_rows_to_read`).
    pub max_rows_to_read: u64,
    /// Server-side limit on the rows of one `IN (subquery)` set
    /// (`max_rows_in_set`): the spans a `parent_service_name` filter
    /// gathers, which would otherwise grow with the time range unbounded.
    pub max_rows_in_set: u64,
    /// Most series (groups) a time-series answer may hold.
    pub max_series: u32,
    /// Most points per series; a step that would give more is refused.
    pub max_points: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_time_range_secs: 31 * 86_400,
            default_page_size: 100,
            max_page_size: 1_000,
            max_query_time_ms: 10_000,
            max_rows_to_read: 2_000_000_000,
            max_rows_in_set: 5_000_000,
            max_series: 500,
            max_points: 2_000,
        }
    }
}

/// The analytics service's ClickHouse access: the client with the limits
/// applied to every query, which runs [`Sql`] of the storage crate.
#[derive(Clone)]
pub struct Store {
    client: clickhouse::Client,
    limits: Limits,
}

impl Store {
    pub fn new(client: clickhouse::Client, limits: Limits) -> Self {
        let client = client
            .with_setting(
                "max_execution_time",
                (limits.max_query_time_ms as f64 / 1000.0).to_string(),
            )
            // Production runs this service as a ClickHouse user with
            // readonly = 1 in its profile (docs/operations.md), so a bug can
            // never write; it is not set per query because readonly cannot be
            // lowered again within a session.
            .with_setting("max_rows_to_read", limits.max_rows_to_read.to_string())
            .with_setting("max_rows_in_set", limits.max_rows_in_set.to_string())
            .with_setting("set_overflow_mode", "throw");
        Self { client, limits }
    }

    pub fn client(&self) -> &clickhouse::Client {
        &self.client
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Starts `sql` with its bound values.
    pub fn query(&self, sql: &Sql) -> clickhouse::query::Query {
        sql.query(&self.client)
    }
}

// === time windows ===

/// A [`Window`] taken from a request: checked against the limits, and
/// the step of a time series over it.
pub trait RequestWindow: Sized {
    /// Checks a request's time range: present, start before end, within the
    /// configured maximum span. `field` names it in errors.
    fn from_proto(field: &str, range: Option<&TimeRange>, limits: &Limits) -> Result<Self, Error>;

    /// The bucket width for a series over this window: the requested one, or
    /// the smallest multiple of `unit_secs` giving at most about
    /// `target_points` points; refused when it would give more than
    /// `limits.max_points`.
    fn step_secs(
        &self,
        field: &str,
        requested: u32,
        target_points: u32,
        unit_secs: u32,
        limits: &Limits,
    ) -> Result<u32, Error>;
}

impl RequestWindow for Window {
    fn from_proto(field: &str, range: Option<&TimeRange>, limits: &Limits) -> Result<Self, Error> {
        let range = range.ok_or_else(|| Error::InvalidArgument(format!("{field}: required")))?;
        if range.start_unix_nano >= range.end_unix_nano {
            return Err(Error::InvalidArgument(format!(
                "{field}: start_unix_nano must be before end_unix_nano"
            )));
        }
        let span_secs = (range.end_unix_nano - range.start_unix_nano) / 1_000_000_000;
        if span_secs > limits.max_time_range_secs {
            return Err(Error::LimitExceeded(format!(
                "{field}: spans {span_secs} s, more than analytics.limits.max_time_range_secs ({})",
                limits.max_time_range_secs
            )));
        }
        // DateTime64(9) ends in 2262; later ends would overflow the column.
        if range.end_unix_nano > i64::MAX as u64 {
            return Err(Error::InvalidArgument(format!(
                "{field}: end_unix_nano is past the year 2262"
            )));
        }
        Ok(Self {
            start: range.start_unix_nano,
            end: range.end_unix_nano,
        })
    }

    fn step_secs(
        &self,
        field: &str,
        requested: u32,
        target_points: u32,
        unit_secs: u32,
        limits: &Limits,
    ) -> Result<u32, Error> {
        let span = (self.end - self.start).div_ceil(1_000_000_000).max(1);
        let step = if requested == 0 {
            let unit = u64::from(unit_secs.max(1));
            let step = span
                .div_ceil(u64::from(target_points.max(1)))
                .div_ceil(unit)
                * unit;
            u32::try_from(step).unwrap_or(u32::MAX)
        } else {
            requested
        };
        let points = span.div_ceil(u64::from(step));
        if points > u64::from(limits.max_points) {
            return Err(Error::LimitExceeded(format!(
                "{field}: {step} s gives {points} points, more than analytics.limits.max_points ({})",
                limits.max_points
            )));
        }
        Ok(step)
    }
}

// === attribute and label matches ===

/// Appends ` AND <match>` for one key/operator/value filter on the map
/// column `column`. `field` names the filter in errors
/// (`filter.attributes[2]`). Shared by span, log and metric filters so the
/// operators mean the same everywhere:
/// EQUALS and CONTAINS need the key present; NOT_EQUALS also matches
/// items without the key; EXISTS takes no value.
pub fn push_map_match(
    sql: &mut Sql,
    field: &str,
    column: &str,
    key: &str,
    operator: i32,
    value: &str,
) -> Result<(), Error> {
    use airis_proto::airis::analytics::v1::MatchOperator;
    if key.is_empty() {
        return Err(Error::InvalidArgument(format!("{field}.key: required")));
    }
    let operator: MatchOperator = known_enum(&format!("{field}.operator"), operator)?;
    let key = || Bind::Str(key.to_owned());
    let value_bind = || Bind::Str(value.to_owned());
    match operator {
        MatchOperator::Unspecified => {
            return Err(Error::InvalidArgument(format!(
                "{field}.operator: required"
            )));
        }
        MatchOperator::Equals => sql.push_binds(
            &format!(" AND (mapContains({column}, ?) AND {column}[?] = ?)"),
            [key(), key(), value_bind()],
        ),
        MatchOperator::Exists => {
            if !value.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "{field}.value: must be empty for MATCH_OPERATOR_EXISTS"
                )));
            }
            sql.push_bind(&format!(" AND mapContains({column}, ?)"), key())
        }
        MatchOperator::Contains => sql.push_binds(
            &format!(" AND (mapContains({column}, ?) AND position({column}[?], ?) > 0)"),
            [key(), key(), value_bind()],
        ),
        MatchOperator::NotEquals => sql.push_binds(
            &format!(" AND NOT (mapContains({column}, ?) AND {column}[?] = ?)"),
            [key(), key(), value_bind()],
        ),
    };
    Ok(())
}

// === ids and enums ===

/// A trace id as stored: 32 lowercase hex characters.
pub fn trace_id(field: &str, id: &str) -> Result<String, Error> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::InvalidArgument(format!(
            "{field}: must be 32 hexadecimal characters"
        )));
    }
    Ok(id.to_ascii_lowercase())
}

/// A protobuf enum field's value, refusing numbers the enum does not define.
pub fn known_enum<E: TryFrom<i32>>(field: &str, value: i32) -> Result<E, Error> {
    E::try_from(value)
        .map_err(|_| Error::InvalidArgument(format!("{field}: unknown value {value}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: u64, end: u64) -> TimeRange {
        TimeRange {
            start_unix_nano: start,
            end_unix_nano: end,
        }
    }

    #[test]
    fn windows_are_checked() {
        let limits = Limits::default();
        assert!(Window::from_proto("time_range", None, &limits).is_err());
        let inverted = Window::from_proto("time_range", Some(&range(10, 5)), &limits).unwrap_err();
        assert!(inverted.to_string().contains("time_range: start_unix_nano"));
        let huge = Window::from_proto(
            "time_range",
            Some(&range(0, 400 * 86_400 * 1_000_000_000)),
            &limits,
        )
        .unwrap_err();
        assert!(matches!(huge, Error::LimitExceeded(_)));
        assert!(huge.to_string().contains("max_time_range_secs"));
        let ok =
            Window::from_proto("time_range", Some(&range(0, 3_600_000_000_000)), &limits).unwrap();
        assert_eq!(ok.step_secs("step_seconds", 0, 60, 1, &limits).unwrap(), 60);
        assert_eq!(
            ok.step_secs("step_seconds", 10, 60, 1, &limits).unwrap(),
            10
        );
        assert!(ok.step_secs("step_seconds", 2, 60, 1, &limits).is_ok());
        assert!(matches!(
            ok.step_secs("step_seconds", 1, 60, 1, &limits),
            Err(Error::LimitExceeded(_))
        ));
        let day =
            Window::from_proto("time_range", Some(&range(0, 86_400_000_000_000)), &limits).unwrap();
        assert!(matches!(
            day.step_secs("step_seconds", 1, 60, 1, &limits),
            Err(Error::LimitExceeded(_))
        ));
        // Whole minutes: an hour gives 60 points of a minute, an hour and a
        // minute 31 of two, five minutes 5 of one.
        let minutes = |n: u64| Window {
            start: 0,
            end: n * 60_000_000_000,
        };
        let default_in_minutes =
            |w: Window| w.step_secs("step_seconds", 0, 60, 60, &limits).unwrap();
        assert_eq!(default_in_minutes(minutes(60)), 60);
        assert_eq!(default_in_minutes(minutes(61)), 120);
        assert_eq!(default_in_minutes(minutes(5)), 60);
        assert_eq!(default_in_minutes(minutes(24 * 60)), 1440);
    }

    #[test]
    fn ids_and_sql_binds() {
        assert_eq!(
            trace_id("trace_id", &"AB".repeat(16)).unwrap(),
            "ab".repeat(16)
        );
        assert!(trace_id("trace_id", "xyz").is_err());
        assert!(trace_id("trace_id", &"g".repeat(32)).is_err());
        let mut sql = Sql::new("SELECT 1 FROM t WHERE ");
        sql.push_bind("x = ?", "it's \"quoted\"").push(" AND ");
        Window { start: 1, end: 2 }.sql(&mut sql, "Timestamp");
        assert_eq!(sql.binds.len(), 3);
        assert!(!sql.text.contains("quoted"));
    }
}
