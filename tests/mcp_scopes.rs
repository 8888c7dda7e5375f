//! `mcp::OperationScopes`: scopes per JSON-RPC method, tool, prompt and resource on one MCP
//! route, the capped body read, the bytes forwarded, both profiles' refusals, and bodies built
//! to be read one way here and another way by the MCP service behind.

mod common;

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::Request,
    http::{Method, StatusCode, header},
    routing::any,
};
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, Profile, RequireScopesLayer,
    mcp::{
        AMBIGUOUS_REQUEST_BODY, BODY_READ_FAILED_BODY, BODY_TOO_LARGE_BODY, DEFAULT_MAX_BODY_SIZE,
        OperationScopes, PARSE_ERROR_BODY, UNSUPPORTED_ENCODING_BODY, UnclearOperation,
    },
};
use common::{METADATA_URL, Recording, Reply, bearer, send};
use http_body::Frame;
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::Value;

const READ: &str = "tok-read";
const ADMIN: &str = "tok-admin";
const SUPER: &str = "tok-super";
const INDEX_ONLY: &str = "tok-index-only";
const ALL: &str = "tok-all";
const NONE: &str = "tok-none";

fn tokens() -> Vec<AccessToken> {
    vec![
        AccessToken::new(READ, "client-read", ["mcp:read"]),
        AccessToken::new(ADMIN, "client-admin", ["mcp:read", "mcp:admin"]),
        AccessToken::new(SUPER, "client-super", ["mcp:super"]),
        AccessToken::new(INDEX_ONLY, "client-index", ["notes:index"]),
        AccessToken::new(
            ALL,
            "client-all",
            [
                "mcp:read",
                "mcp:admin",
                "notes:publish",
                "prompts:secret",
                "notes:index",
                "notes:private",
                "notes:vault",
            ],
        ),
        AccessToken::new(NONE, "client-none", [] as [&str; 0]),
    ]
}

/// The table every test uses unless it says otherwise.
fn table() -> OperationScopes {
    OperationScopes::new(["mcp:read"])
        .unwrap()
        .method("logging/setLevel", ["mcp:read", "mcp:admin"])
        .unwrap()
        .tool("wipe", ["mcp:read", "mcp:admin"])
        .unwrap()
        .tool("publish", ["mcp:read", "notes:publish"])
        .unwrap()
        .prompt("secret_prompt", ["mcp:read", "prompts:secret"])
        .unwrap()
        // A full set that does not include the default: `notes:index` alone reads it.
        .resource("notes://index", ["notes:index"])
        .unwrap()
        .resource_prefix("notes://private/", ["mcp:read", "notes:private"])
        .unwrap()
        .resource_prefix("notes://private/vault/", ["mcp:read", "notes:vault"])
        .unwrap()
}

/// What the MCP service behind the layer saw.
#[derive(Default)]
struct Seen {
    bodies: Mutex<Vec<Bytes>>,
    users: Mutex<Vec<Option<String>>>,
    calls: AtomicUsize,
}

struct App {
    router: Router,
    seen: Arc<Seen>,
    verifier: Recording,
}

impl App {
    fn new(profile: Profile, scopes: OperationScopes) -> Self {
        let seen = Arc::new(Seen::default());
        let verifier = Recording::new(tokens());
        let inner_seen = seen.clone();
        let mcp = any(move |request: Request| {
            let seen = inner_seen.clone();
            async move {
                seen.calls.fetch_add(1, Ordering::SeqCst);
                let user = AuthenticatedUser::from_extensions(request.extensions())
                    .map(|user| user.client_id().to_owned());
                seen.users.lock().unwrap().push(user);
                let body = request.into_body().collect().await.unwrap().to_bytes();
                seen.bodies.lock().unwrap().push(body);
                "inner"
            }
        });
        let auth = BearerAuth::new(verifier.clone())
            .profile(profile)
            .resource_metadata_url(METADATA_URL)
            .unwrap()
            .scope_implies("mcp:super", ["mcp:read", "mcp:admin"])
            .unwrap();
        let router = Router::new()
            .route("/mcp", mcp)
            .route_layer(scopes)
            .layer(auth);
        Self {
            router,
            seen,
            verifier,
        }
    }

    fn spec() -> Self {
        Self::new(Profile::Spec, table())
    }

    fn calls(&self) -> usize {
        self.seen.calls.load(Ordering::SeqCst)
    }

    fn last_body(&self) -> Bytes {
        self.seen.bodies.lock().unwrap().last().unwrap().clone()
    }

    async fn post(&self, token: Option<&str>, body: impl Into<Body>) -> Reply {
        self.send(Method::POST, token, body).await
    }

    async fn send(&self, method: Method, token: Option<&str>, body: impl Into<Body>) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri("/mcp")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, bearer(token));
        }
        send(&self.router, request.body(body.into()).unwrap()).await
    }
}

fn call(method: &str, params: Value) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string()
}

fn tool(name: &str) -> String {
    call(
        "tools/call",
        serde_json::json!({"name": name, "arguments": {"x": 1}}),
    )
}

fn scope_param(reply: &Reply) -> String {
    reply.challenge().get("scope").cloned().unwrap_or_default()
}

