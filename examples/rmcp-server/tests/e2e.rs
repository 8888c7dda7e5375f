//! The example over real TCP: rmcp's streamable-HTTP service (stateful sessions) behind
//! `BearerAuth` on 127.0.0.1:0, with the metadata it announces.

mod common;

use axum_bearer::{AccessToken, StaticVerifier};
use common::{Reply, send};
use rmcp_server_example::{Settings, app};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const TOKEN: &str = "e2e-token";
const ADMIN_TOKEN: &str = "e2e-admin-token";
const OTHER_TOKEN: &str = "e2e-other-token";
const NO_SCOPE_TOKEN: &str = "e2e-no-scope";
const ELSEWHERE_TOKEN: &str = "e2e-elsewhere";
const AUTH_SERVER: &str = "https://auth.example.com";

/// Serves the example's router on a free port; the base URL (`http://127.0.0.1:port`).
async fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let resource = format!("{base}/mcp");
    let verifier = StaticVerifier::new([
        AccessToken::new(TOKEN, "e2e-client", ["mcp:read"])
            .with_subject("e2e-user")
            .with_resource(&resource)
            .with_claim("iss", AUTH_SERVER),
        AccessToken::new(ADMIN_TOKEN, "e2e-admin", ["mcp:read", "mcp:admin"])
            .with_resource(&resource),
        AccessToken::new(OTHER_TOKEN, "e2e-other", ["mcp:read"])
            .with_subject("e2e-user")
            .with_resource(&resource)
            .with_claim("iss", AUTH_SERVER),
        AccessToken::new(NO_SCOPE_TOKEN, "e2e-no-scope", ["notes:read"]).with_resource(&resource),
        AccessToken::new(ELSEWHERE_TOKEN, "e2e-client", ["mcp:read"])
            .with_resource("https://elsewhere.example/mcp"),
    ]);
    let settings = Settings::new(&resource, AUTH_SERVER, ["mcp:read"]).unwrap();
    let router = app(verifier, &settings).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// One JSON-RPC POST to `/mcp`, with a token and a session id if given.
async fn post(base: &str, token: Option<&str>, session: Option<&str>, message: Value) -> Reply {
    let bearer = token.map(|token| format!("Bearer {token}"));
    let mut headers = Vec::new();
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer.as_str()));
    }
    if let Some(session) = session {
        headers.push(("Mcp-Session-Id", session));
    }
    send(base, "POST", "/mcp", &headers, Some(&message)).await
}

fn initialize() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "e2e", "version": "1" }
        }
    })
}

fn call(id: u32, tool: &str, arguments: Value) -> Value {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": { "name": tool, "arguments": arguments }
    })
}

/// Initializes a session as `token`; its id.
async fn open_session(base: &str, token: &str) -> String {
    let reply = post(base, Some(token), None, initialize()).await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.head, reply.body);
    let session = reply
        .header("mcp-session-id")
        .unwrap_or_else(|| panic!("no Mcp-Session-Id: {}", reply.head))
        .to_owned();
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    let reply = post(base, Some(token), Some(&session), initialized).await;
    assert_eq!(reply.status, 202, "{}\n{}", reply.head, reply.body);
    session
}

#[tokio::test]
async fn without_a_token_the_challenge_names_scope_and_metadata() {
    let base = serve().await;
    let reply = post(&base, None, None, initialize()).await;
    assert_eq!(reply.status, 401, "{}", reply.head);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(
            format!(
                "Bearer scope=\"mcp:read\", \
                 resource_metadata=\"{base}/.well-known/oauth-protected-resource/mcp\""
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn the_metadata_it_announces_is_served() {
    let base = serve().await;
    let reply = send(
        &base,
        "GET",
        "/.well-known/oauth-protected-resource/mcp",
        &[],
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.head, reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let document = reply.json();
    assert_eq!(document["resource"], format!("{base}/mcp"));
    assert_eq!(document["authorization_servers"], json!([AUTH_SERVER]));
    assert_eq!(
        document["scopes_supported"],
        json!(["mcp:read", "mcp:admin"])
    );
}

#[tokio::test]
async fn a_refused_token_gets_invalid_token() {
    let base = serve().await;
    let reply = post(&base, Some("not-a-token"), None, initialize()).await;
    assert_eq!(reply.status, 401, "{}", reply.head);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\""),
        "{}",
        reply.head
    );
}

#[tokio::test]
async fn a_token_for_another_resource_gets_invalid_token() {
    let base = serve().await;
    let reply = post(&base, Some(ELSEWHERE_TOKEN), None, initialize()).await;
    assert_eq!(reply.status, 401, "{}", reply.head);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\""),
        "{}",
        reply.head
    );
}

#[tokio::test]
async fn a_token_without_the_scope_gets_403() {
    let base = serve().await;
    let reply = post(&base, Some(NO_SCOPE_TOKEN), None, initialize()).await;
    assert_eq!(reply.status, 403, "{}", reply.head);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"insufficient_scope\""),
        "{}",
        reply.head
    );
}

