//! The Envoy ingress of `mesh/ingress.yaml` in front of real services, each
//! behind its sidecar (`mesh/sidecar.yaml`, mTLS from `mesh/dev-ca.sh`):
//! - telemetry sent to the OTLP listener with a minted ingest token lands
//!   as the token's tenant;
//! - gRPC-Web with a gateway token reaches the analytics service as the
//!   token's tenant only, whatever tenant header the client sends;
//! - missing, forged, foreign, expired and revoked tokens stop at Envoy
//!   (HTTP 401 / UNAUTHENTICATED), a revoked one saying so;
//! - roles: a viewer cannot mint tokens, send telemetry or change alert
//!   rules (it reads them), an ingest token cannot query
//!   (PERMISSION_DENIED);
//! - CORS preflights for the UI pass;
//! - the aiops and delta services answer gRPC and gRPC-Web with a token,
//!   their refusals (a Compare without a baseline) come back through the
//!   mesh as they were sent, without a token the edge refuses;
//! - grpcurl with a token lists, describes and calls the public API through
//!   the ingress by reflection (v1alpha; v1 with tonic's client), without
//!   one or with a revoked one it is refused; health stays unreachable.

use airis_aiops::watch::store::{AnomalyRow, write_anomalies};
use airis_gateway::http::{ROLE_CLAIM_HEADER, TENANT_CLAIM_HEADER};
use airis_gateway::jwt::{Claims, Keys};
use airis_gateway::{GatewayConfig, Role};
use airis_proto::airis::aiops::v1::{
    AlertRule, Comparison, CreateRuleRequest, ExpireSilenceRequest, GetNotificationPolicyRequest,
    ListAnomaliesRequest, ListRulesRequest, ListRulesResponse, NotificationPolicy, Point,
    RedSeriesSelector, RuleSeries, ScoreSeriesRequest, ScoreSeriesResponse, Signal,
    ThresholdCondition, UpdateNotificationPolicyRequest, alert_rule,
    alert_service_client::AlertServiceClient, anomaly_service_client::AnomalyServiceClient,
    rule_series,
};
use airis_proto::airis::analytics::v1::{
    ListServicesRequest, ListServicesResponse, SearchTracesRequest, SpanFilter,
    query_service_client::QueryServiceClient,
};
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::airis::delta::v1::{
    Cohort, CompareRequest, CompareResponse, Verdict, delta_service_client::DeltaServiceClient,
};
use airis_proto::airis::gateway::v1::{
    ListTokensRequest, LoginRequest, LoginResponse, LogoutRequest, LogoutResponse,
    MintIngestTokenRequest, MintIngestTokenResponse, RefreshRequest, RefreshResponse,
    RevokeTokenRequest, RevokeTokenResponse, auth_service_client::AuthServiceClient,
};
use airis_proto::airis::search::v1::{
    Aggregation as SearchAggregation, AskRequest, AskResponse, InterpretRequest, InterpretResponse,
    Interpretation, Signal as SearchSignal, SuggestRequest, SuggestResponse, answer, ask_request,
    search_service_client::SearchServiceClient,
};
use airis_proto::otlp::tonic::trace::v1::Span;
use airis_proto::prost::Message;
use airis_proto::tonic::Code;
use airis_store::tables::TRACES;
use airis_tests::mesh::{DevCa, Ingress, MeshGateway, Outbound, Sidecar, Upstreams, https_request};
use airis_tests::{
    AiopsServer, DeltaServer, OTHER_TENANT, Pipeline, QueryServer, SearchServer, Settings, TENANT,
    gateway_user, grpcurl, http_exchange,
    otlp::{authed, now_unix_nano, span_id, trace_client, trace_id, traces_request},
    wait_for_count,
};
use base64::Engine as _;

/// A unary call over gRPC-Web through the ingress: the HTTP status, the
/// grpc-status (from the trailer frame, or the headers of a trailers-only
/// answer) and the decoded message if there was one.
async fn grpc_web<Req: Message, Resp: Message + Default>(
    ingress: std::net::SocketAddr,
    path: &str,
    request: &Req,
    headers: &[(&str, &str)],
) -> anyhow::Result<(u16, Option<String>, Option<Resp>)> {
    let (status, _, grpc_status, message) =
        grpc_web_headers(ingress, path, request, headers).await?;
    Ok((status, grpc_status, message))
}

/// [`grpc_web`] with the HTTP response headers.
async fn grpc_web_headers<Req: Message, Resp: Message + Default>(
    ingress: std::net::SocketAddr,
    path: &str,
    request: &Req,
    headers: &[(&str, &str)],
) -> anyhow::Result<(u16, Vec<(String, String)>, Option<String>, Option<Resp>)> {
    let payload = request.encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    body.extend_from_slice(&payload);
    let mut all = vec![
        ("content-type", "application/grpc-web+proto"),
        ("x-grpc-web", "1"),
    ];
    all.extend_from_slice(headers);
    let (status, response_headers, body) =
        http_exchange(ingress, "POST", path, &all, &body).await?;
    let mut grpc_status = response_headers
        .iter()
        .find(|(k, _)| k == "grpc-status")
        .map(|(_, v)| v.clone());
    let mut message = None;
    let mut rest = body.as_slice();
    while rest.len() >= 5 {
        let flag = rest[0];
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let frame = &rest[5..5 + len];
        if flag & 0x80 != 0 {
            let trailers = String::from_utf8_lossy(frame).to_string();
            grpc_status = trailers
                .lines()
                .find_map(|l| l.strip_prefix("grpc-status:"))
                .map(|v| v.trim().to_owned());
        } else {
            message = Some(Resp::decode(frame)?);
        }
        rest = &rest[5 + len..];
    }
    Ok((status, response_headers, grpc_status, message))
}

/// Refused before reaching a service: HTTP 401 or gRPC UNAUTHENTICATED.
fn refused(status: u16, grpc_status: &Option<String>) -> bool {
    status == 401 || grpc_status.as_deref() == Some("16")
}

/// The `jti` claim of a token, read without verifying it.
fn token_id(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("a JWT");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    let claims: serde_json::Value = serde_json::from_slice(&json).expect("json");
    claims["jti"].as_str().expect("jti").to_owned()
}

fn port(endpoint: &str) -> u16 {
    endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("endpoint with a port")
}

#[test]
fn the_ingress_admits_tokens_for_their_tenant_and_role_only() -> anyhow::Result<()> {
    // The whole mesh in one body: polling it takes more than a test
    // thread's 2 MiB of stack in a debug build.
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?
                .block_on(ingress_admits_tokens_for_their_tenant_and_role_only())
        })?
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