#[tokio::test]
async fn each_operation_kind_needs_its_own_scopes() {
    let app = App::spec();
    let cases: Vec<(String, &[&str])> = vec![
        (tool("wipe"), &["mcp:read", "mcp:admin"]),
        (tool("publish"), &["mcp:read", "notes:publish"]),
        // An unknown tool needs the default.
        (tool("echo"), &["mcp:read"]),
        (
            call("prompts/get", serde_json::json!({"name": "secret_prompt"})),
            &["mcp:read", "prompts:secret"],
        ),
        (
            call("prompts/get", serde_json::json!({"name": "hello"})),
            &["mcp:read"],
        ),
        (
            call(
                "resources/read",
                serde_json::json!({"uri": "notes://index"}),
            ),
            &["notes:index"],
        ),
        (
            call(
                "resources/read",
                serde_json::json!({"uri": "notes://private/diary"}),
            ),
            &["mcp:read", "notes:private"],
        ),
        // The longest prefix wins.
        (
            call(
                "resources/read",
                serde_json::json!({"uri": "notes://private/vault/keys"}),
            ),
            &["mcp:read", "notes:vault"],
        ),
        // Exact rules are exact: a longer URI is not `notes://index`.
        (
            call(
                "resources/read",
                serde_json::json!({"uri": "notes://index2"}),
            ),
            &["mcp:read"],
        ),
        (
            call("logging/setLevel", serde_json::json!({"level": "debug"})),
            &["mcp:read", "mcp:admin"],
        ),
        (call("tools/list", serde_json::json!({})), &["mcp:read"]),
        (
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into(),
            &["mcp:read"],
        ),
    ];
    for (body, required) in cases {
        assert_eq!(
            table().required_for_body(body.as_bytes()).unwrap(),
            required,
            "{body}"
        );
        // The token with everything passes, and the service sees the very bytes.
        let reply = app.post(Some(ALL), body.clone()).await;
        assert_eq!(reply.status, StatusCode::OK, "{body}: {}", reply.summary());
        assert_eq!(app.last_body(), body.as_bytes(), "{body}");
        // A token with none of them gets the 403 naming the whole requirement.
        let before = app.calls();
        let reply = app.post(Some(NONE), body.clone()).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(scope_param(&reply), required.join(" "), "{body}");
        assert_eq!(app.calls(), before, "{body}: refused before the service");
    }
    // A rule is the full set, not added to the default: `notes:index` alone reads the index,
    // and nothing else.
    let index = call(
        "resources/read",
        serde_json::json!({"uri": "notes://index"}),
    );
    assert_eq!(
        app.post(Some(INDEX_ONLY), index).await.status,
        StatusCode::OK
    );
    let reply = app.post(Some(INDEX_ONLY), tool("echo")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(scope_param(&reply), "mcp:read");
}

#[tokio::test]
async fn a_method_rule_covers_the_names_no_rule_lists() {
    let scopes = table()
        .method("tools/call", ["mcp:read", "tools:call"])
        .unwrap()
        .method("resources/read", ["mcp:read", "resources:read"])
        .unwrap();
    let unknown = tool("echo");
    assert_eq!(
        scopes.required_for_body(unknown.as_bytes()).unwrap(),
        ["mcp:read", "tools:call"]
    );
    assert_eq!(
        scopes.required_for_body(tool("wipe").as_bytes()).unwrap(),
        ["mcp:read", "mcp:admin"],
        "a tool rule wins over the method rule"
    );
    let public = call(
        "resources/read",
        serde_json::json!({"uri": "notes://public"}),
    );
    assert_eq!(
        scopes.required_for_body(public.as_bytes()).unwrap(),
        ["mcp:read", "resources:read"]
    );
}

#[tokio::test]
async fn a_batch_needs_the_union_of_its_members() {
    let app = App::spec();
    let batch = format!(
        "[{}, {}, {}, 7, {}]",
        call("tools/list", serde_json::json!({})),
        tool("wipe"),
        tool("publish"),
        tool("wipe"),
    );
    assert_eq!(
        table().required_for_body(batch.as_bytes()).unwrap(),
        ["mcp:read", "mcp:admin", "notes:publish"]
    );
    let reply = app.post(Some(ADMIN), batch.clone()).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(scope_param(&reply), "mcp:read mcp:admin notes:publish");
    assert_eq!(app.calls(), 0);
    let reply = app.post(Some(ALL), batch.clone()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(app.last_body(), batch.as_bytes());
    // An empty batch, or one of non-objects, needs the default (the service answers the error).
    for body in ["[]", "[1, 2]", "[[]]"] {
        let reply = app.post(Some(READ), body).await;
        assert_eq!(reply.status, StatusCode::OK, "{body}");
        assert_eq!(app.last_body(), body.as_bytes());
    }
}

#[tokio::test]
async fn the_hierarchy_of_bearer_auth_applies() {
    let app = App::spec();
    // `mcp:super` implies `mcp:read` and `mcp:admin`.
    let reply = app.post(Some(SUPER), tool("wipe")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.summary());
    let reply = app.post(Some(SUPER), tool("publish")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(scope_param(&reply), "mcp:read notes:publish");
}

/// The 403 of both profiles, byte for byte, and the same as `RequireScopesLayer`'s for the same
/// scopes (the crate's one way of writing refusals).
#[tokio::test]
async fn both_profiles_refuse_with_the_crates_exact_403() {
    let expected = [
        (
            Profile::Spec,
            r#"Bearer error="insufficient_scope", error_description="Required scope: mcp:admin", scope="mcp:read mcp:admin", resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp""#,
            r#"{"error":"insufficient_scope","error_description":"Required scope: mcp:admin"}"#,
        ),
        (
            Profile::PythonSdk,
            r#"Bearer error="insufficient_scope", error_description="Required scope: mcp:admin", resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp""#,
            r#"{"error": "insufficient_scope", "error_description": "Required scope: mcp:admin"}"#,
        ),
    ];
    for (profile, challenge, body) in expected {
        let app = App::new(profile, table());
        let reply = app.post(Some(READ), tool("wipe")).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{profile:?}");
        assert_eq!(reply.www_authenticate(), Some(challenge), "{profile:?}");
        assert_eq!(reply.text(), body, "{profile:?}");
        assert_eq!(reply.content_type(), Some("application/json"));
        assert_eq!(app.calls(), 0);

        // The same refusal as the route guard requiring the same scopes.
        let guarded = Router::new()
            .route("/mcp", any(|| async { "ok" }))
            .route_layer(RequireScopesLayer::new(["mcp:read", "mcp:admin"]).unwrap())
            .layer(
                BearerAuth::new(Recording::new(tokens()))
                    .profile(profile)
                    .resource_metadata_url(METADATA_URL)
                    .unwrap(),
            );
        let request = Request::post("/mcp")
            .header(header::AUTHORIZATION, bearer(READ))
            .body(Body::from(tool("wipe")))
            .unwrap();
        let guard = send(&guarded, request).await;
        assert_eq!(guard.www_authenticate(), reply.www_authenticate());
        assert_eq!(guard.body, reply.body);
    }
}

#[tokio::test]
async fn a_401_names_the_operations_requirement_in_spec() {
    let app = App::spec();
    let reply = app.post(None, tool("wipe")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.www_authenticate(),
        Some(
            r#"Bearer scope="mcp:read mcp:admin", resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp""#
        )
    );
    let reply = app.post(Some("tok-unknown"), tool("publish")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let challenge = reply.challenge();
    assert_eq!(challenge["error"], "invalid_token");
    assert_eq!(challenge["scope"], "mcp:read notes:publish");
    let reply = app.send(Method::GET, None, Body::empty()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(scope_param(&reply), "mcp:read");
    assert_eq!(app.calls(), 0);
}

#[tokio::test]
async fn the_service_sees_the_verified_user_without_a_second_verification() {
    let app = App::spec();
    let reply = app.post(Some(ADMIN), tool("wipe")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = app.send(Method::GET, Some(READ), Body::empty()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        *app.seen.users.lock().unwrap(),
        [
            Some("client-admin".to_owned()),
            Some("client-read".to_owned())
        ]
    );
    assert_eq!(app.verifier.calls(), 2, "one verification per request");
}

#[tokio::test]
async fn requests_without_a_body_need_the_default() {
    let app = App::spec();
    for method in [Method::GET, Method::DELETE] {
        let reply = app.send(method.clone(), Some(READ), Body::empty()).await;
        assert_eq!(reply.status, StatusCode::OK, "{method}");
        let reply = app.send(method.clone(), Some(NONE), Body::empty()).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method}");
        assert_eq!(scope_param(&reply), "mcp:read");
    }
    // A body on another method is read all the same: a service that reads JSON-RPC from a PUT
    // is checked too.
    let reply = app.send(Method::PUT, Some(READ), tool("wipe")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(scope_param(&reply), "mcp:read mcp:admin");
}

/// A body that is not JSON-RPC at all goes through untouched (the service owns the JSON-RPC
/// error), needing the default.
#[tokio::test]
async fn bodies_that_are_not_json_rpc_pass_through_untouched() {
    let app = App::spec();
    let bodies: Vec<&[u8]> = vec![
        b"",
        b"not json",
        b"[1, 2",
        b"\"tools/call\"",
        b"42",
        b"null",
        b"\xff\xfe\x00garbage",
        b"\xEF\xBB\xBFplain text after a BOM",
        br#"{"jsonrpc":"2.0","result":{},"id":3}"#, // a response to the server
        br#"{"hello":"world"}"#,
    ];
    for body in bodies {
        let reply = app.post(Some(READ), Bytes::from_static(body)).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{body:?}: {}",
            reply.summary()
        );
        assert_eq!(app.last_body(), body, "byte-identical");
        let reply = app.post(Some(NONE), Bytes::from_static(body)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{body:?}");
        assert_eq!(scope_param(&reply), "mcp:read");
    }
}

#[tokio::test]
async fn the_forwarded_body_is_byte_identical() {
    let app = App::spec();
    let bodies = [
        "\u{feff}".to_owned() + &tool("wipe"),
        format!(" \n\t{}\r\n ", tool("wipe")),
        r#"{"params":{"arguments":{"big":[1.5e300,-0,"\u00e9\n"]},"name":"w\u0069pe"},"method":"tools\/call","id":"x","jsonrpc":"2.0"}"#.into(),
    ];
    for body in bodies {
        assert_eq!(
            table().required_for_body(body.as_bytes()).unwrap(),
            ["mcp:read", "mcp:admin"],
            "{body:?}"
        );
        let reply = app.post(Some(ADMIN), body.clone()).await;
        assert_eq!(reply.status, StatusCode::OK, "{body:?}");
        assert_eq!(app.last_body(), body.as_bytes());
        let reply = app.post(Some(READ), body.clone()).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{body:?}");
    }
}

/// A body of several frames, counting how many were polled.
struct Chunks {
    frames: VecDeque<Bytes>,
    polled: Arc<AtomicUsize>,
}

impl Chunks {
    fn body(frames: impl IntoIterator<Item = Bytes>) -> (Body, Arc<AtomicUsize>) {
        let polled = Arc::new(AtomicUsize::new(0));
        let body = Self {
            frames: frames.into_iter().collect(),
            polled: polled.clone(),
        };
        (Body::new(body), polled)
    }
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.polled.fetch_add(1, Ordering::SeqCst);
        Poll::Ready(self.frames.pop_front().map(|bytes| Ok(Frame::data(bytes))))
    }
}

#[tokio::test]
async fn bodies_over_the_cap_get_413_without_being_read() {
    let app = App::new(Profile::Spec, table().max_body_size(1024));

    // A Content-Length over the cap: 413 before a single frame is read.
    let (body, polled) = Chunks::body([Bytes::from(vec![b' '; 2048])]);
    let request = Request::post("/mcp")
        .header(header::AUTHORIZATION, bearer(ALL))
        .header(header::CONTENT_LENGTH, "2048")
        .body(body)
        .unwrap();
    let reply = send(&app.router, request).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.text(), BODY_TOO_LARGE_BODY);
    assert_eq!(reply.content_type(), Some("application/json"));
    assert_eq!(polled.load(Ordering::SeqCst), 0);

    // A chunked body growing over the cap: 413 once it does, the rest never read.
    let (body, polled) = Chunks::body((0..100).map(|_| Bytes::from(vec![b' '; 300])));
    let reply = app.post(Some(ALL), body).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.text(), BODY_TOO_LARGE_BODY);
    assert!(polled.load(Ordering::SeqCst) <= 5, "stopped at the cap");
    assert_eq!(app.calls(), 0);

    // Exactly at the cap, in several frames: read, checked, forwarded whole.
    let call = tool("wipe");
    let padded = format!("{call:<1024}");
    assert_eq!(padded.len(), 1024);
    let frames = padded
        .as_bytes()
        .chunks(100)
        .map(Bytes::copy_from_slice)
        .collect::<Vec<_>>();
    let (body, _) = Chunks::body(frames.clone());
    let reply = app.post(Some(READ), body).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "the call was read");
    let (body, _) = Chunks::body(frames);
    let reply = app.post(Some(ADMIN), body).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(app.last_body(), padded.as_bytes());

    assert_eq!(DEFAULT_MAX_BODY_SIZE, 1024 * 1024);
}

/// A body that fails after its first frame (a connection reset mid-upload).
struct Failing(bool);

impl http_body::Body for Failing {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if std::mem::replace(&mut self.0, true) {
            return Poll::Ready(Some(Err(std::io::Error::other("connection reset"))));
        }
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"{\"method\":")))))
    }
}

