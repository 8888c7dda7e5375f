//! The MCP Python SDK's own tests (`python-sdk.md` §12 groups A, B, G, H), ported to axum.
//!
//! Where a reference test pokes Starlette internals (`scope["auth"]`, the contextvar), the port
//! asserts the same user-visible behaviour through a real `Router`.

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{
    Router,
    body::Body,
    extract::Request,
    http::{Method, StatusCode},
    routing::{any, get as get_route},
};
use axum_bearer::{
    AccessToken, AuthenticatedUser, AuthorizationContext, BearerAuth, Profile, RequireScopesLayer,
    StaticVerifier,
};
use common::*;

/// `Option<AuthenticatedUser>` plays the reference's `BearerAuthBackend.authenticate`: it reports
/// what the backend returned, as `client_id scopes` or `anonymous`.
fn backend_app(verifier: Recording) -> Router {
    Router::new()
        .route(
            "/authenticate",
            get_route(|user: Option<AuthenticatedUser>| async move {
                match user {
                    Some(user) => format!("{} {}", user.client_id(), user.scopes().join(",")),
                    None => "anonymous".to_owned(),
                }
            }),
        )
        .layer(BearerAuth::new(verifier))
}

async fn authenticate(authorization: &[(&str, &str)]) -> (Reply, Recording) {
    let verifier = Recording::with_fixtures();
    let app = backend_app(verifier.clone());
    let mut request = Request::get("/authenticate");
    for (name, value) in authorization {
        request = request.header(*name, *value);
    }
    let reply = send(&app, request.body(Body::empty()).unwrap()).await;
    (reply, verifier)
}

// --- A. test_bearer_auth.py: TestBearerAuthBackend -------------------------------------------

#[tokio::test]
async fn a01_no_auth_header_is_anonymous() {
    let (reply, verifier) = authenticate(&[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "anonymous");
    assert_eq!(verifier.calls(), 0);
}

#[tokio::test]
async fn a02_non_bearer_auth_header_is_anonymous() {
    let (reply, verifier) = authenticate(&[("authorization", "Basic dXNlcjpwYXNz")]).await;
    assert_eq!(reply.text(), "anonymous");
    assert_eq!(verifier.calls(), 0);
}

#[tokio::test]
async fn a03_invalid_token_is_refused_after_asking_the_verifier() {
    let (reply, verifier) = authenticate(&[("authorization", "Bearer invalid_token")]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, PY_401_BODY);
    assert_eq!(verifier.seen(), ["invalid_token"]);
}

#[tokio::test]
async fn a04_expired_token_is_refused() {
    let (reply, verifier) = authenticate(&[("authorization", "Bearer expired_token")]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, PY_401_BODY);
    assert_eq!(verifier.seen(), ["expired_token"]);
}

#[tokio::test]
async fn a05_valid_token_authenticates_with_its_scopes_and_client() {
    let (reply, verifier) = authenticate(&[("authorization", "Bearer valid_token")]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "test_client read,write");
    assert_eq!(verifier.seen(), ["valid_token"]);
}

#[tokio::test]
async fn a05_user_access_token_is_the_verifiers_token() {
    let verifier = Recording::with_fixtures();
    let expected = fixtures()
        .into_iter()
        .find(|t| t.token == "valid_token")
        .unwrap();
    let app = Router::new()
        .route(
            "/",
            get_route(move |user: AuthenticatedUser| {
                let expected = expected.clone();
                async move {
                    assert_eq!(user.access_token(), &expected);
                    assert_eq!(user.scopes(), ["read", "write"]);
                    "same"
                }
            }),
        )
        .layer(BearerAuth::new(verifier));
    let reply = send(&app, get("/", &[b"Bearer valid_token"])).await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, "same"));
}

#[tokio::test]
async fn a06_token_without_expiry_authenticates() {
    let (reply, _) = authenticate(&[("authorization", "Bearer no_expiry_token")]).await;
    assert_eq!(reply.text(), "test_client read,write");
}

