//! `BearerAuth` wrapping the whole router (the placement `BENCHMARKS.md` recommends for speed)
//! behaves as `Router::layer`: same statuses, same challenge, public routes stay public.

use axum::{Router, body::Body, routing::get};
use axum_bearer::{AccessToken, AuthenticatedUser, BearerAuth, StaticVerifier};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::{Layer, ServiceExt};

async fn whoami(user: AuthenticatedUser) -> String {
    user.client_id().to_owned()
}

fn auth() -> BearerAuth {
    BearerAuth::new(StaticVerifier::new([AccessToken::new(
        "dev-token",
        "dev-client",
        ["notes:read"],
    )]))
    .resource_metadata_url("https://rs.example/.well-known/oauth-protected-resource")
    .expect("metadata URL")
}

fn routes() -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .route("/public", get(|| async { "public" }))
}

async fn call<S>(
    service: S,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, Option<String>, String)
where
    S: tower::Service<Request<Body>, Response = axum::response::Response> + Clone,
    S::Error: std::fmt::Debug,
{
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = service
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|value| value.to_str().expect("ASCII challenge").to_owned());
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        challenge,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn wrapping_the_router_answers_as_router_layer_does() {
    let wrapped = auth().layer(routes());
    let layered = routes().layer(auth());
    for (path, token) in [
        ("/whoami", Some("dev-token")),
        ("/whoami", Some("wrong")),
        ("/whoami", None),
        ("/public", None),
        ("/missing", Some("dev-token")),
    ] {
        let outer = call(wrapped.clone(), path, token).await;
        let inner = call(layered.clone(), path, token).await;
        assert_eq!(outer, inner, "{path} {token:?}");
    }
    let (status, challenge, body) = call(wrapped.clone(), "/whoami", Some("dev-token")).await;
    assert_eq!(
        (status, challenge, body.as_str()),
        (StatusCode::OK, None, "dev-client")
    );
    let (status, challenge, _) = call(wrapped, "/whoami", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge.as_deref(),
        Some(
            r#"Bearer error="invalid_token", error_description="Authentication required", resource_metadata="https://rs.example/.well-known/oauth-protected-resource""#
        )
    );
}
