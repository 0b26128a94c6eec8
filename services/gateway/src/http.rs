//! The gateway's HTTP side: the JWKS document for Envoy and Istio, the
//! token check Envoy's `ext_authz` asks before every API call (signature,
//! expiry and revocation), and the UI's static files.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::{
    Router,
    extract::{Request, State},
    handler::Handler as _,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, get},
};
use tower::ServiceExt as _;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::{REVOKED, UNAUTHENTICATED};
use crate::{Auth, Error};

/// Where JWKS consumers fetch the key set.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Envoy's `ext_authz` (HTTP service, `path_prefix`) asks
/// `AUTHZ_PREFIX + <original path>`.
pub const AUTHZ_PREFIX: &str = "/authz";

/// HTTP headers the check answers with, carrying the token's `tenant` and
/// `role` claims, for Envoy to set on the request it lets through
/// (`allowed_upstream_headers`); services behind the mesh trust them.
pub const TENANT_CLAIM_HEADER: &str = "x-airis-tenant";
pub const ROLE_CLAIM_HEADER: &str = "x-airis-role";

/// The UI's content-hashed files: a changed file gets a new name, so these
/// are cached for a year; everything else is revalidated on every use.
pub const ASSETS_PREFIX: &str = "/assets/";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// JWKS, the token check and the UI.
pub fn router(auth: Auth, ui_dir: Option<PathBuf>) -> Router {
    let jwks: Arc<str> = Arc::from(auth.keys().jwks());
    let check = Router::new()
        .route(AUTHZ_PREFIX, any(authorize))
        .route(&format!("{AUTHZ_PREFIX}/{{*path}}"), any(authorize))
        .with_state(auth);
    Router::new()
        .route(JWKS_PATH, get(jwks_document))
        .with_state(jwks)
        .merge(check)
        .merge(ui_router(ui_dir))
}

/// The UI's files only (`airis serve ui`), with `/healthz`. Files come
/// precompressed (`.br`, `.gz` next to the file) when the client accepts
/// it; paths without an extension outside [`ASSETS_PREFIX`] are the
/// single-page app's own routes and get `index.html`; `..` is refused.
pub fn ui_router(ui_dir: Option<PathBuf>) -> Router {
    let router = Router::new().route("/healthz", get(|| async { "ok" }));
    let Some(root) = ui_dir else {
        return router;
    };
    let index = ServeFile::new(root.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let files = ServeDir::new(&root)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(app_route.with_state(index));
    router.fallback_service(
        tower::ServiceBuilder::new()
            .layer(middleware::from_fn(ui_headers))
            .service(files),
    )
}

/// The edge's token check. Envoy's jwt_authn has verified signature and
/// expiry already; this adds what only the gateway knows, revocation, so a
/// revoked token stops working at once instead of when it expires. 200
/// lets the request through with the token's tenant and role; 401 is the
/// caller's answer, its body the message Envoy passes on (gRPC callers get
/// it as the status message); 503 when revocation state is unknown (Envoy
/// fails closed).
async fn authorize(State(auth): State<Auth>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(airis_runtime::auth::bearer_token);
    let Some(token) = token else {
        return unauthorized(UNAUTHENTICATED);
    };
    match auth.verify(token).await {
        Ok(claims) => {
            let (Ok(tenant), Ok(role)) = (
                HeaderValue::from_str(&claims.tenant),
                HeaderValue::from_str(&claims.role),
            ) else {
                return unauthorized(UNAUTHENTICATED);
            };
            (
                StatusCode::OK,
                [(TENANT_CLAIM_HEADER, tenant), (ROLE_CLAIM_HEADER, role)],
            )
                .into_response()
        }
        Err(Error::Revoked) => {
            tracing::debug!("revoked token refused at the edge");
            unauthorized(REVOKED)
        }
        Err(Error::Unauthenticated(why)) => {
            tracing::debug!(%why, "token refused at the edge");
            unauthorized(UNAUTHENTICATED)
        }
        Err(error) => {
            // The token may be fine: unknown is not "no" (503, retryable).
            tracing::warn!(%error, "token check failed: refusing");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

fn unauthorized(message: &'static str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
        message,
    )
        .into_response()
}

async fn jwks_document(State(jwks): State<Arc<str>>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            // Verifiers may cache it; a rotated key is published next to
            // the old one before tokens are signed with it.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=300"),
            ),
        ],
        jwks.to_string(),
    )
        .into_response()
}

