//! Opaque tokens through a real `Router` and `BearerAuth` (Profile::Spec), checked by
//! `IntrospectionVerifier` against the loopback issuer's RFC 7662 endpoint over HTTP, with and
//! without `CachedVerifier`.
#![cfg(all(feature = "testing", feature = "cache"))]

mod common;

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    http::StatusCode,
    routing::{get, post},
};
use axum_bearer::{
    AuthenticatedUser, BearerAuth, CachedVerifier, IntrospectionVerifier,
    IntrospectionVerifierBuilder, Profile, RequireScopesLayer, TokenVerifier, VerifyError,
    testing::{Endpoint, Fault, IntrospectionRequest, TestIssuer},
};
use base64::{Engine as _, engine::general_purpose::STANDARD};
use common::Reply;
use serde_json::{Value, json};

const RESOURCE: &str = "https://rs.example/mcp";
/// Characters that RFC 6749 §2.3.1 requires to be form-urlencoded before Basic encoding.
const CLIENT_ID: &str = "rs client";
const CLIENT_SECRET: &str = "s3cr:t/é&=";
const CLIENT_ID_ENCODED: &str = "rs+client";
const CLIENT_SECRET_ENCODED: &str = "s3cr%3At%2F%C3%A9%26%3D";

/// A verifier for `issuer` with `client_secret_basic`, the issuer, this resource as audience, a
/// short timeout.
fn builder(issuer: &TestIssuer) -> IntrospectionVerifierBuilder {
    IntrospectionVerifier::builder(issuer.introspection_url())
        .unwrap()
        .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
        .issuer(issuer.issuer())
        .audience(RESOURCE)
        .timeout(Duration::from_millis(500))
}

/// An issuer that requires our client credentials.
async fn issuer() -> TestIssuer {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_introspection_client(CLIENT_ID, CLIENT_SECRET);
    issuer
}

/// `/mcp` needs `mcp:read` and echoes the principal.
fn app_with(verifier: impl TokenVerifier, leeway: Duration) -> Router {
    let auth = BearerAuth::new(verifier)
        .profile(Profile::Spec)
        .resource_server_url(RESOURCE)
        .unwrap()
        .leeway(leeway);
    routes(auth)
}

/// The routes of [`app_with`] behind `auth`.
fn routes(auth: BearerAuth) -> Router {
    Router::new()
        .route(
            "/mcp",
            get(|user: AuthenticatedUser| async move {
                let token = user.access_token();
                Json(json!({
                    "client_id": token.client_id,
                    "scopes": token.scopes,
                    "subject": token.subject,
                    "issuer": token.issuer(),
                    "resource": token.resource,
                    "expires_at": token.expires_at,
                    "token_type": token.claims.as_ref().and_then(|c| c.get("token_type")),
                }))
            })
            .route_layer(RequireScopesLayer::new(["mcp:read"]).unwrap()),
        )
        .layer(auth)
}

fn app(verifier: impl TokenVerifier) -> Router {
    app_with(verifier, axum_bearer::DEFAULT_LEEWAY)
}

async fn call(app: &Router, token: &str) -> Reply {
    common::call_bearer(app, "/mcp", token).await
}

/// A 401 whose challenge says `invalid_token`, with the given description.
#[track_caller]
fn assert_invalid_token(reply: &Reply, description: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    let challenge = reply.challenge();
    assert_eq!(challenge["error"], "invalid_token", "{challenge:?}");
    assert_eq!(challenge["error_description"], description, "{challenge:?}");
    assert_eq!(challenge["scope"], "mcp:read", "{challenge:?}");
    assert_eq!(reply.json()["error"], "invalid_token");
}

/// A 503 with no challenge: the client keeps its token.
#[track_caller]
fn assert_unavailable(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {}",
        reply.text()
    );
    assert!(reply.www_authenticate().is_none(), "{what}");
    assert_eq!(reply.json()["error"], "temporarily_unavailable", "{what}");
}

fn introspections(issuer: &TestIssuer) -> usize {
    issuer.requests(Endpoint::Introspection)
}

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn unix_now_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Sleeps until the wall clock is past the Unix second `t` by `margin`.
async fn sleep_until_past(t: i64, margin: Duration) {
    let wait = t as f64 + margin.as_secs_f64() - unix_now_f64();
    if wait > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }
}