async fn ingress_admits_tokens_for_their_tenant_and_role_only() -> anyhow::Result<()> {
    let ca = DevCa::new(&[
        "ingress",
        "analytics",
        "gateway",
        "receiver",
        "aiops",
        "delta",
        "search",
    ])?;

    // The gateway with a key this test also holds, to forge an expired
    // token with a valid signature.
    let seed = [7u8; 32];
    let key_file = ca.path("signing.key");
    std::fs::write(&key_file, hex::encode(seed))?;
    let gateway_config = GatewayConfig {
        redis_url: airis_tests::redis_url(),
        signing_key_file: Some(key_file),
        users: vec![
            gateway_user(TENANT, "kim", "pw acme", Role::Viewer),
            gateway_user(TENANT, "lee", "pw acme admin", Role::Admin),
            gateway_user(OTHER_TENANT, "park", "pw globex", Role::Admin),
        ],
        ..GatewayConfig::default()
    };
    let gateway = MeshGateway::start(&ca, gateway_config.clone()).await?;

    // Receiver, loader and analytics service trust the claim headers, as they
    // do behind their sidecars.
    let mut settings = Settings::new("mesh");
    settings.auth.tenant_header = Some(TENANT_CLAIM_HEADER.to_owned());
    settings.auth.role_header = Some(ROLE_CLAIM_HEADER.to_owned());
    let pipeline = Pipeline::start(settings.clone()).await?;
    let receiver_port = port(&pipeline.endpoint);
    let receiver_sidecar = Sidecar::start(&ca, "receiver", receiver_port, receiver_port).await?;
    let query = QueryServer::start(&settings).await?;
    let query_port = port(&query.endpoint);
    let analytics_sidecar = Sidecar::start(&ca, "analytics", query_port, query_port).await?;
    let aiops = AiopsServer::start(&settings).await?;
    let aiops_port = port(&aiops.endpoint);
    let aiops_sidecar = Sidecar::start(&ca, "aiops", aiops_port, aiops_port).await?;
    let delta = DeltaServer::start(&settings).await?;
    let delta_port = port(&delta.endpoint);
    let delta_sidecar = Sidecar::start(&ca, "delta", delta_port, delta_port).await?;
    // Search asks the query service through its outbound sidecar, as
    // the mesh identity "search".
    let search_outbound = Outbound::start(
        &ca,
        "search",
        &[analytics_sidecar.port()],
        &[aiops_sidecar.port()],
        &[delta_sidecar.port()],
    )
    .await?;
    let mut search_settings = settings.clone();
    search_settings.search.query_endpoint = search_outbound.url();
    search_settings.search.aiops_endpoint = search_outbound.url();
    search_settings.search.delta_endpoint = search_outbound.url();
    let search = SearchServer::start(&search_settings).await?;
    let search_port = port(&search.endpoint);
    let search_sidecar = Sidecar::start(&ca, "search", search_port, search_port).await?;

    // One version of the analytics service serves both subsets here.
    let ingress = Ingress::start(
        &ca,
        &Upstreams {
            analytics_v1: vec![analytics_sidecar.port()],
            analytics_v2: vec![analytics_sidecar.port()],
            gateway: gateway.sidecar.port(),
            receiver: vec![receiver_sidecar.port()],
            aiops: vec![aiops_sidecar.port()],
            delta: vec![delta_sidecar.port()],
            search: vec![search_sidecar.port()],
        },
        &gateway_config,
    )
    .await?;
    let api = ingress.api;

    // Login needs no token.
    let login = async |tenant: &str, username: &str, password: &str| -> anyhow::Result<String> {
        let request = LoginRequest {
            tenant: tenant.into(),
            username: username.into(),
            password: password.into(),
            start_session: false,
        };
        let (status, grpc_status, answer) =
            grpc_web::<_, LoginResponse>(api, "/airis.gateway.v1.AuthService/Login", &request, &[])
                .await?;
        assert_eq!(
            (status, grpc_status.as_deref()),
            (200, Some("0")),
            "{username}"
        );
        Ok(answer.expect("login answer").access_token)
    };
    let viewer = login(TENANT, "kim", "pw acme").await?;
    let admin = login(TENANT, "lee", "pw acme admin").await?;
    let globex_admin = login(OTHER_TENANT, "park", "pw globex").await?;
    let bearer = |token: &str| format!("Bearer {token}");

    // A browser's session through the edge: Login's gRPC-Web response sets
    // the cookie; Refresh and Logout take it without a token (the page's
    // may have expired; the UI sends none), and after Logout the cookie
    // renews nothing.
    let login_request = LoginRequest {
        tenant: TENANT.into(),
        username: "kim".into(),
        password: "pw acme".into(),
        start_session: true,
    };
    let (_, headers, grpc_status, _) = grpc_web_headers::<_, LoginResponse>(
        api,
        "/airis.gateway.v1.AuthService/Login",
        &login_request,
        &[],
    )
    .await?;
    assert_eq!(grpc_status.as_deref(), Some("0"));
    let set_cookie = headers
        .iter()
        .find(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.clone())
        .expect("Login sets the session cookie");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
    let refresh = async |headers: &[(&str, &str)]| {
        grpc_web::<_, RefreshResponse>(
            api,
            "/airis.gateway.v1.AuthService/Refresh",
            &RefreshRequest {},
            headers,
        )
        .await
    };
    let (_, grpc_status, refreshed) = refresh(&[("cookie", &cookie)]).await?;
    assert_eq!(grpc_status.as_deref(), Some("0"));
    let refreshed = refreshed.expect("refresh answer");
    assert_eq!(
        (refreshed.tenant.as_str(), refreshed.username.as_str()),
        (TENANT, "kim")
    );
    let (_, grpc_status, _) = refresh(&[]).await?;
    assert_eq!(
        grpc_status.as_deref(),
        Some("16"),
        "refresh without a cookie"
    );
    let (_, headers, grpc_status, _) = grpc_web_headers::<_, LogoutResponse>(
        api,
        "/airis.gateway.v1.AuthService/Logout",
        &LogoutRequest {},
        &[("cookie", &cookie)],
    )
    .await?;
    assert_eq!(
        grpc_status.as_deref(),
        Some("0"),
        "logout with the cookie alone"
    );
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "set-cookie" && v.contains("Max-Age=0")),
        "{headers:?}"
    );
    let (_, grpc_status, _) = refresh(&[("cookie", &cookie)]).await?;
    assert_eq!(grpc_status.as_deref(), Some("16"), "refresh after logout");

    // Ingest tokens minted through the ingress; a viewer may not mint.
    let mint = async |token: &str| {
        grpc_web::<_, MintIngestTokenResponse>(
            api,
            "/airis.gateway.v1.AuthService/MintIngestToken",
            &MintIngestTokenRequest {
                description: "mesh test".into(),
                ttl_days: 1,
            },
            &[("authorization", &bearer(token))],
        )
        .await
    };
    let (_, grpc_status, _) = mint(&viewer).await?;
    assert_eq!(grpc_status.as_deref(), Some("7"), "viewer minting");
    let (_, grpc_status, answer) = mint(&admin).await?;
    assert_eq!(grpc_status.as_deref(), Some("0"));
    let acme_ingest = answer.expect("minted").token;
    let (_, grpc_status, answer) = mint(&globex_admin).await?;
    assert_eq!(grpc_status.as_deref(), Some("0"));
    let globex_ingest = answer.expect("minted").token;

    // Spans of two tenants through the OTLP listener.
    let now = now_unix_nano();
    let mut otlp = trace_client(&ingress.otlp_url()).await?;
    let span = |n: u64| Span {
        trace_id: trace_id(now, n),
        span_id: span_id(n),
        name: "GET /".into(),
        kind: 2,
        start_time_unix_nano: now - 60_000_000_000,
        end_time_unix_nano: now - 59_000_000_000,
        ..Default::default()
    };
    for (token, service, n) in [
        (&acme_ingest, "acme-shop", 1u64),
        (&globex_ingest, "globex-ledger", 2),
    ] {
        otlp.export(authed(traces_request(service, vec![span(n)]), token))
            .await?;
    }
    // A viewer may not send telemetry; a client-sent tenant header does not
    // redirect it; without a token nothing gets in.
    let refused_export = otlp
        .export(authed(traces_request("x", vec![span(3)]), &viewer))
        .await
        .expect_err("viewer export");
    assert_eq!(
        refused_export.code(),
        Code::PermissionDenied,
        "{refused_export:?}"
    );
    // Nor does a client-sent role lift a viewer to an editor.
    let mut lifted = authed(traces_request("x", vec![span(7)]), &viewer);
    lifted
        .metadata_mut()
        .insert(ROLE_CLAIM_HEADER, "editor".parse()?);
    let lifted = otlp
        .export(lifted)
        .await
        .expect_err("viewer posing as editor");
    assert_eq!(lifted.code(), Code::PermissionDenied, "{lifted:?}");
    let mut spoofed = authed(traces_request("spoofed", vec![span(4)]), &acme_ingest);
    spoofed
        .metadata_mut()
        .insert(TENANT_CLAIM_HEADER, OTHER_TENANT.parse()?);
    otlp.export(spoofed).await?;
    let anonymous = otlp
        .export(airis_proto::tonic::Request::new(traces_request(
            "x",
            vec![span(5)],
        )))
        .await
        .expect_err("anonymous export");
    assert_eq!(anonymous.code(), Code::Unauthenticated, "{anonymous:?}");
    wait_for_count(
        &pipeline.settings.clickhouse(),
        &format!("SELECT count() FROM {TRACES}"),
        3,
        std::time::Duration::from_secs(60),
    )
    .await?;

    // The aiops service behind its sidecar, for gRPC-Web with a viewer's
    // token; without one the edge refuses before it.
    let series = ScoreSeriesRequest {
        points: (0..300u64)
            .map(|i| Point {
                time_unix_nano: now - (300 - i) * 60_000_000_000,
                value: (i % 10) as f64,
            })
            .collect(),
    };
    let score_path = "/airis.aiops.v1.AnomalyService/ScoreSeries";
    let (status, grpc_status, answer) = grpc_web::<_, ScoreSeriesResponse>(
        api,
        score_path,
        &series,
        &[("authorization", &bearer(&viewer))],
    )
    .await?;
    assert_eq!((status, grpc_status.as_deref()), (200, Some("0")));
    assert_eq!(answer.unwrap_or_default().points.len(), 300);
    let (status, grpc_status, answer) =
        grpc_web::<_, ScoreSeriesResponse>(api, score_path, &series, &[]).await?;
    assert!(refused(status, &grpc_status), "{status} {grpc_status:?}");
    assert!(answer.is_none());

    // Alert rules, served by the same aiops process: a viewer reads them
    // (gRPC and gRPC-Web) but may not change them.
    let mut alerts = AlertServiceClient::new(
        airis_proto::tonic::transport::Channel::from_shared(ingress.api_url())?
            .connect()
            .await?,
    );
    alerts
        .list_rules(authed(ListRulesRequest::default(), &viewer))
        .await?;
    let (status, grpc_status, _) = grpc_web::<_, ListRulesResponse>(
        api,
        "/airis.aiops.v1.AlertService/ListRules",
        &ListRulesRequest::default(),
        &[("authorization", &bearer(&viewer))],
    )
    .await?;
    assert_eq!((status, grpc_status.as_deref()), (200, Some("0")));
    let slow = AlertRule {
        name: "slow".into(),
        condition: Some(alert_rule::Condition::Threshold(ThresholdCondition {
            series: Some(RuleSeries {
                series: Some(rule_series::Series::Red(RedSeriesSelector {
                    service_name: "payment".into(),
                    signal: Signal::LatencyP95.into(),
                    ..Default::default()
                })),
            }),
            comparison: Comparison::Above.into(),
            threshold: 500.0,
            ..Default::default()
        })),
        ..Default::default()
    };
    let denied = alerts
        .create_rule(authed(CreateRuleRequest { rule: Some(slow) }, &viewer))
        .await
        .expect_err("viewer creating a rule");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(denied.message().contains("editor or admin"), "{denied:?}");
    // Silences too: the role is checked before the id is looked up.
    let denied = alerts
        .expire_silence(authed(
            ExpireSilenceRequest {
                id: "any".to_owned(),
            },
            &viewer,
        ))
        .await
        .expect_err("viewer expiring a silence");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    // And the notification policy: read, not changed.
    alerts
        .get_notification_policy(authed(GetNotificationPolicyRequest {}, &viewer))
        .await?;
    let denied = alerts
        .update_notification_policy(authed(
            UpdateNotificationPolicyRequest {
                policy: Some(NotificationPolicy::default()),
            },
            &viewer,
        ))
        .await
        .expect_err("viewer changing the notification policy");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");

    // The delta service behind its sidecar: a Compare of two cohorts over
    // the last 10 minutes of a service that sent nothing is INCONCLUSIVE
    // and says why, over gRPC and gRPC-Web alike; a refusal comes back as
    // the service sent it; without a token the edge refuses.
    let last_10_minutes = || Cohort {
        spans: Some(SpanFilter {
            time_range: Some(TimeRange {
                start_unix_nano: now - 600_000_000_000,
                end_unix_nano: now,
            }),
            service_name: "checkout".into(),
            ..Default::default()
        }),
        label: String::new(),
    };
    let comparison = CompareRequest {
        baseline: Some(last_10_minutes()),
        candidate: Some(last_10_minutes()),
        options: None,
    };
    let inconclusive = |answer: &CompareResponse| {
        assert_eq!(answer.verdict, Verdict::Inconclusive as i32, "{answer:?}");
        assert_eq!(
            answer.reasons.first().map(|r| r.en.as_str()),
            Some("the baseline (baseline) has no spans"),
            "{answer:?}"
        );
    };
    let mut deltas = DeltaServiceClient::new(
        airis_proto::tonic::transport::Channel::from_shared(ingress.api_url())?
            .connect()
            .await?,
    );
    inconclusive(
        &deltas
            .compare(authed(comparison.clone(), &viewer))
            .await?
            .into_inner(),
    );
    let no_baseline = deltas
        .compare(authed(
            CompareRequest {
                baseline: None,
                ..comparison.clone()
            },
            &viewer,
        ))
        .await
        .expect_err("a Compare without a baseline");
    assert_eq!(no_baseline.code(), Code::InvalidArgument, "{no_baseline:?}");
    assert_eq!(no_baseline.message(), "baseline: required");
    let anonymous = deltas
        .compare(airis_proto::tonic::Request::new(comparison.clone()))
        .await
        .expect_err("a Compare without a token");
    assert_eq!(anonymous.code(), Code::Unauthenticated, "{anonymous:?}");
    let compare_path = "/airis.delta.v1.DeltaService/Compare";
    let (status, grpc_status, answer) = grpc_web::<_, CompareResponse>(
        api,
        compare_path,
        &comparison,
        &[("authorization", &bearer(&viewer))],
    )
    .await?;
    assert_eq!((status, grpc_status.as_deref()), (200, Some("0")));
    inconclusive(&answer.unwrap_or_default());
    let (status, grpc_status, answer) =
        grpc_web::<_, CompareResponse>(api, compare_path, &comparison, &[]).await?;
    assert!(refused(status, &grpc_status), "{status} {grpc_status:?}");
    assert!(answer.is_none());

    // The search service behind its sidecar reads a question over the
    // caller's tenant's names only: acme's viewer finds acme-shop, and
    // globex's service is a word it cannot place, with no suggestion from
    // another tenant, a client-sent tenant header notwithstanding; globex's
    // admin finds it. Completions likewise. An over-long question is
    // INVALID_ARGUMENT naming the field, over gRPC and gRPC-Web; without a
    // token the edge refuses.
    let mut searches = SearchServiceClient::new(
        airis_proto::tonic::transport::Channel::from_shared(ingress.api_url())?
            .connect()
            .await?,
    );
    let question = |q: &str| InterpretRequest {
        question: q.into(),
        locale: "en".into(),
        time_zone: "Asia/Seoul".into(),
        now_unix_nano: now,
    };
    let asked = searches
        .interpret(authed(question("errors in acme-shop"), &viewer))
        .await?
        .into_inner();
    let read = asked.interpretation.clone().unwrap_or_default();
    assert_eq!(read.service_names, ["acme-shop"], "{asked:?}");
    let mut spoofed = authed(question("errors in globex-ledger"), &viewer);
    spoofed
        .metadata_mut()
        .insert(TENANT_CLAIM_HEADER, OTHER_TENANT.parse()?);
    let asked = searches.interpret(spoofed).await?.into_inner();
    assert!(
        asked
            .interpretation
            .clone()
            .unwrap_or_default()
            .service_names
            .is_empty(),
        "{asked:?}"
    );
    assert!(
        asked
            .unplaced
            .iter()
            .any(|u| u.text.contains("globex")
                && u.suggestions.iter().all(|s| !s.contains("globex"))),
        "{asked:?}"
    );
    let asked = searches
        .interpret(authed(question("errors in globex-ledger"), &globex_admin))
        .await?
        .into_inner();
    assert_eq!(
        asked.interpretation.unwrap_or_default().service_names,
        ["globex-ledger"]
    );
    let complete = |prefix: &str| SuggestRequest {
        prefix: prefix.into(),
        limit: 0,
    };
    let texts = |answer: SuggestResponse| -> Vec<String> {
        answer.suggestions.into_iter().map(|s| s.text).collect()
    };
    let mine = searches.suggest(authed(complete("glo"), &viewer)).await?;
    assert!(texts(mine.into_inner()).is_empty());
    let theirs = searches
        .suggest(authed(complete("glo"), &globex_admin))
        .await?;
    assert_eq!(texts(theirs.into_inner()), ["globex-ledger"]);
    let long = searches
        .interpret(authed(question(&"결제 ".repeat(1000)), &viewer))
        .await
        .expect_err("a 7 kB question");
    assert_eq!(long.code(), Code::InvalidArgument, "{long:?}");
    assert!(
        long.message().starts_with("question: 7000 bytes"),
        "{long:?}"
    );
    let interpret_path = "/airis.search.v1.SearchService/Interpret";
    let (status, grpc_status, answer) = grpc_web::<_, InterpretResponse>(
        api,
        interpret_path,
        &question("acme-shop 느린 요청"),
        &[("authorization", &bearer(&viewer))],
    )
    .await?;
    assert_eq!((status, grpc_status.as_deref()), (200, Some("0")));
    let answer = answer.unwrap_or_default();
    assert_eq!(
        answer.interpretation.unwrap_or_default().service_names,
        ["acme-shop"]
    );
    let (status, grpc_status, _) = grpc_web::<_, InterpretResponse>(
        api,
        interpret_path,
        &question(&"x".repeat(2000)),
        &[("authorization", &bearer(&viewer))],
    )
    .await?;
    assert_eq!((status, grpc_status.as_deref()), (200, Some("3")));
    let (status, grpc_status, answer) =
        grpc_web::<_, InterpretResponse>(api, interpret_path, &question("acme-shop"), &[]).await?;
    assert!(refused(status, &grpc_status), "{status} {grpc_status:?}");
    assert!(answer.is_none());

    let asking = Asking {
        searches: &mut searches,
        api_url: ingress.api_url(),
        api,
        now,
        viewer: &viewer,
        globex_admin: &globex_admin,
        acme_ingest: &acme_ingest,
        ca: &ca,
        analytics: analytics_sidecar.inbound,
        aiops: aiops_sidecar.inbound,
        delta: delta_sidecar.inbound,
        gateway: gateway.sidecar.inbound,
        search_outbound: search_outbound.address,
        clickhouse: settings.clickhouse(),
    };
    Box::pin(asks_about_anomalies_as_the_caller(&asking)).await?;
    Box::pin(asks_for_a_judgement_as_the_caller(&asking)).await?;
    Box::pin(asks_as_the_caller(asking)).await?;

    let list = ListServicesRequest {
        time_range: Some(TimeRange {
            start_unix_nano: now - 3_600_000_000_000,
            end_unix_nano: now + 60_000_000_000,
        }),
    };
    let path = "/airis.analytics.v1.QueryService/ListServices";
    let services = async |headers: &[(&str, &str)]| {
        grpc_web::<_, ListServicesResponse>(api, path, &list, headers).await
    };

    // The token's tenant, and only it; a tenant header sent by the client
    // is removed before the verified claim is added.
    for extra in [None, Some(OTHER_TENANT)] {
        let auth = bearer(&viewer);
        let mut headers = vec![("authorization", auth.as_str())];
        if let Some(tenant) = extra {
            headers.push((TENANT_CLAIM_HEADER, tenant));
            headers.push((ROLE_CLAIM_HEADER, "admin"));
        }
        let (status, grpc_status, answer) = services(&headers).await?;
        assert_eq!(
            (status, grpc_status.as_deref()),
            (200, Some("0")),
            "{extra:?}"
        );
        assert_eq!(
            answer.unwrap_or_default().service_names,
            ["acme-shop", "spoofed"],
            "{extra:?}"
        );
    }
    let (_, grpc_status, answer) = services(&[("authorization", &bearer(&globex_admin))]).await?;
    assert_eq!(grpc_status.as_deref(), Some("0"));
    assert_eq!(answer.unwrap_or_default().service_names, ["globex-ledger"]);

    // An ingest token sends telemetry; it does not read it.
    let (_, grpc_status, _) = services(&[("authorization", &bearer(&acme_ingest))]).await?;
    assert_eq!(grpc_status.as_deref(), Some("7"), "ingest token querying");
    let (_, grpc_status, _) = services(&[
        ("authorization", &bearer(&acme_ingest)),
        (ROLE_CLAIM_HEADER, "viewer"),
    ])
    .await?;
    assert_eq!(
        grpc_status.as_deref(),
        Some("7"),
        "ingest token posing as viewer"
    );

    // Refused at the edge: no token, a forged signature, a header alone, a
    // token of another gateway, an opaque dev token, an expired token with
    // a valid signature.
    let mut forged = viewer.clone();
    forged.replace_range(forged.len() - 6.., "AAAAAA");
    let foreign_keys =
        Keys::from_seed(&[9u8; 32], &gateway_config.issuer, &gateway_config.audience);
    let keys = Keys::from_seed(&seed, &gateway_config.issuer, &gateway_config.audience);
    let claims = |exp_offset: i64, keys: &Keys| {
        let now = (now / 1_000_000_000) as i64;
        keys.sign(&Claims {
            iss: gateway_config.issuer.clone(),
            aud: gateway_config.audience.clone(),
            sub: "kim".into(),
            iat: now - 3600,
            exp: now + exp_offset,
            jti: "0123456789abcdef".into(),
            tenant: TENANT.into(),
            role: "admin".into(),
        })
    };
    let expired = claims(-600, &keys);
    let foreign = claims(600, &foreign_keys);
    for (what, headers) in [
        ("no token", vec![]),
        ("forged", vec![("authorization", bearer(&forged))]),
        (
            "header only",
            vec![(TENANT_CLAIM_HEADER, TENANT.to_owned())],
        ),
        ("foreign key", vec![("authorization", bearer(&foreign))]),
        (
            "opaque token",
            vec![("authorization", "Bearer dev-token".to_owned())],
        ),
        ("expired", vec![("authorization", bearer(&expired))]),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, grpc_status, answer) = services(&headers).await?;
        assert!(
            refused(status, &grpc_status),
            "{what}: {status} {grpc_status:?}"
        );
        assert!(answer.is_none(), "{what}");
    }

    // Other spellings of the query path, without a token: never an answer.
    for path in [
        "//airis.analytics.v1.QueryService/ListServices",
        "/./airis.analytics.v1.QueryService/ListServices",
        "/airis.gateway.v1.AuthService/../../airis.analytics.v1.QueryService/ListServices",
        "/airis.analytics.v1.QueryService%2FListServices",
        "/ui/airis.analytics.v1.QueryService/ListServices",
    ] {
        let (status, grpc_status, answer) =
            grpc_web::<_, ListServicesResponse>(api, path, &list, &[]).await?;
        assert!(answer.is_none(), "{path}: {status} {grpc_status:?}");
        assert_ne!((status, grpc_status.as_deref()), (200, Some("0")), "{path}");
    }

    // Health and the token check are not reachable through the ingress.
    let channel = airis_proto::tonic::transport::Channel::from_shared(ingress.api_url())?
        .connect()
        .await?;
    let health = tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect_err("health through the ingress");
    assert_eq!(health.code(), Code::Unimplemented, "{health:?}");
    for (method, path) in [
        ("GET", "/authz/airis.analytics.v1.QueryService/ListServices"),
        ("POST", "/"),
    ] {
        let (status, _, _) = http_exchange(
            api,
            method,
            path,
            &[("authorization", &bearer(&admin))],
            &[],
        )
        .await?;
        assert_eq!(status, 404, "{method} {path}");
    }

    // Revocation is honoured at the edge at once, for access and ingest
    // tokens alike.
    for token in [&viewer, &acme_ingest] {
        let (_, grpc_status, _) = grpc_web::<_, RevokeTokenResponse>(
            api,
            "/airis.gateway.v1.AuthService/RevokeToken",
            &RevokeTokenRequest {
                token_id: token_id(token),
            },
            &[("authorization", &bearer(&admin))],
        )
        .await?;
        assert_eq!(grpc_status.as_deref(), Some("0"));
    }
    let (status, grpc_status, answer) = services(&[("authorization", &bearer(&viewer))]).await?;
    assert!(
        refused(status, &grpc_status),
        "revoked: {status} {grpc_status:?}"
    );
    assert!(answer.is_none());
    let revoked_export = otlp
        .export(authed(
            traces_request("acme-shop", vec![span(6)]),
            &acme_ingest,
        ))
        .await
        .expect_err("revoked ingest token");
    assert_eq!(
        revoked_export.code(),
        Code::Unauthenticated,
        "{revoked_export:?}"
    );
    assert_eq!(
        revoked_export.message(),
        "token revoked",
        "{revoked_export:?}"
    );
    // A gRPC client of the API sees why, too.
    let mut auth = AuthServiceClient::new(
        airis_proto::tonic::transport::Channel::from_shared(ingress.api_url())?
            .connect()
            .await?,
    );
    let mut listing = airis_proto::tonic::Request::new(ListTokensRequest {});
    listing
        .metadata_mut()
        .insert("authorization", bearer(&viewer).parse()?);
    let revoked_call = auth
        .list_tokens(listing)
        .await
        .expect_err("revoked access token");
    assert_eq!(
        (revoked_call.code(), revoked_call.message()),
        (Code::Unauthenticated, "token revoked"),
        "{revoked_call:?}"
    );
    // The admin's own token still works.
    let (_, grpc_status, _) = services(&[("authorization", &bearer(&admin))]).await?;
    assert_eq!(grpc_status.as_deref(), Some("0"));

    // A CORS preflight from the UI's origin passes without a token.
    let (status, headers, _) = http_exchange(
        api,
        "OPTIONS",
        path,
        &[
            ("origin", "http://localhost:5173"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type,x-grpc-web",
            ),
        ],
        &[],
    )
    .await?;
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "access-control-allow-origin" && v == "http://localhost:5173"),
        "{headers:?}"
    );
    // An origin that merely starts like a local one gets no CORS grant.
    let (_, headers, _) = http_exchange(
        api,
        "OPTIONS",
        path,
        &[
            ("origin", "http://localhost.evil.example"),
            ("access-control-request-method", "POST"),
        ],
        &[],
    )
    .await?;
    assert!(
        !headers
            .iter()
            .any(|(k, _)| k == "access-control-allow-origin"),
        "{headers:?}"
    );
    // The JWKS is public, through the gateway's sidecar.
    let (status, _, body) = http_exchange(api, "GET", "/.well-known/jwks.json", &[], &[]).await?;
    assert_eq!(status, 200);
    assert!(String::from_utf8(body)?.contains("\"OKP\""));

    drop(ingress);
    drop((
        analytics_sidecar,
        receiver_sidecar,
        aiops_sidecar,
        delta_sidecar,
        search_sidecar,
        search_outbound,
    ));
    gateway.stop().await?;
    query.stop().await?;
    aiops.stop().await?;
    delta.stop().await?;
    search.stop().await?;
    pipeline.stop().await
}

