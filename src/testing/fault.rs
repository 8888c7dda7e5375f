//! What a [`TestIssuer`](super::TestIssuer) serves, and the ways it can be made to misbehave.

use std::time::Duration;

/// A failure the issuer injects into its answers, set with
/// [`TestIssuer::set_fault`](super::TestIssuer::set_fault) (every endpoint) or
/// [`TestIssuer::set_endpoint_fault`](super::TestIssuer::set_endpoint_fault) (one endpoint).
///
/// A fault stays in force until it is changed; [`Fault::None`] restores normal service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// Normal service.
    #[default]
    None,
    /// The issuer is unreachable: connections are closed without an HTTP response. When every
    /// endpoint is down, a new connection is closed right after it is accepted; otherwise (and on
    /// a kept-alive connection) it is closed when a request for a down endpoint arrives. Either
    /// way the client sees a connection error, never a status code. Each closed connection is
    /// counted by [`TestIssuer::dropped_connections`](super::TestIssuer::dropped_connections),
    /// not by [`TestIssuer::requests`](super::TestIssuer::requests).
    Down,
    /// The issuer waits this long before answering normally: longer than a client's timeout, it
    /// looks like a hung server. Needs the runtime's time driver (on by default with
    /// `#[tokio::main]` and `#[tokio::test]`).
    Slow(Duration),
    /// The issuer answers with this status code and a short `text/plain` body. A number that is
    /// not a valid status code (outside 100–999) is answered with 500.
    Status(u16),
    /// The issuer answers `200 OK` with `Content-Type: application/json` and a body that is not
    /// JSON.
    InvalidJson,
}

/// An endpoint of the issuer, for per-endpoint faults and request counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// The JWK Set, `GET <issuer>/jwks`.
    Jwks,
    /// RFC 8414 authorization server metadata,
    /// `GET <origin>/.well-known/oauth-authorization-server<issuer path>` (path inserted).
    OAuthMetadata,
    /// OpenID Connect Discovery 1.0, `GET <issuer>/.well-known/openid-configuration` (path
    /// appended).
    OpenIdConfiguration,
    /// RFC 7662 token introspection, `POST <issuer>/introspect`.
    Introspection,
}

/// How many endpoints there are: the length of per-endpoint tables.
pub(super) const ENDPOINTS: usize = 4;

impl Endpoint {
    /// The endpoint's slot in per-endpoint tables (faults, counters).
    pub(super) fn index(self) -> usize {
        match self {
            Endpoint::Jwks => 0,
            Endpoint::OAuthMetadata => 1,
            Endpoint::OpenIdConfiguration => 2,
            Endpoint::Introspection => 3,
        }
    }
}
