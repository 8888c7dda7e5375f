//! [`ProtectedResourceMetadata`]: the RFC 9728 document.

use serde::{Deserialize, Serialize};

use super::url::{metadata_url, parse_resource};
use crate::{ConfigError, scopes::validate_scope_token};

/// OAuth 2.0 Protected Resource Metadata (RFC 9728 §2): how a client finds the authorization
/// server for this resource. MCP requires it, with at least one authorization server.
///
/// Members are serialised in the RFC's order; absent and empty ones are left out (§3.2), except
/// `bearer_methods_supported`, which defaults to `["header"]` (an empty list has a meaning of its
/// own). `resource` is served exactly as configured: clients compare it code point by code point
/// with the URL they called (§3.3, §7.3).
///
/// ```
/// use axum_bearer::ProtectedResourceMetadata;
///
/// let metadata = ProtectedResourceMetadata::new("https://mcp.example.com/mcp", ["https://auth.example.com"])?
///     .with_scopes_supported(["mcp:read", "mcp:write"])?
///     .with_resource_name("Example MCP server");
/// assert_eq!(metadata.url(), "https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(
///     serde_json::to_string(&metadata).unwrap(),
///     r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["mcp:read","mcp:write"],"bearer_methods_supported":["header"],"resource_name":"Example MCP server"}"#
/// );
/// # Ok::<(), axum_bearer::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// The derives generate inherent functions; the trait impls below add validation on the way in,
// so a deserialised document holds the same guarantees as one built with `new`.
#[serde(remote = "Self")]
pub struct ProtectedResourceMetadata {
    resource: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bearer_methods_supported: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resource_signing_alg_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_policy_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_tos_uri: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    tls_client_certificate_bound_access_tokens: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    authorization_details_types_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    dpop_signing_alg_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    dpop_bound_access_tokens_required: bool,
}

/// A URL member: absolute http(s), no fragment; https unless the host is loopback.
fn checked_url(what: &'static str, url: &str) -> Result<String, ConfigError> {
    let parsed = parse_resource(url).map_err(|error| match error {
        ConfigError::InvalidUrl { url, reason, .. } => {
            ConfigError::InvalidUrl { what, url, reason }
        }
        other => other,
    })?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if parsed.scheme() != "https" && !loopback {
        return Err(ConfigError::InvalidUrl {
            what,
            url: url.escape_debug().to_string(),
            reason: "https is required except on loopback hosts (RFC 9728 §7.1)".into(),
        });
    }
    Ok(url.to_owned())
}

/// Refuses a resource whose metadata [`BearerAuth::protected_resource`] could not announce or
/// [`ProtectedResourceMetadata::router`] could not serve.
///
/// [`BearerAuth::protected_resource`]: crate::BearerAuth::protected_resource
fn servable(resource: &str) -> Result<(), ConfigError> {
    let refuse = |reason: &str| ConfigError::InvalidUrl {
        what: "resource",
        url: resource.escape_debug().to_string(),
        reason: reason.into(),
    };
    let url = metadata_url(resource)?;
    if crate::resource::validate_header_url("resource_metadata", &url).is_err() {
        return Err(refuse(
            "its metadata URL holds characters a challenge cannot carry (percent-encode them)",
        ));
    }
    let path = parse_resource(resource)?;
    if path
        .path()
        .split('/')
        .any(|segment| segment.starts_with([':', '*']))
    {
        return Err(refuse(
            "a path segment starts with ':' or '*', which axum 0.8 cannot route (percent-encode it)",
        ));
    }
    Ok(())
}

fn algorithms(
    values: impl IntoIterator<Item = impl Into<String>>,
) -> Result<Vec<String>, ConfigError> {
    values
        .into_iter()
        .map(Into::into)
        .map(|alg: String| {
            if alg.eq_ignore_ascii_case("none") {
                Err(ConfigError::Algorithm(
                    "\"none\" MUST NOT be listed (RFC 9728 §2)".into(),
                ))
            } else {
                Ok(alg)
            }
        })
        .collect()
}

/// The asymmetric JWS algorithms (RFC 7518 §3.1, RFC 8037, RFC 8812, RFC 9864) a DPoP proof may be
/// signed with: a proof is signed with the client's private key and checked with the public key
/// it carries (RFC 9449 §4.2), so never `none` nor a MAC (`HS*`).
const DPOP_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "ES256K",
    "EdDSA", "Ed25519", "Ed448",
];

