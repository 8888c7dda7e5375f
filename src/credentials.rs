//! Reading the bearer token out of the `Authorization` header: pure functions, no I/O.
//!
//! Two grammars, one per [`Profile`]:
//! - [`Profile::PythonSdk`] reads the first `Authorization` header, accepts a value whose first
//!   seven characters are `bearer ` in any case, and takes the rest verbatim (as the reference's
//!   `value[7:]`, bytes read as Latin-1). Anything else counts as no credentials.
//! - [`Profile::Spec`] follows RFC 6750 §2.1 (`"Bearer" 1*SP b64token`, scheme case-insensitive)
//!   and tells a malformed request (400) from a malformed token (401).

use std::borrow::Cow;

use http::{HeaderMap, header::AUTHORIZATION};

use crate::Profile;

/// What the `Authorization` header holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credentials<'a> {
    /// No `Authorization` header.
    Missing,
    /// Another scheme (`Basic`, `DPoP`…), or in `PythonSdk` anything not starting with `bearer `.
    OtherScheme,
    /// A bearer token for the verifier.
    Bearer(Cow<'a, str>),
    /// A DPoP-bound token for the verifier, its proof in the `DPoP` header (RFC 9449 §7.1); only
    /// when the layer accepts DPoP, else `DPoP` is another scheme.
    Dpop(Cow<'a, str>),
    /// The request is malformed (RFC 6750 `invalid_request`, 400); `Spec` only.
    Malformed(Malformed),
    /// A token that cannot be valid, refused without asking the verifier.
    BadToken(BadToken),
}

/// Why the request is malformed (`Profile::Spec`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// More than one `Authorization` field line (RFC 9110 §5.3, §11.6.2).
    MultipleHeaders,
    /// An `Authorization` header with nothing in it.
    Empty,
    /// `Bearer` (or `DPoP`) with no token.
    MissingToken,
    /// A tab between `Bearer` and the token (RFC 6750 §2.1 wants `1*SP`).
    TabSeparator,
    /// More than one token, a list, or the auth-param form (`Bearer token="x"`).
    NotSingleToken,
}

impl Malformed {
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::MultipleHeaders => "Multiple Authorization headers",
            Self::Empty => "Empty Authorization header",
            Self::MissingToken => "Bearer credentials without a token",
            Self::TabSeparator => "The bearer token must follow a space",
            Self::NotSingleToken => "The Authorization header must hold a single bearer token",
        }
    }
}

/// Why a token is refused before verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadToken {
    /// Longer than [`BearerAuth::max_token_len`](crate::BearerAuth::max_token_len).
    TooLong,
    /// Not an RFC 6750 `b64token` (`Spec`), or empty (`PythonSdk`).
    Syntax,
}

/// Reads the credentials of `headers` under `profile`, refusing tokens over `max_len` bytes.
/// `dpop`: whether the `DPoP` scheme is accepted (RFC 9449 §7.1); its token is read with
/// `Spec`'s grammar in both profiles, as the reference has no DPoP.
pub(crate) fn parse(
    headers: &HeaderMap,
    profile: Profile,
    max_len: usize,
    dpop: bool,
) -> Credentials<'_> {
    match profile {
        Profile::PythonSdk => parse_python_sdk(headers, max_len, dpop),
        Profile::Spec => parse_spec(headers, max_len, dpop),
    }
}

fn parse_python_sdk(headers: &HeaderMap, max_len: usize, dpop: bool) -> Credentials<'_> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Credentials::Missing;
    };
    let bytes = value.as_bytes();
    if dpop && scheme_of(bytes.trim_ascii_start()).eq_ignore_ascii_case(b"dpop") {
        return parse_spec(headers, max_len, dpop);
    }
    match bytes.split_at_checked(7) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case(b"bearer ") => {
            if token.is_empty() {
                // The reference would ask its verifier about "" and get nothing: skip the call.
                Credentials::BadToken(BadToken::Syntax)
            } else if token.len() > max_len {
                Credentials::BadToken(BadToken::TooLong)
            } else {
                Credentials::Bearer(latin1(token))
            }
        }
        _ if bytes.is_empty() => Credentials::Missing,
        _ => Credentials::OtherScheme,
    }
}

/// Whether the (first) `Authorization` header names the `DPoP` scheme, whatever follows.
pub(crate) fn names_dpop(headers: &HeaderMap) -> bool {
    headers.get(AUTHORIZATION).is_some_and(|value| {
        scheme_of(value.as_bytes().trim_ascii_start()).eq_ignore_ascii_case(b"dpop")
    })
}

/// The auth-scheme of an `Authorization` value: up to the first space or tab.
fn scheme_of(value: &[u8]) -> &[u8] {
    let end = value
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(value.len());
    &value[..end]
}

