#![cfg(all(feature = "dpop", feature = "testing"))]
//! `dpop::DpopVerifier`: one DPoP proof for one request (RFC 9449 §4.3), proofs made by the
//! testing kit's `DpopProver`.
//!
//! - a valid proof for each algorithm, with the key's RFC 7638 thumbprint;
//! - every check failing alone → its `DpopError`, status and error code;
//! - the `iat` window at both edges, `htu` normalisation, the replay window, a store that is down;
//! - a property: no proof is accepted for a method or URL other than the one it was signed for.

mod common;

use std::time::Duration;

use axum_bearer::{
    dpop::{
        DpopConfigError, DpopError, DpopErrorCode, DpopRequest, DpopVerifier, InMemoryReplayStore,
        access_token_hash, jwk_thumbprint,
    },
    jsonwebtoken::{
        Algorithm,
        crypto::CryptoProvider,
        jwk::{Jwk, ThumbprintHash},
    },
    testing::{DpopProver, ProofBuilder},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{HeaderValue, Method, StatusCode};
use proptest::prelude::*;
use serde_json::{Value, json};

const URL: &str = "https://api.example/mcp";
const TOKEN: &str = "access-token-1";
const NOW: i64 = 1_800_000_000;

fn verifier() -> DpopVerifier {
    DpopVerifier::builder().build().expect("defaults")
}

fn es256() -> DpopProver {
    DpopProver::new(Algorithm::ES256).expect("ES256")
}

fn post() -> DpopRequest<'static> {
    DpopRequest::new(&Method::POST, URL).access_token(TOKEN)
}

/// `check_at(NOW)` of one proof for `POST URL` with `TOKEN`.
fn check(verifier: &DpopVerifier, proof: &str) -> Result<String, DpopError> {
    let value = HeaderValue::from_str(proof).expect("header value");
    verifier
        .check_at([&value], &post(), NOW)
        .map(|checked| checked.jkt().to_owned())
}

/// The RFC 7638 thumbprint computed here from the members, independently of the crate's code.
fn rfc7638(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str() {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        Some("RSA") => &["e", "kty", "n"],
        other => panic!("kty {other:?}"),
    };
    let canonical = members
        .iter()
        .map(|name| format!("\"{name}\":\"{}\"", jwk[*name].as_str().expect("string")))
        .collect::<Vec<_>>()
        .join(",");
    let provider = CryptoProvider::try_get_default().expect("provider");
    let digest = (provider.key_utils.compute_digest)(
        format!("{{{canonical}}}").as_bytes(),
        ThumbprintHash::SHA256,
    )
    .expect("digest");
    URL_SAFE_NO_PAD.encode(digest)
}

#[tokio::test]
async fn a_valid_proof_for_each_algorithm_gives_the_keys_thumbprint() {
    let verifier = DpopVerifier::builder()
        .algorithms([
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
            Algorithm::RS256,
            Algorithm::PS256,
        ])
        .build()
        .expect("settings");
    for algorithm in [
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::RS256,
        Algorithm::PS256,
    ] {
        let prover = DpopProver::new(algorithm).expect("algorithm");
        let proof = prover.proof("POST", URL).access_token(TOKEN).header_value();
        let accepted = verifier
            .verify([&proof], &post())
            .await
            .unwrap_or_else(|error| panic!("{algorithm:?}: {error}"));
        assert_eq!(accepted.jkt, prover.jkt(), "{algorithm:?}");
        assert_eq!(accepted.jkt, rfc7638(prover.public_jwk()), "{algorithm:?}");
        assert_eq!(accepted.jkt.len(), 43);
    }
    // The default list: ES256, EdDSA, RS256, PS256.
    assert_eq!(
        self::verifier().algorithm_names().collect::<Vec<_>>(),
        ["ES256", "EdDSA", "RS256", "PS256"]
    );
}

#[test]
fn the_thumbprint_is_rfc_7638s() {
    // RFC 7638 §3.1, the example key and its thumbprint.
    let jwk: Jwk = serde_json::from_value(json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    }))
    .expect("jwk");
    assert_eq!(
        jwk_thumbprint(&jwk).as_deref(),
        Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
    );
    // RFC 9449 §4.2: ath of the example token… checked here against an independent hash.
    let provider = CryptoProvider::try_get_default().expect("provider");
    let digest =
        (provider.key_utils.compute_digest)(TOKEN.as_bytes(), ThumbprintHash::SHA256).unwrap();
    assert_eq!(
        access_token_hash(TOKEN),
        Some(URL_SAFE_NO_PAD.encode(digest))
    );
}

