//! Rejections the application builds itself (issue 10, items 9, 10, 18, 19): a 403 or 401 for the
//! configured profile from the user or the request, an application description filtered into the
//! header and escaped in the body, invalid scope names refused loudly, a misordered guard named.

mod common;

use axum::{
    Router,
    extract::Request,
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, Profile, Rejection, RejectionKind,
    RequireScopesLayer, StaticVerifier, scopes,
};
use common::{METADATA_URL, PY_401_BODY, Reply, bearer, get as request, params, send};

scopes!(ReadWrite = "notes:read", "notes:write");

/// Characters a quoted-string cannot carry, next to ones it can.
const HOSTILE: &str = "Quote \" back\\slash\r\nnew line, tab\t, é and \u{7f} end";
/// `HOSTILE` as the header carries it: `"`, `\`, controls (tab aside, RFC 6750 allows %x20-7E
/// and tab is not in it) and non-ASCII left out.
const HOSTILE_IN_HEADER: &str = "Quote  backslashnew line, tab,  and  end";

fn app(profile: Profile) -> Router {
    let verifier = StaticVerifier::new([
        AccessToken::new("reader", "client-r", ["notes:read"]),
        AccessToken::new("writer", "client-w", ["notes:read", "notes:write"]),
    ]);
    let auth = BearerAuth::new(verifier)
        .profile(profile)
        .resource_metadata_url(METADATA_URL)
        .unwrap();
    Router::new()
        .route(
            "/publish",
            get(|user: AuthenticatedUser| async move {
                match user.has_scope("notes:publish") {
                    true => Ok("published"),
                    false => Err(user.insufficient_scope(["notes:write", "notes:publish"])),
                }
            }),
        )
        .route(
            "/publish-described",
            get(|user: AuthenticatedUser| async move {
                Err::<(), _>(
                    user.insufficient_scope(["notes:write", "notes:publish"])
                        .with_description(HOSTILE),
                )
            }),
        )
        .route(
            "/suspended",
            get(|user: AuthenticatedUser| async move { Err::<(), _>(user.invalid_token()) }),
        )
        .route(
            "/suspended-described",
            get(|user: AuthenticatedUser| async move {
                Err::<(), _>(user.invalid_token().with_description(HOSTILE))
            }),
        )
        .route(
            "/bad-scope",
            get(|user: AuthenticatedUser| async move {
                user.require_scopes(["notes:read", "two words", "notes:admin"])
                    .map(|()| "ok")
            }),
        )
        .route(
            "/bad-scope-built",
            get(|user: AuthenticatedUser| async move {
                Err::<(), _>(user.insufficient_scope(["notes:é"]))
            }),
        )
        .route(
            "/gateway",
            get(|| async { "not reached" }).route_layer(middleware::from_fn(refuse_old_gateway)),
        )
        .route(
            "/set",
            get(|user: AuthenticatedUser| async move { user.client_id().to_owned() })
                .route_layer(RequireScopesLayer::from_set::<ReadWrite>()),
        )
        .layer(auth)
}

async fn refuse_old_gateway(request: Request, next: Next) -> Response {
    if request.headers().contains_key("x-old-gateway") {
        return Rejection::invalid_token_for(request.extensions())
            .with_description("No more tokens relayed by the old gateway")
            .into_response();
    }
    next.run(request).await
}

async fn call(profile: Profile, path: &str, token: &str) -> Reply {
    let authorization = bearer(token);
    send(&app(profile), request(path, &[authorization.as_bytes()])).await
}

#[tokio::test]
async fn insufficient_scope_built_by_the_application_spec() {
    let reply = call(Profile::Spec, "/publish", "writer").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.challenge(),
        params(&[
            ("error", "insufficient_scope"),
            ("error_description", "Required scope: notes:publish"),
            // Every scope the operation needs, granted ones included, so the client can step up.
            ("scope", "notes:write notes:publish"),
            ("resource_metadata", METADATA_URL),
        ])
    );
    assert_eq!(
        reply.text(),
        r#"{"error":"insufficient_scope","error_description":"Required scope: notes:publish"}"#
    );
    assert_eq!(reply.content_type(), Some("application/json"));
}

#[tokio::test]
async fn insufficient_scope_built_by_the_application_python_sdk() {
    let reply = call(Profile::PythonSdk, "/publish", "reader").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.www_authenticate(),
        Some(&*format!(
            "Bearer error=\"insufficient_scope\", error_description=\"Required scope: notes:write\", resource_metadata=\"{METADATA_URL}\""
        ))
    );
    assert_eq!(
        reply.text(),
        r#"{"error": "insufficient_scope", "error_description": "Required scope: notes:write"}"#
    );
}