fn parse_spec(headers: &HeaderMap, max_len: usize, dpop: bool) -> Credentials<'_> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Credentials::Missing;
    };
    if values.next().is_some() {
        return Credentials::Malformed(Malformed::MultipleHeaders);
    }
    let raw = value.as_bytes();
    let value = raw.trim_ascii();
    if value.is_empty() {
        return Credentials::Malformed(Malformed::Empty);
    }
    let (scheme, rest) = value.split_at(scheme_of(value).len());
    let is_dpop = dpop && scheme.eq_ignore_ascii_case(b"dpop");
    if !is_dpop && !scheme.eq_ignore_ascii_case(b"bearer") {
        return Credentials::OtherScheme;
    }
    // The cap counts everything after `Bearer ` (as in `PythonSdk`), padding included, so
    // whitespace cannot smuggle a huge value past it (RFC 6750 digest, P7).
    if raw.len() > max_len.saturating_add(scheme.len() + 1) {
        return Credentials::BadToken(BadToken::TooLong);
    }
    if rest.is_empty() {
        return Credentials::Malformed(Malformed::MissingToken);
    }
    let token_start = rest
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(rest.len());
    let (separator, token) = rest.split_at(token_start);
    if separator.contains(&b'\t') {
        return Credentials::Malformed(Malformed::TabSeparator);
    }
    if token.iter().any(|&b| b == b' ' || b == b'\t' || b == b',') || is_auth_param(token) {
        return Credentials::Malformed(Malformed::NotSingleToken);
    }
    // RFC 9449 §7.1: the DPoP token is a `token68`, the same characters as RFC 6750's b64token.
    match std::str::from_utf8(token) {
        Ok(token) if is_b64token(token.as_bytes()) && is_dpop => {
            Credentials::Dpop(Cow::Borrowed(token))
        }
        Ok(token) if is_b64token(token.as_bytes()) => Credentials::Bearer(Cow::Borrowed(token)),
        _ => Credentials::BadToken(BadToken::Syntax),
    }
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` (RFC 6750 §2.1).
pub(crate) fn is_b64token(token: &[u8]) -> bool {
    let body_len = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    body_len > 0
        && token[..body_len].iter().all(|&b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// `name="…"`: the auth-param form, which bearer credentials never use (RFC 6750 §2.1).
fn is_auth_param(token: &[u8]) -> bool {
    token.windows(2).any(|pair| pair == b"=\"")
}

/// Header bytes as the reference's Starlette sees them: Latin-1, without copying ASCII.
fn latin1(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.is_ascii() => Cow::Borrowed(text),
        _ => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    fn py(values: &[&[u8]]) -> Credentials<'static> {
        let map = headers(values);
        owned(parse(&map, Profile::PythonSdk, 8192, false))
    }

    fn owned(credentials: Credentials<'_>) -> Credentials<'static> {
        match credentials {
            Credentials::Bearer(token) => Credentials::Bearer(Cow::Owned(token.into_owned())),
            Credentials::Dpop(token) => Credentials::Dpop(Cow::Owned(token.into_owned())),
            Credentials::Missing => Credentials::Missing,
            Credentials::OtherScheme => Credentials::OtherScheme,
            Credentials::Malformed(m) => Credentials::Malformed(m),
            Credentials::BadToken(b) => Credentials::BadToken(b),
        }
    }

    fn spec(values: &[&[u8]]) -> Credentials<'static> {
        let map = headers(values);
        owned(parse(&map, Profile::Spec, 8192, false))
    }

    fn bearer(token: &str) -> Credentials<'static> {
        Credentials::Bearer(Cow::Owned(token.to_owned()))
    }

    #[test]
    fn python_sdk_takes_value_after_seven_characters() {
        assert_eq!(py(&[]), Credentials::Missing);
        assert_eq!(py(&[b""]), Credentials::Missing);
        assert_eq!(py(&[b"Basic dXNlcjpwYXNz"]), Credentials::OtherScheme);
        assert_eq!(py(&[b"Bearer abc"]), bearer("abc"));
        assert_eq!(py(&[b"bearer abc"]), bearer("abc"));
        assert_eq!(py(&[b"BeArEr abc"]), bearer("abc"));
        assert_eq!(py(&[b"Bearer  abc"]), bearer(" abc"));
        assert_eq!(py(&[b"Bearer a b"]), bearer("a b"));
        assert_eq!(py(&[b"Bearer\tabc"]), Credentials::OtherScheme);
        assert_eq!(py(&[b"Bearer"]), Credentials::OtherScheme);
        assert_eq!(py(&[b"Bearer "]), Credentials::BadToken(BadToken::Syntax));
        assert_eq!(py(&[b"Bearer first", b"Bearer second"]), bearer("first"));
        assert_eq!(py(&[b"Bearer caf\xe9"]), bearer("caf\u{e9}"));
    }

    #[test]
    fn spec_follows_rfc_6750() {
        assert_eq!(spec(&[]), Credentials::Missing);
        assert_eq!(spec(&[b"Basic dXNlcjpwYXNz"]), Credentials::OtherScheme);
        assert_eq!(spec(&[b"DPoP abc"]), Credentials::OtherScheme);
        assert_eq!(spec(&[b"Bearerabc"]), Credentials::OtherScheme);
        assert_eq!(spec(&[b"Bearer abc"]), bearer("abc"));
        assert_eq!(spec(&[b"BEARER abc=="]), bearer("abc=="));
        assert_eq!(spec(&[b"Bearer   abc"]), bearer("abc"));
        assert_eq!(spec(&[b"  Bearer abc  "]), bearer("abc"));
        assert_eq!(spec(&[b""]), Credentials::Malformed(Malformed::Empty));
        assert_eq!(
            spec(&[b"Bearer"]),
            Credentials::Malformed(Malformed::MissingToken)
        );
        assert_eq!(
            spec(&[b"Bearer   "]),
            Credentials::Malformed(Malformed::MissingToken)
        );
        assert_eq!(
            spec(&[b"Bearer\tabc"]),
            Credentials::Malformed(Malformed::TabSeparator)
        );
        assert_eq!(
            spec(&[b"Bearer a b"]),
            Credentials::Malformed(Malformed::NotSingleToken)
        );
        assert_eq!(
            spec(&[b"Bearer a,b"]),
            Credentials::Malformed(Malformed::NotSingleToken)
        );
        assert_eq!(
            spec(&[b"Bearer token=\"x\""]),
            Credentials::Malformed(Malformed::NotSingleToken)
        );
        assert_eq!(
            spec(&[b"Bearer a", b"Bearer b"]),
            Credentials::Malformed(Malformed::MultipleHeaders)
        );
        for bad in [
            &b"Bearer ab=c"[..],
            b"Bearer =abc",
            b"Bearer a$b",
            b"Bearer a\"b",
            b"Bearer caf\xe9",
            b"Bearer ===",
        ] {
            assert_eq!(
                spec(&[bad]),
                Credentials::BadToken(BadToken::Syntax),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn length_cap_applies_in_both_profiles() {
        let long = format!("Bearer {}", "a".repeat(9000));
        let map = headers(&[long.as_bytes()]);
        assert_eq!(
            parse(&map, Profile::PythonSdk, 8192, false),
            Credentials::BadToken(BadToken::TooLong)
        );
        assert_eq!(
            parse(&map, Profile::Spec, 8192, false),
            Credentials::BadToken(BadToken::TooLong)
        );
        assert!(matches!(
            parse(&map, Profile::Spec, 9000, false),
            Credentials::Bearer(_)
        ));
    }

    #[test]
    fn dpop_scheme_only_when_accepted() {
        let dpop = |values: &[&[u8]], profile| owned(parse(&headers(values), profile, 8192, true));
        for profile in [Profile::Spec, Profile::PythonSdk] {
            assert_eq!(
                dpop(&[b"DPoP abc.def-_~+/=="], profile),
                Credentials::Dpop(Cow::Owned("abc.def-_~+/==".into()))
            );
            assert_eq!(
                dpop(&[b"dpop abc"], profile),
                Credentials::Dpop(Cow::Owned("abc".into()))
            );
            assert_eq!(dpop(&[b"Bearer abc"], profile), bearer("abc"));
            assert_eq!(
                dpop(&[b"DPoP"], profile),
                Credentials::Malformed(Malformed::MissingToken)
            );
            assert_eq!(
                dpop(&[b"DPoP a b"], profile),
                Credentials::Malformed(Malformed::NotSingleToken)
            );
            assert_eq!(
                dpop(&[b"DPoP caf\xe9"], profile),
                Credentials::BadToken(BadToken::Syntax)
            );
            assert_eq!(dpop(&[b"DPoPabc"], profile), Credentials::OtherScheme);
        }
        assert_eq!(spec(&[b"DPoP abc"]), Credentials::OtherScheme);
        assert_eq!(py(&[b"DPoP abc"]), Credentials::OtherScheme);
        let long = format!("DPoP {}", "a".repeat(8193));
        assert_eq!(
            parse(&headers(&[long.as_bytes()]), Profile::Spec, 8192, true),
            Credentials::BadToken(BadToken::TooLong)
        );
    }
}
