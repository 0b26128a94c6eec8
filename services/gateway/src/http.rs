//! The gateway's HTTP side: the JWKS document for Envoy and Istio, the
//! token check Envoy's `ext_authz` asks before every API call (signature,
//! expiry and revocation), and the UI's static files.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{any, get},
};

use crate::{Auth, Error};

/// Where JWKS consumers fetch the key set.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Envoy's `ext_authz` (HTTP service, `path_prefix`) asks
/// `AUTHZ_PREFIX + <original path>`.
pub const AUTHZ_PREFIX: &str = "/authz";

/// Headers the check answers with, for Envoy to set on the request it lets
/// through (`allowed_upstream_headers`).
pub const TENANT_HEADER: &str = "x-airis-tenant";
pub const ROLE_HEADER: &str = "x-airis-role";

struct Files {
    jwks: String,
    ui_dir: Option<PathBuf>,
}

/// JWKS, the token check and the UI.
pub fn router(auth: Auth, ui_dir: Option<PathBuf>) -> Router {
    let files = Arc::new(Files {
        jwks: auth.keys().jwks(),
        ui_dir: ui_dir.clone(),
    });
    let check = Router::new()
        .route(AUTHZ_PREFIX, any(authorize))
        .route(&format!("{AUTHZ_PREFIX}/{{*path}}"), any(authorize))
        .with_state(auth);
    Router::new()
        .route(JWKS_PATH, get(jwks_document))
        .with_state(files)
        .merge(check)
        .merge(ui_router(ui_dir))
}

/// The UI's files only (`airis serve ui`), with `/healthz`.
pub fn ui_router(ui_dir: Option<PathBuf>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .fallback(get(ui_file))
        .with_state(Arc::new(Files {
            jwks: String::new(),
            ui_dir,
        }))
}

/// The edge's token check. Envoy's jwt_authn has verified signature and
/// expiry already; this adds what only the gateway knows, revocation, so a
/// revoked token stops working at once instead of when it expires. 200
/// lets the request through with the token's tenant and role; 401 is the
/// caller's answer; 503 when revocation state is unknown (Envoy fails
/// closed).
async fn authorize(State(auth): State<Auth>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(airis_runtime::tenant::bearer_token);
    let Some(token) = token else {
        return unauthorized();
    };
    match auth.verify(token).await {
        Ok(claims) => {
            let (Ok(tenant), Ok(role)) = (
                HeaderValue::from_str(&claims.tenant),
                HeaderValue::from_str(&claims.role),
            ) else {
                return unauthorized();
            };
            (
                StatusCode::OK,
                [(TENANT_HEADER, tenant), (ROLE_HEADER, role)],
            )
                .into_response()
        }
        Err(Error::Unauthenticated(why)) => {
            tracing::debug!(%why, "token refused at the edge");
            unauthorized()
        }
        Err(error) => {
            // The token may be fine: unknown is not "no" (503, retryable).
            tracing::warn!(%error, "token check failed: refusing");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
    )
        .into_response()
}

async fn jwks_document(State(files): State<Arc<Files>>) -> Response {
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
        files.jwks.clone(),
    )
        .into_response()
}

/// A file below the UI directory; `index.html` for paths without an
/// extension (client-side routes of the single-page app).
async fn ui_file(State(files): State<Arc<Files>>, uri: Uri) -> Response {
    let Some(root) = &files.ui_dir else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(relative) = safe_relative(uri.path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut path = root.join(&relative);
    if relative.as_os_str().is_empty() || relative.extension().is_none() {
        path = root.join("index.html");
    }
    match tokio::fs::read(&path).await {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(&path)),
            )],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
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

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            content_type(Path::new("a/index.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("x")), "application/octet-stream");
    }
}
