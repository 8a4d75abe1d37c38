//! Login, logout, and who is asking: the session cookie (HttpOnly, SameSite=Strict,
//! Secure when configured), roles, and CSRF tokens on every state-changing request.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::login_guard::{Refusal, MAX_NAME_CHARS};
use super::{ApiError, Shared};
use crate::store::{now_ms, AuditEntry, IncidentRow, Session};
use crate::users::{District, Role};

pub const COOKIE: &str = "sw_session";
/// The name of a `Secure` session cookie: the `__Host-` prefix makes browsers refuse
/// it unless it is Secure, host-only and for `/`, so neither a sibling domain nor a
/// plain-HTTP page can plant or shadow it.
pub const SECURE_COOKIE: &str = "__Host-sw_session";

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

fn cookie_token(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The session of the request's cookie, if live (and its account still exists).
pub fn session_of(state: &Shared, headers: &HeaderMap) -> Option<(String, Session)> {
    let token = cookie_token(headers, cookie_name(state.console.settings.secure_cookies))?;
    let session = match state.console.store.session(&token, now_ms()) {
        Ok(s) => s?,
        Err(e) => {
            tracing::error!("console: session lookup: {}", crate::error::chain(&e));
            return None;
        }
    };
    // An account removed from the users file, or given another role or password
    // (and the process restarted), is out.
    let users = &state.console.users;
    let same_password = users.credential_of(&session.user).is_some_and(|c| c == session.credential);
    (users.role_of(&session.user) == Some(session.role) && same_password).then_some((token, session))
}

/// A logged-in request.
pub struct Authed {
    pub session: Session,
    /// What the account may see (its district in the users file).
    pub district: District,
    /// The cookie's token (to look the session up again: the live feed does).
    pub token: String,
    pub remote: String,
}

impl Authed {
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.session.role >= role {
            Ok(())
        } else {
            Err(ApiError::new(StatusCode::FORBIDDEN, format!("this needs the {} role", role.name())))
        }
    }

    /// A state-changing request must echo the session's CSRF token in `X-CSRF-Token`
    /// (another site's page cannot read it, so cannot forge the request).
    pub fn check_csrf(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
        if constant_time_eq(sent.as_bytes(), self.session.csrf_token.as_bytes()) {
            Ok(())
        } else {
            Err(ApiError::new(StatusCode::FORBIDDEN, "missing or wrong CSRF token; reload the page"))
        }
    }

    /// Whether the account's district covers this incident. Outside it, an incident
    /// is answered as if it did not exist (404), so its existence does not leak.
    pub fn sees(&self, row: &IncidentRow) -> bool {
        self.district.allows(&row.site, &row.grid)
    }

    /// The incident when it exists and the account may see it.
    pub fn visible_incident(&self, state: &Shared, id: &str) -> Result<IncidentRow, ApiError> {
        match state.console.store.incident(id).map_err(ApiError::internal)? {
            Some(row) if self.sees(&row) => Ok(row),
            _ => Err(ApiError::new(StatusCode::NOT_FOUND, format!("no incident `{id}`"))),
        }
    }

    /// Whether the account's district covers this camera.
    pub fn sees_camera(&self, camera: &crate::health::CameraHealth) -> bool {
        self.district.allows(&camera.site, &camera.grid)
    }

    pub fn audit(&self, action: &str, target: &str, detail: &str) -> AuditEntry {
        AuditEntry {
            user: self.session.user.clone(),
            role: self.session.role.name().into(),
            action: action.into(),
            target: target.into(),
            detail: detail.into(),
            remote: self.remote.clone(),
            outcome: "ok".into(),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn remote_of(parts: &Parts) -> String {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.to_string()).unwrap_or_default()
}

impl FromRequestParts<Shared> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Self::Rejection> {
        match session_of(state, &parts.headers) {
            Some((token, session)) => {
                let district = state.console.users.district_of(&session.user);
                Ok(Authed { session, district, token, remote: remote_of(parts) })
            }
            None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "log in first")),
        }
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

fn session_cookie(state: &Shared, token: &str, max_age_secs: u64) -> HeaderValue {
    let secure_cookies = state.console.settings.secure_cookies;
    let secure = if secure_cookies { "; Secure" } else { "" };
    let name = cookie_name(secure_cookies);
    let value = format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A cross-site form posting to /login is refused (login CSRF): when the browser
/// says where the form came from, it must be this console.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    origin.split_once("://").map(|(_, h)| h) == Some(host)
}

pub async fn login(
    State(state): State<Shared>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-site login refused").into_response();
    }
    let name = form.username.trim().to_string();
    let audit = |outcome: &str, role: &str| {
        // A refused name can be anything: at most its first characters are kept.
        let mut user: String = name.chars().take(MAX_NAME_CHARS).collect();
        if user.len() < name.len() {
            user.push('…');
        }
        let entry = AuditEntry {
            user,
            role: role.into(),
            action: "login".into(),
            remote: remote.to_string(),
            outcome: outcome.into(),
            ..AuditEntry::default()
        };
        if let Err(e) = state.console.store.audit(&entry, now_ms()) {
            tracing::error!("console: audit log: {}", crate::error::chain(&e));
        }
    };
    let refused = |outcome: &'static str| {
        metrics::counter!("streetwatch_console_logins_total", "outcome" => outcome).increment(1);
    };
    let guard = &state.login_guard;
    match guard.admit(&name, &form.password, remote.ip()) {
        Ok(()) => {}
        Err(Refusal::TooLong) => {
            audit("too_long", "");
            refused("too_long");
            return (StatusCode::BAD_REQUEST, "user name or password too long").into_response();
        }
        Err(Refusal::RateLimited(wait)) => {
            // Counted, not audited: a flood must not fill the audit log either.
            refused("rate_limited");
            let secs = wait.as_secs().max(1);
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, secs.to_string())],
                format!("too many login attempts; try again in {secs} s\n"),
            )
                .into_response();
        }
        Err(Refusal::LockedOut(wait)) => {
            audit("throttled", "");
            refused("throttled");
            return Redirect::to(&format!("/login?throttled={}", wait.as_secs().max(1))).into_response();
        }
        Err(Refusal::Busy) => {
            refused("busy");
            return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], "busy; try again\n")
                .into_response();
        }
    }
    let console = std::sync::Arc::clone(&state.console);
    let (user, password) = (name.clone(), form.password);
    // argon2id takes tens of milliseconds of CPU on purpose: off the async workers,
    // on the guard's hashing threads, no more at once than they are.
    let verified = match guard.hash(move || console.users.verify(&user, &password)).await {
        Ok(v) => v,
        Err(_) => {
            refused("busy");
            return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], "busy; try again\n")
                .into_response();
        }
    };
    let Some(role) = verified else {
        guard.failed(&name, remote.ip());
        audit("refused", "");
        refused("refused");
        return Redirect::to("/login?failed=1").into_response();
    };
    let ttl = state.console.settings.session_ttl;
    let credential = state.console.users.credential_of(&name).unwrap_or_default();
    let created = state.console.store.create_session(&name, role, &credential, now_ms(), ttl.as_millis() as i64);
    let (token, _) = match created {
        Ok(t) => t,
        Err(e) => return ApiError::internal(format!("cannot create a session: {e}")).into_response(),
    };
    state.login_guard.succeeded(&name, remote.ip());
    audit("ok", role.name());
    metrics::counter!("streetwatch_console_logins_total", "outcome" => "ok").increment(1);
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &token, ttl.as_secs()));
    response
}

