//! Differential: `JwtVerifier` against `jsonwebtoken::decode`, same keys, same validation.
//!
//! Keys: the fuzzing HS256 secret (`kid` `fuzz`) and the public test key `p256-0` for ES256
//! (`kid` `ec`). Two configurations, each mirrored by a `jsonwebtoken::Validation` (the token's
//! algorithm only, `iss` and `aud` required and compared, `validate_nbf`, same leeway):
//! - A: issuer, audience, `exp` required, leeway 60 s (the builder's defaults);
//! - B: the same with `require_exp(false)` and leeway 0 (`exp` checked when present).
//!
//! The first byte picks the input's form (bits 0–1), the key (bit 2: ES256) and the
//! configuration (bit 3: B):
//! - 0, 1: structured. Lines: the JOSE header (empty: `{"alg":…,"typ":"at+jwt","kid":…}` for the
//!   key; bit 5 drops the `kid`), then claim members. A line `name:value` sets member `name` to
//!   the JSON text `value` (any bytes), replacing the base member of that name; `-name` drops a
//!   base member; any other line is inserted as member text verbatim. The base members, unless
//!   bit 4 drops them all: `iss`, `aud`, `exp` (an hour from now), `client_id`, `sub`. The claims
//!   are `{` + members joined by `,` + `}`, signed with the key.
//! - 2: `header \n payload`, any bytes each, signed with the key.
//! - 3: any token text, unsigned (signatures from the corpus, mutated).
//!
//! In every form except the last, `NOW` followed by an optional `+digits` or `-digits` is
//! replaced by the current Unix time plus or minus that many seconds, so the fuzzer can aim at
//! `exp`/`nbf` around the real clock (`jsonwebtoken` reads the system clock, as the crate does).
//! Both read whole seconds of `SystemTime`; when the second changes between the two checks, a
//! refusal for `exp` or `nbf` is not counted (a race, not a difference).
//!
//! **Crash:** a token `JwtVerifier` accepts and `jsonwebtoken` refuses, outside the classes
//! below; or an accepted token whose claims, `sub`, `iss`, `aud` or `exp` differ from what
//! `jsonwebtoken` decoded.
//!
//! Where the crate is deliberately laxer (accepted here, refused by `jsonwebtoken`; never a
//! crash). Each is normalised away (the member dropped or set to 0, the token re-signed) and the
//! result compared again, so a class never hides another difference:
//! 1. A JOSE header member the crate does not read but `jsonwebtoken`'s `Header` types (`cty`,
//!    `jku`, `jwk`, `x5u`, `x5c`, `x5t`, `x5t#S256`, `enc`, `zip`, `url`, `nonce`) holding the
//!    wrong type (`"x5c":1`), or repeated: the crate skips members it does not use untyped.
//! 2. A negative `nbf` (a time before 1970, always past): `jsonwebtoken` reads NumericDates as
//!    `u64` and refuses it as malformed; the crate takes it as the past date it is.
//!
//! Where the crate is stricter (refused here, accepted by `jsonwebtoken`; never checked): a
//! header `typ` other than `at+jwt`/`JWT` (any case, `application/` optional) or absent; a `kid`
//! naming another key; the enum-map form `"alg":{"HS256":null}`; repeated `b64`; a header or
//! claims with invalid UTF-8 in members nobody reads; duplicate claim names; claims over 16 KiB
//! or nested deeper than 32 levels (a header too); a `kid` over 256 bytes; no `client_id` (nor
//! `azp`), or an empty or non-string one; `sub`, `iss`, `iat`, `nbf` (`null` included), `scope`
//! of the wrong type; an `iss` array; a fractional `exp` (rounded down here, to nearest there)
//! or `nbf` (rounded up here); `exp` or `nbf` at or beyond ±1e15 as a float; `now == exp +
//! leeway` (expired here, RFC 7519 §4.1.4).
#![no_main]