#[tokio::test]
async fn a07_lowercase_bearer_prefix() {
    let (reply, _) = authenticate(&[("authorization", "bearer valid_token")]).await;
    assert_eq!(reply.text(), "test_client read,write");
}

#[tokio::test]
async fn a08_mixed_case_bearer_prefix() {
    let (reply, _) = authenticate(&[("authorization", "BeArEr valid_token")]).await;
    assert_eq!(reply.text(), "test_client read,write");
}

#[tokio::test]
async fn a09_mixed_case_authorization_header_name() {
    let (reply, _) = authenticate(&[("AuThOrIzAtIoN", "BeArEr valid_token")]).await;
    assert_eq!(reply.text(), "test_client read,write");
}

// --- A. test_bearer_auth.py: TestRequireAuthMiddleware ---------------------------------------

/// A gate requiring `required`, around an inner app that counts its calls and echoes the request.
fn gate(required: &[&str], verifier: Recording) -> (Router, Arc<AtomicUsize>) {
    let inner_calls = Arc::new(AtomicUsize::new(0));
    let counter = inner_calls.clone();
    let app = Router::new()
        .route(
            "/",
            any(move |request: Request| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let (parts, body) = request.into_parts();
                    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                    format!(
                        "{} {} {}",
                        parts.method,
                        parts
                            .headers
                            .get("x-probe")
                            .map_or("", |v| v.to_str().unwrap()),
                        String::from_utf8_lossy(&body)
                    )
                }
            }),
        )
        .route_layer(RequireScopesLayer::new(required.iter().copied()).unwrap())
        .layer(BearerAuth::new(verifier));
    (app, inner_calls)
}

