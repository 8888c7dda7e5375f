//! [`Dpop`]: DPoP on the [`BearerAuth`] layer — the mode, the public URL proofs name, the
//! verifier and the nonces — and the hook through which the layer checks each request.

use std::{fmt, future::Future, pin::Pin, sync::Arc};

use http::HeaderValue;
use url::{Host, Url};

use super::{DpopConfigError, DpopError, DpopNonces, DpopRequest, DpopVerifier, NonceCheck};
use crate::{
    BearerAuth, RejectionKind, clock,
    possession::{Possession, ProofFailure, ProofRequest, Proven},
};

/// Whether the layer also takes bearer tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DpopMode {
    /// DPoP and `Bearer` both accepted: a DPoP-bound token only with `DPoP` and a proof, an
    /// unbound token only with `Bearer`. Challenges name both schemes.
    Allowed,
    /// Only `DPoP`: `Bearer` credentials are treated as absent (401 with a `DPoP` challenge and
    /// no error, RFC 6750 §3.1), and every token must be bound.
    Required,
}

/// DPoP (RFC 9449) on a [`BearerAuth`] layer: [`BearerAuth::dpop`] takes it.
///
/// Every request with `Authorization: DPoP <token>` must carry exactly one `DPoP` header whose
/// proof passes every check of RFC 9449 §4.3 for this request — its `htu` is the configured
/// **public URL** followed by the request's path, never built from `Host` — and the token's
/// `cnf.jkt` must be the proof's key thumbprint; the proof's `jti` is then recorded in the
/// verifier's replay store. A DPoP-bound token sent as `Bearer` is refused (RFC 9449 §7.2).
///
/// The router serves the path as sent, so a request path that the `htu` comparison's
/// normalisation would restructure — a dot segment (also as `%2e`), a `\`, a percent-encoded
/// unreserved character — is refused (`invalid_dpop_proof`): otherwise a proof for `/mcp` could
/// open `/files/x/../../mcp`.
///
/// ```
/// use axum::{Router, routing::get};
/// use axum_bearer::{AuthenticatedUser, BearerAuth, Profile, StaticVerifier, AccessToken};
/// use axum_bearer::dpop::{Dpop, DpopNonces};
///
/// async fn whoami(user: AuthenticatedUser) -> String {
///     format!("{} bound to {:?}", user.client_id(), user.proof_thumbprint())
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let token = AccessToken::new("tok", "client", ["read"]).with_dpop_jkt("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
/// let dpop = Dpop::required("https://api.example")?
///     // Optional: server nonces every replica agrees on (32+ random bytes, shared).
///     .nonces(DpopNonces::builder([7_u8; 32]).build()?);
/// let app: Router = Router::new()
///     .route("/whoami", get(whoami))
///     .layer(BearerAuth::new(StaticVerifier::new([token])).profile(Profile::Spec).dpop(dpop));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Dpop {
    mode: DpopMode,
    /// The public URL, without a trailing `/`: `htu` is this followed by the request's path.
    public_url: Arc<str>,
    verifier: DpopVerifier,
    nonces: Option<DpopNonces>,
}

impl fmt::Debug for Dpop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dpop")
            .field("mode", &self.mode)
            .field("public_url", &self.public_url)
            .field("verifier", &self.verifier)
            .field("nonces", &self.nonces)
            .finish()
    }
}

impl Dpop {
    /// DPoP accepted besides `Bearer` ([`DpopMode::Allowed`]), proofs checked against
    /// `public_url` (see [`new`](Self::new)).
    pub fn allowed(public_url: impl AsRef<str>) -> Result<Self, DpopConfigError> {
        Self::new(DpopMode::Allowed, public_url)
    }

    /// DPoP only ([`DpopMode::Required`]), proofs checked against `public_url` (see
    /// [`new`](Self::new)).
    pub fn required(public_url: impl AsRef<str>) -> Result<Self, DpopConfigError> {
        Self::new(DpopMode::Required, public_url)
    }

    /// DPoP in `mode`, with the default [`DpopVerifier`] (ES256, EdDSA, RS256, PS256; ±300 s;
    /// an in-memory replay store) and no nonces.
    ///
    /// `public_url` is where clients reach the path `/` **as this layer sees it**: a proof's
    /// `htu` must be `public_url` followed by the request's path (query and fragment ignored,
    /// both sides normalised as RFC 3986 §6.2.2 says). Behind a proxy it is the proxy's URL;
    /// for a layer inside `Router::nest("/api", …)`, which sees paths without `/api`, it ends
    /// with `/api`. It must be an absolute `https` URL (`http` on loopback hosts only) without
    /// query, fragment or user information.
    pub fn new(mode: DpopMode, public_url: impl AsRef<str>) -> Result<Self, DpopConfigError> {
        let public_url = public_url.as_ref();
        let refuse = |reason: &'static str| DpopConfigError::PublicUrl {
            url: without_userinfo(public_url).escape_debug().to_string(),
            reason,
        };
        let parsed = Url::parse(public_url).map_err(|_| refuse("not an absolute URL"))?;
        let loopback = match parsed.host() {
            Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => return Err(refuse("has no host")),
        };
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => return Err(refuse("plain http is allowed for loopback hosts only")),
            _ => return Err(refuse("not an http(s) URL")),
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(refuse("has a query or a fragment"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(refuse("holds user information"));
        }
        Ok(Self {
            mode,
            public_url: parsed.as_str().trim_end_matches('/').into(),
            verifier: DpopVerifier::builder().build()?,
            nonces: None,
        })
    }

