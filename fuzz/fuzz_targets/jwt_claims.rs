//! Arbitrary JSON claims → the JWT claim checker and mapper, directly and through a signed token.
//!
//! The first byte picks the rules (strict RFC 9068, `scp`, audience normalisation, `exp`
//! required, leeway); the rest is the payload, any bytes.
//! - The nesting scan agrees exactly with the depth of what `serde_json` parses.
//! - An accepted claim set maps to a token for the configured issuer and audience, with a
//!   non-empty client, not expired, its claims kept as given.
//! - Signed with the verifier's key, the payload goes through `JwtVerifier` (public API) with the
//!   default claims bound and a tiny one: an accepted token is within both bounds, and a payload
//!   over a bound is refused whatever it holds.
//! - Flags bit 5: the input is `header \n payload`, both any bytes, signed with the key: accepted
//!   only for a JOSE header the verifier should take (HS256, its `kid`, a known `typ`, no
//!   critical extension but `b64: true`); a changed signature is always refused.
//! - Flags bit 6: the input is any token: accepted only with the key's signature over its first
//!   two parts.
#![no_main]

use std::{
    pin::pin,
    sync::OnceLock,
    task::{Context, Poll, Waker},
};

use axum_bearer::{
    __fuzz::{self, AUDIENCE, ClaimRules, ISSUER},
    JwtVerifier, MAX_JWT_CLAIMS_DEPTH, TokenVerifier,
};
use axum_bearer_fuzz::{jwt_verifier, sign_jwt};
use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A fixed clock, so the fuzzer can aim at the `exp`/`nbf` boundaries.
const NOW: i64 = 1_800_000_000;

/// Claims bound of the second verifier: small enough for the fuzzer to cross.
const TINY: usize = 96;

fn verifiers() -> &'static [JwtVerifier; 2] {
    static VERIFIERS: OnceLock<[JwtVerifier; 2]> = OnceLock::new();
    VERIFIERS.get_or_init(|| {
        [
            jwt_verifier(axum_bearer::DEFAULT_MAX_JWT_CLAIMS_SIZE),
            jwt_verifier(TINY),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, json)) = data.split_first() else {
        return;
    };

    // The scan against the parser: exact on everything serde_json accepts. The depth is the
    // text's, every member counted: a `Value` keeps only the last of duplicated names, and the
    // scan rightly counts the others too (crash-99dd8448…, a harness error).
    let parsed: Result<Value, _> = serde_json::from_slice(json);
    if let Ok(TextDepth(depth)) = serde_json::from_slice::<TextDepth>(json) {
        for max in [
            0,
            1,
            2,
            MAX_JWT_CLAIMS_DEPTH,
            depth.saturating_sub(1),
            depth,
        ] {
            assert_eq!(
                __fuzz::nesting_exceeds_depth(json, max),
                depth > max,
                "depth {depth}, max {max}"
            );
        }
    }

    // The checker and mapper.
    let rules = ClaimRules {
        strict: flags & 1 != 0,
        read_scp: flags & 2 != 0,
        normalise_audience: flags & 4 != 0,
        require_exp: flags & 8 == 0,
        leeway: if flags & 16 != 0 { 0 } else { 60 },
    };
    if let Ok(Value::Object(claims)) = parsed {
        let kept: Map<String, Value> = claims.clone();
        if let Ok(token) = __fuzz::check_jwt_claims("tok", claims, rules, NOW) {
            assert_eq!(token.token, "tok");
            assert!(!token.client_id.is_empty());
            assert_eq!(token.issuer().as_deref(), Some(ISSUER));
            let resource = token.resource.as_deref().expect("the matched audience");
            if !rules.normalise_audience {
                assert_eq!(resource, AUDIENCE);
            }
            match token.expires_at {
                Some(exp) => assert!(NOW < exp.saturating_add(rules.leeway), "expired {exp}"),
                None => assert!(!rules.require_exp && !rules.strict, "no exp"),
            }
            assert_eq!(token.claims.as_ref(), Some(&kept));
        }
    }

    // Any header (flags bit 5: the input is `header \n payload`), or any token at all (bit 6).
    if flags & 32 != 0 {
        let (header, payload) = match json.iter().position(|&b| b == b'\n') {
            Some(at) => (&json[..at], &json[at + 1..]),
            None => (json, &b"{}"[..]),
        };
        any_header(header, payload);
        return;
    }
    if flags & 64 != 0 {
        any_token(&String::from_utf8_lossy(json));
        return;
    }

    // The whole verifier, on a token it can verify.
    let token = sign_jwt(json);
    for (verifier, bound) in verifiers()
        .iter()
        .zip([axum_bearer::DEFAULT_MAX_JWT_CLAIMS_SIZE, TINY])
    {
        let result = ready(verifier.verify(&token));
        if json.len() > bound || __fuzz::nesting_exceeds_depth(json, MAX_JWT_CLAIMS_DEPTH) {
            assert!(result.is_err(), "over a bound yet accepted");
        }
        if let Ok(access) = result {
            assert!(json.len() <= bound);
            assert_eq!(access.token, token);
            assert!(!access.client_id.is_empty());
        }
    }
});

