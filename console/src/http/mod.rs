//! The console's HTTP server: routes, shared state, and the headers every response
//! carries (a strict content security policy, no caching of evidence or data).

mod api;
mod assets;
mod auth;
mod evidence;
mod login_guard;
mod stream;
mod unsent;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::health::CameraHealthSource;
use crate::{Console, ConsoleError, ReviewPublisher};

pub(crate) struct AppState {
    pub console: Arc<Console>,
    pub cameras: Arc<dyn CameraHealthSource>,
    pub reviews: Arc<dyn ReviewPublisher>,
    pub shutdown: CancellationToken,
    /// Rate limits, lockouts and the bound on concurrent password hashes of `/login`.
    pub login_guard: login_guard::LoginGuard,
}

type Shared = Arc<AppState>;

/// An error as the API answers it: a status and `{"error": "..."}`.
#[derive(Debug)]
pub(crate) struct ApiError(pub StatusCode, pub String);

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self(status, message.into())
    }

    /// Logs `error` with its causes; the browser is told only that it happened.
    pub fn internal(error: impl Into<crate::error::BoxError>) -> Self {
        let error: crate::error::BoxError = error.into();
        tracing::error!("console: {}", crate::error::chain(&*error));
        Self(StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the streetwatch log".into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

const CSP: &str = "default-src 'self'; img-src 'self'; media-src 'self'; style-src 'self'; script-src 'self'; \
     connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Not `no-referrer`: with it, browsers send `Origin: null` on form posts, and the
    // login's same-origin check needs the real origin.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn routes(state: Shared) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route(
            "/login",
            get(assets::login_page)
                .post(auth::login)
                .layer(axum::extract::DefaultBodyLimit::max(login_guard::MAX_FORM_BYTES)),
        )
        .route("/logout", post(auth::logout))
        .route("/static/{file}", get(assets::file))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/api/me", get(api::me))
        .route("/api/incidents", get(api::incidents))
        .route("/api/incidents/{id}", get(api::incident))
        .route("/api/incidents/{id}/review", post(api::review))
        .route("/api/filters", get(api::filters))
        .route("/api/cameras", get(api::cameras))
        .route("/api/audit", get(api::audit))
        .route("/api/feed", get(stream::feed))
        .route("/evidence/incidents/{id}/snapshot.jpg", get(evidence::snapshot))
        .route("/evidence/incidents/{id}/clip.mp4", get(evidence::clip))
        .route("/evidence/cameras/{id}/thumbnail.jpg", get(evidence::thumbnail))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

pub(crate) async fn serve(
    console: Arc<Console>,
    cameras: Arc<dyn CameraHealthSource>,
    reviews: Arc<dyn ReviewPublisher>,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, JoinHandle<()>), ConsoleError> {
    let address = console.settings.listen;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ConsoleError::Listen { address: address.to_string(), source })?;
    let bound =
        listener.local_addr().map_err(|source| ConsoleError::Listen { address: address.to_string(), source })?;
    if !bound.ip().is_loopback() {
        tracing::warn!(address = %bound, secure_cookies = console.settings.secure_cookies, "the console listens beyond this machine (console.listen): put TLS in front of it (its session cookie is Secure unless console.secure_cookies = false)");
    }
    unsent::spawn(Arc::clone(&console), Arc::clone(&reviews), shutdown.clone());
    let state = Arc::new(AppState {
        console,
        cameras,
        reviews,
        shutdown: shutdown.clone(),
        login_guard: login_guard::LoginGuard::default(),
    });
    let app = routes(state).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await;
        if let Err(e) = served {
            tracing::error!("console server: {e}");
        }
    });
    Ok((bound, task))
}
