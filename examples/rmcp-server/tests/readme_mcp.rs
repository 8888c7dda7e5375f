//! The README's "Securing an MCP server" sample, compiled and served: it must work when pasted.

// -- the README sample, from here --
use axum::Router;
use axum_bearer::{
    AuthenticatedUser, BearerAuth, Profile, ProtectedResourceMetadata, RequireScopesLayer,
    TokenVerifier,
    mcp::{OperationScopes, SessionBindingLayer},
};
use rmcp::{
    ServerHandler,
    handler::server::router::tool::ToolRouter,
    model::{ServerCapabilities, ServerConfig},
    tool, tool_handler, tool_router,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
    },
};

#[derive(Clone)]
struct Notes {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Notes {
    /// The caller is a tool parameter (feature `rmcp` of axum-bearer).
    #[tool(description = "Who is calling")]
    async fn whoami(&self, user: AuthenticatedUser) -> String {
        format!("{} {:?}", user.client_id(), user.scopes())
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Notes {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// `resource` is the URL clients call, e.g. `https://notes.example/mcp`.
fn app(
    verifier: impl TokenVerifier,
    resource: &str,
    host: &str,
) -> Result<Router, Box<dyn std::error::Error>> {
    let metadata = ProtectedResourceMetadata::new(resource, ["https://auth.example"])?
        .with_scopes_supported(["mcp:read", "mcp:admin"])?;
    // 1. Outermost: the Spec profile, configured from the metadata it serves, verifying the
    //    token before rmcp runs so tools can declare the caller.
    let auth = BearerAuth::new(verifier)
        .profile(Profile::Spec)
        .protected_resource(&metadata)?
        .verify_eagerly();
    let mcp = StreamableHttpService::new(
        || {
            Ok(Notes {
                tool_router: Notes::tool_router(),
            })
        },
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default().with_allowed_hosts([host]),
    );
    Ok(Router::new()
        .route_service("/mcp", mcp)
        // 4. Innermost: each Mcp-Session-Id is usable by its creator only.
        .route_layer(SessionBindingLayer::new())
        // 3. Per-operation scopes: the step-up 403 for the tools that need more.
        .route_layer(
            OperationScopes::new(["mcp:read"])?.tool("admin_echo", ["mcp:read", "mcp:admin"])?,
        )
        // 2. Every MCP request needs mcp:read; no token → the 401 that starts OAuth.
        .route_layer(RequireScopesLayer::new(["mcp:read"])?)
        // Public: the RFC 9728 document every challenge announces.
        .merge(metadata.router())
        .layer(auth))
}
// -- to here --

use axum_bearer::{AccessToken, StaticVerifier};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

async fn get(authority: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(authority).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    raw
}

#[tokio::test]
async fn the_readme_sample_serves_its_metadata_and_challenges() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    let resource = format!("http://{authority}/mcp");
    let verifier = StaticVerifier::new([
        AccessToken::new("t", "notes-app", ["mcp:read"]).with_resource(&resource)
    ]);
    let router = app(verifier, &resource, "127.0.0.1").unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let challenge = get(
        &authority,
        &format!(
            "POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
             Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        ),
    )
    .await;
    let metadata_url = format!("http://{authority}/.well-known/oauth-protected-resource/mcp");
    assert!(challenge.starts_with("HTTP/1.1 401"), "{challenge}");
    assert!(
        challenge.contains(&format!(
            "www-authenticate: Bearer scope=\"mcp:read\", resource_metadata=\"{metadata_url}\""
        )),
        "{challenge}"
    );

    let document = get(
        &authority,
        &format!(
            "GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: {authority}\r\n\
             Connection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(document.starts_with("HTTP/1.1 200"), "{document}");
    assert!(
        document.contains(&format!("\"resource\":\"{resource}\"")),
        "{document}"
    );
}

/// The sample above is the README's, byte for byte.
#[test]
fn the_sample_is_the_readme_text() {
    let readme = include_str!("../../../README.md");
    let this = include_str!("readme_mcp.rs");
    let start = "// -- the README sample, from here --\n";
    let sample =
        &this[this.find(start).unwrap() + start.len()..this.find("// -- to here --").unwrap()];
    let section = &readme[readme.find("## Securing an MCP server").unwrap()..];
    let block = &section[section.find("```rs\n").unwrap() + "```rs\n".len()..];
    let block = &block[..block.find("```\n").unwrap()];
    assert_eq!(
        block, sample,
        "README's MCP sample and tests/readme_mcp.rs differ"
    );
}
