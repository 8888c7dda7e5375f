//! Property tests (proptest) through the real `Router`, in both profiles:
//!
//! - for any `Authorization` field lines, the status is one of 200/400/401/403/503 and nothing
//!   panics (400 only in `Spec`);
//! - every `WWW-Authenticate` parses under RFC 9110 §11, each parameter once, values within
//!   RFC 6750 §3's character sets (`common::parse_bearer_challenge`), and there is exactly one on
//!   every 400/401/403 and none otherwise;
//! - the challenge and the JSON body agree on `error` (both absent in `Spec` when there is none);
//! - scope lists round-trip: `RequireScopesLayer` with any valid scope-tokens gives a `Spec`
//!   403 (and 401) whose `scope` lists exactly them, in order, and a `PythonSdk` 403 naming the
//!   first one the token lacks; a configured realm and metadata URL come back verbatim.

mod common;

use axum::{
    Router,
    body::Body,
    http::{HeaderValue, Request, StatusCode, header::AUTHORIZATION},
    routing::get,
};
use axum_bearer::{AccessToken, BearerAuth, Profile, RequireScopesLayer, StaticVerifier};
use common::{Recording, Reply};
use proptest::prelude::*;

const ROUTES: [&str; 3] = ["/mcp", "/rw", "/plain"];
const PROFILES: [Profile; 2] = [Profile::PythonSdk, Profile::Spec];

/// Tokens the fixtures know, and their neighbours.
const TOKENS: &[&str] = &[
    "tok-read",
    "tok-rw",
    "tok-write",
    "tok-none",
    "tok-expired",
    "tok-noexp",
    "tok-other-resource",
    "tok-no-resource",
    "tok-Upper",
    "abc==",
    "abc=",
    "valid_token",
    "expired_token",
];

/// Bytes a `HeaderValue` can hold: HTAB, visible ASCII and space, obs-text.
fn header_byte() -> impl Strategy<Value = u8> {
    prop_oneof![6 => 0x20u8..=0x7E, 1 => Just(b'\t'), 1 => 0x80u8..=0xFF]
}

fn junk(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(header_byte(), 0..max)
}

fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::sample::select(TOKENS).prop_map(|t| t.as_bytes().to_vec()),
        2 => "[A-Za-z0-9._~+/-]{1,24}={0,3}".prop_map(String::into_bytes),
        2 => junk(40),
        1 => "down[a-z0-9]{0,8}".prop_map(String::into_bytes),
    ]
}

/// One `Authorization` field line: junk, or scheme + separator + token with optional padding.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    let scheme = prop_oneof![
        4 => Just("Bearer".to_owned()),
        1 => Just("bearer".to_owned()),
        1 => Just("BEARER".to_owned()),
        1 => Just("Basic".to_owned()),
        1 => Just("DPoP".to_owned()),
        1 => Just(String::new()),
        1 => "[A-Za-z]{1,8}",
    ];
    let separator = prop::sample::select(&[" ", "  ", "\t", "", " \t", ",", "="][..]);
    let padding = prop::sample::select(&["", " ", "\t", "  "][..]);
    prop_oneof![
        1 => junk(64),
        3 => prop::sample::select(TOKENS).prop_map(|token| format!("Bearer {token}").into_bytes()),
        4 => (padding.clone(), scheme, separator, token(), padding).prop_map(
            |(lead, scheme, separator, token, trail)| {
                [lead.as_bytes(), scheme.as_bytes(), separator.as_bytes(), &token, trail.as_bytes()]
                    .concat()
            }
        ),
    ]
}

/// Mostly one field line, sometimes none or several.
fn headers() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop_oneof![
        3 => header_value().prop_map(|value| vec![value]),
        1 => prop::collection::vec(header_value(), 0..4),
    ]
}

