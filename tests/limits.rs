#![cfg(feature = "jwt")]
//! Resource limits, each through a real `Router` in `Profile::Spec` (whose `error_description`
//! tells the reasons apart), with the verifier's logged reason read back where two limits would
//! give the same answer:
//!
//! - the token length cap (`BearerAuth::max_token_len`, 8 KiB by default) refuses a long token
//!   before any verifier sees it;
//! - `JwtVerifier` bounds the claims: 16 KiB of JSON by default (`max_claims_size`), and 32
//!   levels of nesting (`MAX_JWT_CLAIMS_DEPTH`), both checked before the signature and the JSON
//!   parse, so a hostile payload costs one linear scan; `MultiIssuerVerifier` checks them before
//!   it reads the unverified `iss`.

mod common;
mod jwt_support;
mod log_capture;

use std::time::{Duration, Instant};

use axum::{Router, http::StatusCode, routing::get};
use axum_bearer::{
    AuthenticatedUser, BearerAuth, DEFAULT_MAX_JWT_CLAIMS_SIZE, DEFAULT_MAX_TOKEN_LEN, JwtVerifier,
    MAX_JWT_CLAIMS_DEPTH, MultiIssuerVerifier, Profile, TokenVerifier,
};
use jwt_support::{claims, claims_of_size, nested_arrays, nested_objects, sign, sign_raw};
use log_capture::LogBuffer;

const TOO_LONG: &str = "The access token is too long";
const INVALID: &str = "The access token is invalid";

fn app(verifier: impl TokenVerifier, max_token_len: usize) -> Router {
    Router::new()
        .route(
            "/",
            get(|user: AuthenticatedUser| async move { user.client_id().to_owned() }),
        )
        .layer(
            BearerAuth::new(verifier)
                .profile(Profile::Spec)
                .max_token_len(max_token_len),
        )
}

/// The status and, for a 401, the `error_description` of the challenge.
async fn call(app: &Router, token: &str) -> (StatusCode, Option<String>) {
    let reply = common::call_bearer(app, "/", token).await;
    let description = reply
        .www_authenticate()
        .and_then(|challenge| common::parse_bearer_challenge(challenge).ok())
        .and_then(|mut params| params.remove("error_description"));
    (reply.status, description)
}

/// Asserts a 401 whose description is `description`, and, when `reason` is given, that it was
/// logged; returns the logs.
async fn refused(
    app: &Router,
    token: &str,
    description: &str,
    reason: Option<&str>,
    case: &str,
) -> String {
    let logs = LogBuffer::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    let (status, got) = call(app, token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}");
    assert_eq!(got.as_deref(), Some(description), "{case}");
    let text = logs.text();
    if let Some(reason) = reason {
        assert!(
            text.contains(reason),
            "{case}: reason {reason:?} not logged:\n{text}"
        );
    }
    text
}

async fn accepted(app: &Router, token: &str, case: &str) {
    assert_eq!(call(app, token).await, (StatusCode::OK, None), "{case}");
}

