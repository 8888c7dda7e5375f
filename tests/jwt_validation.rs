#![cfg(feature = "testing")]
//! `JwtVerifier` and `MultiIssuerVerifier` end to end: tokens minted by the loopback
//! `TestIssuer`, keys fetched over real HTTP (`jwks_url` or discovery), every request sent through
//! a real axum `Router` behind `BearerAuth` in `Profile::Spec`.
//!
//! - valid RS256 / ES256 / EdDSA / HS256 tokens and the claim mapping;
//! - the RFC 8725 attacks (`none`, HS256 keyed with the RSA public key, a disallowed algorithm,
//!   tampering, empty signature, unknown `crit`, `jku` / `x5u` / `jwk` headers, hostile `kid`s);
//! - time, issuer and audience boundaries, with the default leeway and with none;
//! - `typ` in lenient and strict RFC 9068 mode, ID tokens, scope and client claims;
//! - several issuers; `Debug` output.
//!
//! Every refusal must be a 401 with `error="invalid_token"`, never a 5xx.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::{Json, Router, http::StatusCode, routing::get};
use axum_bearer::{
    AuthenticatedUser, BearerAuth, JwtVerifier, JwtVerifierBuilder, MultiIssuerVerifier, Profile,
    TokenVerifier,
    testing::{Endpoint, TestIssuer},
};
use common::{Reply, call_bearer};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// This resource server's identifier: the audience every verifier accepts.
const RESOURCE: &str = "https://api.example/mcp";

/// The HMAC secret of the HS256 tests (32 bytes or more, RFC 8725 §3.5).
const HMAC_SECRET: &[u8] = b"hmac-secret-for-jwt-validation-tests-0123456789";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// What the protected route tells about the authenticated caller.
async fn whoami(user: AuthenticatedUser) -> Json<Value> {
    Json(json!({
        "client_id": user.client_id(),
        "scopes": user.scopes(),
        "subject": user.subject(),
        "issuer": user.issuer(),
        "resource": user.access_token().resource,
        "expires_at": user.access_token().expires_at,
        "claims": user.claims(),
        "debug": format!("{user:?}"),
    }))
}

fn app_with(auth: BearerAuth) -> Router {
    Router::new().route("/whoami", get(whoami)).layer(auth)
}

fn app(verifier: impl TokenVerifier) -> Router {
    app_with(BearerAuth::new(verifier).profile(Profile::Spec))
}

/// A 401 with a `Bearer` challenge carrying `error="invalid_token"`.
#[track_caller]
fn assert_refused(reply: &Reply, case: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{case}: expected 401, got {reply:?}"
    );
    let challenge = reply
        .www_authenticate()
        .unwrap_or_else(|| panic!("{case}: 401 without WWW-Authenticate"));
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains(r#"error="invalid_token""#),
        "{case}: challenge {challenge:?}"
    );
}

/// A 200; returns what the route saw.
#[track_caller]
fn assert_ok(reply: &Reply, case: &str) -> Value {
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{case}: expected 200, got {reply:?}"
    );
    reply.json_or_null()
}

/// Sends `token` and checks the status: 200, or 401 `invalid_token`.
async fn expect(app: &Router, token: &str, want: u16, case: &str) -> Value {
    let reply = call_bearer(app, "/whoami", token).await;
    match want {
        200 => assert_ok(&reply, case),
        401 => {
            assert_refused(&reply, case);
            Value::Null
        }
        other => unreachable!("{case}: no such expectation {other}"),
    }
}

/// A verifier builder for `issuer`'s JWK Set, checking `iss` and the audience `RESOURCE`.
fn jwks_builder(issuer: &TestIssuer) -> JwtVerifierBuilder {
    JwtVerifier::builder()
        .issuer(issuer.issuer())
        .audience(RESOURCE)
        .jwks_url(issuer.jwks_url())
        .unwrap()
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A claim value for [`patch`] that deletes the claim.
const REMOVE: &str = "<remove>";

/// `claims` with each member of `changes` set; the value `REMOVE` deletes the member instead.
fn patch(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if *value == REMOVE {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// base64url without padding (RFC 7515 §2).
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(chunk[0]) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn b64_json(value: &Value) -> String {
    b64url(&serde_json::to_vec(value).unwrap())
}

/// A JWS signed over exactly this header JSON (any members, in any order) and these claims.
fn sign_raw(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", b64_json(header), b64_json(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).unwrap();
    format!("{message}.{signature}")
}

/// The header `TestIssuer::mint` uses, for `mint_with_header` variations.
fn header(alg: Algorithm, typ: Option<&str>, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.typ = typ.map(str::to_owned);
    header.kid = kid.map(str::to_owned);
    header
}

fn rsa_private_key(issuer: &TestIssuer, kid: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(issuer.private_key_pem(kid).unwrap().as_bytes()).unwrap()
}

/// The three segments of a compact JWS.
fn segments(token: &str) -> (&str, &str, &str) {
    let mut parts = token.split('.');
    let mut next = || parts.next().unwrap();
    (next(), next(), next())
}

fn all_requests(issuer: &TestIssuer) -> [usize; 4] {
    [
        issuer.requests(Endpoint::Jwks),
        issuer.requests(Endpoint::OAuthMetadata),
        issuer.requests(Endpoint::OpenIdConfiguration),
        issuer.dropped_connections(),
    ]
}

#[test]
fn b64url_matches_rfc_4648_vectors() {
    // RFC 4648 §10 vectors, padding stripped, plus the url-safe alphabet.
    for (input, output) in [
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(b64url(input.as_bytes()), output, "{input:?}");
    }
    assert_eq!(b64url(&[0xfb, 0xff, 0xfe]), "-__-");
}

// ---------------------------------------------------------------------------------------------
// Valid tokens and the mapping
// ---------------------------------------------------------------------------------------------

/// Checks the mapping of a `claims_for` token and that the raw token never shows in `Debug`.
#[track_caller]
fn assert_mapping(seen: &Value, issuer: &str, claims: &Value, token: &str, case: &str) {
    assert_eq!(seen["client_id"], "client-1", "{case}");
    assert_eq!(seen["scopes"], json!(["mcp:read"]), "{case}");
    assert_eq!(seen["subject"], "user-1", "{case}");
    assert_eq!(seen["issuer"], issuer, "{case}");
    assert_eq!(seen["resource"], RESOURCE, "{case}");
    assert_eq!(seen["expires_at"], claims["exp"], "{case}");
    assert_eq!(&seen["claims"], claims, "{case}: every claim kept");
    let debug = seen["debug"].as_str().unwrap();
    assert!(!debug.contains(token), "{case}: Debug shows the token");
}

#[tokio::test]
async fn valid_rs256_token_via_jwks_url_maps_claims() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(jwks_builder(&issuer).build().unwrap());
    let claims = issuer.claims_for(RESOURCE);
    let token = issuer.mint(claims.clone());
    let seen = expect(&app, &token, 200, "RS256").await;
    assert_mapping(&seen, issuer.issuer(), &claims, &token, "RS256");
    // A second request uses the cached keys.
    expect(&app, &token, 200, "RS256 again").await;
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
    assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 0);
}

#[tokio::test]
async fn valid_es256_token_via_discovery_maps_claims() {
    let issuer = TestIssuer::builder()
        .algorithm(Algorithm::ES256)
        .start()
        .await
        .unwrap();
    let verifier = JwtVerifier::builder()
        .audience(RESOURCE)
        .discover(issuer.issuer())
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(verifier.issuer(), Some(issuer.issuer()));
    let app = app(verifier);
    let mut claims = issuer.claims_for(RESOURCE);
    claims["scope"] = "mcp:read".into();
    let token = issuer.mint(claims.clone());
    let seen = expect(&app, &token, 200, "ES256").await;
    assert_mapping(&seen, issuer.issuer(), &claims, &token, "ES256");
    assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 1);
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);
}