#[tokio::test]
async fn a_body_that_fails_while_read_gets_400() {
    let app = App::spec();
    let reply = app.post(Some(ALL), Body::new(Failing(false))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.text(), BODY_READ_FAILED_BODY);
    assert_eq!(reply.content_type(), Some("application/json"));
    assert_eq!(app.calls(), 0);
}

/// Sends raw HTTP/1.1 bytes to a real server on 127.0.0.1 and reads the whole answer (the
/// requests say `Connection: close`).
async fn raw_http(router: Router, request: Vec<u8>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    server.abort();
    read.expect("the server answered").expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn over_the_cap_through_a_real_server() {
    let app = App::new(Profile::Spec, table().max_body_size(1024));
    let head = |framing: &str| {
        format!(
            "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {ALL}\r\n\
             content-type: application/json\r\nconnection: close\r\n{framing}\r\n"
        )
    };

    // Chunked, growing over the cap frame by frame.
    let mut request = head("transfer-encoding: chunked\r\n").into_bytes();
    for _ in 0..6 {
        request.extend_from_slice(format!("12c\r\n{}\r\n", " ".repeat(300)).as_bytes());
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = raw_http(app.router.clone(), request).await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(answer.ends_with(BODY_TOO_LARGE_BODY), "{answer}");

    // A Content-Length over the cap: refused without the body ever being sent.
    let request = head("content-length: 1000000\r\n").into_bytes();
    let answer = raw_http(app.router.clone(), request).await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");

    // Chunked within the cap: read, checked, forwarded whole.
    let call = tool("wipe");
    let mut request = head("transfer-encoding: chunked\r\n").into_bytes();
    for part in call.as_bytes().chunks(10) {
        request.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        request.extend_from_slice(part);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let answer = raw_http(app.router.clone(), request).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert_eq!(app.last_body(), call.as_bytes());
    assert_eq!(app.calls(), 1);
}

#[tokio::test]
async fn an_encoded_body_is_refused() {
    let app = App::spec();
    let request = Request::post("/mcp")
        .header(header::AUTHORIZATION, bearer(ALL))
        .header(header::CONTENT_ENCODING, "gzip")
        .body(Body::from(
            &b"\x1f\x8b compressed bytes without a brace"[..],
        ))
        .unwrap();
    let reply = send(&app.router, request).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.text(), UNSUPPORTED_ENCODING_BODY);
    let request = Request::post("/mcp")
        .header(header::AUTHORIZATION, bearer(ALL))
        .header(header::CONTENT_ENCODING, "identity")
        .body(Body::from(tool("wipe")))
        .unwrap();
    assert_eq!(send(&app.router, request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn content_type_is_never_trusted() {
    let app = App::spec();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "nonsense",
    ] {
        let request = Request::post("/mcp")
            .header(header::AUTHORIZATION, bearer(READ))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(tool("wipe")))
            .unwrap();
        let reply = send(&app.router, request).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{content_type}");
    }
}

/// How the layer must treat a hostile body.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// 400 with the parse error.
    Malformed,
    /// 400 with the invalid request.
    Ambiguous,
    /// Read as the `wipe` call: `mcp:read mcp:admin`.
    Wipe,
}

fn hostile_bodies() -> Vec<(&'static str, Vec<u8>, Expect)> {
    use Expect::*;
    let wipe = r#""method":"tools/call","params":{"name":"wipe"}"#;
    let deep_open = "[".repeat(10_000);
    let deep_close = "]".repeat(10_000);
    let utf16: Vec<u8> = tool("wipe")
        .encode_utf16()
        .flat_map(|unit| unit.to_le_bytes())
        .collect();
    let mut utf16_bom = vec![0xFF, 0xFE];
    utf16_bom.extend(&utf16);
    let s = |text: String| text.into_bytes();
    vec![
        // Numbers and ids the layer never decodes.
        ("huge exponent id", s(format!(r#"{{"id":1e999999,{wipe}}}"#)), Wipe),
        ("10k-digit id", s(format!(r#"{{"id":{},{wipe}}}"#, "9".repeat(10_000))), Wipe),
        ("huge number in arguments", s(r#"{"method":"tools/call","params":{"name":"wipe","arguments":{"n":-1e400}}}"#.into()), Wipe),
        ("deep nesting in arguments", s(format!(r#"{{"method":"tools/call","params":{{"name":"wipe","arguments":{deep_open}{deep_close}}}}}"#)), Wipe),
        ("lone surrogate in arguments", s(r#"{"method":"tools/call","params":{"name":"wipe","arguments":{"s":"\ud800"}}}"#.into()), Wipe),
        // Numbers the layer must decode.
        ("params as an out-of-range number", s(r#"{"method":"tools/call","params":1e400}"#.into()), Malformed),
        // Nesting.
        ("call under 10k brackets", s(format!("{deep_open}{{{wipe}}}{deep_close}")), Ambiguous),
        ("call in a nested batch", s(format!("[[{{{wipe}}}]]")), Ambiguous),
        // Encodings.
        ("invalid UTF-8 in the name", b"{\"method\":\"tools/call\",\"params\":{\"name\":\"wipe\xff\"}}".to_vec(), Malformed),
        ("invalid UTF-8 in arguments", b"{\"method\":\"tools/call\",\"params\":{\"name\":\"wipe\",\"arguments\":\"\xc0\"}}".to_vec(), Malformed),
        ("overlong encoding of a quote", b"{\"method\":\"tools/call\",\"params\":{\"name\":\"wipe\",\"x\":\"\xc0\xa2}}".to_vec(), Malformed),
        ("UTF-16LE", utf16, Malformed),
        ("UTF-16LE with its BOM", utf16_bom, Malformed),
        ("UTF-8 BOM", s(format!("\u{feff}{{{wipe}}}")), Wipe),
        ("two UTF-8 BOMs", s(format!("\u{feff}\u{feff}{{{wipe}}}")), Malformed),
        // Not JSON as serde_json reads it, JSON to other parsers.
        ("NaN id", s(format!(r#"{{"id":NaN,{wipe}}}"#)), Malformed),
        ("a comment", s(format!(r#"{{/* hi */{wipe}}}"#)), Malformed),
        ("trailing comma", s(format!(r#"{{{wipe},}}"#)), Malformed),
        ("single quotes", s("{'method':'tools/call','params':{'name':'wipe'}}".into()), Malformed),
        ("trailing data", s(format!(r#"{{{wipe}}}x"#)), Malformed),
        ("two objects", s(format!(r#"{{"method":"tools/list"}}{{{wipe}}}"#)), Malformed),
        ("NUL after the object", s(format!("{{{wipe}}}\0")), Malformed),
        // Duplicate members, at each level that decides.
        ("method twice, call last", s(r#"{"method":"tools/list","method":"tools/call","params":{"name":"wipe"}}"#.into()), Ambiguous),
        ("method twice, call first", s(r#"{"method":"tools/call","method":"tools/list","params":{"name":"wipe"}}"#.into()), Ambiguous),
        ("method twice, escaped", s(r#"{"method":"tools/list","\u006dethod":"tools/call","params":{"name":"wipe"}}"#.into()), Ambiguous),
        ("params twice", s(r#"{"method":"tools/call","params":{"name":"echo"},"params":{"name":"wipe"}}"#.into()), Ambiguous),
        ("name twice", s(r#"{"method":"tools/call","params":{"name":"echo","name":"wipe"}}"#.into()), Ambiguous),
        ("uri twice", s(r#"{"method":"resources/read","params":{"uri":"notes://public","uri":"notes://private/x"}}"#.into()), Ambiguous),
        ("prompt name twice", s(r#"{"method":"prompts/get","params":{"name":"hello","name":"secret_prompt"}}"#.into()), Ambiguous),
        // Names other parsers fold to the ones that decide (Go's encoding/json).
        ("METHOD", s(r#"{"method":"tools/list","METHOD":"tools/call","params":{"name":"wipe"}}"#.into()), Ambiguous),
        ("Method alone", s(r#"{"Method":"tools/call","params":{"name":"wipe"}}"#.into()), Ambiguous),
        ("paramſ (long s)", s(r#"{"method":"tools/call","params":{"name":"echo"},"paramſ":{"name":"wipe"}}"#.into()), Ambiguous),
        ("Name", s(r#"{"method":"tools/call","params":{"name":"echo","Name":"wipe"}}"#.into()), Ambiguous),
        ("URI", s(r#"{"method":"resources/read","params":{"uri":"notes://public","URI":"notes://private/x"}}"#.into()), Ambiguous),
        // Types.
        ("method a number", s(r#"{"method":5,"params":{"name":"wipe"}}"#.into()), Ambiguous),
        ("method null", s(r#"{"method":null,"params":{"name":"wipe"}}"#.into()), Ambiguous),
        ("method an array", s(r#"{"method":["tools/call"],"params":{"name":"wipe"}}"#.into()), Ambiguous),
        ("method an object", s(r#"{"method":{"name":"tools/call"},"params":{"name":"wipe"}}"#.into()), Ambiguous),
        ("params an array", s(r#"{"method":"tools/call","params":["wipe",{}]}"#.into()), Ambiguous),
        ("params a string", s(r#"{"method":"tools/call","params":"wipe"}"#.into()), Ambiguous),
        ("params absent", s(r#"{"method":"tools/call"}"#.into()), Ambiguous),
        ("name absent", s(r#"{"method":"tools/call","params":{"arguments":{"name":"wipe"}}}"#.into()), Ambiguous),
        ("name a number", s(r#"{"method":"tools/call","params":{"name":5}}"#.into()), Ambiguous),
        ("name null", s(r#"{"method":"tools/call","params":{"name":null}}"#.into()), Ambiguous),
        ("name an array", s(r#"{"method":"tools/call","params":{"name":["wipe"]}}"#.into()), Ambiguous),
        ("uri a number", s(r#"{"method":"resources/read","params":{"uri":7}}"#.into()), Ambiguous),
        ("one ambiguous member in a batch", s(r#"[{"method":"tools/list"},{"method":"tools/call","params":{"name":"echo","name":"wipe"}}]"#.into()), Ambiguous),
    ]
}

#[tokio::test]
async fn hostile_bodies_are_refused_or_need_the_whole_requirement() {
    let app = App::spec();
    let scopes = table();
    for (what, body, expect) in hostile_bodies() {
        let decided = scopes.required_for_body(&body);
        let reply = app.post(Some(READ), body.clone()).await;
        match expect {
            Expect::Malformed => {
                assert_eq!(decided, Err(UnclearOperation::Malformed), "{what}");
                assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}");
                assert_eq!(reply.text(), PARSE_ERROR_BODY, "{what}");
                assert_eq!(reply.content_type(), Some("application/json"));
            }
            Expect::Ambiguous => {
                assert_eq!(decided, Err(UnclearOperation::Ambiguous), "{what}");
                assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}");
                assert_eq!(reply.text(), AMBIGUOUS_REQUEST_BODY, "{what}");
            }
            Expect::Wipe => {
                assert_eq!(decided.unwrap(), ["mcp:read", "mcp:admin"], "{what}");
                assert_eq!(reply.status, StatusCode::FORBIDDEN, "{what}");
                assert_eq!(scope_param(&reply), "mcp:read mcp:admin", "{what}");
                let reply = app.post(Some(ADMIN), body.clone()).await;
                assert_eq!(reply.status, StatusCode::OK, "{what}");
                assert_eq!(app.last_body(), body, "{what}");
            }
        }
        // Refusals come before authentication, whoever asks.
        if expect != Expect::Wipe {
            let reply = app.post(Some(ALL), body.clone()).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}");
            let reply = app.post(None, body).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{what}");
        }
    }
    // Nothing but the `Wipe` rows, sent with the admin token, reached the service.
    let wipes = hostile_bodies()
        .iter()
        .filter(|(_, _, expect)| *expect == Expect::Wipe)
        .count();
    assert_eq!(app.calls(), wipes);
}

/// Deep nesting without any object cannot be a call in any reading, nor can a call nested in a
/// member no server reads as a message: the default, untouched.
#[tokio::test]
async fn deep_nesting_that_is_no_call_needs_the_default() {
    let app = App::spec();
    let call = r#"{"method":"tools/call","params":{"name":"wipe"}}"#;
    for body in [
        "[".repeat(10_000),
        format!("{}{call}{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000)),
    ] {
        let reply = app.post(Some(READ), body.clone()).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(app.last_body(), body.as_bytes());
    }
}

/// Without tool rules, a `tools/call` whose name cannot be read needs the method's requirement:
/// no rule depends on the name.
#[test]
fn unreadable_names_only_matter_when_a_rule_reads_them() {
    let scopes = OperationScopes::new(["mcp:read"])
        .unwrap()
        .method("tools/call", ["mcp:read", "tools:call"])
        .unwrap();
    for body in [
        r#"{"method":"tools/call","params":{"name":5}}"#,
        r#"{"method":"tools/call","params":["x"]}"#,
        r#"{"method":"tools/call"}"#,
    ] {
        assert_eq!(
            scopes.required_for_body(body.as_bytes()).unwrap(),
            ["mcp:read", "tools:call"],
            "{body}"
        );
    }
    // Nor do odd `params` of a method no rule reads them for.
    assert_eq!(
        table()
            .required_for_body(br#"{"method":"tools/list","Params":5,"params":[1]}"#)
            .unwrap(),
        ["mcp:read"]
    );
    // The method itself is always read strictly.
    assert_eq!(
        scopes.required_for_body(br#"{"method":"tools/call","METHOD":"ping"}"#),
        Err(UnclearOperation::Ambiguous)
    );
}

#[test]
fn scopes_are_validated_when_set() {
    assert!(OperationScopes::new(["mcp read"]).is_err());
    assert!(OperationScopes::new([""]).is_err());
    let scopes = || OperationScopes::new(["mcp:read"]).unwrap();
    assert!(scopes().method("tools/list", ["a\"b"]).is_err());
    assert!(scopes().tool("wipe", ["é"]).is_err());
    assert!(scopes().prompt("p", ["a\\b"]).is_err());
    assert!(scopes().resource("r://x", ["a b"]).is_err());
    assert!(scopes().resource_prefix("r://", [""]).is_err());
    // An empty requirement is a valid token, nothing more.
    assert!(OperationScopes::new([] as [&str; 0]).is_ok());
}

#[test]
fn a_deserialised_configuration_is_validated_like_the_builder() {
    let config = r#"{
        "default": ["mcp:read"],
        "methods": {"logging/setLevel": ["mcp:read", "mcp:admin"]},
        "tools": {"wipe": ["mcp:read", "mcp:admin"], "publish": ["mcp:read", "notes:publish"]},
        "prompts": {"secret_prompt": ["mcp:read", "prompts:secret"]},
        "resources": {"notes://index": ["notes:index"]},
        "resource_prefixes": {
            "notes://private/": ["mcp:read", "notes:private"],
            "notes://private/vault/": ["mcp:read", "notes:vault"]
        },
        "max_body_size": 2048
    }"#;
    let configured: OperationScopes = serde_json::from_str(config).unwrap();
    let built = table();
    let mut bodies: Vec<Vec<u8>> = hostile_bodies().into_iter().map(|(_, b, _)| b).collect();
    bodies.extend(
        [
            tool("wipe"),
            tool("publish"),
            tool("echo"),
            call("logging/setLevel", serde_json::json!({})),
            call("prompts/get", serde_json::json!({"name": "secret_prompt"})),
            call(
                "resources/read",
                serde_json::json!({"uri": "notes://index"}),
            ),
            call(
                "resources/read",
                serde_json::json!({"uri": "notes://private/vault/k"}),
            ),
        ]
        .map(String::into_bytes),
    );
    for body in &bodies {
        assert_eq!(
            configured.required_for_body(body),
            built.required_for_body(body),
            "{}",
            String::from_utf8_lossy(body)
        );
    }

    for bad in [
        r#"{"default": ["mcp read"]}"#,
        r#"{"default": ["mcp:read"], "tools": {"wipe": ["mcp:read", ""]}}"#,
        r#"{"default": ["mcp:read"], "resource_prefixes": {"x://": ["\""]}}"#,
        // A misspelt table would silently require nothing more: refused.
        r#"{"default": ["mcp:read"], "tool": {"wipe": ["mcp:admin"]}}"#,
        // No default: the choice is explicit.
        r#"{"tools": {"wipe": ["mcp:admin"]}}"#,
        r#"{"default": "mcp:read"}"#,
    ] {
        assert!(
            serde_json::from_str::<OperationScopes>(bad).is_err(),
            "{bad}"
        );
    }
    let error = serde_json::from_str::<OperationScopes>(r#"{"default": ["mcp read"]}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("invalid scope"), "{error}");
}

#[tokio::test]
async fn the_configured_cap_applies() {
    let configured: OperationScopes =
        serde_json::from_str(r#"{"default": ["mcp:read"], "max_body_size": 64}"#).unwrap();
    let app = App::new(Profile::Spec, configured);
    let reply = app.post(Some(READ), tool("wipe")).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
}

// ---------------------------------------------------------------------------------------------
// Property: for any body the layer accepts, its requirement contains the requirement of every
// other reading of that body (serde_json's last-wins, a first-wins parser, Go's case-folding
// last-wins, a BOM-stripping one).

/// A member value of the generated messages.
#[derive(Debug, Clone)]
enum Val {
    Str(&'static str),
    Num,
    Null,
    Arr,
    Obj(Vec<(&'static str, Val)>),
}

impl Val {
    fn json(&self) -> String {
        match self {
            Self::Str(s) => serde_json::to_string(s).unwrap(),
            Self::Num => "12345678901234567890123".into(),
            Self::Null => "null".into(),
            Self::Arr => r#"["wipe"]"#.into(),
            Self::Obj(members) => object(members),
        }
    }
}

fn object(members: &[(&'static str, Val)]) -> String {
    let inner: Vec<String> = members
        .iter()
        .map(|(key, value)| format!("{}:{}", serde_json::to_string(key).unwrap(), value.json()))
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn leaf() -> impl Strategy<Value = Val> {
    prop_oneof![
        prop::sample::select(vec![
            "wipe",
            "publish",
            "echo",
            "secret_prompt",
            "notes://index",
            "notes://private/x",
            "notes://private/vault/y",
            "notes://public",
            "tools/call",
        ])
        .prop_map(Val::Str),
        Just(Val::Num),
        Just(Val::Null),
        Just(Val::Arr),
    ]
}

fn params() -> impl Strategy<Value = Val> {
    let key = prop::sample::select(vec!["name", "uri", "arguments", "Name", "URI", "_meta"]);
    prop_oneof![
        4 => prop::collection::vec((key, leaf()), 0..4).prop_map(Val::Obj),
        1 => leaf(),
    ]
}

fn message() -> impl Strategy<Value = Vec<(&'static str, Val)>> {
    let method = prop::sample::select(vec![
        "tools/call",
        "prompts/get",
        "resources/read",
        "tools/list",
        "logging/setLevel",
    ])
    .prop_map(Val::Str);
    let member = prop_oneof![
        4 => (Just("method"), prop_oneof![4 => method.clone(), 1 => leaf()]),
        4 => (Just("params"), params()),
        1 => (
            prop::sample::select(vec!["METHOD", "Method", "paramſ", "Params"]),
            prop_oneof![method, params()],
        ),
        1 => (prop::sample::select(vec!["id", "jsonrpc"]), leaf()),
    ];
    prop::collection::vec(member, 0..5)
}

/// How a reading matches member names and picks among repeats.
#[derive(Debug, Clone, Copy)]
enum Reading {
    LastWins,
    FirstWins,
    GoFold,
}

impl Reading {
    fn matches(self, key: &str, name: &str) -> bool {
        match self {
            Self::GoFold => {
                let fold = |s: &str| -> String {
                    s.chars()
                        .flat_map(|c| c.to_lowercase())
                        .map(|c| if c == 'ſ' { 's' } else { c })
                        .collect()
                };
                fold(key) == fold(name)
            }
            _ => key == name,
        }
    }

    fn pick<'a>(self, members: &'a [(&'static str, Val)], name: &str) -> Option<&'a Val> {
        let found: Vec<&Val> = members
            .iter()
            .filter(|(key, _)| self.matches(key, name))
            .map(|(_, value)| value)
            .collect();
        match self {
            Self::FirstWins => found.first().copied(),
            _ => found.last().copied(),
        }
    }
}

/// The requirement a server reading the message this way would need: `None` when that server
/// could not run any operation from it (no method, a method that is not a string).
fn lenient_requirement(
    message: &[(&'static str, Val)],
    reading: Reading,
) -> Option<Vec<&'static str>> {
    let Some(Val::Str(method)) = reading.pick(message, "method") else {
        return None;
    };
    let field = |name: &str| match reading.pick(message, "params") {
        Some(Val::Obj(params)) => match reading.pick(params, name) {
            Some(Val::Str(value)) => Some(*value),
            _ => None,
        },
        _ => None,
    };
    let default = vec!["mcp:read"];
    let admin = vec!["mcp:read", "mcp:admin"];
    Some(match *method {
        "tools/call" => match field("name") {
            Some("wipe") => admin,
            Some("publish") => vec!["mcp:read", "notes:publish"],
            _ => default,
        },
        "prompts/get" => match field("name") {
            Some("secret_prompt") => vec!["mcp:read", "prompts:secret"],
            _ => default,
        },
        "resources/read" => match field("uri") {
            Some("notes://index") => vec!["notes:index"],
            Some(uri) if uri.starts_with("notes://private/vault/") => {
                vec!["mcp:read", "notes:vault"]
            }
            Some(uri) if uri.starts_with("notes://private/") => vec!["mcp:read", "notes:private"],
            _ => default,
        },
        "logging/setLevel" => admin,
        _ => default,
    })
}

/// serde_json's own reading (rmcp's): the text parsed to a `Value`, last member wins.
fn serde_reading(body: &[u8]) -> Vec<Vec<(&'static str, Val)>> {
    fn leak(value: &Value) -> Val {
        match value {
            Value::String(s) => Val::Str(Box::leak(s.clone().into_boxed_str())),
            Value::Object(map) => Val::Obj(
                map.iter()
                    .map(|(k, v)| (&*Box::leak(k.clone().into_boxed_str()), leak(v)))
                    .collect(),
            ),
            Value::Array(_) => Val::Arr,
            Value::Null => Val::Null,
            _ => Val::Num,
        }
    }
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let messages = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(members)) => members,
        Ok(value) => vec![value],
        Err(_) => return Vec::new(),
    };
    messages
        .iter()
        .filter_map(|message| match leak(message) {
            Val::Obj(members) => Some(members),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_layer_never_needs_less_than_another_reading(
        batch in prop::collection::vec(message(), 1..4),
        as_batch in prop::bool::ANY,
        bom in prop::bool::ANY,
    ) {
        let messages: Vec<String> = batch.iter().map(|m| object(m)).collect();
        let mut text = if as_batch || messages.len() > 1 {
            format!("[{}]", messages.join(","))
        } else {
            messages[0].clone()
        };
        if bom {
            text.insert(0, '\u{feff}');
        }
        let scopes = table();
        let Ok(required) = scopes.required_for_body(text.as_bytes()) else {
            // Refused with a 400: nothing runs.
            return Ok(());
        };
        let mut others: Vec<Vec<&str>> = Vec::new();
        for reading in [Reading::LastWins, Reading::FirstWins, Reading::GoFold] {
            others.extend(batch.iter().filter_map(|m| lenient_requirement(m, reading)));
        }
        others.extend(
            serde_reading(text.as_bytes())
                .iter()
                .filter_map(|m| lenient_requirement(m, Reading::LastWins)),
        );
        for other in others {
            for scope in other {
                prop_assert!(required.contains(&scope), "{text}: {scope} missing from {required:?}");
            }
        }
    }
}
