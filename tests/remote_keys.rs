//! Remote keys (`jwks_url`, `discover`) against real loopback servers: keys travel over https or
//! to loopback only, configured and advertised durations never overflow, and `warm_up` loads the
//! keys before the first request.
#![cfg(feature = "testing")]

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{Json, Router, http::StatusCode, routing::get};
use axum_bearer::{
    AuthenticatedUser, BearerAuth, ConfigError, JwtVerifier, JwtVerifierBuilder,
    MultiIssuerVerifier, Profile, TokenVerifier, VerifyError,
    jsonwebtoken::{Algorithm, Header},
    testing::{Endpoint, Fault, TestIssuer},
};
use common::call_bearer;
use serde_json::json;

const AUDIENCE: &str = "https://rs.example/mcp";

fn app(verifier: impl TokenVerifier) -> Router {
    Router::new()
        .route(
            "/",
            get(|user: AuthenticatedUser| async move { user.client_id().to_owned() }),
        )
        .layer(BearerAuth::new(verifier).profile(Profile::Spec))
}

fn builder(issuer: &TestIssuer) -> JwtVerifierBuilder {
    JwtVerifier::builder()
        .issuer(issuer.issuer())
        .audience(AUDIENCE)
        .jwks_url(issuer.jwks_url())
        .unwrap()
        .jwks_timeout(Duration::from_millis(500))
}

fn token(issuer: &TestIssuer) -> String {
    issuer.mint(issuer.claims_for(AUDIENCE))
}

async fn status(app: &Router, token: &str) -> StatusCode {
    call_bearer(app, "/", token).await.status
}

