//! The receiver end to end: OTLP in, Kafka, loader, ClickHouse out.

use std::time::Duration;

use airis_proto::kv::kv;
use airis_proto::otlp::tonic::common::v1::any_value;
use airis_proto::prost::Message;
use airis_proto::tonic::{Code, codec::CompressionEncoding};
use airis_store::tables::TRACES;
use airis_tests::{
    OTHER_TOKEN, Pipeline, Settings, TENANT, TOKEN,
    otlp::{
        TRACES_EXPORT, authed, raw_call, span, span_id, trace_client, trace_id, traces_request,
    },
    wait_for_count,
};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_land_once_with_tenant_resource_and_attributes() -> anyhow::Result<()> {
    let pipeline = Pipeline::start(Settings::new("land")).await?;
    // gzip, as OTLP exporters configured with compression=gzip send it.
    let mut client = trace_client(&pipeline.endpoint)
        .await?
        .send_compressed(CompressionEncoding::Gzip);
    let run = airis_tests::otlp::now_unix_nano();

    let mut sent = 0u64;
    for request in 0..20u64 {
        let spans = (0..50u64)
            .map(|i| {
                let n = request * 50 + i;
                span(trace_id(run, n / 5), span_id(n), n)
            })
            .collect::<Vec<_>>();
        sent += spans.len() as u64;
        let response = client
            .export(authed(traces_request("checkout", spans), TOKEN))
            .await?
            .into_inner();
        assert_eq!(response.partial_success, None);
    }

    let ch = pipeline.settings.clickhouse();
    let seen = wait_for_count(&ch, &format!("SELECT count() FROM {TRACES}"), sent, WAIT).await?;
    assert_eq!(seen, sent);
    // Give a late duplicate the chance to show up before asserting none did.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rows, distinct): (u64, u64) = ch
        .query(&format!(
            "SELECT count(), uniqExact(TraceId, SpanId) FROM {TRACES}"
        ))
        .fetch_one()
        .await?;
    assert_eq!((rows, distinct), (sent, sent));

    let (tenant, service, scope, method, seq, kind, duration): (
        String,
        String,
        String,
        String,
        String,
        String,
        u64,
    ) = ch
        .query(&format!(
            "SELECT TenantId, ServiceName, ScopeName, SpanAttributes['http.method'], \
             SpanAttributes['seq'], SpanKind, Duration FROM {TRACES} \
             WHERE SpanId = ?"
        ))
        .bind(hex_lower(&span_id(7)))
        .fetch_one()
        .await?;
    assert_eq!(tenant, TENANT);
    assert_eq!(service, "checkout");
    assert_eq!(scope, "airis-tests");
    assert_eq!(method, "GET");
    assert_eq!(seq, "7");
    assert!(kind.to_lowercase().contains("server"), "{kind}");
    assert_eq!(duration, 1_500_000);

    pipeline.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_clear_errors_and_the_process_stays_healthy() -> anyhow::Result<()> {
    let mut settings = Settings::new("hostile");
    settings.ingestion.receiver.max_request_bytes = 1 << 20;
    let pipeline = Pipeline::start(settings).await?;
    let endpoint = pipeline.endpoint.as_str();
    let run = airis_tests::otlp::now_unix_nano();
    let valid = traces_request("svc", vec![span(trace_id(run, 0), span_id(0), 0)]).encode_to_vec();

    // Truncated protobuf.
    let status = raw_call(
        endpoint,
        TRACES_EXPORT,
        valid[..valid.len() - 3].to_vec(),
        TOKEN,
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("malformed request"), "{status:?}");

    // Invalid UTF-8 in a string field: the span name "GET /checkout" becomes
    // "\xffET /checkout"; prost names the field.
    let mut bad_utf8 = valid.clone();
    let at = bad_utf8
        .windows(13)
        .position(|w| w == b"GET /checkout")
        .expect("span name in encoding");
    bad_utf8[at] = 0xff;
    let status = raw_call(endpoint, TRACES_EXPORT, bad_utf8, TOKEN)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("UTF-8"), "{status:?}");

    // Zero-length trace id: the only span is rejected, so the request is.
    let mut client = trace_client(endpoint).await?;
    let mut empty_id = span(vec![], span_id(1), 1);
    empty_id.name = "bad".into();
    let status = client
        .export(authed(traces_request("svc", vec![empty_id.clone()]), TOKEN))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("trace_id"), "{status:?}");

    // Mixed: the good span is stored, the bad one reported as partial success.
    let good = span(trace_id(run, 2), span_id(2), 2);
    let response = client
        .export(authed(traces_request("svc", vec![good, empty_id]), TOKEN))
        .await?
        .into_inner();
    let partial = response.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(partial.error_message.contains("trace_id"), "{partial:?}");

    // 100k attributes on one span.
    let mut wide = span(trace_id(run, 3), span_id(3), 3);
    wide.attributes = (0..100_000)
        .map(|i| kv(&format!("k{i}"), any_value::Value::IntValue(i)))
        .collect();
    let status = client
        .export(authed(traces_request("svc", vec![wide]), TOKEN))
        .await
        .unwrap_err();
    // 100k attributes encode to ~1.5 MB: over this receiver's 1 MiB limit.
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    let mut many = span(trace_id(run, 4), span_id(4), 4);
    many.attributes = (0..5_000).map(|i| kv(&format!("k{i}"), "v")).collect();
    let status = client
        .export(authed(traces_request("svc", vec![many]), TOKEN))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("attributes"), "{status:?}");

    // Oversized message.
    let mut huge = span(trace_id(run, 5), span_id(5), 5);
    huge.attributes = vec![kv("blob", "x".repeat(2 << 20))];
    let status = client
        .export(authed(traces_request("svc", vec![huge]), TOKEN))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    // No credentials / wrong token.
    let status = client
        .export(traces_request(
            "svc",
            vec![span(trace_id(run, 6), span_id(6), 6)],
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = client
        .export(authed(
            traces_request("svc", vec![span(trace_id(run, 6), span_id(6), 6)]),
            "not-a-token",
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    // Still healthy, and still storing: exactly the one good span of the
    // mixed request and this one.
    let response = client
        .export(authed(
            traces_request("svc", vec![span(trace_id(run, 7), span_id(7), 7)]),
            OTHER_TOKEN,
        ))
        .await?;
    assert_eq!(response.into_inner().partial_success, None);
    let ch = pipeline.settings.clickhouse();
    let seen = wait_for_count(&ch, &format!("SELECT count() FROM {TRACES}"), 2, WAIT).await?;
    assert_eq!(seen, 2);
    let tenants: Vec<String> = ch
        .query(&format!("SELECT TenantId FROM {TRACES} ORDER BY TenantId"))
        .fetch_all()
        .await?;
    assert_eq!(tenants, vec!["acme".to_owned(), "globex".to_owned()]);

    pipeline.stop().await
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
