//! Which wire format the rejections follow.

/// The wire format of rejections: the Python reference's, or the specs'.
///
/// | request | `PythonSdk` (default) | `Spec` |
/// |---|---|---|
/// | no credentials, other scheme | 401 `error="invalid_token"`, `error_description="Authentication required"` | 401, `scope` and `resource_metadata`, no `error` |
/// | token invalid, expired, not for this resource | same 401 | 401 `error="invalid_token"`, a specific description, `scope` |
/// | token lacks a scope | 403 `error="insufficient_scope"`, `Required scope: <first missing>` | 403, `scope` = every required scope |
/// | malformed (`Bearer` alone, tab, two headers) | 401 as the reference | 400 `error="invalid_request"` |
/// | verifier unavailable | 503, no challenge | 503, no challenge |
///
/// Both add `resource_metadata` when configured, and both answer with a JSON body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Profile {
    /// Byte-for-byte the responses of the MCP Python SDK's `RequireAuthMiddleware` (`mcp` 2.3.0),
    /// except that a verifier back-end failure is a 503 rather than a 500.
    #[default]
    PythonSdk,
    /// RFC 6750 and the MCP authorization spec (2026-07-28).
    Spec,
}
