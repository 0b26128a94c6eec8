//! The Envoy ingress of `mesh/ingress.yaml`, on real Envoy: gRPC-Web with a
//! gateway-issued token reaches the query service as the token's tenant;
//! missing, forged and foreign tokens stop at Envoy; a client-sent tenant
//! header is ignored; CORS preflights for the UI pass.

use airis_gateway::{GatewayConfig, Role};
use airis_proto::airis::analytics::v1::{ListServicesRequest, ListServicesResponse};
use airis_proto::airis::common::v1::TimeRange;
use airis_proto::airis::gateway::v1::{LoginRequest, LoginResponse};
use airis_proto::otlp::tonic::trace::v1::Span;
use airis_proto::prost::Message;
use airis_tests::{
    Envoy, GatewayServer, OTHER_TENANT, OTHER_TOKEN, Pipeline, QueryServer, Settings, TENANT,
    TOKEN, gateway_user, http_exchange,
    otlp::{authed, now_nanos, span_id, trace_client, trace_id, traces_request},
    wait_for_count,
};

const TENANT_HEADER: &str = "x-airis-tenant";

/// A unary call over gRPC-Web through the ingress: the HTTP status, the
/// grpc-status (from the trailer frame, or the headers of a trailers-only
/// answer) and the decoded message if there was one.
async fn grpc_web<Req: Message, Resp: Message + Default>(
    ingress: std::net::SocketAddr,
    path: &str,
    request: &Req,
    headers: &[(&str, &str)],
) -> anyhow::Result<(u16, Option<String>, Option<Resp>)> {
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
    Ok((status, grpc_status, message))
}

