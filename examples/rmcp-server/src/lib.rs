//! An `rmcp` (the official Rust MCP SDK) streamable-HTTP server protected by `axum-bearer`: the
//! flagship MCP example.
//!
//! [`app`] serves:
//!
//! - rmcp's [`StreamableHttpService`] at `/mcp`, with **stateful sessions** (`Mcp-Session-Id`),
//!   each bound to the principal that created it by [`SessionBindingLayer`];
//! - the RFC 9728 protected resource metadata its challenges announce, at
//!   `/.well-known/oauth-protected-resource/mcp`, public.
//!
//! The layers, outermost first (a request meets them in this order):
//!
//! 1. [`BearerAuth`] in [`Profile::Spec`] (only it lets clients step up: its 403 names every
//!    scope an operation needs), configured from the metadata so the two never disagree, and
//!    verifying eagerly so a tool can declare `user: AuthenticatedUser`; with
//!    [`Settings::with_dpop`], DPoP (RFC 9449) beside or instead of `Bearer`, announced in the
//!    metadata too;
//! 2. [`RequireScopesLayer`]: the base scopes (`mcp:read`) for everything on `/mcp`; without a
//!    token, the 401 that starts the client's OAuth flow;
//! 3. (per-operation scopes: `admin_echo` needs [`ADMIN_SCOPE`] too; see [`app`]);
//! 4. [`SessionBindingLayer`]: a session id is usable by its creator only (404 for anyone
//!    else);
//! 5. rmcp, whose tools read the caller as a parameter (see [`Tools::whoami`]).
//!
//! `src/main.rs` configures it from the environment (a real authorization server, or a random
//! development token, and `DPOP`); `tests/e2e.rs` checks it over TCP, `tests/dpop.rs` with
//! DPoP, and `tests/e2e_clients.rs` with the TypeScript and Python MCP clients.

use std::sync::Arc;

use axum::Router;
use axum_bearer::{
    AuthenticatedUser, BearerAuth, ConfigError, Profile, ProtectedResourceMetadata,
    RequireScopesLayer, TokenVerifier,
    dpop::Dpop,
    mcp::{OperationScopes, OptionalUser, SessionBindingLayer},
};
use rmcp::{
    ErrorData, ServerHandler,
    handler::server::{
        router::tool::ToolRouter,
        wrapper::{Json, Parameters},
    },
    model::{ServerCapabilities, ServerConfig},
    tool, tool_handler, tool_router,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The scope every MCP request needs, unless configured otherwise.
pub const MCP_SCOPE: &str = "mcp:read";

/// The extra scope of `admin_echo`: a client holding only the base scopes steps up for it.
pub const ADMIN_SCOPE: &str = "mcp:admin";

/// What the server protects, with which scopes, and whether it takes DPoP.
#[derive(Debug, Clone)]
pub struct Settings {
    metadata: ProtectedResourceMetadata,
    base_scopes: Arc<[String]>,
    dpop: Option<Dpop>,
}

impl Settings {
    /// The MCP endpoint `resource` (e.g. `http://127.0.0.1:3003/mcp`, the URL clients call and
    /// tokens must be issued for), protected by `authorization_server` (an issuer), every
    /// operation needing `base_scopes` and `admin_echo` [`ADMIN_SCOPE`] too.
    pub fn new<I, S>(
        resource: &str,
        authorization_server: &str,
        base_scopes: I,
    ) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let base_scopes: Arc<[String]> = base_scopes.into_iter().map(Into::into).collect();
        let supported = base_scopes.iter().map(String::as_str).chain([ADMIN_SCOPE]);
        let metadata = ProtectedResourceMetadata::new(resource, [authorization_server])?
            .with_scopes_supported(supported)?
            .with_resource_name("axum-bearer rmcp example");
        Ok(Self {
            metadata,
            base_scopes,
            dpop: None,
        })
    }

    /// Takes DPoP-bound tokens (RFC 9449) as `dpop` says — beside `Bearer`
    /// ([`Dpop::allowed`]) or instead of it ([`Dpop::required`]) — and announces it in the
    /// metadata (`dpop_signing_alg_values_supported`, `dpop_bound_access_tokens_required`).
    ///
    /// `dpop`'s public URL is where clients reach `/` of [`app`]: for the resource
    /// `http://127.0.0.1:3003/mcp`, it is `http://127.0.0.1:3003` (a proof's `htu` is the public
    /// URL followed by the request's path). `tests/dpop.rs` runs it required.
    #[must_use]
    pub fn with_dpop(mut self, dpop: Dpop) -> Self {
        self.metadata = self.metadata.with_dpop(&dpop);
        self.dpop = Some(dpop);
        self
    }

    /// The RFC 9728 document the server publishes.
    pub fn metadata(&self) -> &ProtectedResourceMetadata {
        &self.metadata
    }

    /// The DPoP settings, if DPoP is on.
    pub fn dpop(&self) -> Option<&Dpop> {
        self.dpop.as_ref()
    }

    /// The scopes every operation needs.
    pub fn base_scopes(&self) -> &[String] {
        &self.base_scopes
    }

    /// The scopes `admin_echo` needs: the base scopes and [`ADMIN_SCOPE`].
    pub fn admin_scopes(&self) -> Vec<String> {
        let mut scopes = self.base_scopes.to_vec();
        scopes.push(ADMIN_SCOPE.to_owned());
        scopes
    }
}

/// The MCP server's tools.
#[derive(Debug, Clone)]
pub struct Tools {
    tool_router: ToolRouter<Self>,
}