use std::{
    sync::OnceLock,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum_bearer::{
    __fuzz::{AUDIENCE, ISSUER},
    AccessToken, JwtVerifier, TokenVerifier,
    jsonwebtoken::{
        Algorithm, DecodingKey, EncodingKey, Validation, crypto, decode, errors::ErrorKind,
    },
};
use axum_bearer_fuzz::JWT_SECRET;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

const EC_PRIVATE: &[u8] = include_bytes!("../../src/testing/keys/p256-0.pem");
const EC_PUBLIC: &[u8] = include_bytes!("../../src/testing/keys/p256-0.pub.pem");
const HS_KID: &str = "fuzz";
const EC_KID: &str = "ec";

/// The header members `jsonwebtoken` types and the crate never reads (class 1).
const TYPED_UNREAD: [&str; 11] = [
    "cty", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "enc", "zip", "url", "nonce",
];

struct Keys {
    hs_decoding: DecodingKey,
    hs_encoding: EncodingKey,
    ec_decoding: DecodingKey,
    ec_encoding: EncodingKey,
}

/// One configuration: our verifier and the equivalent validations (HS256, ES256).
struct Setup {
    verifier: JwtVerifier,
    hs: Validation,
    ec: Validation,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        hs_decoding: DecodingKey::from_secret(JWT_SECRET).expect("an HMAC key"),
        hs_encoding: EncodingKey::from_secret(JWT_SECRET).expect("an HMAC key"),
        ec_decoding: DecodingKey::from_ec_pem(EC_PUBLIC).expect("the p256-0 public key"),
        ec_encoding: EncodingKey::from_ec_pem(EC_PRIVATE).expect("the p256-0 private key"),
    })
}

fn setups() -> &'static [Setup; 2] {
    static SETUPS: OnceLock<[Setup; 2]> = OnceLock::new();
    SETUPS.get_or_init(|| [setup(true, 60), setup(false, 0)])
}

fn setup(require_exp: bool, leeway: u64) -> Setup {
    let verifier = JwtVerifier::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .require_exp(require_exp)
        .leeway(Duration::from_secs(leeway))
        .hmac_secret(HS_KID, JWT_SECRET)
        .expect("a 32-byte secret")
        .ec_pem(EC_KID, EC_PUBLIC)
        .expect("the p256-0 public key")
        .build()
        .expect("a complete JWT verifier");
    let validation = |alg| {
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        let mut required = vec!["iss", "aud"];
        if require_exp {
            required.push("exp");
        }
        validation.set_required_spec_claims(&required);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = leeway;
        validation
    };
    Setup {
        verifier,
        hs: validation(Algorithm::HS256),
        ec: validation(Algorithm::ES256),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let es = flags & 4 != 0;
    let setup = &setups()[usize::from(flags & 8 != 0)];
    let token = match flags & 3 {
        0 | 1 => structured(rest, es, flags & 16 != 0, flags & 32 != 0),
        2 => {
            let rest = with_now(rest);
            let (header, payload) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => (rest[..at].to_vec(), rest[at + 1..].to_vec()),
                None => (default_header(es, false), rest),
            };
            sign(&header, &payload, es)
        }
        _ => String::from_utf8_lossy(rest).into_owned(),
    };
    differential(&token, setup, 0);
});