    /// The proof checks: algorithms, `iat` window, size bounds and replay store (default
    /// `DpopVerifier::builder().build()`). Its own nonce check, if any, is not used: on the
    /// layer, server nonces come from [`nonces`](Self::nonces), which can also issue them.
    #[must_use]
    pub fn verifier(mut self, verifier: DpopVerifier) -> Self {
        self.verifier = verifier;
        self
    }

    /// Requires a server nonce in every proof (RFC 9449 §9): a proof without one, or with one
    /// these nonces did not issue within their validity, gets 401 `use_dpop_nonce` and a fresh
    /// nonce in `DPoP-Nonce`.
    #[must_use]
    pub fn nonces(mut self, nonces: DpopNonces) -> Self {
        self.nonces = Some(nonces);
        self
    }

    /// The mode.
    pub fn mode(&self) -> DpopMode {
        self.mode
    }

    /// The public URL proofs' `htu` starts with (without a trailing `/`).
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The algorithms accepted in proofs: the `algs` of the `DPoP` challenge and
    /// `dpop_signing_alg_values_supported` in the metadata.
    pub fn algorithm_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.verifier.algorithm_names()
    }
}

impl BearerAuth {
    /// Accepts DPoP-bound tokens (RFC 9449) as [`Dpop`] says; off by default, and nothing
    /// changes for requests when it is off.
    ///
    /// With it on, challenges name the `DPoP` scheme with its `algs` (after `Bearer`, which is
    /// left out when DPoP is [required](DpopMode::Required)); a refusal's error is on the
    /// challenge of the scheme the request used ([`Rejection::scheme`](crate::Rejection::scheme)).
    /// Statuses: a bad proof → 401 `invalid_dpop_proof`, a missing or stale nonce → 401
    /// `use_dpop_nonce` with `DPoP-Nonce`, a token not bound to the proof's key or a bound token
    /// sent as `Bearer` → 401 `invalid_token`, a malformed `Authorization` → 400 (`Spec`),
    /// a replay store that cannot answer → 503.
    ///
    /// A `DPoP` request is always verified on the waiting path (its `jti` goes to the replay
    /// store, which may be remote): code that reads the user synchronously — an rmcp tool,
    /// [`AuthenticatedUser::from_extensions`](crate::AuthenticatedUser::from_extensions) — needs
    /// [`verify_eagerly`](Self::verify_eagerly), as with any verifier that waits.
    #[cfg_attr(docsrs, doc(cfg(feature = "dpop")))]
    #[must_use]
    pub fn dpop(self, dpop: Dpop) -> Self {
        let algs = dpop.algorithm_names().collect::<Vec<_>>().join(" ");
        // The layer owns the nonces: it must be able to hand one out with every
        // `use_dpop_nonce`, which a verifier's own check cannot.
        let check = dpop
            .nonces
            .as_ref()
            .map(|nonces| Arc::new(nonces.clone()) as Arc<dyn NonceCheck>);
        let verifier = dpop.verifier.with_nonce_check(check);
        let check = DpopCheck {
            required: dpop.mode == DpopMode::Required,
            public_url: dpop.public_url,
            algs,
            verifier,
            nonces: dpop.nonces,
        };
        self.with(|config| config.possession = Some(Arc::new(check)))
    }
}

#[cfg(feature = "metadata")]
impl crate::ProtectedResourceMetadata {
    /// Announces the layer's DPoP settings (RFC 9728 §2): `dpop_signing_alg_values_supported`
    /// are `dpop`'s algorithms and `dpop_bound_access_tokens_required` is `true` when DPoP is
    /// [required](DpopMode::Required), so the document cannot disagree with the layer.
    ///
    /// ```
    /// use axum_bearer::{ProtectedResourceMetadata, dpop::Dpop};
    ///
    /// let dpop = Dpop::required("https://api.example")?;
    /// let metadata = ProtectedResourceMetadata::new("https://api.example/mcp", ["https://as.example"])?
    ///     .with_dpop(&dpop);
    /// assert_eq!(metadata.dpop_signing_alg_values_supported(), ["ES256", "EdDSA", "RS256", "PS256"]);
    /// assert!(metadata.dpop_bound_access_tokens_required());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg_attr(docsrs, doc(cfg(all(feature = "dpop", feature = "metadata"))))]
    #[must_use]
    pub fn with_dpop(self, dpop: &Dpop) -> Self {
        self.with_dpop_settings(
            dpop.algorithm_names().map(str::to_owned).collect(),
            dpop.mode == DpopMode::Required,
        )
    }
}

