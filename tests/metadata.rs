//! RFC 9728 metadata: the reference's tests (`python-sdk.md` §12 F and I), the URL cases, and
//! the router's HTTP behaviour.
#![cfg(feature = "metadata")]

mod common;

use axum::{
    Router,
    body::Body,
    http::{Method, Request, StatusCode, header},
    routing::post,
};
use axum_bearer::{
    BearerAuth, ConfigError, Profile, ProtectedResourceMetadata, RequireScopesLayer,
    metadata::metadata_url,
};
use common::{Recording, send};
use serde_json::json;

fn example() -> ProtectedResourceMetadata {
    ProtectedResourceMetadata::new(
        "https://example.com/resource",
        ["https://auth.example.com/authorization"],
    )
    .unwrap()
    .with_scopes_supported(["read", "write"])
    .unwrap()
    .with_resource_name("Example Resource")
    .with_resource_documentation("https://docs.example.com/resource")
    .unwrap()
}

fn get_path(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

// --- F. tests/server/auth/test_protected_resource.py ----------------------------------------

#[tokio::test]
async fn f40_metadata_endpoint_with_path() {
    let reply = send(
        &example().router(),
        get_path("/.well-known/oauth-protected-resource/resource"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json(),
        json!({
            "resource": "https://example.com/resource",
            "authorization_servers": ["https://auth.example.com/authorization"],
            "scopes_supported": ["read", "write"],
            "resource_name": "Example Resource",
            "resource_documentation": "https://docs.example.com/resource",
            "bearer_methods_supported": ["header"],
        })
    );
}

#[tokio::test]
async fn f41_root_path_is_404_for_a_resource_with_a_path() {
    let reply = send(
        &example().router(),
        get_path("/.well-known/oauth-protected-resource"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

/// The reference serves `https://example.com/` for a resource given as an (already normalised)
/// `AnyHttpUrl` object; this crate serves the resource exactly as configured, either way.
#[tokio::test]
async fn f42_metadata_endpoint_without_path() {
    for resource in ["https://example.com", "https://example.com/"] {
        let metadata = ProtectedResourceMetadata::new(resource, ["https://auth.example.com/"])
            .unwrap()
            .with_scopes_supported(["read"])
            .unwrap()
            .with_resource_name("Root Resource");
        let reply = send(
            &metadata.router(),
            get_path("/.well-known/oauth-protected-resource"),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.json(),
            json!({
                "resource": resource,
                "authorization_servers": ["https://auth.example.com/"],
                "scopes_supported": ["read"],
                "resource_name": "Root Resource",
                "bearer_methods_supported": ["header"],
            })
        );
    }
}

#[test]
fn f43_to_f46_metadata_url_construction() {
    for (resource, expected) in [
        (
            "https://example.com",
            "https://example.com/.well-known/oauth-protected-resource",
        ),
        (
            "https://example.com/mcp",
            "https://example.com/.well-known/oauth-protected-resource/mcp",
        ),
        (
            "https://example.com/",
            "https://example.com/.well-known/oauth-protected-resource",
        ),
        (
            "http://localhost:8001/mcp",
            "http://localhost:8001/.well-known/oauth-protected-resource/mcp",
        ),
        (
            "https://example.com/api/v1/mcp",
            "https://example.com/.well-known/oauth-protected-resource/api/v1/mcp",
        ),
        (
            "https://mcp.example.com/mcp/",
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp/",
        ),
        // RFC 9728 §3.1 keeps the query (the reference drops it: D8).
        (
            "https://api.example.com/v1?tenant=a",
            "https://api.example.com/.well-known/oauth-protected-resource/v1?tenant=a",
        ),
    ] {
        assert_eq!(metadata_url(resource).unwrap(), expected, "{resource}");
        let metadata = ProtectedResourceMetadata::new(resource, ["https://as.example"]).unwrap();
        assert_eq!(metadata.url(), expected);
    }
}

#[tokio::test]
async fn f47_f48_route_path_matches_the_metadata_url() {
    for (resource, path) in [
        (
            "https://example.com",
            "/.well-known/oauth-protected-resource",
        ),
        (
            "https://example.com/",
            "/.well-known/oauth-protected-resource",
        ),
        (
            "https://example.com/mcp",
            "/.well-known/oauth-protected-resource/mcp",
        ),
        (
            "https://example.com/v1?tenant=a",
            "/.well-known/oauth-protected-resource/v1",
        ),
    ] {
        let metadata = ProtectedResourceMetadata::new(resource, ["https://as.example"]).unwrap();
        let reply = send(&metadata.router(), get_path(path)).await;
        assert_eq!(reply.status, StatusCode::OK, "{resource}");
        assert!(metadata.url().split('?').next().unwrap().ends_with(path));
        assert_eq!(reply.json()["resource"], resource);
    }
}

// --- I. interaction tests ------------------------------------------------------------------

fn mcp_app(metadata: &ProtectedResourceMetadata, profile: Profile) -> Router {
    Router::new()
        .route(
            "/mcp",
            post(|| async { "mcp" }).route_layer(RequireScopesLayer::new(["mcp:read"]).unwrap()),
        )
        .layer(
            BearerAuth::new(Recording::with_fixtures())
                .profile(profile)
                .protected_resource(metadata)
                .unwrap(),
        )
        .merge(metadata.router())
}

#[tokio::test]
async fn i61_document_has_resource_and_an_authorization_server() {
    let metadata =
        ProtectedResourceMetadata::new("http://127.0.0.1:8000/mcp", ["http://127.0.0.1:8000"])
            .unwrap()
            .with_scopes_supported(["mcp:read"])
            .unwrap();
    let reply = send(
        &mcp_app(&metadata, Profile::PythonSdk),
        get_path("/.well-known/oauth-protected-resource/mcp"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), Some("application/json"));
    let document = reply.json();
    assert!(document.get("resource_documentation").is_none());
    assert_eq!(document["scopes_supported"], json!(["mcp:read"]));
    assert_eq!(document["resource"], "http://127.0.0.1:8000/mcp");
    assert!(
        !document["authorization_servers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    // No null members anywhere.
    assert!(document.as_object().unwrap().values().all(|v| !v.is_null()));
}

#[tokio::test]
async fn i63_the_401_points_at_the_served_document() {
    let metadata =
        ProtectedResourceMetadata::new("http://127.0.0.1:8000/mcp", ["https://auth.example.com"])
            .unwrap();
    for profile in [Profile::PythonSdk, Profile::Spec] {
        let app = mcp_app(&metadata, profile);
        let reply = send(&app, Request::post("/mcp").body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        let url = reply.challenge()["resource_metadata"].clone();
        assert_eq!(url, metadata.url());
        let path = url.strip_prefix("http://127.0.0.1:8000").unwrap();
        let document = send(&app, get_path(path)).await;
        assert_eq!(document.status, StatusCode::OK);
        assert_eq!(document.json()["resource"], "http://127.0.0.1:8000/mcp");
    }
}

#[tokio::test]
async fn resource_check_and_document_agree() {
    let metadata =
        ProtectedResourceMetadata::new(common::RESOURCE, ["https://auth.example.com"]).unwrap();
    let app = mcp_app(&metadata, Profile::Spec);
    let bearer = |token: &str| {
        Request::post("/mcp")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&app, bearer("tok-read")).await.status, StatusCode::OK);
    assert_eq!(
        send(&app, bearer("tok-other-resource")).await.status,
        StatusCode::UNAUTHORIZED
    );
}

// --- The router's HTTP behaviour ------------------------------------------------------------

#[tokio::test]
async fn served_with_cache_control_for_get_head_and_any_authorization() {
    let router = example().router();
    let path = "/.well-known/oauth-protected-resource/resource";
    for authorization in [
        None,
        Some("Bearer junk"),
        Some("Basic x"),
        Some("Bearer\tbroken"),
    ] {
        for method in [Method::GET, Method::HEAD] {
            let mut request = Request::builder().method(method.clone()).uri(path);
            if let Some(value) = authorization {
                request = request.header(header::AUTHORIZATION, value);
            }
            let reply = send(&router, request.body(Body::empty()).unwrap()).await;
            assert_eq!(reply.status, StatusCode::OK, "{method} {authorization:?}");
            assert_eq!(reply.content_type(), Some("application/json"));
            assert_eq!(reply.headers[header::CACHE_CONTROL], "public, max-age=3600");
            if method == Method::GET {
                assert_eq!(reply.body, example().to_json());
            } else {
                assert!(reply.body.is_empty());
            }
        }
    }
    let reply = send(&router, Request::post(path).body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn cors_as_the_reference() {
    let router = example().router();
    let path = "/.well-known/oauth-protected-resource/resource";
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri(path)
        .header(header::ORIGIN, "https://inspector.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "mcp-protocol-version",
        )
        .body(Body::empty())
        .unwrap();
    let reply = send(&router, preflight).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let methods = reply.headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap();
    assert!(
        methods.contains("GET") && methods.contains("OPTIONS"),
        "{methods}"
    );
    assert_eq!(reply.headers[header::ACCESS_CONTROL_MAX_AGE], "600");
    let headers = reply.headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap();
    assert!(headers.contains("mcp-protocol-version"), "{headers}");

    let simple = Request::get(path)
        .header(header::ORIGIN, "https://inspector.example")
        .body(Body::empty())
        .unwrap();
    let reply = send(&router, simple).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[test]
fn documents_are_validated_when_built() {
    let new = |resource: &str, servers: &[&str]| {
        ProtectedResourceMetadata::new(resource, servers.iter().copied())
    };
    assert_eq!(
        new("https://x/mcp", &[]).unwrap_err(),
        ConfigError::NoAuthorizationServer
    );
    assert!(new("https://x/mcp#f", &["https://as"]).is_err());
    assert!(new("x/mcp", &["https://as"]).is_err());
    assert!(
        new("http://mcp.example.com/mcp", &["https://as"]).is_err(),
        "https unless loopback"
    );
    assert!(new("http://localhost:3000/mcp", &["http://127.0.0.1:9000"]).is_ok());
    assert!(new("http://[::1]:3000/mcp", &["https://as"]).is_ok());
    assert!(new("https://x/mcp", &["http://as.example"]).is_err());
    let ok = new("https://x/mcp", &["https://as"]).unwrap();
    assert!(
        ok.clone()
            .with_resource_signing_alg_values_supported(["RS256", "none"])
            .is_err()
    );
    assert!(
        ok.clone()
            .with_dpop_signing_alg_values_supported(["NONE"])
            .is_err()
    );
    assert!(ok.clone().with_scopes_supported(["bad scope"]).is_err());
    assert!(ok.clone().with_jwks_uri("http://x/jwks").is_err());
    // Every member serialises in RFC order, empty ones left out, booleans only when true.
    let full = ok
        .with_jwks_uri("https://x/jwks")
        .unwrap()
        .with_resource_signing_alg_values_supported(["RS256"])
        .unwrap()
        .with_resource_policy_uri("https://x/policy")
        .unwrap()
        .with_resource_tos_uri("https://x/tos")
        .unwrap()
        .with_tls_client_certificate_bound_access_tokens(true)
        .with_authorization_details_types_supported(["payment"])
        .with_dpop_signing_alg_values_supported(["ES256"])
        .unwrap()
        .with_dpop_bound_access_tokens_required(true)
        .with_bearer_methods_supported(Vec::<String>::new());
    assert_eq!(
        full.to_json(),
        r#"{"resource":"https://x/mcp","authorization_servers":["https://as"],"jwks_uri":"https://x/jwks","bearer_methods_supported":[],"resource_signing_alg_values_supported":["RS256"],"resource_policy_uri":"https://x/policy","resource_tos_uri":"https://x/tos","tls_client_certificate_bound_access_tokens":true,"authorization_details_types_supported":["payment"],"dpop_signing_alg_values_supported":["ES256"],"dpop_bound_access_tokens_required":true}"#
    );
    let parsed: ProtectedResourceMetadata = serde_json::from_str(&full.to_json()).unwrap();
    assert_eq!(parsed, full);
    // A parsed document is checked like a built one: it could not be served otherwise.
    for bad in [
        r#"{"resource":"https://h/:mcp","authorization_servers":["https://as"]}"#,
        r#"{"resource":"https://h/mcp","authorization_servers":[]}"#,
        r#"{"resource":"http://h/mcp","authorization_servers":["https://as"]}"#,
        r#"{"resource":"https://h/mcp","authorization_servers":["https://as"],"dpop_signing_alg_values_supported":["none"]}"#,
    ] {
        assert!(
            serde_json::from_str::<ProtectedResourceMetadata>(bad).is_err(),
            "{bad}"
        );
    }
}

/// RFC 9728 §2's DPoP members: serialised only when set, read back, and validated both ways
/// (RFC 9449 §4.2: a proof is never signed with `none` or a MAC).
#[test]
fn dpop_members_serialise_deserialise_and_are_validated() {
    let base = ProtectedResourceMetadata::new("https://x/mcp", ["https://as"]).unwrap();
    assert!(base.dpop_signing_alg_values_supported().is_empty());
    assert!(!base.dpop_bound_access_tokens_required());
    assert!(!base.to_json().contains("dpop"), "absent by default");

    let dpop = base
        .clone()
        .with_dpop_signing_alg_values_supported(["ES256", "EdDSA", "PS256", "RS256", "Ed25519"])
        .unwrap()
        .with_dpop_bound_access_tokens_required(true);
    assert_eq!(
        dpop.dpop_signing_alg_values_supported(),
        ["ES256", "EdDSA", "PS256", "RS256", "Ed25519"]
    );
    assert!(dpop.dpop_bound_access_tokens_required());
    let json: serde_json::Value = serde_json::from_str(&dpop.to_json()).unwrap();
    assert_eq!(
        json["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "PS256", "RS256", "Ed25519"])
    );
    assert_eq!(json["dpop_bound_access_tokens_required"], json!(true));
    let parsed: ProtectedResourceMetadata = serde_json::from_str(&dpop.to_json()).unwrap();
    assert_eq!(parsed, dpop);
    // `false` and `[]` are the defaults: left out, and read back as such.
    let off = dpop
        .clone()
        .with_dpop_signing_alg_values_supported(Vec::<String>::new())
        .unwrap()
        .with_dpop_bound_access_tokens_required(false);
    assert_eq!(off, base);
    let explicit: ProtectedResourceMetadata = serde_json::from_str(
        r#"{"resource":"https://x/mcp","authorization_servers":["https://as"],"dpop_signing_alg_values_supported":[],"dpop_bound_access_tokens_required":false}"#,
    )
    .unwrap();
    assert!(explicit.dpop_signing_alg_values_supported().is_empty());
    assert!(!explicit.dpop_bound_access_tokens_required());
    assert!(!explicit.to_json().contains("dpop"));

    for bad in [
        "none", "NONE", "HS256", "HS384", "HS512", "hs256", "es256", "", "ES256 ", "RSA-OAEP",
        "dir", "A128KW", "unknown",
    ] {
        assert!(
            matches!(
                base.clone()
                    .with_dpop_signing_alg_values_supported(["ES256", bad]),
                Err(ConfigError::Algorithm(_))
            ),
            "{bad:?}"
        );
        let document = json!({
            "resource": "https://x/mcp",
            "authorization_servers": ["https://as"],
            "dpop_signing_alg_values_supported": [bad],
        });
        assert!(
            serde_json::from_value::<ProtectedResourceMetadata>(document).is_err(),
            "{bad:?}"
        );
    }
    assert!(
        base.clone()
            .with_dpop_signing_alg_values_supported(["ES256", "ES256"])
            .is_err(),
        "listed twice"
    );
    // Members of the wrong type, or null, are refused rather than ignored.
    for bad in [
        json!({"dpop_signing_alg_values_supported": "ES256"}),
        json!({"dpop_signing_alg_values_supported": null}),
        json!({"dpop_signing_alg_values_supported": [5]}),
        json!({"dpop_signing_alg_values_supported": ["ES256", "ES256"]}),
        json!({"dpop_bound_access_tokens_required": "true"}),
        json!({"dpop_bound_access_tokens_required": 1}),
        json!({"dpop_bound_access_tokens_required": null}),
    ] {
        let mut document =
            json!({"resource": "https://x/mcp", "authorization_servers": ["https://as"]});
        for (name, value) in bad.as_object().unwrap() {
            document[name] = value.clone();
        }
        assert!(
            serde_json::from_value::<ProtectedResourceMetadata>(document).is_err(),
            "{bad}"
        );
    }
}
