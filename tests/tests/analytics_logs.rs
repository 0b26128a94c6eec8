//! SearchLogs end to end: OTLP logs through the real pipeline into
//! ClickHouse, then searched through the analytics service.

use std::collections::BTreeMap;
use std::time::Duration;

use airis_proto::airis::analytics::v1::{
    AttributeFilter, AttributeScope, LogRecord as Found, MatchOperator, SearchLogsRequest,
    SearchLogsResponse, query_service_client::QueryServiceClient,
};
use airis_proto::airis::common::v1::{PageRequest, TimeRange};
use airis_proto::kv::{any_value, kv};
use airis_proto::otlp::tonic::{
    collector::logs::v1::{ExportLogsServiceRequest, logs_service_client::LogsServiceClient},
    common::v1::{InstrumentationScope, KeyValue},
    logs::v1::{LogRecord, ResourceLogs, ScopeLogs},
    resource::v1::Resource,
};
use airis_proto::tonic::{Code, transport::Channel};
use airis_store::tables::LOGS;
use airis_tests::{
    OTHER_TOKEN, Pipeline, QueryServer, Settings, TOKEN,
    otlp::{authed, now_unix_nano},
    wait_for_count,
};

const WAIT: Duration = Duration::from_secs(60);
const SEC: u64 = 1_000_000_000;

/// A record as sent, to compute expectations from.
#[derive(Clone, Debug)]
struct Sent {
    time: u64,
    service: &'static str,
    severity: i32,
    body: String,
    attributes: Vec<(&'static str, &'static str)>,
    trace_id: Vec<u8>,
}

fn sent(time: u64, severity: i32, body: &str, attributes: &[(&'static str, &'static str)]) -> Sent {
    Sent {
        time,
        service: "checkout",
        severity,
        body: body.to_owned(),
        attributes: attributes.to_vec(),
        trace_id: Vec::new(),
    }
}

fn request(records: &[Sent], resource: &[(&str, &str)]) -> ExportLogsServiceRequest {
    let mut by_service: BTreeMap<&str, Vec<LogRecord>> = BTreeMap::new();
    for r in records {
        by_service.entry(r.service).or_default().push(LogRecord {
            time_unix_nano: r.time,
            severity_number: r.severity,
            severity_text: format!("S{}", r.severity),
            body: Some(any_value(r.body.clone())),
            attributes: r.attributes.iter().map(|(k, v)| kv(k, *v)).collect(),
            span_id: if r.trace_id.is_empty() {
                vec![]
            } else {
                vec![7; 8]
            },
            trace_id: r.trace_id.clone(),
            ..Default::default()
        });
    }
    ExportLogsServiceRequest {
        resource_logs: by_service
            .into_iter()
            .map(|(service, log_records)| {
                let mut attributes: Vec<KeyValue> = vec![kv("service.name", service)];
                if service == "billing" {
                    attributes.extend(resource.iter().map(|(k, v)| kv(k, *v)));
                }
                ResourceLogs {
                    resource: Some(Resource {
                        attributes,
                        ..Default::default()
                    }),
                    scope_logs: vec![ScopeLogs {
                        scope: Some(InstrumentationScope {
                            name: "airis-tests".to_owned(),
                            ..Default::default()
                        }),
                        log_records,
                        schema_url: String::new(),
                    }],
                    schema_url: String::new(),
                }
            })
            .collect(),
    }
}

struct Fixture {
    client: QueryServiceClient<Channel>,
    range: TimeRange,
}

impl Fixture {
    fn req(&self, query: &str) -> SearchLogsRequest {
        SearchLogsRequest {
            time_range: Some(self.range),
            query: query.to_owned(),
            histogram_step_seconds: 60,
            ..Default::default()
        }
    }

    async fn search(&mut self, request: SearchLogsRequest) -> anyhow::Result<SearchLogsResponse> {
        Ok(self
            .client
            .search_logs(authed(request, TOKEN))
            .await?
            .into_inner())
    }

    async fn bodies(&mut self, request: SearchLogsRequest) -> anyhow::Result<Vec<String>> {
        let response = self.search(request).await?;
        assert_eq!(response.total_count as usize, response.records.len());
        Ok(response.records.into_iter().map(|r| r.body).collect())
    }

    async fn error(&mut self, request: SearchLogsRequest) -> (Code, String) {
        let status = self
            .client
            .search_logs(authed(request, TOKEN))
            .await
            .expect_err("request should fail");
        (status.code(), status.message().to_owned())
    }
}

