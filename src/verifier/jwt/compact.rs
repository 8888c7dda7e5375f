//! The JWS compact serialization (RFC 7515 §7.1) of a JWT, taken apart once: each part is
//! base64url-decoded at most once and each JSON document parsed once, with borrowed strings where
//! the JSON allows it.

use std::borrow::Cow;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::limits::{MAX_JWT_CLAIMS_DEPTH, nesting_exceeds};
use crate::VerifyError;

fn malformed() -> VerifyError {
    VerifyError::invalid("not a JWS compact token")
}

/// A token split into its three parts; nothing decoded yet.
#[derive(Clone, Copy)]
pub(crate) struct Jws<'t> {
    header: &'t str,
    payload: &'t str,
    /// `header.payload`: the bytes the signature covers.
    pub(crate) message: &'t str,
    /// The base64url signature, as `jsonwebtoken::crypto::verify` takes it.
    pub(crate) signature: &'t str,
}

impl<'t> Jws<'t> {
    /// Exactly three dot-separated parts, as a JWS compact token has (a JWE has five).
    pub(crate) fn split(token: &'t str) -> Result<Self, VerifyError> {
        let (message, signature) = token.rsplit_once('.').ok_or_else(malformed)?;
        let (header, payload) = message.split_once('.').ok_or_else(malformed)?;
        if payload.contains('.') {
            return Err(malformed());
        }
        Ok(Self {
            header,
            payload,
            message,
            signature,
        })
    }

    /// The decoded claims JSON, refused when over `max_size` bytes (judged from the encoded
    /// length first, so a huge payload is never decoded) or nested deeper than
    /// [`MAX_JWT_CLAIMS_DEPTH`]. Not parsed.
    pub(crate) fn claims_json(&self, max_size: usize) -> Result<Vec<u8>, VerifyError> {
        let too_large = || VerifyError::invalid("JWT claims too large");
        // Unpadded base64url: n characters decode to at most ⌊3n/4⌋ bytes.
        if self.payload.len().saturating_mul(3) / 4 > max_size {
            return Err(too_large());
        }
        let json = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| VerifyError::invalid("JWT payload is not base64url"))?;
        if json.len() > max_size {
            return Err(too_large());
        }
        if nesting_exceeds(&json, MAX_JWT_CLAIMS_DEPTH) {
            return Err(VerifyError::invalid("JWT claims nested too deeply"));
        }
        Ok(json)
    }

    /// The decoded JOSE header JSON, within the claims' nesting bound; parse it with
    /// [`JoseHeader::parse`]. (Its size is bounded by the token's: the layer caps that.)
    pub(crate) fn header_json(&self) -> Result<Vec<u8>, VerifyError> {
        let json = URL_SAFE_NO_PAD
            .decode(self.header)
            .map_err(|_| malformed())?;
        if nesting_exceeds(&json, MAX_JWT_CLAIMS_DEPTH) {
            return Err(VerifyError::invalid("JWT header nested too deeply"));
        }
        Ok(json)
    }
}

/// The JOSE header members a verifier acts on. The others (`jku`, `x5u`, `jwk`, `x5c`, `cty`…)
/// are skipped without being typed: keys come from the configuration only (RFC 8725 §3.10), and
/// a member nothing reads cannot change a decision. (`jsonwebtoken`'s own `Header` types them, so
/// it refuses, say, `"x5c": 1`; this parser accepts it, and refuses nothing `jsonwebtoken`
/// accepts but duplicated `b64`.)
#[derive(Deserialize)]
pub(crate) struct JoseHeader<'h> {
    /// A JSON string naming the algorithm (serde would also take an enum's map form).
    #[serde(deserialize_with = "algorithm_name")]
    pub(crate) alg: Algorithm,
    #[serde(borrow, default)]
    typ: Option<Text<'h>>,
    #[serde(borrow, default)]
    kid: Option<Text<'h>>,
    #[serde(default)]
    crit: Option<Vec<String>>,
    /// RFC 7797: a boolean when present (`null` is not one).
    #[serde(default, deserialize_with = "present_bool")]
    b64: Option<bool>,
}

fn algorithm_name<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Algorithm, D::Error> {
    let name = Text::deserialize(deserializer)?;
    name.0.parse().map_err(serde::de::Error::custom)
}

fn present_bool<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    bool::deserialize(deserializer).map(Some)
}

/// A JSON string, borrowed from the input unless it holds escapes (serde borrows a `Cow<str>`
/// only as a field of its own, not inside an `Option`).
#[derive(Deserialize)]
struct Text<'h>(#[serde(borrow)] Cow<'h, str>);

impl<'h> JoseHeader<'h> {
    pub(crate) fn typ(&self) -> Option<&str> {
        self.typ.as_ref().map(|text| &*text.0)
    }

    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_ref().map(|text| &*text.0)
    }

    /// Parses the header, UTF-8 JSON object (RFC 7515 §4); `crit` (§4.1.11) may list only
    /// `b64`, once, with `b64` present (RFC 7797), and `b64` may not be `false`, as in
    /// `jsonwebtoken`: any other critical extension, or an unencoded payload, makes the token
    /// invalid.
    pub(crate) fn parse(json: &'h [u8]) -> Result<Self, VerifyError> {
        let not_jose = || VerifyError::invalid("JWT header is not a JOSE header");
        // A derived struct would also take a JSON array, member by member; and skipped members
        // are not checked for UTF-8 by the parser.
        if json.trim_ascii_start().first() != Some(&b'{') || std::str::from_utf8(json).is_err() {
            return Err(not_jose());
        }
        let header: Self = serde_json::from_slice(json).map_err(|_| not_jose())?;
        let crit_ok = match &header.crit {
            None => true,
            Some(crit) => crit.len() == 1 && crit[0] == "b64" && header.b64.is_some(),
        };
        if !crit_ok || header.b64 == Some(false) {
            return Err(VerifyError::invalid("JWT header has critical parameters"));
        }
        Ok(header)
    }
}