/// Expects `error` and its status and error code.
fn assert_refused(result: Result<String, DpopError>, error: DpopError, case: &str) {
    let got = result.expect_err(case);
    assert_eq!(got, error, "{case}");
    match error {
        DpopError::NonceRequired | DpopError::NonceInvalid => {
            assert_eq!(got.code(), DpopErrorCode::UseDpopNonce, "{case}");
            assert_eq!(got.error_code(), Some("use_dpop_nonce"), "{case}");
            assert_eq!(got.status(), StatusCode::UNAUTHORIZED, "{case}");
        }
        DpopError::ReplayStoreUnavailable => {
            assert_eq!(got.error_code(), None, "{case}");
            assert_eq!(got.status(), StatusCode::SERVICE_UNAVAILABLE, "{case}");
        }
        _ => {
            assert_eq!(got.code(), DpopErrorCode::InvalidDpopProof, "{case}");
            assert_eq!(got.error_code(), Some("invalid_dpop_proof"), "{case}");
            assert_eq!(got.status(), StatusCode::UNAUTHORIZED, "{case}");
        }
    }
    // The text names the check, never the proof or the token.
    let text = got.to_string();
    assert!(
        !text.contains(TOKEN) && !text.contains("eyJ"),
        "{case}: {text}"
    );
}

