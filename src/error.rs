//! Configuration errors: returned when a builder is given a value that cannot work.

/// A configuration value was refused when it was set (never per request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A scope is not an RFC 6749 §3.3 scope-token (`1*( %x21 / %x23-5B / %x5D-7E )`).
    #[error(
        "invalid scope {scope:?}: scope-tokens are printable ASCII without space, '\"' and '\\'"
    )]
    InvalidScope {
        /// The refused scope, escaped for display.
        scope: String,
    },
    /// A URL could not be parsed, is not http(s), has a fragment, or holds characters that
    /// cannot appear in a `WWW-Authenticate` parameter.
    #[error("invalid {what} URL {url:?}: {reason}")]
    InvalidUrl {
        /// Which setting it was for.
        what: &'static str,
        /// The refused URL, escaped for display.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A realm holds characters outside RFC 6750's `%x20-21 / %x23-5B / %x5D-7E`.
    #[error("invalid realm {realm:?}: printable ASCII and space only, without '\"' and '\\'")]
    InvalidRealm {
        /// The refused realm, escaped for display.
        realm: String,
    },
    /// A verification key could not be used.
    #[error("invalid key {kid:?}: {reason}")]
    InvalidKey {
        /// The key id it was given under.
        kid: String,
        /// Why it was refused.
        reason: String,
    },
    /// A JWT verifier needs at least one key, or a key source (JWKS URL, issuer discovery).
    #[error("a JWT verifier needs a key or a JWKS source")]
    NoKeys,
    /// A JWT verifier needs the audience it accepts (RFC 9068 §4, RFC 8707): this resource.
    #[error("a JWT verifier needs at least one audience (this resource's identifier)")]
    MissingAudience,
    /// An algorithm that may not be used: `none`, or a symmetric one from a JWKS.
    #[error("algorithm not allowed: {0}")]
    Algorithm(String),
    /// The HTTP client for remote keys could not be built.
    #[error("HTTP client: {0}")]
    HttpClient(String),
    /// A verifier for several issuers needs each one's `issuer`.
    #[error("each verifier of a MultiIssuerVerifier needs an issuer")]
    MissingIssuer,
    /// Two verifiers of a `MultiIssuerVerifier` have the same issuer.
    #[error("issuer {0:?} configured twice")]
    DuplicateIssuer(String),
    /// Protected resource metadata needs at least one authorization server (MCP).
    #[error("protected resource metadata needs at least one authorization server")]
    NoAuthorizationServer,
    /// An introspection verifier needs client authentication (RFC 7662 §2.1), or an explicit
    /// `no_client_authentication()`.
    #[error(
        "an introspection verifier needs client authentication (or no_client_authentication())"
    )]
    MissingClientAuthentication,
    /// A credential for an authorization server cannot be used; the value is never shown.
    #[error("invalid credential: {0}")]
    InvalidCredential(&'static str),
}
