//! The page: plain HTML, CSS and JavaScript compiled into the binary (no build step,
//! nothing fetched from elsewhere).

use axum::extract::Path;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::session_of;
use super::Shared;

const INDEX: &str = include_str!("../../assets/index.html");
const LOGIN: &str = include_str!("../../assets/login.html");
const APP_JS: &str = include_str!("../../assets/app.js");
const STYLE: &str = include_str!("../../assets/style.css");

/// The application page, for a logged-in browser; others go to the login page.
pub async fn index(axum::extract::State(state): axum::extract::State<Shared>, headers: HeaderMap) -> Response {
    match session_of(&state, &headers) {
        Some(_) => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

pub async fn login_page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], LOGIN).into_response()
}

pub async fn file(Path(file): Path<String>) -> Response {
    let (body, mime) = match file.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "style.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}
