#![cfg(feature = "metadata")]
//! Inputs the fuzz targets (`fuzz/`) found, kept as regression tests.
//!
//! `metadata_url`: `ProtectedResourceMetadata::new` accepted a resource whose path has a segment
//! starting with `:` or `*`; merging its `router()` into an application then panicked, because
//! axum 0.8 refuses such route paths (its 0.7-syntax check). It also accepted a resource whose
//! well-known URL keeps a `\` in the query, which `BearerAuth::protected_resource` then refused.
//! `new` now refuses both, so a document it accepts can always be announced and served.

mod common;

use axum::{Router, http::StatusCode};
use axum_bearer::{BearerAuth, ConfigError, ProtectedResourceMetadata, StaticVerifier};

const SERVER: &str = "https://as.example";

/// A document `new` accepts is announced by `protected_resource` and served at its URL by its
/// router merged into an application router.
async fn assert_servable(resource: &str) {
    let metadata = ProtectedResourceMetadata::new(resource, [SERVER])
        .unwrap_or_else(|error| panic!("{resource:?} refused: {error}"));
    BearerAuth::new(StaticVerifier::default())
        .protected_resource(&metadata)
        .unwrap_or_else(|error| panic!("{resource:?}: protected_resource refused it: {error}"));
    let app: Router = Router::new()
        .route("/mcp", axum::routing::get(|| async { "app" }))
        .merge(metadata.router());
    let url = url::Url::parse(&metadata.url()).unwrap();
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let reply = common::send(&app, common::get(&target, &[])).await;
    assert_eq!(reply.status, StatusCode::OK, "{resource:?} → GET {target}");
    assert_eq!(reply.body, metadata.to_json().as_bytes());
}

fn assert_refused(resource: &str) {
    match ProtectedResourceMetadata::new(resource, [SERVER]) {
        Err(ConfigError::InvalidUrl {
            what: "resource", ..
        }) => {}
        other => panic!("{resource:?}: {other:?}"),
    }
}

#[tokio::test]
async fn crash_colon_segment_from_the_fuzzer() {
    // crash-d45d58d7f66a0ff8fe9a9b8499be9a7d4d9e097a, the bytes read as the target reads them.
    let input = b"HTTPS://Exe.CaS/xeE/:.C0p3m0X:443Nmc\xabp/\nhttps://as:0";
    let text = String::from_utf8_lossy(input);
    let (resource, server) = text.split_once('\n').unwrap();
    assert!(ProtectedResourceMetadata::new(resource, [server]).is_err());
    assert_refused(resource);
}

#[tokio::test]
async fn segments_starting_with_colon_or_star_are_refused() {
    for resource in [
        "https://h.example/:mcp",
        "https://h.example/*",
        "https://h.example/v1/*rest",
        "https://h.example/v1/:tenant/mcp",
        "http://127.0.0.1:8000/:x",
    ] {
        assert_refused(resource);
    }
    // Percent-encoded, or not at the start of a segment, they are literal and served.
    for resource in [
        "https://h.example/%3Amcp",
        "https://h.example/%2A",
        "https://h.example/a:b",
        "https://h.example/a*b/c",
        "https://h.example/mcp?x=:y",
        "https://h.example/{x}",
    ] {
        assert_servable(resource).await;
    }
}

#[tokio::test]
async fn a_metadata_url_a_challenge_cannot_carry_is_refused() {
    assert_refused("https://h.example/a?b=\\");
    assert_refused("https://h.example/a?b=\\\"");
    assert_servable("https://h.example/a?b=%5C").await;
    // The WHATWG parser turns `\` in an http(s) path into `/`: that one is servable.
    assert_servable("https://h.example/a\\b").await;
}

#[cfg(all(feature = "jwt", feature = "fuzzing"))]
mod jwt_support;