#[test]
fn every_check_failing_alone_is_refused_with_its_error() {
    let verifier = verifier();
    let prover = es256();
    fn at(p: &DpopProver) -> ProofBuilder<'_> {
        p.proof("POST", URL).access_token(TOKEN).iat(NOW)
    }
    let valid = at(&prover).sign();
    assert_eq!(check(&verifier, &valid).as_deref(), Ok(prover.jkt()));

    // 1. Exactly one DPoP header.
    let value = HeaderValue::from_str(&valid).unwrap();
    let none: [&HeaderValue; 0] = [];
    assert_eq!(
        verifier.check_at(none, &post(), NOW).unwrap_err(),
        DpopError::Missing
    );
    assert_eq!(
        verifier
            .check_at([&value, &value], &post(), NOW)
            .unwrap_err(),
        DpopError::MultipleProofs
    );
    let tiny = DpopVerifier::builder()
        .max_proof_size(valid.len() - 1)
        .build()
        .unwrap();
    assert_refused(check(&tiny, &valid), DpopError::TooLarge, "too large");

    // 2. A well-formed JWS.
    let (message, signature) = valid.rsplit_once('.').unwrap();
    let (header, claims) = message.split_once('.').unwrap();
    let b64 = |json: &str| URL_SAFE_NO_PAD.encode(json);
    for (case, proof) in [
        ("two parts", message.to_owned()),
        ("four parts", format!("{valid}.x")),
        ("padded header", format!("{header}=.{claims}.{signature}")),
        ("not base64url", format!("{header}.{claims}+.{signature}")),
        (
            "header not JSON",
            format!("{}.{claims}.{signature}", b64("{")),
        ),
        (
            "header an array",
            format!("{}.{claims}.{signature}", b64("[]")),
        ),
        (
            "claims not an object",
            format!("{header}.{}.{signature}", b64("1")),
        ),
        ("empty", String::new()),
    ] {
        assert_refused(check(&verifier, &proof), DpopError::Malformed, case);
    }
    // An empty signature is a well-formed (unsecured) JWS, refused by the signature check.
    let unsigned = format!("{message}.");
    assert_refused(
        check(&verifier, &unsigned),
        DpopError::Signature,
        "no signature",
    );
    let crit = at(&prover).header("crit", json!(["exp"])).sign();
    assert_refused(check(&verifier, &crit), DpopError::Malformed, "crit");

    // 4. typ.
    for typ in [json!("jwt"), json!("at+jwt"), json!(1), Value::Null] {
        let proof = at(&prover).header("typ", typ.clone()).sign();
        assert_refused(
            check(&verifier, &proof),
            DpopError::Type,
            &format!("typ {typ}"),
        );
    }
    let proof = at(&prover).without_header("typ").sign();
    assert_refused(check(&verifier, &proof), DpopError::Type, "no typ");
    let proof = at(&prover).header("typ", "application/DPoP+JWT").sign();
    assert!(check(&verifier, &proof).is_ok(), "typ is a media type");

    // 5. alg: allowed and asymmetric.
    let proof = at(&prover).unsigned().sign();
    assert_refused(check(&verifier, &proof), DpopError::Algorithm, "none");
    let proof = at(&prover)
        .hs256(b"a shared secret, 32 bytes long!!")
        .sign();
    assert_refused(check(&verifier, &proof), DpopError::Algorithm, "HS256");
    let proof = at(&prover).without_header("alg").sign();
    assert_refused(check(&verifier, &proof), DpopError::Algorithm, "no alg");
    let eddsa_only = DpopVerifier::builder()
        .algorithms([Algorithm::EdDSA])
        .build()
        .unwrap();
    assert_refused(
        check(&eddsa_only, &valid),
        DpopError::Algorithm,
        "not allowed",
    );

    // jwk: present, of the algorithm's type.
    let proof = at(&prover).without_header("jwk").sign();
    assert_refused(check(&verifier, &proof), DpopError::Key, "no jwk");
    let rsa = DpopProver::new(Algorithm::RS256).unwrap();
    let proof = at(&prover).header("jwk", rsa.public_jwk().clone()).sign();
    assert_refused(check(&verifier, &proof), DpopError::Key, "RSA jwk, ES256");
    let p384 = DpopProver::new(Algorithm::ES384).unwrap();
    let proof = at(&prover).header("jwk", p384.public_jwk().clone()).sign();
    assert_refused(check(&verifier, &proof), DpopError::Key, "P-384 jwk, ES256");

    // 7. No private key material.
    for member in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
        let mut jwk = prover.public_jwk().clone();
        jwk[member] = json!("AAAA");
        let proof = at(&prover).header("jwk", jwk).sign();
        assert_refused(check(&verifier, &proof), DpopError::PrivateKey, member);
    }
    let proof = at(&prover).private_key_in_jwk().sign();
    assert_refused(check(&verifier, &proof), DpopError::PrivateKey, "d");

    // 6. The signature, with the header's key.
    let proof = at(&prover).bad_signature().sign();
    assert_refused(
        check(&verifier, &proof),
        DpopError::Signature,
        "bad signature",
    );
    let other = DpopProver::with_key(Algorithm::ES256, 1).unwrap();
    let proof = at(&prover).header("jwk", other.public_jwk().clone()).sign();
    assert_refused(
        check(&verifier, &proof),
        DpopError::Signature,
        "another key's jwk",
    );

    // 3. jti.
    for (case, proof) in [
        ("no jti", at(&prover).without_claim("jti").sign()),
        ("numeric jti", at(&prover).claim("jti", 7).sign()),
        ("empty jti", at(&prover).jti("").sign()),
        ("long jti", at(&prover).jti(&"j".repeat(257)).sign()),
    ] {
        assert_refused(check(&verifier, &proof), DpopError::Jti, case);
    }
    assert!(check(&verifier, &at(&prover).jti(&"j".repeat(256)).sign()).is_ok());

    // 8. htm.
    for (case, proof) in [
        ("no htm", at(&prover).without_claim("htm").sign()),
        ("GET", at(&prover).claim("htm", "GET").sign()),
        ("post", at(&prover).claim("htm", "post").sign()),
        ("numeric", at(&prover).claim("htm", 1).sign()),
    ] {
        assert_refused(check(&verifier, &proof), DpopError::Method, case);
    }

    // 9. htu.
    for (case, proof) in [
        ("no htu", at(&prover).without_claim("htu").sign()),
        (
            "another path",
            at(&prover).claim("htu", "https://api.example/other").sign(),
        ),
        (
            "another host",
            at(&prover).claim("htu", "https://evil.example/mcp").sign(),
        ),
        (
            "http",
            at(&prover).claim("htu", "http://api.example/mcp").sign(),
        ),
        (
            "another port",
            at(&prover)
                .claim("htu", "https://api.example:8443/mcp")
                .sign(),
        ),
        ("relative", at(&prover).claim("htu", "/mcp").sign()),
        (
            "trailing slash",
            at(&prover).claim("htu", "https://api.example/mcp/").sign(),
        ),
    ] {
        assert_refused(check(&verifier, &proof), DpopError::Uri, case);
    }

    // 11. iat.
    for (case, proof) in [
        ("no iat", at(&prover).without_claim("iat").sign()),
        (
            "string iat",
            at(&prover).claim("iat", NOW.to_string()).sign(),
        ),
        ("old", at(&prover).iat(NOW - 3600).sign()),
    ] {
        assert_refused(check(&verifier, &proof), DpopError::IssuedAt, case);
    }

    // 12. ath.
    for (case, proof) in [
        ("no ath", at(&prover).without_claim("ath").sign()),
        (
            "another token's ath",
            prover
                .proof("POST", URL)
                .access_token("another")
                .iat(NOW)
                .sign(),
        ),
        ("ath of nothing", at(&prover).claim("ath", "").sign()),
    ] {
        assert_refused(check(&verifier, &proof), DpopError::AccessTokenHash, case);
    }
    // Without an access token, `ath` is not required.
    let value = HeaderValue::from_str(&prover.proof("POST", URL).iat(NOW).sign()).unwrap();
    assert!(
        verifier
            .check_at([&value], &DpopRequest::new(&Method::POST, URL), NOW)
            .is_ok()
    );
}

