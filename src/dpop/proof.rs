//! [`DpopVerifier`]: one DPoP proof checked against one request (RFC 9449 §4.3), then the
//! replay window.

use std::{fmt, str::FromStr, sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::{HeaderValue, Method};
use jsonwebtoken::{
    Algorithm, DecodingKey,
    crypto::CryptoProvider,
    jwk::{
        AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
        EllipticCurveKeyType, Jwk, OctetKeyPairParameters, OctetKeyPairType, RSAKeyParameters,
        RSAKeyType, ThumbprintHash,
    },
};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    DpopError,
    htu::normalise_htu,
    replay::{InMemoryReplayStore, ReplayStore, Store},
};

/// The default `iat` window: a proof is accepted up to 300 seconds before or after its `iat`.
pub const DEFAULT_IAT_WINDOW: Duration = Duration::from_secs(300);
/// The default bound on a `DPoP` header value, in bytes (an RSA-4096 proof is about 2.3 KB).
pub const DEFAULT_MAX_PROOF_SIZE: usize = 8 * 1024;
/// The default bound on a proof's `jti`, in bytes.
pub const DEFAULT_MAX_JTI_LEN: usize = 256;
/// The algorithms a [`DpopVerifier`] accepts unless told otherwise.
pub const DEFAULT_DPOP_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS256,
];

/// The longest `iat` window a builder accepts: one hour each way.
const MAX_IAT_WINDOW: Duration = Duration::from_secs(3600);
/// RSA keys under 2048 bits are refused: 256 bytes of modulus are 342 base64url characters.
const MIN_RSA_MODULUS_B64: usize = 342;

/// Checks the server's own nonce in a proof (RFC 9449 §9): a hook, so nonces can be stateless
/// (an authenticated timestamp) or stored, and replicas agree.
///
/// With a check configured, a proof without `nonce` is refused with
/// [`DpopError::NonceRequired`] and one whose nonce the check refuses with
/// [`DpopError::NonceInvalid`]; both answer `401` with `error="use_dpop_nonce"` and the response
/// should carry a fresh `DPoP-Nonce`. Without one, a `nonce` claim is ignored. Any
/// `Fn(&str) -> bool` is a check:
///
/// ```
/// use axum_bearer::dpop::DpopVerifier;
///
/// let verifier = DpopVerifier::builder()
///     .nonce_check(|nonce: &str| nonce == "n-2026")
///     .build()?;
/// # Ok::<(), axum_bearer::dpop::DpopConfigError>(())
/// ```
pub trait NonceCheck: Send + Sync + 'static {
    /// Whether `nonce`, the proof's `nonce` claim, is one this server accepts now.
    fn accepts(&self, nonce: &str) -> bool;
}

impl<F: Fn(&str) -> bool + Send + Sync + 'static> NonceCheck for F {
    fn accepts(&self, nonce: &str) -> bool {
        self(nonce)
    }
}

/// What [`DpopVerifierBuilder::build`] refuses.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopConfigError {
    /// The algorithm allow-list is empty.
    #[error("no DPoP algorithm allowed")]
    NoAlgorithm,
    /// A symmetric (HMAC) algorithm: DPoP proofs are signed with a key only the client holds
    /// (RFC 9449 §4.2).
    #[error("DPoP proofs need an asymmetric algorithm, not {0:?}")]
    SymmetricAlgorithm(Algorithm),
    /// An algorithm this version cannot check proofs with.
    #[error("unsupported DPoP algorithm {0:?}")]
    UnsupportedAlgorithm(Algorithm),
    /// The `iat` window is zero or over an hour.
    #[error("the DPoP iat window must be between 1 second and 1 hour")]
    Window,
    /// A size bound of zero.
    #[error("the DPoP proof and jti bounds must be at least 1 byte")]
    Bound,
    /// The public URL of [`Dpop`](super::Dpop) is not usable.
    #[error("DPoP public URL {url:?} refused: {reason}")]
    PublicUrl {
        /// The URL as configured (escaped).
        url: String,
        /// Why.
        reason: &'static str,
    },
}

