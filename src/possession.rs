//! Proof of possession: the one hook through which a scheme that binds tokens to a key (DPoP,
//! RFC 9449, feature `dpop`) checks a request, and the scheme a client authenticated with.
//!
//! The core knows this hook and nothing of DPoP; `src/dpop/` implements it, so the arrows point
//! one way.

use std::{future::Future, pin::Pin};

use http::{HeaderMap, HeaderValue, Method};

use crate::RejectionKind;

/// The HTTP authentication scheme of a request's credentials, and of the challenge that carries
/// a rejection's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AuthScheme {
    /// `Authorization: Bearer <token>` (RFC 6750).
    #[default]
    Bearer,
    /// `Authorization: DPoP <token>` with a `DPoP` proof header (RFC 9449, feature `dpop`).
    Dpop,
}

/// What a proof is checked against.
#[cfg_attr(not(feature = "dpop"), allow(dead_code))]
pub(crate) struct ProofRequest<'a> {
    pub(crate) method: &'a Method,
    /// The request's path as the layer saw it (no query): the hook builds the full URI from the
    /// configured public URL, never from `Host`.
    pub(crate) path: &'a str,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) token: &'a str,
}

/// A proof that passed every check but the replay window.
#[cfg_attr(not(feature = "dpop"), allow(dead_code))]
pub(crate) struct Proven {
    /// The thumbprint of the proof's key, which the token's `cnf.jkt` must equal.
    pub(crate) jkt: String,
    pub(crate) jti: String,
    pub(crate) iat: i64,
}

/// Why a proof was refused: the rejection to answer with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProofFailure {
    pub(crate) kind: RejectionKind,
    pub(crate) detail: &'static str,
}

/// A sender-constraining scheme the layer accepts besides `Bearer`.
pub(crate) trait Possession: Send + Sync + 'static {
    /// Whether `Bearer` credentials are refused (only proof-bound requests are accepted).
    fn required(&self) -> bool;

    /// The `algs` parameter of the scheme's challenge: the accepted algorithms, space-separated.
    fn algs(&self) -> &str;

    /// A fresh server nonce for the `DPoP-Nonce` header of a `use_dpop_nonce` answer, when the
    /// scheme issues nonces.
    fn fresh_nonce(&self) -> Option<HeaderValue>;

    /// Every check of the request's proof but the replay window; nothing is recorded.
    fn check(&self, request: &ProofRequest<'_>) -> Result<Proven, ProofFailure>;

    /// The replay window: records the proof, refusing one seen before.
    fn record(
        &self,
        proof: Proven,
    ) -> Pin<Box<dyn Future<Output = Result<(), ProofFailure>> + Send + '_>>;
}
