//! [`SessionOwners`]: binds a session id to the principal that created it.

use std::{
    collections::HashMap,
    sync::{PoisonError, RwLock},
};

use axum_core::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header::CONTENT_TYPE};

use crate::AuthorizationContext;

/// The body of the 404 for an unknown session, byte-identical to the reference's.
pub const SESSION_NOT_FOUND_BODY: &str =
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Session not found"}}"#;

/// Which principal created each session, so a session is only usable with the credential that
/// made it (MCP security best practices, "session hijacking").
///
/// Record the creator's [`AuthorizationContext`] (or `None` for an unauthenticated creator) when a
/// session is created, and check every later request. A mismatch — another client, subject or
/// issuer, an anonymous request on an authenticated session or the reverse — answers exactly
/// like an unknown session.
///
/// ```
/// use axum_bearer::{AccessToken, AuthorizationContext, SessionOwners};
///
/// let owners = SessionOwners::new();
/// let alice = AuthorizationContext::from_token(&AccessToken::new("t1", "app", ["mcp"]).with_subject("alice"));
/// let bob = AuthorizationContext::from_token(&AccessToken::new("t2", "app", ["mcp"]).with_subject("bob"));
///
/// owners.bind("session-1", Some(alice.clone()));
/// assert!(owners.check("session-1", Some(&alice)).is_ok());
/// assert!(owners.check("session-1", Some(&bob)).is_err());
/// assert!(owners.check("session-1", None).is_err());
/// assert!(owners.check("no-such-session", Some(&alice)).is_err());
/// owners.remove("session-1");
/// assert!(owners.check("session-1", Some(&alice)).is_err());
/// ```
#[derive(Debug, Default)]
pub struct SessionOwners {
    owners: RwLock<HashMap<String, Option<AuthorizationContext>>>,
}

impl SessionOwners {
    /// No sessions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records session `id`, created by `owner` (`None`: created without authentication).
    pub fn bind(&self, id: impl Into<String>, owner: Option<AuthorizationContext>) {
        self.owners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.into(), owner);
    }

    /// Whether session `id` may be used by `requestor`: it exists and its creator's context equals
    /// `requestor` (`None` equal only to `None`). Unknown and mismatched sessions give the same error.
    pub fn check(
        &self,
        id: &str,
        requestor: Option<&AuthorizationContext>,
    ) -> Result<(), SessionNotFound> {
        let owners = self.owners.read().unwrap_or_else(PoisonError::into_inner);
        match owners.get(id) {
            Some(owner) if owner.as_ref() == requestor => Ok(()),
            Some(_) => {
                tracing::warn!(
                    session = %truncate(id),
                    "credential does not match the one that created the session"
                );
                Err(SessionNotFound)
            }
            None => {
                tracing::info!(session = %truncate(id), "rejected request with unknown or expired session ID");
                Err(SessionNotFound)
            }
        }
    }

    /// Forgets session `id` (closed, timed out); returns whether it existed.
    pub fn remove(&self, id: &str) -> bool {
        self.owners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
            .is_some()
    }

    /// Forgets every session (shutdown).
    pub fn clear(&self) {
        self.owners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// How many sessions are recorded.
    pub fn len(&self) -> usize {
        self.owners
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no session is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// At most 64 characters of a client-supplied id, as the reference logs it.
fn truncate(id: &str) -> &str {
    id.char_indices().nth(64).map_or(id, |(end, _)| &id[..end])
}

/// The session is unknown, or belongs to another principal: a 404 with the reference's JSON-RPC body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("session not found")]
pub struct SessionNotFound;

impl IntoResponse for SessionNotFound {
    fn into_response(self) -> Response {
        (
            StatusCode::NOT_FOUND,
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            SESSION_NOT_FOUND_BODY,
        )
            .into_response()
    }
}