/// Builds a [`DpopVerifier`]; every setting is checked by [`build`](Self::build).
#[must_use]
pub struct DpopVerifierBuilder {
    algorithms: Vec<Algorithm>,
    window: Duration,
    max_proof_size: usize,
    max_jti_len: usize,
    store: Option<Store>,
    nonce: Option<Arc<dyn NonceCheck>>,
}

impl fmt::Debug for DpopVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopVerifierBuilder")
            .field("algorithms", &self.algorithms)
            .field("window", &self.window)
            .field("max_proof_size", &self.max_proof_size)
            .field("max_jti_len", &self.max_jti_len)
            .field("nonce_check", &self.nonce.is_some())
            .finish_non_exhaustive()
    }
}

impl DpopVerifierBuilder {
    /// The signature algorithms accepted in proofs, in the order `algs` lists them
    /// (default [`DEFAULT_DPOP_ALGORITHMS`]: ES256, EdDSA, RS256, PS256). HMAC is refused when
    /// built; `none` is not an [`Algorithm`] and is never accepted.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Vec::new();
        for algorithm in algorithms {
            if !self.algorithms.contains(&algorithm) {
                self.algorithms.push(algorithm);
            }
        }
        self
    }

    /// How far a proof's `iat` may be from the server's clock, either way (default
    /// [`DEFAULT_IAT_WINDOW`], 300 s). This is the whole allowance for clock skew: nothing is
    /// added on top. Whole seconds; between 1 s and 1 hour.
    pub fn iat_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The largest `DPoP` header value accepted, in bytes (default [`DEFAULT_MAX_PROOF_SIZE`]).
    pub fn max_proof_size(mut self, bytes: usize) -> Self {
        self.max_proof_size = bytes;
        self
    }

    /// The longest `jti` accepted, in bytes (default [`DEFAULT_MAX_JTI_LEN`]).
    pub fn max_jti_len(mut self, bytes: usize) -> Self {
        self.max_jti_len = bytes;
        self
    }

    /// Where used `jti`s are recorded (default: an [`InMemoryReplayStore`] of
    /// [`DEFAULT_REPLAY_MAX_ENTRIES`](super::DEFAULT_REPLAY_MAX_ENTRIES)). Behind several
    /// replicas, a store they share.
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        let any: &dyn std::any::Any = &store;
        self.store = Some(match any.downcast_ref::<InMemoryReplayStore>() {
            Some(memory) => Store::Memory(memory.clone()),
            None => Store::Custom(Arc::new(store)),
        });
        self
    }

    /// Requires a server nonce in every proof, checked by `check` (see [`NonceCheck`]).
    pub fn nonce_check(mut self, check: impl NonceCheck) -> Self {
        self.nonce = Some(Arc::new(check));
        self
    }

    /// The verifier, or what is wrong with the settings.
    pub fn build(self) -> Result<DpopVerifier, DpopConfigError> {
        if self.algorithms.is_empty() {
            return Err(DpopConfigError::NoAlgorithm);
        }
        if let Some(&hmac) = self.algorithms.iter().find(|algorithm| {
            matches!(
                algorithm,
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
            )
        }) {
            return Err(DpopConfigError::SymmetricAlgorithm(hmac));
        }
        if let Some(&unknown) = self
            .algorithms
            .iter()
            .find(|&&algorithm| alg_name(algorithm).is_none())
        {
            return Err(DpopConfigError::UnsupportedAlgorithm(unknown));
        }
        if self.window < Duration::from_secs(1) || self.window > MAX_IAT_WINDOW {
            return Err(DpopConfigError::Window);
        }
        if self.max_proof_size == 0 || self.max_jti_len == 0 {
            return Err(DpopConfigError::Bound);
        }
        crate::crypto::ensure_provider();
        let window = i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX);
        Ok(DpopVerifier {
            inner: Arc::new(Inner {
                algorithms: self.algorithms,
                window,
                max_proof_size: self.max_proof_size,
                max_jti_len: self.max_jti_len,
                store: self
                    .store
                    .unwrap_or_else(|| Store::Memory(InMemoryReplayStore::default())),
                nonce: self.nonce,
            }),
        })
    }
}

