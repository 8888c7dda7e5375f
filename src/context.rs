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

    /// The stable key of this principal: compact JSON `[client_id, issuer, subject]` with `null`
    /// for a missing component, byte-identical to the MCP Python SDK's `authenticated_principal`
    /// (`json.dumps(principal_components(token), separators=(",", ":"))`).
    ///
    /// Like Python's `json.dumps`, the output is ASCII: every character outside `' '..='~'` is
    /// written as a `\uXXXX` escape (a UTF-16 surrogate pair above U+FFFF), and `\b \f \n \r \t`
    /// in their short forms. Distinct principals always have distinct keys, so the key can stand
    /// for the principal in a shared store: `<principal>:<handle>` for MCP 2026-07-28 state
    /// handles ([`StateHandles`](crate::mcp::StateHandles)), a session's owner in a
    /// [`SessionStore`](crate::SessionStore).
    ///
    /// ```
    /// use axum_bearer::{AccessToken, AuthorizationContext};
    ///
    /// let token = AccessToken::new("t", "client-123", ["mcp"]).with_subject("zoë");
    /// let key = AuthorizationContext::from_token(&token).principal_key();
    /// assert_eq!(key, r#"["client-123",null,"zo\u00eb"]"#);
    /// ```
    pub fn principal_key(&self) -> String {
        let mut key = String::with_capacity(
            8 + self.client_id.len()
                + self.issuer.as_ref().map_or(4, String::len)
                + self.subject.as_ref().map_or(4, String::len),
        );
        key.push('[');
        write_python_json_str(&mut key, Some(&self.client_id));
        key.push(',');
        write_python_json_str(&mut key, self.issuer.as_deref());
        key.push(',');
        write_python_json_str(&mut key, self.subject.as_deref());
        key.push(']');
        key
    }

    /// The principal as compact JSON `[client_id, issuer, subject]`, as the reference's
    /// `authenticated_principal` writes it for request-state binding: the same string as
    /// [`principal_key`](Self::principal_key).
    pub fn to_principal_json(&self) -> String {
        self.principal_key()
    }
}

/// `value` as Python's `json.dumps` writes a `str` (or `None`) with the default
/// `ensure_ascii=True`: printable ASCII as is except `"` and `\`, the five short escapes, and
/// `\u` with four lowercase hex digits for everything else (UTF-16 code units).
fn write_python_json_str(out: &mut String, value: Option<&str>) {
    use std::fmt::Write;
    let Some(value) = value else {
        out.push_str("null");
        return;
    };
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    // Writing to a String cannot fail.
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}
