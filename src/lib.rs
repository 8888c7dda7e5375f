//! OAuth 2.0 bearer-token protection for [axum](https://docs.rs/axum/0.8) 0.8.
//!
//! `axum-bearer` turns an `Authorization: Bearer …` header into a verified principal, and answers
//! everything else with the 401/403 responses MCP clients and OAuth tooling expect: byte-for-byte
//! those of the MCP Python SDK by default ([`Profile::PythonSdk`]), or RFC 6750 and the newest MCP
//! authorization spec ([`Profile::Spec`]).
//!
//! The pages below follow the order you meet things in: a verifier, the layer, the extractors,
//! the two profiles, refusing in your own code, MCP servers, the verifiers that ship with the
//! crate, the testing kit, logs, and the cargo features.
//!
//! # 1. A verifier
//!
//! A [`TokenVerifier`] turns a token into an [`AccessToken`] (client, scopes, expiry, resource,
//! subject, claims) or a [`VerifyError`]: `Invalid`/`Expired` answer 401, `Unavailable` 503 (so a
//! client keeps a good token while your back end is down). [`StaticVerifier`] holds a fixed table
//! for development, [`verifier_fn`] wraps a closure, and the [`TokenVerifier`] docs show a whole
//! verifier. Section 6 lists the production ones.
//!
//! # 2. The layer, and 3. the extractors
//!
//! [`BearerAuth`] is a tower layer holding the verifier and the configuration. Handlers then ask
//! for what they need: [`AuthenticatedUser`] for any valid token (`Option<AuthenticatedUser>` when
//! authentication is optional), [`RequireScopes<S>`](RequireScopes) for scopes known at compile
//! time ([`scopes!`]), [`RequireScopesLayer`] for scopes known at start-up. The token is verified
//! lazily, the first time a request asks, and at most once per request; routes that ask for
//! nothing stay public.
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
//! let verifier = StaticVerifier::new([
//!     AccessToken::new("dev-token", "dev-client", ["notes:read"]).with_resource("https://notes.example/api"),
//! ]);
//! let auth = BearerAuth::new(verifier).resource_server_url("https://notes.example/api")?;
//! let app: Router = Router::new()
//!     .route("/whoami", get(whoami))
//!     .route("/notes", post(write))
//!     .route("/mcp", post(|| async { "mcp" }).route_layer(RequireScopesLayer::new(["mcp:read"])?))
//!     .layer(auth); // after the route layers: `.layer()` wraps what came before it
//! # Ok(()) }
//! ```
//!
//! After the verifier, the layer refuses a token whose `expires_at` has passed
//! (`now >= expires_at + leeway`) and, when [`BearerAuth::resource_server_url`] is set, a token
//! that names neither this resource in its `resource` nor in any of its audiences. Validation
//! comes before the scope check, so an expired token without the scope gets 401. A token in the
//! query string is never read.
//!
//! # 4. The two profiles
//!
//! [`Profile::PythonSdk`] (the default) answers exactly as the MCP Python SDK does, so a Rust
//! server can replace a Python one unnoticed. [`Profile::Spec`] follows RFC 6750 and the MCP
//! authorization spec: specific descriptions, `400 invalid_request` for malformed credentials, and
//! a `scope` parameter naming every scope the route needs — the only way an MCP client can step up
//! to a larger grant, so **MCP servers should use `Profile::Spec`**. The [`Profile`] docs have the
//! table.
//!
//! # 5. Refusing in your own code
//!
//! A handler that decides mid-way returns the crate's own responses for the configured profile:
//! [`AuthenticatedUser::require_scopes`], [`AuthenticatedUser::insufficient_scope`],
//! [`AuthenticatedUser::invalid_token`], [`Rejection::invalid_token_for`] (from a request's
//! extensions), each with an optional [`Rejection::with_description`].
//!
//! ```
//! use axum_bearer::{AuthenticatedUser, Rejection};
//!
//! async fn publish(user: AuthenticatedUser) -> Result<&'static str, Rejection> {
//!     user.require_scopes(["notes:write"])?;
//!     if user.subject() == Some("suspended") {
//!         return Err(user.invalid_token().with_description("This account is suspended"));
//!     }
//!     Ok("published")
//! }
//! ```
//!
//! # MCP servers
//!
//! - **Metadata** (feature `metadata`, default): [`ProtectedResourceMetadata`] builds the RFC 9728
//!   document, serves it from its well-known URL ([`ProtectedResourceMetadata::router`]) and
//!   configures the layer ([`BearerAuth::protected_resource`]), so the `resource_metadata` of every
//!   401 is a URL the server answers.
//! - **Sessions**: [`AuthenticatedUser::authorization_context`] gives the principal
//!   `(client_id, issuer, subject)`. [`mcp::SessionBindingLayer`] binds each `Mcp-Session-Id` to it,
//!   so a session is only usable with the credential that created it (another principal gets the
//!   same 404 as an unknown session); [`mcp::StateHandles`] does the same for MCP 2026-07-28 state
//!   handles; [`SessionOwners`] is the bounded in-memory [`SessionStore`] behind both ideas.
//! - **Order of layers**: `BearerAuth` outermost, scope guards inside it (`route_layer`).
//!
//! # 6. Verifiers that ship with the crate
//!
//! | verifier | feature | for |
//! |---|---|---|
//! | [`StaticVerifier`] | — | development tokens, tests |
//! | [`verifier_fn`] | — | your own lookup as a closure |
//! | `JwtVerifier` | `jwt` (default) | RFC 9068 JWT access tokens with static keys |
//! | `JwtVerifier` with `.jwks_url(..)` / `.discover(issuer)` | `jwks` | keys from the authorization server, rotation, RFC 8414 / OIDC discovery |
//! | `MultiIssuerVerifier` | `jwt` | several issuers, routed by `iss` |
//! | `IntrospectionVerifier` | `introspection` | opaque tokens, RFC 7662 |
//! | `CachedVerifier` | `cache` | a bounded cache of answers in front of any verifier |
//!
//! A verifier that depends on a remote server can be checked before serving:
//! [`TokenVerifier::warm_up`] loads the keys (or calls the introspection endpoint) and fails on a
//! wrong issuer, URL or credential, instead of a 503 on every request later.
//!
//! # 7. The testing kit
//!
//! With the `testing` feature, `testing::TestIssuer` is a real authorization server on 127.0.0.1
//! (JWKS, discovery, introspection, token minting, key rotation, fault injection): wire a
//! `JwtVerifier` to it and test your protected routes over the real code path, no mocks.
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, body::Body, http::{Request, StatusCode}, routing::get};
//! use axum_bearer::{AuthenticatedUser, BearerAuth, JwtVerifier, testing::TestIssuer};
//! use tower::ServiceExt;
//!
//! let issuer = TestIssuer::start().await?;
//! let verifier = JwtVerifier::builder()
//!     .issuer(issuer.issuer())
//!     .audience("https://api.example/mcp")
//!     .jwks_url(issuer.jwks_url())?
//!     .build()?;
//! let app = Router::new()
//!     .route("/whoami", get(|user: AuthenticatedUser| async move { user.client_id().to_owned() }))
//!     .layer(BearerAuth::new(verifier));
//!
//! let token = issuer.mint(issuer.claims_for("https://api.example/mcp"));
//! let request = Request::get("/whoami").header("authorization", format!("Bearer {token}")).body(Body::empty())?;
//! assert_eq!(app.oneshot(request).await?.status(), StatusCode::OK);
//! # Ok(()) }
//! # #[cfg(feature = "testing")]
//! # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
//! ```
//!
//! # 8. Logs
//!
//! The crate logs with [`tracing`](https://docs.rs/tracing) under the target `axum_bearer`. DEBUG
//! says why each request was refused (malformed credentials, the verifier's reason, expired, "the
//! token names no resource", issued for another resource); WARN, a verifier that is unavailable;
//! ERROR, a server bug (a missing or misordered layer, an invalid scope name). A token never
//! appears in a log line, a `Debug` output or an error message. For example
//! `RUST_LOG=axum_bearer=debug` with `tracing-subscriber`'s `EnvFilter`.
//!
//! # 9. Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `jwt` | yes | `JwtVerifier` with static keys, `MultiIssuerVerifier` |
//! | `aws-lc-rs` | yes | the crypto backend of `jwt` |
//! | `rust-crypto` | no | the pure-Rust backend of `jwt` instead (aws-lc-rs wins when both are on) |
//! | `metadata` | yes | [`ProtectedResourceMetadata`] (RFC 9728), its URL and router |
//! | `jwks` | no | remote keys: `JwtVerifierBuilder::jwks_url`, `discover`, rotation |
//! | `introspection` | no | `IntrospectionVerifier` (RFC 7662) |
//! | `cache` | no | `CachedVerifier` |
//! | `testing` | no | `testing::TestIssuer` and friends |
//! | `rmcp` | no | `AuthenticatedUser` and `mcp::OptionalUser` as rmcp tool parameters |
//! | `dpop` | no | DPoP (RFC 9449) building blocks: proof checks, replay store, stateless nonces |
//!
//! Each item that needs a feature says so on docs.rs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code, unreachable_pub)]
#![warn(missing_docs, missing_debug_implementations)]