/// Checks DPoP proofs (RFC 9449): one proof for one request, every check of §4.3 in order,
/// then the replay window.
///
/// Built by [`DpopVerifier::builder`]; clones share the settings and the replay store.
///
/// ```
/// use axum_bearer::dpop::{DpopRequest, DpopVerifier};
/// use http::{HeaderMap, Method};
///
/// # async fn handle(headers: HeaderMap, path: &str, token: &str) -> Result<(), axum_bearer::dpop::DpopError> {
/// let verifier = DpopVerifier::builder().build().expect("valid settings");
/// // The URI from the configured public URL of the resource and the request's path, never
/// // from the Host header (behind a proxy the client chooses it).
/// let htu = format!("https://api.example{path}");
/// let request = DpopRequest::new(&Method::GET, &htu).access_token(token);
/// let proof = verifier.verify(headers.get_all("dpop"), &request).await?;
/// // The token must be bound to this key: its `cnf.jkt` must equal `proof.jkt`.
/// # let _ = proof;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DpopVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    algorithms: Vec<Algorithm>,
    window: i64,
    max_proof_size: usize,
    max_jti_len: usize,
    store: Store,
    nonce: Option<Arc<dyn NonceCheck>>,
}

impl fmt::Debug for DpopVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopVerifier")
            .field("algorithms", &self.inner.algorithms)
            .field("iat_window_secs", &self.inner.window)
            .field("max_proof_size", &self.inner.max_proof_size)
            .field("max_jti_len", &self.inner.max_jti_len)
            .field("nonce_check", &self.inner.nonce.is_some())
            .finish_non_exhaustive()
    }
}

/// The request a proof must be for.
#[derive(Clone, Copy)]
pub struct DpopRequest<'a> {
    method: &'a Method,
    htu: &'a str,
    access_token: Option<&'a str>,
}

impl fmt::Debug for DpopRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopRequest")
            .field("method", self.method)
            .field("htu", &self.htu)
            .field("access_token", &self.access_token.map(|_| "<redacted>"))
            .finish()
    }
}

impl<'a> DpopRequest<'a> {
    /// A request with `method` to `htu`: the target URI built from the **configured** public
    /// URL of the resource and the request's path (query and fragment are ignored). Never
    /// build it from the `Host` header or `X-Forwarded-*`: the client chooses those.
    pub fn new(method: &'a Method, htu: &'a str) -> Self {
        Self {
            method,
            htu,
            access_token: None,
        }
    }

    /// The access token presented with the proof (`Authorization: DPoP <token>`): the proof
    /// must then carry its hash in `ath` (RFC 9449 §4.3 check 12).
    pub fn access_token(mut self, token: &'a str) -> Self {
        self.access_token = Some(token);
        self
    }
}

/// A proof that passed every check of RFC 9449 §4.3 but the replay window: hand it to
/// [`DpopVerifier::record`] before accepting the request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a checked proof is accepted only once DpopVerifier::record says it is new"]
pub struct CheckedProof {
    proof: DpopProof,
}

impl CheckedProof {
    pub(crate) fn from_parts(jkt: String, jti: String, iat: i64) -> Self {
        Self {
            proof: DpopProof { jkt, jti, iat },
        }
    }

    pub(crate) fn into_proof(self) -> DpopProof {
        self.proof
    }

    /// The RFC 7638 SHA-256 thumbprint of the proof's key, base64url: compare it with the
    /// token's `cnf.jkt` before recording.
    pub fn jkt(&self) -> &str {
        &self.proof.jkt
    }
}

/// An accepted DPoP proof.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DpopProof {
    /// The RFC 7638 SHA-256 thumbprint of the proof's public key, base64url without padding:
    /// what a bound token's `cnf.jkt` must equal.
    pub jkt: String,
    /// The proof's identifier.
    pub jti: String,
    /// When the client made the proof (Unix seconds).
    pub iat: i64,
}

/// The JOSE header members read; each any JSON, so a wrong type fails its own check.
#[derive(Deserialize)]
struct Header {
    typ: Option<Value>,
    alg: Option<Value>,
    jwk: Option<Value>,
    crit: Option<Value>,
}

/// The claims read; each any JSON, so a wrong type fails its own check.
#[derive(Deserialize)]
struct Claims {
    jti: Option<Value>,
    htm: Option<Value>,
    htu: Option<Value>,
    iat: Option<Value>,
    ath: Option<Value>,
    nonce: Option<Value>,
}