/// The claim set: a JSON object whose member names are unique. RFC 7519 §4 lets a parser take
/// the last of duplicated claims instead, but two parsers that pick differently are how a token
/// means one thing to its issuer and another here, so duplicates make the token invalid.
pub(crate) fn parse_claims(json: &[u8]) -> Result<Map<String, Value>, VerifyError> {
    serde_json::from_slice::<UniqueClaims>(json)
        .map(|claims| claims.0)
        .map_err(|_| VerifyError::invalid("JWT claims are not a JSON object with unique names"))
}

struct UniqueClaims(Map<String, Value>);

impl<'de> Deserialize<'de> for UniqueClaims {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueClaims;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<UniqueClaims, A::Error> {
                let mut claims = Map::new();
                while let Some((name, value)) = access.next_entry::<String, Value>()? {
                    if claims.insert(name, value).is_some() {
                        return Err(serde::de::Error::custom("duplicate claim"));
                    }
                }
                Ok(UniqueClaims(claims))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[test]
    fn splits_exactly_three_parts() {
        let jws = Jws::split("aGVhZA.cGF5.c2ln").unwrap();
        assert_eq!(jws.message, "aGVhZA.cGF5");
        assert_eq!(jws.signature, "c2ln");
        for bad in ["", "a", "a.b", "a.b.c.d", "a.b.c.d.e"] {
            assert!(Jws::split(bad).is_err(), "{bad}");
        }
        // Empty parts split; decoding refuses what is not JSON.
        assert!(Jws::split("..").is_ok());
    }

    #[test]
    fn header_borrows_and_checks_crit() {
        let json = br#"{"alg":"ES256","typ":"at+jwt","kid":"k1","jku":"https://evil"}"#;
        let header = JoseHeader::parse(json).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert!(matches!(header.kid, Some(Text(Cow::Borrowed("k1")))));
        assert_eq!(header.typ(), Some("at+jwt"));
        let escaped = JoseHeader::parse(br#"{"alg":"HS256","kid":"k\/1"}"#).unwrap();
        assert_eq!(escaped.kid(), Some("k/1"));

        assert!(JoseHeader::parse(b"{\"alg\":\"HS256\",\"x\":\"\xff\"}").is_err());
        for bad in [
            r#"{"alg":"none"}"#,
            r#"{"typ":"JWT"}"#,
            r#"{"alg":"HS256","crit":["exp"]}"#,
            r#"{"alg":"HS256","crit":[]}"#,
            r#"{"alg":"HS256","crit":["b64"]}"#,
            r#"{"alg":"HS256","crit":["b64","b64"],"b64":true}"#,
            r#"{"alg":"HS256","b64":false}"#,
            r#"{"alg":"HS256","b64":"yes"}"#,
            r#"{"alg":"HS256","b64":null}"#,
            r#"{"alg":{"HS256":null}}"#,
            r#"{"alg":"hs256"}"#,
            r#"{"alg":"HS256","kid":7}"#,
            r#"{"alg":"HS256","alg":"HS256"}"#,
            "[]",
            r#"["HS256"]"#,
            r#" ["HS256"]"#,
        ] {
            assert!(JoseHeader::parse(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(JoseHeader::parse(br#"{"alg":"HS256","crit":["b64"],"b64":true}"#).is_ok());
    }

    #[test]
    fn claims_are_bounded_before_parsing() {
        let token = |claims: &str| format!("{}.{}.c2ln", b64(r#"{"alg":"HS256"}"#), b64(claims));
        let small = token(r#"{"a":1}"#);
        let jws = Jws::split(&small).unwrap();
        assert_eq!(jws.claims_json(64).unwrap(), br#"{"a":1}"#);
        assert!(jws.claims_json(6).is_err());
        let deep = token(&format!("{}{}", "[".repeat(33), "]".repeat(33)));
        assert_eq!(
            Jws::split(&deep).unwrap().claims_json(1024),
            Err(VerifyError::invalid("JWT claims nested too deeply"))
        );
        assert!(parse_claims(b"[1]").is_err());
        assert!(parse_claims(br#"{"exp":1,"exp":2}"#).is_err());
        assert!(parse_claims(br#"{"a":{"b":1,"b":2}}"#).is_ok());
        let deep_header = format!(
            r#"{{"alg":"HS256","x":{}1{}}}"#,
            "[".repeat(40),
            "]".repeat(40)
        );
        let token = format!("{}.{}.c2ln", b64(&deep_header), b64("{}"));
        assert!(Jws::split(&token).unwrap().header_json().is_err());
        assert!(parse_claims(br#"{"a":1}"#).is_ok());
    }
}