/// `jwt_claims` crash-99dd8448a0862599ce15f25e89b4d0665799cc66 (the payload after the flags
/// byte): duplicated `aud`, `client_id`, `scope` and `exp`, the first `scope` an array. The
/// target expected the depth scan to agree with the depth of `serde_json`'s `Value`, which keeps
/// only the last of duplicated names; the scan measures the text, every member counted, as a
/// bound must. The harness was wrong, not the crate; the token itself is refused for its
/// duplicated claims.
#[cfg(all(feature = "jwt", feature = "fuzzing"))]
#[tokio::test]
async fn duplicated_claims_from_the_fuzzer() {
    use axum_bearer::{__fuzz::nesting_exceeds_depth, TokenVerifier, VerifyError};

    let payload = r#"{"iss":"https://as.example","aud":"HTTPS://UUUUUUUUUUUUUUUUUUUUUUUUUUUUUple/UUUURS.e+xamle","aud":"https/://rs.exampe","client_id":"aip","scope":["a","b"],"exp":-80000030000000,"jt2i":"ple/mcp/","sub":"alice","client_id":"app","scope":"ocp:read mcp:write","exp":3600000600,"iat":1800000000,"jti":"1"}"#;
    // The text nests two levels (the array `scope`), the last-wins value only one.
    assert!(nesting_exceeds_depth(payload.as_bytes(), 1));
    assert!(!nesting_exceeds_depth(payload.as_bytes(), 2));
    let value: serde_json::Value = serde_json::from_str(payload).unwrap();
    assert!(value["scope"].is_string());

    let token = jwt_support::sign(payload);
    let refused = jwt_support::verifier().verify(&token).await.unwrap_err();
    assert_eq!(
        refused,
        VerifyError::invalid("JWT claims are not a JSON object with unique names")
    );
    // Without the duplicates (and with this verifier's audience), the same claims pass.
    let unique = format!(
        r#"{{"iss":"https://as.example","aud":"{}","client_id":"app","scope":"ocp:read mcp:write","exp":{},"sub":"alice","iat":1800000000,"jti":"1"}}"#,
        jwt_support::AUDIENCE,
        jwt_support::now() + 600
    );
    let accepted = jwt_support::verifier()
        .verify(&jwt_support::sign(&unique))
        .await
        .unwrap();
    assert_eq!(accepted.scopes, ["ocp:read", "mcp:write"]);
}

/// The differences between `JwtVerifier` and `jsonwebtoken::decode` (same key, equivalent
/// `Validation`) that SECURITY.md documents and the `jwt_differential` fuzz target allows: the
/// two classes where the crate accepts what `jsonwebtoken` refuses, and some where it is
/// stricter. A `jsonwebtoken` upgrade that changes one of them fails here.
#[cfg(all(feature = "jwt", feature = "fuzzing"))]
#[test]
fn differences_with_jsonwebtoken_are_the_documented_ones() {
    use axum_bearer::{
        TokenVerifier,
        jsonwebtoken::{Algorithm, DecodingKey, Validation, decode},
    };
    use serde_json::{Map, Value};

    let verifier = jwt_support::verifier();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[jwt_support::ISSUER]);
    validation.set_audience(&[jwt_support::AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = 60;
    let key = DecodingKey::from_secret(jwt_support::SECRET).unwrap();
    // (ours, jsonwebtoken's) verdicts: accepted or not.
    let verdicts = |header: &str, payload: &str| {
        let token = jwt_support::sign_raw(header, payload);
        let ours = verifier.verify_ready(&token).expect("static keys").is_ok();
        let theirs = decode::<Map<String, Value>>(&token, &key, &validation).is_ok();
        (ours, theirs)
    };
    let header = jwt_support::HEADER;
    let claims = jwt_support::claims("");
    assert_eq!(verdicts(header, &claims), (true, true));

    // Laxer, class 1: a header member the crate never reads, of another type or repeated.
    for header in [
        r#"{"alg":"HS256","typ":"at+jwt","kid":"k1","x5c":1}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"k1","jwk":"a key?"}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"k1","cty":"a","cty":"b"}"#,
    ] {
        assert_eq!(verdicts(header, &claims), (true, false), "{header}");
    }
    // Laxer, class 2: a negative nbf.
    for nbf in ["-1", "-0.5"] {
        let payload = jwt_support::claims(&format!(r#""nbf":{nbf}"#));
        assert_eq!(verdicts(header, &payload), (true, false), "nbf {nbf}");
    }

    // Stricter: duplicate claim names (jsonwebtoken keeps the last unregistered one), an `iss`
    // array, a `sub` that is not a string, the enum-map form of `alg`, a `typ` that is not a
    // JWT's.
    let duplicate = jwt_support::claims(r#""scope":"admin""#);
    let iss_array = jwt_support::claims_without(&["iss"], r#""iss":["https://as.example"]"#);
    let sub_number = jwt_support::claims_without(&["sub"], r#""sub":5"#);
    for (header, payload) in [
        (header, duplicate.as_str()),
        (header, iss_array.as_str()),
        (header, sub_number.as_str()),
        (
            r#"{"alg":{"HS256":null},"typ":"at+jwt","kid":"k1"}"#,
            &claims,
        ),
        (r#"{"alg":"HS256","typ":"id+jwt","kid":"k1"}"#, &claims),
    ] {
        assert_eq!(
            verdicts(header, payload),
            (false, true),
            "{header} {payload}"
        );
    }
}
