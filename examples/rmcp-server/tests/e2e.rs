//! The example over real TCP: rmcp's streamable-HTTP service behind `BearerAuth` on 127.0.0.1:0.

use axum_bearer::{AccessToken, BearerAuth, Profile, StaticVerifier};
use rmcp_server_example::app;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const TOKEN: &str = "e2e-token";
const NO_SCOPE_TOKEN: &str = "e2e-no-scope";

/// Serves the example's router on a free port; the base URL (`http://127.0.0.1:port`).
async fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let verifier = StaticVerifier::new([
        AccessToken::new(TOKEN, "e2e-client", ["mcp:read"]).with_subject("e2e-user"),
        AccessToken::new(NO_SCOPE_TOKEN, "e2e-other", ["notes:read"]),
    ]);
    let auth = BearerAuth::new(verifier)
        .profile(Profile::Spec)
        .resource_metadata_url(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .unwrap();
    let router = app(auth).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}\n{}", self.head, self.body))
    }
}

/// One JSON-RPC POST to `/mcp` as curl sends it, over a fresh connection.
async fn post(base: &str, token: Option<&str>, message: Value) -> Reply {
    let authority = base.trim_start_matches("http://");
    let body = message.to_string();
    let authorization = token.map_or(String::new(), |token| {
        format!("Authorization: Bearer {token}\r\n")
    });
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\n{authorization}\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(authority).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    Reply {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
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

#[tokio::test]
async fn without_a_token_the_challenge_names_scope_and_metadata() {
    let base = serve().await;
    let reply = post(&base, None, initialize()).await;
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
async fn a_refused_token_gets_invalid_token() {
    let base = serve().await;
    let reply = post(&base, Some("not-a-token"), initialize()).await;
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
    let reply = post(&base, Some(NO_SCOPE_TOKEN), initialize()).await;
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
async fn initialize_with_the_token() {
    let base = serve().await;
    let reply = post(&base, Some(TOKEN), initialize()).await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.head, reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["id"], 1);
    assert_eq!(body["result"]["protocolVersion"], "2025-06-18");
    assert!(
        body["result"]["capabilities"]["tools"].is_object(),
        "{body}"
    );
}

#[tokio::test]
async fn whoami_reads_the_authenticated_user_from_the_request() {
    let base = serve().await;
    let reply = post(&base, Some(TOKEN), call(2, "whoami", json!({}))).await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.head, reply.body);
    let body = reply.json();
    assert_eq!(body["id"], 2);
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert_eq!(
        body["result"]["structuredContent"],
        json!({ "client_id": "e2e-client", "subject": "e2e-user", "scopes": ["mcp:read"] })
    );
    let text = body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("e2e-client"), "{text}");
}

#[tokio::test]
async fn tools_list_and_add() {
    let base = serve().await;
    let list = post(
        &base,
        Some(TOKEN),
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
    assert_eq!(names, ["add", "whoami"]);

    let sum = post(
        &base,
        Some(TOKEN),
        call(4, "add", json!({ "a": 2, "b": 40 })),
    )
    .await
    .json();
    assert_eq!(sum["result"]["content"][0]["text"], "42", "{sum}");
}