/// What the Ask checks need of the running mesh.
struct Asking<'a> {
    searches: &'a mut SearchServiceClient<airis_proto::tonic::transport::Channel>,
    api_url: String,
    api: std::net::SocketAddr,
    now: u64,
    viewer: &'a str,
    globex_admin: &'a str,
    acme_ingest: &'a str,
    ca: &'a DevCa,
    analytics: std::net::SocketAddr,
    aiops: std::net::SocketAddr,
    delta: std::net::SocketAddr,
    gateway: std::net::SocketAddr,
    search_outbound: std::net::SocketAddr,
    clickhouse: clickhouse::Client,
}

async fn asks_as_the_caller(a: Asking<'_>) -> anyhow::Result<()> {
    // Ask answers through the query service as its caller, by the search
    // sidecar's outbound: acme's viewer gets exactly the traces the query
    // service gives that viewer (acme's), whatever tenant or role headers
    // the client adds; globex's admin gets globex's; an ingest token, which
    // may not query, may not ask either.
    let mut queries = QueryServiceClient::new(
        airis_proto::tonic::transport::Channel::from_shared(a.api_url.clone())?
            .connect()
            .await?,
    );
    let range = TimeRange {
        start_unix_nano: a.now - 600_000_000_000,
        end_unix_nano: a.now + 60_000_000_000,
    };
    let every_trace = Interpretation {
        signal: SearchSignal::Traces as i32,
        time_range: Some(range),
        ..Default::default()
    };
    let ask = |query: ask_request::Query| AskRequest {
        query: Some(query),
        locale: "en".into(),
        time_zone: "Asia/Seoul".into(),
        now_unix_nano: a.now,
    };
    let traces_of = |asked: AskResponse| -> Vec<(String, Vec<String>)> {
        match asked.answer.and_then(|a| a.result) {
            Some(answer::Result::Traces(t)) => t
                .traces
                .into_iter()
                .map(|t| (t.trace_id, t.service_names))
                .collect(),
            other => panic!("not traces: {other:?}"),
        }
    };
    let direct = queries
        .search_traces(authed(
            SearchTracesRequest {
                filter: Some(SpanFilter {
                    time_range: Some(range),
                    ..Default::default()
                }),
                ..Default::default()
            },
            a.viewer,
        ))
        .await?
        .into_inner();
    let direct: Vec<_> = direct
        .traces
        .into_iter()
        .map(|t| (t.trace_id, t.service_names))
        .collect();
    let through_search = traces_of(
        a.searches
            .ask(authed(
                ask(ask_request::Query::Interpretation(every_trace.clone())),
                a.viewer,
            ))
            .await?
            .into_inner(),
    );
    assert_eq!(through_search, direct);
    let services: Vec<&str> = direct
        .iter()
        .flat_map(|(_, s)| s.iter().map(String::as_str))
        .collect();
    assert!(services.contains(&"acme-shop"), "{direct:?}");
    assert!(!services.contains(&"globex-ledger"), "{direct:?}");
    let mut spoofed = authed(
        ask(ask_request::Query::Interpretation(every_trace.clone())),
        a.viewer,
    );
    spoofed
        .metadata_mut()
        .insert(TENANT_CLAIM_HEADER, OTHER_TENANT.parse()?);
    spoofed
        .metadata_mut()
        .insert(ROLE_CLAIM_HEADER, "admin".parse()?);
    assert_eq!(
        traces_of(a.searches.ask(spoofed).await?.into_inner()),
        direct
    );
    let theirs = traces_of(
        a.searches
            .ask(authed(
                ask(ask_request::Query::Question(
                    "globex-ledger requests in the last 10 minutes".into(),
                )),
                a.globex_admin,
            ))
            .await?
            .into_inner(),
    );
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0].1, ["globex-ledger"]);
    let ingest = a
        .searches
        .ask(authed(
            ask(ask_request::Query::Interpretation(every_trace.clone())),
            a.acme_ingest,
        ))
        .await
        .expect_err("an ingest token asking");
    assert_eq!(ingest.code(), Code::PermissionDenied, "{ingest:?}");
    // The query service's refusal reaches the caller as its own, named.
    let mut inverted = every_trace.clone();
    inverted.time_range = Some(TimeRange {
        start_unix_nano: range.end_unix_nano,
        end_unix_nano: range.start_unix_nano,
    });
    let refusal = a
        .searches
        .ask(authed(
            ask(ask_request::Query::Interpretation(inverted)),
            a.viewer,
        ))
        .await
        .expect_err("an inverted time range");
    assert_eq!(refusal.code(), Code::InvalidArgument, "{refusal:?}");
    assert!(
        refusal.message().starts_with("query service: "),
        "{refusal:?}"
    );
    // Over gRPC-Web as the UI asks; without a token the edge refuses.
    let ask_path = "/airis.search.v1.SearchService/Ask";
    let question_about_acme = ask(ask_request::Query::Question("acme-shop requests".into()));
    let (status, grpc_status, answer) = grpc_web::<_, AskResponse>(
        a.api,
        ask_path,
        &question_about_acme,
        &[("authorization", &format!("Bearer {}", a.viewer))],
    )
    .await?;
    assert_eq!((status, grpc_status.as_deref()), (200, Some("0")));
    let asked = traces_of(answer.unwrap_or_default());
    assert!(
        !asked.is_empty()
            && asked
                .iter()
                .all(|(_, s)| s.contains(&"acme-shop".to_owned())),
        "{asked:?}"
    );
    let (status, grpc_status, answer) =
        grpc_web::<_, AskResponse>(a.api, ask_path, &question_about_acme, &[]).await?;
    assert!(refused(status, &grpc_status), "{status} {grpc_status:?}");
    assert!(answer.is_none());

    // Only the search service's identity reaches the analytics sidecar
    // besides the ingress, and only on the query service's paths: another
    // service's certificate is refused (403) before any header is read, and
    // search's on anything else of analytics; search's outbound routes
    // nowhere but the query service (404).
    let query_path = "/airis.analytics.v1.QueryService/SearchTraces";
    let (status, _) = https_request(a.analytics, a.ca, "delta", "POST", query_path, b"").await?;
    assert_eq!(status, 403, "delta on the query service");
    let (status, _) = https_request(
        a.analytics,
        a.ca,
        "search",
        "POST",
        "/grpc.health.v1.Health/Check",
        b"",
    )
    .await?;
    assert_eq!(status, 403, "search on analytics' health");
    let (status, _) = https_request(a.analytics, a.ca, "search", "POST", query_path, b"").await?;
    assert_ne!(status, 403, "search on the query service");
    let (status, _) = https_request(
        a.gateway,
        a.ca,
        "search",
        "POST",
        "/airis.gateway.v1.AuthService/MintIngestToken",
        b"",
    )
    .await?;
    assert_eq!(status, 403, "search on the gateway");
    let mut through_outbound = AuthServiceClient::new(
        airis_proto::tonic::transport::Channel::from_shared(format!(
            "http://{}",
            a.search_outbound
        ))?
        .connect()
        .await?,
    );
    let minted = through_outbound
        .mint_ingest_token(authed(MintIngestTokenRequest::default(), a.viewer))
        .await
        .expect_err("search's outbound to the gateway");
    // No route: HTTP 404, which gRPC reads as UNIMPLEMENTED.
    assert_eq!(minted.code(), Code::Unimplemented, "{minted:?}");
    Ok(())
}