/// DPoP proof algorithms: registered asymmetric JWS `alg` names, case-sensitive (RFC 7515
/// §4.1.1), each once.
fn dpop_algorithms(
    values: impl IntoIterator<Item = impl Into<String>>,
) -> Result<Vec<String>, ConfigError> {
    let mut algs: Vec<String> = Vec::new();
    for alg in values.into_iter().map(Into::into) {
        if !DPOP_ALGORITHMS.contains(&alg.as_str()) {
            return Err(ConfigError::Algorithm(format!(
                "{alg:?} is not an asymmetric JWS algorithm a DPoP proof may use (RFC 9449 §4.2): \
                 one of {}",
                DPOP_ALGORITHMS.join(", ")
            )));
        }
        if algs.contains(&alg) {
            return Err(ConfigError::Algorithm(format!(
                "{alg} is listed twice in dpop_signing_alg_values_supported"
            )));
        }
        algs.push(alg);
    }
    Ok(algs)
}

impl ProtectedResourceMetadata {
    /// The metadata of `resource` (this server's identifier, as clients call it), protected by
    /// `authorization_servers` (issuer identifiers, at least one).
    ///
    /// Both must be absolute URLs without fragment, `https` unless the host is loopback. The
    /// resource must also be one this crate can announce and serve: its well-known URL must fit in
    /// a challenge parameter (no `\` or other character outside `%x21 / %x23-5B / %x5D-7E`
    /// left in the query), and no path segment may start with `:` or `*` (axum 0.8 refuses such
    /// routes; percent-encode the character).
    pub fn new<I, S>(
        resource: impl AsRef<str>,
        authorization_servers: I,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let resource = checked_url("resource", resource.as_ref())?;
        servable(&resource)?;
        let authorization_servers = authorization_servers
            .into_iter()
            .map(|server| checked_url("authorization server", server.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if authorization_servers.is_empty() {
            return Err(ConfigError::NoAuthorizationServer);
        }
        Ok(Self {
            resource,
            authorization_servers,
            jwks_uri: None,
            scopes_supported: Vec::new(),
            bearer_methods_supported: Some(vec!["header".into()]),
            resource_signing_alg_values_supported: Vec::new(),
            resource_name: None,
            resource_documentation: None,
            resource_policy_uri: None,
            resource_tos_uri: None,
            tls_client_certificate_bound_access_tokens: false,
            authorization_details_types_supported: Vec::new(),
            dpop_signing_alg_values_supported: Vec::new(),
            dpop_bound_access_tokens_required: false,
        })
    }

    /// The resource identifier, as configured.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The authorization servers.
    pub fn authorization_servers(&self) -> &[String] {
        &self.authorization_servers
    }

    /// The scopes advertised.
    pub fn scopes_supported(&self) -> &[String] {
        &self.scopes_supported
    }

    /// Where this document is published (RFC 9728 §3.1), the `resource_metadata` of challenges.
    pub fn url(&self) -> String {
        // `new` checked that the resource parses.
        metadata_url(&self.resource).unwrap_or_default()
    }

    /// The scopes clients may request for this resource (RFC 6749 §3.3 scope-tokens; MCP
    /// 2026-07-28: leave `offline_access` out).
    pub fn with_scopes_supported<I, S>(mut self, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes_supported = scopes
            .into_iter()
            .map(Into::into)
            .map(|scope: String| validate_scope_token(&scope).map(|()| scope))
            .collect::<Result<_, _>>()?;
        Ok(self)
    }

    /// How tokens may be sent: `header`, `body`, `query` (default `["header"]`; `[]` means none).
    #[must_use]
    pub fn with_bearer_methods_supported<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.bearer_methods_supported = Some(methods.into_iter().map(Into::into).collect());
        self
    }

    /// The resource's own JWK Set (for signed responses; not the authorization server's). https.
    pub fn with_jwks_uri(mut self, url: impl AsRef<str>) -> Result<Self, ConfigError> {
        self.jwks_uri = Some(checked_url("jwks_uri", url.as_ref())?);
        Ok(self)
    }

    /// The algorithms the resource signs responses with; `none` is refused.
    pub fn with_resource_signing_alg_values_supported<I, S>(
        mut self,
        algs: I,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource_signing_alg_values_supported = algorithms(algs)?;
        Ok(self)
    }

    /// A human-readable name (RECOMMENDED by RFC 9728).
    #[must_use]
    pub fn with_resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// A page of documentation for developers.
    pub fn with_resource_documentation(
        mut self,
        url: impl AsRef<str>,
    ) -> Result<Self, ConfigError> {
        self.resource_documentation = Some(checked_url("resource_documentation", url.as_ref())?);
        Ok(self)
    }

    /// The policy on how clients may use the resource's data.
    pub fn with_resource_policy_uri(mut self, url: impl AsRef<str>) -> Result<Self, ConfigError> {
        self.resource_policy_uri = Some(checked_url("resource_policy_uri", url.as_ref())?);
        Ok(self)
    }

    /// The terms of service.
    pub fn with_resource_tos_uri(mut self, url: impl AsRef<str>) -> Result<Self, ConfigError> {
        self.resource_tos_uri = Some(checked_url("resource_tos_uri", url.as_ref())?);
        Ok(self)
    }

    /// Whether tokens are bound to client certificates (RFC 8705).
    #[must_use]
    pub fn with_tls_client_certificate_bound_access_tokens(mut self, bound: bool) -> Self {
        self.tls_client_certificate_bound_access_tokens = bound;
        self
    }

    /// The `authorization_details` types supported (RFC 9396).
    #[must_use]
    pub fn with_authorization_details_types_supported<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.authorization_details_types_supported = types.into_iter().map(Into::into).collect();
        self
    }

