//! clickhouse-go, the driver of Grafana's ClickHouse data source and of the
//! OpenTelemetry Collector's ClickHouse exporter, against the ClickHouse the
//! platform uses (the chdb HTTP adapter, `scripts/chdb_server.py`, unless a
//! real server runs): over HTTP it connects (hello query, ping), inserts a
//! batch in Native format and reads a Native result of many blocks, every
//! value intact both ways. The driver is the Go program in
//! `tests/clickhouse-go`, built here from the Go module proxy (its go.sum
//! pins the modules).

use std::path::PathBuf;
use std::process::Stdio;

use airis_tests::{Settings, cache_dir, repo_root, unique};
use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;

/// A row as the Go program reads and prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    id: u64,
    service: String,
    tags: Vec<String>,
    attrs: std::collections::BTreeMap<String, String>,
    time_unix_nano: i64,
    values: Vec<f64>,
    note: Option<String>,
}

/// Rows written by ClickHouse itself: more than one Native block's worth.
const ROWS: u64 = 100_000;
/// 2026-01-02 03:04:05 UTC.
const START_NANOS: i64 = 1_767_323_045_000_000_000;

/// Row `n` of the `INSERT ... SELECT` below.
fn generated(n: u64) -> Row {
    Row {
        id: n + 1,
        service: ["shop", "ledger", "search"][(n % 3) as usize].to_owned(),
        tags: (0..n % 3).map(|i| format!("t{i}")).collect(),
        attrs: [
            ("n".to_owned(), n.to_string()),
            (
                "parity".to_owned(),
                if n.is_multiple_of(2) { "even" } else { "odd" }.to_owned(),
            ),
        ]
        .into(),
        time_unix_nano: START_NANOS + n as i64,
        values: (0..n % 4).map(|i| i as f64 / 4.0).collect(),
        note: (!n.is_multiple_of(5)).then(|| format!("note {n}")),
    }
}

/// `go build` of tests/clickhouse-go, with the module and build caches of
/// `scripts/infra.sh` and never another toolchain.
async fn build_driver() -> anyhow::Result<PathBuf> {
    let binary = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("clickhouse-go-check");
    let cache = cache_dir().join("go");
    let output = tokio::process::Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(repo_root().join("tests/clickhouse-go"))
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "-mod=mod -modcacherw")
        .env("GOMODCACHE", cache.join("mod"))
        .env("GOCACHE", cache.join("build"))
        .output()
        .await
        .context("run go (the Go toolchain must be on PATH)")?;
    if !output.status.success() {
        bail!(
            "go build of tests/clickhouse-go failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(binary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_go_inserts_and_reads_over_http() -> anyhow::Result<()> {
    let driver = build_driver().await?;
    let settings = Settings::new("clickhouse_go");
    let database = settings.clickhouse.database.clone();
    let server = settings.clickhouse.server_client();
    server
        .query(&format!("CREATE DATABASE {database}"))
        .execute()
        .await?;
    let table = unique("rows");
    let client = settings.clickhouse();
    client
        .query(&format!(
            "CREATE TABLE {table} (id UInt64, service LowCardinality(String), \
             tags Array(LowCardinality(String)), attrs Map(LowCardinality(String), String), \
             time DateTime64(9, 'UTC'), values Array(Float64), note Nullable(String)) \
             ENGINE = MergeTree ORDER BY id"
        ))
        .execute()
        .await?;
    client
        .query(&format!(
            "INSERT INTO {table} SELECT number + 1, ['shop', 'ledger', 'search'][number % 3 + 1], \
             arrayMap(i -> concat('t', toString(i)), range(number % 3)), \
             map('n', toString(number), 'parity', if(number % 2 = 0, 'even', 'odd')), \
             fromUnixTimestamp64Nano(toInt64({START_NANOS}) + number, 'UTC'), \
             arrayMap(i -> i / 4, range(number % 4)), \
             if(number % 5 = 0, NULL, concat('note ', toString(number))) \
             FROM numbers({ROWS})"
        ))
        .execute()
        .await?;

    // What the driver inserts: the awkward values.
    let inserted = [
        Row {
            id: ROWS + 1,
            service: "ünïcode ✓".into(),
            tags: vec![],
            attrs: [].into(),
            time_unix_nano: START_NANOS - 1,
            values: vec![],
            note: None,
        },
        Row {
            id: ROWS + 2,
            service: String::new(),
            tags: vec!["a\tb".into(), "'quoted'".into(), "a".into()],
            attrs: [
                ("line\nbreak".to_owned(), "\"x\"".to_owned()),
                (String::new(), String::new()),
            ]
            .into(),
            time_unix_nano: 0,
            values: vec![-0.5, 1e300, 0.1],
            note: Some(String::new()),
        },
    ];
    let mut stdin = String::new();
    for row in &inserted {
        stdin.push_str(&serde_json::to_string(row)?);
        stdin.push('\n');
    }

    let addr = settings
        .clickhouse
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut child = tokio::process::Command::new(&driver)
        .args(["-addr", &addr, "-database", &database, "-table", &table])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut pipe = child.stdin.take().context("stdin")?;
    pipe.write_all(stdin.as_bytes()).await?;
    drop(pipe);
    let output = child.wait_with_output().await?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "clickhouse-go: {stderr}");
    assert!(stderr.contains("revision"), "server hello: {stderr}");

    let read: Vec<Row> = String::from_utf8(output.stdout)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(read.len() as u64, ROWS + 2);
    for (n, row) in read.iter().take(ROWS as usize).enumerate() {
        assert_eq!(row, &generated(n as u64), "row {n}");
    }
    assert_eq!(read[ROWS as usize..], inserted);

    // What the driver inserted is what ClickHouse stores.
    let stored: u64 = client
        .query(&format!(
            "SELECT count() FROM {table} WHERE id = {} AND service = 'ünïcode ✓' \
             AND note IS NULL AND empty(tags) AND empty(attrs)",
            ROWS + 1
        ))
        .fetch_one()
        .await?;
    assert_eq!(stored, 1);
    let stored: u64 = client
        .query(&format!(
            "SELECT count() FROM {table} WHERE id = {} AND attrs['line\\nbreak'] = '\"x\"' \
             AND tags[2] = '\\'quoted\\'' AND note = '' AND values[2] = 1e300",
            ROWS + 2
        ))
        .fetch_one()
        .await?;
    assert_eq!(stored, 1);

    server
        .query(&format!("DROP DATABASE {database}"))
        .execute()
        .await?;
    Ok(())
}