/// Anomaly questions go to the anomaly service as the caller, by the same
/// outbound: acme's viewer gets exactly what ListAnomalies gives that
/// viewer through the ingress, globex's admin globex's; the aiops sidecar
/// admits search on ListAnomalies only.
async fn asks_about_anomalies_as_the_caller(a: &Asking<'_>) -> anyhow::Result<()> {
    let minute = (a.now / 60_000_000_000 * 60) as u32 - 120;
    let row = |tenant: &str, service: &str| AnomalyRow {
        tenant: tenant.into(),
        service: service.into(),
        operation: String::new(),
        signal: "latency_p95".into(),
        metric: String::new(),
        minute,
        value: 900.0,
        expected: 120.0,
        lower: 80.0,
        upper: 200.0,
        score: 0.9,
        kind: "spike".into(),
        detected_at: i64::from(minute + 60) * 1_000_000_000,
    };
    write_anomalies(
        &a.clickhouse,
        "mesh-search-anomalies",
        &[row(TENANT, "acme-shop"), row(OTHER_TENANT, "globex-ledger")],
    )
    .await?;
    let range = TimeRange {
        start_unix_nano: a.now - 600_000_000_000,
        end_unix_nano: a.now + 60_000_000_000,
    };
    let mut anomalies = AnomalyServiceClient::new(
        airis_proto::tonic::transport::Channel::from_shared(a.api_url.clone())?
            .connect()
            .await?,
    );
    let direct = anomalies
        .list_anomalies(authed(
            ListAnomaliesRequest {
                time_range: Some(range),
                ..Default::default()
            },
            a.viewer,
        ))
        .await?
        .into_inner()
        .anomalies;
    assert_eq!(
        direct
            .iter()
            .map(|x| x.service_name.as_str())
            .collect::<Vec<_>>(),
        ["acme-shop"]
    );
    let asked = |token: &str| {
        let mut searches = a.searches.clone();
        let request = authed(
            AskRequest {
                query: Some(ask_request::Query::Interpretation(Interpretation {
                    signal: SearchSignal::Anomalies as i32,
                    time_range: Some(range),
                    ..Default::default()
                })),
                locale: "ko".into(),
                time_zone: "Asia/Seoul".into(),
                now_unix_nano: a.now,
            },
            token,
        );
        async move {
            match searches
                .ask(request)
                .await?
                .into_inner()
                .answer
                .and_then(|a| a.result)
            {
                Some(answer::Result::Anomalies(found)) => Ok(found.anomalies),
                other => anyhow::bail!("not anomalies: {other:?}"),
            }
        }
    };
    assert_eq!(asked(a.viewer).await?, direct);
    let theirs = asked(a.globex_admin).await?;
    assert_eq!(
        theirs
            .iter()
            .map(|x| x.service_name.as_str())
            .collect::<Vec<_>>(),
        ["globex-ledger"]
    );
    // On the aiops sidecar: search on ListAnomalies passes the RBAC (not
    // 403), on anything else of aiops it is refused, as is another
    // service's identity on ListAnomalies.
    search_admitted_on_only(
        a,
        a.aiops,
        "/airis.aiops.v1.AnomalyService/ListAnomalies",
        &[
            "/airis.aiops.v1.AnomalyService/ScoreSeries",
            "/airis.aiops.v1.AlertService/ListRules",
            "/airis.aiops.v1.AnomalyService/ListAnomalies/../ScoreSeries",
        ],
        "delta",
    )
    .await
}

