//! The harness the fuzz targets share: a runtime, a verifier over the test fixtures, and the
//! invariants every response must keep. A broken invariant panics, which libFuzzer reports as a
//! crash with the input that caused it.

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, OnceLock},
};

use axum::http::{StatusCode, header::WWW_AUTHENTICATE};
use axum_bearer::{
    __fuzz, JwtVerifier, Profile, StaticVerifier, TokenVerifier, VerifyError, verifier_fn,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;
use tokio::runtime::Runtime;

/// The integration tests' harness: fixtures, `send`, and the RFC 9110 challenge parser.
#[path = "../../tests/common/mod.rs"]
pub mod common;

pub use common::Reply;

/// The HS256 secret of the fuzzing JWT verifier (the seeds are signed with it).
pub const JWT_SECRET: &[u8] = b"fuzzing-secret-fuzzing-secret-0123456789";

/// The DPoP client key of the DPoP targets: the public test key `p256-0`, its public `jwk` as a
/// proof header carries it, and its RFC 7638 thumbprint.
pub struct DpopKey {
    pub encoding: axum_bearer::jsonwebtoken::EncodingKey,
    pub jwk: Value,
    pub jkt: String,
}

/// The [`DpopKey`], loaded once.
pub fn dpop_key() -> &'static DpopKey {
    use axum_bearer::jsonwebtoken::{Algorithm, EncodingKey, jwk::Jwk};
    static KEY: OnceLock<DpopKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pem = include_bytes!("../../src/testing/keys/p256-0.pem");
        let encoding = EncodingKey::from_ec_pem(pem).expect("p256-0");
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).expect("a jwk");
        jwk.common = Default::default();
        let jkt = axum_bearer::dpop::jwk_thumbprint(&jwk).expect("a thumbprint");
        DpopKey {
            encoding,
            jwk: serde_json::to_value(&jwk).expect("JSON"),
            jkt,
        }
    })
}

/// A valid DPoP proof header for [`dpop_key`]: `dpop+jwt`, ES256, its public `jwk`.
pub fn dpop_header() -> Vec<u8> {
    serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": dpop_key().jwk})
        .to_string()
        .into_bytes()
}

/// `header` and `claims` (any bytes) as a compact JWS signed with [`dpop_key`] (ES256).
pub fn sign_dpop(header: &[u8], claims: &[u8]) -> String {
    use axum_bearer::jsonwebtoken::{Algorithm, crypto};
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature =
        crypto::sign(message.as_bytes(), &dpop_key().encoding, Algorithm::ES256).expect("signed");
    format!("{message}.{signature}")
}

/// The statuses the layer may answer with.
pub const ALLOWED: [u16; 5] = [200, 400, 401, 403, 503];

/// Runs `future` to completion on a runtime kept for the whole fuzzing run.
pub fn block_on<F: Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a current-thread runtime")
        })
        .block_on(future)
}

/// The input split into lines (`\n`), each read as UTF-8 with invalid bytes replaced.
pub fn lines(data: &[u8]) -> Vec<String> {
    data.split(|&b| b == b'\n')
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect()
}

/// An HS256 `JwtVerifier` for `__fuzz::ISSUER` and `__fuzz::AUDIENCE`.
pub fn jwt_verifier(max_claims_size: usize) -> JwtVerifier {
    JwtVerifier::builder()
        .issuer(__fuzz::ISSUER)
        .audience(__fuzz::AUDIENCE)
        .max_claims_size(max_claims_size)
        .hmac_secret("fuzz", JWT_SECRET)
        .expect("a 32-byte secret")
        .build()
        .expect("a complete JWT verifier")
}

/// `header.payload.signature` with `payload` as given (any bytes), signed with [`JWT_SECRET`].
pub fn sign_jwt(payload: &[u8]) -> String {
    sign_jwt_with_header(br#"{"alg":"HS256","typ":"at+jwt","kid":"fuzz"}"#, payload)
}

/// `header.payload.signature` with both parts as given (any bytes), signed with [`JWT_SECRET`].
pub fn sign_jwt_with_header(header: &[u8], payload: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = hs256(&message);
    format!("{message}.{signature}")
}

/// The base64url HS256 signature of `message` with [`JWT_SECRET`].
pub fn hs256(message: &str) -> String {
    use axum_bearer::jsonwebtoken::{Algorithm, EncodingKey, crypto};
    crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(JWT_SECRET).expect("an HMAC key"),
        Algorithm::HS256,
    )
    .expect("HS256 signs anything")
}

/// The fixtures of the integration tests; a token starting with `down` finds the back end down
/// (503); a token with a dot goes to [`jwt_verifier`].
pub fn fixture_verifier() -> impl TokenVerifier + Clone {
    let tokens = Arc::new(StaticVerifier::new(common::fixtures()));
    let jwt = Arc::new(jwt_verifier(axum_bearer::DEFAULT_MAX_JWT_CLAIMS_SIZE));
    verifier_fn(move |token: String| {
        let (tokens, jwt) = (tokens.clone(), jwt.clone());
        async move {
            if token.starts_with("down") {
                Err(VerifyError::unavailable("fuzzing: back end down"))
            } else if token.contains('.') {
                jwt.verify(&token).await
            } else {
                tokens.verify(&token).await
            }
        }
    })
}

/// Checks what holds for every response of a route behind the layer, and returns the parsed
/// challenge, if any:
/// - the status is one of [`ALLOWED`], and never 400 in `PythonSdk`;
/// - exactly one `WWW-Authenticate` on 400/401/403, none otherwise; it parses under RFC 9110 §11
///   with each parameter once and values within RFC 6750's character sets, and is never bare;
/// - every refusal has a JSON object body, `Content-Type: application/json`, and its `error`
///   equals the challenge's (both absent in `Spec` when there is none).
pub fn check_reply(reply: &Reply, profile: Profile) -> Option<BTreeMap<String, String>> {
    let status = reply.status.as_u16();
    assert!(ALLOWED.contains(&status), "status {status}");
    assert!(
        !(profile == Profile::PythonSdk && status == 400),
        "400 in PythonSdk"
    );
    let challenges = reply.headers.get_all(WWW_AUTHENTICATE).iter().count();
    let wants_challenge = matches!(status, 400 | 401 | 403);
    assert_eq!(
        challenges,
        usize::from(wants_challenge),
        "{status} with {challenges} challenge(s)"
    );
    if reply.status == StatusCode::OK {
        return None;
    }
    assert_eq!(reply.content_type(), Some("application/json"), "{status}");
    let body: Value = serde_json::from_slice(&reply.body).expect("a JSON body");
    let body = body.as_object().expect("a JSON object body");
    if !wants_challenge {
        return None;
    }
    let params = reply.challenge();
    assert!(!params.is_empty(), "a bare challenge");
    let body_error = body
        .get("error")
        .map(|error| error.as_str().expect("a string error"));
    assert_eq!(
        params.get("error").map(String::as_str),
        body_error,
        "challenge and body disagree on error"
    );
    if profile == Profile::PythonSdk {
        assert!(body_error.is_some(), "PythonSdk always names the error");
    }
    Some(params)
}
