//! Every row of DESIGN.md §3, in both profiles: status, parsed challenge parameters and body.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, http::StatusCode, middleware::from_extractor, routing::get as get_route};
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, Profile, Rejection, RejectionKind, RequireScopes,
    RequireScopesLayer, StaticVerifier, TokenVerifier, VerifyError, scopes, verifier_fn,
};
use common::*;

const PY: Profile = Profile::PythonSdk;
const SPEC: Profile = Profile::Spec;

fn app(profile: Profile) -> (Router, Recording) {
    let verifier = Recording::with_fixtures();
    (reference_app(profile, verifier.clone()), verifier)
}

/// Asserts the Python SDK's 401 on `/mcp`, byte for byte.
fn assert_python_401(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.www_authenticate(),
        Some(
            "Bearer error=\"invalid_token\", error_description=\"Authentication required\", \
             resource_metadata=\"http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp\""
        )
    );
    assert_eq!(reply.body, PY_401_BODY);
    assert_eq!(reply.content_type(), Some("application/json"));
}

/// In Spec the body's `error` always equals the challenge's, and is absent when it is.
fn assert_spec_body_agrees(reply: &Reply) {
    assert_eq!(reply.content_type(), Some("application/json"));
    let body = reply.json();
    let challenge = reply.challenge();
    assert_eq!(
        body.get("error").and_then(|e| e.as_str()),
        challenge.get("error").map(String::as_str),
        "body {body} vs challenge {challenge:?}"
    );
}

// Row 1: no Authorization, or another scheme.

#[tokio::test]
async fn no_credentials_python_sdk() {
    let (app, verifier) = app(PY);
    for headers in [
        &[][..],
        &[&b"Basic dXNlcjpwYXNz"[..]],
        &[b"DPoP abc"],
        &[b"Token abc"],
    ] {
        assert_python_401(&send(&app, get("/mcp", headers)).await);
    }
    assert_eq!(verifier.calls(), 0);
}

#[tokio::test]
async fn no_credentials_spec() {
    let (app, verifier) = app(SPEC);
    for headers in [&[][..], &[&b"Basic dXNlcjpwYXNz"[..]], &[b"DPoP abc"]] {
        let reply = send(&app, get("/rw", headers)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            reply.challenge(),
            params(&[
                ("scope", "mcp:read mcp:write"),
                ("resource_metadata", METADATA_URL)
            ])
        );
        assert_eq!(
            reply.json(),
            serde_json::json!({"error_description": "Authentication required"})
        );
        assert_spec_body_agrees(&reply);
    }
    assert_eq!(verifier.calls(), 0);
}

#[tokio::test]
async fn spec_challenge_never_stands_bare() {
    // No metadata URL and no required scope: only the realm is left to say.
    let plain = Router::new()
        .route("/", get_route(|_: AuthenticatedUser| async { "ok" }))
        .layer(BearerAuth::new(StaticVerifier::default()).profile(SPEC));
    let reply = send(&plain, get("/", &[])).await;
    assert_eq!(reply.www_authenticate(), Some("Bearer realm=\"api\""));

    let realm = Router::new()
        .route("/", get_route(|_: AuthenticatedUser| async { "ok" }))
        .layer(
            BearerAuth::new(StaticVerifier::default())
                .profile(SPEC)
                .realm("notes")
                .unwrap(),
        );
    let reply = send(&realm, get("/", &[b"Bearer nope"])).await;
    assert_eq!(
        reply.challenge(),
        params(&[
            ("realm", "notes"),
            ("error", "invalid_token"),
            ("error_description", "The access token is invalid"),
        ])
    );
}

// Row 2: token rejected, expired, or not for this resource.

#[tokio::test]
async fn rejected_expired_or_foreign_token_python_sdk() {
    let (app, verifier) = app(PY);
    for token in [
        "tok-unknown",
        "tok-expired",
        "tok-other-resource",
        "tok-no-resource",
    ] {
        assert_python_401(&send(&app, get("/mcp", &[bearer(token).as_bytes()])).await);
    }
    assert_eq!(verifier.calls(), 4);
}