#[tokio::test]
async fn valid_eddsa_token_with_issuer_path_maps_claims() {
    let issuer = TestIssuer::builder()
        .algorithm(Algorithm::EdDSA)
        .path("/tenant-a")
        .start()
        .await
        .unwrap();
    assert!(issuer.issuer().ends_with("/tenant-a"));
    let app = app(JwtVerifier::builder()
        .audience(RESOURCE)
        .discover(issuer.issuer())
        .unwrap()
        .build()
        .unwrap());
    let claims = issuer.claims_for(RESOURCE);
    let token = issuer.mint(claims.clone());
    let seen = expect(&app, &token, 200, "EdDSA").await;
    assert_mapping(&seen, issuer.issuer(), &claims, &token, "EdDSA");
    assert_eq!(issuer.requests(Endpoint::Jwks), 1);

    // The same key through `jwks_url`.
    let direct = app_with(BearerAuth::new(jwks_builder(&issuer).build().unwrap()));
    expect(&direct, &token, 200, "EdDSA via jwks_url").await;
}

#[tokio::test]
async fn hs256_with_hmac_secret_and_a_locally_signed_token() {
    let verifier = JwtVerifier::builder()
        .issuer("https://as.example")
        .audience(RESOURCE)
        .hmac_secret("hs-1", HMAC_SECRET)
        .unwrap()
        .build()
        .unwrap(); // also installs the crypto provider `encode` needs
    let app = app(verifier);
    let now = now();
    let claims = json!({
        "iss": "https://as.example", "sub": "svc-7", "aud": RESOURCE, "client_id": "m2m",
        "scope": "mcp:read mcp:write", "iat": now, "exp": now + 300, "jti": "hs-jti-1",
    });
    let sign = |alg: Algorithm, kid: Option<&str>, secret: &[u8]| {
        jsonwebtoken::encode(
            &header(alg, Some("at+jwt"), kid),
            &claims,
            &EncodingKey::from_secret(secret).unwrap(),
        )
        .unwrap()
    };

    let token = sign(Algorithm::HS256, Some("hs-1"), HMAC_SECRET);
    let seen = expect(&app, &token, 200, "HS256").await;
    assert_eq!(seen["client_id"], "m2m");
    assert_eq!(seen["scopes"], json!(["mcp:read", "mcp:write"]));
    assert_eq!(seen["subject"], "svc-7");
    assert_eq!(seen["issuer"], "https://as.example");
    assert_eq!(seen["resource"], RESOURCE);
    assert_eq!(seen["claims"], claims);

    // No kid: every HS256 key is tried.
    expect(
        &app,
        &sign(Algorithm::HS256, None, HMAC_SECRET),
        200,
        "HS256 no kid",
    )
    .await;
    // Another secret, another HMAC algorithm on the same secret, an unknown kid.
    expect(
        &app,
        &sign(
            Algorithm::HS256,
            Some("hs-1"),
            b"another-secret-of-at-least-32-bytes!!",
        ),
        401,
        "HS256 wrong secret",
    )
    .await;
    expect(
        &app,
        &sign(Algorithm::HS384, Some("hs-1"), HMAC_SECRET),
        401,
        "HS384 with the HS256 key",
    )
    .await;
    expect(
        &app,
        &sign(Algorithm::HS512, None, HMAC_SECRET),
        401,
        "HS512 no kid",
    )
    .await;
    expect(
        &app,
        &sign(Algorithm::HS256, Some("hs-2"), HMAC_SECRET),
        401,
        "HS256 unknown kid",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// RFC 8725 attacks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn alg_none_is_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(jwks_builder(&issuer).build().unwrap());
    let kid = issuer.current_kid();
    let claims = issuer.claims_for(RESOURCE);
    let valid = issuer.mint(claims.clone());
    expect(&app, &valid, 200, "control").await;
    let (_, payload, signature) = segments(&valid);

    let none = format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","typ":"at+jwt"}"#),
        b64_json(&claims)
    );
    expect(&app, &none, 401, "alg none").await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let head = b64_json(&json!({"alg": alg, "typ": "at+jwt", "kid": kid}));
        expect(
            &app,
            &format!("{head}.{payload}."),
            401,
            &format!("alg {alg}, kid"),
        )
        .await;
        expect(
            &app,
            &format!("{head}.{payload}.{signature}"),
            401,
            &format!("alg {alg}, real signature kept"),
        )
        .await;
    }
    expect(
        &app,
        &format!("{}.{payload}.", b64url(br#"{"typ":"at+jwt"}"#)),
        401,
        "no alg",
    )
    .await;
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let kid = issuer.current_kid();
    let public_pem = issuer.public_key_pem(&kid).unwrap();
    let claims = issuer.claims_for(RESOURCE);
    let confused = |kid: Option<&str>, pem: &[u8]| {
        jsonwebtoken::encode(
            &header(Algorithm::HS256, Some("at+jwt"), kid),
            &claims,
            &EncodingKey::from_secret(pem).unwrap(),
        )
        .unwrap()
    };
    let with_kid = confused(Some(&kid), public_pem.as_bytes());
    let without_kid = confused(None, public_pem.as_bytes());
    let trimmed = confused(Some(&kid), public_pem.trim_end().as_bytes());

    // Keys from the JWKS.
    let app_jwks = app(jwks_builder(&issuer).build().unwrap());
    expect(&app_jwks, &issuer.mint(claims.clone()), 200, "control").await;
    for (case, token) in [
        ("jwks, kid", &with_kid),
        ("jwks, no kid", &without_kid),
        ("jwks, PEM trimmed", &trimmed),
    ] {
        expect(&app_jwks, token, 401, case).await;
    }

    // The classic target: a verifier configured with the RSA public key PEM.
    let app_pem = app(JwtVerifier::builder()
        .issuer(issuer.issuer())
        .audience(RESOURCE)
        .rsa_pem(&kid, public_pem)
        .unwrap()
        .build()
        .unwrap());
    expect(&app_pem, &issuer.mint(claims.clone()), 200, "PEM control").await;
    for (case, token) in [
        ("pem, kid", &with_kid),
        ("pem, no kid", &without_kid),
        ("pem, PEM trimmed", &trimmed),
    ] {
        expect(&app_pem, token, 401, case).await;
    }
}

#[tokio::test]
async fn correctly_signed_but_disallowed_algorithm_is_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let kid = issuer.current_kid();
    let claims = issuer.claims_for(RESOURCE);
    let app_jwks = app(jwks_builder(&issuer).build().unwrap());
    expect(&app_jwks, &issuer.mint(claims.clone()), 200, "control").await;

    // The same RSA key, another algorithm than the JWK's `alg: RS256`.
    for alg in [
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS512,
    ] {
        for kid in [Some(kid.as_str()), None] {
            let token = issuer
                .mint_with_header(header(alg, Some("at+jwt"), kid), claims.clone())
                .unwrap();
            // The signature itself is good: jsonwebtoken accepts it with the key and this alg.
            let decoding = jsonwebtoken::DecodingKey::from_rsa_pem(
                issuer
                    .public_key_pem(&issuer.current_kid())
                    .unwrap()
                    .as_bytes(),
            )
            .unwrap();
            let mut validation = jsonwebtoken::Validation::new(alg);
            validation.set_audience(&[RESOURCE]);
            assert!(jsonwebtoken::decode::<Value>(&token, &decoding, &validation).is_ok());
            expect(&app_jwks, &token, 401, &format!("{alg:?}, kid {kid:?}")).await;
        }
    }

    // A verifier allowing only ES256, against an RS256 issuer.
    let es_only = app(jwks_builder(&issuer)
        .algorithms([Algorithm::ES256])
        .build()
        .unwrap());
    expect(
        &es_only,
        &issuer.mint(claims.clone()),
        401,
        "RS256 to ES256-only",
    )
    .await;
    let no_kid = issuer
        .mint_with_header(header(Algorithm::RS256, Some("at+jwt"), None), claims)
        .unwrap();
    expect(&es_only, &no_kid, 401, "RS256 no kid to ES256-only").await;

    // A static RSA key bound to RS256 refuses RS384 too.
    let pem = app(JwtVerifier::builder()
        .audience(RESOURCE)
        .rsa_pem(&kid, issuer.public_key_pem(&kid).unwrap())
        .unwrap()
        .build()
        .unwrap());
    let rs384 = issuer
        .mint_with_header(
            header(Algorithm::RS384, Some("at+jwt"), Some(&kid)),
            issuer.claims_for(RESOURCE),
        )
        .unwrap();
    expect(&pem, &rs384, 401, "RS384 to static RS256 key").await;
}