impl DpopVerifier {
    /// A builder with the defaults: ES256, EdDSA, RS256 and PS256; a ±300 s `iat` window;
    /// 8 KiB proofs, 256-byte `jti`s; an in-memory replay store; no nonce.
    pub fn builder() -> DpopVerifierBuilder {
        DpopVerifierBuilder {
            algorithms: DEFAULT_DPOP_ALGORITHMS.to_vec(),
            window: DEFAULT_IAT_WINDOW,
            max_proof_size: DEFAULT_MAX_PROOF_SIZE,
            max_jti_len: DEFAULT_MAX_JTI_LEN,
            store: None,
            nonce: None,
        }
    }

    /// This verifier with `check` as its nonce check, or none (the replay store still shared).
    pub(crate) fn with_nonce_check(&self, check: Option<Arc<dyn NonceCheck>>) -> Self {
        let inner = &*self.inner;
        Self {
            inner: Arc::new(Inner {
                algorithms: inner.algorithms.clone(),
                window: inner.window,
                max_proof_size: inner.max_proof_size,
                max_jti_len: inner.max_jti_len,
                store: inner.store.clone(),
                nonce: check,
            }),
        }
    }

    /// The accepted algorithms, in order.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.inner.algorithms
    }

    /// The accepted algorithms' names (`ES256`, …): the `algs` parameter of the `DPoP`
    /// challenge and `dpop_signing_alg_values_supported` in metadata.
    pub fn algorithm_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.inner
            .algorithms
            .iter()
            .filter_map(|&algorithm| alg_name(algorithm))
    }

    /// Checks one request's proof and records its `jti`: [`check`](Self::check), then
    /// [`record`](Self::record).
    ///
    /// `proofs` are **all** the request's `DPoP` header values (`headers.get_all("dpop")`):
    /// none or two are refused. To compare the token's `cnf.jkt` before the `jti` is recorded,
    /// call the two steps yourself.
    pub async fn verify<'h>(
        &self,
        proofs: impl IntoIterator<Item = &'h HeaderValue>,
        request: &DpopRequest<'_>,
    ) -> Result<DpopProof, DpopError> {
        let checked = self.check(proofs, request)?;
        self.record(checked).await
    }

    /// Every check of RFC 9449 §4.3 but the replay window, with the system clock. Pure: nothing
    /// is recorded.
    pub fn check<'h>(
        &self,
        proofs: impl IntoIterator<Item = &'h HeaderValue>,
        request: &DpopRequest<'_>,
    ) -> Result<CheckedProof, DpopError> {
        self.check_at(proofs, request, crate::clock::unix_now())
    }

    /// [`check`](Self::check) at `now` (Unix seconds) instead of the system clock.
    pub fn check_at<'h>(
        &self,
        proofs: impl IntoIterator<Item = &'h HeaderValue>,
        request: &DpopRequest<'_>,
        now: i64,
    ) -> Result<CheckedProof, DpopError> {
        let inner = &*self.inner;

        // 1. Exactly one `DPoP` header, within the size bound.
        let mut proofs = proofs.into_iter();
        let proof = proofs.next().ok_or(DpopError::Missing)?;
        if proofs.next().is_some() {
            return Err(DpopError::MultipleProofs);
        }
        if proof.len() > inner.max_proof_size {
            return Err(DpopError::TooLarge);
        }

        // 2. One well-formed compact JWS: three base64url parts, JSON objects.
        let proof = proof.to_str().map_err(|_| DpopError::Malformed)?;
        let mut parts = proof.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(DpopError::Malformed);
        };
        let header_json = URL_SAFE_NO_PAD
            .decode(header_b64)
            .map_err(|_| DpopError::Malformed)?;
        let claims_json = URL_SAFE_NO_PAD
            .decode(claims_b64)
            .map_err(|_| DpopError::Malformed)?;
        let header: Header =
            serde_json::from_slice(&header_json).map_err(|_| DpopError::Malformed)?;
        let claims: Claims =
            serde_json::from_slice(&claims_json).map_err(|_| DpopError::Malformed)?;
        // No JOSE extension is understood here (RFC 7515 §4.1.11).
        if header.crit.is_some() {
            return Err(DpopError::Malformed);
        }

        // 4. `typ`.
        match header.typ.as_ref().and_then(Value::as_str) {
            Some(typ)
                if typ.eq_ignore_ascii_case("dpop+jwt")
                    || typ.eq_ignore_ascii_case("application/dpop+jwt") => {}
            _ => return Err(DpopError::Type),
        }

        // 5. An allowed asymmetric algorithm (`none` and HMAC never are).
        let algorithm = header
            .alg
            .as_ref()
            .and_then(Value::as_str)
            .and_then(|alg| Algorithm::from_str(alg).ok())
            .filter(|algorithm| inner.algorithms.contains(algorithm))
            .ok_or(DpopError::Algorithm)?;

        // 7 (before the key is used). A public key of the algorithm's type.
        let Some(Value::Object(jwk)) = &header.jwk else {
            return Err(DpopError::Key);
        };
        let jwk = public_jwk(jwk, algorithm)?;

        // 6. The signature, with that key.
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| DpopError::Key)?;
        let message_len = header_b64.len() + 1 + claims_b64.len();
        let verified = jsonwebtoken::crypto::verify(
            signature_b64,
            &proof.as_bytes()[..message_len],
            &key,
            algorithm,
        );
        if !matches!(verified, Ok(true)) {
            return Err(DpopError::Signature);
        }

        // 3. `jti`: a non-empty string within the bound.
        let jti = match claims.jti {
            Some(Value::String(jti)) if !jti.is_empty() && jti.len() <= inner.max_jti_len => jti,
            _ => return Err(DpopError::Jti),
        };

        // 8. `htm`: the request's method, exactly.
        if claims.htm.as_ref().and_then(Value::as_str) != Some(request.method.as_str()) {
            return Err(DpopError::Method);
        }

        // 9. `htu`: the request's URI, both normalised (RFC 3986 §6.2.2), without query and
        //    fragment.
        let proof_htu = claims
            .htu
            .as_ref()
            .and_then(Value::as_str)
            .and_then(normalise_htu);
        if proof_htu.is_none() || proof_htu != normalise_htu(request.htu) {
            return Err(DpopError::Uri);
        }

        // 10. The server's nonce, when it wants one.
        if let Some(check) = &inner.nonce {
            match &claims.nonce {
                None => return Err(DpopError::NonceRequired),
                Some(Value::String(nonce)) if check.accepts(nonce) => {}
                Some(_) => return Err(DpopError::NonceInvalid),
            }
        }

        // 11. `iat` within the window, either way; the window is the whole allowance.
        let iat = claims
            .iat
            .as_ref()
            .and_then(numeric_date)
            .ok_or(DpopError::IssuedAt)?;
        if now.abs_diff(iat) > inner.window.unsigned_abs() {
            return Err(DpopError::IssuedAt);
        }

        // 12. `ath`: required with an access token, and its hash.
        if let Some(token) = request.access_token {
            let expected = access_token_hash(token).ok_or(DpopError::AccessTokenHash)?;
            if claims.ath.as_ref().and_then(Value::as_str) != Some(expected.as_str()) {
                return Err(DpopError::AccessTokenHash);
            }
        }

        let jkt = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|_| DpopError::Key)?;
        Ok(CheckedProof {
            proof: DpopProof { jkt, jti, iat },
        })
    }

    /// The replay window (RFC 9449 §11.1): records the proof's `jti` for its key until the
    /// proof leaves the `iat` window. A `jti` already recorded is refused
    /// ([`DpopError::Replayed`]); a store that cannot answer refuses too
    /// ([`DpopError::ReplayStoreUnavailable`], a 503), never accepts. The time to remember it
    /// is reckoned with the system clock.
    pub async fn record(&self, checked: CheckedProof) -> Result<DpopProof, DpopError> {
        let proof = checked.proof;
        let now = crate::clock::unix_now();
        let until = proof.iat.saturating_add(self.inner.window);
        // The `iat` check accepts through the whole second `until` (whole seconds, inclusive),
        // and `now` is already partly gone: one second more covers both.
        let ttl = Duration::from_secs(
            u64::try_from(until.saturating_sub(now))
                .unwrap_or(0)
                .saturating_add(1),
        );
        match self
            .inner
            .store
            .insert_if_absent(&proof.jkt, &proof.jti, ttl)
            .await
        {
            Ok(true) => Ok(proof),
            Ok(false) => Err(DpopError::Replayed),
            Err(error) => {
                tracing::warn!(error = %error, "DPoP replay store unavailable");
                Err(DpopError::ReplayStoreUnavailable)
            }
        }
    }
}