pub async fn logout(State(state): State<Shared>, headers: HeaderMap, authed: Authed) -> Response {
    if let Err(e) = authed.check_csrf(&headers) {
        return e.into_response();
    }
    if let Some(token) = cookie_token(&headers, cookie_name(state.console.settings.secure_cookies)) {
        if let Err(e) = state.console.store.end_session(&token) {
            return ApiError::internal(e).into_response();
        }
    }
    if let Err(e) = state.console.store.audit(&authed.audit("logout", "", ""), now_ms()) {
        tracing::error!("console: audit log: {}", crate::error::chain(&e));
    }
    let mut response = (StatusCode::OK, axum::Json(serde_json::json!({"ok": true}))).into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others_and_malformed_ones_are_ignored() {
        let token = "ab".repeat(32);
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("theme=dark; {COOKIE}={token}; x=1")).unwrap());
        assert_eq!(cookie_token(&h, COOKIE).as_deref(), Some(token.as_str()));
        assert_eq!(cookie_token(&h, SECURE_COOKIE), None, "a plain cookie does not stand in for the __Host- one");
        h.insert(header::COOKIE, HeaderValue::from_str(&format!("{SECURE_COOKIE}={token}")).unwrap());
        assert_eq!(cookie_token(&h, SECURE_COOKIE).as_deref(), Some(token.as_str()));
        h.insert(header::COOKIE, HeaderValue::from_static("sw_session=../../etc/passwd"));
        assert_eq!(cookie_token(&h, COOKIE), None);
    }

    #[test]
    fn cross_site_origins_are_told_apart() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&h), "no Origin header (same-site navigation by older browsers)");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"", b"a"));
    }
}
