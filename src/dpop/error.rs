//! Why a DPoP proof was refused, and what the response should say.

use http::StatusCode;

/// The OAuth error a refused DPoP proof answers with (RFC 9449 §7.1, §9), or none (503).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopErrorCode {
    /// `invalid_dpop_proof`: the proof is missing, malformed, or fails a check of RFC 9449 §4.3.
    InvalidDpopProof,
    /// `use_dpop_nonce`: the server wants a (fresh) nonce of its own in the proof (RFC 9449 §9);
    /// the response carries a `DPoP-Nonce` header.
    UseDpopNonce,
    /// No OAuth error: the replay store could not answer, the client did nothing wrong (503).
    TemporarilyUnavailable,
}

impl DpopErrorCode {
    /// The `error` parameter of the `WWW-Authenticate: DPoP` challenge, or `None` for a 503.
    pub const fn as_str(self) -> Option<&'static str> {
        match self {
            Self::InvalidDpopProof => Some("invalid_dpop_proof"),
            Self::UseDpopNonce => Some("use_dpop_nonce"),
            Self::TemporarilyUnavailable => None,
        }
    }

    /// The status of the response.
    ///
    /// A resource server answers a bad proof and a missing nonce with `401 Unauthorized` and a
    /// `WWW-Authenticate: DPoP` challenge (RFC 9449 §7.1, §9; the 400 of §5 is the token
    /// endpoint's); a replay store that is down answers `503 Service Unavailable`, never a
    /// silent acceptance.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::InvalidDpopProof | Self::UseDpopNonce => StatusCode::UNAUTHORIZED,
            Self::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Why [`DpopVerifier`](super::DpopVerifier) refused a proof: which check of RFC 9449 §4.3
/// failed, in the order they run.
///
/// The text names the check, never the proof, the token or a claim value, so it can be logged
/// and sent to clients as `error_description`. [`code`](Self::code) and
/// [`status`](Self::status) say how to answer.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopError {
    /// No `DPoP` header.
    #[error("DPoP proof missing")]
    Missing,
    /// More than one `DPoP` header (RFC 9449 §4.3 check 1).
    #[error("more than one DPoP header")]
    MultipleProofs,
    /// Longer than the configured maximum proof size.
    #[error("DPoP proof too large")]
    TooLarge,
    /// Not one well-formed compact JWS: not three base64url parts, or a header or payload that is
    /// not a JSON object (check 2).
    #[error("DPoP proof is not a well-formed JWS")]
    Malformed,
    /// The header's `typ` is not `dpop+jwt` (check 4).
    #[error("DPoP proof typ is not dpop+jwt")]
    Type,
    /// The header's `alg` is missing, symmetric, `none`, or not in the allow-list (check 5).
    #[error("DPoP proof alg not allowed")]
    Algorithm,
    /// The header has no `jwk`, or it is not a usable public key for `alg` (check 6 and 7).
    #[error("DPoP proof jwk missing or unusable")]
    Key,
    /// The header's `jwk` holds private key material (check 7).
    #[error("DPoP proof jwk holds a private key")]
    PrivateKey,
    /// The signature does not verify with the header's `jwk` (check 6).
    #[error("DPoP proof signature invalid")]
    Signature,
    /// `jti` missing, not a string, empty, or over the bound (check 3).
    #[error("DPoP proof jti missing or invalid")]
    Jti,
    /// `htm` missing or not the request's method (check 8).
    #[error("DPoP proof htm does not match the request")]
    Method,
    /// `htu` missing, not a URL, or not the request's URI (check 9).
    #[error("DPoP proof htu does not match the request")]
    Uri,
    /// `iat` missing, not an integer, or outside the window (check 11).
    #[error("DPoP proof iat outside the acceptable window")]
    IssuedAt,
    /// `ath` missing while an access token is presented, or not its hash (check 12).
    #[error("DPoP proof ath does not match the access token")]
    AccessTokenHash,
    /// The server requires a nonce of its own and the proof has none (check 10).
    #[error("DPoP proof nonce required")]
    NonceRequired,
    /// The proof's nonce is not one the server accepts now (check 10).
    #[error("DPoP proof nonce invalid or stale")]
    NonceInvalid,
    /// This `jti` was already used with this key within the window (RFC 9449 §11.1).
    #[error("DPoP proof replayed")]
    Replayed,
    /// The replay store could not answer: the proof was neither accepted nor refused.
    #[error("DPoP replay store unavailable")]
    ReplayStoreUnavailable,
}

impl DpopError {
    /// The OAuth error this answers with.
    pub const fn code(&self) -> DpopErrorCode {
        match self {
            Self::NonceRequired | Self::NonceInvalid => DpopErrorCode::UseDpopNonce,
            Self::ReplayStoreUnavailable => DpopErrorCode::TemporarilyUnavailable,
            _ => DpopErrorCode::InvalidDpopProof,
        }
    }

    /// The `error` parameter of the challenge (`invalid_dpop_proof`, `use_dpop_nonce`), or
    /// `None` when the answer is a 503.
    pub const fn error_code(&self) -> Option<&'static str> {
        self.code().as_str()
    }

    /// The status of the response: see [`DpopErrorCode::status`].
    pub const fn status(&self) -> StatusCode {
        self.code().status()
    }
}