#[tokio::test]
async fn initialize_returns_a_session_that_later_calls_carry() {
    let base = serve().await;
    let reply = post(&base, Some(TOKEN), None, initialize()).await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.head, reply.body);
    assert!(reply.header("mcp-session-id").is_some(), "{}", reply.head);
    let body = reply.json();
    assert_eq!(body["id"], 1);
    assert_eq!(body["result"]["protocolVersion"], "2025-06-18");
    assert!(
        body["result"]["capabilities"]["tools"].is_object(),
        "{body}"
    );

    let session = open_session(&base, TOKEN).await;
    let reply = post(
        &base,
        Some(TOKEN),
        Some(&session),
        call(2, "whoami", json!({})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.head, reply.body);
    let body = reply.json();
    assert_eq!(body["id"], 2);
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert_eq!(
        body["result"]["structuredContent"],
        json!({
            "client_id": "e2e-client",
            "subject": "e2e-user",
            "issuer": AUTH_SERVER,
            "scopes": ["mcp:read"],
        })
    );
}

#[tokio::test]
async fn another_principal_with_the_session_id_gets_404() {
    let base = serve().await;
    let session = open_session(&base, TOKEN).await;

    // Same subject and issuer, another client: another principal.
    let stolen = post(
        &base,
        Some(OTHER_TOKEN),
        Some(&session),
        call(2, "whoami", json!({})),
    )
    .await;
    assert_eq!(stolen.status, 404, "{}\n{}", stolen.head, stolen.body);
    assert_eq!(stolen.body, axum_bearer::SESSION_NOT_FOUND_BODY);

    // A stranger's DELETE never reaches rmcp: the session survives it.
    let bearer = format!("Bearer {OTHER_TOKEN}");
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Mcp-Session-Id", session.as_str()),
    ];
    let deleted = send(&base, "DELETE", "/mcp", &headers, None).await;
    assert_eq!(deleted.status, 404, "{}", deleted.head);

    let mine = post(
        &base,
        Some(TOKEN),
        Some(&session),
        call(3, "whoami", json!({})),
    )
    .await;
    assert_eq!(mine.status, 200, "{}\n{}", mine.head, mine.body);
    assert_eq!(
        mine.json()["result"]["structuredContent"]["client_id"],
        "e2e-client"
    );
}

#[tokio::test]
async fn the_creator_ends_the_session() {
    let base = serve().await;
    let session = open_session(&base, TOKEN).await;
    let bearer = format!("Bearer {TOKEN}");
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Mcp-Session-Id", session.as_str()),
    ];
    let deleted = send(&base, "DELETE", "/mcp", &headers, None).await;
    assert!(
        (200..300).contains(&deleted.status),
        "{}\n{}",
        deleted.head,
        deleted.body
    );
    let after = post(
        &base,
        Some(TOKEN),
        Some(&session),
        call(2, "whoami", json!({})),
    )
    .await;
    assert_eq!(after.status, 404, "{}\n{}", after.head, after.body);
}

#[tokio::test]
async fn admin_echo_needs_the_admin_scope() {
    let base = serve().await;

    let session = open_session(&base, TOKEN).await;
    let refused = post(
        &base,
        Some(TOKEN),
        Some(&session),
        call(2, "admin_echo", json!({ "message": "hi" })),
    )
    .await;
    // The step-up 403, before rmcp sees the call: `scope` names every scope the tool needs.
    assert_eq!(refused.status, 403, "{}\n{}", refused.head, refused.body);
    let head = refused.head.to_ascii_lowercase();
    assert!(
        head.contains("error=\"insufficient_scope\""),
        "{}",
        refused.head
    );
    assert!(
        head.contains("scope=\"mcp:read mcp:admin\""),
        "{}",
        refused.head
    );

    let session = open_session(&base, ADMIN_TOKEN).await;
    let echoed = post(
        &base,
        Some(ADMIN_TOKEN),
        Some(&session),
        call(3, "admin_echo", json!({ "message": "hi" })),
    )
    .await
    .json();
    assert_eq!(echoed["result"]["content"][0]["text"], "hi", "{echoed}");
}

#[tokio::test]
async fn tools_list_and_add() {
    let base = serve().await;
    let session = open_session(&base, TOKEN).await;
    let list = post(
        &base,
        Some(TOKEN),
        Some(&session),
        json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/list" }),
    )
    .await
    .json();
    let mut names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["add", "admin_echo", "hello", "whoami"]);

    let sum = post(
        &base,
        Some(TOKEN),
        Some(&session),
        call(4, "add", json!({ "a": 2, "b": 40 })),
    )
    .await
    .json();
    assert_eq!(sum["result"]["content"][0]["text"], "42", "{sum}");

    let hello = post(
        &base,
        Some(TOKEN),
        Some(&session),
        call(5, "hello", json!({})),
    )
    .await
    .json();
    assert_eq!(
        hello["result"]["content"][0]["text"], "hello e2e-client",
        "{hello}"
    );
}
