//! Remote keys against the real loopback issuer over HTTP: rotation, single-flight refetch with a
//! cooldown, caching headers, faults and recovery, discovery.
#![cfg(feature = "testing")]

mod common;

use std::time::{Duration, Instant};

use axum::{Router, http::StatusCode, routing::get};
use axum_bearer::{
    AuthenticatedUser, BearerAuth, JwtVerifier, JwtVerifierBuilder, Profile,
    jsonwebtoken::{Algorithm, Header},
    testing::{Endpoint, Fault, TestIssuer},
};

use common::call_bearer;

const AUDIENCE: &str = "https://rs.example/mcp";

fn app(verifier: JwtVerifier) -> Router {
    Router::new()
        .route(
            "/",
            get(|user: AuthenticatedUser| async move {
                format!("{} {}", user.client_id(), user.issuer().unwrap_or_default())
            }),
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

/// A token whose header names `kid` (which the JWKS may not have), signed with the current key.
fn token_with_kid(issuer: &TestIssuer, kid: &str) -> String {
    let mut header = Header::new(issuer.algorithm());
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid.into());
    issuer
        .mint_with_header(header, issuer.claims_for(AUDIENCE))
        .unwrap()
}

#[tokio::test]
async fn keys_are_fetched_once_and_served_from_cache() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(builder(&issuer).build().unwrap());
    for _ in 0..20 {
        let reply = call_bearer(&app, "/", &token(&issuer)).await;
        let (status, body) = (reply.status, reply.summary());
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, format!("client-1 {}", issuer.issuer()));
    }
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
}

#[tokio::test]
async fn rotated_key_is_accepted_on_first_use_with_exactly_one_refetch() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(builder(&issuer).build().unwrap());
    assert_eq!(
        call_bearer(&app, "/", &token(&issuer)).await.status,
        StatusCode::OK
    );
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);

    let old = token(&issuer);
    let new_kid = issuer.rotate();
    let fresh = token(&issuer);
    assert!(fresh != old);
    let reply = call_bearer(&app, "/", &fresh).await;
    let (status, body) = (reply.status, reply.summary());
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        issuer.requests(Endpoint::Jwks),
        2,
        "one refetch for {new_kid}"
    );
    // Both keys now work without further fetches.
    assert_eq!(call_bearer(&app, "/", &old).await.status, StatusCode::OK);
    assert_eq!(
        call_bearer(&app, "/", &token(&issuer)).await.status,
        StatusCode::OK
    );
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);
}

