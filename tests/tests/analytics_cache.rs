//! The query result cache: settled answers are cached per tenant, open
//! windows never are, and queries are answered when Redis is down.

use std::time::Duration;

use airis_proto::airis::analytics::v1::ListServicesRequest;
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::tonic::Code;
use airis_store::tables::TRACES;
use airis_tests::{
    OTHER_TENANT, OTHER_TOKEN, Pipeline, QueryServer, Settings, TENANT, TOKEN, free_port,
    otlp::{authed, now_unix_nano, span, span_id, trace_client, trace_id, traces_request},
    wait_for_count,
};

const MINUTE: u64 = 60_000_000_000;

/// Keys in Redis matching `pattern`, through redis-cli.
async fn redis_keys(pattern: &str) -> anyhow::Result<Vec<String>> {
    let url = airis_tests::redis_url();
    let output = tokio::process::Command::new("redis-cli")
        .args(["-u", &url, "--scan", "--pattern", pattern])
        .output()
        .await?;
    anyhow::ensure!(output.status.success(), "redis-cli failed");
    Ok(String::from_utf8(output.stdout)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

fn list(range: TimeRange, token: &str) -> airis_proto::tonic::Request<ListServicesRequest> {
    authed(
        ListServicesRequest {
            time_range: Some(range),
        },
        token,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_answers_are_cached_per_tenant_and_open_windows_never() -> anyhow::Result<()> {
    let pipeline = Pipeline::start(Settings::new("cache")).await?;
    let mut ingest = trace_client(&pipeline.endpoint).await?;
    let run = now_unix_nano();
    // Ten minutes old: settled.
    let old = |n: u64, service: &str| {
        let mut s = span(trace_id(run, n), span_id(n), n);
        s.start_time_unix_nano -= 10 * MINUTE;
        s.end_time_unix_nano -= 10 * MINUTE;
        traces_request(service, vec![s])
    };
    ingest.export(authed(old(0, "cart"), TOKEN)).await?;
    ingest.export(authed(old(1, "catalog"), TOKEN)).await?;
    ingest
        .export(authed(old(2, "billing"), OTHER_TOKEN))
        .await?;
    let ch = pipeline.settings.clickhouse();
    assert_eq!(
        wait_for_count(
            &ch,
            &format!("SELECT count() FROM {TRACES}"),
            3,
            Duration::from_secs(60)
        )
        .await?,
        3
    );

    let query = QueryServer::start(&pipeline.settings).await?;
    let mut client = query.client().await?;
    let now = now_unix_nano();
    let settled = TimeRange {
        start_unix_nano: now - 60 * MINUTE,
        // A unique end, so earlier runs' cache entries cannot answer.
        end_unix_nano: now - 5 * MINUTE,
    };

    let first = client
        .list_services(list(settled, TOKEN))
        .await?
        .into_inner();
    assert_eq!(first.service_names, vec!["cart", "catalog"]);
    let acme_keys = redis_keys(&format!(
        "airis:analytics:v1:{}:{TENANT}:ListServices:*",
        pipeline.settings.clickhouse.database
    ))
    .await?;
    assert!(!acme_keys.is_empty(), "settled answer cached");

    // The other tenant's identical request is not answered from acme's entry.
    let other = client
        .list_services(list(settled, OTHER_TOKEN))
        .await?
        .into_inner();
    assert_eq!(other.service_names, vec!["billing"]);
    let again = client
        .list_services(list(settled, TOKEN))
        .await?
        .into_inner();
    assert_eq!(again, first);
    assert!(
        !redis_keys(&format!(
            "airis:analytics:v1:{}:{OTHER_TENANT}:ListServices:*",
            pipeline.settings.clickhouse.database
        ))
        .await?
        .is_empty()
    );

    // A window reaching into the last minutes is never cached.
    let all = format!(
        "airis:analytics:v1:{}:*",
        pipeline.settings.clickhouse.database
    );
    let before = redis_keys(&all).await?.len();
    let open = TimeRange {
        start_unix_nano: now - 60 * MINUTE,
        end_unix_nano: now + MINUTE,
    };
    let live = client.list_services(list(open, TOKEN)).await?.into_inner();
    assert_eq!(live.service_names, vec!["cart", "catalog"]);
    assert_eq!(redis_keys(&all).await?.len(), before);

    // No tenant: refused before any cache lookup.
    let status = client
        .list_services(ListServicesRequest {
            time_range: Some(settled),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    query.stop().await?;
    pipeline.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_are_answered_when_redis_is_down() -> anyhow::Result<()> {
    let mut settings = Settings::new("nocache");
    // Nothing listens there.
    settings.analytics.cache.redis_url = Some(format!("redis://127.0.0.1:{}", free_port()?));
    let pipeline = Pipeline::start(settings).await?;
    let mut ingest = trace_client(&pipeline.endpoint).await?;
    let run = now_unix_nano();
    ingest
        .export(authed(
            traces_request("cart", vec![span(trace_id(run, 0), span_id(0), 0)]),
            TOKEN,
        ))
        .await?;
    let ch = pipeline.settings.clickhouse();
    assert_eq!(
        wait_for_count(
            &ch,
            &format!("SELECT count() FROM {TRACES}"),
            1,
            Duration::from_secs(60)
        )
        .await?,
        1
    );

    let query = QueryServer::start(&pipeline.settings).await?;
    let mut client = query.client().await?;
    let now = now_unix_nano();
    let range = TimeRange {
        start_unix_nano: now - 60 * MINUTE,
        end_unix_nano: now + MINUTE,
    };
    for _ in 0..3 {
        let answer = client.list_services(list(range, TOKEN)).await?.into_inner();
        assert_eq!(answer.service_names, vec!["cart"]);
    }
    query.stop().await?;
    pipeline.stop().await
}