#[tokio::test]
async fn tampered_and_unsigned_tokens_are_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(jwks_builder(&issuer).build().unwrap());
    let claims = issuer.claims_for(RESOURCE);
    let valid = issuer.mint(claims.clone());
    expect(&app, &valid, 200, "control").await;
    let (head, payload, signature) = segments(&valid);
    let other = issuer.mint(issuer.claims_for(RESOURCE));
    let (_, _, other_signature) = segments(&other);

    let escalated = b64_json(&patch(
        claims.clone(),
        json!({"scope": "mcp:read mcp:admin"}),
    ));
    let other_sub = b64_json(&patch(claims.clone(), json!({"sub": "admin"})));
    let later = b64_json(&patch(
        claims.clone(),
        json!({"exp": claims["exp"].as_i64().unwrap() + 3600}),
    ));
    let lenient_head =
        b64url(&serde_json::to_vec(&json!({"alg": "RS256", "kid": issuer.current_kid()})).unwrap());
    let mut flipped = signature.as_bytes().to_vec();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();

    for (case, token) in [
        ("scope escalated", format!("{head}.{escalated}.{signature}")),
        ("sub changed", format!("{head}.{other_sub}.{signature}")),
        ("exp extended", format!("{head}.{later}.{signature}")),
        (
            "header swapped",
            format!("{lenient_head}.{payload}.{signature}"),
        ),
        ("signature flipped", format!("{head}.{payload}.{flipped}")),
        (
            "another token's signature",
            format!("{head}.{payload}.{other_signature}"),
        ),
        ("empty signature", format!("{head}.{payload}.")),
        ("no signature segment", format!("{head}.{payload}")),
        ("four segments", format!("{valid}.{signature}")),
        ("payload only", payload.to_owned()),
        ("empty payload", format!("{head}..{signature}")),
    ] {
        expect(&app, &token, 401, case).await;
    }
}

#[tokio::test]
async fn unknown_crit_is_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(jwks_builder(&issuer).build().unwrap());
    let kid = issuer.current_kid();
    let key = rsa_private_key(&issuer, &kid);
    let claims = issuer.claims_for(RESOURCE);
    let signed = |header: Value| sign_raw(&header, &claims, &key, Algorithm::RS256);

    // Control: the same hand-made construction without `crit` passes.
    let plain = signed(json!({"alg": "RS256", "typ": "at+jwt", "kid": kid}));
    expect(&app, &plain, 200, "hand-signed control").await;
    let unknown_member = signed(json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "urn:x": 1}));
    expect(
        &app,
        &unknown_member,
        200,
        "unknown header member, not critical",
    )
    .await;

    for (case, header) in [
        (
            "crit names an unknown extension",
            json!({"alg": "RS256", "typ": "at+jwt", "kid": kid,
                   "crit": ["urn:example:must-understand"], "urn:example:must-understand": true}),
        ),
        (
            "crit names an absent extension",
            json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "crit": ["urn:example:x"]}),
        ),
        (
            "crit is empty",
            json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "crit": []}),
        ),
        (
            "crit names exp",
            json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "crit": ["exp"], "exp": 1}),
        ),
        (
            "crit is a string",
            json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "crit": "urn:example:x"}),
        ),
        (
            "crit b64 with an unencoded payload (RFC 7797)",
            json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "crit": ["b64"], "b64": false}),
        ),
        (
            "crit b64 twice",
            json!({"alg": "RS256", "typ": "at+jwt", "kid": kid, "crit": ["b64", "b64"], "b64": true}),
        ),
    ] {
        expect(&app, &signed(header), 401, case).await;
    }
}