fn ranges(record: &Found) -> Vec<(u32, u32)> {
    record.highlights.iter().map(|h| (h.start, h.end)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_logs_filters_pages_highlights_and_counts() -> anyhow::Result<()> {
    let mut settings = Settings::new("alogs");
    // Query the store directly: cache keys do not include the database, so
    // a cached answer of another test run could stand in for this one.
    settings.analytics.cache.redis_url = None;
    let pipeline = Pipeline::start(settings.clone()).await?;
    // Minute-aligned, ten minutes ago.
    let base = (now_unix_nano() / (60 * SEC) - 10) * 60 * SEC;
    let trace = vec![0xAB; 16];
    let mut records = vec![
        sent(
            base,
            9,
            "payment ok for order 42",
            &[("http.method", "GET"), ("user", "alice")],
        ),
        Sent {
            trace_id: trace.clone(),
            ..sent(
                base + 10 * SEC,
                17,
                "결제 실패 timeout 결제",
                &[("user", "bob")],
            )
        },
        sent(
            base + 70 * SEC,
            13,
            "Timeout while calling \"db\" after TIMEOUT",
            &[("http.method", "POST")],
        ),
        Sent {
            service: "billing",
            ..sent(
                base + 75 * SEC,
                17,
                &format!("it's 100% done; DROP TABLE {LOGS}; -- _x_"),
                &[],
            )
        },
        sent(base + 130 * SEC, 5, "cache miss key=a_b", &[]),
    ];
    // Bulk records for paging, two per timestamp, and three identical ones.
    for n in 0..24u64 {
        records.push(sent(
            base + (200 + n / 2) * SEC,
            1,
            &format!("bulk record {n}"),
            &[],
        ));
    }
    for _ in 0..3 {
        records.push(sent(base + 300 * SEC, 1, "dup record", &[]));
    }
    let mut export = LogsServiceClient::connect(pipeline.endpoint.clone()).await?;
    export
        .export(authed(request(&records, &[("region", "eu")]), TOKEN))
        .await?;
    let other = vec![sent(
        base + 20 * SEC,
        17,
        "결제 실패 timeout other tenant",
        &[],
    )];
    export
        .export(authed(request(&other, &[]), OTHER_TOKEN))
        .await?;
    // Outside the main range: records a tenth of a second on either side of
    // a window's start and end, which nanoseconds decide.
    let ms = SEC / 1000;
    let edges: Vec<Sent> = [1_000_400, 1_000_600, 1_100_400, 1_100_600]
        .into_iter()
        .map(|t| sent(base + t * ms, 9, &format!("edge record at {t}"), &[]))
        .collect();
    export.export(authed(request(&edges, &[]), TOKEN)).await?;
    let ch = pipeline.settings.clickhouse();
    let total = records.len() as u64 + 1 + edges.len() as u64;
    let seen = wait_for_count(&ch, &format!("SELECT count() FROM {LOGS}"), total, WAIT).await?;
    assert_eq!(seen, total);

    let server = QueryServer::start(&settings).await?;
    let mut f = Fixture {
        client: server.client().await?,
        range: TimeRange {
            start_unix_nano: base - 60 * SEC,
            end_unix_nano: base + 600 * SEC,
        },
    };

    // Case-insensitive words, newest first, highlights, counts.
    let response = f.search(f.req("timeout")).await?;
    let bodies: Vec<&str> = response.records.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(
        bodies,
        vec![
            "Timeout while calling \"db\" after TIMEOUT",
            "결제 실패 timeout 결제"
        ]
    );
    assert_eq!(ranges(&response.records[0]), vec![(0, 7), (33, 40)]);
    assert_eq!(ranges(&response.records[1]), vec![(14, 21)]);
    assert_eq!(response.total_count, 2);
    assert_eq!(response.histogram_step_seconds, 60);
    let counts: Vec<u64> = response.histogram.iter().map(|b| b.count).collect();
    assert_eq!(counts, vec![0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(response.histogram[0].time_unix_nano, base - 60 * SEC);
    assert_eq!(response.histogram[10].time_unix_nano, base + 540 * SEC);
    assert_eq!(response.page.as_ref().unwrap().next_page_token, "");
    let first = &response.records[1];
    assert_eq!(first.service_name, "checkout");
    assert_eq!(first.severity_number, 17);
    assert_eq!(first.severity_text, "S17");
    assert_eq!(first.trace_id, "ab".repeat(16));
    assert_eq!(first.span_id, "07".repeat(8));
    assert_eq!(first.time_unix_nano, base + 10 * SEC);
    assert_eq!(
        first.attributes.get("user").map(String::as_str),
        Some("bob")
    );
    assert_eq!(first.scope_name, "airis-tests");

    // Korean words and a quoted phrase, all required.
    let response = f.search(f.req("결제 \"실패 TIMEOUT\"")).await?;
    assert_eq!(response.records.len(), 1);
    assert_eq!(
        ranges(&response.records[0]),
        vec![(0, 6), (7, 21), (22, 28)]
    );
    assert!(f.bodies(f.req("결제 missing")).await?.is_empty());
    assert!(f.bodies(f.req("\"timeout 결제 결제\"")).await?.is_empty());

    // SQL and LIKE metacharacters and quotes are literal.
    let hostile = vec![format!("it's 100% done; DROP TABLE {LOGS}; -- _x_")];
    assert_eq!(f.bodies(f.req("it's")).await?, hostile);
    assert_eq!(f.bodies(f.req("%")).await?, hostile);
    assert_eq!(
        f.bodies(f.req("\"100% done; drop table\" _x_")).await?,
        hostile
    );
    assert_eq!(f.bodies(f.req("'; --")).await?, Vec::<String>::new());
    assert_eq!(
        f.bodies(f.req("_")).await?,
        vec!["cache miss key=a_b".to_owned(), hostile[0].clone()]
    );
    let response = f.search(f.req(r#"\"db\""#)).await?;
    assert_eq!(response.records.len(), 1);
    assert_eq!(ranges(&response.records[0]), vec![(22, 26)]);
    // The table is still there.
    let seen = wait_for_count(&ch, &format!("SELECT count() FROM {LOGS}"), total, WAIT).await?;
    assert_eq!(seen, total);

    // Severity range.
    let mut r = f.req("");
    r.min_severity_number = 13;
    let mut got = f.bodies(r).await?;
    got.sort();
    let mut want: Vec<String> = records[1..4].iter().map(|r| r.body.clone()).collect();
    want.sort();
    assert_eq!(got, want);
    let mut r = f.req("");
    r.min_severity_number = 5;
    r.max_severity_number = 9;
    assert_eq!(
        f.bodies(r).await?,
        vec!["cache miss key=a_b".to_owned(), records[0].body.clone()]
    );

    // Service, attributes, trace id.
    let mut r = f.req("");
    r.service_name = "billing".to_owned();
    assert_eq!(f.bodies(r).await?, hostile);
    let attr =
        |key: &str, operator: MatchOperator, value: &str, scope: AttributeScope| AttributeFilter {
            key: key.to_owned(),
            operator: operator as i32,
            value: value.to_owned(),
            scope: scope as i32,
        };
    let log = AttributeScope::Unspecified;
    let cases = [
        (attr("user", MatchOperator::Equals, "bob", log), vec![1]),
        (
            attr("http.method", MatchOperator::Exists, "", log),
            vec![2, 0],
        ),
        (attr("user", MatchOperator::Contains, "li", log), vec![0]),
        (
            attr(
                "region",
                MatchOperator::Equals,
                "eu",
                AttributeScope::Resource,
            ),
            vec![3],
        ),
        (attr("region", MatchOperator::Equals, "eu", log), vec![]),
        (
            attr("user' OR '1'='1", MatchOperator::Exists, "", log),
            vec![],
        ),
        (
            attr("user", MatchOperator::Equals, "bob' OR 'a'='a", log),
            vec![],
        ),
    ];
    for (filter, want) in cases {
        let mut r = f.req("");
        r.attributes = vec![filter.clone()];
        let want: Vec<String> = want
            .iter()
            .map(|i: &usize| records[*i].body.clone())
            .collect();
        assert_eq!(f.bodies(r).await?, want, "{filter:?}");
    }
    let mut r = f.req("");
    r.attributes = vec![attr("http.method", MatchOperator::NotEquals, "GET", log)];
    let response = f.search(r).await?;
    assert_eq!(response.total_count, records.len() as u64 - 1);
    let mut r = f.req("timeout");
    r.trace_id = "AB".repeat(16);
    assert_eq!(f.bodies(r).await?, vec![records[1].body.clone()]);

    // Paging through everything returns every record once, newest first,
    // including the identical duplicates.
    for page_size in [1u32, 4, 7, 100] {
        let mut token = String::new();
        let mut got: Vec<(u64, String)> = Vec::new();
        let mut pages = 0;
        loop {
            let mut r = f.req("");
            r.page = Some(PageRequest {
                page_size,
                page_token: token.clone(),
            });
            let response = f.search(r).await?;
            assert_eq!(response.total_count, records.len() as u64);
            assert!(response.records.len() <= page_size as usize);
            got.extend(
                response
                    .records
                    .into_iter()
                    .map(|r| (r.time_unix_nano, r.body)),
            );
            pages += 1;
            token = response.page.unwrap_or_default().next_page_token;
            if token.is_empty() {
                break;
            }
            assert!(pages < 100, "paging does not end");
        }
        assert!(got.windows(2).all(|w| w[0].0 >= w[1].0), "newest first");
        let mut want: Vec<(u64, String)> =
            records.iter().map(|r| (r.time, r.body.clone())).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "page size {page_size}");
    }

    // Histogram over everything, and the default step.
    let response = f.search(f.req("")).await?;
    let mut want = vec![0u64; 11];
    for r in &records {
        want[((r.time - (base - 60 * SEC)) / (60 * SEC)) as usize] += 1;
    }
    let counts: Vec<u64> = response.histogram.iter().map(|b| b.count).collect();
    assert_eq!(counts, want);
    let mut r = f.req("");
    r.histogram_step_seconds = 0;
    let response = f.search(r).await?;
    assert_eq!(response.histogram_step_seconds, 11);
    assert_eq!(
        response.histogram.iter().map(|b| b.count).sum::<u64>(),
        records.len() as u64
    );

    // Tenant isolation.
    let response = f
        .client
        .search_logs(authed(f.req("timeout"), OTHER_TOKEN))
        .await?
        .into_inner();
    let bodies: Vec<&str> = response.records.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, vec!["결제 실패 timeout other tenant"]);
    assert_eq!(response.total_count, 1);
    assert!(f.bodies(f.req("other tenant")).await?.is_empty());

    // Errors.
    let mut r = f.req("");
    r.time_range = None;
    let (code, message) = f.error(r).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("time_range"), "{message}");
    for (min, max, field) in [
        (25, 0, "min_severity_number"),
        (0, -1, "max_severity_number"),
        (10, 5, "min_severity_number"),
    ] {
        let mut r = f.req("");
        r.min_severity_number = min;
        r.max_severity_number = max;
        let (code, message) = f.error(r).await;
        assert_eq!(code, Code::InvalidArgument);
        assert!(message.contains(field), "{message}");
    }
    let mut r = f.req("");
    r.attributes = vec![attr("user", MatchOperator::Unspecified, "bob", log)];
    let (code, message) = f.error(r).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("attributes[0].operator"), "{message}");
    let (code, message) = f.error(f.req("ok \"unterminated")).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("query"), "{message}");
    let mut r = f.req("");
    r.trace_id = "xyz".to_owned();
    let (code, message) = f.error(r).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("trace_id"), "{message}");
    let mut r = f.req("");
    r.page = Some(PageRequest {
        page_size: 0,
        page_token: format!("'; DROP TABLE {LOGS}"),
    });
    let (code, message) = f.error(r).await;
    assert_eq!(code, Code::InvalidArgument);
    assert!(message.contains("page_token"), "{message}");
    let status = f
        .client
        .search_logs(f.req(""))
        .await
        .expect_err("no tenant");
    assert_eq!(status.code(), Code::Unauthenticated);

    // Window edges inside a second: [base + 1000.5 s, base + 1100.5 s).
    let mut r = f.req("");
    r.time_range = Some(TimeRange {
        start_unix_nano: base + 1_000_500 * ms,
        end_unix_nano: base + 1_100_500 * ms,
    });
    r.page = Some(PageRequest {
        page_size: 1,
        page_token: String::new(),
    });
    let first = f.search(r.clone()).await?;
    assert_eq!(first.total_count, 2);
    assert_eq!(first.histogram.iter().map(|b| b.count).sum::<u64>(), 2);
    assert_eq!(first.records.len(), 1);
    assert_eq!(first.records[0].body, "edge record at 1100400");
    r.page = first.page.clone().map(|p| PageRequest {
        page_size: 1,
        page_token: p.next_page_token,
    });
    let second = f.search(r).await?;
    assert_eq!(second.records.len(), 1);
    assert_eq!(second.records[0].body, "edge record at 1000600");
    assert_eq!(second.page.unwrap().next_page_token, "");

    server.stop().await?;
    pipeline.stop().await
}
