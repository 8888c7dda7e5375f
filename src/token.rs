//! The verified access token: what a [`TokenVerifier`](crate::TokenVerifier) returns.

use std::{borrow::Cow, fmt};

use serde_json::{Map, Value};

/// A verified OAuth 2.0 access token, as the MCP Python SDK's `AccessToken`.
///
/// A [`TokenVerifier`](crate::TokenVerifier) builds one for each token it accepts; handlers see it
/// through [`AuthenticatedUser`](crate::AuthenticatedUser).
///
/// The raw token is kept (a handler may need to exchange it), but `Debug` never prints it.
///
/// ```
/// use axum_bearer::AccessToken;
///
/// let token = AccessToken::new("s3cr3t", "client-1", ["notes:read"])
///     .with_subject("alice")
///     .with_expires_at(4_102_444_800)
///     .with_claim("iss", "https://as.example");
/// assert_eq!(token.issuer().as_deref(), Some("https://as.example"));
/// assert!(!format!("{token:?}").contains("s3cr3t"));
/// ```
#[derive(Clone, PartialEq)]
pub struct AccessToken {
    /// The raw bearer token as presented by the client.
    pub token: String,
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// The scopes granted to the token (RFC 6749 §3.3 scope-tokens).
    pub scopes: Vec<String>,
    /// Expiry as Unix seconds; `None` means the token does not expire.
    ///
    /// A token is expired when `now >= expires_at` (RFC 7519 §4.1.4), less the clock-skew allowance
    /// ([`BearerAuth::leeway`](crate::BearerAuth::leeway)).
    pub expires_at: Option<i64>,
    /// The resource (RFC 8707 resource indicator, a JWT's matching `aud`) the token was issued for.
    pub resource: Option<String>,
    /// The subject (`sub`): the user or service the token stands for; unique per issuer only.
    pub subject: Option<String>,
    /// Every claim of the token (for a JWT) or of the introspection response; `iss` is read from here.
    pub claims: Option<Map<String, Value>>,
    /// The DPoP confirmation: the base64url RFC 7638 SHA-256 thumbprint of the key the token is
    /// bound to (`cnf.jkt`, RFC 9449 §6), or `None` for a token not bound to a key.
    ///
    /// [`JwtVerifier`](crate::JwtVerifier) fills it from a JWT's `cnf` claim (§6.1) and
    /// `IntrospectionVerifier` from the introspection response's `cnf` (§6.2); both refuse a token
    /// whose `cnf` is not an object or whose `jkt` is not a 43-character base64url string. A
    /// custom verifier sets it with [`with_dpop_jkt`](Self::with_dpop_jkt).
    ///
    /// For now it is informational: a bound token presented with the `Bearer` scheme is still
    /// accepted by [`BearerAuth`](crate::BearerAuth), which does not check DPoP proofs yet.
    pub dpop_jkt: Option<String>,
}

impl AccessToken {
    /// A token for `client_id` with `scopes`, no expiry, resource, subject or claims.
    pub fn new<S>(
        token: impl Into<String>,
        client_id: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self
    where
        S: Into<String>,
    {
        Self {
            token: token.into(),
            client_id: client_id.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            expires_at: None,
            resource: None,
            subject: None,
            claims: None,
            dpop_jkt: None,
        }
    }

    /// Sets the expiry (Unix seconds).
    #[must_use]
    pub fn with_expires_at(mut self, expires_at: i64) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets the resource the token was issued for (RFC 8707).
    #[must_use]
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Sets the subject (`sub`).
    #[must_use]
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Binds the token to the DPoP key whose RFC 7638 SHA-256 thumbprint (base64url) is `jkt`,
    /// as a `cnf.jkt` confirmation would (RFC 9449 §6). Not checked here.
    ///
    /// ```
    /// use axum_bearer::AccessToken;
    ///
    /// let token = AccessToken::new("t", "client-1", ["notes:read"])
    ///     .with_dpop_jkt("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    /// assert_eq!(token.dpop_jkt.as_deref(), Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
    /// ```
    #[must_use]
    pub fn with_dpop_jkt(mut self, jkt: impl Into<String>) -> Self {
        self.dpop_jkt = Some(jkt.into());
        self
    }

    /// Replaces all claims.
    #[must_use]
    pub fn with_claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims = Some(claims);
        self
    }

    /// Adds or replaces one claim.
    #[must_use]
    pub fn with_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims
            .get_or_insert_with(Map::new)
            .insert(name.into(), value.into());
        self
    }

    /// The issuer: `claims["iss"]`.
    ///
    /// A string is returned as is; a number as its decimal text (as the reference's `str()`);
    /// any other JSON type, or no `iss`, gives `None`.
    pub fn issuer(&self) -> Option<Cow<'_, str>> {
        match self.claims.as_ref()?.get("iss")? {
            Value::String(iss) => Some(Cow::Borrowed(iss)),
            Value::Number(iss) => Some(Cow::Owned(iss.to_string())),
            _ => None,
        }
    }

    /// Whether the token was granted `scope` exactly (case-sensitive, no hierarchy).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &Redacted)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .field("resource", &self.resource)
            .field("subject", &self.subject)
            .field("claims", &self.claims)
            .field("dpop_jkt", &self.dpop_jkt)
            .finish()
    }
}