#[test]
fn a_nonce_is_checked_by_the_hook_when_one_is_configured() {
    let verifier = DpopVerifier::builder()
        .nonce_check(|nonce: &str| nonce == "fresh")
        .build()
        .unwrap();
    let prover = es256();
    let at = || prover.proof("POST", URL).access_token(TOKEN).iat(NOW);
    assert!(check(&verifier, &at().nonce("fresh").sign()).is_ok());
    assert_refused(
        check(&verifier, &at().sign()),
        DpopError::NonceRequired,
        "no nonce",
    );
    assert_refused(
        check(&verifier, &at().nonce("stale").sign()),
        DpopError::NonceInvalid,
        "stale",
    );
    assert_refused(
        check(&verifier, &at().claim("nonce", 1).sign()),
        DpopError::NonceInvalid,
        "numeric",
    );
    // Without a hook, a nonce is ignored.
    assert!(check(&self::verifier(), &at().nonce("anything").sign()).is_ok());
}

#[test]
fn the_iat_window_is_the_whole_allowance_both_ways() {
    let prover = es256();
    let verifier = verifier();
    for (offset, accepted) in [
        (-300, true),
        (-301, false),
        (300, true),
        (301, false),
        (0, true),
    ] {
        let proof = prover
            .proof("POST", URL)
            .access_token(TOKEN)
            .iat(NOW + offset)
            .sign();
        assert_eq!(
            check(&verifier, &proof).is_ok(),
            accepted,
            "iat now{offset:+}"
        );
    }
    let narrow = DpopVerifier::builder()
        .iat_window(Duration::from_secs(5))
        .build()
        .unwrap();
    let proof = |offset| {
        prover
            .proof("POST", URL)
            .access_token(TOKEN)
            .iat(NOW + offset)
            .sign()
    };
    assert!(check(&narrow, &proof(5)).is_ok());
    assert_eq!(check(&narrow, &proof(-6)), Err(DpopError::IssuedAt));
}

#[test]
fn htu_is_compared_after_normalisation_without_query_and_fragment() {
    let prover = es256();
    let verifier = verifier();
    let request_htu = "https://api.example/mcp/a~b";
    for htu in [
        "https://api.example/mcp/a~b",
        "https://api.example:443/mcp/a~b",
        "HTTPS://API.Example/mcp/a~b",
        "https://api.example./mcp/a~b",
        "https://api.example/mcp/a%7Eb",
        "https://api.example/mcp/a%7eb",
        "https://api.example/%6Dcp/a~b",
        "https://api.example/mcp/a~b?page=2",
        "https://api.example/mcp/a~b#top",
    ] {
        let proof = HeaderValue::from_str(&prover.proof("GET", htu).iat(NOW).sign()).unwrap();
        for request in [request_htu, "https://API.example:443/mcp/a%7eb?q=1#f"] {
            assert!(
                verifier
                    .check_at([&proof], &DpopRequest::new(&Method::GET, request), NOW)
                    .is_ok(),
                "proof {htu}, request {request}"
            );
        }
    }
    let proof = HeaderValue::from_str(
        &prover
            .proof("GET", "https://api.example/a%2fb")
            .iat(NOW)
            .sign(),
    )
    .unwrap();
    assert_eq!(
        verifier
            .check_at(
                [&proof],
                &DpopRequest::new(&Method::GET, "https://api.example/a/b"),
                NOW
            )
            .unwrap_err(),
        DpopError::Uri,
        "an encoded slash is not a slash"
    );
}

#[tokio::test]
async fn the_same_proof_twice_is_a_replay() {
    let verifier = verifier();
    let prover = es256();
    let proof = prover.proof("POST", URL).access_token(TOKEN).header_value();
    verifier.verify([&proof], &post()).await.expect("first use");
    assert_eq!(
        verifier.verify([&proof], &post()).await,
        Err(DpopError::Replayed)
    );
    assert_eq!(DpopError::Replayed.status(), StatusCode::UNAUTHORIZED);
    // The same jti with another key is another proof.
    let other = DpopProver::with_key(Algorithm::ES256, 2).unwrap();
    let jti = "shared-jti";
    for prover in [&prover, &other] {
        let proof = prover
            .proof("POST", URL)
            .access_token(TOKEN)
            .jti(jti)
            .header_value();
        verifier
            .verify([&proof], &post())
            .await
            .expect("new for this key");
    }
    // A clone shares the window.
    let proof = prover
        .proof("POST", URL)
        .access_token(TOKEN)
        .jti(jti)
        .header_value();
    assert_eq!(
        verifier.clone().verify([&proof], &post()).await,
        Err(DpopError::Replayed)
    );
}

