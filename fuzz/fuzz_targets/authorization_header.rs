//! Arbitrary `Authorization` field lines (the input split on `\n`; lines `HeaderValue` refuses
//! are skipped, as they never reach a router) through the credentials parser of both profiles,
//! with the default cap and a tiny one. `PythonSdk` is checked against a model of the
//! reference's `value[7:]`; `Spec` against RFC 6750 §2.1.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use axum_bearer::{
    __fuzz::{Credentials, is_b64token, parse_credentials},
    DEFAULT_MAX_TOKEN_LEN, Profile,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    if !data.is_empty() {
        for line in data.split(|&b| b == b'\n') {
            if let Ok(value) = HeaderValue::from_bytes(line) {
                headers.append(AUTHORIZATION, value);
            }
        }
    }
    for max_len in [DEFAULT_MAX_TOKEN_LEN, 16] {
        python_sdk(&headers, max_len);
        spec(&headers, max_len);
    }
    // Any b64token is read back as itself.
    if is_b64token(data) {
        let mut headers = HeaderMap::new();
        let mut value = b"Bearer ".to_vec();
        value.extend_from_slice(data);
        headers.insert(AUTHORIZATION, HeaderValue::from_bytes(&value).unwrap());
        let want = if data.len() > DEFAULT_MAX_TOKEN_LEN {
            Credentials::TooLong
        } else {
            Credentials::Bearer(String::from_utf8(data.to_vec()).unwrap())
        };
        assert_eq!(
            parse_credentials(&headers, Profile::Spec, DEFAULT_MAX_TOKEN_LEN),
            want
        );
    }
});

/// The reference: the first header; `bearer ` in any case, then the rest verbatim as Latin-1.
fn python_sdk(headers: &HeaderMap, max_len: usize) {
    let got = parse_credentials(headers, Profile::PythonSdk, max_len);
    let want = match headers.get(AUTHORIZATION).map(HeaderValue::as_bytes) {
        None | Some(b"") => Credentials::Missing,
        Some(value) if value.len() >= 7 && value[..7].eq_ignore_ascii_case(b"bearer ") => {
            match &value[7..] {
                [] => Credentials::BadSyntax,
                token if token.len() > max_len => Credentials::TooLong,
                token => Credentials::Bearer(token.iter().map(|&b| char::from(b)).collect()),
            }
        }
        Some(_) => Credentials::OtherScheme,
    };
    assert_eq!(got, want, "PythonSdk, cap {max_len}");
}

/// RFC 6750 §2.1: one field line, `Bearer` (any case), spaces, one b64token.
fn spec(headers: &HeaderMap, max_len: usize) {
    let got = parse_credentials(headers, Profile::Spec, max_len);
    let values: Vec<&[u8]> = headers
        .get_all(AUTHORIZATION)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    let context = format!("Spec, cap {max_len}, {got:?}");
    match values.as_slice() {
        [] => assert_eq!(got, Credentials::Missing, "{context}"),
        [_, _, ..] => assert_eq!(
            got,
            Credentials::Malformed("Multiple Authorization headers"),
            "{context}"
        ),
        [value] => {
            let trimmed = value.trim_ascii();
            let scheme_end = trimmed
                .iter()
                .position(|&b| b == b' ' || b == b'\t')
                .unwrap_or(trimmed.len());
            let is_bearer = trimmed[..scheme_end].eq_ignore_ascii_case(b"bearer");
            match &got {
                Credentials::Missing => panic!("{context}: a header is there"),
                Credentials::Dpop(_) => panic!("{context}: DPoP is off here"),
                Credentials::OtherScheme => assert!(!trimmed.is_empty() && !is_bearer, "{context}"),
                Credentials::Bearer(token) => {
                    assert!(is_bearer, "{context}");
                    assert!(is_b64token(token.as_bytes()), "{context}");
                    assert!(token.len() <= max_len, "{context}");
                    let between = &trimmed[scheme_end..trimmed.len() - token.len()];
                    assert!(
                        !between.is_empty() && between.iter().all(|&b| b == b' '),
                        "{context}: separator {between:?}"
                    );
                    assert!(trimmed.ends_with(token.as_bytes()), "{context}");
                }
                Credentials::TooLong => {
                    assert!(is_bearer, "{context}");
                    assert!(value.len() > max_len + "Bearer ".len(), "{context}");
                }
                Credentials::BadSyntax => assert!(is_bearer, "{context}"),
                Credentials::Malformed(_) => assert!(trimmed.is_empty() || is_bearer, "{context}"),
            }
        }
    }
}
