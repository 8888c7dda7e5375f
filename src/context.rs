//! [`AuthorizationContext`]: the principal a session or other per-user state is bound to.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::AccessToken;

/// Who is calling: `(client_id, issuer, subject)`, the reference's `principal_components`.
///
/// Two contexts match when all three fields are equal, `None` equal only to `None`; scopes, expiry
/// and the token itself are not part of it, so a refreshed token for the same principal still
/// matches. Components the verifier does not supply are `None` on both sides, so the comparison
/// "degrades to the remaining components".
///
/// ```
/// use axum_bearer::{AccessToken, AuthorizationContext};
///
/// let token = AccessToken::new("t", "client-123", ["mcp"])
///     .with_subject("alice")
///     .with_claim("iss", "https://as.example");
/// let context = AuthorizationContext::from_token(&token);
/// assert_eq!(context, AuthorizationContext {
///     client_id: "client-123".into(),
///     issuer: Some("https://as.example".into()),
///     subject: Some("alice".into()),
/// });
/// assert_eq!(context.to_principal_json(), r#"["client-123","https://as.example","alice"]"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AuthorizationContext {
    /// The OAuth client.
    pub client_id: String,
    /// The issuer, from `claims["iss"]`.
    pub issuer: Option<String>,
    /// The subject, from [`AccessToken::subject`] (not `claims["sub"]`).
    pub subject: Option<String>,
}

impl AuthorizationContext {
    /// The context of `token`.
    pub fn from_token(token: &AccessToken) -> Self {
        Self {
            client_id: token.client_id.clone(),
            issuer: token.issuer().map(Cow::into_owned),
            subject: token.subject.clone(),
        }
    }

    /// The principal as compact JSON `[client_id, issuer, subject]`, as the reference's
    /// `authenticated_principal` writes it for request-state binding.
    pub fn to_principal_json(&self) -> String {
        serde_json::json!([self.client_id, self.issuer, self.subject]).to_string()
    }
}
