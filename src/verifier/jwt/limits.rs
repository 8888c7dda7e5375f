//! Bounds on a JWT's claims, checked on the encoded token before any key lookup, signature check
//! or JSON parse, so a hostile payload costs at most one base64 decode and one linear scan.

use super::compact::Jws;
use crate::VerifyError;

/// The default bound on a JWT's claims, the decoded JSON of its payload: 16 KiB.
///
/// With the layer's default 8 KiB token cap ([`DEFAULT_MAX_TOKEN_LEN`](crate::DEFAULT_MAX_TOKEN_LEN))
/// no payload comes near it; it bounds the claims when that cap is raised. Change it with
/// [`JwtVerifierBuilder::max_claims_size`](crate::JwtVerifierBuilder::max_claims_size).
pub const DEFAULT_MAX_JWT_CLAIMS_SIZE: usize = 16 * 1024;

/// How deeply a JWT's claims may nest objects and arrays: 32 levels, the claim set itself being
/// the first. A deeper token is invalid (401) before its JSON is parsed.
///
/// RFC 9068 claims are one or two levels deep; 32 leaves room for structured claims
/// (`authorization_details`, `cnf`, nested roles) while keeping far below `serde_json`'s own
/// recursion limit of 128.
pub const MAX_JWT_CLAIMS_DEPTH: usize = 32;

/// Refuses a token whose claims are over `max_size` bytes or nested deeper than
/// [`MAX_JWT_CLAIMS_DEPTH`], or that is not three dot-separated parts. Its size is judged from the
/// encoded length before anything is decoded.
#[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
pub(crate) fn check_payload(token: &str, max_size: usize) -> Result<(), VerifyError> {
    Jws::split(token)?.claims_json(max_size).map(drop)
}

/// Whether `json` nests arrays and objects deeper than `max`, skipping strings: one pass, no
/// recursion, any bytes accepted (invalid JSON is left for the parser to refuse). For valid JSON
/// the answer is exact.
pub(crate) fn nesting_exceeds(json: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    fn token(json: &str) -> String {
        format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode(json))
    }

    #[test]
    fn nesting_counts_containers_outside_strings() {
        assert!(!nesting_exceeds(b"", 0));
        assert!(!nesting_exceeds(b"{}", 1));
        assert!(nesting_exceeds(b"{}", 0));
        assert!(!nesting_exceeds(nested(32).as_bytes(), 32));
        assert!(nesting_exceeds(nested(33).as_bytes(), 32));
        assert!(!nesting_exceeds(br#"{"a":"[[[[[[","b":"\"{{{{"}"#, 1));
        assert!(!nesting_exceeds(br#"{"a\\":"[["}"#, 1));
        assert!(nesting_exceeds(br#"{"a\\":{"b":[1]}}"#, 2));
        // Siblings do not add up.
        assert!(!nesting_exceeds(b"[[],[],[[]],[]]", 3));
        // Unbalanced garbage neither panics nor underflows.
        assert!(!nesting_exceeds(b"]]]]}}}[", 1));
        assert!(nesting_exceeds(b"]]]]}}}[[", 1));
    }

    #[test]
    fn payload_is_bounded_in_size_and_depth() {
        assert!(check_payload(&token("{}"), 2).is_ok());
        assert!(check_payload(&token("{} "), 2).is_err());
        assert!(check_payload(&token(&nested(32)), 1024).is_ok());
        assert_eq!(
            check_payload(&token(&nested(33)), 1024),
            Err(VerifyError::invalid("JWT claims nested too deeply"))
        );
        assert_eq!(
            check_payload(&token(&"x".repeat(2000)), 1024),
            Err(VerifyError::invalid("JWT claims too large"))
        );
        assert!(check_payload("e30.e30", 1024).is_err());
        assert!(check_payload("e30.!!!.c2ln", 1024).is_err());
        // A JWS compact token has three parts, no more.
        assert!(check_payload(&format!("a.{}", token("{}")), 1024).is_err());
    }
}
