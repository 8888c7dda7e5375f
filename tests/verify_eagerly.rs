//! `BearerAuth::verify_eagerly`: the token is verified before the inner service runs (so code
//! that reads the user synchronously sees it), once per request, and the layer still refuses
//! nothing by itself.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{
    Router,
    body::Body,
    extract::Request,
    routing::{get, post},
};
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, Profile, StaticVerifier, TokenVerifier,
    VerifyError, verifier_fn,
};
use http::{StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A verifier that always has to wait (as an introspection call does), counting its calls;
/// `unavailable` makes it fail as a down authorization server.
fn waiting(calls: Arc<AtomicUsize>, unavailable: bool) -> impl TokenVerifier {
    verifier_fn(move |token: String| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            tokio::task::yield_now().await;
            match (unavailable, token.as_str()) {
                (true, _) => Err(VerifyError::unavailable("down")),
                (false, "good") => Ok(AccessToken::new(token, "eager-client", ["notes:read"])),
                _ => Err(VerifyError::invalid("unknown token")),
            }
        }
    })
}

/// `/sync` reads the user from the request's extensions only (as an rmcp tool does),
/// `/extracted` declares it, `/public` asks for nothing.
fn app(auth: BearerAuth) -> Router {
    Router::new()
        .route(
            "/sync",
            get(|request: Request| async move {
                match AuthenticatedUser::from_extensions(request.extensions()) {
                    Some(user) => user.client_id().to_owned(),
                    None => "nobody".to_owned(),
                }
            }),
        )
        .route(
            "/extracted",
            get(|user: AuthenticatedUser| async move { user.client_id().to_owned() }),
        )
        .route("/public", post(|body: String| async move { body }))
        .layer(auth)
}

async fn send(app: &Router, method: &str, path: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from("the body")).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn code_reading_the_extensions_sees_the_user_verified_eagerly() {
    let calls = Arc::new(AtomicUsize::new(0));
    let eager = app(BearerAuth::new(waiting(calls.clone(), false)).verify_eagerly());
    assert_eq!(
        send(&eager, "GET", "/sync", Some("good")).await,
        (StatusCode::OK, "eager-client".to_owned())
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // The lazy default: nothing asked, nothing verified.
    let lazy = app(BearerAuth::new(waiting(calls.clone(), false)));
    assert_eq!(
        send(&lazy, "GET", "/sync", Some("good")).await,
        (StatusCode::OK, "nobody".to_owned())
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_extractor_after_eager_verification_does_not_verify_again() {
    let calls = Arc::new(AtomicUsize::new(0));
    let eager = app(BearerAuth::new(waiting(calls.clone(), false)).verify_eagerly());
    assert_eq!(
        send(&eager, "GET", "/extracted", Some("good")).await,
        (StatusCode::OK, "eager-client".to_owned())
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn eager_verification_refuses_nothing_by_itself() {
    let calls = Arc::new(AtomicUsize::new(0));
    let eager = app(BearerAuth::new(waiting(calls.clone(), false))
        .profile(Profile::Spec)
        .verify_eagerly());
    // A public route stays public, body intact, whatever the credentials.
    for token in [None, Some("bad"), Some("good")] {
        assert_eq!(
            send(&eager, "POST", "/public", token).await,
            (StatusCode::OK, "the body".to_owned()),
            "{token:?}"
        );
    }
    assert_eq!(send(&eager, "GET", "/sync", Some("bad")).await.1, "nobody");
    // The memoised refusal is the profile's usual 401 where the user is required.
    let response = eager
        .clone()
        .oneshot(
            Request::get("/extracted")
                .header(header::AUTHORIZATION, "Bearer bad")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Bearer error=\"invalid_token\", error_description=\"The access token is invalid\""
    );
}

#[tokio::test]
async fn a_verifier_down_is_503_where_the_user_is_required_only() {
    let calls = Arc::new(AtomicUsize::new(0));
    let eager = app(BearerAuth::new(waiting(calls.clone(), true)).verify_eagerly());
    assert_eq!(
        send(&eager, "POST", "/public", Some("good")).await,
        (StatusCode::OK, "the body".to_owned())
    );
    assert_eq!(
        send(&eager, "GET", "/extracted", Some("good")).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn a_verifier_that_answers_at_once_is_asked_at_once() {
    let verifier = StaticVerifier::new([AccessToken::new("good", "static-client", ["notes:read"])]);
    let eager = app(BearerAuth::new(verifier).verify_eagerly());
    assert_eq!(
        send(&eager, "GET", "/sync", Some("good")).await,
        (StatusCode::OK, "static-client".to_owned())
    );
}
