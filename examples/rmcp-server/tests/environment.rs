//! The binary configured by its environment for a real authorization server: the crate's
//! loopback issuer, over plain http on 127.0.0.1 (introspection, with and without client
//! credentials; JWTs by discovery).

mod common;

use std::process::Stdio;

use axum_bearer::testing::TestIssuer;
use common::{example_command, send};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Child,
};

/// Starts the binary with `env`; the child (killed on drop) and its MCP URL, read from the
/// `listening on` line.
async fn start(env: &[(&str, &str)]) -> (Child, String) {
    let mut child = example_command(env)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some((_, url)) = line.split_once("listening on ") {
            let url = url.trim().to_owned();
            // Keep draining stdout so the child never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (child, url);
        }
    }
    panic!("the example exited before listening");
}

/// A JSON-RPC POST to `mcp`: status, `Mcp-Session-Id`, and the JSON-RPC message (JSON or SSE).
async fn post(
    mcp: &str,
    token: Option<&str>,
    session: Option<&str>,
    message: Value,
) -> (u16, Option<String>, Option<Value>) {
    let base = mcp.trim_end_matches("/mcp");
    let bearer = token.map(|token| format!("Bearer {token}"));
    let mut headers = Vec::new();
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer.as_str()));
    }
    if let Some(session) = session {
        headers.push(("Mcp-Session-Id", session));
    }
    let reply = send(base, "POST", "/mcp", &headers, Some(&message)).await;
    let message = (!reply.body.trim().is_empty()).then(|| reply.json());
    let session = reply.header("mcp-session-id").map(str::to_owned);
    (reply.status, session, message)
}

/// Initialize, initialized, then `whoami` as `token`: the caller `whoami` reports.
async fn whoami(mcp: &str, token: &str) -> Value {
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "env", "version": "1" }
        }
    });
    let (status, session, _) = post(mcp, Some(token), None, initialize).await;
    assert_eq!(status, 200);
    let session = session.expect("a session id");
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    let (status, _, _) = post(mcp, Some(token), Some(&session), initialized).await;
    assert_eq!(status, 202);
    let call = json!({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": "whoami", "arguments": {} }
    });
    let (status, _, message) = post(mcp, Some(token), Some(&session), call).await;
    assert_eq!(status, 200);
    let message = message.expect("a JSON-RPC response");
    message["result"]["structuredContent"].clone()
}

#[tokio::test]
async fn introspection_with_and_without_client_credentials() {
    let issuer = TestIssuer::start().await.unwrap();
    let endpoint = issuer.introspection_url();

    // No client credentials in the environment: introspect without client authentication.
    let (_child, mcp) = start(&[
        ("INTROSPECTION_URL", &endpoint),
        ("AUTH_SERVER_URL", issuer.issuer()),
    ])
    .await;
    issuer.register_token("opaque-1", issuer.introspection_for(&mcp));
    assert_eq!(
        whoami(&mcp, "opaque-1").await,
        json!({
            "client_id": "client-1",
            "subject": "user-1",
            "issuer": issuer.issuer(),
            "scopes": ["mcp:read"],
        })
    );
    let (status, _, _) = post(&mcp, Some("unknown"), None, json!({})).await;
    assert_eq!(status, 401);

    // client_secret_basic when both are given.
    issuer.set_introspection_client("rs-client", "rs-secret");
    let (_child, mcp) = start(&[
        ("INTROSPECTION_URL", &endpoint),
        ("INTROSPECTION_CLIENT_ID", "rs-client"),
        ("INTROSPECTION_CLIENT_SECRET", "rs-secret"),
    ])
    .await;
    issuer.register_token("opaque-2", issuer.introspection_for(&mcp));
    assert_eq!(whoami(&mcp, "opaque-2").await["client_id"], "client-1");
    let last = issuer.introspection_requests().pop().unwrap();
    assert_eq!(last.form_value("token"), Some("opaque-2"));
}

#[tokio::test]
async fn jwts_from_a_discovered_issuer_for_the_resource() {
    let issuer = TestIssuer::start().await.unwrap();
    let (_child, mcp) = start(&[("JWT_ISSUER", issuer.issuer())]).await;
    let token = issuer.mint(issuer.claims_for(&mcp));
    assert_eq!(whoami(&mcp, &token).await["subject"], "user-1");

    // A JWT for another audience is refused.
    let elsewhere = issuer.mint(issuer.claims_for("https://elsewhere.example/mcp"));
    let (status, _, _) = post(&mcp, Some(&elsewhere), None, json!({})).await;
    assert_eq!(status, 401);
}
