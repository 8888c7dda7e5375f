//! `mcp::SessionBindingLayer` around an MCP service that knows nothing of owners, and
//! `mcp::StateHandles` (python-sdk.md §3, §8.1, §8.2, §12 D).
//!
//! The inner service behaves like a stateful streamable-HTTP session manager with no ownership
//! checks of its own (rmcp's): `POST` without `mcp-session-id` creates and announces a session,
//! a request naming a live session is served, `DELETE` ends it. Every principal check seen here
//! is the layer's.

mod common;

mod python_venv;

use std::{
    collections::HashSet,
    process::{Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{HeaderMap, Method, Request, StatusCode, header},
    response::{IntoResponse, Response},
    routing::any,
};
use axum_bearer::{
    AccessToken, AuthorizationContext, BearerAuth, SessionCheck, SessionOwners, SessionStore,
    SessionStoreError, StaticVerifier,
    mcp::{
        SESSION_STORE_UNAVAILABLE_BODY, SESSIONS_FULL_BODY, SessionBindingLayer, StateHandleError,
        StateHandles,
    },
};
use common::{Reply, bearer, send};
use proptest::prelude::*;

/// The reference's 404 body, written out so the tests do not trust the crate's constant.
const EXPECTED_404_BODY: &[u8] =
    br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Session not found"}}"#;

const SESSION_HEADER: &str = "mcp-session-id";

const A: &str = "tok-client-a";
const B: &str = "tok-client-b";
const A_ALICE: &str = "tok-a-alice";
const A_BOB: &str = "tok-a-bob";
const A_ALICE_ISS1: &str = "tok-a-alice-issuer-one";
const A_ALICE_ISS2: &str = "tok-a-alice-issuer-two";
/// Known to no verifier.
const UNKNOWN: &str = "tok-nobody-issued-this";

fn tokens() -> Vec<AccessToken> {
    vec![
        AccessToken::new(A, "client-a", ["mcp:read"]),
        AccessToken::new(B, "client-b", ["mcp:read"]),
        AccessToken::new(A_ALICE, "client-a", ["mcp:read"]).with_subject("alice"),
        AccessToken::new(A_BOB, "client-a", ["mcp:read"]).with_subject("bob"),
        AccessToken::new(A_ALICE_ISS1, "client-a", ["mcp:read"])
            .with_subject("alice")
            .with_claim("iss", "https://issuer.one"),
        AccessToken::new(A_ALICE_ISS2, "client-a", ["mcp:read"])
            .with_subject("alice")
            .with_claim("iss", "https://issuer.two"),
    ]
}

fn context(raw: &str) -> AuthorizationContext {
    let token = tokens().into_iter().find(|t| t.token == raw).unwrap();
    AuthorizationContext::from_token(&token)
}

/// The MCP service: sessions without owners, and a count of the requests that reached it.
#[derive(Default)]
struct Inner {
    live: Mutex<HashSet<String>>,
    calls: AtomicUsize,
}

async fn inner(State(state): State<Arc<Inner>>, method: Method, headers: HeaderMap) -> Response {
    state.calls.fetch_add(1, Ordering::SeqCst);
    let Some(id) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) else {
        if method != Method::POST {
            return (StatusCode::BAD_REQUEST, "Bad Request: Missing session ID").into_response();
        }
        let id = format!("{:032x}", rand::random::<u128>());
        state.live.lock().unwrap().insert(id.clone());
        return (StatusCode::OK, [(SESSION_HEADER, id)], "created").into_response();
    };
    if !state.live.lock().unwrap().contains(id) {
        return (StatusCode::NOT_FOUND, "inner: no such session").into_response();
    }
    if method == Method::DELETE {
        state.live.lock().unwrap().remove(id);
        return (StatusCode::OK, "deleted").into_response();
    }
    // Like rmcp on some responses: the session id again, which must not re-bind anything.
    (StatusCode::OK, [(SESSION_HEADER, id.to_owned())], "ok").into_response()
}

struct App {
    router: Router,
    owners: Arc<SessionOwners>,
    inner: Arc<Inner>,
}

