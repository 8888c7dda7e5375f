//! An `rmcp` (the official Rust MCP SDK) streamable-HTTP server protected by `axum-bearer`.
//!
//! [`app`] nests rmcp's [`StreamableHttpService`] at `/mcp`, guards that route with
//! [`RequireScopesLayer`] (`mcp:read`) and the whole router with [`BearerAuth`]. The guard verifies
//! the token before rmcp sees the request, so a tool finds the caller in the request extensions:
//! rmcp puts the request's [`http::request::Parts`] into the [`RequestContext`]'s extensions, and
//! [`AuthenticatedUser::from_extensions`] reads the user from theirs (see [`Tools::whoami`]).
//!
//! `src/main.rs` serves it with a random development token; `tests/e2e.rs` checks it over TCP.

use axum::Router;
use axum_bearer::{AuthenticatedUser, BearerAuth, ConfigError, RequireScopesLayer};
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    handler::server::{
        router::tool::ToolRouter,
        wrapper::{Json, Parameters},
    },
    model::{ServerCapabilities, ServerConfig},
    service::RequestContext,
    tool, tool_handler, tool_router,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
    },
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The scope every MCP request needs.
pub const MCP_SCOPE: &str = "mcp:read";

/// The MCP server: two tools.
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
    /// The scopes granted to the token.
    pub scopes: Vec<String>,
}

/// The arguments of `add`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddRequest {
    /// The left-hand side.
    pub a: i64,
    /// The right-hand side.
    pub b: i64,
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
    /// The caller of this request, from the HTTP request that carried it.
    #[tool(
        description = "Who is calling: the OAuth client id, subject and scopes of the bearer token"
    )]
    pub async fn whoami(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<Caller>, ErrorData> {
        // rmcp's streamable-HTTP transport stores the request's `http::request::Parts` in the
        // context; `BearerAuth` and the scope guard left the verified user in *their* extensions.
        let user = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| AuthenticatedUser::from_extensions(&parts.extensions))
            .ok_or_else(|| {
                ErrorData::internal_error(
                    "no authenticated user: serve this over HTTP behind BearerAuth and a guard",
                    None,
                )
            })?;
        Ok(Json(Caller {
            client_id: user.client_id().to_owned(),
            subject: user.subject().map(str::to_owned),
            scopes: user.scopes().to_vec(),
        }))
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

/// The protected router: rmcp at `/mcp` (scope [`MCP_SCOPE`]), everything behind `auth`.
///
/// rmcp runs stateless with JSON responses, so every POST stands alone (no `Mcp-Session-Id` to
/// carry) and answers `application/json`: easy to drive with curl.
pub fn app(auth: BearerAuth) -> Result<Router, ConfigError> {
    let mcp = StreamableHttpService::new(
        || Ok(Tools::new()),
        NeverSessionManager::default().into(),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true),
    );
    Ok(Router::new()
        .route_service("/mcp", mcp)
        .route_layer(RequireScopesLayer::new([MCP_SCOPE])?)
        .layer(auth))
}
