//! A complete MCP-style resource server: `cargo run --example mcp_server [-- --spec]`.
//!
//! - RFC 9728 metadata at `/.well-known/oauth-protected-resource/mcp`, and every 401 points at it;
//! - `/mcp` needs `mcp:read` (a runtime scope layer, the reference's `RequireAuthMiddleware`);
//! - the `admin/reset` method steps up: it needs `mcp:write` too, and answers the 403 that tells
//!   the client which scopes to ask for;
//! - sessions (`mcp-session-id`) are bound to the principal that created them by
//!   `mcp::SessionBindingLayer`: another credential gets the same 404 as an unknown session, and
//!   the handler only ever sees its own caller's sessions.
//!
//! It needs no setup: two random development tokens are printed with curl lines to try.
//! `--spec` switches to `Profile::Spec` (RFC 6750 / MCP 2026-07-28 challenges).

use std::{env, net::SocketAddr};

use axum::{
    Json, Router,
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, Profile, ProtectedResourceMetadata,
    RequireScopesLayer, StaticVerifier, mcp::SessionBindingLayer,
};
use rand::{Rng, distr::Alphanumeric};
use serde_json::{Value, json};

const SESSION_HEADER: &str = "mcp-session-id";

fn random(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// One JSON-RPC request on `/mcp`. `AuthenticatedUser` is already guaranteed by the route layer,
/// and a session id in the request by `SessionBindingLayer` to be the caller's own.
async fn mcp(user: AuthenticatedUser, headers: HeaderMap, Json(request): Json<Value>) -> Response {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default();

    let session = match headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        // Checked by the layer: it was created by this caller.
        Some(session) => session.to_owned(),
        // Announcing it in the response binds it to this caller (the layer again).
        None if method == "initialize" => random(32),
        None => {
            return (StatusCode::BAD_REQUEST, "mcp-session-id required").into_response();
        }
    };

    let result = match method {
        "initialize" => json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "axum-bearer mcp_server example", "version": "0.1.0"},
        }),
        "tools/list" => json!({"tools": [
            {"name": "whoami", "description": "Who is calling", "inputSchema": {"type": "object"}},
        ]}),
        "tools/call" => json!({"content": [{"type": "text", "text": format!(
            "client {} subject {} scopes [{}]",
            user.client_id(),
            user.subject().unwrap_or("-"),
            user.scopes().join(" "),
        )}]}),
        "admin/reset" => {
            // Step-up: this method needs a second scope; the rejection is the profile's 403.
            if let Err(rejection) = user.require_scopes(["mcp:read", "mcp:write"]) {
                return rejection.into_response();
            }
            json!({"reset": true})
        }
        _ => {
            let error = json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}});
            return (StatusCode::OK, Json(error)).into_response();
        }
    };
    let mut response = Json(json!({"jsonrpc": "2.0", "id": id, "result": result})).into_response();
    if let Ok(value) = HeaderValue::from_str(&session) {
        response.headers_mut().insert(SESSION_HEADER, value);
    }
    response
}

/// Ends a session. Only its creator gets here (a stranger gets the layer's 404), and the layer
/// forgets the session after this 204.
async fn end_session(headers: HeaderMap) -> Response {
    match headers.get(SESSION_HEADER) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => (StatusCode::BAD_REQUEST, "mcp-session-id required").into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let profile = if env::args().any(|arg| arg == "--spec") {
        Profile::Spec
    } else {
        Profile::PythonSdk
    };
    let port: u16 = env::var("PORT").map_or(Ok(3004), |port| port.parse())?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let resource = format!("{base}/mcp");

    let metadata = ProtectedResourceMetadata::new(&resource, ["https://auth.example.com"])?
        .with_scopes_supported(["mcp:read", "mcp:write"])?
        .with_resource_name("axum-bearer example MCP server");

    let (reader, writer) = (format!("dev-{}", random(32)), format!("dev-{}", random(32)));
    let verifier = StaticVerifier::new([
        AccessToken::new(&reader, "example-reader", ["mcp:read"])
            .with_subject("alice")
            .with_resource(&resource),
        AccessToken::new(&writer, "example-writer", ["mcp:read", "mcp:write"])
            .with_subject("bob")
            .with_resource(&resource),
    ]);
    let auth = BearerAuth::new(verifier)
        .profile(profile)
        .protected_resource(&metadata)?; // resource_metadata and the resource check, from the document

    // Outermost first: BearerAuth, the scope guard, then session binding around the handlers.
    let app = Router::new()
        .route("/mcp", post(mcp).delete(end_session))
        .route_layer(SessionBindingLayer::new())
        .route_layer(RequireScopesLayer::new(["mcp:read"])?)
        .layer(auth)
        .merge(metadata.router());

    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
    let reset = r#"{"jsonrpc":"2.0","id":2,"method":"admin/reset"}"#;
    println!("MCP example ({profile:?} profile) on {resource}");
    println!("reader token (mcp:read):           {reader}");
    println!("writer token (mcp:read mcp:write): {writer}");
    println!();
    println!("# 401 with resource_metadata, then the metadata document");
    println!("curl -i -X POST {resource} -H 'content-type: application/json' -d '{init}'");
    println!("curl -i {}", metadata.url());
    println!("# 200 and an mcp-session-id");
    println!(
        "curl -i -X POST {resource} -H 'Authorization: Bearer {reader}' -H 'content-type: application/json' -d '{init}'"
    );
    println!("# 403 step-up: the reader lacks mcp:write");
    println!(
        "curl -i -X POST {resource} -H 'Authorization: Bearer {reader}' -H 'mcp-session-id: <id>' -H 'content-type: application/json' -d '{reset}'"
    );
    println!("# 404: the writer may not use the reader's session");
    println!(
        "curl -i -X POST {resource} -H 'Authorization: Bearer {writer}' -H 'mcp-session-id: <id>' -H 'content-type: application/json' -d '{reset}'"
    );
    println!("# 204: the reader ends its session (the writer would get the same 404)");
    println!(
        "curl -i -X DELETE {resource} -H 'Authorization: Bearer {reader}' -H 'mcp-session-id: <id>'"
    );
    println!("Ctrl-C to stop.");

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
