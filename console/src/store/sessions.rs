//! Login sessions. The browser holds a random token in an HttpOnly cookie; the
//! database holds only its SHA-256, the account, and the session's CSRF token.

use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use super::{Store, StoreError};
use crate::users::Role;

#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub role: Role,
    pub csrf_token: String,
    pub expires_ms: i64,
    /// The fingerprint of the password it was opened with (`Users::credential_of`).
    pub credential: String,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut bytes);
    hex::encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Store {
    /// A new session; returns the cookie's token (shown once, stored hashed).
    pub fn create_session(
        &self,
        user: &str,
        role: Role,
        credential: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<(String, Session), StoreError> {
        let token = random_token();
        let session = Session {
            user: user.into(),
            role,
            csrf_token: random_token(),
            expires_ms: now_ms + ttl_ms,
            credential: credential.into(),
        };
        let conn = self.writer();
        conn.execute("DELETE FROM sessions WHERE expires_ms <= ?", [now_ms])?;
        conn.execute(
            "INSERT INTO sessions (token_sha256, user, role, csrf_token, created_ms, expires_ms, credential) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![token_hash(&token), user, role.name(), session.csrf_token, now_ms, session.expires_ms, credential],
        )?;
        Ok((token, session))
    }

    /// The live session of a cookie token, if any.
    pub fn session(&self, token: &str, now_ms: i64) -> Result<Option<Session>, StoreError> {
        let conn = self.reader();
        let found = conn
            .prepare_cached(
                "SELECT user, role, csrf_token, expires_ms, credential FROM sessions \
                 WHERE token_sha256 = ? AND expires_ms > ?",
            )
            .and_then(|mut s| {
                s.query_row(params![token_hash(token), now_ms], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })
                .optional()
            })?;
        Ok(found.and_then(|(user, role, csrf_token, expires_ms, credential)| {
            Role::parse(&role).map(|role| Session { user, role, csrf_token, expires_ms, credential })
        }))
    }

    pub fn end_session(&self, token: &str) -> Result<(), StoreError> {
        let conn = self.writer();
        conn.execute("DELETE FROM sessions WHERE token_sha256 = ?", [token_hash(token)])?;
        Ok(())
    }
}
