//! OAuth 2.0 bearer-token protection for [axum](https://docs.rs/axum/0.8) 0.8.
//!
//! `axum-bearer` turns an `Authorization: Bearer …` header into a verified principal, and answers
//! everything else with the 401/403 responses MCP clients and OAuth tooling expect: byte-for-byte
//! those of the MCP Python SDK by default ([`Profile::PythonSdk`]), or RFC 6750 and the newest MCP
//! authorization spec ([`Profile::Spec`]).
//!
//! # Overview
//!
//! 1. Pick a [`TokenVerifier`]: [`StaticVerifier`] for development, [`verifier_fn`] for your own
//!    lookup, or implement the trait.
//! 2. Wrap the router in a [`BearerAuth`] layer: the verifier, the profile, the RFC 9728 metadata
//!    URL, this server's resource identifier.
//! 3. Ask for what each route needs: [`AuthenticatedUser`] for any valid token,
//!    [`RequireScopes<S>`](RequireScopes) for scopes known at compile time ([`scopes!`]),
//!    [`RequireScopesLayer`] for scopes known at start-up.
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use axum_bearer::{
//!     AccessToken, AuthenticatedUser, BearerAuth, RequireScopes, RequireScopesLayer,
//!     StaticVerifier, scopes,
//! };
//!
//! scopes!(pub Write = "notes:write");
//!
//! async fn whoami(user: AuthenticatedUser) -> String {
//!     format!("{} {:?}", user.client_id(), user.scopes())
//! }
//!
//! async fn write(user: RequireScopes<Write>) -> String {
//!     format!("written by {}", user.client_id())
//! }
//!
//! # fn main() -> Result<(), axum_bearer::ConfigError> {
//! let verifier = StaticVerifier::new([AccessToken::new("dev-token", "dev-client", ["notes:read"])]);
//! let auth = BearerAuth::new(verifier)
//!     .resource_metadata_url("https://notes.example/.well-known/oauth-protected-resource/mcp")?;
//! let app: Router = Router::new()
//!     .route("/whoami", get(whoami))
//!     .route("/notes", post(write))
//!     .route("/mcp", post(|| async { "mcp" }).route_layer(RequireScopesLayer::new(["mcp:read"])?))
//!     .layer(auth);
//! # Ok(()) }
//! ```
//!
//! # Behaviour
//!
//! The token is verified lazily, the first time a request asks for it, and at most once per
//! request. After the verifier, the layer refuses a token whose `expires_at` has passed
//! (`now >= expires_at + leeway`) and, when [`BearerAuth::resource_server_url`] is set, a token
//! issued for another resource. Validation comes before the scope check, so an expired token
//! without the scope gets 401. A token in the query string is never read.
//!
//! # Sessions
//!
//! [`AuthenticatedUser::authorization_context`] gives the principal `(client_id, issuer, subject)`;
//! [`SessionOwners`] binds a session id to it, so a session is only usable with the credential
//! that created it.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code, unreachable_pub)]
#![warn(missing_docs, missing_debug_implementations)]

mod auth;
mod challenge;
mod clock;
mod context;
mod credentials;
#[cfg(feature = "jwt")]
mod crypto;
mod error;
mod extract;
mod profile;
mod rejection;
mod resource;
mod scopes;
mod session;
mod token;
mod verifier;

pub mod mcp;
#[cfg(feature = "metadata")]
#[cfg_attr(docsrs, doc(cfg(feature = "metadata")))]
pub mod metadata;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use auth::{BearerAuth, BearerAuthService, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN};
pub use context::AuthorizationContext;
pub use error::ConfigError;
pub use extract::AuthenticatedUser;
#[cfg(feature = "metadata")]
pub use metadata::ProtectedResourceMetadata;
pub use profile::Profile;
pub use rejection::{Rejection, RejectionKind};
pub use scopes::{
    RequireScopes, RequireScopesFuture, RequireScopesLayer, RequireScopesService, ScopeSet,
    is_valid_scope_token, validate_scope_token,
};
pub use session::{
    DEFAULT_MAX_SESSIONS, DEFAULT_SESSION_IDLE_TIMEOUT, SESSION_NOT_FOUND_BODY, SessionCheck,
    SessionNotFound, SessionOwners, SessionStore, SessionStoreError,
};
pub use token::AccessToken;
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub use verifier::{
    CachedVerifier, CachedVerifierBuilder, DEFAULT_CACHE_MAX_ENTRIES, DEFAULT_CACHE_TTL,
};
#[cfg(feature = "introspection")]
#[cfg_attr(docsrs, doc(cfg(feature = "introspection")))]
pub use verifier::{
    DEFAULT_INTROSPECTION_TIMEOUT, IntrospectionVerifier, IntrospectionVerifierBuilder,
};
#[cfg(feature = "jwt")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwt")))]
pub use verifier::{
    DEFAULT_MAX_JWT_CLAIMS_SIZE, JwtAlgorithm, JwtVerifier, JwtVerifierBuilder,
    MAX_JWT_CLAIMS_DEPTH, MultiIssuerVerifier, jsonwebtoken,
};
pub use verifier::{FnVerifier, StaticVerifier, TokenVerifier, VerifyError, verifier_fn};

/// Items the macros expand to; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::scopes::assert_scope_tokens;
}

/// Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`); **not public API**: hidden,
/// outside semver, changed or removed in any release.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;
