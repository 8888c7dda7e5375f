//! Arbitrary `Authorization` field lines through a whole `Router` with the layer, in both
//! profiles. The first byte picks the route; the rest, split on `\n`, are the field lines (those
//! `HeaderValue` refuses are skipped: they never reach a router).
//!
//! Beyond `check_reply` (status in {200, 400, 401, 403, 503}, one valid challenge exactly on
//! 400/401/403, JSON bodies agreeing with the challenge on `error`):
//! - a 200 on a protected route means the parser found a bearer token the verifier knows and
//!   that holds the route's scopes; a 503 means the back end was asked (a `down…` token); a 400
//!   means `Spec` found the request malformed;
//! - nothing containing the marker `s3cr3t` ever comes back.
#![no_main]

use std::sync::OnceLock;

use axum::{
    Router,
    http::{HeaderValue, Request, StatusCode, header::AUTHORIZATION},
    routing::{any, get},
};
use axum_bearer::{
    __fuzz::{Credentials, parse_credentials},
    AuthenticatedUser, BearerAuth, DEFAULT_MAX_TOKEN_LEN, Profile, Rejection, RequireScopesLayer,
};
use axum_bearer_fuzz::{block_on, check_reply, common, fixture_verifier};
use libfuzzer_sys::fuzz_target;

const MARKER: &[u8] = b"s3cr3t";

/// (path, scopes the route requires; `None` for a route that needs no token).
const ROUTES: [(&str, Option<&[&str]>); 7] = [
    ("/mcp", Some(&["mcp:read"])),
    ("/rw", Some(&["mcp:read", "mcp:write"])),
    ("/plain", Some(&["mcp:read"])),
    ("/user", Some(&[])),
    ("/mid", Some(&["mcp:write"])),
    ("/optional", None),
    ("/public", None),
];

fn app(profile: Profile) -> Router {
    let auth = BearerAuth::new(fixture_verifier())
        .profile(profile)
        .resource_metadata_url(common::METADATA_URL)
        .unwrap()
        .resource_server_url(common::RESOURCE)
        .unwrap();
    let plain = Router::new()
        .route("/", any(|| async { "ok" }))
        .route_layer(RequireScopesLayer::new(["mcp:read"]).unwrap())
        .layer(
            BearerAuth::new(fixture_verifier())
                .profile(profile)
                .resource_server_url(common::RESOURCE)
                .unwrap(),
        );
    Router::new()
        .route(
            "/mcp",
            any(|| async { "ok" }).layer(RequireScopesLayer::new(["mcp:read"]).unwrap()),
        )
        .route(
            "/rw",
            any(|| async { "ok" })
                .layer(RequireScopesLayer::new(["mcp:read", "mcp:write"]).unwrap()),
        )
        .route("/user", get(|_: AuthenticatedUser| async { "ok" }))
        .route(
            "/mid",
            get(|user: AuthenticatedUser| async move {
                user.require_scopes(["mcp:write"])?;
                Ok::<_, Rejection>("ok")
            }),
        )
        .route(
            "/optional",
            get(|user: Option<AuthenticatedUser>| async move {
                if user.is_some() { "ok" } else { "anonymous" }
            }),
        )
        .route("/public", get(|| async { "ok" }))
        .layer(auth)
        .nest("/plain", plain)
}

fn apps() -> &'static [(Profile, Router); 2] {
    static APPS: OnceLock<[(Profile, Router); 2]> = OnceLock::new();
    APPS.get_or_init(|| [Profile::PythonSdk, Profile::Spec].map(|profile| (profile, app(profile))))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (path, scopes) = ROUTES[usize::from(selector) % ROUTES.len()];
    let values: Vec<HeaderValue> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(|&b| b == b'\n')
            .filter_map(|line| HeaderValue::from_bytes(line).ok())
            .collect()
    };
    let fixtures = common::fixtures();
    for (profile, app) in apps() {
        let profile = *profile;
        let mut request = Request::get(path).body(axum::body::Body::empty()).unwrap();
        for value in &values {
            request.headers_mut().append(AUTHORIZATION, value.clone());
        }
        let parsed = parse_credentials(request.headers(), profile, DEFAULT_MAX_TOKEN_LEN);
        let reply = block_on(common::send(app, request));
        check_reply(&reply, profile);

        let context = format!("{profile:?} {path} {parsed:?} → {}", reply.status);
        for (name, value) in &reply.headers {
            assert!(
                !contains(value.as_bytes(), MARKER),
                "{context}: header {name}"
            );
        }
        assert!(!contains(&reply.body, MARKER), "{context}: body");

        match reply.status {
            StatusCode::OK => {
                let Some(scopes) = scopes else { continue };
                let Credentials::Bearer(token) = &parsed else {
                    panic!("{context}: let in without a bearer token");
                };
                if token.contains('.') {
                    continue; // A JWT signed with the fuzzing secret: the fuzzer cannot forge one.
                }
                let known = fixtures
                    .iter()
                    .find(|fixture| fixture.token == *token)
                    .unwrap_or_else(|| panic!("{context}: let in with an unknown token"));
                for scope in scopes {
                    assert!(known.has_scope(scope), "{context}: let in without {scope}");
                }
                assert!(
                    known.expires_at.is_none_or(|exp| exp > common::now()),
                    "{context}: let in with an expired token"
                );
            }
            StatusCode::SERVICE_UNAVAILABLE => assert!(
                matches!(&parsed, Credentials::Bearer(token) if token.starts_with("down")),
                "{context}: 503 without asking the back end"
            ),
            StatusCode::BAD_REQUEST => assert!(
                matches!(parsed, Credentials::Malformed(_)),
                "{context}: 400 for a well-formed request"
            ),
            _ => {}
        }
    }
});

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