#[tokio::test]
async fn a_store_that_is_down_or_full_refuses_with_503_never_accepts() {
    let prover = es256();
    let down = DpopVerifier::builder()
        .replay_store(common::DownReplayStore)
        .build()
        .unwrap();
    let proof = prover.proof("POST", URL).access_token(TOKEN).header_value();
    let error = down.verify([&proof], &post()).await.unwrap_err();
    assert_eq!(error, DpopError::ReplayStoreUnavailable);
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error.code(), DpopErrorCode::TemporarilyUnavailable);

    let full = DpopVerifier::builder()
        .replay_store(InMemoryReplayStore::new(1))
        .build()
        .unwrap();
    let first = prover.proof("POST", URL).access_token(TOKEN).header_value();
    full.verify([&first], &post()).await.expect("room for one");
    let second = prover.proof("POST", URL).access_token(TOKEN).header_value();
    assert_eq!(
        full.verify([&second], &post()).await,
        Err(DpopError::ReplayStoreUnavailable)
    );
    // The live jti is still remembered.
    assert_eq!(
        full.verify([&first], &post()).await,
        Err(DpopError::Replayed)
    );
}

#[test]
fn the_builder_refuses_what_cannot_be_safe() {
    assert_eq!(
        DpopVerifier::builder()
            .algorithms([Algorithm::ES256, Algorithm::HS256])
            .build()
            .unwrap_err(),
        DpopConfigError::SymmetricAlgorithm(Algorithm::HS256)
    );
    assert_eq!(
        DpopVerifier::builder().algorithms([]).build().unwrap_err(),
        DpopConfigError::NoAlgorithm
    );
    for window in [Duration::ZERO, Duration::from_secs(3601)] {
        assert_eq!(
            DpopVerifier::builder()
                .iat_window(window)
                .build()
                .unwrap_err(),
            DpopConfigError::Window
        );
    }
    assert_eq!(
        DpopVerifier::builder()
            .max_proof_size(0)
            .build()
            .unwrap_err(),
        DpopConfigError::Bound
    );
    assert!(DpopProver::new(Algorithm::HS256).is_none());
}

#[test]
fn debug_output_holds_no_token() {
    let request = post();
    let text = format!("{request:?} {:?}", verifier());
    assert!(!text.contains(TOKEN), "{text}");
}

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// No proof is accepted for a method or URL other than the one it was signed for.
    #[test]
    fn a_proof_is_only_good_for_its_method_and_url(
        signed_method in prop::sample::select(&METHODS[..]),
        asked_method in prop::sample::select(&METHODS[..]),
        signed_path in "(/[a-zA-Z0-9%~._-]{0,6}){1,3}",
        asked_path in "(/[a-zA-Z0-9%~._-]{0,6}){1,3}",
        signed_host in prop::sample::select(&["api.example", "API.example", "other.example"][..]),
        asked_host in prop::sample::select(&["api.example", "other.example"][..]),
        same_method in any::<bool>(),
        same_url in any::<bool>(),
    ) {
        let prover = es256();
        let verifier = verifier();
        // Half the cases ask with the signed method, half for the signed URL, so the other half
        // of each differs in the one part that must still refuse the proof.
        let asked_method = if same_method { signed_method } else { asked_method };
        let signed = format!("https://{signed_host}{signed_path}");
        let asked = if same_url {
            signed.clone()
        } else {
            format!("https://{asked_host}{asked_path}")
        };
        let proof = HeaderValue::from_str(&prover.proof(signed_method, &signed).iat(NOW).sign()).unwrap();
        let method = Method::from_bytes(asked_method.as_bytes()).unwrap();
        let accepted = verifier
            .check_at([&proof], &DpopRequest::new(&method, &asked), NOW)
            .is_ok();
        if accepted {
            prop_assert_eq!(signed_method, asked_method);
            let same = axum_bearer::dpop::normalise_htu(&signed);
            prop_assert!(same.is_some());
            prop_assert_eq!(same, axum_bearer::dpop::normalise_htu(&asked));
        }
        if signed_method == asked_method && signed == asked && axum_bearer::dpop::normalise_htu(&signed).is_some() {
            prop_assert!(accepted, "its own request refused: {} {}", asked_method, asked);
        }
    }
}