mod auth;
mod challenge;
mod clock;
mod config;
mod context;
mod credentials;
#[cfg(feature = "jwt")]
mod crypto;
mod error;
mod extract;
mod possession;
mod profile;
mod rejection;
mod resource;
mod scopes;
mod session;
mod token;
mod verifier;

#[cfg(feature = "dpop")]
#[cfg_attr(docsrs, doc(cfg(feature = "dpop")))]
pub mod dpop;
pub mod mcp;
#[cfg(feature = "metadata")]
#[cfg_attr(docsrs, doc(cfg(feature = "metadata")))]
pub mod metadata;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use auth::{
    BearerAuth, BearerAuthFuture, BearerAuthService, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN,
};
pub use context::AuthorizationContext;
pub use error::ConfigError;
pub use extract::AuthenticatedUser;
#[cfg(feature = "metadata")]
pub use metadata::ProtectedResourceMetadata;
pub use possession::AuthScheme;
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

/// README.md's samples, compiled and run as doctests.
#[cfg(all(
    doctest,
    feature = "jwks",
    feature = "introspection",
    feature = "cache",
    feature = "metadata"
))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The bound behind the "needs the `jwks` feature" compile error; not public API.
#[cfg(all(feature = "jwt", not(feature = "jwks")))]
#[doc(hidden)]
pub use verifier::jwt::feature_hint::NeedsJwksFeature as __NeedsJwksFeature;

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