#[tokio::test]
async fn an_application_description_is_filtered_in_the_header_and_whole_in_the_body() {
    for profile in [Profile::Spec, Profile::PythonSdk] {
        for (path, status, error) in [
            ("/publish-described", 403, "insufficient_scope"),
            ("/suspended-described", 401, "invalid_token"),
        ] {
            let reply = call(profile, path, "writer").await;
            assert_eq!(reply.status.as_u16(), status, "{profile:?} {path}");
            let challenge = reply.challenge();
            assert_eq!(challenge["error"], error);
            assert_eq!(
                challenge["error_description"], HOSTILE_IN_HEADER,
                "{profile:?} {path}"
            );
            let body = reply.json();
            assert_eq!(body["error"], error);
            assert_eq!(body["error_description"], HOSTILE, "{profile:?} {path}");
            if profile == Profile::PythonSdk {
                assert!(reply.text().is_ascii(), "json.dumps escapes non-ASCII");
                assert!(reply.text().contains(r#"", "error_description": ""#));
            }
        }
    }
}

#[tokio::test]
async fn invalid_token_built_by_the_application() {
    let spec = call(Profile::Spec, "/suspended", "writer").await;
    assert_eq!(spec.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        spec.challenge(),
        params(&[
            ("error", "invalid_token"),
            ("error_description", "The access token is invalid"),
            ("resource_metadata", METADATA_URL),
        ])
    );
    // PythonSdk: exactly the reference's 401.
    let python = call(Profile::PythonSdk, "/suspended", "writer").await;
    assert_eq!(python.status, StatusCode::UNAUTHORIZED);
    assert_eq!(python.text(), PY_401_BODY);
    assert_eq!(
        python.www_authenticate(),
        Some(&*format!(
            "Bearer error=\"invalid_token\", error_description=\"Authentication required\", resource_metadata=\"{METADATA_URL}\""
        ))
    );
}

#[tokio::test]
async fn a_rejection_built_from_the_request() {
    for profile in [Profile::Spec, Profile::PythonSdk] {
        let mut request = request("/gateway", &[b"Bearer writer"]);
        request
            .headers_mut()
            .insert("x-old-gateway", "1".parse().unwrap());
        let reply = send(&app(profile), request).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            reply.challenge()["error_description"],
            "No more tokens relayed by the old gateway"
        );
        let passed = call(profile, "/gateway", "writer").await;
        assert_eq!(passed.status, StatusCode::OK);
    }
    // Without the layer, the bug is named (500), not a silent 401.
    let bare = Router::new().route(
        "/",
        get(|request: Request| async move {
            Rejection::invalid_token_for(request.extensions()).into_response()
        }),
    );
    let reply = send(&bare, request("/", &[])).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn invalid_scope_names_are_a_500_never_a_shortened_challenge() {
    for profile in [Profile::Spec, Profile::PythonSdk] {
        for path in ["/bad-scope", "/bad-scope-built"] {
            let reply = call(profile, path, "reader").await;
            assert_eq!(
                reply.status,
                StatusCode::INTERNAL_SERVER_ERROR,
                "{profile:?} {path}"
            );
            assert!(reply.www_authenticate().is_none());
            assert!(reply.text().contains("not a valid RFC 6749 scope-token"));
            // The invalid name is for the log, not the client.
            assert!(!reply.text().contains("two words") && !reply.text().contains('é'));
        }
    }
}

#[tokio::test]
async fn require_scopes_layer_from_a_scope_set() {
    assert_eq!(
        call(Profile::Spec, "/set", "writer").await.status,
        StatusCode::OK
    );
    let reply = call(Profile::Spec, "/set", "reader").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.challenge()["scope"], "notes:read notes:write");
}

#[tokio::test]
async fn a_guard_outside_bearer_auth_is_reported_as_misordered() {
    let verifier = StaticVerifier::new([AccessToken::new("t", "c", ["notes:read"])]);
    // `.layer()` wraps what came before: here the guard ends up outside BearerAuth.
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(BearerAuth::new(verifier))
        .layer(RequireScopesLayer::new(["notes:read"]).unwrap());
    let reply = send(&app, request("/", &[b"Bearer t"])).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    let text = reply.text();
    assert!(text.contains("missing, or misordered"), "{text}");
    assert!(text.contains("route_layer"), "{text}");
}

#[tokio::test]
async fn the_user_and_the_rejection_tell_their_profile() {
    for profile in [Profile::Spec, Profile::PythonSdk] {
        let app = Router::new()
            .route(
                "/",
                get(|user: AuthenticatedUser| async move {
                    let rejection = user.invalid_token();
                    assert_eq!(rejection.kind(), RejectionKind::InvalidToken);
                    assert_eq!(rejection.profile(), user.profile());
                    format!("{:?}", user.profile())
                }),
            )
            .layer(
                BearerAuth::new(StaticVerifier::new([AccessToken::new("t", "c", ["a"])
                    .with_claim("iss", "https://as.example")
                    .with_subject("alice")]))
                .profile(profile),
            );
        let reply = send(&app, request("/", &[b"Bearer t"])).await;
        assert_eq!(reply.text(), format!("{profile:?}"));
    }
}

#[test]
fn issuer_and_subject_borrow_alike() {
    let token = AccessToken::new("t", "c", ["a"])
        .with_claim("iss", "https://as.example")
        .with_subject("alice");
    // Both borrow from the token: no allocation to read either.
    assert_eq!(token.issuer().as_deref(), Some("https://as.example"));
    assert_eq!(token.subject.as_deref(), Some("alice"));
    assert_eq!(
        AccessToken::new("t", "c", ["a"])
            .with_claim("iss", 7)
            .issuer()
            .as_deref(),
        Some("7")
    );
}
