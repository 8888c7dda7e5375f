//! Opaque access tokens checked by token introspection (RFC 7662):
//! `cargo run --example introspection --features introspection,testing,cache`.
//!
//! Starts the crate's loopback authorization server, whose introspection endpoint requires this
//! resource server's client credentials and knows a few opaque tokens; then protects an API with
//! an `IntrospectionVerifier` behind a `CachedVerifier` (one introspection per token per minute at
//! most, never past the token's `exp`), and prints curl lines for a 200 and two 401s. Port from
//! `PORT` (default 3002; `PORT=0` picks a free one).

use std::{env, net::SocketAddr, time::Duration};

use axum::{Router, routing::get};
use axum_bearer::{
    AuthenticatedUser, BearerAuth, CachedVerifier, IntrospectionVerifier, Profile,
    RequireScopesLayer, testing::TestIssuer,
};
use serde_json::json;

async fn whoami(user: AuthenticatedUser) -> String {
    format!(
        "client {} subject {} issuer {} scopes [{}]\n",
        user.client_id(),
        user.subject().unwrap_or("-"),
        user.issuer().unwrap_or_default(),
        user.scopes().join(" ")
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = env::var("PORT").map_or(Ok(3002), |port| port.parse())?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let resource = format!("{base}/mcp");

    // The authorization server: it authenticates us, and knows three opaque tokens.
    let issuer = TestIssuer::start().await?;
    issuer.set_introspection_client("notes-api", "notes-api-secret");
    let mut active = issuer.introspection_for(&resource);
    active["exp"] = json!(active["iat"].as_i64().unwrap_or_default() + 3600);
    issuer.register_token("opaque-good-token", active.clone());
    let mut foreign = active.clone();
    foreign["aud"] = json!("https://other.example/mcp");
    issuer.register_token("opaque-foreign-token", foreign);
    // Anything else introspects to {"active": false}.

    // The resource server.
    let introspection = IntrospectionVerifier::builder(issuer.introspection_url())?
        .client_secret_basic("notes-api", "notes-api-secret")
        .token_type_hint("access_token")
        .issuer(issuer.issuer())
        .audience(&resource) // RFC 8707: only tokens issued for this server
        .timeout(Duration::from_secs(3))
        .build()?;
    let verifier = CachedVerifier::builder(introspection)
        .max_entries(10_000)
        .ttl(Duration::from_secs(60))
        .build();
    let auth = BearerAuth::new(verifier)
        .profile(Profile::Spec)
        .resource_server_url(&resource)?;
    let app = Router::new()
        .route(
            "/mcp",
            get(whoami).route_layer(RequireScopesLayer::new(["mcp:read"])?),
        )
        .layer(auth);

    println!(
        "Introspection example listening on {base}; authorization server {}",
        issuer.issuer()
    );
    println!("# 200: an active token for this server (introspected once, then cached)");
    println!("curl -i -H 'Authorization: Bearer opaque-good-token' {resource}");
    println!("# 401: an active token for another resource");
    println!("curl -i -H 'Authorization: Bearer opaque-foreign-token' {resource}");
    println!("# 401: a token the authorization server does not know");
    println!("curl -i -H 'Authorization: Bearer opaque-unknown-token' {resource}");
    println!("Ctrl-C to stop.");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
