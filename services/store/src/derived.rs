//! Columns ClickHouse computes once, when a row is inserted (`MATERIALIZED`),
//! from what the loader writes: the delta service groups every span and log
//! record of a cohort by them, and computing them again on each comparison
//! (a map lookup per span, a regular expression per log body) cost more
//! than the grouping itself (docs/benchmarks.md, "Change analysis").
//!
//! Their expressions are part of the schema: a change to [`COMPARED`] or to
//! [`VARIABLE_WORD`] needs a migration that modifies the column's
//! expression (parts written before keep the values of the old one until
//! `MATERIALIZE COLUMN` rewrites them).

/// `otel_traces`: the values of the compared attributes a span has, one
/// `key=value` line per key of [`COMPARED`] and for [`EXCEPTION_TYPE`]
/// that it has (a newline in a value becomes a space), as one
/// `LowCardinality` string: an operation's spans show few combinations, and
/// grouping by one dictionary-encoded column is four times cheaper than
/// array-joining the pairs (docs/benchmarks.md, "Change analysis").
pub const SPAN_COMPARED_ATTRIBUTES: &str = "ComparedAttributes";

/// `otel_logs`: the body with every variable word masked as `<*>`, the
/// shape log records are grouped by before their templates are mined.
pub const LOG_BODY_SHAPE: &str = "BodyShape";

/// The span attributes whose values the delta service compares: the key
/// the answer names, and the span attributes read as it, the first present
/// (the current semantic-convention name, then the older ones, so that a
/// release that upgraded its instrumentation shows no change of key).
/// Few keys, each with few values per operation, where a release shows:
/// - status codes, the outcome in more detail than error or not;
/// - the route, for operations whose span name does not carry it;
/// - the peer, by address or service name: where the calls go;
/// - `error.type`, the class of error an operation ended with.
///
/// Left out: keys the span name already fixes per operation (the method,
/// `db.system`, a messaging destination), and unbounded ones (paths, ids).
pub const COMPARED: [(&str, &[&str]); 6] = [
    (
        "http.response.status_code",
        &["http.response.status_code", "http.status_code"],
    ),
    ("rpc.grpc.status_code", &["rpc.grpc.status_code"]),
    ("http.route", &["http.route"]),
    (
        "server.address",
        &["server.address", "net.peer.name", "net.host.name"],
    ),
    ("service.peer.name", &["service.peer.name", "peer.service"]),
    ("error.type", &["error.type"]),
];

/// Compared too: the type of the exception a span recorded, from its
/// events named `exception` (OpenTelemetry's exception events), the last
/// one when there are several, so that each span counts once.
pub const EXCEPTION_TYPE: &str = "exception.type";

/// The regular expression a variable word matches: a word holding a digit,
/// which the log template miner masks too (`airis_delta::templates`).
pub const VARIABLE_WORD: &str = "[^[:space:]]*[0-9][^[:space:]]*";

/// The type and expression of [`SPAN_COMPARED_ATTRIBUTES`].
pub fn span_compared_attributes() -> String {
    let literal = |s: &str| format!("'{s}'");
    let contains = |name: &str| format!("mapContains(SpanAttributes, {})", literal(name));
    let mut tuples: Vec<String> = COMPARED
        .iter()
        .map(|(key, names)| {
            let value = names
                .iter()
                .map(|n| format!("{}, SpanAttributes[{}]", contains(n), literal(n)))
                .collect::<Vec<_>>()
                .join(", ");
            let present = names
                .iter()
                .map(|n| contains(n))
                .collect::<Vec<_>>()
                .join(" OR ");
            format!("({}, multiIf({value}, ''), {present})", literal(key))
        })
        .collect();
    // The attribute maps of the span's exception events that name a type.
    let exceptions = format!(
        "arrayFilter(a -> mapContains(a, {type_}), \
         arrayFilter((a, n) -> n = 'exception', `Events.Attributes`, `Events.Name`))",
        type_ = literal(EXCEPTION_TYPE)
    );
    tuples.push(format!(
        "({}, ({exceptions})[-1][{}], notEmpty({exceptions}))",
        literal(EXCEPTION_TYPE),
        literal(EXCEPTION_TYPE)
    ));
    format!(
        "{SPAN_COMPARED_ATTRIBUTES} LowCardinality(String) MATERIALIZED \
         arrayStringConcat(arrayMap(t -> concat(t.1, '=', replaceAll(t.2, '\\n', ' ')), \
         arrayFilter(t -> t.3, [{}])), '\\n') CODEC(ZSTD(1))",
        tuples.join(", ")
    )
}

/// The (key, value) pairs of one [`SPAN_COMPARED_ATTRIBUTES`] value.
pub fn compared_pairs(combination: &str) -> impl Iterator<Item = (&str, &str)> {
    combination
        .split('\n')
        .filter_map(|line| line.split_once('='))
}

/// The type and expression of [`LOG_BODY_SHAPE`].
pub fn log_body_shape() -> String {
    format!(
        "{LOG_BODY_SHAPE} String MATERIALIZED \
         replaceRegexpAll(Body, '{VARIABLE_WORD}', '<*>') CODEC(ZSTD(1))"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compared_attributes_read_every_name() {
        let sql = span_compared_attributes();
        // Nothing may be bound: the text is DDL.
        assert!(!sql.contains('?'), "{sql}");
        for (key, names) in COMPARED {
            assert!(sql.contains(&format!("('{key}', multiIf(")), "{sql}");
            for name in names {
                assert!(sql.contains(&format!("SpanAttributes['{name}']")), "{sql}");
            }
        }
        assert!(
            sql.contains("['exception.type'], notEmpty(arrayFilter("),
            "{sql}"
        );
        assert!(sql.starts_with("ComparedAttributes LowCardinality(String) MATERIALIZED "));
        assert!(sql.contains("replaceAll(t.2, '\\n', ' ')"), "{sql}");
    }

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        let pairs: Vec<_> = compared_pairs("http.route=/a=b\nerror.type=timeout\n").collect();
        assert_eq!(pairs, [("http.route", "/a=b"), ("error.type", "timeout")]);
        assert_eq!(compared_pairs("").count(), 0);
    }
}
