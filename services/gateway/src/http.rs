//! The gateway's HTTP side: the JWKS document for Envoy and Istio, and the
//! UI's static files.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};

/// Where JWKS consumers fetch the key set.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

struct Files {
    jwks: String,
    ui_dir: Option<PathBuf>,
}

pub fn router(jwks: String, ui_dir: Option<PathBuf>) -> Router {
    Router::new()
        .route(JWKS_PATH, get(jwks_document))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(get(ui_file))
        .with_state(Arc::new(Files { jwks, ui_dir }))
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
