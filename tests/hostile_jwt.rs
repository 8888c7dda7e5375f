#![cfg(feature = "jwt")]
//! Hostile JWTs through the real `Router`, in both profiles: huge and deeply nested claims, huge
//! and odd `kid`s, numbers out of range in `exp`/`nbf`/`iat`, wrong claim types, odd headers and
//! broken structure. Every token is signed with the verifier's own key unless the case is about
//! the signature, so it is the claims or the header that must refuse it.
//!
//! Each case runs against two layers over the same `JwtVerifier` (16 KiB claims bound): the
//! default 8 KiB token cap, and a 4 MiB cap so the verifier itself meets the big tokens. The
//! table gives the outcome under the raised cap; under the default one a token over 8 KiB is
//! refused as too long before the verifier. Every reply must also be a 200 or a 401 with one
//! valid challenge (RFC 9110 §11, RFC 6750 §3), a JSON body agreeing with it on `error`, the
//! reference's exact 401 in `PythonSdk`, and must not echo the token or its signature.

mod common;
mod jwt_support;

use std::collections::HashSet;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header::AUTHORIZATION},
    routing::get,
};
use axum_bearer::{AuthenticatedUser, BearerAuth, DEFAULT_MAX_TOKEN_LEN, Profile};
use common::{PY_401_BODY, Reply};
use jwt_support::{
    AUDIENCE, HEADER, ISSUER, b64, claims, claims_of_size, claims_without, nested_arrays,
    nested_objects, now, sign, sign_raw,
};

/// What the verifier makes of a token (under the raised cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// 200.
    Ok,
    /// 401, `Spec`: "The access token is invalid".
    Invalid,
    /// 401, `Spec`: "The access token expired".
    Expired,
    /// 401 before the verifier, `Spec`: "The access token is malformed" (not a `b64token`).
    Malformed,
}

struct Case {
    name: String,
    token: String,
    want: Want,
}

fn case(name: impl Into<String>, token: String, want: Want) -> Case {
    Case {
        name: name.into(),
        token,
        want,
    }
}

/// A valid claim set with `name` set to the raw JSON `value`.
fn with(name: &str, value: &str) -> String {
    claims_without(&[name], &format!("\"{name}\":{value}"))
}

fn header_with(kid_json: &str) -> String {
    format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":{kid_json}}}"#)
}

