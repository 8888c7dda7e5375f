//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`).
//!
//! **Not public API.** This module is hidden from the documentation, outside semver, and may
//! change or disappear in any release. It exposes the crate's pure parsers so the fuzzers can
//! reach them without a server; everything else is fuzzed through the public API.

use http::HeaderMap;

use crate::{
    Profile,
    credentials::{self, BadToken},
};

/// What the `Authorization` parser made of a header map, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// No `Authorization` header (PythonSdk: also an empty one).
    Missing,
    /// Another scheme.
    OtherScheme,
    /// A token for the verifier.
    Bearer(String),
    /// A DPoP-bound token for the verifier (only when DPoP is accepted).
    Dpop(String),
    /// A malformed request (Spec only), with the description clients get.
    Malformed(&'static str),
    /// A token over the length cap.
    TooLong,
    /// A token that cannot be valid.
    BadSyntax,
}

/// Runs the credentials parser of `profile` over `headers`, with a token cap of `max_len` bytes.
pub fn parse_credentials(headers: &HeaderMap, profile: Profile, max_len: usize) -> Credentials {
    parse_credentials_dpop(headers, profile, max_len, false)
}

/// [`parse_credentials`], with the `DPoP` scheme accepted when `dpop` is set.
pub fn parse_credentials_dpop(
    headers: &HeaderMap,
    profile: Profile,
    max_len: usize,
    dpop: bool,
) -> Credentials {
    match credentials::parse(headers, profile, max_len, dpop) {
        credentials::Credentials::Missing => Credentials::Missing,
        credentials::Credentials::OtherScheme => Credentials::OtherScheme,
        credentials::Credentials::Bearer(token) => Credentials::Bearer(token.into_owned()),
        credentials::Credentials::Dpop(token) => Credentials::Dpop(token.into_owned()),
        credentials::Credentials::Malformed(malformed) => {
            Credentials::Malformed(malformed.description())
        }
        credentials::Credentials::BadToken(BadToken::TooLong) => Credentials::TooLong,
        credentials::Credentials::BadToken(BadToken::Syntax) => Credentials::BadSyntax,
    }
}

/// Whether `token` is an RFC 6750 `b64token`.
pub fn is_b64token(token: &[u8]) -> bool {
    credentials::is_b64token(token)
}

#[cfg(feature = "jwt")]
pub use self::jwt::*;

#[cfg(feature = "jwt")]
mod jwt {
    use serde_json::{Map, Value};

    use crate::{
        AccessToken, VerifyError,
        verifier::jwt::{Audience, Rules, check_claims, check_payload, limits::nesting_exceeds},
    };

    /// The issuer [`check_jwt_claims`] expects.
    pub const ISSUER: &str = "https://as.example";
    /// The audience [`check_jwt_claims`] accepts.
    pub const AUDIENCE: &str = "https://rs.example/mcp";

    /// The switches of the claim rules, as `JwtVerifierBuilder` sets them.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct ClaimRules {
        /// `strict_rfc9068`.
        pub strict: bool,
        /// `scp_claim`.
        pub read_scp: bool,
        /// `normalise_audience`.
        pub normalise_audience: bool,
        /// `require_exp`.
        pub require_exp: bool,
        /// The leeway, in seconds.
        pub leeway: i64,
    }

    /// Checks `claims` at `now` as a verifier for [`ISSUER`] and [`AUDIENCE`] would, and maps them
    /// to the [`AccessToken`] of `token`.
    pub fn check_jwt_claims(
        token: &str,
        claims: Map<String, Value>,
        rules: ClaimRules,
        now: i64,
    ) -> Result<AccessToken, VerifyError> {
        let rules = Rules {
            issuer: Some(ISSUER.into()),
            audiences: vec![Audience::new(AUDIENCE, rules.normalise_audience)],
            leeway: rules.leeway,
            require_exp: rules.require_exp,
            strict: rules.strict,
            read_scp: rules.read_scp,
            client_id_claims: vec!["client_id".into(), "azp".into()],
            max_claims_size: crate::DEFAULT_MAX_JWT_CLAIMS_SIZE,
        };
        check_claims(token, claims, &rules, now)
    }

    /// The size and nesting bounds `JwtVerifier` applies to a compact JWT before anything else.
    pub fn check_jwt_payload(token: &str, max_claims_size: usize) -> Result<(), VerifyError> {
        check_payload(token, max_claims_size)
    }

    /// Whether `json` nests deeper than `max` levels, by the scan `JwtVerifier` uses.
    pub fn nesting_exceeds_depth(json: &[u8], max: usize) -> bool {
        nesting_exceeds(json, max)
    }
}

#[cfg(feature = "dpop")]
pub use self::dpop::*;

#[cfg(feature = "dpop")]
mod dpop {
    use http::{HeaderValue, Method};

    use crate::dpop::{DpopError, DpopRequest, DpopVerifier};

    /// The nonce [`check_dpop_proof`] accepts when it requires one.
    pub const DPOP_NONCE: &str = "fuzz-nonce";

    /// [`DpopVerifier::check_at`] of `values` (all the `DPoP` header values) for `method` and
    /// `htu`, with the default settings (or a required nonce, [`DPOP_NONCE`]): the key's
    /// thumbprint, or why the proof was refused.
    pub fn check_dpop_proof(
        values: &[HeaderValue],
        method: &Method,
        htu: &str,
        access_token: Option<&str>,
        require_nonce: bool,
        now: i64,
    ) -> Result<String, DpopError> {
        static PLAIN: std::sync::OnceLock<DpopVerifier> = std::sync::OnceLock::new();
        static NONCE: std::sync::OnceLock<DpopVerifier> = std::sync::OnceLock::new();
        let verifier = if require_nonce {
            NONCE.get_or_init(|| {
                DpopVerifier::builder()
                    .nonce_check(|nonce: &str| nonce == DPOP_NONCE)
                    .build()
                    .unwrap_or_else(|_| unreachable!("the default settings are valid"))
            })
        } else {
            PLAIN.get_or_init(|| {
                DpopVerifier::builder()
                    .build()
                    .unwrap_or_else(|_| unreachable!("the default settings are valid"))
            })
        };
        let mut request = DpopRequest::new(method, htu);
        if let Some(token) = access_token {
            request = request.access_token(token);
        }
        verifier
            .check_at(values, &request, now)
            .map(|checked| checked.jkt().to_owned())
    }
}