    /// The JWS algorithms this resource accepts for DPoP proofs (RFC 9728 §2, RFC 9449 §4.2);
    /// an empty list leaves the member out.
    ///
    /// Only registered asymmetric algorithms are accepted, case-sensitively: `RS256`, `RS384`,
    /// `RS512`, `PS256`, `PS384`, `PS512`, `ES256`, `ES384`, `ES512`, `ES256K`, `EdDSA`, `Ed25519`,
    /// `Ed448`. `none`, a MAC (`HS256` …), an unknown name or one listed twice is refused with
    /// [`ConfigError::Algorithm`], here and when a document is deserialised.
    ///
    /// ```
    /// use axum_bearer::ProtectedResourceMetadata;
    ///
    /// let metadata = ProtectedResourceMetadata::new("https://mcp.example.com/mcp", ["https://auth.example.com"])?
    ///     .with_dpop_signing_alg_values_supported(["ES256", "EdDSA"])?
    ///     .with_dpop_bound_access_tokens_required(true);
    /// assert_eq!(metadata.dpop_signing_alg_values_supported(), ["ES256", "EdDSA"]);
    /// assert!(metadata.to_json().ends_with(r#""dpop_signing_alg_values_supported":["ES256","EdDSA"],"dpop_bound_access_tokens_required":true}"#));
    /// assert!(metadata.clone().with_dpop_signing_alg_values_supported(["HS256"]).is_err());
    /// # Ok::<(), axum_bearer::ConfigError>(())
    /// ```
    pub fn with_dpop_signing_alg_values_supported<I, S>(
        mut self,
        algs: I,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.dpop_signing_alg_values_supported = dpop_algorithms(algs)?;
        Ok(self)
    }

    /// The DPoP proof algorithms advertised (empty: the member is left out).
    pub fn dpop_signing_alg_values_supported(&self) -> &[String] {
        &self.dpop_signing_alg_values_supported
    }

    /// Whether the document says this resource always requires DPoP-bound access tokens
    /// (RFC 9728 §2; `false`, the default, leaves the member out).
    pub fn dpop_bound_access_tokens_required(&self) -> bool {
        self.dpop_bound_access_tokens_required
    }

    /// Whether DPoP-bound access tokens are always required (RFC 9728 §2);
    /// `false` (the default) leaves the member out.
    #[must_use]
    pub fn with_dpop_bound_access_tokens_required(mut self, required: bool) -> Self {
        self.dpop_bound_access_tokens_required = required;
        self
    }

    /// Both DPoP members at once, from settings already checked (`with_dpop`, feature `dpop`).
    #[cfg_attr(not(feature = "dpop"), allow(dead_code))]
    pub(crate) fn with_dpop_settings(mut self, algs: Vec<String>, required: bool) -> Self {
        self.dpop_signing_alg_values_supported = algs;
        self.dpop_bound_access_tokens_required = required;
        self
    }

    /// The compact JSON document.
    pub fn to_json(&self) -> String {
        // Only strings, lists of strings and booleans: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Serialize for ProtectedResourceMetadata {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ProtectedResourceMetadata::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for ProtectedResourceMetadata {
    /// Parses a document and checks it as [`new`](ProtectedResourceMetadata::new) and the
    /// setters do.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let document = ProtectedResourceMetadata::deserialize(deserializer)?;
        document.validated().map_err(serde::de::Error::custom)
    }
}

impl ProtectedResourceMetadata {
    fn validated(self) -> Result<Self, ConfigError> {
        Self::new(&self.resource, &self.authorization_servers)?;
        let urls = [
            ("jwks_uri", &self.jwks_uri),
            ("resource_documentation", &self.resource_documentation),
            ("resource_policy_uri", &self.resource_policy_uri),
            ("resource_tos_uri", &self.resource_tos_uri),
        ];
        for (what, url) in urls {
            if let Some(url) = url {
                checked_url(what, url)?;
            }
        }
        for scope in &self.scopes_supported {
            validate_scope_token(scope)?;
        }
        algorithms(self.resource_signing_alg_values_supported.iter().cloned())?;
        dpop_algorithms(self.dpop_signing_alg_values_supported.iter().cloned())?;
        Ok(self)
    }
}