/// Refused before reaching a service: HTTP 401 or gRPC UNAUTHENTICATED.
fn refused(status: u16, grpc_status: &Option<String>) -> bool {
    status == 401 || grpc_status.as_deref() == Some("16")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_with_gateway_tokens_reaches_the_tokens_tenant_only() -> anyhow::Result<()> {
    // Spans of two tenants through the real pipeline.
    let mut settings = Settings::new("mesh");
    let pipeline = Pipeline::start(settings.clone()).await?;
    let now = now_nanos();
    let mut client = trace_client(&pipeline.endpoint).await?;
    for (token, service, n) in [
        (TOKEN, "acme-shop", 1u64),
        (OTHER_TOKEN, "globex-ledger", 2),
    ] {
        let span = Span {
            trace_id: trace_id(now, n),
            span_id: span_id(n),
            name: "GET /".into(),
            kind: 2,
            start_time_unix_nano: now - 60_000_000_000,
            end_time_unix_nano: now - 59_000_000_000,
            ..Default::default()
        };
        client
            .export(authed(traces_request(service, vec![span]), token))
            .await?;
    }
    wait_for_count(
        &pipeline.settings.clickhouse(),
        "SELECT count() FROM otel_traces",
        2,
        std::time::Duration::from_secs(60),
    )
    .await?;

    // The query service trusts the tenant header, as it does behind its sidecar.
    settings.auth.tenant_header = Some(TENANT_HEADER.to_owned());
    let query = QueryServer::start(&settings).await?;
    let gateway_config = GatewayConfig {
        redis_url: airis_tests::redis_url(),
        users: vec![
            gateway_user(TENANT, "kim", "pw acme", Role::Viewer),
            gateway_user(OTHER_TENANT, "park", "pw globex", Role::Viewer),
        ],
        ..GatewayConfig::default()
    };
    let gateway = GatewayServer::start(gateway_config.clone()).await?;
    let port = |endpoint: &str| endpoint.rsplit(':').next().unwrap_or_default().to_owned();
    let ingress_port = airis_tests::free_port()?;
    let envoy = Envoy::start(
        "ingress.yaml",
        &[
            ("INGRESS_PORT", ingress_port.to_string()),
            ("ANALYTICS_PORT", port(&query.endpoint)),
            ("GATEWAY_GRPC_PORT", port(&gateway.grpc)),
            ("GATEWAY_HTTP_PORT", gateway.http.port().to_string()),
            ("ISSUER", gateway_config.issuer.clone()),
            ("AUDIENCE", gateway_config.audience.clone()),
        ],
    )
    .await?;
    let ingress: std::net::SocketAddr = ([127, 0, 0, 1], ingress_port).into();

    // Login goes through without a token.
    let login = |tenant: &str, username: &str, password: &str| LoginRequest {
        tenant: tenant.into(),
        username: username.into(),
        password: password.into(),
    };
    let (status, grpc_status, answer) = grpc_web::<_, LoginResponse>(
        ingress,
        "/airis.gateway.v1.AuthService/Login",
        &login(TENANT, "kim", "pw acme"),
        &[],
    )
    .await?;
    assert_eq!((status, grpc_status.as_deref()), (200, Some("0")));
    let acme_token = answer.expect("login answer").access_token;

    let list = ListServicesRequest {
        time_range: Some(TimeRange {
            start_unix_nano: now - 3_600_000_000_000,
            end_unix_nano: now + 60_000_000_000,
        }),
    };
    let path = "/airis.analytics.v1.QueryService/ListServices";
    let bearer = format!("Bearer {acme_token}");

    // The token's tenant, and only it; a tenant header sent by the client
    // is removed before the verified claim is added.
    for extra in [None, Some(OTHER_TENANT)] {
        let mut headers = vec![("authorization", bearer.as_str())];
        if let Some(tenant) = extra {
            headers.push((TENANT_HEADER, tenant));
        }
        let (status, grpc_status, answer) =
            grpc_web::<_, ListServicesResponse>(ingress, path, &list, &headers).await?;
        assert_eq!(
            (status, grpc_status.as_deref()),
            (200, Some("0")),
            "{extra:?}"
        );
        assert_eq!(
            answer.unwrap_or_default().service_names,
            ["acme-shop"],
            "{extra:?}"
        );
    }

    // The other tenant's own token sees only its own data.
    let (_, _, answer) = grpc_web::<_, LoginResponse>(
        ingress,
        "/airis.gateway.v1.AuthService/Login",
        &login(OTHER_TENANT, "park", "pw globex"),
        &[],
    )
    .await?;
    let globex = format!("Bearer {}", answer.expect("login answer").access_token);
    let (_, grpc_status, answer) =
        grpc_web::<_, ListServicesResponse>(ingress, path, &list, &[("authorization", &globex)])
            .await?;
    assert_eq!(grpc_status.as_deref(), Some("0"));
    assert_eq!(answer.unwrap_or_default().service_names, ["globex-ledger"]);

    // Without a token, with a forged signature, a header alone, or a token
    // signed by another gateway's key: stopped at Envoy.
    let mut forged = acme_token.clone();
    forged.replace_range(forged.len() - 6.., "AAAAAA");
    let forged = format!("Bearer {forged}");
    let other_gateway = GatewayServer::start(gateway_config.clone()).await?;
    let mut other_client =
        airis_proto::airis::gateway::v1::auth_service_client::AuthServiceClient::connect(
            other_gateway.grpc.clone(),
        )
        .await?;
    let foreign = other_client
        .login(login(TENANT, "kim", "pw acme"))
        .await?
        .into_inner()
        .access_token;
    let foreign = format!("Bearer {foreign}");
    for headers in [
        vec![],
        vec![("authorization", forged.as_str())],
        vec![(TENANT_HEADER, TENANT)],
        vec![("authorization", foreign.as_str())],
        vec![("authorization", "Bearer dev-token")],
    ] {
        let (status, grpc_status, answer) =
            grpc_web::<_, ListServicesResponse>(ingress, path, &list, &headers).await?;
        assert!(
            refused(status, &grpc_status),
            "{headers:?}: {status} {grpc_status:?}"
        );
        assert!(answer.is_none());
    }

    // A CORS preflight from the UI's origin passes without a token.
    let (status, headers, _) = http_exchange(
        ingress,
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

    drop(envoy);
    other_gateway.stop().await?;
    gateway.stop().await?;
    query.stop().await?;
    pipeline.stop().await
}