/// Who called: the answer of `whoami`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Caller {
    /// The OAuth client the token was issued to.
    pub client_id: String,
    /// The token's subject, if the verifier knows one.
    pub subject: Option<String>,
    /// The token's issuer, if the verifier knows one.
    pub issuer: Option<String>,
    /// The scopes granted to the token.
    pub scopes: Vec<String>,
    /// With DPoP: the thumbprint of the key the request proved possession of (the token's
    /// `cnf.jkt`); absent for a bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_thumbprint: Option<String>,
}

/// The arguments of `add`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddRequest {
    /// The left-hand side.
    pub a: i64,
    /// The right-hand side.
    pub b: i64,
}

/// The arguments of `admin_echo`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EchoRequest {
    /// What to echo.
    pub message: String,
}

impl Tools {
    /// The server, with its tool router.
    pub fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }
}

impl Default for Tools {
    fn default() -> Self {
        Self::new()
    }
}

#[tool_router]
impl Tools {
    /// The caller, declared as a parameter: `BearerAuth` verified the token before rmcp ran.
    #[tool(
        description = "Who is calling: the OAuth client id, subject, issuer and scopes of the access token, and with DPoP the key's thumbprint"
    )]
    pub async fn whoami(&self, user: AuthenticatedUser) -> Json<Caller> {
        Json(Caller {
            client_id: user.client_id().to_owned(),
            subject: user.subject().map(str::to_owned),
            issuer: user.issuer().map(Into::into),
            scopes: user.scopes().to_vec(),
            proof_thumbprint: user.proof_thumbprint().map(str::to_owned),
        })
    }

    /// An administrative tool: needs [`ADMIN_SCOPE`] on top of the base scopes.
    #[tool(description = "Echo a message back (needs the scope mcp:admin)")]
    pub async fn admin_echo(
        &self,
        user: AuthenticatedUser,
        Parameters(EchoRequest { message }): Parameters<EchoRequest>,
    ) -> Result<String, ErrorData> {
        // `OperationScopes` in `app` answers a call without the scope with the HTTP 403 (and the
        // client steps up) before it reaches here; this check stays as a second line.
        if !user.has_scope(ADMIN_SCOPE) {
            return Err(ErrorData::invalid_request(
                format!("admin_echo needs the scope {ADMIN_SCOPE}: re-authorize with it"),
                Some(serde_json::json!({ "missing_scope": ADMIN_SCOPE })),
            ));
        }
        Ok(message)
    }

    /// A greeting for anyone: the caller is optional.
    #[tool(description = "Say hello to the caller, if known")]
    pub async fn hello(&self, OptionalUser(user): OptionalUser) -> String {
        match user {
            Some(user) => format!("hello {}", user.client_id()),
            None => "hello stranger".to_owned(),
        }
    }

    /// A tool that needs no caller.
    #[tool(description = "Add two integers")]
    pub fn add(&self, Parameters(AddRequest { a, b }): Parameters<AddRequest>) -> String {
        a.saturating_add(b).to_string()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions("An MCP server behind axum-bearer: call `whoami` to see your token.")
    }
}

/// The [`BearerAuth`] of the example: [`Profile::Spec`], configured from the metadata (its
/// challenges announce the document's URL, and only tokens for the resource pass), verifying
/// eagerly so tools can declare the caller as a parameter; with DPoP when the settings say so.
pub fn bearer_auth(
    verifier: impl TokenVerifier,
    settings: &Settings,
) -> Result<BearerAuth, ConfigError> {
    let auth = BearerAuth::new(verifier)
        .profile(Profile::Spec)
        .protected_resource(settings.metadata())?
        .verify_eagerly();
    Ok(match settings.dpop() {
        Some(dpop) => auth.dpop(dpop.clone()),
        None => auth,
    })
}

/// rmcp's streamable-HTTP service with stateful sessions (SSE responses), accepting the
/// loopback hosts and `resource`'s host.
pub fn mcp_service(
    resource_host: Option<&str>,
) -> StreamableHttpService<Tools, LocalSessionManager> {
    let mut config = StreamableHttpServerConfig::default().with_legacy_session_mode(true);
    if let Some(host) = resource_host {
        config.allowed_hosts.push(host.to_owned());
    }
    StreamableHttpService::new(
        || Ok(Tools::new()),
        LocalSessionManager::default().into(),
        config,
    )
}

/// The whole server: `/mcp` and its metadata, protected by `verifier`.
pub fn app(verifier: impl TokenVerifier, settings: &Settings) -> Result<Router, ConfigError> {
    let resource_host = settings
        .metadata()
        .resource()
        .parse::<http::Uri>()
        .ok()
        .and_then(|uri| uri.host().map(str::to_owned));
    let base = RequireScopesLayer::new(settings.base_scopes())?;
    Ok(Router::new()
        .route_service("/mcp", mcp_service(resource_host.as_deref()))
        // Innermost: a session is usable by its creator only.
        .route_layer(SessionBindingLayer::new())
        // Per-operation scopes: admin_echo needs mcp:admin too; without it, the step-up 403
        // naming every scope it needs, before rmcp sees the call.
        .route_layer(
            OperationScopes::new(settings.base_scopes())?
                .tool("admin_echo", settings.admin_scopes())?,
        )
        // Every operation needs the base scopes; no token → the 401 that starts OAuth.
        .route_layer(base)
        // Public: the document the challenges announce.
        .merge(settings.metadata().router())
        .layer(bearer_auth(verifier, settings)?))
}