/// The DPoP key thumbprint of a token's confirmation (`cnf.jkt`, RFC 9449 §6, RFC 7800 §3.1):
/// `None` without `cnf` or without `jkt` in it; an invalid token when `cnf` is not an object or
/// `jkt` is not the unpadded base64url of a SHA-256 digest (43 characters, canonical).
/// `source` names the document in the reason ("JWT", "introspection").
#[cfg(any(feature = "jwt", feature = "introspection"))]
pub(crate) fn dpop_confirmation(
    object: &Map<String, Value>,
    source: &'static str,
) -> Result<Option<String>, crate::VerifyError> {
    let invalid = |what: &str| crate::VerifyError::invalid(format!("{source} cnf {what}"));
    let cnf = match object.get("cnf") {
        None => return Ok(None),
        Some(Value::Object(cnf)) => cnf,
        Some(_) => return Err(invalid("is not an object")),
    };
    match cnf.get("jkt") {
        None => Ok(None),
        Some(Value::String(jkt)) if is_sha256_thumbprint(jkt) => Ok(Some(jkt.clone())),
        Some(Value::String(_)) => Err(invalid(
            "jkt is not a base64url SHA-256 thumbprint (43 characters)",
        )),
        Some(_) => Err(invalid("jkt is not a string")),
    }
}

/// Whether `text` is the canonical unpadded base64url encoding of 32 bytes: 43 characters of
/// the base64url alphabet, the last one carrying no bits beyond the 256th.
#[cfg(any(feature = "jwt", feature = "introspection"))]
fn is_sha256_thumbprint(text: &str) -> bool {
    let bytes = text.as_bytes();
    let sextet = |byte: u8| match byte {
        b'A'..=b'Z' => Some(byte - b'A'),
        b'a'..=b'z' => Some(byte - b'a' + 26),
        b'0'..=b'9' => Some(byte - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    };
    bytes.len() == 43
        && bytes.iter().all(|byte| sextet(*byte).is_some())
        // 43 × 6 = 258 bits: the last character's two low bits must be zero.
        && bytes
            .last()
            .and_then(|last| sextet(*last))
            .is_some_and(|last| last & 0b11 == 0)
}

/// Stands in for secret material in `Debug` output.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn debug_redacts_the_token() {
        let token = AccessToken::new("very-secret-token", "c", ["a"]);
        let shown = format!("{token:?} {token:#?}");
        assert!(!shown.contains("very-secret-token"));
        assert!(shown.contains("[redacted]"));
        assert!(shown.contains("\"c\""));
    }

    #[cfg(any(feature = "jwt", feature = "introspection"))]
    #[test]
    fn dpop_confirmation_reads_cnf_jkt() {
        const JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
        let read = |value: Value| {
            let Value::Object(object) = value else {
                unreachable!("objects only")
            };
            dpop_confirmation(&object, "JWT")
        };
        assert_eq!(read(json!({})), Ok(None));
        assert_eq!(read(json!({"cnf": {}})), Ok(None));
        assert_eq!(read(json!({"cnf": {"x5t#S256": "abc"}})), Ok(None));
        assert_eq!(read(json!({"cnf": {"jkt": JKT}})), Ok(Some(JKT.to_owned())));
        for bad in [
            json!({"cnf": JKT}),
            json!({"cnf": null}),
            json!({"cnf": [{"jkt": JKT}]}),
            json!({"cnf": {"jkt": 5}}),
            json!({"cnf": {"jkt": null}}),
            json!({"cnf": {"jkt": [JKT]}}),
            json!({"cnf": {"jkt": ""}}),
            json!({"cnf": {"jkt": &JKT[1..]}}),
            json!({"cnf": {"jkt": format!("{JKT}A")}}),
            json!({"cnf": {"jkt": format!("{JKT}=")}}),
            json!({"cnf": {"jkt": JKT.replace('-', "+")}}),
            json!({"cnf": {"jkt": format!("/{}", &JKT[1..])}}),
            json!({"cnf": {"jkt": format!("{}J", &JKT[..42])}}),
            json!({"cnf": {"jkt": format!("{}é", &JKT[..41])}}),
        ] {
            assert!(
                matches!(read(bad.clone()), Err(crate::VerifyError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[cfg(any(feature = "jwt", feature = "introspection"))]
    proptest::proptest! {
        /// A `jkt` is accepted exactly when it is the canonical unpadded base64url of 32 bytes.
        #[test]
        fn thumbprints_are_the_base64url_of_32_bytes(
            digest in proptest::array::uniform32(proptest::num::u8::ANY),
            text in proptest::prop_oneof![
                "[A-Za-z0-9_=+/ -]{40,46}",
                "[A-Za-z0-9_-]{42}[A-Za-z0-9_=+/ -]",
            ],
        ) {
            use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
            proptest::prop_assert!(is_sha256_thumbprint(&URL_SAFE_NO_PAD.encode(digest)));
            let decodes = URL_SAFE_NO_PAD
                .decode(&text)
                .is_ok_and(|bytes| bytes.len() == 32);
            proptest::prop_assert_eq!(is_sha256_thumbprint(&text), decodes);
        }
    }

    #[test]
    fn issuer_reads_iss_like_the_reference() {
        let base = AccessToken::new("t", "c", Vec::<String>::new());
        assert_eq!(base.issuer(), None);
        assert_eq!(base.clone().with_claim("sub", "x").issuer(), None);
        assert_eq!(
            base.clone()
                .with_claim("iss", "https://as.example")
                .issuer()
                .as_deref(),
            Some("https://as.example")
        );
        assert_eq!(
            base.clone().with_claim("iss", 5).issuer().as_deref(),
            Some("5")
        );
        assert_eq!(base.clone().with_claim("iss", json!(null)).issuer(), None);
        assert_eq!(base.with_claim("iss", json!(["a"])).issuer(), None);
    }
}
