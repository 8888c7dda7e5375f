//! An rmcp streamable-HTTP MCP server behind axum-bearer: `cargo run -p rmcp-server-example`.
//!
//! It makes a random development token (client `rmcp-dev-client`, scope `mcp:read`), serves the
//! MCP endpoint at `/mcp` on 127.0.0.1 (port from `PORT`, default 3003; `PORT=0` picks a free
//! one) with `Profile::Spec`, and prints curl lines: `initialize` with the token (200), without it
//! (401 and its challenge), and a `tools/call` of `whoami`, whose answer names the client.

use std::{env, net::SocketAddr};

use axum_bearer::{AccessToken, BearerAuth, Profile, StaticVerifier};
use rand::{Rng, distr::Alphanumeric};
use rmcp_server_example::{MCP_SCOPE, app};

/// The client id of the development token.
const DEV_CLIENT: &str = "rmcp-dev-client";

fn dev_token() -> String {
    let random: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("dev-{random}")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = env::var("PORT").map_or(Ok(3003), |port| port.parse())?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let base = format!("http://{}", listener.local_addr()?);

    let token = dev_token();
    let verifier = StaticVerifier::new([
        AccessToken::new(&token, DEV_CLIENT, [MCP_SCOPE]).with_subject("dev-user")
    ]);
    let auth = BearerAuth::new(verifier)
        .profile(Profile::Spec)
        .resource_metadata_url(format!("{base}/.well-known/oauth-protected-resource/mcp"))?;
    let app = app(auth)?;

    let mcp = format!("{base}/mcp");
    let headers =
        "-H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream'";
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}"#;
    let whoami = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#;

    println!("rmcp server behind axum-bearer (Spec profile) listening on {mcp}");
    println!("dev token ({DEV_CLIENT}, scope {MCP_SCOPE}): {token}");
    println!();
    println!("# 200: initialize with the token");
    println!("curl -i {headers} -H 'Authorization: Bearer {token}' -d '{initialize}' {mcp}");
    println!("# 401: no token (WWW-Authenticate names the scope and the metadata URL)");
    println!("curl -i {headers} -d '{initialize}' {mcp}");
    println!("# 200: the whoami tool names the caller (stateless: no session header needed)");
    println!("curl -i {headers} -H 'Authorization: Bearer {token}' -d '{whoami}' {mcp}");
    println!();
    println!("Ctrl-C to stop.");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