#[tokio::test]
async fn active_token_maps_like_the_reference_with_one_basic_authenticated_post_per_request() {
    let issuer = issuer().await;
    let mut response = issuer.introspection_for(RESOURCE);
    response["scope"] = json!("mcp:read  notes:write");
    let exp = response["exp"].as_i64().unwrap();
    issuer.register_token("opaque-1", response);
    let app = app(builder(&issuer)
        .token_type_hint("access_token")
        .build()
        .unwrap());

    for n in 1..=3 {
        let reply = call(&app, "opaque-1").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(
            reply.json(),
            json!({
                "client_id": "client-1",
                "scopes": ["mcp:read", "notes:write"],
                "subject": "user-1",
                "issuer": issuer.issuer(),
                "resource": RESOURCE,
                "expires_at": exp,
                "token_type": "Bearer",
            })
        );
        // No cache: one POST per request.
        assert_eq!(introspections(&issuer), n);
    }

    let expected = IntrospectionRequest::clone(&issuer.introspection_requests()[0]);
    assert_eq!(
        expected.form,
        form(&[("token", "opaque-1"), ("token_type_hint", "access_token")])
    );
    assert_eq!(
        expected.authorization.as_deref(),
        Some(
            format!(
                "Basic {}",
                STANDARD.encode(format!("{CLIENT_ID_ENCODED}:{CLIENT_SECRET_ENCODED}"))
            )
            .as_str()
        )
    );
    assert_eq!(
        expected.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert!(
        issuer
            .introspection_requests()
            .iter()
            .all(|request| *request == expected)
    );
}

#[tokio::test]
async fn the_issuer_endpoint_requires_its_client_and_answers_inactive_for_unknown_tokens() {
    let issuer = issuer().await;
    let client = reqwest::Client::new();
    let post = |form: &'static [(&'static str, &'static str)]| {
        client.post(issuer.introspection_url()).form(form)
    };
    let response = post(&[("token", "x")]).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"test-issuer\""
    );
    let response = post(&[("token", "x")])
        .basic_auth(CLIENT_ID_ENCODED, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = post(&[("token", "x")])
        .basic_auth(CLIENT_ID_ENCODED, Some(CLIENT_SECRET_ENCODED))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), r#"{"active":false}"#);
    let response = post(&[
        ("token", "x"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ])
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(introspections(&issuer), 4);
    assert_eq!(issuer.introspection_requests().len(), 4);
}

#[tokio::test]
async fn client_secret_post_sends_the_credentials_in_the_form() {
    let issuer = issuer().await;
    issuer.register_token("opaque-post", issuer.introspection_for(RESOURCE));
    let app = app(builder(&issuer)
        .client_secret_post(CLIENT_ID, CLIENT_SECRET)
        .build()
        .unwrap());
    let reply = call(&app, "opaque-post").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let requests = issuer.introspection_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].form,
        form(&[
            ("token", "opaque-post"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
    );
    assert_eq!(requests[0].authorization, None);
}

#[tokio::test]
async fn bearer_credential_is_sent_as_authorization_bearer() {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_introspection_bearer("rs-introspection-credential");
    issuer.register_token("opaque-b", issuer.introspection_for(RESOURCE));
    let app = app(builder(&issuer)
        .bearer_credential("rs-introspection-credential")
        .build()
        .unwrap());
    let reply = call(&app, "opaque-b").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let requests = issuer.introspection_requests();
    assert_eq!(requests[0].form, form(&[("token", "opaque-b")]));
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Bearer rs-introspection-credential")
    );
}

#[tokio::test]
async fn our_credentials_refused_is_503_never_401() {
    let issuer = issuer().await;
    issuer.register_token("opaque-1", issuer.introspection_for(RESOURCE));
    let wrong_secret = app(builder(&issuer)
        .client_secret_basic(CLIENT_ID, "wrong")
        .build()
        .unwrap());
    let none = app(builder(&issuer).no_client_authentication().build().unwrap());
    let wrong_bearer = app(builder(&issuer).bearer_credential("nope").build().unwrap());
    for (what, app) in [
        ("wrong secret", &wrong_secret),
        ("no credentials", &none),
        ("wrong method", &wrong_bearer),
    ] {
        assert_unavailable(&call(app, "opaque-1").await, what);
    }
    assert_eq!(introspections(&issuer), 3);
}