fn size_cases() -> Vec<Case> {
    use Want::*;
    let members = |n: usize| {
        (0..n)
            .map(|i| format!("\"m{i}\":{i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let scopes = |n: usize| {
        (0..n)
            .map(|i| format!("s{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let auds = |n: usize| {
        let mut list: Vec<String> = (0..n)
            .map(|i| format!("\"https://x{i}.example\""))
            .collect();
        list.push(format!("\"{AUDIENCE}\""));
        format!("[{}]", list.join(","))
    };
    vec![
        case("1 KiB of claims", sign(&claims_of_size(1024)), Ok),
        case("8 KiB of claims", sign(&claims_of_size(8 * 1024)), Ok),
        case("16 KiB of claims", sign(&claims_of_size(16 * 1024)), Ok),
        case(
            "16 KiB + 1 of claims",
            sign(&claims_of_size(16 * 1024 + 1)),
            Invalid,
        ),
        case(
            "64 KiB of claims",
            sign(&claims_of_size(64 * 1024)),
            Invalid,
        ),
        case(
            "1 MiB of claims",
            sign(&claims_of_size(1024 * 1024)),
            Invalid,
        ),
        case("500 members", sign(&claims(&members(500))), Ok),
        case("5000 members", sign(&claims(&members(5000))), Invalid),
        case(
            "300 scopes",
            sign(&with("scope", &format!("\"{}\"", scopes(300)))),
            Ok,
        ),
        case(
            "20 000 scopes",
            sign(&with("scope", &format!("\"{}\"", scopes(20_000)))),
            Invalid,
        ),
        case("aud of 50", sign(&with("aud", &auds(50))), Ok),
        case("aud of 5000", sign(&with("aud", &auds(5000))), Invalid),
        case(
            "10 KB client_id",
            sign(&with("client_id", &format!("\"{}\"", "c".repeat(10_000)))),
            Ok,
        ),
        case(
            "1 MB string member",
            sign(&claims(&format!(r#""blob":"{}""#, "b".repeat(1 << 20)))),
            Invalid,
        ),
    ]
}

fn nesting_cases() -> Vec<Case> {
    use Want::*;
    let deep = |value: String| sign(&claims(&format!(r#""deep":{value}"#)));
    vec![
        case("32 levels of arrays", deep(nested_arrays(31)), Ok),
        case("33 levels of arrays", deep(nested_arrays(32)), Invalid),
        case("32 levels of objects", deep(nested_objects(31)), Ok),
        case("33 levels of objects", deep(nested_objects(32)), Invalid),
        case("129 levels", deep(nested_arrays(128)), Invalid),
        case("2000 levels", deep(nested_arrays(2000)), Invalid),
        case("400 000 levels", deep(nested_arrays(400_000)), Invalid),
        case(
            "100 000 unclosed",
            sign(&format!(r#"{{"deep":{}"#, "[".repeat(100_000))),
            Invalid,
        ),
        case(
            "brackets in strings",
            sign(&claims(&format!(
                r#""s":"{}\"{}\\""#,
                "[".repeat(2000),
                "{".repeat(2000)
            ))),
            Ok,
        ),
        case(
            "deep top-level array",
            sign(&nested_arrays(10_000)),
            Invalid,
        ),
        case(
            "deep header member",
            sign_raw(
                &format!(r#"{{"alg":"HS256","kid":"k1","x":{}}}"#, nested_arrays(200)),
                &claims(""),
            ),
            Invalid,
        ),
    ]
}

fn kid_cases() -> Vec<Case> {
    use Want::*;
    let kid = |kid: &str| sign_raw(&header_with(&format!("\"{kid}\"")), &claims(""));
    vec![
        case("256-byte kid", kid(&"k".repeat(256)), Invalid),
        case("257-byte kid", kid(&"k".repeat(257)), Invalid),
        case("10 KB kid", kid(&"k".repeat(10_000)), Invalid),
        case("1 MB kid", kid(&"k".repeat(1 << 20)), Invalid),
        case("kid with escapes", kid(r"k1\u0000\n\t"), Invalid),
        case("kid path traversal", kid("../../../../etc/passwd"), Invalid),
        case("kid URL", kid("http://127.0.0.1:1/jwks"), Invalid),
        case("kid unicode", kid("ключ\u{202e}"), Invalid),
        case("kid K1 (case)", kid("K1"), Invalid),
        case(
            "kid number",
            sign_raw(&header_with("1"), &claims("")),
            Invalid,
        ),
        case(
            "kid object",
            sign_raw(&header_with(r#"{"kid":"k1"}"#), &claims("")),
            Invalid,
        ),
        case(
            "kid array",
            sign_raw(&header_with(r#"["k1"]"#), &claims("")),
            Invalid,
        ),
        // No kid: every key of the algorithm is tried, and the right one verifies.
        case("kid null", sign_raw(&header_with("null"), &claims("")), Ok),
    ]
}

fn number_cases() -> Vec<Case> {
    use Want::*;
    let now = now();
    let exp = |value: &str| sign(&with("exp", value));
    let nbf = |value: &str| sign(&claims(&format!(r#""nbf":{value}"#)));
    let iat = |value: &str| sign(&with("iat", value));
    vec![
        case("exp i64::MAX", exp(&i64::MAX.to_string()), Ok),
        case("exp i64::MAX + 1", exp("9223372036854775808"), Invalid),
        case("exp u64::MAX", exp(&u64::MAX.to_string()), Invalid),
        case("exp 1e300", exp("1e300"), Invalid),
        case("exp -1e300", exp("-1e300"), Invalid),
        case("exp 1e400", exp("1e400"), Invalid),
        case("exp f64::MAX", exp("1.7976931348623157e308"), Invalid),
        case("exp 1e15 (float)", exp("1e15"), Invalid),
        case("exp 10^15 (integer)", exp("1000000000000000"), Ok),
        case("exp 999999999999999.0", exp("999999999999999.0"), Ok),
        case("exp i64::MIN", exp(&i64::MIN.to_string()), Expired),
        case("exp 0", exp("0"), Expired),
        case("exp -1", exp("-1"), Expired),
        case("exp -0.0", exp("-0.0"), Expired),
        case("exp 5e-324", exp("5e-324"), Expired),
        case("exp now + 300.5", exp(&format!("{}.5", now + 300)), Ok),
        case("exp now - 120.9", exp(&format!("{}.9", now - 121)), Expired),
        case(
            "exp as a string",
            exp(&format!("\"{}\"", now + 300)),
            Invalid,
        ),
        case("exp null", exp("null"), Invalid),
        case("exp true", exp("true"), Invalid),
        case("exp array", exp(&format!("[{}]", now + 300)), Invalid),
        case("exp object", exp("{}"), Invalid),
        case("exp 20 000 digits", exp(&"9".repeat(20_000)), Invalid),
        case(
            "exp twice",
            sign(&claims(&format!(r#""exp":{}"#, now + 300))),
            Invalid,
        ),
        case("nbf i64::MIN", nbf(&i64::MIN.to_string()), Ok),
        case("nbf i64::MAX", nbf(&i64::MAX.to_string()), Invalid),
        case("nbf 1e300", nbf("1e300"), Invalid),
        case("nbf as a string", nbf("\"0\""), Invalid),
        case("iat 1e400", iat("1e400"), Invalid),
        case("iat i64::MAX", iat(&i64::MAX.to_string()), Ok),
        case("iat as a string", iat("\"now\""), Invalid),
    ]
}

fn claim_type_cases() -> Vec<Case> {
    use Want::*;
    vec![
        case("client_id number", sign(&with("client_id", "5")), Invalid),
        case("client_id empty", sign(&with("client_id", "\"\"")), Invalid),
        case(
            "client_id array",
            sign(&with("client_id", "[\"app\"]")),
            Invalid,
        ),
        case("client_id null", sign(&with("client_id", "null")), Invalid),
        case("scope number", sign(&with("scope", "5")), Invalid),
        case("scope object", sign(&with("scope", "{}")), Invalid),
        case(
            "scope array of numbers",
            sign(&with("scope", "[1,2]")),
            Invalid,
        ),
        case(
            "scope array (lenient)",
            sign(&with("scope", "[\"mcp:read\"]")),
            Ok,
        ),
        case("aud empty array", sign(&with("aud", "[]")), Invalid),
        case("aud number", sign(&with("aud", "5")), Invalid),
        case(
            "aud with a non-string",
            sign(&with("aud", &format!("[1,\"{AUDIENCE}\"]"))),
            Invalid,
        ),
        case("iss number", sign(&with("iss", "5")), Invalid),
        case(
            "iss with a trailing slash",
            sign(&with("iss", &format!("\"{ISSUER}/\""))),
            Invalid,
        ),
        case(
            "sub and iss with escapes",
            sign(&claims_without(
                &["sub", "iss"],
                r#""sub":"al\u0069ce\u0000","iss":"https:\/\/as.example""#,
            )),
            Ok,
        ),
        case("claims an array", sign("[1,2,3]"), Invalid),
        case("claims a string", sign("\"claims\""), Invalid),
        case("claims null", sign("null"), Invalid),
        case("claims empty object", sign("{}"), Invalid),
        case("claims empty", sign(""), Invalid),
        case("claims not JSON", sign("{not json"), Invalid),
        case(
            "claims with a BOM",
            sign(&format!("\u{feff}{}", claims(""))),
            Invalid,
        ),
        case(
            "claims trailing garbage",
            sign(&format!("{}x", claims(""))),
            Invalid,
        ),
    ]
}

fn header_and_structure_cases() -> Vec<Case> {
    use Want::*;
    let good = sign(&claims(""));
    let (message, signature) = good.rsplit_once('.').unwrap();
    let (header, payload) = message.split_once('.').unwrap();
    vec![
        case("control", good.clone(), Ok),
        case(
            "typ JWT",
            sign_raw(r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#, &claims("")),
            Ok,
        ),
        case(
            "typ id+jwt",
            sign_raw(r#"{"alg":"HS256","typ":"id+jwt","kid":"k1"}"#, &claims("")),
            Invalid,
        ),
        case(
            "typ 10 KB",
            sign_raw(
                &format!(
                    r#"{{"alg":"HS256","typ":"{}","kid":"k1"}}"#,
                    "t".repeat(10_000)
                ),
                &claims(""),
            ),
            Invalid,
        ),
        case(
            "alg none",
            format!("{}.{payload}.", b64(r#"{"alg":"none","kid":"k1"}"#)),
            Invalid,
        ),
        case(
            "alg HS384 with the HS256 key",
            sign_raw(r#"{"alg":"HS384","kid":"k1"}"#, &claims("")),
            Invalid,
        ),
        case(
            "crit unknown",
            sign_raw(
                r#"{"alg":"HS256","kid":"k1","crit":["urn:x"],"urn:x":1}"#,
                &claims(""),
            ),
            Invalid,
        ),
        case(
            "10 KB unknown header member",
            sign_raw(
                &format!(
                    r#"{{"alg":"HS256","kid":"k1","x":"{}"}}"#,
                    "x".repeat(10_000)
                ),
                &claims(""),
            ),
            Ok,
        ),
        case("header not JSON", sign_raw("{", &claims("")), Invalid),
        case("two segments", message.to_owned(), Invalid),
        case("four segments", format!("{header}.{good}"), Invalid),
        case("empty signature", format!("{message}."), Invalid),
        case("empty payload", format!("{header}..{signature}"), Invalid),
        case(
            "signature truncated",
            format!("{message}.{}", &signature[..signature.len() - 2]),
            Invalid,
        ),
        case(
            "10 KB signature",
            format!("{message}.{}", "A".repeat(10_000)),
            Invalid,
        ),
        case(
            "signature of another key",
            {
                let other = axum_bearer::jsonwebtoken::EncodingKey::from_secret(&[9; 32]).unwrap();
                let signature = axum_bearer::jsonwebtoken::crypto::sign(
                    message.as_bytes(),
                    &other,
                    axum_bearer::jsonwebtoken::Algorithm::HS256,
                )
                .unwrap();
                format!("{message}.{signature}")
            },
            Invalid,
        ),
        case(
            "payload swapped under the signature",
            format!("{header}.{}.{signature}", b64(claims(r#""admin":true"#))),
            Invalid,
        ),
        // `=` only ends a b64token (RFC 6750 §2.1): refused before the verifier.
        case(
            "padded base64",
            format!("{header}.{payload}==.{signature}"),
            Malformed,
        ),
        case(
            "standard base64 alphabet",
            format!(
                "{header}.{}.{signature}",
                payload.replace('-', "+").replace('_', "/")
            ),
            if payload.contains(['-', '_']) {
                Invalid
            } else {
                Ok
            },
        ),
        case("the header segment alone", b64(HEADER), Invalid),
    ]
}

fn all_cases() -> Vec<Case> {
    let mut cases = size_cases();
    cases.extend(nesting_cases());
    cases.extend(kid_cases());
    cases.extend(number_cases());
    cases.extend(claim_type_cases());
    cases.extend(header_and_structure_cases());
    cases
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

const RAISED_CAP: usize = 4 * 1024 * 1024;

fn app(profile: Profile, max_token_len: usize) -> Router {
    Router::new()
        .route(
            "/",
            get(|user: AuthenticatedUser| async move { format!("ok {}", user.client_id()) }),
        )
        .layer(
            BearerAuth::new(jwt_support::verifier())
                .profile(profile)
                .max_token_len(max_token_len),
        )
}

/// The request for `token`; `None` when it cannot be a header value (a control character in a
/// hand-made segment), which no router can ever receive.
fn request(token: &str) -> Option<Request<Body>> {
    Request::get("/")
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .ok()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn check(case: &Case, profile: Profile, cap: usize, reply: &Reply) -> Vec<String> {
    let mut errors = Vec::new();
    let over_cap = case.token.len() > cap;
    let want = if over_cap { Want::Invalid } else { case.want };
    let want_status = match want {
        Want::Ok => StatusCode::OK,
        Want::Invalid | Want::Expired | Want::Malformed => StatusCode::UNAUTHORIZED,
    };
    if reply.status != want_status {
        errors.push(format!("status {}, want {want_status}", reply.status));
        return errors;
    }
    if want == Want::Ok {
        if !reply.text().starts_with("ok ") {
            errors.push(format!(
                "body {:?}",
                &reply.text()[..reply.text().len().min(60)]
            ));
        }
        if reply.www_authenticate().is_some() {
            errors.push("200 with a challenge".into());
        }
        return errors;
    }
    let params = match reply.www_authenticate().map(common::parse_bearer_challenge) {
        Some(Ok(params)) => params,
        Some(Err(error)) => {
            errors.push(format!("invalid challenge: {error}"));
            return errors;
        }
        None => {
            errors.push("401 without a challenge".into());
            return errors;
        }
    };
    if reply.content_type() != Some("application/json") {
        errors.push(format!("content-type {:?}", reply.content_type()));
    }
    let body: serde_json::Value = match serde_json::from_slice(&reply.body) {
        Ok(body) => body,
        Err(error) => {
            errors.push(format!("body is not JSON: {error}"));
            return errors;
        }
    };
    if params.get("error").map(String::as_str) != body["error"].as_str() {
        errors.push(format!("challenge {params:?} and body {body} disagree"));
    }
    match profile {
        Profile::PythonSdk => {
            if reply.body != PY_401_BODY.as_bytes() {
                errors.push(format!("PythonSdk body {:?}", reply.text()));
            }
        }
        _ => {
            let description = match (over_cap, want) {
                (true, _) => "The access token is too long",
                (_, Want::Expired) => "The access token expired",
                (_, Want::Malformed) => "The access token is malformed",
                _ => "The access token is invalid",
            };
            if params.get("error_description").map(String::as_str) != Some(description) {
                errors.push(format!("description {params:?}, want {description:?}"));
            }
        }
    }
    // Neither the token nor its signature comes back.
    let signature = case.token.rsplit('.').next().unwrap_or_default();
    for (what, secret) in [("token", case.token.as_str()), ("signature", signature)] {
        if secret.len() < 16 {
            continue;
        }
        let places = reply
            .headers
            .values()
            .map(|value| value.as_bytes())
            .chain([&reply.body[..]]);
        if places
            .into_iter()
            .any(|place| contains(place, secret.as_bytes()))
        {
            errors.push(format!("the {what} is echoed"));
        }
    }
    errors
}

#[tokio::test]
async fn hostile_jwts() {
    let cases = all_cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut names = HashSet::new();
    for case in &cases {
        assert!(names.insert(case.name.clone()), "duplicate {}", case.name);
    }
    let mut failures = Vec::new();
    let mut runs = 0;
    for profile in [Profile::PythonSdk, Profile::Spec] {
        for cap in [DEFAULT_MAX_TOKEN_LEN, RAISED_CAP] {
            let app = app(profile, cap);
            for case in &cases {
                let Some(request) = request(&case.token) else {
                    failures.push(format!("{}: not a header value", case.name));
                    continue;
                };
                let reply = tokio::spawn({
                    let app = app.clone();
                    async move { common::send(&app, request).await }
                })
                .await;
                runs += 1;
                match reply {
                    Ok(reply) => failures.extend(
                        check(case, profile, cap, &reply)
                            .into_iter()
                            .map(|error| format!("{profile:?} cap {cap} {}: {error}", case.name)),
                    ),
                    Err(panic) => failures.push(format!(
                        "{profile:?} cap {cap} {}: the router panicked: {panic}",
                        case.name
                    )),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s) in {runs} runs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