/// On the sidecar at `sidecar`: search's POST of `path` passes the RBAC
/// (not 403); search on `refused` paths or with GET, and the identity
/// `other` on `path`, are refused.
async fn search_admitted_on_only(
    a: &Asking<'_>,
    sidecar: std::net::SocketAddr,
    path: &str,
    refused: &[&str],
    other: &str,
) -> anyhow::Result<()> {
    let (status, _) = https_request(sidecar, a.ca, "search", "POST", path, b"").await?;
    assert_ne!(status, 403, "search on {path}");
    for refused in refused {
        let (status, _) = https_request(sidecar, a.ca, "search", "POST", refused, b"").await?;
        assert_eq!(status, 403, "search on {refused}");
    }
    let (status, _) = https_request(sidecar, a.ca, "search", "GET", path, b"").await?;
    assert_eq!(status, 403, "search's GET of {path}");
    let (status, _) = https_request(sidecar, a.ca, other, "POST", path, b"").await?;
    assert_eq!(status, 403, "{other} on {path}");
    Ok(())
}

async fn asks_for_a_judgement_as_the_caller(a: &Asking<'_>) -> anyhow::Result<()> {
    // "acme-shop's error rate than yesterday": Ask has the delta service
    // judge the last 10 minutes against the same minutes a day before, as
    // the caller. The viewer's judgement is the Compare the viewer gets
    // from the delta service directly: acme-shop's spans now, none a day
    // before, so inconclusive and saying so; globex's admin asking the
    // same finds no acme-shop spans at all.
    const DAY: u64 = 86_400_000_000_000;
    let range = TimeRange {
        start_unix_nano: a.now - 600_000_000_000,
        end_unix_nano: a.now + 60_000_000_000,
    };
    let asked = |token: &str| {
        let mut searches = a.searches.clone();
        let request = authed(
            AskRequest {
                query: Some(ask_request::Query::Interpretation(Interpretation {
                    signal: SearchSignal::Traces as i32,
                    service_names: vec!["acme-shop".into()],
                    aggregation: SearchAggregation::ErrorRate as i32,
                    time_range: Some(range),
                    compare_shift_nano: DAY,
                    ..Default::default()
                })),
                locale: "en".into(),
                time_zone: "Asia/Seoul".into(),
                now_unix_nano: a.now,
            },
            token,
        );
        async move {
            let judgement = searches
                .ask(request)
                .await?
                .into_inner()
                .judgement
                .unwrap_or_default();
            match (judgement.query, judgement.result) {
                (Some(answer::Query::Compare(sent)), Some(answer::Result::Comparison(judged))) => {
                    Ok((sent, judged))
                }
                other => anyhow::bail!("not a judgement: {other:?}"),
            }
        }
    };
    let (sent, judged) = asked(a.viewer).await?;
    let baseline = sent.baseline.as_ref().and_then(|c| c.spans.as_ref());
    assert_eq!(
        baseline.and_then(|s| s.time_range),
        Some(TimeRange {
            start_unix_nano: range.start_unix_nano - DAY,
            end_unix_nano: range.end_unix_nano - DAY,
        })
    );
    let mut deltas = DeltaServiceClient::new(
        airis_proto::tonic::transport::Channel::from_shared(a.api_url.clone())?
            .connect()
            .await?,
    );
    let direct = deltas
        .compare(authed(sent.clone(), a.viewer))
        .await?
        .into_inner();
    assert_eq!(judged, direct);
    assert_eq!(judged.verdict, Verdict::Inconclusive as i32, "{judged:?}");
    assert!(
        judged.candidate.as_ref().is_some_and(|c| c.spans > 0),
        "{judged:?}"
    );
    assert_eq!(
        judged.reasons.first().map(|r| r.en.as_str()),
        Some("the baseline (yesterday) has no spans"),
        "{judged:?}"
    );
    let (_, theirs) = asked(a.globex_admin).await?;
    assert_eq!(
        theirs.candidate.as_ref().map(|c| c.spans),
        Some(0),
        "{theirs:?}"
    );
    // On the delta sidecar: search on Compare passes the RBAC (not 403);
    // on ListChanges, the rollout endpoints or with GET it is refused, as
    // is another service's identity on Compare.
    search_admitted_on_only(
        a,
        a.delta,
        "/airis.delta.v1.DeltaService/Compare",
        &[
            "/airis.delta.v1.DeltaService/ListChanges",
            "/rollout/v1/flagger",
            "/airis.delta.v1.DeltaService/Compare/../ListChanges",
        ],
        "aiops",
    )
    .await
}