/// What no file answers: the app's `index.html` for its client-side
/// routes, 404 for anything else (a missing asset, `..`).
async fn app_route(State(index): State<ServeFile>, request: Request) -> Response {
    if !is_app_route(request.uri().path()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match index.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// The file types a UI build serves: a missing path ending in one of them
/// is a missing file (404), not a client-side route.
const FILE_EXTENSIONS: [&str; 17] = [
    "js",
    "mjs",
    "css",
    "map",
    "html",
    "ico",
    "png",
    "svg",
    "webp",
    "jpg",
    "jpeg",
    "json",
    "txt",
    "webmanifest",
    "woff",
    "woff2",
    "wasm",
];

/// Whether `path` (as requested, percent-encoded) names a client-side
/// route: inside the UI directory, not an asset, not a file type the UI
/// has (`/services/com.acme.checkout` is a route: service names have dots).
fn is_app_route(path: &str) -> bool {
    let Ok(decoded) = percent_encoding::percent_decode_str(path).decode_utf8() else {
        return false;
    };
    !decoded.starts_with(ASSETS_PREFIX)
        && safe_relative(&decoded).is_some_and(|relative| {
            relative.extension().is_none_or(|ext| {
                !FILE_EXTENSIONS
                    .iter()
                    .any(|known| ext.eq_ignore_ascii_case(known))
            })
        })
}

/// What the UI's pages may load and do: its own scripts and API only (a
/// script injected into a page cannot send data elsewhere or load more),
/// inline styles (the charts and the map position their parts with them),
/// no framing (clickjacking).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Long caching for what is served from [`ASSETS_PREFIX`], revalidation for
/// the rest (`index.html` names the current assets, so it must be fresh);
/// the UI's security headers on everything.
async fn ui_headers(request: Request, next: Next) -> Response {
    let asset = request.uri().path().starts_with(ASSETS_PREFIX);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let value = if asset { IMMUTABLE } else { REVALIDATE };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    response
}

/// The request path as a relative path with no `..`, root or prefix parts.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in Path::new(path.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    #[test]
    fn paths_never_leave_the_ui_directory() {
        assert_eq!(safe_relative("/"), Some(PathBuf::new()));
        assert_eq!(
            safe_relative("/assets/app.js"),
            Some(PathBuf::from("assets/app.js"))
        );
        assert_eq!(safe_relative("/./a"), Some(PathBuf::from("a")));
        assert_eq!(safe_relative("/../etc/passwd"), None);
        assert_eq!(safe_relative("/assets/../../x"), None);
        assert!(is_app_route("/traces/abc"));
        assert!(is_app_route("/services/com.acme.checkout"));
        assert!(!is_app_route("/missing.js"));
        assert!(!is_app_route("/favicon.ICO"));
        assert!(!is_app_route("/assets/chunk"));
        assert!(!is_app_route("/../etc/passwd"));
        assert!(!is_app_route("/%2e%2e/etc/passwd"));
    }

    /// A built UI: `index.html`, a hashed asset with precompressed copies,
    /// an unhashed file at the root, and a secret next to the directory.
    fn ui_dir() -> PathBuf {
        let base = std::env::temp_dir().join(format!(
            "airis-ui-{}-{}",
            std::process::id(),
            airis_runtime::clock::now_unix_nano()
        ));
        let root = base.join("dist");
        std::fs::create_dir_all(root.join("assets")).unwrap();
        std::fs::write(root.join("index.html"), "<html>app</html>").unwrap();
        std::fs::write(root.join("favicon.svg"), "<svg/>").unwrap();
        std::fs::write(root.join("assets/app-1a2b.js"), "plain js").unwrap();
        std::fs::write(root.join("assets/app-1a2b.js.br"), "br js").unwrap();
        std::fs::write(root.join("assets/app-1a2b.js.gz"), "gz js").unwrap();
        std::fs::write(base.join("secret"), "secret").unwrap();
        root
    }

    struct Answer {
        status: StatusCode,
        headers: HeaderMap,
        body: String,
    }

    async fn get(router: &Router, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).unwrap(),
        }
    }

    fn cache(answer: &Answer) -> Option<&str> {
        answer
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn the_ui_is_served_for_a_single_page_app() {
        let root = ui_dir();
        let router = ui_router(Some(root.clone()));

        // The app shell, at its root and at its client-side routes, always
        // revalidated.
        for path in [
            "/",
            "/index.html",
            "/traces/4bf92f35",
            "/services",
            "/services/com.acme.checkout",
        ] {
            let answer = get(&router, path, &[]).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}");
            assert_eq!(answer.body, "<html>app</html>", "{path}");
            assert_eq!(cache(&answer), Some(REVALIDATE), "{path}");
            assert_eq!(
                answer.headers[header::CONTENT_SECURITY_POLICY],
                CONTENT_SECURITY_POLICY,
                "{path}"
            );
            assert_eq!(answer.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert!(
                answer.headers[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html"),
                "{path}"
            );
        }
        let answer = get(&router, "/favicon.svg", &[]).await;
        assert_eq!(answer.body, "<svg/>");
        assert_eq!(cache(&answer), Some(REVALIDATE));

        // Hashed assets: cached for good, precompressed when accepted.
        let asset = "/assets/app-1a2b.js";
        for (accept, body, encoding) in [
            (None, "plain js", None),
            (Some("gzip"), "gz js", Some("gzip")),
            (Some("gzip, br"), "br js", Some("br")),
        ] {
            let headers: Vec<(&str, &str)> = accept
                .map(|a| vec![("accept-encoding", a)])
                .unwrap_or_default();
            let answer = get(&router, asset, &headers).await;
            assert_eq!(answer.status, StatusCode::OK, "{accept:?}");
            assert_eq!(answer.body, body, "{accept:?}");
            assert_eq!(cache(&answer), Some(IMMUTABLE), "{accept:?}");
            assert_eq!(
                answer
                    .headers
                    .get(header::CONTENT_ENCODING)
                    .map(|v| v.to_str().unwrap()),
                encoding,
                "{accept:?}"
            );
            assert!(
                answer.headers[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("text/javascript"),
                "{accept:?}"
            );
        }
        // Revalidation of the shell works (no body twice).
        let first = get(&router, "/", &[]).await;
        let modified = first.headers[header::LAST_MODIFIED].to_str().unwrap();
        let again = get(&router, "/", &[("if-modified-since", modified)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);

        // Missing files, missing assets and anything outside the directory:
        // 404, never the app and never a long cache.
        for path in [
            "/missing.js",
            "/assets/app-0000.js",
            "/assets/chunk",
            "/../secret",
            "/assets/../../secret",
            "/%2e%2e/secret",
            "/..%2fsecret",
        ] {
            let answer = get(&router, path, &[]).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
            assert_eq!(cache(&answer), None, "{path}");
            assert!(!answer.body.contains("secret"), "{path}");
        }
        assert_eq!(get(&router, "/healthz", &[]).await.body, "ok");

        // No UI configured: nothing but the health check.
        let none = ui_router(None);
        assert_eq!(get(&none, "/", &[]).await.status, StatusCode::NOT_FOUND);
        assert_eq!(get(&none, "/healthz", &[]).await.body, "ok");
        std::fs::remove_dir_all(root.parent().unwrap()).unwrap();
    }
}