#[tokio::test]
async fn rejected_expired_or_foreign_token_spec() {
    let (app, _) = app(SPEC);
    for (token, description) in [
        ("tok-unknown", "The access token is invalid"),
        ("tok-expired", "The access token expired"),
        (
            "tok-other-resource",
            "The access token is not valid for this resource",
        ),
        (
            "tok-no-resource",
            "The access token is not valid for this resource",
        ),
        ("a$b", "The access token is malformed"),
    ] {
        let reply = send(&app, get("/mcp", &[bearer(token).as_bytes()])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(
            reply.challenge(),
            params(&[
                ("error", "invalid_token"),
                ("error_description", description),
                ("scope", "mcp:read"),
                ("resource_metadata", METADATA_URL),
            ]),
            "{token}"
        );
        assert_spec_body_agrees(&reply);
        assert_eq!(reply.json()["error_description"], description);
    }
}

#[tokio::test]
async fn resource_matching_tolerates_case_and_one_slash_in_both_profiles() {
    for profile in [PY, SPEC] {
        let (app, _) = app(profile);
        for token in [
            "tok-resource-slash",
            "tok-resource-case",
            "tok-read",
            "tok-noexp",
        ] {
            let reply = send(&app, get("/mcp", &[bearer(token).as_bytes()])).await;
            assert_eq!(reply.status, StatusCode::OK, "{profile:?} {token}");
        }
    }
}

// Row 3: token lacks a required scope.

#[tokio::test]
async fn insufficient_scope_python_sdk_names_the_first_missing_in_configured_order() {
    let (app, _) = app(PY);
    for (token, missing) in [
        ("tok-read", "mcp:write"),
        ("tok-write", "mcp:read"),
        ("tok-none", "mcp:read"),
    ] {
        let reply = send(&app, get("/rw", &[bearer(token).as_bytes()])).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        let description = format!("Required scope: {missing}");
        assert_eq!(
            reply.challenge(),
            params(&[
                ("error", "insufficient_scope"),
                ("error_description", &description),
                ("resource_metadata", METADATA_URL),
            ])
        );
        assert_eq!(
            reply.body,
            format!(r#"{{"error": "insufficient_scope", "error_description": "{description}"}}"#)
        );
    }
    // Scope comparison is exact and case-sensitive.
    let reply = send(&app, get("/mcp", &[b"Bearer tok-Upper"])).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn insufficient_scope_spec_lists_every_required_scope() {
    let (app, _) = app(SPEC);
    let reply = send(&app, get("/rw", &[b"Bearer tok-read"])).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.challenge(),
        params(&[
            ("error", "insufficient_scope"),
            ("error_description", "Required scope: mcp:write"),
            ("scope", "mcp:read mcp:write"),
            ("resource_metadata", METADATA_URL),
        ])
    );
    assert_spec_body_agrees(&reply);
}

#[tokio::test]
async fn validation_comes_before_the_scope_check() {
    let expired_without_scope = AccessToken::new("t", "c", ["other"]).with_expires_at(now() - 10);
    for profile in [PY, SPEC] {
        let app = Router::new()
            .route("/", get_route(|| async { "ok" }))
            .route_layer(RequireScopesLayer::new(["mcp:read"]).unwrap())
            .layer(
                BearerAuth::new(StaticVerifier::new([expired_without_scope.clone()]))
                    .profile(profile),
            );
        let reply = send(&app, get("/", &[b"Bearer t"])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{profile:?}");
        assert_eq!(reply.challenge()["error"], "invalid_token");
    }
}

// Row 4: malformed credentials.

#[tokio::test]
async fn malformed_python_sdk_answers_like_the_reference() {
    let (app, verifier) = app(PY);
    for headers in [
        &[&b"Bearer"[..]][..],
        &[b"Bearer "],
        &[b"Bearer\ttok-read"],
        &[b"Bearer  tok-read"],
    ] {
        assert_python_401(&send(&app, get("/mcp", headers)).await);
    }
    // Only the double space reaches the verifier, with the space kept (the reference's value[7:]).
    assert_eq!(verifier.seen(), [" tok-read"]);
    // Two headers: the first wins.
    let reply = send(&app, get("/mcp", &[b"Bearer tok-read", b"Bearer junk"])).await;
    assert_eq!(
        (reply.status, reply.text()),
        (StatusCode::OK, "ok client-read")
    );
    assert_python_401(&send(&app, get("/mcp", &[b"Bearer junk", b"Bearer tok-read"])).await);
}

#[tokio::test]
async fn malformed_spec_is_400_invalid_request() {
    let (app, verifier) = app(SPEC);
    for (headers, description) in [
        (&[&b"Bearer"[..]][..], "Bearer credentials without a token"),
        (
            &[b"Bearer\ttok-read"],
            "The bearer token must follow a space",
        ),
        (
            &[b"Bearer tok-read extra"],
            "The Authorization header must hold a single bearer token",
        ),
        (
            &[b"Bearer a,b"],
            "The Authorization header must hold a single bearer token",
        ),
        (
            &[b"Bearer token=\"x\""],
            "The Authorization header must hold a single bearer token",
        ),
        (
            &[b"Bearer tok-read", b"Bearer tok-read"],
            "Multiple Authorization headers",
        ),
    ] {
        let reply = send(&app, get("/mcp", headers)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{headers:?}");
        assert_eq!(
            reply.challenge(),
            params(&[
                ("error", "invalid_request"),
                ("error_description", description),
                ("resource_metadata", METADATA_URL),
            ])
        );
        assert_spec_body_agrees(&reply);
    }
    assert_eq!(verifier.calls(), 0);
    // 1*SP: several spaces are fine.
    let reply = send(&app, get("/mcp", &[b"Bearer   tok-read"])).await;
    assert_eq!(reply.status, StatusCode::OK);
}

// Row 5: verifier unavailable.

#[tokio::test]
async fn unavailable_verifier_is_503_without_challenge_in_both_profiles() {
    for (profile, body) in [
        (
            PY,
            r#"{"error": "temporarily_unavailable", "error_description": "Token verification is temporarily unavailable"}"#,
        ),
        (
            SPEC,
            r#"{"error":"temporarily_unavailable","error_description":"Token verification is temporarily unavailable"}"#,
        ),
    ] {
        let (app, verifier) = app(profile);
        verifier.set_unavailable(true);
        let reply = send(&app, get("/mcp", &[b"Bearer tok-read"])).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.www_authenticate(), None);
        assert_eq!(reply.body, body);
        assert_eq!(reply.content_type(), Some("application/json"));
        verifier.set_unavailable(false);
        assert_eq!(
            send(&app, get("/mcp", &[b"Bearer tok-read"])).await.status,
            StatusCode::OK
        );
    }
}

// Both profiles: security rules.

#[tokio::test]
async fn expiry_uses_now_ge_exp_with_the_layers_leeway() {
    let stale = |offset: i64| {
        let exp = now() + offset;
        verifier_fn(move |token: String| async move {
            Ok(AccessToken::new(token, "c", ["r"]).with_expires_at(exp))
        })
    };
    let status = |leeway: u64, offset: i64, profile: Profile| {
        let app = Router::new()
            .route("/", get_route(|_: AuthenticatedUser| async { "ok" }))
            .layer(
                BearerAuth::new(stale(offset))
                    .leeway(Duration::from_secs(leeway))
                    .profile(profile),
            );
        async move { send(&app, get("/", &[b"Bearer t"])).await.status }
    };
    for profile in [PY, SPEC] {
        assert_eq!(status(60, -30, profile).await, StatusCode::OK);
        assert_eq!(status(0, -30, profile).await, StatusCode::UNAUTHORIZED);
        assert_eq!(status(0, -1, profile).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            status(0, 0, profile).await,
            StatusCode::UNAUTHORIZED,
            "now >= exp is expired"
        );
        assert_eq!(status(0, 30, profile).await, StatusCode::OK);
        assert_eq!(status(60, -61, profile).await, StatusCode::UNAUTHORIZED);
    }
    // Some(0) is expired (the reference's falsy zero is not copied).
    let zero = verifier_fn(|token: String| async move {
        Ok(AccessToken::new(token, "c", ["r"]).with_expires_at(0))
    });
    let app = Router::new()
        .route("/", get_route(|_: AuthenticatedUser| async { "ok" }))
        .layer(BearerAuth::new(zero));
    assert_eq!(
        send(&app, get("/", &[b"Bearer t"])).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn static_verifier_refuses_at_exp_without_leeway() {
    let verifier = StaticVerifier::new([
        AccessToken::new("now", "c", ["r"]).with_expires_at(now()),
        AccessToken::new("later", "c", ["r"]).with_expires_at(now() + 100),
    ]);
    assert_eq!(verifier.verify("now").await, Err(VerifyError::Expired));
    assert!(verifier.verify("later").await.is_ok());
    assert!(matches!(
        verifier.verify("unknown").await,
        Err(VerifyError::Invalid(_))
    ));
}

#[tokio::test]
async fn token_length_cap_refuses_without_calling_the_verifier() {
    let long = "a".repeat(101);
    let verifier = Recording::new([AccessToken::new(long.clone(), "c", ["r"])]);
    for profile in [PY, SPEC] {
        let app = Router::new()
            .route("/", get_route(|_: AuthenticatedUser| async { "ok" }))
            .layer(
                BearerAuth::new(verifier.clone())
                    .profile(profile)
                    .max_token_len(100),
            );
        let reply = send(&app, get("/", &[bearer(&long).as_bytes()])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.challenge()["error"], "invalid_token");
    }
    assert_eq!(verifier.calls(), 0);
    let app = Router::new()
        .route("/", get_route(|_: AuthenticatedUser| async { "ok" }))
        .layer(BearerAuth::new(verifier.clone()).max_token_len(101));
    assert_eq!(
        send(&app, get("/", &[bearer(&long).as_bytes()]))
            .await
            .status,
        StatusCode::OK
    );
}

scopes!(pub FilesWrite = "files:write");
scopes!(pub FilesReadWrite = "files:read", "files:write");

#[tokio::test]
async fn scope_hierarchy_lets_a_broader_scope_satisfy_narrower_ones() {
    let verifier = StaticVerifier::new([
        AccessToken::new("admin", "c", ["files:admin"]),
        AccessToken::new("reader", "c", ["files:read"]),
    ]);
    let auth = BearerAuth::new(verifier)
        .profile(SPEC)
        .scope_implies("files:admin", ["files:write"])
        .unwrap()
        .scope_implies("files:write", ["files:read"])
        .unwrap();
    let app = Router::new()
        .route(
            "/rw",
            get_route(
                |user: RequireScopes<FilesReadWrite>| async move { user.client_id().to_owned() },
            ),
        )
        .layer(auth);
    assert_eq!(
        send(&app, get("/rw", &[b"Bearer admin"])).await.status,
        StatusCode::OK
    );
    let reply = send(&app, get("/rw", &[b"Bearer reader"])).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.challenge()["scope"], "files:read files:write");
}

#[tokio::test]
async fn require_scopes_mid_handler_gives_the_profiles_403() {
    async fn handler(user: AuthenticatedUser) -> Result<&'static str, Rejection> {
        user.require_scopes(["files:read", "files:write"])?;
        Ok("written")
    }
    for profile in [PY, SPEC] {
        let verifier = StaticVerifier::new([
            AccessToken::new("r", "c", ["files:read"]),
            AccessToken::new("rw", "c", ["files:read", "files:write"]),
        ]);
        let app = Router::new()
            .route("/", get_route(handler))
            .layer(BearerAuth::new(verifier).profile(profile));
        assert_eq!(
            send(&app, get("/", &[b"Bearer rw"])).await.text(),
            "written"
        );
        let reply = send(&app, get("/", &[b"Bearer r"])).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        let challenge = reply.challenge();
        assert_eq!(
            challenge["error_description"],
            "Required scope: files:write"
        );
        match profile {
            Profile::Spec => assert_eq!(challenge["scope"], "files:read files:write"),
            _ => assert!(!challenge.contains_key("scope")),
        }
    }
}

#[tokio::test]
async fn require_scopes_extractor_and_route_guard() {
    for profile in [PY, SPEC] {
        let verifier = StaticVerifier::new([
            AccessToken::new("w", "writer", ["files:write"]),
            AccessToken::new("r", "reader", ["files:read"]),
        ]);
        let app = Router::new()
            .route(
                "/handler",
                get_route(
                    |user: RequireScopes<FilesWrite>| async move { user.client_id().to_owned() },
                ),
            )
            .route(
                "/guarded",
                get_route(|| async { "guarded" })
                    .route_layer(from_extractor::<RequireScopes<FilesWrite>>()),
            )
            .layer(BearerAuth::new(verifier).profile(profile));
        for path in ["/handler", "/guarded"] {
            assert_eq!(
                send(&app, get(path, &[b"Bearer w"])).await.status,
                StatusCode::OK
            );
            let reply = send(&app, get(path, &[b"Bearer r"])).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{path}");
            assert_eq!(
                reply.challenge()["error_description"],
                "Required scope: files:write"
            );
            let reply = send(&app, get(path, &[])).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
            if profile == SPEC {
                assert_eq!(reply.challenge(), params(&[("scope", "files:write")]));
            }
        }
    }
}

#[tokio::test]
async fn optional_user_is_none_only_without_credentials() {
    for profile in [PY, SPEC] {
        let app = Router::new()
            .route(
                "/",
                get_route(|user: Option<AuthenticatedUser>| async move {
                    user.map_or("anonymous".to_owned(), |u| u.client_id().to_owned())
                }),
            )
            .layer(BearerAuth::new(Recording::with_fixtures()).profile(profile));
        assert_eq!(send(&app, get("/", &[])).await.text(), "anonymous");
        assert_eq!(
            send(&app, get("/", &[b"Basic dXNlcjpwYXNz"])).await.text(),
            "anonymous"
        );
        assert_eq!(
            send(&app, get("/", &[b"Bearer tok-read"])).await.text(),
            "client-read"
        );
        assert_eq!(
            send(&app, get("/", &[b"Bearer nope"])).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let app = Router::new()
        .route(
            "/",
            get_route(
                |user: Option<AuthenticatedUser>| async move { format!("{}", user.is_some()) },
            ),
        )
        .layer(BearerAuth::new(Recording::with_fixtures()).profile(SPEC));
    assert_eq!(
        send(&app, get("/", &[b"Bearer\tx"])).await.status,
        StatusCode::BAD_REQUEST
    );
}

// Verification is lazy and memoized per request.

#[tokio::test]
async fn guard_and_extractors_on_one_request_call_the_verifier_once() {
    let verifier = Recording::new([AccessToken::new("w", "writer", ["files:write"])]);
    let handler_runs = Arc::new(AtomicUsize::new(0));
    let runs = handler_runs.clone();
    let app = Router::new()
        .route(
            "/",
            get_route(
                move |a: AuthenticatedUser,
                      b: RequireScopes<FilesWrite>,
                      c: Option<AuthenticatedUser>| {
                    let runs = runs.clone();
                    async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        format!("{} {} {}", a.client_id(), b.client_id(), c.is_some())
                    }
                },
            ),
        )
        .route_layer(from_extractor::<RequireScopes<FilesWrite>>())
        .route_layer(RequireScopesLayer::new(["files:write"]).unwrap())
        .route("/public", get_route(|| async { "public" }))
        .layer(BearerAuth::new(verifier.clone()));

    // Two route guards and three extractors: one verification.
    let reply = send(&app, get("/", &[b"Bearer w"])).await;
    assert_eq!(reply.text(), "writer writer true");
    assert_eq!(verifier.calls(), 1);

    // A refused token is memoized too: the first guard refuses, nothing asks again.
    let reply = send(&app, get("/", &[b"Bearer unknown"])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(verifier.calls(), 2);
    assert_eq!(handler_runs.load(Ordering::SeqCst), 1);

    // Public routes never verify.
    assert_eq!(
        send(&app, get("/public", &[b"Bearer w"])).await.text(),
        "public"
    );
    assert_eq!(verifier.calls(), 2);
}

#[tokio::test]
async fn a_route_without_the_layer_is_a_500_naming_the_bug() {
    let app = Router::new().route("/", get_route(|_: AuthenticatedUser| async { "ok" }));
    let reply = send(&app, get("/", &[b"Bearer t"])).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(reply.text().contains("BearerAuth layer is missing"));
}

#[tokio::test]
async fn rejection_exposes_kind_and_status() {
    let app = Router::new()
        .route(
            "/",
            get_route(
                |user: Result<RequireScopes<FilesWrite>, Rejection>| async move {
                    match user {
                        Ok(_) => "ok".to_owned(),
                        Err(rejection) => format!(
                            "{:?} {} {:?}",
                            rejection.kind(),
                            rejection.status().as_u16(),
                            rejection.missing_scope()
                        ),
                    }
                },
            ),
        )
        .layer(BearerAuth::new(StaticVerifier::new([AccessToken::new(
            "r",
            "c",
            ["files:read"],
        )])));
    assert_eq!(
        send(&app, get("/", &[b"Bearer r"])).await.text(),
        "InsufficientScope 403 Some(\"files:write\")"
    );
    assert_eq!(
        send(&app, get("/", &[])).await.text(),
        "MissingCredentials 401 None"
    );
    assert_eq!(RejectionKind::Unavailable, RejectionKind::Unavailable);
}