impl App {
    fn new(owners: SessionOwners) -> Self {
        let owners = Arc::new(owners);
        let inner = Arc::new(Inner::default());
        let router = Router::new()
            .route("/mcp", any(inner_handler))
            .with_state(inner.clone())
            .route_layer(SessionBindingLayer::with_shared_store(owners.clone()))
            .layer(BearerAuth::new(StaticVerifier::new(tokens())));
        Self {
            router,
            owners,
            inner,
        }
    }

    fn calls(&self) -> usize {
        self.inner.calls.load(Ordering::SeqCst)
    }

    async fn call(&self, method: Method, session: Option<&str>, token: Option<&str>) -> Reply {
        send(&self.router, request(method, session, token)).await
    }

    /// Creates a session as `creator` (`None`: anonymously) and returns its id.
    async fn create(&self, creator: Option<&str>) -> String {
        let reply = self.call(Method::POST, None, creator).await;
        assert_eq!(reply.status, StatusCode::OK, "creating: {}", reply.text());
        reply
            .headers
            .get(SESSION_HEADER)
            .expect("a new session announces its id")
            .to_str()
            .unwrap()
            .to_owned()
    }

    async fn unknown(&self) -> Reply {
        self.call(Method::POST, Some("non-existent-session-id"), None)
            .await
    }
}

// `any` needs a handler with the state type fixed.
async fn inner_handler(state: State<Arc<Inner>>, method: Method, headers: HeaderMap) -> Response {
    inner(state, method, headers).await
}

fn request(method: Method, session: Option<&str>, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri("/mcp");
    if let Some(session) = session {
        builder = builder.header(SESSION_HEADER, session);
    }
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, bearer(token));
    }
    builder.body(Body::empty()).unwrap()
}

/// The reference's 404, byte for byte, identical to the unknown-session reply.
fn assert_not_found(reply: &Reply, unknown: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "{what}: {}",
        reply.text()
    );
    assert_eq!(reply.content_type(), Some("application/json"), "{what}");
    assert_eq!(
        &reply.body[..],
        EXPECTED_404_BODY,
        "{what}: {}",
        reply.text()
    );
    assert_eq!(
        (&reply.status, &reply.headers, &reply.body),
        (&unknown.status, &unknown.headers, &unknown.body),
        "{what}: differs from an unknown session"
    );
    assert!(reply.headers.get(SESSION_HEADER).is_none(), "{what}");
}

