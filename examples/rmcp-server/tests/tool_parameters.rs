//! The caller as an rmcp tool parameter (axum-bearer's feature `rmcp`), over real HTTP on
//! 127.0.0.1 with rmcp's streamable-HTTP service behind `BearerAuth` alone: no guard, no
//! session layer.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::Router;
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, StaticVerifier, TokenVerifier, VerifyError,
    mcp::OptionalUser,
};
use rmcp::{
    ServerHandler,
    handler::server::router::tool::ToolRouter,
    model::{ServerCapabilities, ServerConfig},
    tool, tool_handler, tool_router,
    transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
    },
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const TOKEN: &str = "tool-token";

/// A verifier that always has to wait (no `verify_ready`), as an introspection call does;
/// counts its calls.
#[derive(Clone, Default)]
struct Remote {
    calls: Arc<AtomicUsize>,
}

impl TokenVerifier for Remote {
    async fn verify(&self, token: &str) -> Result<AccessToken, VerifyError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
        match token {
            TOKEN => Ok(AccessToken::new(token, "tool-client", ["mcp:read"]).with_subject("alice")),
            _ => Err(VerifyError::invalid("unknown token")),
        }
    }
}

/// Test tools; `ran` counts the tool bodies that ran.
#[derive(Clone)]
struct Tools {
    ran: Arc<AtomicUsize>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Tools {
    #[tool(description = "The caller's client id")]
    async fn whoami(&self, user: AuthenticatedUser) -> String {
        self.ran.fetch_add(1, Ordering::SeqCst);
        format!("{} {}", user.client_id(), user.subject().unwrap_or("-"))
    }

    #[tool(description = "The caller's client id, or anonymous")]
    async fn maybe(&self, OptionalUser(user): OptionalUser) -> String {
        self.ran.fetch_add(1, Ordering::SeqCst);
        user.map_or("anonymous".to_owned(), |user| user.client_id().to_owned())
    }

    #[tool(description = "Asks for no caller")]
    async fn public(&self) -> String {
        "public".to_owned()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// Serves the tools (stateless, JSON responses) behind `auth` alone; the base URL and the
/// counter of tool bodies that ran.
async fn serve(auth: BearerAuth) -> (String, Arc<AtomicUsize>) {
    let ran = Arc::new(AtomicUsize::new(0));
    let tools = Tools {
        ran: ran.clone(),
        tool_router: Tools::tool_router(),
    };
    let mcp = StreamableHttpService::new(
        move || Ok(tools.clone()),
        NeverSessionManager::default().into(),
        StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true),
    );
    let app = Router::new().route_service("/mcp", mcp).layer(auth);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, ran)
}

/// `tools/call` of `tool` over a fresh connection; the HTTP status and the JSON-RPC response.
async fn call(base: &str, token: Option<&str>, tool: &str) -> (u16, Value) {
    let authority = base.trim_start_matches("http://");
    let body = json!({
        "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": { "name": tool, "arguments": {} }
    })
    .to_string();
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
    let json = serde_json::from_str(body)
        .unwrap_or_else(|error| panic!("not JSON ({error}): {head}\n{body}"));
    (status, json)
}

fn text(response: &Value) -> &str {
    response["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text result: {response}"))
}

#[tokio::test]
async fn a_tool_declaring_the_user_sees_the_caller_with_bearer_auth_alone() {
    let verifier = Remote::default();
    let calls = verifier.calls.clone();
    let (base, ran) = serve(BearerAuth::new(verifier).verify_eagerly()).await;

    let (status, response) = call(&base, Some(TOKEN), "whoami").await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(text(&response), "tool-client alice");
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    // Verified once, before rmcp ran; the tool's extraction read the memoised outcome.
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn without_eager_verification_a_waiting_verifier_gives_an_error_naming_the_fix() {
    let verifier = Remote::default();
    let calls = verifier.calls.clone();
    let (base, ran) = serve(BearerAuth::new(verifier)).await;

    let (status, response) = call(&base, Some(TOKEN), "whoami").await;
    assert_eq!(status, 200, "{response}");
    let message = response["error"]["message"].as_str().unwrap();
    assert_eq!(response["error"]["code"], -32603, "{response}");
    assert!(
        message.contains("BearerAuth::verify_eagerly()"),
        "{message}"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_verifier_that_answers_at_once_needs_no_eager_verification() {
    let verifier = StaticVerifier::new([AccessToken::new(TOKEN, "static-client", ["mcp:read"])]);
    let (base, _) = serve(BearerAuth::new(verifier)).await;

    let (status, response) = call(&base, Some(TOKEN), "whoami").await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(text(&response), "static-client -");
}

#[tokio::test]
async fn the_optional_user_is_none_for_an_anonymous_call() {
    let (base, ran) = serve(BearerAuth::new(Remote::default()).verify_eagerly()).await;

    let (status, anonymous) = call(&base, None, "maybe").await;
    assert_eq!(status, 200, "{anonymous}");
    assert_eq!(text(&anonymous), "anonymous");

    let (_, known) = call(&base, Some(TOKEN), "maybe").await;
    assert_eq!(text(&known), "tool-client");
    assert_eq!(ran.load(Ordering::SeqCst), 2);

    // A tool that requires the user refuses the anonymous call before running.
    let (_, refused) = call(&base, None, "whoami").await;
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("authentication required"),
        "{refused}"
    );
    assert_eq!(ran.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_invalid_token_never_reaches_the_tool() {
    let (base, ran) = serve(BearerAuth::new(Remote::default()).verify_eagerly()).await;

    for tool in ["whoami", "maybe"] {
        let (status, response) = call(&base, Some("stolen-token"), tool).await;
        assert_eq!(status, 200, "{response}");
        assert_eq!(response["error"]["code"], -32600, "{tool}: {response}");
        assert_eq!(
            response["error"]["message"], "the access token is invalid",
            "{tool}: {response}"
        );
        assert!(!response.to_string().contains("stolen-token"), "{response}");
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0);

    // `verify_eagerly` never refuses by itself: a tool that asks for no caller still runs.
    let (status, response) = call(&base, Some("stolen-token"), "public").await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(text(&response), "public");
}