#[tokio::test]
async fn only_active_true_is_active() {
    let issuer = issuer().await;
    let cases = [
        ("inactive", json!(false)),
        ("string-true", json!("true")),
        ("one", json!(1)),
        ("null", json!(null)),
        ("missing", Value::Null),
    ];
    for (token, active) in &cases {
        let mut response = issuer.introspection_for(RESOURCE);
        if active.is_null() && *token == "missing" {
            response.as_object_mut().unwrap().remove("active");
        } else {
            response["active"] = active.clone();
        }
        issuer.register_token(*token, response);
    }
    let app = app(builder(&issuer).build().unwrap());
    for (token, _) in &cases {
        assert_invalid_token(&call(&app, token).await, "The access token is invalid");
    }
    // Never registered: the issuer says {"active": false}.
    assert_invalid_token(
        &call(&app, "never-issued").await,
        "The access token is invalid",
    );
    assert_eq!(introspections(&issuer), cases.len() + 1);
}

#[tokio::test]
async fn audience_is_exact_by_default_and_hierarchical_on_request() {
    let issuer = issuer().await;
    let register = |token: &str, aud: Value| {
        let mut response = issuer.introspection_for(RESOURCE);
        if aud.is_null() {
            response.as_object_mut().unwrap().remove("aud");
        } else {
            response["aud"] = aud;
        }
        issuer.register_token(token, response);
    };
    register("exact", json!(RESOURCE));
    register("in-array", json!(["https://other.example", RESOURCE]));
    register("parent", json!("https://rs.example"));
    register("parent-slash", json!("https://RS.example/"));
    register("other", json!("https://other.example/mcp"));
    register("child", json!("https://rs.example/mcp/tools"));
    register("sibling-prefix", json!("https://rs.example/mc"));
    register("no-aud", Value::Null);

    let exact = app(builder(&issuer).build().unwrap());
    let hierarchical = app(builder(&issuer)
        .hierarchical_audience(true)
        .build()
        .unwrap());
    for (token, exact_ok, hierarchical_ok) in [
        ("exact", true, true),
        ("in-array", true, true),
        ("parent", false, true),
        ("parent-slash", false, true),
        ("other", false, false),
        ("child", false, false),
        ("sibling-prefix", false, false),
        ("no-aud", false, false),
    ] {
        for (app, ok, mode) in [
            (&exact, exact_ok, "exact"),
            (&hierarchical, hierarchical_ok, "hierarchical"),
        ] {
            let reply = call(app, token).await;
            if ok {
                assert_eq!(reply.status, StatusCode::OK, "{token} {mode}");
                // The resource is this server, so the layer's resource check passes too.
                assert_eq!(reply.json()["resource"], RESOURCE, "{token} {mode}");
            } else {
                assert_invalid_token(&reply, "The access token is invalid");
            }
        }
    }
}

#[tokio::test]
async fn without_an_audience_the_layer_checks_the_resource() {
    let issuer = issuer().await;
    let mut ours = issuer.introspection_for(RESOURCE);
    ours["aud"] = json!([RESOURCE, "https://other.example"]);
    issuer.register_token("ours", ours);
    issuer.register_token(
        "theirs",
        issuer.introspection_for("https://other.example/mcp"),
    );
    let verifier = IntrospectionVerifier::builder(issuer.introspection_url())
        .unwrap()
        .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
        .build()
        .unwrap();
    let app = app(verifier);
    assert_eq!(call(&app, "ours").await.status, StatusCode::OK);
    assert_invalid_token(
        &call(&app, "theirs").await,
        "The access token is not valid for this resource",
    );
}

#[tokio::test]
async fn issuer_mismatch_and_past_exp_are_401() {
    let issuer = issuer().await;
    let mut foreign = issuer.introspection_for(RESOURCE);
    foreign["iss"] = json!("https://evil.example");
    issuer.register_token("foreign", foreign);
    let mut no_iss = issuer.introspection_for(RESOURCE);
    no_iss.as_object_mut().unwrap().remove("iss");
    issuer.register_token("no-iss", no_iss);
    let mut expired = issuer.introspection_for(RESOURCE);
    expired["exp"] = json!(expired["iat"].as_i64().unwrap() - 120);
    issuer.register_token("expired", expired);
    let mut bad_scope = issuer.introspection_for(RESOURCE);
    bad_scope["scope"] = json!(["mcp:read"]);
    issuer.register_token("scope-array", bad_scope);

    let app = app(builder(&issuer).build().unwrap());
    assert_invalid_token(&call(&app, "foreign").await, "The access token is invalid");
    assert_invalid_token(&call(&app, "no-iss").await, "The access token is invalid");
    assert_invalid_token(&call(&app, "expired").await, "The access token expired");
    assert_invalid_token(
        &call(&app, "scope-array").await,
        "The access token is invalid",
    );
}