/// The JOSE name of an asymmetric `algorithm` this module can check, or `None`.
fn alg_name(algorithm: Algorithm) -> Option<&'static str> {
    Some(match algorithm {
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        _ => return None,
    })
}

/// The `ath` of `token`: base64url(SHA-256(token)) (RFC 9449 §4.2).
pub fn access_token_hash(token: &str) -> Option<String> {
    crate::crypto::ensure_provider();
    let digest = (CryptoProvider::try_get_default()?.key_utils.compute_digest)(
        token.as_bytes(),
        ThumbprintHash::SHA256,
    )
    .ok()?;
    Some(URL_SAFE_NO_PAD.encode(digest))
}

/// The RFC 7638 SHA-256 thumbprint of a public `jwk` (base64url), or `None` for a key type it
/// is not defined for here.
///
/// ```
/// use axum_bearer::dpop::jwk_thumbprint;
///
/// // RFC 7638 §3.1.
/// let jwk = serde_json::from_value(serde_json::json!({
///     "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
///     "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
/// }))?;
/// assert_eq!(
///     jwk_thumbprint(&jwk).as_deref(),
///     Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn jwk_thumbprint(jwk: &Jwk) -> Option<String> {
    crate::crypto::ensure_provider();
    jwk.thumbprint(ThumbprintHash::SHA256).ok()
}

