//! A token issued for several resources (an `aud` array) serves each of them, whichever order
//! the audiences come in, through JWT and introspection alike (issue 10, item 5).
#![cfg(feature = "testing")]

mod common;

use axum::{Router, routing::get};
use axum_bearer::{
    AuthenticatedUser, BearerAuth, IntrospectionVerifier, JwtVerifier, Profile, TokenVerifier,
    testing::TestIssuer,
};
use common::{bearer, get as request, send};
use serde_json::json;

const A: &str = "https://a.example/mcp";
const B: &str = "https://b.example/mcp";
const C: &str = "https://c.example/mcp";

/// `/a` is resource A and `/b` resource B, both behind the same verifier.
fn app(verifier: impl TokenVerifier + Clone) -> Router {
    let route = |resource: &str| {
        let auth = BearerAuth::new(verifier.clone())
            .profile(Profile::Spec)
            .resource_server_url(resource)
            .unwrap();
        Router::new()
            .route(
                "/",
                get(|user: AuthenticatedUser| async move { user.client_id().to_owned() }),
            )
            .layer(auth)
    };
    Router::new().nest("/a", route(A)).nest("/b", route(B))
}

async fn status(app: &Router, path: &str, token: &str) -> u16 {
    let authorization = bearer(token);
    send(app, request(path, &[authorization.as_bytes()]))
        .await
        .status
        .as_u16()
}

#[tokio::test]
async fn jwt_with_several_audiences_serves_each() {
    let issuer = TestIssuer::start().await.unwrap();
    let verifier = std::sync::Arc::new(
        JwtVerifier::builder()
            .issuer(issuer.issuer())
            .audience(A)
            .audience(B)
            .jwks_url(issuer.jwks_url())
            .unwrap()
            .build()
            .unwrap(),
    );
    let app = app(verifier);
    for auds in [json!([A, B]), json!([B, A]), json!([C, B, A])] {
        let mut claims = issuer.claims_for(A);
        claims["aud"] = auds.clone();
        let token = issuer.mint(claims);
        assert_eq!(status(&app, "/a", &token).await, 200, "aud {auds} at A");
        assert_eq!(status(&app, "/b", &token).await, 200, "aud {auds} at B");
    }
    // A token for A alone is still refused at B, and one for C at both.
    let only_a = issuer.mint(issuer.claims_for(A));
    assert_eq!(status(&app, "/a", &only_a).await, 200);
    assert_eq!(status(&app, "/b", &only_a).await, 401);
    let mut claims = issuer.claims_for(A);
    claims["aud"] = json!([C]);
    let only_c = issuer.mint(claims);
    assert_eq!(status(&app, "/a", &only_c).await, 401);
}

#[tokio::test]
async fn introspection_with_several_audiences_serves_each() {
    let issuer = TestIssuer::start().await.unwrap();
    let verifier = std::sync::Arc::new(
        IntrospectionVerifier::builder(issuer.introspection_url())
            .unwrap()
            .no_client_authentication()
            .audience(A)
            .audience(B)
            .build()
            .unwrap(),
    );
    let app = app(verifier);
    for (token, auds) in [
        ("ab", json!([A, B])),
        ("ba", json!([B, A])),
        ("cba", json!([C, B, A])),
    ] {
        let mut response = issuer.introspection_for(A);
        response["aud"] = auds.clone();
        issuer.register_token(token, response);
        assert_eq!(status(&app, "/a", token).await, 200, "aud {auds} at A");
        assert_eq!(status(&app, "/b", token).await, 200, "aud {auds} at B");
    }
    issuer.register_token("a", issuer.introspection_for(A));
    assert_eq!(status(&app, "/a", "a").await, 200);
    assert_eq!(status(&app, "/b", "a").await, 401);
}

mod log_capture;

/// The newcomer's case (README "Use it" before it was fixed): a token without any resource at a
/// server that requires its own is refused, and DEBUG says why in words.
#[tokio::test]
async fn a_token_naming_no_resource_is_logged_as_such() {
    use tracing_subscriber::util::SubscriberInitExt;
    let logs = log_capture::LogBuffer::default();
    let _guard = logs.subscriber().set_default();
    let verifier = axum_bearer::StaticVerifier::new([
        axum_bearer::AccessToken::new("no-resource", "dev-client", ["notes:read"]),
        axum_bearer::AccessToken::new("elsewhere", "dev-client", ["notes:read"]).with_resource(C),
    ]);
    let app = Router::new()
        .route(
            "/",
            get(|user: AuthenticatedUser| async move { user.client_id().to_owned() }),
        )
        .layer(BearerAuth::new(verifier).resource_server_url(A).unwrap());
    assert_eq!(status(&app, "/", "no-resource").await, 401);
    assert!(
        logs.text().contains("the token names no resource"),
        "{}",
        logs.text()
    );
    logs.clear();
    assert_eq!(status(&app, "/", "elsewhere").await, 401);
    assert!(
        logs.text().contains("issued for another resource"),
        "{}",
        logs.text()
    );
    assert!(!logs.text().contains("the token names no resource"));
}