fn default_header(es: bool, no_kid: bool) -> Vec<u8> {
    let (alg, kid) = if es {
        ("ES256", EC_KID)
    } else {
        ("HS256", HS_KID)
    };
    if no_kid {
        format!(r#"{{"alg":"{alg}","typ":"at+jwt"}}"#).into_bytes()
    } else {
        format!(r#"{{"alg":"{alg}","typ":"at+jwt","kid":"{kid}"}}"#).into_bytes()
    }
}

/// The structured form: a header line, then member lines (see the module docs).
fn structured(rest: &[u8], es: bool, no_base: bool, no_kid: bool) -> String {
    let rest = with_now(rest);
    let mut lines = rest.split(|&b| b == b'\n');
    let header = match lines.next() {
        None | Some([]) => default_header(es, no_kid),
        Some(header) => header.to_vec(),
    };
    let now = unix_now();
    let mut base: Vec<(&str, Vec<u8>)> = if no_base {
        Vec::new()
    } else {
        vec![
            ("iss", format!("{ISSUER:?}").into_bytes()),
            ("aud", format!("{AUDIENCE:?}").into_bytes()),
            ("exp", (now + 3600).to_string().into_bytes()),
            ("client_id", br#""fuzz-client""#.to_vec()),
            ("sub", br#""alice""#.to_vec()),
        ]
    };
    let mut extra: Vec<Vec<u8>> = Vec::new();
    for line in lines {
        if let Some(name) = line.strip_prefix(b"-") {
            base.retain(|(base_name, _)| base_name.as_bytes() != name);
            continue;
        }
        let named = line.iter().position(|&b| b == b':').filter(|&at| {
            at > 0
                && line[..at]
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b"_#+".contains(b))
        });
        match named {
            Some(at) => {
                let (name, value) = (&line[..at], &line[at + 1..]);
                base.retain(|(base_name, _)| base_name.as_bytes() != name);
                let mut member = Vec::with_capacity(line.len() + 3);
                member.push(b'"');
                member.extend_from_slice(name);
                member.extend_from_slice(b"\":");
                member.extend_from_slice(value);
                extra.push(member);
            }
            None => extra.push(line.to_vec()),
        }
    }
    let mut claims = b"{".to_vec();
    let members = base
        .into_iter()
        .map(|(name, value)| {
            let mut member = format!("{name:?}:").into_bytes();
            member.extend_from_slice(&value);
            member
        })
        .chain(extra);
    for (i, member) in members.enumerate() {
        if i > 0 {
            claims.push(b',');
        }
        claims.extend_from_slice(&member);
    }
    claims.push(b'}');
    sign(&header, &claims, es)
}

/// `NOW`, `NOW+n`, `NOW-n` (n: up to 9 digits) replaced by the current Unix time ± n.
fn with_now(input: &[u8]) -> Vec<u8> {
    let now = unix_now();
    let mut out = Vec::with_capacity(input.len() + 16);
    let mut i = 0;
    while i < input.len() {
        if !input[i..].starts_with(b"NOW") {
            out.push(input[i]);
            i += 1;
            continue;
        }
        i += 3;
        let mut value = now;
        if let Some(&sign @ (b'+' | b'-')) = input.get(i) {
            let digits = input[i + 1..]
                .iter()
                .take(9)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits > 0 {
                let n: i64 = std::str::from_utf8(&input[i + 1..i + 1 + digits])
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                value = if sign == b'+' { now + n } else { now - n };
                i += 1 + digits;
            }
        }
        out.extend_from_slice(value.to_string().as_bytes());
    }
    out
}

fn sign(header: &[u8], payload: &[u8], es: bool) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let (key, alg) = if es {
        (&keys().ec_encoding, Algorithm::ES256)
    } else {
        (&keys().hs_encoding, Algorithm::HS256)
    };
    let signature = crypto::sign(message.as_bytes(), key, alg).expect("signing never fails");
    format!("{message}.{signature}")
}

/// Both verdicts on `token`; `depth` counts the normalisations already applied.
fn differential(token: &str, setup: &Setup, depth: u8) {
    let before = unix_now();
    let ours = setup
        .verifier
        .verify_ready(token)
        .expect("static keys: a synchronous answer");
    // The algorithm of the header (jsonwebtoken checks it against the validation's), for the
    // key jsonwebtoken is given; HS256 when the header says nothing usable.
    let header: Option<Map<String, Value>> = token
        .split('.')
        .next()
        .and_then(|header| URL_SAFE_NO_PAD.decode(header).ok())
        .and_then(|json| serde_json::from_slice(&json).ok());
    let es = header
        .as_ref()
        .and_then(|header| header.get("alg"))
        .is_some_and(|alg| alg == "ES256");
    let (key, validation) = if es {
        (&keys().ec_decoding, &setup.ec)
    } else {
        (&keys().hs_decoding, &setup.hs)
    };
    let theirs = decode::<Map<String, Value>>(token, key, validation);
    let after = unix_now();

    let Ok(access) = ours else {
        return;
    };
    let error = match theirs {
        Ok(data) => return same_claims(token, &access, &data.claims),
        Err(error) => error,
    };
    if before != after
        && matches!(
            error.kind(),
            ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature
        )
    {
        return; // the clock ticked between the two checks
    }
    assert!(depth < 2, "still refused after normalising: {error:?}");
    let header = header.expect("accepted: a JSON object header");
    let payload = token
        .split('.')
        .nth(1)
        .and_then(|payload| URL_SAFE_NO_PAD.decode(payload).ok())
        .expect("accepted: a base64url payload");

    // Class 1: header members jsonwebtoken types and the crate never reads.
    if TYPED_UNREAD.iter().any(|name| header.contains_key(*name)) {
        let mut stripped = header;
        stripped.retain(|name, _| !TYPED_UNREAD.contains(&name.as_str()));
        let header = serde_json::to_vec(&stripped).expect("a map serialises");
        let normalised = sign(&header, &payload, es);
        assert!(
            setup
                .verifier
                .verify_ready(&normalised)
                .is_some_and(|r| r.is_ok()),
            "the crate refuses once members it does not read are dropped"
        );
        return differential(&normalised, setup, depth + 1);
    }

    // Class 2: a negative `nbf`.
    let claims = access
        .claims
        .as_ref()
        .expect("a JwtVerifier keeps the claims");
    let negative_nbf = claims
        .get("nbf")
        .and_then(Value::as_f64)
        .is_some_and(|nbf| nbf < 0.0);
    if negative_nbf && matches!(error.kind(), ErrorKind::InvalidClaimFormat(name) if name == "nbf")
    {
        let mut claims = claims.clone();
        claims.insert("nbf".into(), Value::from(0));
        let payload = serde_json::to_vec(&claims).expect("a map serialises");
        let header = serde_json::to_vec(&header).expect("a map serialises");
        let normalised = sign(&header, &payload, es);
        assert!(
            setup
                .verifier
                .verify_ready(&normalised)
                .is_some_and(|r| r.is_ok()),
            "the crate refuses once nbf is 0"
        );
        return differential(&normalised, setup, depth + 1);
    }

    panic!(
        "accepted by JwtVerifier, refused by jsonwebtoken ({:?}): {token}",
        error.kind()
    );
}

/// An accepted token maps the claims jsonwebtoken decoded.
fn same_claims(token: &str, access: &AccessToken, decoded: &Map<String, Value>) {
    assert_eq!(access.token, token);
    assert_eq!(access.claims.as_ref(), Some(decoded), "claims");
    assert_eq!(
        access.subject.as_deref(),
        decoded.get("sub").and_then(Value::as_str),
        "sub"
    );
    assert_eq!(decoded.get("iss"), Some(&Value::from(ISSUER)), "iss");
    assert_eq!(access.issuer().as_deref(), Some(ISSUER), "iss");
    assert_eq!(access.resource.as_deref(), Some(AUDIENCE), "aud");
    match decoded.get("aud") {
        Some(Value::String(aud)) => assert_eq!(aud, AUDIENCE, "aud"),
        Some(Value::Array(auds)) => assert!(auds.contains(&Value::from(AUDIENCE)), "aud"),
        other => panic!("aud {other:?}"),
    }
    let exp = decoded.get("exp").map(|exp| match exp {
        Value::Number(exp) => exp
            .as_i64()
            .or_else(|| exp.as_f64().map(|exp| exp.floor() as i64))
            .expect("a number"),
        other => panic!("exp {other:?}"),
    });
    assert_eq!(access.expires_at, exp, "exp");
    assert!(!access.client_id.is_empty());
}