/// A JSON number as whole Unix seconds (a fraction is cut off).
fn numeric_date(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|seconds| seconds.is_finite() && seconds.abs() < 1e15)
            // The bound above makes the cast exact.
            .map(|seconds| seconds.floor() as i64)
    })
}

/// The header's `jwk` as a public key for `algorithm`: private members refused, the key type
/// and curve those of the algorithm, RSA of 2048 bits or more.
fn public_jwk(jwk: &Map<String, Value>, algorithm: Algorithm) -> Result<Jwk, DpopError> {
    const PRIVATE: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];
    if PRIVATE.iter().any(|member| jwk.contains_key(*member)) {
        return Err(DpopError::PrivateKey);
    }
    let member = |name: &str| match jwk.get(name) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value.clone()),
        _ => Err(DpopError::Key),
    };
    let kty = member("kty")?;
    let parameters = match algorithm {
        Algorithm::ES256 | Algorithm::ES384 => {
            let curve = match (algorithm, member("crv")?.as_str()) {
                (Algorithm::ES256, "P-256") => EllipticCurve::P256,
                (Algorithm::ES384, "P-384") => EllipticCurve::P384,
                _ => return Err(DpopError::Key),
            };
            if kty != "EC" {
                return Err(DpopError::Key);
            }
            AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve,
                x: member("x")?,
                y: member("y")?,
            })
        }
        Algorithm::EdDSA => {
            if kty != "OKP" || member("crv")? != "Ed25519" {
                return Err(DpopError::Key);
            }
            AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: member("x")?,
            })
        }
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => {
            let n = member("n")?;
            if kty != "RSA" || n.len() < MIN_RSA_MODULUS_B64 {
                return Err(DpopError::Key);
            }
            AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n,
                e: member("e")?,
            })
        }
        _ => return Err(DpopError::Key),
    };
    // The thumbprint is computed over the members as sent: they must be base64url.
    let base64url = |value: &str| {
        value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let members_ok = match &parameters {
        AlgorithmParameters::EllipticCurve(ec) => base64url(&ec.x) && base64url(&ec.y),
        AlgorithmParameters::OctetKeyPair(okp) => base64url(&okp.x),
        AlgorithmParameters::RSA(rsa) => base64url(&rsa.n) && base64url(&rsa.e),
        _ => false,
    };
    if !members_ok {
        return Err(DpopError::Key);
    }
    Ok(Jwk {
        common: CommonParameters::default(),
        algorithm: parameters,
    })
}
