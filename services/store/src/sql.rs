//! SQL assembled only from trusted text and bound values, the time windows
//! queries filter on, and running such SQL on a client.

use airis_runtime::tenant::Tenant;

/// SQL text with `?` placeholders and the values bound to them, in order.
/// User input only ever travels as a bound value.
#[derive(Debug, Default, Clone)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Str(String),
    Strs(Vec<String>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl From<&str> for Bind {
    fn from(v: &str) -> Self {
        Bind::Str(v.to_owned())
    }
}
impl From<String> for Bind {
    fn from(v: String) -> Self {
        Bind::Str(v)
    }
}
impl From<Vec<String>> for Bind {
    fn from(v: Vec<String>) -> Self {
        Bind::Strs(v)
    }
}
impl From<u64> for Bind {
    fn from(v: u64) -> Self {
        Bind::U64(v)
    }
}
impl From<i64> for Bind {
    fn from(v: i64) -> Self {
        Bind::I64(v)
    }
}
impl From<f64> for Bind {
    fn from(v: f64) -> Self {
        Bind::F64(v)
    }
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            binds: Vec::new(),
        }
    }

    /// Appends trusted SQL text (never user input).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends trusted SQL text containing one `?` and the value for it.
    pub fn push_bind(&mut self, text: &str, value: impl Into<Bind>) -> &mut Self {
        debug_assert_eq!(text.matches('?').count(), 1, "{text}");
        self.text.push_str(text);
        self.binds.push(value.into());
        self
    }

    /// Appends trusted SQL text with several `?` and their values.
    pub fn push_binds(&mut self, text: &str, values: impl IntoIterator<Item = Bind>) -> &mut Self {
        self.text.push_str(text);
        self.binds.extend(values);
        debug_assert_eq!(
            self.text.matches('?').count(),
            self.binds.len(),
            "{}",
            self.text
        );
        self
    }

    /// Appends another fragment's text and values.
    pub fn extend(&mut self, other: &Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.binds.extend(other.binds.iter().cloned());
        self
    }

    /// `TenantId = ?` for the caller's tenant: every query starts with it.
    pub fn tenant(&mut self, tenant: &Tenant) -> &mut Self {
        self.push_bind("TenantId = ?", tenant.as_str())
    }

    /// Starts this statement on `client` with its bound values.
    pub fn query(&self, client: &clickhouse::Client) -> clickhouse::query::Query {
        self.binds
            .iter()
            .fold(client.query(&self.text), |query, bind| match bind {
                Bind::Str(v) => query.bind(v.as_str()),
                Bind::Strs(v) => query.bind(v),
                Bind::U64(v) => query.bind(*v),
                Bind::I64(v) => query.bind(*v),
                Bind::F64(v) => query.bind(*v),
            })
    }
}

/// A half-open time range in nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: u64,
    pub end: u64,
}

impl Window {
    pub fn seconds(&self) -> f64 {
        (self.end - self.start) as f64 / 1e9
    }

    /// `<column> >= ? AND <column> < ?` over this window, for a DateTime64(9)
    /// column.
    pub fn sql(&self, sql: &mut Sql, column: &str) {
        sql.push_binds(
            &format!(
                "{column} >= fromUnixTimestamp64Nano(?) AND {column} < fromUnixTimestamp64Nano(?)"
            ),
            [Bind::I64(self.start as i64), Bind::I64(self.end as i64)],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_travel_as_binds() {
        let mut sql = Sql::new("SELECT 1 FROM t WHERE ");
        sql.push_bind("x = ?", "it's \"quoted\"").push(" AND ");
        Window { start: 1, end: 2 }.sql(&mut sql, "Timestamp");
        sql.push(" AND ")
            .tenant(&Tenant::parse("acme").expect("valid tenant"));
        assert_eq!(sql.binds.len(), 4);
        assert_eq!(sql.text.matches('?').count(), 4);
        assert!(!sql.text.contains("quoted"));
        assert!(!sql.text.contains("acme"));
        let mut more = Sql::default();
        more.push_binds(
            " AND y IN ? AND z = ?",
            [Bind::from(vec!["a".to_owned()]), 2u64.into()],
        )
        .extend(&sql);
        assert_eq!(more.binds.len(), 6);
        assert_eq!(more.binds[0], Bind::Strs(vec!["a".to_owned()]));
    }
}
