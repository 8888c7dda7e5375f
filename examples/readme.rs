use axum::{
    Router,
    routing::{get, post},
};
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, RequireScopes, RequireScopesLayer, StaticVerifier,
    scopes,
};

scopes!(pub Write = "notes:write"); // a marker type; scope tokens checked at compile time

async fn whoami(user: AuthenticatedUser) -> String {
    format!("{} {:?}\n", user.client_id(), user.scopes())
}

async fn write(user: RequireScopes<Write>) -> String {
    // RequireScopes derefs to AuthenticatedUser.
    format!("written by {}\n", user.client_id())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A development token, issued for this server's resource identifier (RFC 8707).
    let dev_token = AccessToken::new("dev-token", "dev-client", ["notes:read", "mcp:read"])
        .with_resource("https://notes.example/api");
    let verifier = StaticVerifier::new([dev_token]);
    // Only tokens issued for this resource pass.
    let auth = BearerAuth::new(verifier).resource_server_url("https://notes.example/api")?;
    let app = Router::new()
        .route("/whoami", get(whoami))
        .route("/notes", post(write))
        .route(
            "/mcp",
            post(|| async { "mcp\n" }).route_layer(RequireScopesLayer::new(["mcp:read"])?),
        )
        .layer(auth);
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