#[tokio::test]
async fn creator_passes_and_its_session_is_bound_once() {
    let app = App::new(SessionOwners::new());
    let id = app.create(Some(A_ALICE_ISS1)).await;
    assert_eq!(app.owners.len(), 1);
    for method in [Method::POST, Method::GET, Method::POST] {
        let reply = app
            .call(method.clone(), Some(&id), Some(A_ALICE_ISS1))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{method}: {}", reply.text());
        assert_eq!(reply.text(), "ok");
    }
    assert_eq!(app.owners.len(), 1, "the echoed id bound nothing new");
    assert_eq!(app.owners.check(&id, Some(&context(A_ALICE_ISS1))), Ok(()));
    // Anonymous sessions work for anonymous callers.
    let id = app.create(None).await;
    let reply = app.call(Method::GET, Some(&id), None).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn strangers_get_the_unknown_session_404_and_never_reach_the_service() {
    // (creator, sender, what); `None` is an anonymous request.
    let pairs: &[(Option<&str>, Option<&str>, &str)] = &[
        (Some(A), Some(B), "other client"),
        (Some(A_ALICE), Some(A_BOB), "other subject"),
        (Some(A_ALICE), Some(A), "same client without subject"),
        (Some(A_ALICE_ISS1), Some(A_ALICE_ISS2), "other issuer"),
        (
            Some(A_ALICE_ISS1),
            Some(A_ALICE),
            "same subject without issuer",
        ),
        (Some(A), None, "anonymous on an authenticated session"),
        (None, Some(A), "authenticated on an anonymous session"),
    ];
    let app = App::new(SessionOwners::new());
    let unknown = app.unknown().await;
    assert_eq!(&unknown.body[..], EXPECTED_404_BODY);
    for &(creator, sender, what) in pairs {
        let id = app.create(creator).await;
        let before = app.calls();
        for method in [Method::POST, Method::GET, Method::DELETE] {
            let reply = app.call(method.clone(), Some(&id), sender).await;
            assert_not_found(&reply, &unknown, &format!("{what}, {method}"));
        }
        assert_eq!(app.calls(), before, "{what}: the service was never called");
        // The session survived, for its creator.
        let reply = app.call(Method::POST, Some(&id), creator).await;
        assert_eq!(reply.status, StatusCode::OK, "{what}: creator afterwards");
    }
}

#[tokio::test]
async fn delete_by_a_stranger_is_404_and_the_owner_delete_forgets_the_session() {
    let app = App::new(SessionOwners::new());
    let unknown = app.unknown().await;
    let id = app.create(Some(A)).await;

    let reply = app.call(Method::DELETE, Some(&id), Some(B)).await;
    assert_not_found(&reply, &unknown, "stranger's DELETE");
    assert_eq!(app.owners.len(), 1);
    assert!(
        app.inner.live.lock().unwrap().contains(&id),
        "service kept it"
    );
    assert_eq!(
        app.call(Method::POST, Some(&id), Some(A)).await.status,
        StatusCode::OK
    );

    let reply = app.call(Method::DELETE, Some(&id), Some(A)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.text(), "deleted");
    assert!(app.owners.is_empty(), "the layer forgot the session");
    let before = app.calls();
    let reply = app.call(Method::POST, Some(&id), Some(A)).await;
    assert_not_found(&reply, &unknown, "the owner after DELETE");
    assert_eq!(app.calls(), before);
}

#[tokio::test]
async fn a_failed_delete_keeps_the_binding() {
    let app = App::new(SessionOwners::new());
    let id = app.create(Some(A)).await;
    // The service no longer knows the session (its own timeout): its DELETE answers 404, not 2xx.
    app.inner.live.lock().unwrap().clear();
    let reply = app.call(Method::DELETE, Some(&id), Some(A)).await;
    assert_eq!(reply.text(), "inner: no such session");
    assert_eq!(app.owners.len(), 1, "only a 2xx DELETE forgets the owner");
}

#[tokio::test]
async fn invalid_credentials_are_refused_not_treated_as_anonymous() {
    let app = App::new(SessionOwners::new());
    let id = app.create(None).await;
    let before = app.calls();
    let reply = app.call(Method::POST, Some(&id), Some(UNKNOWN)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    let reply = app.call(Method::POST, None, Some(UNKNOWN)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.headers.get(SESSION_HEADER).is_none());
    assert_eq!(app.calls(), before);
    assert_eq!(app.owners.len(), 1);
}

#[tokio::test]
async fn unusable_session_headers_get_the_same_404() {
    let app = App::new(SessionOwners::new());
    let unknown = app.unknown().await;
    let id = app.create(Some(A)).await;
    let before = app.calls();
    // Two ids, one of them the caller's own: the layer cannot know which one the service reads.
    let request = Request::post("/mcp")
        .header(SESSION_HEADER, &id)
        .header(SESSION_HEADER, "other")
        .header(header::AUTHORIZATION, bearer(A))
        .body(Body::empty())
        .unwrap();
    assert_not_found(&send(&app.router, request).await, &unknown, "two ids");
    let request = Request::post("/mcp")
        .header(SESSION_HEADER, &b"caf\xe9"[..])
        .header(header::AUTHORIZATION, bearer(A))
        .body(Body::empty())
        .unwrap();
    assert_not_found(&send(&app.router, request).await, &unknown, "non-ASCII id");
    let reply = app.call(Method::POST, Some(""), Some(A)).await;
    assert_not_found(&reply, &unknown, "empty id");
    assert_eq!(app.calls(), before);
}

#[tokio::test]
async fn idle_sessions_expire_and_use_keeps_them_alive() {
    let idle = Duration::from_millis(800);
    let app = App::new(SessionOwners::new().with_idle_timeout(idle));
    let unknown = app.unknown().await;
    let id = app.create(Some(A)).await;
    // Used every 500 ms: alive after 1 s, longer than the idle timeout.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let reply = app.call(Method::POST, Some(&id), Some(A)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    // A stranger's requests do not keep it alive.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let reply = app.call(Method::POST, Some(&id), Some(B)).await;
        assert_not_found(&reply, &unknown, "stranger");
    }
    let reply = app.call(Method::POST, Some(&id), Some(A)).await;
    assert_not_found(&reply, &unknown, "owner after the idle timeout");
    assert!(app.owners.is_empty());
}

#[tokio::test]
async fn at_the_cap_new_sessions_get_503_and_live_ones_keep_working() {
    let app = App::new(SessionOwners::new().with_max_sessions(2));
    let first = app.create(Some(A)).await;
    let second = app.create(None).await;

    let reply = app.call(Method::POST, None, Some(B)).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.text()
    );
    assert_eq!(reply.content_type(), Some("application/json"));
    assert_eq!(
        reply.text(),
        r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Too many sessions"}}"#
    );
    assert_eq!(reply.text(), SESSIONS_FULL_BODY);
    assert!(
        reply.headers.get(SESSION_HEADER).is_none(),
        "the refused session id is never revealed"
    );
    assert_eq!(app.owners.len(), 2);

    for (id, owner) in [(&first, Some(A)), (&second, None)] {
        let reply = app.call(Method::POST, Some(id), owner).await;
        assert_eq!(reply.status, StatusCode::OK, "live session at the cap");
    }
    // Room again once a session ends.
    let reply = app.call(Method::DELETE, Some(&first), Some(A)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let third = app.create(Some(B)).await;
    assert_eq!(
        app.call(Method::GET, Some(&third), Some(B)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn expired_sessions_make_room_at_the_cap() {
    let app = App::new(
        SessionOwners::new()
            .with_max_sessions(1)
            .with_idle_timeout(Duration::from_millis(100)),
    );
    app.create(Some(A)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.create(Some(B)).await;
    assert_eq!(app.owners.len(), 1);
}

/// A store that is down.
struct DownStore;

impl SessionStore for DownStore {
    async fn bind(
        &self,
        _: &str,
        _: Option<&AuthorizationContext>,
    ) -> Result<(), SessionStoreError> {
        Err(SessionStoreError::unavailable("connection refused"))
    }

    async fn check(
        &self,
        _: &str,
        _: Option<&AuthorizationContext>,
    ) -> Result<SessionCheck, SessionStoreError> {
        Err(SessionStoreError::unavailable("connection refused"))
    }

    async fn remove(&self, _: &str) -> Result<bool, SessionStoreError> {
        Err(SessionStoreError::unavailable("connection refused"))
    }
}

#[tokio::test]
async fn an_unavailable_store_answers_503_never_lets_a_request_through() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let router = Router::new()
        .route(
            "/mcp",
            any(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { ([(SESSION_HEADER, "new-session")], "created") }
            }),
        )
        .route_layer(SessionBindingLayer::with_store(DownStore))
        .layer(BearerAuth::new(StaticVerifier::new(tokens())));
    for (session, what) in [(Some("some-session"), "check"), (None, "bind")] {
        let reply = send(&router, request(Method::POST, session, Some(A))).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{what}");
        assert_eq!(reply.content_type(), Some("application/json"), "{what}");
        assert_eq!(reply.text(), SESSION_STORE_UNAVAILABLE_BODY, "{what}");
        assert_eq!(
            reply.text(),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Session store unavailable"}}"#
        );
        assert!(reply.headers.get(SESSION_HEADER).is_none(), "{what}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "only the bind reached the service"
    );
}

#[tokio::test]
async fn a_service_announcing_another_principals_session_gets_the_404() {
    let owners = Arc::new(SessionOwners::new());
    let router = Router::new()
        .route(
            "/mcp",
            any(|| async { ([(SESSION_HEADER, "fixed-id")], "created") }),
        )
        .route_layer(SessionBindingLayer::with_shared_store(owners.clone()))
        .layer(BearerAuth::new(StaticVerifier::new(tokens())));
    let reply = send(&router, request(Method::POST, None, Some(A))).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = send(&router, request(Method::POST, None, Some(B))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(&reply.body[..], EXPECTED_404_BODY);
    assert_eq!(owners.check("fixed-id", Some(&context(A))), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// The property: no sequence of requests lets one principal use another's session.
// ---------------------------------------------------------------------------------------------

/// The callers of the property test: three principals and an anonymous one.
const CALLERS: [Option<&str>; 4] = [Some(A), Some(B), Some(A_ALICE), None];

#[derive(Debug, Clone)]
enum Op {
    /// `CALLERS[caller]` creates a session.
    Create { caller: usize },
    /// `CALLERS[caller]` sends `method` naming the `session`-th session created so far.
    Use {
        caller: usize,
        session: usize,
        method: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..CALLERS.len()).prop_map(|caller| Op::Create { caller }),
        (0..CALLERS.len(), 0..8usize, 0..3u8).prop_map(|(caller, session, method)| Op::Use {
            caller,
            session,
            method
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn no_sequence_of_requests_lets_another_principal_use_a_session(
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let app = App::new(SessionOwners::new().with_max_sessions(6));
            let unknown = app.unknown().await;
            // The model: every session created so far, its creator, and whether it is open.
            let mut sessions: Vec<(String, usize, bool)> = Vec::new();
            for op in ops {
                match op {
                    Op::Create { caller } => {
                        let reply = app.call(Method::POST, None, CALLERS[caller]).await;
                        let open = sessions.iter().filter(|s| s.2).count();
                        if open >= 6 {
                            prop_assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
                            continue;
                        }
                        prop_assert_eq!(reply.status, StatusCode::OK);
                        let id = reply.headers[SESSION_HEADER].to_str().unwrap().to_owned();
                        sessions.push((id, caller, true));
                    }
                    Op::Use { caller, session, method } => {
                        let Some((id, creator, open)) = sessions.get(session).cloned() else {
                            continue;
                        };
                        let method = [Method::POST, Method::GET, Method::DELETE][usize::from(method)].clone();
                        let before = app.calls();
                        let reply = app.call(method.clone(), Some(&id), CALLERS[caller]).await;
                        // A and A_ALICE are different principals of one client; only the creator passes.
                        if open && caller == creator {
                            prop_assert_eq!(reply.status, StatusCode::OK);
                            prop_assert_eq!(app.calls(), before + 1);
                            if method == Method::DELETE {
                                sessions[session].2 = false;
                            }
                        } else {
                            prop_assert_eq!(reply.status, StatusCode::NOT_FOUND);
                            prop_assert_eq!(&reply.body, &unknown.body);
                            prop_assert_eq!(&reply.headers, &unknown.headers);
                            prop_assert_eq!(app.calls(), before, "a stranger reached the service");
                        }
                    }
                }
            }
            prop_assert_eq!(app.owners.len(), sessions.iter().filter(|s| s.2).count());
            Ok(())
        })?;
    }
}

// ---------------------------------------------------------------------------------------------
// State handles (MCP 2026-07-28)
// ---------------------------------------------------------------------------------------------

#[test]
fn another_principals_state_handle_is_refused_like_an_unknown_one() {
    let handles = StateHandles::new();
    let owners = [
        Some(context(A)),
        Some(context(B)),
        Some(context(A_ALICE)),
        Some(context(A_BOB)),
        Some(context(A_ALICE_ISS1)),
        Some(context(A_ALICE_ISS2)),
        None,
    ];
    let minted: Vec<String> = owners
        .iter()
        .enumerate()
        .map(|(i, owner)| handles.mint(owner.as_ref(), i).unwrap())
        .collect();
    let never_minted = StateHandles::<()>::random_handle().unwrap();
    for (i, owner) in owners.iter().enumerate() {
        let owner = owner.as_ref();
        assert_eq!(handles.get(owner, &minted[i]), Ok(i));
        let unknown = handles.get(owner, &never_minted);
        assert_eq!(unknown, Err(StateHandleError::NotFound));
        for (j, handle) in minted.iter().enumerate().filter(|(j, _)| *j != i) {
            assert_eq!(
                handles.get(owner, handle),
                unknown,
                "{i} reading {j}'s handle"
            );
            assert_eq!(
                handles.remove(owner, handle),
                Err(StateHandleError::NotFound),
                "{i} removing {j}'s handle"
            );
        }
    }
    // Nobody else's remove touched them.
    for (i, owner) in owners.iter().enumerate() {
        assert_eq!(handles.remove(owner.as_ref(), &minted[i]), Ok(i));
        assert_eq!(
            handles.get(owner.as_ref(), &minted[i]),
            Err(StateHandleError::NotFound)
        );
    }
    assert!(handles.is_empty());
}

#[test]
fn state_handles_are_bounded() {
    let handles = StateHandles::new()
        .with_max_handles(1)
        .with_idle_timeout(Duration::from_millis(100));
    let alice = context(A_ALICE);
    let first = handles.mint(Some(&alice), "one").unwrap();
    assert_eq!(
        handles.mint(Some(&alice), "two"),
        Err(StateHandleError::Full { max: 1 })
    );
    assert_eq!(handles.get(Some(&alice), &first), Ok("one"));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        handles.get(Some(&alice), &first),
        Err(StateHandleError::NotFound)
    );
    handles.mint(Some(&alice), "three").unwrap();
}

// ---------------------------------------------------------------------------------------------
// The principal key against the real Python SDK
// ---------------------------------------------------------------------------------------------

/// Token fields → `authenticated_principal` with `mcp` 2.3.0, for each token of `tokens`.
fn python_principals(tokens: &[AccessToken]) -> Vec<String> {
    let python = python_venv::python();
    const SCRIPT: &str = r#"
import json, sys
import importlib.metadata as md
assert md.version("mcp") == "2.3.0", md.version("mcp")
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.request_state import authenticated_principal
out = []
for fields in json.load(sys.stdin):
    reset = auth_context_var.set(AuthenticatedUser(AccessToken.model_validate(fields)))
    try:
        out.append(authenticated_principal(None))
    finally:
        auth_context_var.reset(reset)
json.dump(out, sys.stdout)
"#;
    let input = serde_json::to_vec(
        &tokens
            .iter()
            .map(|t| {
                serde_json::json!({
                    "token": t.token, "client_id": t.client_id, "scopes": t.scopes,
                    "subject": t.subject, "claims": t.claims,
                })
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let mut child = Command::new(&python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "python failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
#[ignore = "needs the Python venv: bash tests/parity/setup-venv.sh (CI runs it with --include-ignored)"]
fn principal_key_is_byte_identical_to_the_python_sdk() {
    let base = |client: &str| AccessToken::new("t", client, ["mcp"]);
    let tokens = vec![
        base("client-123"),
        base("client-123").with_subject("alice"),
        base("client-123").with_claim("iss", "https://as.example"),
        base("client-123")
            .with_subject("alice")
            .with_claim("iss", "https://as.example"),
        // `claims["sub"]` is not the subject; a numeric `iss` is its text.
        base("c").with_claim("sub", "mallory").with_claim("iss", 5),
        base("c").with_claim("iss", serde_json::Value::Null),
        // Non-ASCII: Latin-1, BMP, astral (a surrogate pair), and DEL.
        base("clïent")
            .with_subject("zoë")
            .with_claim("iss", "https://as.example/ü"),
        base("客户端")
            .with_subject("用户")
            .with_claim("iss", "https://例え.jp"),
        base("emoji-😀").with_subject("👩‍💻"),
        base("del\u{7f}").with_subject("nbsp\u{a0}"),
        // Characters JSON escapes: quotes, backslash, controls, and the separators themselves.
        base(r#"quo"te\back"#).with_subject("tab\tnl\ncr\rbs\u{8}ff\u{c}nul\u{0}esc\u{1b}"),
        base("a,b:c")
            .with_subject("[\"x\",null]")
            .with_claim("iss", ""),
        base(""),
    ];
    let python = python_principals(&tokens);
    assert_eq!(python.len(), tokens.len());
    for (token, expected) in tokens.iter().zip(&python) {
        let context = AuthorizationContext::from_token(token);
        assert_eq!(&context.principal_key(), expected, "{token:?}");
        assert_eq!(&context.to_principal_json(), expected, "{token:?}");
        assert_eq!(
            StateHandles::<()>::key(Some(&context), "0f"),
            format!("{expected}:0f")
        );
    }
}