#[tokio::test]
async fn token_length_cap_refuses_before_the_jwt_verifier() {
    let verifier = jwt_support::verifier();
    let padded = |n: usize| sign(&claims(&format!(r#""pad":"{}""#, "p".repeat(n))));
    // The most padding that keeps the token within the default cap.
    let (mut fits, mut over) = (0, DEFAULT_MAX_TOKEN_LEN);
    while over - fits > 1 {
        let mid = (fits + over) / 2;
        if padded(mid).len() <= DEFAULT_MAX_TOKEN_LEN {
            fits = mid;
        } else {
            over = mid;
        }
    }
    let (longest, too_long) = (padded(fits), padded(over));
    assert!(longest.len() <= DEFAULT_MAX_TOKEN_LEN && too_long.len() > DEFAULT_MAX_TOKEN_LEN);

    let capped = app(verifier.clone(), DEFAULT_MAX_TOKEN_LEN);
    accepted(&capped, &longest, "the longest token within 8 KiB").await;
    let logs = refused(
        &capped,
        &too_long,
        TOO_LONG,
        Some("bearer token over the length cap"),
        "the shortest token over 8 KiB",
    )
    .await;
    assert!(
        !logs.contains("rejected by the verifier"),
        "the verifier saw a token over the cap:\n{logs}"
    );

    // The cap is exact: a token of n bytes passes a cap of n, not of n - 1.
    accepted(
        &app(verifier.clone(), too_long.len()),
        &too_long,
        "cap = length",
    )
    .await;
    refused(
        &app(verifier, too_long.len() - 1),
        &too_long,
        TOO_LONG,
        None,
        "cap = length - 1",
    )
    .await;
}

#[tokio::test]
async fn claims_are_bounded_to_16_kib_by_default() {
    assert_eq!(DEFAULT_MAX_JWT_CLAIMS_SIZE, 16 * 1024);
    let verifier = jwt_support::verifier();
    assert_eq!(verifier.max_claims_size(), DEFAULT_MAX_JWT_CLAIMS_SIZE);
    let app = app(verifier, 1024 * 1024);
    accepted(&app, &sign(&claims_of_size(16 * 1024)), "16 KiB of claims").await;
    refused(
        &app,
        &sign(&claims_of_size(16 * 1024 + 1)),
        INVALID,
        Some("JWT claims too large"),
        "16 KiB + 1",
    )
    .await;
    refused(
        &app,
        &sign(&claims_of_size(512 * 1024)),
        INVALID,
        Some("JWT claims too large"),
        "512 KiB of claims",
    )
    .await;
}

#[tokio::test]
async fn claims_bound_is_configurable() {
    let small = app(
        jwt_support::builder()
            .max_claims_size(1024)
            .build()
            .unwrap(),
        1024 * 1024,
    );
    accepted(&small, &sign(&claims_of_size(1024)), "1 KiB, bound 1 KiB").await;
    refused(
        &small,
        &sign(&claims_of_size(1025)),
        INVALID,
        Some("JWT claims too large"),
        "1 KiB + 1, bound 1 KiB",
    )
    .await;
    let large = app(
        jwt_support::builder()
            .max_claims_size(128 * 1024)
            .build()
            .unwrap(),
        1024 * 1024,
    );
    accepted(
        &large,
        &sign(&claims_of_size(100 * 1024)),
        "100 KiB, bound 128 KiB",
    )
    .await;
}

#[tokio::test]
async fn claims_nesting_is_bounded_to_32_levels() {
    assert_eq!(MAX_JWT_CLAIMS_DEPTH, 32);
    let app = app(jwt_support::verifier(), 1024 * 1024);
    // The claim set is the first level: a member nested 31 more reaches 32.
    for (shape, nested) in [
        ("arrays", nested_arrays as fn(usize) -> String),
        ("objects", nested_objects),
    ] {
        accepted(
            &app,
            &sign(&claims(&format!(r#""deep":{}"#, nested(31)))),
            &format!("32 levels of {shape}"),
        )
        .await;
        // Every one stays within the 16 KiB bound, so only the depth refuses it.
        for depth in [32, 33, 127, 128, 500, 2000] {
            refused(
                &app,
                &sign(&claims(&format!(r#""deep":{}"#, nested(depth)))),
                INVALID,
                Some("JWT claims nested too deeply"),
                &format!("{} levels of {shape}", depth + 1),
            )
            .await;
        }
    }
    // Brackets inside strings are not nesting.
    let quoted = format!(r#""deep":"{}\"{}""#, "[".repeat(1000), "{".repeat(1000));
    accepted(&app, &sign(&claims(&quoted)), "brackets in a string").await;
}

#[tokio::test]
async fn a_deep_payload_costs_a_linear_scan() {
    // 400 000 levels, a 1 MiB token, the claims bound raised so only the depth refuses it.
    let verifier = jwt_support::builder()
        .max_claims_size(2 * 1024 * 1024)
        .build()
        .unwrap();
    let app = app(verifier, 4 * 1024 * 1024);
    let token = sign(&claims(&format!(r#""deep":{}"#, nested_arrays(400_000))));
    let started = Instant::now();
    refused(
        &app,
        &token,
        INVALID,
        Some("JWT claims nested too deeply"),
        "400 000 levels",
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    // An unbalanced opening run: not JSON, still refused on depth without a parse.
    let open = sign(&format!("{{\"deep\":{}", "[".repeat(100_000)));
    refused(
        &app,
        &open,
        INVALID,
        Some("JWT claims nested too deeply"),
        "100 000 unclosed",
    )
    .await;
}

#[tokio::test]
async fn limits_apply_before_the_signature_is_checked() {
    let app = app(jwt_support::verifier(), 1024 * 1024);
    let forged = |payload: &str| {
        let token = sign(payload);
        let (message, _) = token.rsplit_once('.').unwrap();
        format!("{message}.{}", jwt_support::b64([0u8; 32]))
    };
    // Within the limits a forged signature is what the verifier reports…
    refused(
        &app,
        &forged(&claims("")),
        INVALID,
        Some("bad signature"),
        "forged, small",
    )
    .await;
    // …over them, the limit is, so no signature was computed for it.
    refused(
        &app,
        &forged(&claims_of_size(64 * 1024)),
        INVALID,
        Some("JWT claims too large"),
        "forged, large",
    )
    .await;
    refused(
        &app,
        &forged(&claims(&format!(r#""deep":{}"#, nested_arrays(40)))),
        INVALID,
        Some("JWT claims nested too deeply"),
        "forged, deep",
    )
    .await;
    // A header naming an unknown key: still the limit first.
    let unknown_kid = sign_raw(
        r#"{"alg":"HS256","kid":"nobody"}"#,
        &claims_of_size(20 * 1024),
    );
    refused(
        &app,
        &unknown_kid,
        INVALID,
        Some("JWT claims too large"),
        "unknown kid, large",
    )
    .await;
}

#[tokio::test]
async fn multi_issuer_bounds_the_payload_before_reading_iss() {
    let small = jwt_support::builder()
        .max_claims_size(1024)
        .build()
        .unwrap();
    let other = JwtVerifier::builder()
        .issuer("https://other.example")
        .audience(jwt_support::AUDIENCE)
        .max_claims_size(2048)
        .hmac_secret("k2", &[7; 32])
        .unwrap()
        .build()
        .unwrap();
    let app = app(
        MultiIssuerVerifier::new([small, other]).unwrap(),
        1024 * 1024,
    );
    accepted(
        &app,
        &sign(&claims_of_size(1024)),
        "1 KiB to the 1 KiB issuer",
    )
    .await;
    // Within the larger bound, so routed, then refused by the issuer's own bound.
    refused(
        &app,
        &sign(&claims_of_size(1500)),
        INVALID,
        Some("JWT claims too large"),
        "1.5 KiB to the 1 KiB issuer",
    )
    .await;
    refused(
        &app,
        &sign(&claims_of_size(4096)),
        INVALID,
        Some("JWT claims too large"),
        "4 KiB, over every bound",
    )
    .await;
    refused(
        &app,
        &sign(&claims(&format!(r#""deep":{}"#, nested_objects(40)))),
        INVALID,
        Some("JWT claims nested too deeply"),
        "41 levels",
    )
    .await;
}
