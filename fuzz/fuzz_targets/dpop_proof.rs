//! `DPoP` header values → `DpopVerifier::check_at` (RFC 9449 §4.3), the default settings, a
//! fixed clock, a fixed request (`POST` or `GET` `https://rs.example/mcp`, with or without an
//! access token, with or without a required nonce).
//!
//! The first byte picks the form of the rest (bits 0–1) and the request (bits 2–4):
//! - 0: field lines (split on `\n`), any bytes: every `DPoP` header the request carries;
//! - 1: the claims, any bytes, signed with the public test key `p256-0` under a valid header;
//! - 2: `header \n claims`, both any bytes, signed with `p256-0`;
//! - 3: the `htu` claim, any bytes, in otherwise valid claims signed with `p256-0`.
//!
//! Whatever the input, nothing panics, and a proof is accepted only when it is one header
//! value within the size bound whose JOSE header says `dpop+jwt`, an allowed algorithm and a
//! public `jwk` whose RFC 7638 thumbprint is the one returned (in forms 1–3: `p256-0`'s), and
//! whose claims name the request's method and URI (after normalisation), an `iat` within
//! ±300 s, the token's `ath` when a token is presented, the nonce when one is required, and a
//! `jti` of 1 to 256 bytes. The same proof with its signature changed is always refused.
#![no_main]

use axum::http::{HeaderValue, Method};
use axum_bearer::{
    __fuzz::{DPOP_NONCE, check_dpop_proof},
    dpop::{access_token_hash, jwk_thumbprint, normalise_htu},
    jsonwebtoken::jwk::Jwk,
};
use axum_bearer_fuzz::{dpop_header, dpop_key, sign_dpop};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

const NOW: i64 = 1_800_000_000;
const URL: &str = "https://rs.example/mcp";
const TOKEN: &str = "fuzz-access-token";

fn value(text: String) -> Vec<HeaderValue> {
    HeaderValue::try_from(text).into_iter().collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let require_nonce = flags & 4 != 0;
    let token = (flags & 8 == 0).then_some(TOKEN);
    let method = if flags & 16 != 0 {
        Method::GET
    } else {
        Method::POST
    };
    let signed_by_us = flags & 3 != 0;
    let values: Vec<HeaderValue> = match flags & 3 {
        0 => rest
            .split(|&b| b == b'\n')
            .filter_map(|line| HeaderValue::from_bytes(line).ok())
            .collect(),
        1 => value(sign_dpop(&dpop_header(), rest)),
        2 => {
            let (header, claims) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &b"{}"[..]),
            };
            value(sign_dpop(header, claims))
        }
        _ => {
            let claims = json!({
                "jti": "j",
                "htm": method.as_str(),
                "htu": String::from_utf8_lossy(rest),
                "iat": NOW,
                "ath": access_token_hash(TOKEN),
                "nonce": DPOP_NONCE,
            });
            value(sign_dpop(&dpop_header(), claims.to_string().as_bytes()))
        }
    };

    let Ok(jkt) = check_dpop_proof(&values, &method, URL, token, require_nonce, NOW) else {
        return;
    };

    // Accepted: one value, within the bound, a JWS whose every part says so.
    assert_eq!(
        values.len(),
        1,
        "accepted with {} DPoP headers",
        values.len()
    );
    let proof = values[0].to_str().expect("accepted: ASCII");
    assert!(proof.len() <= axum_bearer::dpop::DEFAULT_MAX_PROOF_SIZE);
    let parts: Vec<&str> = proof.split('.').collect();
    assert_eq!(parts.len(), 3, "accepted: three parts");
    let decode = |part: &str| -> Map<String, Value> {
        let json = URL_SAFE_NO_PAD.decode(part).expect("accepted: base64url");
        serde_json::from_slice(&json).expect("accepted: a JSON object")
    };
    let header = decode(parts[0]);
    let claims = decode(parts[1]);

    let typ = header["typ"].as_str().expect("accepted: typ");
    assert!(
        typ.eq_ignore_ascii_case("dpop+jwt") || typ.eq_ignore_ascii_case("application/dpop+jwt"),
        "typ {typ}"
    );
    assert!(
        matches!(
            header["alg"].as_str(),
            Some("ES256" | "EdDSA" | "RS256" | "PS256")
        ),
        "alg {:?}",
        header["alg"]
    );
    assert!(header.get("crit").is_none());
    let jwk = header["jwk"].as_object().expect("accepted: a jwk object");
    for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
        assert!(!jwk.contains_key(private), "accepted a jwk with {private}");
    }
    if signed_by_us {
        assert_eq!(
            jkt,
            dpop_key().jkt,
            "accepted another key's jwk over p256-0's signature"
        );
    }
    if let Ok(parsed) = serde_json::from_value::<Jwk>(Value::Object(jwk.clone())) {
        if let Some(thumbprint) = jwk_thumbprint(&parsed) {
            assert_eq!(jkt, thumbprint);
        }
    }

    assert_eq!(claims["htm"].as_str(), Some(method.as_str()));
    let htu = claims["htu"].as_str().expect("accepted: htu");
    assert_eq!(normalise_htu(htu), normalise_htu(URL), "htu {htu:?}");
    let iat = claims["iat"].as_f64().expect("accepted: iat");
    assert!((iat.floor() - NOW as f64).abs() <= 300.0, "iat {iat}");
    let jti = claims["jti"].as_str().expect("accepted: jti");
    assert!((1..=256).contains(&jti.len()));
    if token.is_some() {
        assert_eq!(claims["ath"].as_str(), access_token_hash(TOKEN).as_deref());
    }
    if require_nonce {
        assert_eq!(claims["nonce"].as_str(), Some(DPOP_NONCE));
    }

    // Any change to the signature is refused.
    let flipped = if parts[2].starts_with('A') { "B" } else { "A" };
    let forged = format!(
        "{}.{}.{flipped}{}",
        parts[0],
        parts[1],
        parts[2].get(1..).unwrap_or("")
    );
    if let Ok(forged) = HeaderValue::try_from(forged) {
        assert!(
            check_dpop_proof(&[forged], &method, URL, token, require_nonce, NOW).is_err(),
            "forged signature accepted"
        );
    }
});