/// Nesting depth of arrays and objects in the JSON text, every member counted (duplicated
/// names included); a scalar is 0.
struct TextDepth(usize);

impl<'de> Deserialize<'de> for TextDepth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextDepthVisitor)
    }
}

struct TextDepthVisitor;

impl<'de> Visitor<'de> for TextDepthVisitor {
    type Value = TextDepth;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<TextDepth, E> {
        Ok(TextDepth(0))
    }
    fn visit_i64<E>(self, _: i64) -> Result<TextDepth, E> {
        Ok(TextDepth(0))
    }
    fn visit_u64<E>(self, _: u64) -> Result<TextDepth, E> {
        Ok(TextDepth(0))
    }
    fn visit_f64<E>(self, _: f64) -> Result<TextDepth, E> {
        Ok(TextDepth(0))
    }
    fn visit_str<E>(self, _: &str) -> Result<TextDepth, E> {
        Ok(TextDepth(0))
    }
    fn visit_unit<E>(self) -> Result<TextDepth, E> {
        Ok(TextDepth(0))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<TextDepth, A::Error> {
        let mut deepest = 0;
        while let Some(TextDepth(depth)) = items.next_element()? {
            deepest = deepest.max(depth);
        }
        Ok(TextDepth(deepest + 1))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<TextDepth, A::Error> {
        let mut deepest = 0;
        while let Some((IgnoredAny, TextDepth(depth))) = members.next_entry()? {
            deepest = deepest.max(depth);
        }
        Ok(TextDepth(deepest + 1))
    }
}

/// A token signed with the verifier's key under `header`: accepted only when the header is a
/// JSON object naming HS256, the verifier's `kid` (or none), an acceptable `typ`, and no critical
/// extension but `b64` with `b64: true`; never when its signature is altered.
fn any_header(header: &[u8], payload: &[u8]) {
    let token = axum_bearer_fuzz::sign_jwt_with_header(header, payload);
    let verifier = &verifiers()[0];
    let accepted = ready(verifier.verify(&token)).is_ok();
    if accepted {
        let Ok(Value::Object(header)) = serde_json::from_slice::<Value>(header) else {
            panic!("accepted a header that is not a JSON object");
        };
        assert_eq!(header.get("alg"), Some(&Value::from("HS256")));
        assert!(matches!(header.get("kid"), None | Some(Value::Null)) || header["kid"] == "fuzz");
        let typ = header
            .get("typ")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase);
        assert!(
            matches!(
                typ.as_deref(),
                None | Some("jwt" | "at+jwt" | "application/jwt" | "application/at+jwt")
            ),
            "typ {typ:?}"
        );
        match header.get("crit") {
            None | Some(Value::Null) => assert_ne!(header.get("b64"), Some(&Value::Bool(false))),
            Some(crit) => {
                assert_eq!(crit, &serde_json::json!(["b64"]));
                assert_eq!(header.get("b64"), Some(&Value::Bool(true)));
            }
        }
    }
    // Any change to the signature is refused.
    let (message, signature) = token.rsplit_once('.').expect("three parts");
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let forged = format!("{message}.{flipped}{}", &signature[1..]);
    assert!(
        ready(verifier.verify(&forged)).is_err(),
        "forged signature accepted"
    );
}

/// Any string as a token: no panic; accepted only if it is `header.payload.signature` with the
/// signature the key makes over `header.payload`.
fn any_token(token: &str) {
    for verifier in verifiers() {
        if ready(verifier.verify(token)).is_ok() {
            let (message, signature) = token.rsplit_once('.').expect("accepted: three parts");
            assert_eq!(message.matches('.').count(), 1, "accepted: three parts");
            assert_eq!(
                signature,
                axum_bearer_fuzz::hs256(message),
                "accepted a bad signature"
            );
        }
    }
}

/// A verifier without remote keys never waits: poll it once.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a JwtVerifier with static keys returned Pending"),
    }
}