#[tokio::test]
async fn endpoint_failures_are_503_and_never_cached() {
    let issuer = issuer().await;
    issuer.register_token("not-an-object", json!([{"active": true}]));
    let verifier = CachedVerifier::builder(
        builder(&issuer)
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap(),
    )
    .negative_ttl(Some(Duration::from_secs(60)))
    .build();
    let app = app(verifier);

    for (what, fault) in [
        ("slow", Fault::Slow(Duration::from_secs(3))),
        ("500", Fault::Status(500)),
        ("401", Fault::Status(401)),
        ("garbage", Fault::InvalidJson),
        ("down", Fault::Down),
    ] {
        // A fresh token per fault, so the cache starts empty for it.
        let token = format!("opaque-{what}");
        issuer.register_token(&token, issuer.introspection_for(RESOURCE));
        issuer.set_endpoint_fault(Endpoint::Introspection, fault);
        let before = introspections(&issuer) + issuer.dropped_connections();
        assert_unavailable(&call(&app, &token).await, what);
        assert_unavailable(&call(&app, &token).await, what);
        assert_eq!(
            introspections(&issuer) + issuer.dropped_connections(),
            before + 2,
            "{what}: a failure is not cached, even with a negative TTL"
        );
        issuer.set_endpoint_fault(Endpoint::Introspection, Fault::None);
        let before = introspections(&issuer);
        let reply = call(&app, &token).await;
        assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.text());
        assert_eq!(introspections(&issuer), before + 1, "{what}: recovered");
        // Now cached.
        assert_eq!(call(&app, &token).await.status, StatusCode::OK);
        assert_eq!(introspections(&issuer), before + 1, "{what}");
    }
    assert_unavailable(&call(&app, "not-an-object").await, "JSON array");
    assert_unavailable(&call(&app, "not-an-object").await, "JSON array");
    assert_eq!(
        issuer
            .introspection_requests()
            .iter()
            .filter(|r| r.form_value("token") == Some("not-an-object"))
            .count(),
        2
    );
}