#[track_caller]
fn unavailable_reason(result: Result<(), VerifyError>) -> String {
    match result {
        Err(VerifyError::Unavailable(reason)) => reason.into_owned(),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Transport: https, or plain http to loopback only
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn refused_for_transport(result: Result<JwtVerifierBuilder, ConfigError>, what: &str) {
    match result {
        Err(ConfigError::InvalidUrl {
            what: refused,
            reason,
            ..
        }) => {
            assert_eq!(refused, what);
            assert!(reason.contains("loopback"), "{reason}");
        }
        other => panic!("expected an InvalidUrl error, got {other:?}"),
    }
}

#[test]
fn a_jwks_url_over_plain_http_to_another_host_is_a_config_error() {
    for url in [
        "http://as.example/jwks",
        "http://10.0.0.1/jwks",
        "http://localhost.evil.example/jwks",
        "http://[::2]/jwks",
    ] {
        refused_for_transport(JwtVerifier::builder().jwks_url(url), "jwks");
    }
    for url in [
        "https://as.example/jwks",
        "http://localhost:8080/jwks",
        "http://127.0.0.1:9000/jwks",
        "http://127.9.9.9/jwks",
        "http://[::1]:9000/jwks",
    ] {
        assert!(JwtVerifier::builder().jwks_url(url).is_ok(), "{url}");
    }
}

#[test]
fn a_discovered_issuer_over_plain_http_to_another_host_is_a_config_error() {
    for issuer in [
        "http://as.example",
        "http://as.example/tenant",
        "http://192.0.2.1",
    ] {
        refused_for_transport(JwtVerifier::builder().discover(issuer), "issuer");
    }
    for issuer in [
        "https://as.example",
        "http://localhost:9000",
        "http://127.0.0.1:9000/t",
    ] {
        assert!(JwtVerifier::builder().discover(issuer).is_ok(), "{issuer}");
    }
}

/// An authorization server on loopback whose RFC 8414 metadata names `jwks_uri`, and which also
/// answers as the HTTP proxy of the verifier's client: a fetch of `http://as.example/jwks` would
/// reach its `/jwks` route (counted, and serving the real keys), so the test can see that the
/// URL is refused before any fetch rather than failing to resolve.
struct PlainHttpDiscovery {
    issuer: String,
    jwks_fetches: Arc<AtomicUsize>,
}

async fn plain_http_discovery(
    keys: &TestIssuer,
    jwks_uri: impl FnOnce(&str) -> String,
) -> PlainHttpDiscovery {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let jwks_fetches = Arc::new(AtomicUsize::new(0));
    let metadata = json!({ "issuer": issuer, "jwks_uri": jwks_uri(&issuer) });
    let mut jwk = serde_json::to_value(keys.public_jwk(&keys.current_kid()).unwrap()).unwrap();
    jwk["alg"] = json!("RS256");
    let jwks = json!({ "keys": [jwk] });
    let fetches = jwks_fetches.clone();
    let app = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(move || async move { Json(metadata) }),
        )
        .route(
            "/jwks",
            get(move || async move {
                fetches.fetch_add(1, Ordering::SeqCst);
                Json(jwks)
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    PlainHttpDiscovery {
        issuer,
        jwks_fetches,
    }
}

#[tokio::test]
async fn a_discovered_jwks_uri_over_plain_http_is_refused_before_any_fetch() {
    let keys = TestIssuer::start().await.unwrap();
    let server = plain_http_discovery(&keys, |_| "http://as.example/jwks".into()).await;
    let client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::http(&server.issuer).unwrap())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let verifier = JwtVerifier::builder()
        .discover(&server.issuer)
        .unwrap()
        .audience(AUDIENCE)
        .http_client(client)
        .build()
        .unwrap();
    let mut claims = keys.claims_for(AUDIENCE);
    claims["iss"] = json!(server.issuer);
    let token = keys.mint(claims);

    let app = app(verifier.clone());
    let reply = call_bearer(&app, "/", &token).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.summary()
    );
    let reason = unavailable_reason(verifier.warm_up().await);
    assert!(
        reason.contains("http://as.example/jwks") && reason.contains("loopback"),
        "{reason}"
    );
    assert_eq!(
        server.jwks_fetches.load(Ordering::SeqCst),
        0,
        "never fetched"
    );
}

#[tokio::test]
async fn a_redirect_from_loopback_to_plain_http_elsewhere_is_not_followed() {
    let keys = TestIssuer::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let redirect = Router::new().route(
        "/jwks",
        get(|| async {
            (
                StatusCode::FOUND,
                [(axum::http::header::LOCATION, "http://as.example/jwks")],
            )
        }),
    );
    tokio::spawn(async move { axum::serve(listener, redirect).await });
    let verifier = JwtVerifier::builder()
        .issuer(keys.issuer())
        .audience(AUDIENCE)
        .jwks_url(&jwks_url)
        .unwrap()
        .jwks_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let reason = unavailable_reason(verifier.warm_up().await);
    assert!(
        reason.contains("redirect to http://as.example/jwks refused"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_discovered_jwks_uri_on_loopback_is_fetched() {
    let keys = TestIssuer::start().await.unwrap();
    let server = plain_http_discovery(&keys, |issuer| format!("{issuer}/jwks")).await;
    let verifier = JwtVerifier::builder()
        .discover(&server.issuer)
        .unwrap()
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let mut claims = keys.claims_for(AUDIENCE);
    claims["iss"] = json!(server.issuer);
    assert_eq!(
        status(&app(verifier), &keys.mint(claims)).await,
        StatusCode::OK
    );
    assert_eq!(server.jwks_fetches.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------------
// Durations never overflow
// ---------------------------------------------------------------------------------------------

/// A token naming `kid`, signed with the issuer's current key.
fn token_with_kid(issuer: &TestIssuer, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid.into());
    issuer
        .mint_with_header(header, issuer.claims_for(AUDIENCE))
        .unwrap()
}

#[tokio::test]
async fn duration_max_everywhere_serves_keys_without_panicking() {
    let issuer = TestIssuer::start().await.unwrap();
    let verifier = builder(&issuer)
        .jwks_timeout(Duration::MAX)
        .jwks_cooldown(Duration::MAX)
        .jwks_refresh(Duration::MAX, Duration::MAX, Duration::MAX)
        .build()
        .unwrap();
    let app = app(verifier);
    for _ in 0..3 {
        assert_eq!(status(&app, &token(&issuer)).await, StatusCode::OK);
    }
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
    // A rotated key is still fetched once; a cooldown of `Duration::MAX` then means never again.
    issuer.rotate();
    assert_eq!(status(&app, &token(&issuer)).await, StatusCode::OK);
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);
    let unknown = token_with_kid(&issuer, "nobody-has-this");
    assert_eq!(status(&app, &unknown).await, StatusCode::UNAUTHORIZED);
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);
}

#[tokio::test]
async fn a_failed_refetch_with_a_duration_max_cooldown_is_503_not_a_panic() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(builder(&issuer)
        .jwks_cooldown(Duration::MAX)
        .build()
        .unwrap());
    let old = token(&issuer);
    assert_eq!(status(&app, &old).await, StatusCode::OK);
    issuer.set_endpoint_fault(Endpoint::Jwks, Fault::Status(500));
    issuer.rotate();
    assert_eq!(
        status(&app, &token(&issuer)).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        status(&app, &old).await,
        StatusCode::OK,
        "cached keys serve"
    );
}

#[tokio::test]
async fn a_max_age_of_u64_max_seconds_is_bounded_and_keys_are_served() {
    let issuer = TestIssuer::builder()
        .jwks_cache_control("max-age=18446744073709551615")
        .start()
        .await
        .unwrap();
    // The configured bounds let any advertised max-age through.
    let app = app(builder(&issuer)
        .jwks_refresh(Duration::from_secs(300), Duration::ZERO, Duration::MAX)
        .build()
        .unwrap());
    for _ in 0..3 {
        assert_eq!(status(&app, &token(&issuer)).await, StatusCode::OK);
    }
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
    // Rotation still works: an unknown kid is fetched at once.
    issuer.rotate();
    assert_eq!(status(&app, &token(&issuer)).await, StatusCode::OK);
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);
}

#[tokio::test]
async fn a_max_age_of_u64_max_seconds_still_refreshes_after_the_configured_max() {
    let issuer = TestIssuer::builder()
        .jwks_cache_control("public, max-age=18446744073709551615")
        .start()
        .await
        .unwrap();
    let app = app(builder(&issuer)
        .jwks_refresh(
            Duration::from_secs(300),
            Duration::from_millis(100),
            Duration::from_secs(1),
        )
        .build()
        .unwrap());
    assert_eq!(status(&app, &token(&issuer)).await, StatusCode::OK);
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(status(&app, &token(&issuer)).await, StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(3);
    while issuer.requests(Endpoint::Jwks) < 2 {
        assert!(
            Instant::now() < deadline,
            "no refresh after the configured max"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status(&app, &token(&issuer)).await, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// warm_up
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn warm_up_loads_the_keys_so_the_first_request_fetches_nothing() {
    let issuer = TestIssuer::start().await.unwrap();
    let verifier = builder(&issuer).build().unwrap();
    verifier.warm_up().await.unwrap();
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
    // Answered at once, from the loaded keys.
    let ready = verifier.verify_ready(&token(&issuer));
    assert!(matches!(ready, Some(Ok(_))), "{ready:?}");
    assert_eq!(
        status(&app(verifier.clone()), &token(&issuer)).await,
        StatusCode::OK
    );
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
    // Warming up again with fresh keys fetches nothing.
    verifier.warm_up().await.unwrap();
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
}

#[tokio::test]
async fn warm_up_runs_discovery() {
    let issuer = TestIssuer::start().await.unwrap();
    let verifier = JwtVerifier::builder()
        .discover(issuer.issuer())
        .unwrap()
        .audience(AUDIENCE)
        .build()
        .unwrap();
    verifier.warm_up().await.unwrap();
    assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 1);
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
    assert!(matches!(
        verifier.verify_ready(&token(&issuer)),
        Some(Ok(_))
    ));
}

#[tokio::test]
async fn warm_up_refuses_discovery_naming_another_issuer() {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_discovery_issuer(Some("https://evil.example".into()));
    let verifier = JwtVerifier::builder()
        .discover(issuer.issuer())
        .unwrap()
        .audience(AUDIENCE)
        .build()
        .unwrap();
    let reason = unavailable_reason(verifier.warm_up().await);
    assert!(reason.contains("https://evil.example"), "{reason}");
    assert_eq!(issuer.requests(Endpoint::Jwks), 0);
}

#[tokio::test]
async fn warm_up_fails_while_the_jwks_is_down_and_succeeds_once_it_is_back() {
    let issuer = TestIssuer::start().await.unwrap();
    let verifier = builder(&issuer).build().unwrap();
    issuer.set_fault(Fault::Down);
    let reason = unavailable_reason(verifier.warm_up().await);
    assert!(reason.contains(&issuer.jwks_url()), "{reason}");
    issuer.set_fault(Fault::Status(500));
    let reason = unavailable_reason(verifier.warm_up().await);
    assert!(reason.contains("500"), "{reason}");
    issuer.set_fault(Fault::None);
    verifier.warm_up().await.unwrap();
    assert!(matches!(
        verifier.verify_ready(&token(&issuer)),
        Some(Ok(_))
    ));
}

#[tokio::test]
async fn warm_up_fails_on_an_empty_key_set() {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.retire(&issuer.current_kid());
    let verifier = builder(&issuer).build().unwrap();
    let reason = unavailable_reason(verifier.warm_up().await);
    assert!(reason.contains("no usable signing key"), "{reason}");
}

#[tokio::test]
async fn warm_up_with_static_keys_is_ready_at_once() {
    let verifier = JwtVerifier::builder()
        .audience(AUDIENCE)
        .hmac_secret("k1", &[7; 32])
        .unwrap()
        .build()
        .unwrap();
    verifier.warm_up().await.unwrap();
}

#[tokio::test]
async fn multi_issuer_warm_up_loads_every_issuer_and_names_the_one_that_fails() {
    let good = TestIssuer::start().await.unwrap();
    let bad = TestIssuer::start().await.unwrap();
    let verifier = MultiIssuerVerifier::new([
        builder(&good).build().unwrap(),
        builder(&bad).build().unwrap(),
    ])
    .unwrap();
    bad.set_fault(Fault::Status(404));
    let reason = unavailable_reason(verifier.warm_up().await);
    assert!(
        reason.contains(&format!("issuer {}", bad.issuer())),
        "{reason}"
    );
    assert!(
        !reason.contains(&format!("issuer {}", good.issuer())),
        "{reason}"
    );
    assert_eq!(good.requests(Endpoint::Jwks), 1);

    bad.set_fault(Fault::None);
    verifier.warm_up().await.unwrap();
    assert_eq!(
        good.requests(Endpoint::Jwks),
        1,
        "fresh keys are not fetched again"
    );
    assert_eq!(bad.requests(Endpoint::Jwks), 2);
    for issuer in [&good, &bad] {
        assert!(matches!(verifier.verify_ready(&token(issuer)), Some(Ok(_))));
    }
}

#[cfg(feature = "cache")]
#[tokio::test]
async fn warm_up_goes_through_a_cache() {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_discovery_issuer(Some("https://evil.example".into()));
    let verifier = axum_bearer::CachedVerifier::new(
        JwtVerifier::builder()
            .discover(issuer.issuer())
            .unwrap()
            .audience(AUDIENCE)
            .build()
            .unwrap(),
    );
    let reason = unavailable_reason(verifier.warm_up().await);
    assert!(reason.contains("https://evil.example"), "{reason}");
}