/// Correctly signed tokens whose header or payload is malformed.
#[tokio::test]
async fn signed_but_malformed_tokens_are_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(jwks_builder(&issuer).build().unwrap());
    let kid = issuer.current_kid();
    let key = rsa_private_key(&issuer, &kid);
    let claims = issuer.claims_for(RESOURCE);
    let good_header = json!({"alg": "RS256", "typ": "at+jwt", "kid": kid});
    let signed_parts = |header: &[u8], payload: &[u8]| {
        let message = format!("{}.{}", b64url(header), b64url(payload));
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::RS256).unwrap();
        format!("{message}.{signature}")
    };
    let header_bytes = serde_json::to_vec(&good_header).unwrap();
    let claims_bytes = serde_json::to_vec(&claims).unwrap();
    expect(
        &app,
        &signed_parts(&header_bytes, &claims_bytes),
        200,
        "control",
    )
    .await;

    for (case, header) in [
        (
            "typ a number",
            json!({"alg": "RS256", "typ": 5, "kid": kid}),
        ),
        (
            "kid a number",
            json!({"alg": "RS256", "typ": "at+jwt", "kid": 7}),
        ),
        (
            "alg lower-case",
            json!({"alg": "rs256", "typ": "at+jwt", "kid": kid}),
        ),
        (
            "alg with a space",
            json!({"alg": "RS256 ", "typ": "at+jwt", "kid": kid}),
        ),
        (
            "alg an array",
            json!({"alg": ["RS256"], "typ": "at+jwt", "kid": kid}),
        ),
        ("header an array", json!(["RS256"])),
    ] {
        let token = signed_parts(&serde_json::to_vec(&header).unwrap(), &claims_bytes);
        expect(&app, &token, 401, case).await;
    }
    for (case, payload) in [
        ("payload an array", b"[1,2]".as_slice()),
        ("payload null", b"null".as_slice()),
        ("payload a string", br#""claims""#.as_slice()),
        ("payload not UTF-8", [0xff, 0xfe, 0xfd].as_slice()),
        (
            "payload truncated JSON",
            &claims_bytes[..claims_bytes.len() - 1],
        ),
    ] {
        expect(&app, &signed_parts(&header_bytes, payload), 401, case).await;
    }
    for (case, header) in [
        ("header not JSON", b"{alg:RS256}".as_slice()),
        ("header empty", b"".as_slice()),
    ] {
        expect(&app, &signed_parts(header, &claims_bytes), 401, case).await;
    }

    // Duplicate claim names (RFC 7519 §4): reject, or keep the last one; never let the
    // first `iss` win over a foreign last one.
    let text = serde_json::to_string(&claims).unwrap();
    let evil_last = format!(
        r#"{},"iss":"https://evil.example"}}"#,
        &text[..text.len() - 1]
    );
    let token = signed_parts(&header_bytes, evil_last.as_bytes());
    expect(&app, &token, 401, "duplicate iss, foreign last").await;
    let evil_first = format!(r#"{{"iss":"https://evil.example",{}"#, &text[1..]);
    let reply = call_bearer(
        &app,
        "/whoami",
        &signed_parts(&header_bytes, evil_first.as_bytes()),
    )
    .await;
    if reply.status == StatusCode::OK {
        assert_eq!(
            reply.json_or_null()["issuer"],
            issuer.issuer(),
            "duplicate iss: last must win"
        );
    } else {
        assert_refused(&reply, "duplicate iss, foreign first");
    }
}

#[tokio::test]
async fn jku_x5u_and_embedded_jwk_are_never_followed() {
    let issuer = TestIssuer::start().await.unwrap();
    let attacker = TestIssuer::start().await.unwrap();
    // Both issuers name their first key `rs256-0`: rotate the attacker to a kid the real issuer
    // does not have.
    let attacker_kid = attacker.rotate();
    assert!(
        attacker.retire(
            &attacker
                .public_jwk("rs256-0")
                .unwrap()
                .common
                .key_id
                .unwrap()
        )
    );
    assert!(issuer.public_jwk(&attacker_kid).is_none());
    let real_kid = issuer.current_kid();
    attacker.reset_counters();

    let verifier = jwks_builder(&issuer).build().unwrap();
    let app = app(verifier);
    let claims = issuer.claims_for(RESOURCE);
    expect(&app, &issuer.mint(claims.clone()), 200, "control").await;

    let forge = |kid: Option<&str>, edit: &dyn Fn(&mut Header)| {
        let mut header = header(Algorithm::RS256, Some("at+jwt"), kid);
        edit(&mut header);
        attacker.mint_with_header(header, claims.clone()).unwrap()
    };
    let jwks = attacker.jwks_url();
    let metadata = attacker.oauth_metadata_url();
    let openid = attacker.openid_configuration_url();
    let jwk = attacker.public_jwk(&attacker_kid).unwrap();

    let cases: Vec<(&str, String)> = vec![
        (
            "jku to attacker, attacker kid",
            forge(Some(&attacker_kid), &|h| h.jku = Some(jwks.clone())),
        ),
        (
            "jku to attacker metadata",
            forge(Some(&attacker_kid), &|h| h.jku = Some(metadata.clone())),
        ),
        (
            "jku to attacker, real kid",
            forge(Some(&real_kid), &|h| h.jku = Some(jwks.clone())),
        ),
        (
            "jku to attacker, no kid",
            forge(None, &|h| h.jku = Some(jwks.clone())),
        ),
        (
            "x5u to attacker, attacker kid",
            forge(Some(&attacker_kid), &|h| h.x5u = Some(jwks.clone())),
        ),
        (
            "x5u to attacker openid",
            forge(Some(&attacker_kid), &|h| h.x5u = Some(openid.clone())),
        ),
        (
            "x5u to attacker, no kid",
            forge(None, &|h| h.x5u = Some(jwks.clone())),
        ),
        (
            "embedded jwk, attacker kid",
            forge(Some(&attacker_kid), &|h| h.jwk = Some(jwk.clone())),
        ),
        (
            "embedded jwk, no kid",
            forge(None, &|h| h.jwk = Some(jwk.clone())),
        ),
        (
            "embedded jwk, real kid",
            forge(Some(&real_kid), &|h| h.jwk = Some(jwk.clone())),
        ),
        (
            "jku + x5u + jwk",
            forge(Some(&attacker_kid), &|h| {
                h.jku = Some(jwks.clone());
                h.x5u = Some(openid.clone());
                h.jwk = Some(jwk.clone());
            }),
        ),
    ];
    for (case, token) in &cases {
        expect(&app, token, 401, case).await;
    }
    // The same tokens again (after the unknown-kid cooldown state has settled).
    for (case, token) in &cases {
        expect(&app, token, 401, &format!("{case} (again)")).await;
    }

    // Discovery-configured verifiers do not follow them either.
    let discovered = app_with(
        BearerAuth::new(
            JwtVerifier::builder()
                .audience(RESOURCE)
                .discover(issuer.issuer())
                .unwrap()
                .build()
                .unwrap(),
        )
        .profile(Profile::Spec),
    );
    for (case, token) in &cases {
        expect(&discovered, token, 401, &format!("{case} (discovery)")).await;
    }

    assert_eq!(
        attacker.requests(Endpoint::Jwks),
        0,
        "the attacker's JWKS was fetched"
    );
    assert_eq!(
        all_requests(&attacker),
        [0, 0, 0, 0],
        "the attacker was contacted"
    );
    // The real issuer was asked a bounded number of times: one fetch per verifier, plus at most
    // one refetch each for the unknown kid (cooldown).
    assert!(
        issuer.requests(Endpoint::Jwks) <= 4,
        "{:?}",
        all_requests(&issuer)
    );
    // And the real keys still work.
    expect(
        &app,
        &issuer.mint(issuer.claims_for(RESOURCE)),
        200,
        "after",
    )
    .await;
}

#[tokio::test]
async fn hostile_kids_are_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let verifier = jwks_builder(&issuer).build().unwrap();
    let app = app(verifier.clone());
    let claims = issuer.claims_for(RESOURCE);
    let with_kid = |kid: &str| {
        issuer
            .mint_with_header(
                header(Algorithm::RS256, Some("at+jwt"), Some(kid)),
                claims.clone(),
            )
            .unwrap()
    };
    expect(&app, &issuer.mint(claims.clone()), 200, "control").await;
    // No kid at all: the JWKS's RS256 keys are tried (and this one fits).
    let no_kid = issuer
        .mint_with_header(
            header(Algorithm::RS256, Some("at+jwt"), None),
            claims.clone(),
        )
        .unwrap();
    expect(&app, &no_kid, 200, "no kid").await;

    let real = issuer.current_kid();
    for kid in [
        "../../etc/passwd' OR '1'='1".to_owned(),
        "' OR 1=1 --".to_owned(),
        "\"; DROP TABLE keys; --".to_owned(),
        format!("{real}' OR '1'='1"),
        format!("../{real}"),
        format!("{real}/../{real}"),
        format!("{real}\0"),
        format!(" {real}"),
        real.to_ascii_uppercase(),
        "*".to_owned(),
        "%".to_owned(),
        String::new(),
        "/dev/zero".to_owned(),
        "http://127.0.0.1:1/jwks".to_owned(),
        "\u{202e}0-652sr".to_owned(),
    ] {
        expect(&app, &with_kid(&kid), 401, &format!("kid {kid:?}")).await;
    }
    assert!(
        issuer.requests(Endpoint::Jwks) <= 2,
        "unknown kids hammered the JWKS: {}",
        issuer.requests(Endpoint::Jwks)
    );

    // A 10 KB kid: over the layer's 8 KiB token cap…
    let huge = "k".repeat(10 * 1024);
    let huge_token = with_kid(&huge);
    expect(&app, &huge_token, 401, "10 KB kid, default cap").await;
    // …and, with the cap raised, refused by the verifier without a JWKS request.
    let roomy = app_with(
        BearerAuth::new(verifier)
            .profile(Profile::Spec)
            .max_token_len(64 * 1024),
    );
    let before = all_requests(&issuer);
    expect(&roomy, &huge_token, 401, "10 KB kid, raised cap").await;
    let huge_sql = format!("../../etc/passwd' OR '1'='1{}", "/..".repeat(3000));
    expect(&roomy, &with_kid(&huge_sql), 401, "12 KB path kid").await;
    assert_eq!(all_requests(&issuer), before, "a huge kid caused a fetch");

    expect(
        &app,
        &issuer.mint(issuer.claims_for(RESOURCE)),
        200,
        "after",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Boundaries: time, issuer, audience
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn time_issuer_and_audience_boundaries() {
    let issuer = TestIssuer::start().await.unwrap();
    let default_leeway = app(jwks_builder(&issuer).build().unwrap());
    let zero_leeway = app(jwks_builder(&issuer)
        .leeway(Duration::ZERO)
        .build()
        .unwrap());
    let t = now();
    let iss = issuer.issuer().to_owned();
    // (case, claim changes, status with the default 60 s leeway, status with no leeway)
    let cases: Vec<(&str, Value, u16, u16)> = vec![
        ("control", json!({}), 200, 200),
        ("exp = now + 5", json!({"exp": t + 5}), 200, 200),
        ("exp = now", json!({"exp": t}), 200, 401),
        ("exp = now - 1", json!({"exp": t - 1}), 200, 401),
        ("exp = now - 30", json!({"exp": t - 30}), 200, 401),
        ("exp = now - 60", json!({"exp": t - 60}), 401, 401),
        ("exp = now - 61", json!({"exp": t - 61}), 401, 401),
        ("exp = now - 3600", json!({"exp": t - 3600}), 401, 401),
        ("exp missing", json!({"exp": REMOVE}), 401, 401),
        ("exp null", json!({"exp": null}), 401, 401),
        (
            "exp as a string",
            json!({"exp": (t + 300).to_string()}),
            401,
            401,
        ),
        ("exp as a bool", json!({"exp": true}), 401, 401),
        ("exp as a float", json!({"exp": t as f64 + 300.5}), 200, 200),
        (
            "exp as a float, past",
            json!({"exp": t as f64 - 120.25}),
            401,
            401,
        ),
        ("exp huge (1e20)", json!({"exp": 1e20}), 401, 401),
        ("exp u64::MAX", json!({"exp": u64::MAX}), 401, 401),
        ("exp negative", json!({"exp": -1}), 401, 401),
        ("exp i64::MIN", json!({"exp": i64::MIN}), 401, 401),
        ("exp -1e20", json!({"exp": -1e20}), 401, 401),
        ("nbf = now - 10", json!({"nbf": t - 10}), 200, 200),
        ("nbf = now", json!({"nbf": t}), 200, 200),
        ("nbf = now + 30", json!({"nbf": t + 30}), 200, 401),
        ("nbf = now + 120", json!({"nbf": t + 120}), 401, 401),
        (
            "nbf as a string",
            json!({"nbf": (t - 10).to_string()}),
            401,
            401,
        ),
        ("nbf huge (1e20)", json!({"nbf": 1e20}), 401, 401),
        ("iat as a string", json!({"iat": t.to_string()}), 401, 401),
        (
            "iss with a trailing slash",
            json!({"iss": format!("{iss}/")}),
            401,
            401,
        ),
        ("iss missing", json!({"iss": REMOVE}), 401, 401),
        (
            "iss another issuer",
            json!({"iss": "https://evil.example"}),
            401,
            401,
        ),
        (
            "iss upper-case",
            json!({"iss": iss.to_ascii_uppercase()}),
            401,
            401,
        ),
        ("iss as an array", json!({"iss": [iss]}), 401, 401),
        (
            "aud wrong",
            json!({"aud": "https://other.example/mcp"}),
            401,
            401,
        ),
        ("aud missing", json!({"aud": REMOVE}), 401, 401),
        (
            "aud in an array",
            json!({"aud": ["https://other.example", RESOURCE]}),
            200,
            200,
        ),
        (
            "aud array without us",
            json!({"aud": ["https://other.example", "https://api.example"]}),
            401,
            401,
        ),
        ("aud empty array", json!({"aud": []}), 401, 401),
        (
            "aud array with a number",
            json!({"aud": [RESOURCE, 5]}),
            401,
            401,
        ),
        (
            "aud the parent URL",
            json!({"aud": "https://api.example"}),
            401,
            401,
        ),
        (
            "aud the parent URL /",
            json!({"aud": "https://api.example/"}),
            401,
            401,
        ),
        (
            "aud a child URL",
            json!({"aud": format!("{RESOURCE}/tools")}),
            401,
            401,
        ),
        (
            "aud with a trailing slash",
            json!({"aud": format!("{RESOURCE}/")}),
            401,
            401,
        ),
        (
            "aud a prefix",
            json!({"aud": "https://api.example/mc"}),
            401,
            401,
        ),
        ("aud as a number", json!({"aud": 5}), 401, 401),
        ("aud empty string", json!({"aud": ""}), 401, 401),
    ];
    for (case, changes, want_default, want_zero) in cases {
        let claims = patch(issuer.claims_for(RESOURCE), changes);
        let token = issuer.mint(claims);
        let seen = expect(&default_leeway, &token, want_default, case).await;
        if want_default == 200 {
            assert_eq!(seen["resource"], RESOURCE, "{case}: matched aud");
        }
        expect(
            &zero_leeway,
            &token,
            want_zero,
            &format!("{case} (no leeway)"),
        )
        .await;
    }
    // One fetch per verifier for the whole table.
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);

    // `require_exp(false)` lets a token without `exp` through, but not an expired one.
    let optional_exp = app(jwks_builder(&issuer).require_exp(false).build().unwrap());
    let no_exp = issuer.mint(patch(issuer.claims_for(RESOURCE), json!({"exp": REMOVE})));
    let seen = expect(&optional_exp, &no_exp, 200, "exp optional, missing").await;
    assert_eq!(seen["expires_at"], Value::Null);
    let expired = issuer.mint(patch(issuer.claims_for(RESOURCE), json!({"exp": t - 120})));
    expect(&optional_exp, &expired, 401, "exp optional, expired").await;
}

#[tokio::test]
async fn exp_i64_max_is_not_a_server_error() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(jwks_builder(&issuer).build().unwrap());
    for exp in [json!(i64::MAX), json!(i64::MAX - 30), json!(9.9e14)] {
        let token = issuer.mint(patch(issuer.claims_for(RESOURCE), json!({ "exp": exp })));
        let reply = call_bearer(&app, "/whoami", &token).await;
        assert!(
            reply.status == StatusCode::OK || reply.status == StatusCode::UNAUTHORIZED,
            "exp {exp}: {reply:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// `typ`, strict RFC 9068, ID tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn typ_variants_in_lenient_and_strict_mode() {
    let issuer = TestIssuer::start().await.unwrap();
    let lenient = app(jwks_builder(&issuer).build().unwrap());
    let strict = app(jwks_builder(&issuer).strict_rfc9068(true).build().unwrap());
    let kid = issuer.current_kid();
    // (typ, lenient, strict)
    let cases: [(Option<&str>, u16, u16); 20] = [
        (Some("at+jwt"), 200, 200),
        (Some("AT+JWT"), 200, 200),
        (Some("at+JWT"), 200, 200),
        (Some("application/at+jwt"), 200, 200),
        (Some("Application/AT+JWT"), 200, 200),
        (Some("JWT"), 200, 401),
        (Some("jwt"), 200, 401),
        (Some("application/jwt"), 200, 401),
        (None, 200, 401),
        (Some("id+jwt"), 401, 401),
        (Some("jwt+at"), 401, 401),
        (Some("application/jwt+at"), 401, 401),
        (Some(""), 401, 401),
        (Some(" at+jwt"), 401, 401),
        (Some("at+jwt "), 401, 401),
        (Some("at+jwt2"), 401, 401),
        (Some("logout+jwt"), 401, 401),
        (Some("secevent+jwt"), 401, 401),
        (Some("application/application/at+jwt"), 401, 401),
        (Some("JOSE"), 401, 401),
    ];
    for (typ, want_lenient, want_strict) in cases {
        let token = issuer
            .mint_with_header(
                header(Algorithm::RS256, typ, Some(&kid)),
                issuer.claims_for(RESOURCE),
            )
            .unwrap();
        expect(
            &lenient,
            &token,
            want_lenient,
            &format!("lenient typ {typ:?}"),
        )
        .await;
        expect(&strict, &token, want_strict, &format!("strict typ {typ:?}")).await;
    }
}

#[tokio::test]
async fn strict_mode_requires_the_rfc_9068_claims() {
    let issuer = TestIssuer::start().await.unwrap();
    let lenient = app(jwks_builder(&issuer).build().unwrap());
    let strict = app(jwks_builder(&issuer).strict_rfc9068(true).build().unwrap());
    expect(
        &strict,
        &issuer.mint(issuer.claims_for(RESOURCE)),
        200,
        "all present",
    )
    .await;
    // (missing claim, lenient, strict); in lenient mode iss (configured), exp, aud and the
    // client are still required.
    for (claim, want_lenient) in [
        ("iss", 401),
        ("exp", 401),
        ("aud", 401),
        ("sub", 200),
        ("client_id", 401),
        ("iat", 200),
        ("jti", 200),
    ] {
        let claims = patch(issuer.claims_for(RESOURCE), json!({ claim: REMOVE }));
        let token = issuer.mint(claims);
        expect(
            &lenient,
            &token,
            want_lenient,
            &format!("lenient without {claim}"),
        )
        .await;
        expect(&strict, &token, 401, &format!("strict without {claim}")).await;
    }
    // client_id missing but azp present: lenient takes azp, strict still wants client_id.
    let azp = issuer.mint(patch(
        issuer.claims_for(RESOURCE),
        json!({"client_id": REMOVE, "azp": "app-2"}),
    ));
    let seen = expect(&lenient, &azp, 200, "lenient azp").await;
    assert_eq!(seen["client_id"], "app-2");
    expect(&strict, &azp, 401, "strict azp only").await;
    // Strict: jti and sub must be strings.
    for (case, changes) in [
        ("jti a number", json!({"jti": 5})),
        ("sub a number", json!({"sub": 5})),
    ] {
        let token = issuer.mint(patch(issuer.claims_for(RESOURCE), changes));
        expect(&strict, &token, 401, &format!("strict {case}")).await;
    }
}

#[tokio::test]
async fn strict_typ_alone_keeps_the_azp_fallback_and_lenient_claims() {
    let issuer = TestIssuer::start().await.unwrap();
    let typed = app(jwks_builder(&issuer)
        .require_at_jwt_typ(true)
        .build()
        .unwrap());
    let strict = app(jwks_builder(&issuer).strict_rfc9068(true).build().unwrap());
    let kid = issuer.current_kid();
    let with_typ = |typ: Option<&str>, claims: Value| {
        issuer
            .mint_with_header(header(Algorithm::RS256, typ, Some(&kid)), claims)
            .unwrap()
    };
    let azp_only = patch(
        issuer.claims_for(RESOURCE),
        json!({"client_id": REMOVE, "azp": "app-2", "scope": ["a", "b"], "jti": REMOVE}),
    );

    // at+jwt, the client named by azp only, a scope array and no jti: strict typing alone accepts
    // it, strict RFC 9068 does not.
    let token = with_typ(Some("at+jwt"), azp_only.clone());
    let seen = expect(&typed, &token, 200, "strict typ, azp fallback").await;
    assert_eq!(seen["client_id"], "app-2");
    assert_eq!(seen["scopes"], json!(["a", "b"]));
    expect(&strict, &token, 401, "strict RFC 9068, azp only").await;

    // Any other typ is refused, as in strict RFC 9068 mode.
    for typ in [Some("JWT"), Some("application/jwt"), None, Some("id+jwt")] {
        let token = with_typ(typ, azp_only.clone());
        expect(&typed, &token, 401, &format!("strict typ {typ:?}")).await;
    }
    let token = with_typ(Some("application/AT+JWT"), azp_only);
    expect(&typed, &token, 200, "strict typ, application/AT+JWT").await;

    // Turning strict RFC 9068 off afterwards keeps the strict typing asked for.
    let still_typed = app(jwks_builder(&issuer)
        .require_at_jwt_typ(true)
        .strict_rfc9068(false)
        .build()
        .unwrap());
    let jwt = with_typ(Some("JWT"), issuer.claims_for(RESOURCE));
    expect(&still_typed, &jwt, 401, "strict typ kept").await;
}

#[tokio::test]
async fn id_token_from_the_same_issuer_is_refused_in_both_modes() {
    let issuer = TestIssuer::start().await.unwrap();
    let lenient = app(jwks_builder(&issuer).build().unwrap());
    let strict = app(jwks_builder(&issuer).strict_rfc9068(true).build().unwrap());
    let kid = issuer.current_kid();
    let t = now();
    let id_claims = json!({
        "iss": issuer.issuer(), "sub": "user-1", "aud": "client-1", "azp": "client-1",
        "nonce": "n-0S6_WzA2Mj", "iat": t, "exp": t + 300, "auth_time": t - 5,
        "email": "user-1@example.com",
    });
    let id_token = issuer
        .mint_with_header(
            header(Algorithm::RS256, Some("JWT"), Some(&kid)),
            id_claims.clone(),
        )
        .unwrap();
    let no_typ = issuer
        .mint_with_header(
            header(Algorithm::RS256, None, Some(&kid)),
            id_claims.clone(),
        )
        .unwrap();
    let array_aud = issuer
        .mint_with_header(
            header(Algorithm::RS256, Some("JWT"), Some(&kid)),
            patch(id_claims, json!({"aud": ["client-1"]})),
        )
        .unwrap();
    for (case, token) in [
        ("ID token", &id_token),
        ("ID token without typ", &no_typ),
        ("ID token, aud array", &array_aud),
    ] {
        expect(&lenient, token, 401, &format!("lenient {case}")).await;
        expect(&strict, token, 401, &format!("strict {case}")).await;
    }
    // Control: an access token from the same issuer passes both.
    let access = issuer.mint(issuer.claims_for(RESOURCE));
    expect(&lenient, &access, 200, "lenient access token").await;
    expect(&strict, &access, 200, "strict access token").await;
}

// ---------------------------------------------------------------------------------------------
// Scopes and the client
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn scope_shapes_and_client_claims() {
    let issuer = TestIssuer::start().await.unwrap();
    let lenient = app(jwks_builder(&issuer).build().unwrap());
    let strict = app(jwks_builder(&issuer).strict_rfc9068(true).build().unwrap());
    let scp = app(jwks_builder(&issuer).scp_claim(true).build().unwrap());
    let none: Vec<&str> = Vec::new();
    // (case, claim changes, lenient, strict, scp_claim(true)); `Some(scopes)` = 200 with them.
    type Want<'a> = Option<Vec<&'a str>>;
    let cases: Vec<(&str, Value, Want, Want, Want)> = vec![
        (
            "scope string",
            json!({"scope": "mcp:read mcp:write"}),
            Some(vec!["mcp:read", "mcp:write"]),
            Some(vec!["mcp:read", "mcp:write"]),
            Some(vec!["mcp:read", "mcp:write"]),
        ),
        (
            "scope string, extra spaces",
            json!({"scope": "  a   b "}),
            Some(vec!["a", "b"]),
            Some(vec!["a", "b"]),
            Some(vec!["a", "b"]),
        ),
        (
            "scope array",
            json!({"scope": ["a", "b"]}),
            Some(vec!["a", "b"]),
            None,
            Some(vec!["a", "b"]),
        ),
        (
            "scope array with a number",
            json!({"scope": ["a", 1]}),
            None,
            None,
            None,
        ),
        ("scope a number", json!({"scope": 5}), None, None, None),
        (
            "scope empty",
            json!({"scope": ""}),
            Some(none.clone()),
            Some(none.clone()),
            Some(none.clone()),
        ),
        (
            "no scope",
            json!({"scope": REMOVE}),
            Some(none.clone()),
            Some(none.clone()),
            Some(none.clone()),
        ),
        (
            "scp array",
            json!({"scope": REMOVE, "scp": ["x", "y"]}),
            Some(none.clone()),
            Some(none.clone()),
            Some(vec!["x", "y"]),
        ),
        (
            "scp string",
            json!({"scope": REMOVE, "scp": "x y"}),
            Some(none.clone()),
            Some(none.clone()),
            Some(vec!["x", "y"]),
        ),
        (
            "scope and scp",
            json!({"scope": "a", "scp": ["x"]}),
            Some(vec!["a"]),
            Some(vec!["a"]),
            Some(vec!["a"]),
        ),
    ];
    for (case, changes, want_lenient, want_strict, want_scp) in cases {
        let token = issuer.mint(patch(issuer.claims_for(RESOURCE), changes));
        for (mode, app, want) in [
            ("lenient", &lenient, want_lenient),
            ("strict", &strict, want_strict),
            ("scp", &scp, want_scp),
        ] {
            let case = format!("{mode}: {case}");
            match want {
                Some(scopes) => {
                    let seen = expect(app, &token, 200, &case).await;
                    assert_eq!(seen["scopes"], json!(scopes), "{case}");
                }
                None => {
                    expect(app, &token, 401, &case).await;
                }
            }
        }
    }

    // The client: client_id, else azp; neither → 401.
    for (case, changes, want) in [
        ("client_id", json!({}), Some("client-1")),
        (
            "client_id and azp",
            json!({"azp": "other"}),
            Some("client-1"),
        ),
        (
            "azp only",
            json!({"client_id": REMOVE, "azp": "app-2"}),
            Some("app-2"),
        ),
        ("neither", json!({"client_id": REMOVE}), None),
        ("client_id empty", json!({"client_id": ""}), None),
        ("azp empty", json!({"client_id": REMOVE, "azp": ""}), None),
        ("client_id null", json!({"client_id": null}), None),
    ] {
        let token = issuer.mint(patch(issuer.claims_for(RESOURCE), changes));
        match want {
            Some(client) => {
                let seen = expect(&lenient, &token, 200, case).await;
                assert_eq!(seen["client_id"], client, "{case}");
            }
            None => {
                expect(&lenient, &token, 401, case).await;
            }
        }
    }
}

/// RFC 9068 §2.2 requires `client_id` (RFC 8693 §4.3: a string). In strict mode a token whose
/// `client_id` is present but not a non-empty string must be refused, not mapped to its `azp`.
#[tokio::test]
async fn strict_mode_refuses_a_malformed_client_id() {
    let issuer = TestIssuer::start().await.unwrap();
    let strict = app(jwks_builder(&issuer).strict_rfc9068(true).build().unwrap());
    for (case, changes) in [
        (
            "client_id a number, azp",
            json!({"client_id": 5, "azp": "app-2"}),
        ),
        (
            "client_id empty, azp",
            json!({"client_id": "", "azp": "app-2"}),
        ),
        (
            "client_id null, azp",
            json!({"client_id": null, "azp": "app-2"}),
        ),
        (
            "client_id an array, azp",
            json!({"client_id": ["app-2"], "azp": "app-2"}),
        ),
    ] {
        let token = issuer.mint(patch(issuer.claims_for(RESOURCE), changes));
        expect(&strict, &token, 401, &format!("strict {case}")).await;
    }
}

/// The crate refuses a malformed `iss`, `sub`, `exp`, `scope` or `aud` rather than ignoring it;
/// a malformed `client_id` should not silently fall back to `azp` either.
#[tokio::test]
async fn lenient_mode_refuses_a_non_string_client_id() {
    let issuer = TestIssuer::start().await.unwrap();
    let lenient = app(jwks_builder(&issuer).build().unwrap());
    for (case, changes) in [
        (
            "client_id a number, azp",
            json!({"client_id": 5, "azp": "app-2"}),
        ),
        (
            "client_id an array, azp",
            json!({"client_id": ["app-2"], "azp": "app-2"}),
        ),
    ] {
        let token = issuer.mint(patch(issuer.claims_for(RESOURCE), changes));
        expect(&lenient, &token, 401, &format!("lenient {case}")).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Several issuers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn multi_issuer_routes_by_iss_and_checks_the_keys() {
    let a = TestIssuer::builder().path("/a").start().await.unwrap();
    let b = TestIssuer::builder().path("/b").start().await.unwrap();
    // Both name their first key `rs256-0`: give B a kid of its own only.
    let b_kid = b.rotate();
    assert!(b.retire("rs256-0"));
    let a_kid = a.current_kid();
    assert_ne!(a_kid, b_kid);
    let c = TestIssuer::builder()
        .algorithm(Algorithm::ES256)
        .start()
        .await
        .unwrap();

    let va = JwtVerifier::builder()
        .audience(RESOURCE)
        .discover(a.issuer())
        .unwrap()
        .build()
        .unwrap();
    let vb = jwks_builder(&b).build().unwrap();
    let multi = MultiIssuerVerifier::new([va, vb]).unwrap();
    let app = app(multi);

    let token_a = a.mint(a.claims_for(RESOURCE));
    let seen = expect(&app, &token_a, 200, "A").await;
    assert_eq!(seen["issuer"], a.issuer());
    let token_b = b.mint(b.claims_for(RESOURCE));
    let seen = expect(&app, &token_b, 200, "B").await;
    assert_eq!(seen["issuer"], b.issuer());
    assert_eq!(seen["client_id"], "client-1");

    let b_signing_as_a = b.mint(a.claims_for(RESOURCE));
    let b_key_a_kid = b
        .mint_with_header(
            header(Algorithm::RS256, Some("at+jwt"), Some(&a_kid)),
            a.claims_for(RESOURCE),
        )
        .unwrap();
    let a_signing_as_b = a.mint(b.claims_for(RESOURCE));
    let c_signing_as_a = c.mint(a.claims_for(RESOURCE));
    for (case, token) in [
        ("iss A, signed by B", &b_signing_as_a),
        ("iss A, signed by B under A's kid", &b_key_a_kid),
        ("iss B, signed by A", &a_signing_as_b),
        ("iss A, signed by an ES256 issuer", &c_signing_as_a),
    ] {
        expect(&app, token, 401, case).await;
    }

    a.reset_counters();
    b.reset_counters();
    let unknown = a.mint(patch(a.claims_for(RESOURCE), json!({"iss": c.issuer()})));
    let cases = [
        ("unknown iss", unknown),
        (
            "iss missing",
            a.mint(patch(a.claims_for(RESOURCE), json!({"iss": REMOVE}))),
        ),
        (
            "iss with a trailing slash",
            a.mint(patch(
                a.claims_for(RESOURCE),
                json!({"iss": format!("{}/", a.issuer())}),
            )),
        ),
        (
            "iss a number",
            a.mint(patch(a.claims_for(RESOURCE), json!({"iss": 7}))),
        ),
        (
            "iss an array",
            a.mint(patch(a.claims_for(RESOURCE), json!({"iss": [a.issuer()]}))),
        ),
        ("not a JWT", "not-a-jwt".to_owned()),
    ];
    for (case, token) in &cases {
        expect(&app, token, 401, case).await;
    }
    // Refused before any key lookup: neither issuer was asked.
    assert_eq!(all_requests(&a), [0, 0, 0, 0]);
    assert_eq!(all_requests(&b), [0, 0, 0, 0]);
    assert_eq!(all_requests(&c), [0, 0, 0, 0]);
}

// ---------------------------------------------------------------------------------------------
// Debug
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn debug_never_shows_keys_or_tokens() {
    let issuer = TestIssuer::start().await.unwrap();
    let kid = issuer.current_kid();
    let pem = issuer.public_key_pem(&kid).unwrap();
    let jwk = serde_json::to_value(issuer.public_jwk(&kid).unwrap()).unwrap();
    let modulus = jwk["n"].as_str().unwrap();
    let token = issuer.mint(issuer.claims_for(RESOURCE));
    let secret = std::str::from_utf8(HMAC_SECRET).unwrap();
    let secret_bytes = format!("{:?}", &HMAC_SECRET[..8]);
    let secret_bytes = secret_bytes.trim_end_matches(']');

    let remote = jwks_builder(&issuer).build().unwrap();
    let hmac = JwtVerifier::builder()
        .issuer("https://as.example")
        .audience(RESOURCE)
        .hmac_secret("hs-1", HMAC_SECRET)
        .unwrap()
        .build()
        .unwrap();
    let pem_verifier = JwtVerifier::builder()
        .issuer(issuer.issuer())
        .audience(RESOURCE)
        .rsa_pem(&kid, pem)
        .unwrap()
        .build()
        .unwrap();
    // Use them first, so the fetched keys and a verified token are in memory.
    expect(&app(remote.clone()), &token, 200, "remote").await;
    expect(&app(pem_verifier.clone()), &token, 200, "pem").await;
    let multi = MultiIssuerVerifier::new([remote.clone(), hmac.clone()]).unwrap();
    expect(&app(multi.clone()), &token, 200, "multi").await;

    let pem_body: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    for (what, debug) in [
        ("remote", format!("{remote:?}")),
        ("remote {:#?}", format!("{remote:#?}")),
        ("hmac", format!("{hmac:?}")),
        ("hmac {:#?}", format!("{hmac:#?}")),
        ("pem", format!("{pem_verifier:?}")),
        ("multi", format!("{multi:?}")),
        ("multi {:#?}", format!("{multi:#?}")),
    ] {
        assert!(debug.starts_with("JwtVerifier") || debug.starts_with("MultiIssuerVerifier"));
        for (name, needle) in [
            ("the token", token.as_str()),
            ("the token's signature", segments(&token).2),
            ("the PEM armour", "BEGIN"),
            ("the PEM body", &pem_body[..40]),
            ("the JWK modulus", &modulus[..24]),
            ("the HMAC secret", secret),
            ("the HMAC secret bytes", secret_bytes),
        ] {
            assert!(
                !debug.contains(needle),
                "{what} Debug shows {name}: {debug}"
            );
        }
    }
    // The issuers are fine to show.
    assert!(format!("{multi:?}").contains(issuer.issuer()));
}