#[tokio::test]
async fn cache_makes_one_call_for_many_requests_until_the_token_expires() {
    let issuer = issuer().await;
    let mut response = issuer.introspection_for(RESOURCE);
    let exp = response["iat"].as_i64().unwrap() + 3;
    response["exp"] = json!(exp);
    issuer.register_token("short-lived", response);
    let verifier = CachedVerifier::new(builder(&issuer).leeway(Duration::ZERO).build().unwrap());
    let app = app_with(verifier, Duration::ZERO);

    for _ in 0..50 {
        let reply = call(&app, "short-lived").await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    assert_eq!(introspections(&issuer), 1);

    sleep_until_past(exp, Duration::from_millis(200)).await;
    // The entry died at exp; the issuer still says active, the verifier checks exp.
    assert_invalid_token(&call(&app, "short-lived").await, "The access token expired");
    assert_eq!(introspections(&issuer), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_requests_for_one_token_make_one_call() {
    let issuer = issuer().await;
    issuer.register_token("popular", issuer.introspection_for(RESOURCE));
    // Slow enough that every request arrives while the first introspection is in flight.
    issuer.set_endpoint_fault(
        Endpoint::Introspection,
        Fault::Slow(Duration::from_millis(300)),
    );
    let app = app(CachedVerifier::new(
        builder(&issuer)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap(),
    ));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { call(&app, "popular").await.status })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(introspections(&issuer), 1);
}

#[tokio::test]
async fn ttl_shorter_than_exp_reintrospects_after_the_ttl() {
    let issuer = issuer().await;
    issuer.register_token("long-lived", issuer.introspection_for(RESOURCE));
    let verifier = CachedVerifier::builder(builder(&issuer).build().unwrap())
        .ttl(Duration::from_millis(300))
        .build();
    let app = app(verifier);
    for _ in 0..5 {
        assert_eq!(call(&app, "long-lived").await.status, StatusCode::OK);
    }
    assert_eq!(introspections(&issuer), 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Revoked meanwhile: after the TTL the cache asks again and learns it.
    issuer.revoke_token("long-lived");
    assert_invalid_token(
        &call(&app, "long-lived").await,
        "The access token is invalid",
    );
    assert_eq!(introspections(&issuer), 2);
}

#[tokio::test]
async fn refusals_are_cached_only_with_a_negative_ttl() {
    let issuer = issuer().await;
    let default = app(CachedVerifier::new(builder(&issuer).build().unwrap()));
    assert_invalid_token(
        &call(&default, "unknown").await,
        "The access token is invalid",
    );
    assert_invalid_token(
        &call(&default, "unknown").await,
        "The access token is invalid",
    );
    assert_eq!(introspections(&issuer), 2);

    issuer.reset_counters();
    let negative = app(CachedVerifier::builder(builder(&issuer).build().unwrap())
        .negative_ttl(Some(Duration::from_secs(60)))
        .build());
    assert_invalid_token(
        &call(&negative, "unknown").await,
        "The access token is invalid",
    );
    assert_invalid_token(
        &call(&negative, "unknown").await,
        "The access token is invalid",
    );
    assert_eq!(introspections(&issuer), 1);
}

#[tokio::test]
async fn debug_output_holds_no_token_or_secret() {
    let issuer = issuer().await;
    issuer.register_token("opaque-secret-token", issuer.introspection_for(RESOURCE));
    let basic = builder(&issuer).build().unwrap();
    let cached = CachedVerifier::new(basic.clone());
    let app = app(cached.clone());
    for _ in 0..2 {
        assert_eq!(
            call(&app, "opaque-secret-token").await.status,
            StatusCode::OK
        );
    }
    assert_eq!(introspections(&issuer), 1, "the token is in the cache");

    let post = builder(&issuer)
        .client_secret_post(CLIENT_ID, CLIENT_SECRET)
        .build()
        .unwrap();
    let bearer = builder(&issuer)
        .bearer_credential("bearer-credential-value")
        .build()
        .unwrap();
    let shown = format!(
        "{cached:?} {cached:#?} {basic:?} {post:?} {bearer:?} {:?}",
        builder(&issuer).bearer_credential("bearer-credential-value")
    );
    for secret in [
        "opaque-secret-token",
        CLIENT_SECRET,
        CLIENT_SECRET_ENCODED,
        "bearer-credential-value",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("CachedVerifier"));
    assert!(shown.contains(CLIENT_ID), "{shown}");
}

/// A loopback endpoint answering every `POST /introspect` with `status` and `body` verbatim:
/// what the issuer's endpoint does not send (duplicate members, RFC 7662 bodies with an error
/// status, as the TypeScript SDK's demo authorization server answers).
async fn raw_endpoint(status: u16, body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    let status = StatusCode::from_u16(status).unwrap();
    let app = Router::new().route(
        "/introspect",
        post(move || async move {
            (
                status,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A verifier for a [`raw_endpoint`] (which checks no credentials), this resource as audience.
fn raw_verifier(url: &str) -> IntrospectionVerifier {
    IntrospectionVerifier::builder(url)
        .unwrap()
        .no_client_authentication()
        .audience(RESOURCE)
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

#[tokio::test]
async fn null_members_are_absent_as_in_the_reference_verifier() {
    let issuer = issuer().await;
    // The Python SDK's simple-auth authorization server, for a token issued without `resource`.
    let mut python = issuer.introspection_for(RESOURCE);
    python["aud"] = Value::Null;
    issuer.register_token("python-no-resource", python.clone());
    let mut all_null = python.clone();
    for name in ["sub", "exp", "nbf", "iat", "token_type", "username", "jti"] {
        all_null[name] = Value::Null;
    }
    issuer.register_token("all-null", all_null);
    let mut no_scope = python.clone();
    no_scope["scope"] = Value::Null;
    no_scope["client_id"] = Value::Null;
    issuer.register_token("null-scope", no_scope);
    let mut active_null = python;
    active_null["active"] = Value::Null;
    issuer.register_token("active-null", active_null);

    // No audience, no resource check: as the reference example without --oauth-strict.
    let verifier = IntrospectionVerifier::builder(issuer.introspection_url())
        .unwrap()
        .client_secret_basic(CLIENT_ID, CLIENT_SECRET)
        .issuer(issuer.issuer())
        .build()
        .unwrap();
    let open = routes(BearerAuth::new(verifier.clone()).profile(Profile::Spec));

    let reply = call(&open, "python-no-resource").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["resource"], Value::Null);
    assert_eq!(reply.json()["subject"], "user-1");
    let reply = call(&open, "all-null").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let principal = reply.json();
    assert_eq!(
        (
            &principal["subject"],
            &principal["expires_at"],
            &principal["token_type"]
        ),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    assert_eq!(principal["issuer"], issuer.issuer());
    // No scope: authenticated, but not allowed.
    let reply = call(&open, "null-scope").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
    assert_eq!(reply.challenge()["error"], "insufficient_scope");
    let direct = verifier.verify("null-scope").await.unwrap();
    assert_eq!(direct.client_id, "unknown");
    assert!(direct.scopes.is_empty());

    // `active` must be `true`; a null `aud` is no audience where one is required.
    assert_invalid_token(
        &call(&open, "active-null").await,
        "The access token is invalid",
    );
    let strict = app(builder(&issuer).build().unwrap());
    assert_invalid_token(
        &call(&strict, "python-no-resource").await,
        "The access token is invalid",
    );
}

#[tokio::test]
async fn inactive_is_401_whatever_the_status_but_a_refusal_of_our_credentials_stays_503() {
    for (status, body, expected) in [
        // The TypeScript SDK's demo authorization server, for an unknown or expired token.
        (401, r#"{"active": false}"#, 401),
        (400, r#"{"active":false}"#, 401),
        (403, r#"{"active":false,"note":"revoked"}"#, 401),
        (200, r#"{"active":false}"#, 401),
        // Our own credentials refused, or no RFC 7662 answer.
        (401, r#"{"error":"invalid_client"}"#, 503),
        (401, r#"{"active":false,"error":"invalid_client"}"#, 503),
        (401, r#"{"active":"false"}"#, 503),
        (
            401,
            r#"{"active":true,"scope":"mcp:read","aud":"https://rs.example/mcp"}"#,
            503,
        ),
        (401, r#"{"active":false,"active":false}"#, 503),
        (401, r#"[{"active":false}]"#, 503),
        (401, "Unauthorized", 503),
        // A server that says it failed is not trusted to call a token inactive.
        (500, r#"{"active":false}"#, 503),
        (503, r#"{"active":false}"#, 503),
    ] {
        let verifier = raw_verifier(&raw_endpoint(status, body).await);
        let reply = call(&app(verifier.clone()), "opaque-1").await;
        let what = format!("{status} {body}");
        match expected {
            401 => {
                assert_invalid_token(&reply, "The access token is invalid");
                assert!(
                    matches!(
                        verifier.verify("opaque-1").await,
                        Err(VerifyError::Invalid(_))
                    ),
                    "{what}"
                );
            }
            _ => {
                assert_unavailable(&reply, &what);
                assert!(
                    matches!(
                        verifier.verify("opaque-1").await,
                        Err(VerifyError::Unavailable(_))
                    ),
                    "{what}"
                );
            }
        }
    }
}

#[tokio::test]
async fn duplicate_members_are_refused() {
    for (body, expected) in [
        (
            r#"{"active":false,"active":true,"scope":"mcp:read","aud":"https://rs.example/mcp"}"#,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            r#"{"active":true,"scope":"mcp:read","aud":"https://other.example","aud":"https://rs.example/mcp"}"#,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            r#"{"active":true,"scope":"none","scope":"mcp:read","aud":"https://rs.example/mcp"}"#,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (
            r#"{"active":true,"active":false,"scope":"mcp:read","aud":"https://rs.example/mcp"}"#,
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        // Only the top level decides: a nested object is not checked.
        (
            r#"{"active":true,"scope":"mcp:read","aud":"https://rs.example/mcp","ext":{"a":1,"a":2}}"#,
            StatusCode::OK,
        ),
    ] {
        let verifier = raw_verifier(&raw_endpoint(200, body).await);
        let reply = call(&app(verifier), "opaque-1").await;
        assert_eq!(reply.status, expected, "{body}: {}", reply.text());
        if expected != StatusCode::OK {
            assert_unavailable(&reply, body);
        }
    }
}

const PROBE_PREFIX: &str = "axum-bearer-warm-up-probe-";

#[track_caller]
fn assert_not_ready(outcome: Result<(), VerifyError>, what: &str, reason: &str) {
    match outcome {
        Err(VerifyError::Unavailable(text)) => {
            assert!(text.contains(reason), "{what}: {text:?} lacks {reason:?}");
        }
        other => panic!("{what}: {other:?}"),
    }
}

#[tokio::test]
async fn warm_up_checks_the_endpoint_and_our_credentials() {
    let issuer = issuer().await;
    issuer.register_token("opaque-1", issuer.introspection_for(RESOURCE));

    let good = builder(&issuer).build().unwrap();
    assert_eq!(good.warm_up().await, Ok(()));
    let post = builder(&issuer)
        .client_secret_post(CLIENT_ID, CLIENT_SECRET)
        .build()
        .unwrap();
    assert_eq!(post.warm_up().await, Ok(()));
    // Forwarded through Arc and the cache.
    assert_eq!(
        CachedVerifier::new(Arc::new(good.clone())).warm_up().await,
        Ok(())
    );
    let probes: Vec<String> = issuer
        .introspection_requests()
        .iter()
        .map(|request| request.form_value("token").unwrap().to_owned())
        .collect();
    assert_eq!(probes.len(), 3);
    for probe in &probes {
        // Never a real token: a fixed prefix and 128 random bits.
        let random = probe.strip_prefix(PROBE_PREFIX).unwrap();
        assert_eq!(random.len(), 32, "{probe}");
        assert!(random.bytes().all(|b| b.is_ascii_hexdigit()), "{probe}");
    }
    assert!(probes[0] != probes[1] && probes[1] != probes[2] && probes[0] != probes[2]);

    // Our credentials refused.
    for (what, verifier) in [
        (
            "wrong secret",
            builder(&issuer)
                .client_secret_basic(CLIENT_ID, "wrong")
                .build()
                .unwrap(),
        ),
        (
            "no credentials",
            builder(&issuer).no_client_authentication().build().unwrap(),
        ),
        (
            "wrong method",
            builder(&issuer).bearer_credential("nope").build().unwrap(),
        ),
    ] {
        assert_not_ready(
            verifier.warm_up().await,
            what,
            "401 Unauthorized (invalid_client): it refused this resource server's client \
             authentication",
        );
    }
    let wrong = builder(&issuer)
        .client_secret_basic(CLIENT_ID, "wrong")
        .build()
        .unwrap();
    assert_not_ready(
        CachedVerifier::new(wrong).warm_up().await,
        "through the cache",
        "refused",
    );

    // The endpoint failing, or down.
    for (what, fault, reason) in [
        ("500", Fault::Status(500), "answered 500"),
        ("garbage", Fault::InvalidJson, "not a JSON object"),
        ("slow", Fault::Slow(Duration::from_secs(3)), "failed"),
        ("down", Fault::Down, "failed"),
    ] {
        issuer.set_endpoint_fault(Endpoint::Introspection, fault);
        assert_not_ready(good.warm_up().await, what, reason);
    }
    issuer.set_endpoint_fault(Endpoint::Introspection, Fault::None);
    assert_eq!(good.warm_up().await, Ok(()));
    let nothing_there = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/introspect", listener.local_addr().unwrap());
        drop(listener);
        url
    };
    assert_not_ready(
        raw_verifier(&nothing_there).warm_up().await,
        "nothing listening",
        "failed",
    );

    // Other RFC 7662 answers are a ready endpoint; anything else is not.
    for (status, body, ready) in [
        (401, r#"{"active":false}"#, true),
        (200, r#"{"active":true}"#, true),
        (200, r#"{"active":"false"}"#, false),
        (200, r#"{}"#, false),
        (200, r#"[]"#, false),
        (200, r#"{"active":false,"active":false}"#, false),
        (500, r#"{"active":false}"#, false),
        (404, "not found", false),
    ] {
        let outcome = raw_verifier(&raw_endpoint(status, body).await)
            .warm_up()
            .await;
        assert_eq!(outcome.is_ok(), ready, "{status} {body}: {outcome:?}");
        if !ready {
            assert_not_ready(outcome, body, "introspection endpoint not ready");
        }
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync + Clone + 'static>() {}
    is::<IntrospectionVerifier>();
    is::<CachedVerifier<IntrospectionVerifier>>();
    is::<Arc<CachedVerifier<IntrospectionVerifier>>>();
}
