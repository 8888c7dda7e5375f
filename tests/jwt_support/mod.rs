//! JWTs signed byte for byte as a test needs them: any header and payload text, HS256 with a
//! static secret, and the `JwtVerifier` that accepts them. No network.
#![allow(dead_code, unreachable_pub)]

use std::sync::Once;

use axum_bearer::{
    JwtVerifier, JwtVerifierBuilder,
    jsonwebtoken::{Algorithm, EncodingKey, crypto},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

pub const ISSUER: &str = "https://as.example";
pub const AUDIENCE: &str = "https://rs.example/mcp";
pub const KID: &str = "k1";
pub const SECRET: &[u8] = b"hostile-jwt-secret-hostile-jwt-secret-0123";

/// The standard header: HS256, `at+jwt`, the verifier's `kid`.
pub const HEADER: &str = r#"{"alg":"HS256","typ":"at+jwt","kid":"k1"}"#;

/// A verifier for [`ISSUER`], [`AUDIENCE`] and [`SECRET`] under [`KID`], before `build`.
pub fn builder() -> JwtVerifierBuilder {
    JwtVerifier::builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .hmac_secret(KID, SECRET)
        .unwrap()
}

pub fn verifier() -> JwtVerifier {
    builder().build().unwrap()
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `header.payload.signature`, both parts exactly as given, signed with [`SECRET`].
pub fn sign_raw(header: &str, payload: &str) -> String {
    static PROVIDER: Once = Once::new();
    // Building a verifier installs jsonwebtoken's crypto provider when both backends are on.
    PROVIDER.call_once(|| drop(verifier()));
    let message = format!("{}.{}", b64(header), b64(payload));
    let key = EncodingKey::from_secret(SECRET).unwrap();
    let signature = crypto::sign(message.as_bytes(), &key, Algorithm::HS256).unwrap();
    format!("{message}.{signature}")
}

/// A token with the standard header and `payload` as given.
pub fn sign(payload: &str) -> String {
    sign_raw(HEADER, payload)
}

/// A valid claim set as JSON text, `extra` members (`"name":value,…`) first. To replace one of
/// its members use [`claims_without`]: a repeated `exp`, `nbf`, `sub`, `iss` or `aud` makes the
/// token invalid (jsonwebtoken refuses duplicated registered claims).
pub fn claims(extra: &str) -> String {
    let now = now();
    let base = format!(
        r#""iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"alice","client_id":"app","scope":"mcp:read","iat":{now},"exp":{}"#,
        now + 300
    );
    if extra.is_empty() {
        format!("{{{base}}}")
    } else {
        format!("{{{extra},{base}}}")
    }
}

/// A valid claim set with the members named in `drop` left out, then `extra` appended.
pub fn claims_without(drop: &[&str], extra: &str) -> String {
    let now = now();
    let all = [
        ("iss", format!("\"{ISSUER}\"")),
        ("aud", format!("\"{AUDIENCE}\"")),
        ("sub", "\"alice\"".to_owned()),
        ("client_id", "\"app\"".to_owned()),
        ("scope", "\"mcp:read\"".to_owned()),
        ("iat", now.to_string()),
        ("exp", (now + 300).to_string()),
    ];
    let mut members: Vec<String> = all
        .iter()
        .filter(|(name, _)| !drop.contains(name))
        .map(|(name, value)| format!("\"{name}\":{value}"))
        .collect();
    if !extra.is_empty() {
        members.push(extra.to_owned());
    }
    format!("{{{}}}", members.join(","))
}

/// A valid claim set padded with a `pad` string claim to exactly `size` bytes of JSON.
pub fn claims_of_size(size: usize) -> String {
    let empty = claims(r#""pad":"""#);
    assert!(
        size >= empty.len(),
        "{size} is below the smallest claim set"
    );
    claims(&format!(r#""pad":"{}""#, "p".repeat(size - empty.len())))
}

/// `[[[…]]]` nested `depth` levels.
pub fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{"a":{"a":…{}}}` nested `depth` levels.
pub fn nested_objects(depth: usize) -> String {
    format!(
        "{}{{}}{}",
        "{\"a\":".repeat(depth - 1),
        "}".repeat(depth - 1)
    )
}