/// RFC 6749 §3.3 scope-tokens.
fn scope_token() -> impl Strategy<Value = String> {
    "[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,16}"
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn request(path: &str, values: &[Vec<u8>]) -> Request<Body> {
    let mut request = Request::get(path).body(Body::empty()).unwrap();
    for value in values {
        let value = HeaderValue::from_bytes(value).expect("the strategies make valid values");
        request.headers_mut().append(AUTHORIZATION, value);
    }
    request
}

/// Sends `values` to `route` of the reference layout in `profile`, the back end up or down.
fn exchange(profile: Profile, route: &str, values: &[Vec<u8>], down: bool) -> Reply {
    let verifier = Recording::with_fixtures();
    verifier.set_unavailable(down);
    let app = common::reference_app(profile, verifier);
    runtime().block_on(common::send(&app, request(route, values)))
}

fn body_error(reply: &Reply) -> Option<String> {
    let body = reply.json();
    assert!(body.is_object(), "body {body}");
    body.get("error")
        .map(|error| error.as_str().expect("error is a string").to_owned())
}

proptest! {
    #[test]
    fn any_header_bytes_get_an_allowed_status(
        values in headers(),
        route in prop::sample::select(&ROUTES[..]),
        down in prop::bool::weighted(0.2),
    ) {
        for profile in PROFILES {
            let reply = exchange(profile, route, &values, down);
            let status = reply.status.as_u16();
            prop_assert!([200, 400, 401, 403, 503].contains(&status), "{profile:?}: {status}");
            prop_assert!(profile == Profile::Spec || status != 400, "400 in PythonSdk");
            if status != 200 {
                prop_assert_eq!(reply.content_type(), Some("application/json"));
                body_error(&reply);
            }
        }
    }

    #[test]
    fn every_challenge_parses_under_rfc_9110(
        values in headers(),
        route in prop::sample::select(&ROUTES[..]),
        down in prop::bool::weighted(0.2),
    ) {
        for profile in PROFILES {
            let reply = exchange(profile, route, &values, down);
            let refused = matches!(reply.status.as_u16(), 400 | 401 | 403);
            match reply.www_authenticate() {
                Some(value) => {
                    prop_assert!(refused, "{} with a challenge", reply.status);
                    let params = common::parse_bearer_challenge(value)
                        .map_err(|e| TestCaseError::fail(format!("{value:?}: {e}")))?;
                    prop_assert!(!params.is_empty(), "bare challenge");
                }
                None => prop_assert!(!refused, "{} without a challenge", reply.status),
            }
        }
    }

    #[test]
    fn challenge_and_body_agree_on_error(
        values in headers(),
        route in prop::sample::select(&ROUTES[..]),
        down in prop::bool::weighted(0.2),
    ) {
        for profile in PROFILES {
            let reply = exchange(profile, route, &values, down);
            if reply.status == StatusCode::OK || reply.www_authenticate().is_none() {
                continue;
            }
            let challenge = reply.challenge().get("error").cloned();
            prop_assert_eq!(&challenge, &body_error(&reply), "{:?}", profile);
            if profile == Profile::PythonSdk {
                prop_assert!(challenge.is_some());
            }
        }
    }

    #[test]
    fn scope_lists_round_trip(
        scopes in prop::collection::vec(scope_token(), 1..8),
        granted in prop::collection::vec(any::<bool>(), 8),
        realm in "[ !\\x23-\\x5B\\x5D-\\x7E]{0,24}",
        path in "[A-Za-z0-9/._~-]{0,24}",
    ) {
        let held: Vec<&String> = scopes.iter().zip(&granted).filter(|(_, g)| **g).map(|(s, _)| s).collect();
        let first_missing = scopes.iter().find(|scope| !held.contains(scope));
        let metadata = format!("https://rs.example/.well-known/oauth-protected-resource/{path}");
        let rt = runtime();
        for profile in PROFILES {
            let verifier = StaticVerifier::new([AccessToken::new("tok", "client", held.iter().map(|s| s.as_str()))]);
            let auth = BearerAuth::new(verifier)
                .profile(profile)
                .realm(&realm)
                .unwrap()
                .resource_metadata_url(&metadata)
                .unwrap();
            let app = Router::new()
                .route("/", get(|| async { "ok" }))
                .route_layer(RequireScopesLayer::new(&scopes).unwrap())
                .layer(auth);

            let reply = rt.block_on(common::send(&app, request("/", &[b"Bearer tok".to_vec()])));
            let Some(missing) = first_missing else {
                prop_assert_eq!(reply.status, StatusCode::OK);
                continue;
            };
            prop_assert_eq!(reply.status, StatusCode::FORBIDDEN);
            let params = reply.challenge();
            prop_assert_eq!(params.get("resource_metadata"), Some(&metadata));
            prop_assert_eq!(params.get("error").map(String::as_str), Some("insufficient_scope"));
            let description = format!("Required scope: {missing}");
            if profile == Profile::Spec {
                prop_assert_eq!(params.get("scope"), Some(&scopes.join(" ")));
                prop_assert_eq!(params.get("realm"), Some(&realm));
            } else {
                prop_assert_eq!(params.get("error_description"), Some(&description));
                prop_assert!(!params.contains_key("scope"));
                // Scope-tokens hold neither `"` nor `\`: json.dumps writes them as they are.
                let body = format!(
                    "{{\"error\": \"insufficient_scope\", \"error_description\": \"{description}\"}}"
                );
                prop_assert_eq!(reply.text(), body.as_str());
            }

            // The 401 of a request without credentials lists the same scopes in `Spec`.
            let reply = rt.block_on(common::send(&app, request("/", &[])));
            prop_assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
            if profile == Profile::Spec {
                prop_assert_eq!(reply.challenge().get("scope").cloned(), Some(scopes.join(" ")));
            }
        }
    }
}