#[tokio::test]
async fn a10_no_user_gets_401_and_the_app_is_not_called() {
    let (app, inner) = gate(&["read"], Recording::with_fixtures());
    let reply = send(&app, get("/", &[])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.www_authenticate().is_some());
    assert_eq!(inner.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a11_non_authenticated_user_gets_401() {
    let (app, inner) = gate(&["read"], Recording::with_fixtures());
    let reply = send(&app, get("/", &[b"Bearer not-a-known-token"])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.www_authenticate().is_some());
    assert_eq!(inner.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a12_missing_required_scope_gets_403() {
    let (app, inner) = gate(&["admin"], Recording::with_fixtures());
    let reply = send(&app, get("/", &[b"Bearer valid_token"])).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.www_authenticate(),
        Some(r#"Bearer error="insufficient_scope", error_description="Required scope: admin""#)
    );
    assert_eq!(inner.load(Ordering::SeqCst), 0);
}

/// The reference's "user without an `auth` entry" has no axum equivalent (a user always carries
/// its scopes); the nearest case, a user with no scopes at all, also gets the 403.
#[tokio::test]
async fn a13_user_without_scopes_gets_403() {
    let (app, inner) = gate(
        &["read"],
        Recording::new([AccessToken::new("t", "c", Vec::<String>::new())]),
    );
    let reply = send(&app, get("/", &[b"Bearer t"])).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(inner.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a14_required_scopes_present_calls_the_app_with_the_request_unchanged() {
    let (app, inner) = gate(&["read"], Recording::with_fixtures());
    let request = Request::post("/")
        .header("authorization", "Bearer valid_token")
        .header("x-probe", "kept")
        .body(Body::from("payload"))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "POST kept payload");
    assert_eq!(inner.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a15_multiple_required_scopes() {
    let (app, inner) = gate(&["read", "write"], Recording::with_fixtures());
    let reply = send(&app, get("/", &[b"Bearer valid_token"])).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(inner.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a16_no_required_scopes_passes_any_authenticated_user() {
    let (app, inner) = gate(
        &[],
        Recording::new([AccessToken::new("t", "c", Vec::<String>::new())]),
    );
    assert_eq!(
        send(&app, get("/", &[b"Bearer t"])).await.status,
        StatusCode::OK
    );
    assert_eq!(
        send(&app, get("/", &[])).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(inner.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a17_authorization_context_is_built_from_principal_components() {
    let token = AccessToken::new("t", "client-1", ["x"])
        .with_subject("alice")
        .with_claim("iss", "https://as.example");
    let app = Router::new()
        .route(
            "/",
            get_route(|user: AuthenticatedUser| async move {
                serde_json::to_string(&user.authorization_context()).unwrap()
            }),
        )
        .layer(BearerAuth::new(StaticVerifier::new([token.clone()])));
    let reply = send(&app, get("/", &[b"Bearer t"])).await;
    let context: AuthorizationContext = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(
        context,
        AuthorizationContext {
            client_id: token.client_id.clone(),
            issuer: token.issuer().map(Into::into),
            subject: token.subject.clone(),
        }
    );
    assert_eq!(context.issuer.as_deref(), Some("https://as.example"));
}

// --- B. test_auth_context.py: the handler sees the token of its own request --------------------

#[tokio::test]
async fn b18_inner_service_sees_the_authenticated_user_of_its_request() {
    let app = Router::new()
        .route(
            "/",
            any(|request: Request| async move {
                match AuthenticatedUser::from_extensions(request.extensions()) {
                    Some(user) => format!("token of {}", user.client_id()),
                    None => "none".to_owned(),
                }
            }),
        )
        .route_layer(RequireScopesLayer::new(["read"]).unwrap())
        .layer(BearerAuth::new(Recording::with_fixtures()));
    let reply = send(&app, get("/", &[b"Bearer valid_token"])).await;
    assert_eq!(reply.text(), "token of test_client");
}

#[tokio::test]
async fn b19_no_user_means_no_token_in_extensions() {
    let app = Router::new()
        .route(
            "/",
            get_route(|request: Request| async move {
                AuthenticatedUser::from_extensions(request.extensions())
                    .map_or("none".to_owned(), |user| user.client_id().to_owned())
            }),
        )
        .layer(BearerAuth::new(Recording::with_fixtures()));
    // Nothing asked for the user on this public route, and no token was sent.
    assert_eq!(send(&app, get("/", &[])).await.text(), "none");
}

// --- G. tests/interaction/auth/test_bearer.py ---------------------------------------------------

const EXACT_401: &str = concat!(
    r#"Bearer error="invalid_token", error_description="Authentication required", "#,
    r#"resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp""#
);

fn mcp_post(authorization: Option<&str>, uri: &str) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request
        .body(Body::from(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
        ))
        .unwrap()
}

fn g_app() -> Router {
    reference_app(Profile::PythonSdk, Recording::with_fixtures())
}

#[tokio::test]
async fn g49_no_authorization_header_is_challenged_with_resource_metadata() {
    let reply = send(&g_app(), mcp_post(None, "/mcp")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate(), Some(EXACT_401));
    assert_eq!(
        reply.challenge(),
        params(&[
            ("error", "invalid_token"),
            ("error_description", "Authentication required"),
            ("resource_metadata", METADATA_URL),
        ])
    );
    assert_eq!(
        reply.json(),
        serde_json::json!({"error": "invalid_token", "error_description": "Authentication required"})
    );
    assert_eq!(reply.content_type(), Some("application/json"));
}

#[tokio::test]
async fn g50_unrecognized_bearer_token_is_answered_401_invalid_token() {
    let reply = send(&g_app(), mcp_post(Some("Bearer tok-unknown"), "/mcp")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate(), Some(EXACT_401));
}

#[tokio::test]
async fn g51_expired_token_is_answered_401() {
    let reply = send(&g_app(), mcp_post(Some("Bearer tok-expired"), "/mcp")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge()["error"], "invalid_token");
}

#[tokio::test]
async fn g52_missing_scope_is_403_insufficient_scope_without_a_scope_param() {
    let reply = send(&g_app(), mcp_post(Some("Bearer tok-none"), "/mcp")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.challenge(),
        params(&[
            ("error", "insufficient_scope"),
            ("error_description", "Required scope: mcp:read"),
            ("resource_metadata", METADATA_URL),
        ])
    );
    assert_eq!(
        reply.body,
        r#"{"error": "insufficient_scope", "error_description": "Required scope: mcp:read"}"#
    );
}

/// The reference (2.3.0 without `validate_token_resource`) accepts a token for another resource;
/// this crate does the same only when no resource is configured, and refuses it otherwise (D6).
#[tokio::test]
async fn g53_mismatched_audience_is_accepted_only_without_a_resource_check() {
    let unchecked = Router::new()
        .route(
            "/mcp",
            any(|u: AuthenticatedUser| async move { u.client_id().to_owned() }),
        )
        .route_layer(RequireScopesLayer::new(["mcp:read"]).unwrap())
        .layer(BearerAuth::new(Recording::with_fixtures()));
    let reply = send(
        &unchecked,
        mcp_post(Some("Bearer tok-other-resource"), "/mcp"),
    )
    .await;
    assert_eq!(
        (reply.status, reply.text()),
        (StatusCode::OK, "client-other")
    );

    let reply = send(
        &g_app(),
        mcp_post(Some("Bearer tok-other-resource"), "/mcp"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.www_authenticate(), Some(EXACT_401));
}

#[tokio::test]
async fn g54_access_token_in_the_query_string_is_not_accepted() {
    let verifier = Recording::with_fixtures();
    let app = reference_app(Profile::PythonSdk, verifier.clone());
    let reply = send(&app, mcp_post(None, "/mcp?access_token=tok-read")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge()["error"], "invalid_token");
    assert_eq!(verifier.calls(), 0);
}

// --- H. tests/docs_src/test_authorization.py ----------------------------------------------------

/// The reference refuses a verifier without auth settings at construction; here every setting
/// that could produce a broken challenge is refused when it is set.
#[test]
fn h55_bad_configuration_is_refused_when_built() {
    let auth = || BearerAuth::new(StaticVerifier::default());
    assert!(auth().resource_metadata_url("not a url").is_err());
    assert!(auth().resource_metadata_url("https://x/a\"b").is_err());
    assert!(auth().resource_metadata_url("https://x/m#frag").is_err());
    assert!(auth().resource_server_url("ftp://x/mcp").is_err());
    assert!(auth().realm("a\"b").is_err());
    assert!(
        auth()
            .scope_implies("files admin", ["files:write"])
            .is_err()
    );
    assert!(
        auth()
            .scope_implies("files:admin", ["files\\write"])
            .is_err()
    );
    assert!(RequireScopesLayer::new(["mcp read"]).is_err());
    assert!(RequireScopesLayer::new([""]).is_err());
    let error = RequireScopesLayer::new(["caf\u{e9}"]).unwrap_err();
    assert!(error.to_string().contains("invalid scope"));
}

#[tokio::test]
async fn h58_request_without_token_never_reaches_the_protocol() {
    let reply = send(&g_app(), mcp_post(None, "/mcp")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, PY_401_BODY);
    assert_eq!(reply.body.len(), 74);
    assert_eq!(reply.www_authenticate(), Some(EXACT_401));
}

#[tokio::test]
async fn h59_token_the_verifier_rejects_gets_the_same_401() {
    let reply = send(&g_app(), mcp_post(Some("Bearer not-a-real-token"), "/mcp")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.body, PY_401_BODY);
}

#[tokio::test]
async fn h60_handler_reads_the_callers_access_token() {
    let alice = AccessToken::new("alice-token", "alice", ["notes:read"]);
    let app = Router::new()
        .route(
            "/mcp",
            any(|user: AuthenticatedUser| async move {
                let token = user.access_token();
                format!("{} (scopes: {})", token.client_id, token.scopes.join(", "))
            }),
        )
        .layer(BearerAuth::new(StaticVerifier::new([alice])));
    let reply = send(&app, mcp_post(Some("Bearer alice-token"), "/mcp")).await;
    assert_eq!(reply.text(), "alice (scopes: notes:read)");
}
