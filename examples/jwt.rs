//! JWT access tokens from a (loopback) authorization server:
//! `cargo run --example jwt --features testing`.
//!
//! Starts the crate's test authorization server on 127.0.0.1 (it publishes a JWKS and RFC 8414 /
//! OpenID discovery documents), protects an API with a `JwtVerifier` that discovers the keys from
//! that issuer, and prints tokens to try: a valid one, one for another audience, an expired one.

use std::{env, net::SocketAddr, time::Duration};

use axum::{Router, routing::get};
use axum_bearer::{
    AuthenticatedUser, BearerAuth, JwtVerifier, Profile, RequireScopesLayer, testing::TestIssuer,
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
    let port: u16 = env::var("PORT").map_or(Ok(3001), |port| port.parse())?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let resource = format!("{base}/mcp");

    let issuer = TestIssuer::start().await?;
    let verifier = JwtVerifier::builder()
        .discover(issuer.issuer())? // RFC 8414 metadata → jwks_uri; `iss` must match
        .audience(&resource) // RFC 8707: only tokens issued for this server
        .leeway(Duration::from_secs(30))
        .build()?;
    let auth = BearerAuth::new(verifier)
        .profile(Profile::Spec)
        .resource_server_url(&resource)?;

    let app = Router::new()
        .route("/whoami", get(whoami))
        .route(
            "/mcp",
            get(whoami).route_layer(RequireScopesLayer::new(["mcp:read"])?),
        )
        .layer(auth);

    let mut claims = issuer.claims_for(&resource);
    claims["exp"] = json!(claims["exp"].as_i64().unwrap_or_default() + 3300); // an hour
    let valid = issuer.mint(claims.clone());
    let mut other = claims.clone();
    other["aud"] = json!("https://other.example/mcp");
    let foreign = issuer.mint(other);
    let mut old = claims;
    old["exp"] = json!(1_000_000_000);
    let expired = issuer.mint(old);

    println!(
        "JWT example listening on {base}; issuer {}",
        issuer.issuer()
    );
    println!("# 200: a token for this server");
    println!("curl -i -H 'Authorization: Bearer {valid}' {base}/mcp");
    println!("# 401: a token for another resource");
    println!("curl -i -H 'Authorization: Bearer {foreign}' {base}/mcp");
    println!("# 401: an expired token");
    println!("curl -i -H 'Authorization: Bearer {expired}' {base}/mcp");
    println!("Ctrl-C to stop.");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
