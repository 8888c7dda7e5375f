#![cfg(all(feature = "testing", feature = "cache"))]
//! `TokenVerifier::verify_ready`: verifiers that can answer without waiting do, agree with
//! `verify_shared`, and the layer and `RequireScopesLayer` answer the same whether the verifier
//! answered at once or had to wait.

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{Router, routing::get};
use axum_bearer::{
    AccessToken, BearerAuth, CachedVerifier, JwtVerifier, Profile, RequireScopesLayer,
    StaticVerifier, TokenVerifier, VerifyError,
    testing::{Endpoint, TestIssuer},
    verifier_fn,
};
use http::{StatusCode, header};

const AUDIENCE: &str = "https://rs.example/mcp";

fn tokens() -> [AccessToken; 2] {
    [
        AccessToken::new("reader", "app", ["notes:read"]),
        AccessToken::new("writer", "app", ["notes:read", "notes:write"]),
    ]
}

/// A route that requires `notes:write` through `RequireScopesLayer`, counting handler calls.
fn app(auth: BearerAuth, calls: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route(
            "/write",
            get(move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                "written"
            }),
        )
        .route_layer(RequireScopesLayer::new(["notes:write"]).unwrap())
        .layer(auth)
}

/// The status and challenge of `GET /write`, with `token` as a bearer token if given.
async fn call(app: &Router, token: Option<&str>) -> (StatusCode, Option<String>) {
    let authorization = token.map(common::bearer);
    let values: Vec<&[u8]> = authorization.iter().map(|value| value.as_bytes()).collect();
    let reply = common::send(app, common::get("/write", &values)).await;
    let challenge = reply
        .headers
        .get(header::WWW_AUTHENTICATE)
        .map(|value| value.to_str().unwrap().to_owned());
    (reply.status, challenge)
}

#[tokio::test]
async fn scope_layer_answers_alike_when_the_verifier_waits_or_not() {
    let ready = StaticVerifier::new(tokens());
    let table = StaticVerifier::new(tokens());
    // Same answers, but only through an async verify: `verify_ready` is `None`.
    let waiting = verifier_fn(move |token: String| {
        let table = table.clone();
        async move { table.verify(&token).await }
    });
    assert!(ready.verify_ready("writer").is_some());
    assert!(waiting.verify_ready("writer").is_none());

    for profile in [Profile::PythonSdk, Profile::Spec] {
        let ready_calls = Arc::new(AtomicUsize::new(0));
        let waiting_calls = Arc::new(AtomicUsize::new(0));
        let ready_app = app(
            BearerAuth::new(ready.clone()).profile(profile),
            ready_calls.clone(),
        );
        let waiting_app = app(
            BearerAuth::new(waiting.clone()).profile(profile),
            waiting_calls.clone(),
        );
        for (token, status) in [
            (Some("writer"), StatusCode::OK),
            (Some("reader"), StatusCode::FORBIDDEN),
            (Some("unknown"), StatusCode::UNAUTHORIZED),
            (None, StatusCode::UNAUTHORIZED),
        ] {
            let at_once = call(&ready_app, token).await;
            let later = call(&waiting_app, token).await;
            assert_eq!(at_once.0, status, "{profile:?} {token:?}");
            assert_eq!(at_once, later, "{profile:?} {token:?}");
        }
        // Only the allowed request reached the handler, once per app.
        assert_eq!(ready_calls.load(Ordering::SeqCst), 1, "{profile:?}");
        assert_eq!(waiting_calls.load(Ordering::SeqCst), 1, "{profile:?}");
    }
}

#[tokio::test]
async fn static_verifier_ready_answer_is_its_shared_answer() {
    let verifier = StaticVerifier::new(tokens())
        .with_token(AccessToken::new("old", "app", ["notes:read"]).with_expires_at(1));
    for token in ["reader", "writer", "old", "unknown", ""] {
        let ready = verifier
            .verify_ready(token)
            .expect("a table answers at once");
        let shared = verifier.verify_shared(token).await;
        assert_eq!(ready, shared, "{token}");
    }
    assert_eq!(
        verifier.verify_ready("old"),
        Some(Err(VerifyError::Expired))
    );
}

#[tokio::test]
async fn cached_verifier_is_ready_on_a_hit_only() {
    let inner_calls = Arc::new(AtomicUsize::new(0));
    let counted = inner_calls.clone();
    let cached = CachedVerifier::new(verifier_fn(move |token: String| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move {
            match token.as_str() {
                "writer" => Ok(AccessToken::new(token, "app", ["notes:write"])),
                _ => Err(VerifyError::invalid("unknown")),
            }
        }
    }));
    assert!(cached.verify_ready("writer").is_none(), "a miss waits");
    let verified = cached.verify_shared("writer").await.unwrap();
    let hit = cached.verify_ready("writer").expect("a hit is ready");
    assert!(
        Arc::ptr_eq(&verified, &hit.unwrap()),
        "the cached Arc itself"
    );
    assert_eq!(inner_calls.load(Ordering::SeqCst), 1);
    // Refusals are not cached (no negative TTL): never ready.
    assert!(cached.verify_shared("nope").await.is_err());
    assert!(cached.verify_ready("nope").is_none());
    assert_eq!(inner_calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn jwks_verifier_is_ready_once_the_key_is_held() {
    let issuer = TestIssuer::start().await.unwrap();
    let verifier = JwtVerifier::builder()
        .issuer(issuer.issuer())
        .audience(AUDIENCE)
        .jwks_url(issuer.jwks_url())
        .unwrap()
        .build()
        .unwrap();
    let token = issuer.mint(issuer.claims_for(AUDIENCE));
    let fetches = || issuer.requests(Endpoint::Jwks);
    let before = fetches();
    // Keys are fetched on first need: until then the layer must wait, and asking fetches
    // nothing.
    assert!(verifier.verify_ready(&token).is_none());
    assert_eq!(fetches(), before, "verify_ready never fetches");
    let verified = verifier.verify_shared(&token).await.unwrap();
    assert_eq!(verified.resource.as_deref(), Some(AUDIENCE));
    assert_eq!(fetches(), before + 1);
    let ready = verifier.verify_ready(&token).expect("the key is held now");
    assert_eq!(ready.unwrap().resource.as_deref(), Some(AUDIENCE));
    // A bad signature is refused at once too, with no fetch.
    let fetched = fetches();
    let (message, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{message}.AAAA");
    assert!(matches!(
        verifier.verify_ready(&forged),
        Some(Err(VerifyError::Invalid(_)))
    ));
    assert_eq!(fetches(), fetched);
}