impl NonceCheck for DpopNonces {
    fn accepts(&self, nonce: &str) -> bool {
        self.check(Some(nonce), clock::unix_now()).is_ok()
    }
}

/// What the layer holds: the settings, ready for each request.
struct DpopCheck {
    required: bool,
    public_url: Arc<str>,
    algs: String,
    verifier: DpopVerifier,
    nonces: Option<DpopNonces>,
}

impl Possession for DpopCheck {
    fn required(&self) -> bool {
        self.required
    }

    fn algs(&self) -> &str {
        &self.algs
    }

    fn fresh_nonce(&self) -> Option<HeaderValue> {
        let nonce = self.nonces.as_ref()?.issue(clock::unix_now());
        HeaderValue::try_from(nonce).ok()
    }

    fn check(&self, request: &ProofRequest<'_>) -> Result<Proven, ProofFailure> {
        // The router serves the path as sent: one the normalisation would restructure could be
        // another resource than the one the proof's `htu` names.
        if !super::htu::is_normal_request_path(request.path) {
            return Err(failure(&DpopError::Uri));
        }
        let mut htu = String::with_capacity(self.public_url.len() + request.path.len());
        htu.push_str(&self.public_url);
        htu.push_str(request.path);
        let target = DpopRequest::new(request.method, &htu).access_token(request.token);
        let checked = self
            .verifier
            .check(request.headers.get_all("dpop"), &target)
            .map_err(|error| failure(&error))?;
        let proof = checked.into_proof();
        Ok(Proven {
            jkt: proof.jkt,
            jti: proof.jti,
            iat: proof.iat,
        })
    }

    fn record(
        &self,
        proof: Proven,
    ) -> Pin<Box<dyn Future<Output = Result<(), ProofFailure>> + Send + '_>> {
        Box::pin(async move {
            let checked = super::CheckedProof::from_parts(proof.jkt, proof.jti, proof.iat);
            match self.verifier.record(checked).await {
                Ok(_) => Ok(()),
                Err(error) => Err(failure(&error)),
            }
        })
    }
}

/// `url` with whatever sits between `://` and the last `@` of its authority (user information,
/// a password) replaced by `***`, for error messages.
fn without_userinfo(url: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.into();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]).into(),
        None => url.into(),
    }
}

/// The rejection for a refused proof; the text names the check, never a value.
fn failure(error: &DpopError) -> ProofFailure {
    let (kind, detail) = match error {
        DpopError::Missing => (RejectionKind::InvalidDpopProof, "DPoP proof missing"),
        DpopError::MultipleProofs => (RejectionKind::InvalidDpopProof, "More than one DPoP header"),
        DpopError::TooLarge => (RejectionKind::InvalidDpopProof, "DPoP proof too large"),
        DpopError::Malformed => (
            RejectionKind::InvalidDpopProof,
            "DPoP proof is not a well-formed JWS",
        ),
        DpopError::Type => (
            RejectionKind::InvalidDpopProof,
            "DPoP proof typ is not dpop+jwt",
        ),
        DpopError::Algorithm => (
            RejectionKind::InvalidDpopProof,
            "DPoP proof alg not allowed",
        ),
        DpopError::Key => (
            RejectionKind::InvalidDpopProof,
            "DPoP proof jwk missing or unusable",
        ),
        DpopError::PrivateKey => (
            RejectionKind::InvalidDpopProof,
            "DPoP proof jwk holds a private key",
        ),
        DpopError::Signature => (
            RejectionKind::InvalidDpopProof,
            "DPoP proof signature invalid",
        ),
        DpopError::Jti => (
            RejectionKind::InvalidDpopProof,
            "DPoP proof jti missing or invalid",
        ),
        DpopError::Method => (
            RejectionKind::InvalidDpopProof,
            "DPoP proof htm does not match the request",
        ),
        DpopError::Uri => (
            RejectionKind::InvalidDpopProof,
            "DPoP proof htu does not match the request",
        ),
        DpopError::IssuedAt => (
            RejectionKind::InvalidDpopProof,
            "DPoP proof iat outside the acceptable window",
        ),
        DpopError::AccessTokenHash => (
            RejectionKind::InvalidDpopProof,
            "DPoP proof ath does not match the access token",
        ),
        DpopError::Replayed => (RejectionKind::InvalidDpopProof, "DPoP proof replayed"),
        DpopError::NonceRequired => (
            RejectionKind::UseDpopNonce,
            "Resource server requires nonce in DPoP proof",
        ),
        DpopError::NonceInvalid => (
            RejectionKind::UseDpopNonce,
            "DPoP proof nonce invalid or stale",
        ),
        DpopError::ReplayStoreUnavailable => (RejectionKind::Unavailable, ""),
    };
    ProofFailure { kind, detail }
}