/// What `grpcurl list` printed: one service per line.
fn listed(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_reflects_the_public_api_through_the_ingress_for_tokens_only() -> anyhow::Result<()>
{
    let ca = DevCa::new(&["ingress", "analytics", "gateway"])?;
    let gateway_config = GatewayConfig {
        redis_url: airis_tests::redis_url(),
        users: vec![
            gateway_user(TENANT, "kim", "pw acme", Role::Viewer),
            gateway_user(TENANT, "lee", "pw acme admin", Role::Admin),
        ],
        ..GatewayConfig::default()
    };
    let gateway = MeshGateway::start(&ca, gateway_config.clone()).await?;
    let mut settings = Settings::new("mesh_reflection");
    settings.auth.tenant_header = Some(TENANT_CLAIM_HEADER.to_owned());
    settings.auth.role_header = Some(ROLE_CLAIM_HEADER.to_owned());
    settings.migrate().await?;
    let query = QueryServer::start(&settings).await?;
    let query_port = port(&query.endpoint);
    let analytics_sidecar = Sidecar::start(&ca, "analytics", query_port, query_port).await?;
    let ingress = Ingress::start(
        &ca,
        &Upstreams {
            analytics_v1: vec![analytics_sidecar.port()],
            analytics_v2: vec![analytics_sidecar.port()],
            gateway: gateway.sidecar.port(),
            receiver: vec![],
            aiops: vec![],
            delta: vec![],
            search: vec![],
        },
        &gateway_config,
    )
    .await?;
    let api = ingress.api.to_string();
    let channel = airis_proto::tonic::transport::Channel::from_shared(ingress.api_url())?
        .connect()
        .await?;
    let viewer = airis_tests::mesh::login(channel.clone(), TENANT, "kim", "pw acme").await?;
    let admin = airis_tests::mesh::login(channel.clone(), TENANT, "lee", "pw acme admin").await?;
    let viewer_auth = format!("authorization: Bearer {viewer}");
    let admin_auth = format!("authorization: Bearer {admin}");

    // Every public service, and nothing else: no health, no reflection.
    let (ok, text) = grpcurl(&["-plaintext", "-H", &viewer_auth, &api, "list"]).await?;
    assert!(ok, "grpcurl list: {text}");
    assert_eq!(
        listed(&text),
        [
            "airis.aiops.v1.AlertService",
            "airis.aiops.v1.AnomalyService",
            "airis.analytics.v1.QueryService",
            "airis.delta.v1.DeltaService",
            "airis.gateway.v1.AuthService",
            "airis.search.v1.SearchService"
        ],
        "{text}"
    );
    assert_eq!(listed(&text), airis_proto::SERVICES, "{text}");

    // Services and messages of both upstreams are described.
    let (ok, text) = grpcurl(&[
        "-plaintext",
        "-H",
        &viewer_auth,
        &api,
        "describe",
        "airis.analytics.v1.QueryService",
    ])
    .await?;
    assert!(ok, "grpcurl describe: {text}");
    assert!(
        text.contains("service QueryService") && text.contains("rpc ListServices"),
        "{text}"
    );
    let (ok, text) = grpcurl(&[
        "-plaintext",
        "-H",
        &viewer_auth,
        &api,
        "describe",
        "airis.gateway.v1.MintIngestTokenRequest",
    ])
    .await?;
    assert!(ok && text.contains("ttl_days"), "{text}");

    // Calls by name, JSON in and out, no -proto: the analytics service and the
    // gateway.
    let now = now_unix_nano();
    let range = format!(
        r#"{{"timeRange":{{"startUnixNano":"{}","endUnixNano":"{now}"}}}}"#,
        now - 3_600_000_000_000
    );
    let (ok, text) = grpcurl(&[
        "-plaintext",
        "-H",
        &viewer_auth,
        "-d",
        &range,
        &api,
        "airis.analytics.v1.QueryService/ListServices",
    ])
    .await?;
    assert!(ok, "ListServices by reflection: {text}");
    let (ok, text) = grpcurl(&[
        "-plaintext",
        "-H",
        &admin_auth,
        "-d",
        "{}",
        &api,
        "airis.gateway.v1.AuthService/ListTokens",
    ])
    .await?;
    assert!(ok, "ListTokens by reflection: {text}");
    assert!(text.contains(&token_id(&viewer)), "{text}");

    // v1, as newer clients speak it.
    let v1_list = async |token: Option<&str>| {
        use tonic_reflection::pb::v1::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        };
        let ask = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let asks = airis_proto::tonic::codegen::tokio_stream::once(ask);
        let request = match token {
            Some(token) => authed(asks, token),
            None => airis_proto::tonic::Request::new(asks),
        };
        let mut answers = ServerReflectionClient::new(channel.clone())
            .server_reflection_info(request)
            .await?
            .into_inner();
        let mut names = Vec::new();
        while let Some(answer) = answers.message().await? {
            if let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response {
                names.extend(list.service.into_iter().map(|s| s.name));
            }
        }
        Ok::<_, airis_proto::tonic::Status>(names)
    };
    assert_eq!(v1_list(Some(&viewer)).await?, airis_proto::SERVICES);
    let refused_v1 = v1_list(None).await.expect_err("v1 without a token");
    assert_eq!(refused_v1.code(), Code::Unauthenticated, "{refused_v1:?}");

    // Without a token, or with a revoked one: refused.
    let (ok, text) = grpcurl(&["-plaintext", &api, "list"]).await?;
    assert!(!ok && text.contains("Unauthenticated"), "{text}");
    let (ok, text) = grpcurl(&[
        "-plaintext",
        "-H",
        &admin_auth,
        "-d",
        &format!(r#"{{"tokenId":"{}"}}"#, token_id(&viewer)),
        &api,
        "airis.gateway.v1.AuthService/RevokeToken",
    ])
    .await?;
    assert!(ok, "RevokeToken by reflection: {text}");
    let (ok, text) = grpcurl(&["-plaintext", "-H", &viewer_auth, &api, "list"]).await?;
    assert!(!ok && text.contains("Unauthenticated"), "revoked: {text}");

    // Health stays unreachable, token or not.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let unreachable = health
        .check(authed(
            tonic_health::pb::HealthCheckRequest::default(),
            &admin,
        ))
        .await
        .expect_err("health through the ingress");
    assert_eq!(unreachable.code(), Code::Unimplemented, "{unreachable:?}");

    drop(ingress);
    drop(analytics_sidecar);
    gateway.stop().await?;
    query.stop().await
}