/// A token whose header names `kid`, without signing: an unknown `kid` is refused before any
/// signature check, so the storm below costs no signing.
fn forged_kid(valid: &str, kid: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let (_, rest) = valid.split_once('.').unwrap();
    let header = serde_json::json!({"alg": "RS256", "typ": "at+jwt", "kid": kid});
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_unknown_kids_fetches_at_most_once_per_cooldown() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(builder(&issuer)
        .jwks_cooldown(Duration::from_secs(10))
        .build()
        .unwrap());
    assert_eq!(
        call_bearer(&app, "/", &token(&issuer)).await.status,
        StatusCode::OK
    );
    let valid = token(&issuer);
    let tokens: Vec<String> = (0..1000)
        .map(|i| forged_kid(&valid, &format!("bogus-{i}")))
        .collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for token in tokens {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            call_bearer(&app, "/", &token).await.status
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "storm took {elapsed:?}");
    // The initial fetch, one refetch for the first bogus kid, and none after it inside the
    // cooldown that refetch started.
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_a_new_kid_share_one_refetch() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(builder(&issuer).build().unwrap());
    assert_eq!(
        call_bearer(&app, "/", &token(&issuer)).await.status,
        StatusCode::OK
    );
    issuer.rotate();
    let fresh = token(&issuer);
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (app, fresh) = (app.clone(), fresh.clone());
        tasks.push(tokio::spawn(async move {
            call_bearer(&app, "/", &fresh).await.status
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);
}

#[tokio::test]
async fn endpoint_down_at_start_is_503_then_recovers_without_restart() {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_fault(Fault::Down);
    let app = app(builder(&issuer)
        .jwks_cooldown(Duration::from_millis(200))
        .build()
        .unwrap());
    let reply = call_bearer(&app, "/", &token(&issuer)).await;
    let (status, body) = (reply.status, reply.summary());
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        !body.contains("invalid_token"),
        "a 503 does not blame the token: {body}"
    );
    // Inside the cooldown: no new attempt, still 503.
    assert_eq!(
        call_bearer(&app, "/", &token(&issuer)).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(issuer.dropped_connections(), 1);

    issuer.set_fault(Fault::None);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        call_bearer(&app, "/", &token(&issuer)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn each_kind_of_endpoint_failure_is_503_with_no_keys_and_cached_keys_keep_serving() {
    for fault in [
        Fault::Down,
        Fault::Status(500),
        Fault::InvalidJson,
        Fault::Slow(Duration::from_secs(3)),
    ] {
        // No keys yet: 503.
        let issuer = TestIssuer::start().await.unwrap();
        issuer.set_fault(fault);
        let cold = app(builder(&issuer)
            .jwks_cooldown(Duration::from_millis(100))
            .build()
            .unwrap());
        let started = Instant::now();
        assert_eq!(
            call_bearer(&cold, "/", &token(&issuer)).await.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{fault:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{fault:?}: bounded by the timeout"
        );

        // Keys cached, then the endpoint fails mid-run: known keys still verify; a rotated key
        // cannot be fetched, which is the back end's fault (503), not the token's.
        let issuer = TestIssuer::start().await.unwrap();
        let warm = app(builder(&issuer)
            .jwks_cooldown(Duration::from_millis(100))
            .build()
            .unwrap());
        assert_eq!(
            call_bearer(&warm, "/", &token(&issuer)).await.status,
            StatusCode::OK
        );
        issuer.set_fault(fault);
        assert_eq!(
            call_bearer(&warm, "/", &token(&issuer)).await.status,
            StatusCode::OK,
            "{fault:?}"
        );
        issuer.rotate();
        assert_eq!(
            call_bearer(&warm, "/", &token(&issuer)).await.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{fault:?}"
        );
        // Recovery without restart.
        issuer.set_fault(Fault::None);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            call_bearer(&warm, "/", &token(&issuer)).await.status,
            StatusCode::OK,
            "{fault:?}"
        );
    }
}

#[tokio::test]
async fn max_age_is_honoured_and_refreshes_revalidate_with_the_etag() {
    let issuer = TestIssuer::builder()
        .jwks_max_age(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let verifier = builder(&issuer)
        .jwks_refresh(
            Duration::from_secs(300),
            Duration::from_millis(100),
            Duration::from_secs(60),
        )
        .build()
        .unwrap();
    let app = app(verifier);
    assert_eq!(
        call_bearer(&app, "/", &token(&issuer)).await.status,
        StatusCode::OK
    );
    // Inside max-age: no request.
    for _ in 0..5 {
        assert_eq!(
            call_bearer(&app, "/", &token(&issuer)).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
    // After it: one background revalidation, answered 304 (the keys did not change).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        call_bearer(&app, "/", &token(&issuer)).await.status,
        StatusCode::OK
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    while issuer.not_modified() == 0 {
        assert!(Instant::now() < deadline, "no revalidation after max-age");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);
    assert_eq!(issuer.not_modified(), 1);
    assert_eq!(
        call_bearer(&app, "/", &token(&issuer)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_kid_after_a_successful_refresh_is_401() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(builder(&issuer)
        .jwks_cooldown(Duration::ZERO)
        .build()
        .unwrap());
    assert_eq!(
        call_bearer(&app, "/", &token(&issuer)).await.status,
        StatusCode::OK
    );
    let reply = call_bearer(&app, "/", &token_with_kid(&issuer, "nobody-has-this")).await;
    let (status, body) = (reply.status, reply.summary());
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("error=\"invalid_token\""), "{body}");
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_keys_refresh_in_the_background_and_readers_never_wait_on_a_hung_fetch() {
    let issuer = TestIssuer::builder()
        .jwks_max_age(Duration::from_secs(1))
        .start()
        .await
        .unwrap();
    let verifier = builder(&issuer)
        .jwks_refresh(
            Duration::from_secs(300),
            Duration::from_millis(200),
            Duration::from_secs(60),
        )
        .jwks_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let app = app(verifier);
    assert_eq!(
        call_bearer(&app, "/", &token(&issuer)).await.status,
        StatusCode::OK
    );
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);

    // max-age=1 s: after it, the next request triggers a background refresh, and answers at once
    // even though that refresh hangs for 3 s.
    issuer.set_fault(Fault::Slow(Duration::from_secs(3)));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(
            call_bearer(&app, "/", &token(&issuer)).await.status,
            StatusCode::OK
        );
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "a reader waited {:?}",
            started.elapsed()
        );
    }
    issuer.set_fault(Fault::None);

    // Honour max-age: once the hung refresh is over, keys go stale after max-age again and are
    // refreshed (with If-None-Match; a 304 keeps the keys).
    let before = issuer.requests(Endpoint::Jwks);
    let deadline = Instant::now() + Duration::from_secs(8);
    while issuer.requests(Endpoint::Jwks) == before {
        assert!(
            Instant::now() < deadline,
            "no background refresh after max-age"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            call_bearer(&app, "/", &token(&issuer)).await.status,
            StatusCode::OK
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        call_bearer(&app, "/", &token(&issuer)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn discovery_through_rfc_8414_and_openid_configuration() {
    for path in ["", "/tenant-a"] {
        let issuer = TestIssuer::builder().path(path).start().await.unwrap();
        let verifier = JwtVerifier::builder()
            .audience(AUDIENCE)
            .discover(issuer.issuer())
            .unwrap()
            .build()
            .unwrap();
        let reply = call_bearer(&app(verifier), "/", &token(&issuer)).await;
        let (status, body) = (reply.status, reply.summary());
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 1, "{path}");
        assert_eq!(issuer.requests(Endpoint::OpenIdConfiguration), 0, "{path}");
        assert_eq!(issuer.requests(Endpoint::Jwks), 1, "{path}");
    }

    // Without RFC 8414 metadata, OpenID discovery is used.
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_endpoint_fault(Endpoint::OAuthMetadata, Fault::Status(404));
    let verifier = JwtVerifier::builder()
        .audience(AUDIENCE)
        .discover(issuer.issuer())
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        call_bearer(&app(verifier), "/", &token(&issuer))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(issuer.requests(Endpoint::OpenIdConfiguration), 1);
}

#[tokio::test]
async fn discovery_with_a_mismatched_issuer_is_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_discovery_issuer(Some("https://evil.example".into()));
    let verifier = JwtVerifier::builder()
        .audience(AUDIENCE)
        .discover(issuer.issuer())
        .unwrap()
        .build()
        .unwrap();
    let reply = call_bearer(&app(verifier), "/", &token(&issuer)).await;
    let (status, body) = (reply.status, reply.summary());
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        issuer.requests(Endpoint::Jwks),
        0,
        "the advertised jwks_uri is never used"
    );

    // Trailing-slash differences are a mismatch too (RFC 8414 §3.3: identical).
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_discovery_issuer(Some(format!("{}/", issuer.issuer())));
    let verifier = JwtVerifier::builder()
        .audience(AUDIENCE)
        .discover(issuer.issuer())
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(
        call_bearer(&app(verifier), "/", &token(&issuer))
            .await
            .status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(issuer.requests(Endpoint::Jwks), 0);
}

#[tokio::test]
async fn jwks_keys_of_other_algorithms_or_symmetric_keys_are_not_used() {
    let issuer = TestIssuer::builder()
        .algorithm(Algorithm::ES256)
        .start()
        .await
        .unwrap();
    // Allow only RS256: the issuer's ES256 keys are ignored.
    let verifier = builder(&issuer)
        .algorithms([Algorithm::RS256])
        .build()
        .unwrap();
    let reply = call_bearer(&app(verifier), "/", &token(&issuer)).await;
    let status = reply.status;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let verifier = builder(&issuer).build().unwrap();
    assert_eq!(
        call_bearer(&app(verifier), "/", &token(&issuer))
            .await
            .status,
        StatusCode::OK
    );
}

#[test]
fn remote_configuration_is_validated() {
    assert!(JwtVerifier::builder().jwks_url("not a url").is_err());
    assert!(JwtVerifier::builder().jwks_url("ftp://x/jwks").is_err());
    assert!(
        JwtVerifier::builder()
            .discover("https://as.example?x=1")
            .is_err()
    );
    assert!(
        JwtVerifier::builder()
            .discover("https://as.example#f")
            .is_err()
    );
    // An audience is required.
    let error = JwtVerifier::builder()
        .jwks_url("https://as.example/jwks")
        .unwrap()
        .build()
        .unwrap_err();
    assert_eq!(error, axum_bearer::ConfigError::MissingAudience);
}
