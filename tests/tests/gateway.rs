//! The gateway service end to end, with real Redis: logins, browser
//! sessions (refresh and sign-out), roles, ingest tokens, listing and
//! revocation over gRPC, and the JWKS document over HTTP verifying the
//! tokens it signed.

use std::time::Duration;

use airis_gateway::{GatewayConfig, Role};
use airis_proto::airis::gateway::v1::{
    ListTokensRequest, LoginRequest, LogoutRequest, MintIngestTokenRequest, RefreshRequest,
    RevokeTokenRequest, Role as ProtoRole, TokenKind, auth_service_client::AuthServiceClient,
};
use airis_proto::tonic::{Code, Request, transport::Channel};
use airis_tests::{GatewayServer, gateway_user, http_exchange};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use tokio::net::TcpListener;

async fn start(config: GatewayConfig) -> anyhow::Result<GatewayServer> {
    GatewayServer::start(config).await
}

fn config() -> GatewayConfig {
    GatewayConfig {
        redis_url: airis_tests::redis_url(),
        users: vec![
            gateway_user("acme", "kim", "correct horse 말", Role::Admin),
            gateway_user("acme", "lee", "viewer pw", Role::Viewer),
            gateway_user("globex", "park", "globex pw", Role::Admin),
        ],
        otlp_endpoint: Some(OTLP_ENDPOINT.to_owned()),
        ..GatewayConfig::default()
    }
}

const OTLP_ENDPOINT: &str = "https://otlp.acme.example:4317";

fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    request
}

async fn login(
    client: &mut AuthServiceClient<Channel>,
    tenant: &str,
    username: &str,
    password: &str,
) -> Result<airis_proto::airis::gateway::v1::LoginResponse, airis_proto::tonic::Status> {
    client
        .login(LoginRequest {
            tenant: tenant.into(),
            username: username.into(),
            password: password.into(),
            start_session: false,
        })
        .await
        .map(|r| r.into_inner())
}

/// `GET path` over HTTP/1.1; the status code and body.
async fn http_get(addr: std::net::SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let (status, _, body) = http_exchange(addr, "GET", path, &[], &[]).await?;
    Ok((status, String::from_utf8(body)?))
}

/// Verifies `token`'s signature with the key the JWKS document names.
fn verify_with_jwks(jwks: &serde_json::Value, token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    let header: serde_json::Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    let Some(key) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
    else {
        return false;
    };
    let x: [u8; 32] = B64
        .decode(key["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let signature = Signature::from_slice(&B64.decode(parts[2]).unwrap()).unwrap();
    VerifyingKey::from_bytes(&x)
        .unwrap()
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_tokens_roles_and_revocation() -> anyhow::Result<()> {
    let gateway = start(config()).await?;
    let mut client = AuthServiceClient::connect(gateway.grpc.clone()).await?;

    // Login: the right password gives a token with the user's role.
    let admin = login(&mut client, "acme", "kim", "correct horse 말").await?;
    assert_eq!(admin.role, ProtoRole::Admin as i32);
    let info = admin.token.clone().unwrap();
    assert_eq!(info.kind, TokenKind::Access as i32);
    assert_eq!(info.subject, "kim");
    assert_eq!(info.expires_at_unix - info.issued_at_unix, 900);
    let claims: serde_json::Value =
        serde_json::from_slice(&B64.decode(admin.access_token.split('.').nth(1).unwrap())?)?;
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["role"], "admin");
    assert_eq!(claims["jti"], info.token_id.as_str());

    // Wrong password, unknown user, another tenant's user: one answer.
    for (tenant, username, password) in [
        ("acme", "kim", "wrong"),
        ("acme", "nobody", "correct horse 말"),
        ("globex", "kim", "correct horse 말"),
        ("acme'; --", "kim", "x"),
    ] {
        let status = login(&mut client, tenant, username, password)
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{tenant}/{username}");
        assert_eq!(status.message(), "invalid or missing credentials");
    }
    let status = login(&mut client, "acme", "", "x").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("username"), "{status:?}");

    // The JWKS over HTTP verifies what the gateway signed.
    let (status, body) = http_get(gateway.http, airis_gateway::http::JWKS_PATH).await?;
    assert_eq!(status, 200);
    let jwks: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
    assert!(verify_with_jwks(&jwks, &admin.access_token));
    let mut tampered = admin.access_token.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    assert!(!verify_with_jwks(&jwks, &tampered));
    let (status, _) = http_get(gateway.http, "/../../etc/passwd").await?;
    assert_eq!(status, 404);

    // A viewer may not mint; an admin may, for its own tenant only.
    let viewer = login(&mut client, "acme", "lee", "viewer pw").await?;
    let status = client
        .mint_ingest_token(bearer(
            MintIngestTokenRequest::default(),
            &viewer.access_token,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(status.message().contains("admin"), "{status:?}");
    let minted = client
        .mint_ingest_token(bearer(
            MintIngestTokenRequest {
                description: "checkout exporters, 운영".into(),
                ttl_days: 30,
            },
            &admin.access_token,
        ))
        .await?
        .into_inner();
    let minted_info = minted.info.clone().unwrap();
    assert_eq!(minted_info.kind, TokenKind::Ingest as i32);
    assert_eq!(
        minted_info.expires_at_unix - minted_info.issued_at_unix,
        30 * 86_400
    );
    assert!(verify_with_jwks(&jwks, &minted.token));
    // Where to send with it, as configured: the UI's exporter snippet.
    assert_eq!(minted.otlp_endpoint, OTLP_ENDPOINT);
    // An ingest token cannot manage tokens.
    let status = client
        .list_tokens(bearer(ListTokensRequest {}, &minted.token))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // Limits name the field.
    let status = client
        .mint_ingest_token(bearer(
            MintIngestTokenRequest {
                description: String::new(),
                ttl_days: 10_000,
            },
            &admin.access_token,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("ttl_days"), "{status:?}");

    // Listing: the tenant's tokens only, newest first, no secrets.
    let listed = client
        .list_tokens(bearer(ListTokensRequest {}, &admin.access_token))
        .await?
        .into_inner()
        .tokens;
    let ids: Vec<&str> = listed.iter().map(|t| t.token_id.as_str()).collect();
    assert!(ids.contains(&minted_info.token_id.as_str()));
    assert!(ids.contains(&info.token_id.as_str()));
    assert!(ids.contains(&viewer.token.as_ref().unwrap().token_id.as_str()));
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].issued_at_unix >= w[1].issued_at_unix)
    );
    let other_admin = login(&mut client, "globex", "park", "globex pw").await?;
    let theirs = client
        .list_tokens(bearer(ListTokensRequest {}, &other_admin.access_token))
        .await?
        .into_inner()
        .tokens;
    assert!(theirs.iter().all(|t| !ids.contains(&t.token_id.as_str())));

    // Another tenant cannot revoke acme's token; acme's admin can.
    let status = client
        .revoke_token(bearer(
            RevokeTokenRequest {
                token_id: viewer.token.as_ref().unwrap().token_id.clone(),
            },
            &other_admin.access_token,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let revoked = client
        .revoke_token(bearer(
            RevokeTokenRequest {
                token_id: viewer.token.as_ref().unwrap().token_id.clone(),
            },
            &admin.access_token,
        ))
        .await?
        .into_inner();
    assert!(revoked.token.unwrap().revoked);
    // Honoured at once: the revoked viewer token is refused, and told why.
    let status = client
        .list_tokens(bearer(ListTokensRequest {}, &viewer.access_token))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "token revoked");
    // So does the edge's check, in the body Envoy hands on to the caller.
    let authz = async |token: &str| {
        http_exchange(
            gateway.http,
            "GET",
            "/authz/airis.analytics.v1.QueryService/ListServices",
            &[("authorization", &format!("Bearer {token}"))],
            &[],
        )
        .await
    };
    let (status, _, body) = authz(&viewer.access_token).await?;
    assert_eq!(
        (status, body.as_slice()),
        (401, b"token revoked".as_slice())
    );
    let (status, headers, _) = authz(&admin.access_token).await?;
    assert_eq!(status, 200);
    for (name, value) in [
        (airis_gateway::http::TENANT_CLAIM_HEADER, "acme"),
        (airis_gateway::http::ROLE_CLAIM_HEADER, "admin"),
    ] {
        assert!(
            headers.iter().any(|(k, v)| k == name && v == value),
            "{name}: {headers:?}"
        );
    }
    let (status, _, body) = authz("a.b.c").await?;
    assert_eq!(
        (status, body.as_slice()),
        (401, b"invalid or missing credentials".as_slice())
    );
    // Listed as revoked.
    let listed = client
        .list_tokens(bearer(ListTokensRequest {}, &admin.access_token))
        .await?
        .into_inner()
        .tokens;
    let entry = listed
        .iter()
        .find(|t| t.token_id == viewer.token.as_ref().unwrap().token_id)
        .unwrap();
    assert!(entry.revoked);

    // No token, garbage, another key's token.
    let status = client.list_tokens(ListTokensRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .list_tokens(bearer(ListTokensRequest {}, "a.b.c"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let elsewhere = start(config()).await?;
    let mut elsewhere_client = AuthServiceClient::connect(elsewhere.grpc.clone()).await?;
    let foreign = login(&mut elsewhere_client, "acme", "kim", "correct horse 말").await?;
    let status = client
        .list_tokens(bearer(ListTokensRequest {}, &foreign.access_token))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::Unauthenticated,
        "signed by another key"
    );

    gateway.stop().await?;
    elsewhere.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_unavailable_not_a_crash() -> anyhow::Result<()> {
    // Nothing listens on this port.
    let unused = TcpListener::bind("127.0.0.1:0").await?;
    let port = unused.local_addr()?.port();
    drop(unused);
    let gateway = start(GatewayConfig {
        redis_url: format!("redis://127.0.0.1:{port}"),
        redis_timeout_ms: 300,
        ..config()
    })
    .await?;
    let mut client = AuthServiceClient::connect(gateway.grpc.clone()).await?;
    let status = login(&mut client, "acme", "kim", "correct horse 말")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // Still serving.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let status = login(&mut client, "acme", "kim", "wrong")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    gateway.stop().await
}

/// The session cookie's secret from a response's `set-cookie`, and the
/// whole header.
fn session_cookie<T>(response: &airis_proto::tonic::Response<T>) -> (String, String) {
    let header = response
        .metadata()
        .get("set-cookie")
        .expect("a set-cookie header")
        .to_str()
        .expect("ascii")
        .to_owned();
    let secret = header
        .split(';')
        .next()
        .and_then(|pair| pair.strip_prefix("airis_session="))
        .expect("the session cookie first")
        .to_owned();
    (secret, header)
}

/// `message` carrying the session cookie `secret` among others, as a
/// browser sends it.
fn with_session<T>(message: T, secret: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "cookie",
        format!("theme=dark; airis_session={secret}; lang=ko")
            .parse()
            .expect("ascii cookie"),
    );
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sessions_refresh_and_sign_out() -> anyhow::Result<()> {
    let gateway = start(config()).await?;
    let mut client = AuthServiceClient::connect(gateway.grpc.clone()).await?;
    let signin = || LoginRequest {
        tenant: "acme".into(),
        username: "kim".into(),
        password: "correct horse 말".into(),
        start_session: true,
    };
    // Without start_session (API clients): a token, no session.
    let plain = client
        .login(LoginRequest {
            start_session: false,
            ..signin()
        })
        .await?;
    assert!(plain.metadata().get("set-cookie").is_none());

    // Login starts a session: an HttpOnly, SameSite=Strict cookie for the
    // auth service's path only, Secure when the edge saw HTTPS.
    let response = client.login(signin()).await?;
    let login_token = response.get_ref().access_token.clone();
    let (secret, header) = session_cookie(&response);
    assert_eq!(secret.len(), 64, "{header}");
    for attribute in [
        "Path=/airis.gateway.v1.AuthService/",
        "HttpOnly",
        "SameSite=Strict",
        "Max-Age=43200",
    ] {
        assert!(header.contains(attribute), "{attribute} in {header}");
    }
    assert!(!header.contains("Secure"), "{header}");
    let mut over_https = Request::new(signin());
    over_https
        .metadata_mut()
        .insert("x-forwarded-proto", "https".parse()?);
    let (other_secret, header) = session_cookie(&client.login(over_https).await?);
    assert!(header.ends_with("; Secure"), "{header}");
    assert_ne!(other_secret, secret);

    // Refresh: the cookie alone gives a working access token, the user's
    // role, tenant and name.
    let refreshed = client
        .refresh(with_session(RefreshRequest {}, &secret))
        .await?
        .into_inner();
    assert_eq!(refreshed.role, ProtoRole::Admin as i32);
    assert_eq!(
        (refreshed.tenant.as_str(), refreshed.username.as_str()),
        ("acme", "kim")
    );
    assert_eq!(
        refreshed.token.as_ref().unwrap().kind,
        TokenKind::Access as i32
    );
    let listed = client
        .list_tokens(bearer(ListTokensRequest {}, &refreshed.access_token))
        .await?
        .into_inner()
        .tokens;
    // The session is listed (and revocable) by an id that is not its secret.
    let ids = [
        airis_gateway::session::id(&secret),
        airis_gateway::session::id(&other_secret),
    ];
    let sessions: Vec<_> = listed
        .iter()
        .filter(|t| t.kind == TokenKind::Session as i32 && ids.contains(&t.token_id))
        .collect();
    assert_eq!(sessions.len(), 2, "{listed:?}");
    assert!(
        sessions
            .iter()
            .all(|t| t.subject == "kim" && !secret.contains(&t.token_id))
    );

    // No cookie, or one the gateway never made: UNAUTHENTICATED.
    let status = client.refresh(RefreshRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .refresh(with_session(RefreshRequest {}, &"ab".repeat(32)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    // A session is no bearer token.
    let status = client
        .list_tokens(bearer(ListTokensRequest {}, &secret))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // Logout ends the session, revokes every access token it was given
    // (Login's and Refresh's alike; no access token needed) and clears the
    // cookie. Other sessions' tokens stay.
    let (third_secret, _) = session_cookie(&client.login(signin()).await?);
    let response = client
        .logout(with_session(LogoutRequest {}, &secret))
        .await?;
    let (cleared, header) = session_cookie(&response);
    assert_eq!(cleared, "");
    assert!(header.contains("Max-Age=0"), "{header}");
    let status = client
        .refresh(with_session(RefreshRequest {}, &secret))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .list_tokens(bearer(ListTokensRequest {}, &refreshed.access_token))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "token revoked");
    let status = client
        .list_tokens(bearer(ListTokensRequest {}, &login_token))
        .await
        .unwrap_err();
    assert_eq!(
        status.message(),
        "token revoked",
        "Login's token of the session"
    );
    let third = client
        .refresh(with_session(RefreshRequest {}, &third_secret))
        .await?
        .into_inner();
    client
        .list_tokens(bearer(ListTokensRequest {}, &third.access_token))
        .await?;
    // Signing out twice, or with nothing, succeeds.
    client
        .logout(with_session(LogoutRequest {}, &secret))
        .await?;
    client.logout(LogoutRequest {}).await?;

    // An admin revoking a session (from the list) signs that browser out.
    let admin = login(&mut client, "acme", "kim", "correct horse 말").await?;
    let session_id = airis_gateway::session::id(&other_secret);
    let listed = client
        .list_tokens(bearer(ListTokensRequest {}, &admin.access_token))
        .await?
        .into_inner()
        .tokens;
    assert!(
        listed
            .iter()
            .any(|t| t.token_id == session_id && t.kind == TokenKind::Session as i32),
        "{listed:?}"
    );
    let theirs = client
        .refresh(with_session(RefreshRequest {}, &other_secret))
        .await?
        .into_inner();
    client
        .revoke_token(bearer(
            RevokeTokenRequest {
                token_id: session_id,
            },
            &admin.access_token,
        ))
        .await?;
    let status = client
        .list_tokens(bearer(ListTokensRequest {}, &theirs.access_token))
        .await
        .unwrap_err();
    assert_eq!(
        status.message(),
        "token revoked",
        "a revoked session's token"
    );
    let status = client
        .refresh(with_session(RefreshRequest {}, &other_secret))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // A user no longer configured is signed out at the next refresh; a
    // changed role applies to the next token.
    let (secret, _) = session_cookie(&client.login(signin()).await?);
    let (viewer_secret, _) = session_cookie(
        &client
            .login(LoginRequest {
                tenant: "acme".into(),
                username: "lee".into(),
                password: "viewer pw".into(),
                start_session: true,
            })
            .await?,
    );
    let mut changed = config();
    changed.users = vec![gateway_user("acme", "lee", "viewer pw", Role::Editor)];
    let elsewhere = start(changed).await?;
    let mut other = AuthServiceClient::connect(elsewhere.grpc.clone()).await?;
    let status = other
        .refresh(with_session(RefreshRequest {}, &secret))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let promoted = other
        .refresh(with_session(RefreshRequest {}, &viewer_secret))
        .await?
        .into_inner();
    assert_eq!(promoted.role, ProtoRole::Editor as i32);

    elsewhere.stop().await?;
    gateway.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_refreshes_nothing() -> anyhow::Result<()> {
    let gateway = start(GatewayConfig {
        // Whole seconds: long enough that a loaded machine's Argon2 check
        // between sign-in and refresh never outlasts it.
        session_ttl_secs: 4,
        ..config()
    })
    .await?;
    let mut client = AuthServiceClient::connect(gateway.grpc.clone()).await?;
    let (secret, header) = session_cookie(
        &client
            .login(LoginRequest {
                tenant: "acme".into(),
                username: "lee".into(),
                password: "viewer pw".into(),
                start_session: true,
            })
            .await?,
    );
    assert!(header.contains("Max-Age=4;"), "{header}");
    let refreshed = client
        .refresh(with_session(RefreshRequest {}, &secret))
        .await?
        .into_inner();
    // No token of a session outlives it.
    let info = refreshed.token.expect("token info");
    assert!(info.expires_at_unix - info.issued_at_unix <= 4, "{info:?}");
    tokio::time::sleep(Duration::from_millis(5100)).await;
    let status = client
        .refresh(with_session(RefreshRequest {}, &secret))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    gateway.stop().await
}
