//! [`JwtVerifier`]: JWT access tokens (RFC 9068) checked with the `jsonwebtoken` crate.

mod claims;
mod compact;
pub(crate) mod limits;
mod multi;

use std::{fmt, future::Future, sync::Arc, time::Duration};

use jsonwebtoken::{Algorithm, DecodingKey, jwk::Jwk};

use crate::verifier::keys::{Key, KeySet, is_hmac, key_from_jwk};
pub(crate) use claims::{Audience, Rules, check as check_claims, check_typ};
pub(crate) use compact::Jws;
use compact::{JoseHeader, parse_claims};
#[cfg(feature = "fuzzing")]
pub(crate) use limits::check_payload;

pub use self::limits::{DEFAULT_MAX_JWT_CLAIMS_SIZE, MAX_JWT_CLAIMS_DEPTH};
pub use self::multi::MultiIssuerVerifier;
use crate::{AccessToken, ConfigError, TokenVerifier, VerifyError, clock};

pub use jsonwebtoken::{self, Algorithm as JwtAlgorithm};

/// Verifies JWT access tokens: signature with a configured key, then `typ`, `exp`/`nbf` (with
/// leeway), `iss`, `aud` and the client, then maps the claims to an [`AccessToken`].
///
/// - Each key verifies exactly one algorithm, taken from the key, never from the token header;
///   `none` is never accepted; `crit` parameters it does not understand make the token invalid
///   (RFC 8725 §3.1, RFC 7515 §4.1.11).
/// - `aud` must contain one of the configured audiences — this resource (RFC 9068 §4, RFC 8707).
/// - `exp` is required by default; a token is expired when `now >= exp + leeway` (default 60 s).
/// - Claims: `scope` (space-separated) → scopes, `client_id` (else `azp`) → client, `sub` →
///   subject, the matched `aud` → resource, and every claim kept, so
///   [`AuthenticatedUser::issuer`](crate::AuthenticatedUser::issuer) reads `iss`.
/// - Resource limits, checked first, before any key lookup, signature check or JSON parse: the
///   claims may not exceed [`max_claims_size`](JwtVerifierBuilder::max_claims_size) bytes
///   (default [`DEFAULT_MAX_JWT_CLAIMS_SIZE`], 16 KiB) nor nest deeper than
///   [`MAX_JWT_CLAIMS_DEPTH`] (32) levels; a `kid` may not exceed 256 bytes.
///
/// ```
/// use axum_bearer::{BearerAuth, JwtVerifier};
///
/// # fn main() -> Result<(), axum_bearer::ConfigError> {
/// let verifier = JwtVerifier::builder()
///     .issuer("https://auth.example.com")
///     .audience("https://api.example.com/mcp")
///     .hmac_secret("key-1", b"a long random secret shared with the authorization server")?
///     .build()?;
/// let auth = BearerAuth::new(verifier);
/// # let _ = auth;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwtVerifier {
    keys: Arc<KeySet>,
    #[cfg(feature = "jwks")]
    remote: Option<Arc<crate::verifier::jwks::RemoteKeys>>,
    rules: Arc<Rules>,
    /// `typ` must be `at+jwt` (`require_at_jwt_typ`, or `strict_rfc9068`).
    strict_typ: bool,
}

impl JwtVerifier {
    /// A builder: add keys, the issuer and the audience, then [`build`](JwtVerifierBuilder::build).
    pub fn builder() -> JwtVerifierBuilder {
        JwtVerifierBuilder::default()
    }

    /// The issuer `iss` must equal, if configured.
    pub fn issuer(&self) -> Option<&str> {
        self.rules.issuer.as_deref()
    }

    /// The bound on the decoded claims, in bytes.
    pub fn max_claims_size(&self) -> usize {
        self.rules.max_claims_size
    }

    /// Verifies with the keys at hand, or says which key to fetch first: the token names a key
    /// only the remote set may have and it is not held yet. One pass over the token: split it,
    /// bound and decode the claims, parse the header, find the key, check the signature, parse
    /// the claims once and check them.
    fn verify_at_hand(&self, token: &str) -> Result<AtHand, VerifyError> {
        let jws = Jws::split(token)?;
        let claims_json = jws.claims_json(self.rules.max_claims_size)?;
        let header_json = jws.header_json()?;
        let header = JoseHeader::parse(&header_json)?;
        check_typ(header.typ(), self.strict_typ)?;
        let kid = header.kid();
        if kid.is_some_and(|kid| kid.len() > 256) {
            return Err(VerifyError::invalid("JWT kid too long"));
        }
        let mut local = self.keys.candidates(kid, header.alg).peekable();
        if local.peek().is_some() {
            verify_signature(&jws, header.alg, local)?;
        } else {
            #[cfg(feature = "jwks")]
            match &self.remote {
                Some(remote) => match remote.held_candidates(kid, header.alg) {
                    Some(keys) => {
                        verify_signature(&jws, header.alg, keys.candidates(kid, header.alg))?;
                    }
                    None => {
                        return Ok(AtHand::Fetch {
                            kid: kid.map(str::to_owned),
                            alg: header.alg,
                        });
                    }
                },
                None => return Err(VerifyError::invalid("no key for the JWT kid")),
            }
            #[cfg(not(feature = "jwks"))]
            return Err(VerifyError::invalid("no key for the JWT kid"));
        }
        let claims = parse_claims(&claims_json)?;
        check_claims(token, claims, &self.rules, clock::unix_now()).map(AtHand::Verified)
    }

    /// Loads the remote keys now, if there are any to load.
    async fn load_keys(&self) -> Result<(), VerifyError> {
        #[cfg(feature = "jwks")]
        if let Some(remote) = &self.remote {
            return remote.load().await;
        }
        Ok(())
    }

    async fn verify_token(&self, token: &str) -> Result<AccessToken, VerifyError> {
        match self.verify_at_hand(token)? {
            AtHand::Verified(verified) => Ok(verified),
            #[cfg(feature = "jwks")]
            AtHand::Fetch { kid, alg } => {
                // Only a remote key set asks: fetch the key the token names, then verify again.
                if let Some(remote) = &self.remote {
                    remote.fetch_candidates(kid.as_deref(), alg).await?;
                    if let AtHand::Verified(verified) = self.verify_at_hand(token)? {
                        return Ok(verified);
                    }
                }
                Err(VerifyError::invalid("no key for the JWT kid"))
            }
        }
    }
}

/// What the keys at hand say about a token.
enum AtHand {
    Verified(AccessToken),
    /// The key `kid` for `alg` must be fetched from the JWKS endpoint first.
    #[cfg(feature = "jwks")]
    Fetch {
        kid: Option<String>,
        alg: Algorithm,
    },
}

/// Checks the signature with the first of `candidates` bound to `alg` that verifies it.
fn verify_signature<'k>(
    jws: &Jws<'_>,
    alg: Algorithm,
    candidates: impl Iterator<Item = &'k Key>,
) -> Result<(), VerifyError> {
    let mut last = VerifyError::invalid("no key for the JWT kid");
    for key in candidates {
        if key.alg != alg {
            last = VerifyError::invalid("JWT alg is not the key's algorithm");
            continue;
        }
        match jsonwebtoken::crypto::verify(
            jws.signature,
            jws.message.as_bytes(),
            &key.decoding,
            alg,
        ) {
            Ok(true) => return Ok(()),
            Ok(false) => last = VerifyError::invalid("JWT rejected: bad signature"),
            Err(error) => {
                last = VerifyError::invalid(format!("JWT rejected: {}", error.kind_name()));
            }
        }
    }
    Err(last)
}

/// Short names of jsonwebtoken's errors, for logs (never the token).
trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for jsonwebtoken::errors::Error {
    fn kind_name(&self) -> &'static str {
        use jsonwebtoken::errors::ErrorKind as K;
        match self.kind() {
            K::InvalidToken => "malformed",
            K::InvalidSignature => "bad signature",
            K::InvalidAlgorithm | K::MissingAlgorithm => "algorithm not allowed",
            K::InvalidAlgorithmName => "unknown algorithm",
            K::Base64(_) => "bad base64",
            K::Json(_) => "bad JSON",
            K::Utf8(_) => "bad UTF-8",
            _ => "invalid",
        }
    }
}

impl TokenVerifier for JwtVerifier {
    fn verify(&self, token: &str) -> impl Future<Output = Result<AccessToken, VerifyError>> + Send {
        self.verify_token(token)
    }

    /// With remote keys ([`jwks_url`](JwtVerifierBuilder::jwks_url),
    /// [`discover`](JwtVerifierBuilder::discover)): runs discovery and loads the keys now.
    /// `Unavailable` when the metadata names another issuer, an endpoint fails or the JWKS holds
    /// no usable signing key. Static keys are always ready.
    ///
    /// ```no_run
    /// use axum_bearer::{JwtVerifier, TokenVerifier};
    ///
    /// # #[cfg(feature = "jwks")]
    /// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
    /// let verifier = JwtVerifier::builder()
    ///     .discover("https://auth.example.com")?
    ///     .audience("https://api.example.com/mcp")
    ///     .build()?;
    /// verifier.warm_up().await?; // a wrong issuer fails here, not on every request
    /// # Ok(()) }
    /// ```
    fn warm_up(&self) -> impl Future<Output = Result<(), VerifyError>> + Send {
        self.load_keys()
    }

    /// Every check is synchronous once the key is held: only a key still to be fetched from the
    /// JWKS endpoint makes the layer wait.
    fn verify_ready(&self, token: &str) -> Option<Result<Arc<AccessToken>, VerifyError>> {
        match self.verify_at_hand(token) {
            Ok(AtHand::Verified(verified)) => Some(Ok(Arc::new(verified))),
            #[cfg(feature = "jwks")]
            Ok(AtHand::Fetch { .. }) => None,
            Err(error) => Some(Err(error)),
        }
    }
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("JwtVerifier");
        debug.field("keys", &self.keys.len());
        #[cfg(feature = "jwks")]
        debug.field("remote", &self.remote);
        debug
            .field("rules", &self.rules)
            .field("strict_typ", &self.strict_typ)
            .finish()
    }
}

/// Configures a [`JwtVerifier`]; every key is checked when added, the whole when built.
#[derive(Debug)]
pub struct JwtVerifierBuilder {
    keys: KeySet,
    issuer: Option<String>,
    audiences: Vec<String>,
    normalise_audience: bool,
    algorithms: Option<Vec<Algorithm>>,
    leeway: Duration,
    require_exp: bool,
    strict: bool,
    at_jwt_typ: bool,
    read_scp: bool,
    client_id_claims: Vec<String>,
    max_claims_size: usize,
    #[cfg(feature = "jwks")]
    remote: Option<crate::verifier::jwks::Source>,
    #[cfg(feature = "jwks")]
    timing: crate::verifier::jwks::Timing,
    #[cfg(feature = "jwks")]
    client: Option<reqwest::Client>,
}

impl Default for JwtVerifierBuilder {
    fn default() -> Self {
        Self {
            keys: KeySet::default(),
            issuer: None,
            audiences: Vec::new(),
            normalise_audience: false,
            algorithms: None,
            leeway: crate::DEFAULT_LEEWAY,
            require_exp: true,
            strict: false,
            at_jwt_typ: false,
            read_scp: false,
            client_id_claims: vec!["client_id".into(), "azp".into()],
            max_claims_size: DEFAULT_MAX_JWT_CLAIMS_SIZE,
            #[cfg(feature = "jwks")]
            remote: None,
            #[cfg(feature = "jwks")]
            timing: crate::verifier::jwks::Timing::default(),
            #[cfg(feature = "jwks")]
            client: None,
        }
    }
}

fn key_error(kid: &str) -> impl FnOnce(jsonwebtoken::errors::Error) -> ConfigError + '_ {
    move |error| ConfigError::InvalidKey {
        kid: kid.to_owned(),
        reason: error.to_string(),
    }
}

impl JwtVerifierBuilder {
    /// The issuer the `iss` claim must equal exactly (RFC 9068 §4).
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// An audience to accept: this resource's identifier. Call again to accept several.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Compare audiences as URLs: scheme/host case, default port and one trailing slash aside
    /// (the MCP spec's robustness advice). Off by default: RFC 7519 compares exactly.
    #[must_use]
    pub fn normalise_audience(mut self, on: bool) -> Self {
        self.normalise_audience = on;
        self
    }

    /// The algorithms tokens may use (default: those of the configured keys). `none` cannot be
    /// listed: it is not a `jsonwebtoken` algorithm.
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Clock-skew allowance for `exp` and `nbf` (default 60 s).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Whether `exp` is required (default `true`).
    #[must_use]
    pub fn require_exp(mut self, required: bool) -> Self {
        self.require_exp = required;
        self
    }

    /// Strict RFC 9068: `typ` must be `at+jwt` (as with
    /// [`require_at_jwt_typ`](Self::require_at_jwt_typ)), the claims
    /// `iss exp aud sub client_id iat jti` must be present, and `scope` must be a string. Off by
    /// default: tokens without `typ` or with `JWT` are also accepted, and a `scope` array is read.
    ///
    /// Turning it off does not undo [`require_at_jwt_typ`](Self::require_at_jwt_typ).
    #[must_use]
    pub fn strict_rfc9068(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Strict typing alone (RFC 9068 §2.1, RFC 8725 §3.11): the header's `typ` must be `at+jwt`
    /// (or `application/at+jwt`, any case), so an ID token or another JWT signed by the same
    /// issuer is never taken for an access token. Off by default, where a missing `typ` and `JWT`
    /// are also accepted.
    ///
    /// Unlike [`strict_rfc9068`](Self::strict_rfc9068), it leaves the claims alone: the client may
    /// still be named by `azp` when `client_id` is absent, and a `scope` array is still read.
    ///
    /// ```
    /// use axum_bearer::JwtVerifier;
    ///
    /// # fn main() -> Result<(), axum_bearer::ConfigError> {
    /// let verifier = JwtVerifier::builder()
    ///     .issuer("https://auth.example.com")
    ///     .audience("https://api.example.com/mcp")
    ///     .require_at_jwt_typ(true) // typ: at+jwt, and `azp` still names the client
    ///     .hmac_secret("key-1", b"a long random secret shared with the authorization server")?
    ///     .build()?;
    /// # let _ = verifier;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn require_at_jwt_typ(mut self, required: bool) -> Self {
        self.at_jwt_typ = required;
        self
    }

    /// Read scopes from an `scp` claim (array or string) when `scope` is absent (Azure AD, Okta).
    #[must_use]
    pub fn scp_claim(mut self, on: bool) -> Self {
        self.read_scp = on;
        self
    }

    /// The claims that name the client, first present wins (default `client_id`, then `azp`).
    #[must_use]
    pub fn client_id_claims<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.client_id_claims = names.into_iter().map(Into::into).collect();
        self
    }

    /// The largest claim set accepted, in bytes of decoded JSON (default
    /// [`DEFAULT_MAX_JWT_CLAIMS_SIZE`], 16 KiB). A bigger token is invalid (401), refused from its
    /// encoded length alone, before its signature is checked. Raise it together with
    /// [`BearerAuth::max_token_len`](crate::BearerAuth::max_token_len) for issuers that put large
    /// claims (long group lists) in their tokens.
    #[must_use]
    pub fn max_claims_size(mut self, bytes: usize) -> Self {
        self.max_claims_size = bytes;
        self
    }

    fn key(mut self, kid: &str, alg: Algorithm, decoding: DecodingKey) -> Self {
        self.keys.insert(Key::new(Some(kid), alg, decoding));
        self
    }

    /// An HMAC secret for HS256 (RFC 8725 §3.5: a random secret, never a password).
    pub fn hmac_secret(self, kid: &str, secret: &[u8]) -> Result<Self, ConfigError> {
        self.hmac_secret_with(kid, Algorithm::HS256, secret)
    }

    /// An HMAC secret bound to `alg` (HS256, HS384 or HS512).
    pub fn hmac_secret_with(
        self,
        kid: &str,
        alg: Algorithm,
        secret: &[u8],
    ) -> Result<Self, ConfigError> {
        if !is_hmac(alg) {
            return Err(ConfigError::Algorithm(format!(
                "{alg:?} is not an HMAC algorithm"
            )));
        }
        if secret.len() < 32 {
            return Err(ConfigError::InvalidKey {
                kid: kid.to_owned(),
                reason: "HMAC secrets need at least 32 bytes (RFC 8725 §3.5)".into(),
            });
        }
        let decoding = DecodingKey::from_secret(secret).map_err(key_error(kid))?;
        Ok(self.key(kid, alg, decoding))
    }

    /// An RSA public key (PEM) for RS256.
    pub fn rsa_pem(self, kid: &str, pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        self.rsa_pem_with(kid, Algorithm::RS256, pem)
    }

    /// An RSA public key (PEM) bound to `alg` (RS256/384/512, PS256/384/512).
    pub fn rsa_pem_with(
        self,
        kid: &str,
        alg: Algorithm,
        pem: impl AsRef<[u8]>,
    ) -> Result<Self, ConfigError> {
        let decoding = DecodingKey::from_rsa_pem(pem.as_ref()).map_err(key_error(kid))?;
        self.checked(kid, alg, decoding)
    }

    /// An RSA public key (DER, PKCS#1) bound to `alg`.
    pub fn rsa_der(self, kid: &str, alg: Algorithm, der: &[u8]) -> Result<Self, ConfigError> {
        self.checked(kid, alg, DecodingKey::from_rsa_der(der))
    }

    /// An EC public key (PEM) for ES256.
    pub fn ec_pem(self, kid: &str, pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        self.ec_pem_with(kid, Algorithm::ES256, pem)
    }

    /// An EC public key (PEM) bound to `alg` (ES256 or ES384).
    pub fn ec_pem_with(
        self,
        kid: &str,
        alg: Algorithm,
        pem: impl AsRef<[u8]>,
    ) -> Result<Self, ConfigError> {
        let decoding = DecodingKey::from_ec_pem(pem.as_ref()).map_err(key_error(kid))?;
        self.checked(kid, alg, decoding)
    }

    /// An EC public key (DER) bound to `alg`.
    pub fn ec_der(self, kid: &str, alg: Algorithm, der: &[u8]) -> Result<Self, ConfigError> {
        self.checked(kid, alg, DecodingKey::from_ec_der(der))
    }

    /// An Ed25519 public key (PEM) for EdDSA.
    pub fn ed_pem(self, kid: &str, pem: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let decoding = DecodingKey::from_ed_pem(pem.as_ref()).map_err(key_error(kid))?;
        self.checked(kid, Algorithm::EdDSA, decoding)
    }

    /// An Ed25519 public key (DER) for EdDSA.
    pub fn ed_der(self, kid: &str, der: &[u8]) -> Result<Self, ConfigError> {
        self.checked(kid, Algorithm::EdDSA, DecodingKey::from_ed_der(der))
    }

    /// A public key as a JWK: its algorithm from `alg`, else implied by `kty`/`crv`; its id from
    /// `kid` (a JWK without `kid` matches tokens without one).
    pub fn jwk(mut self, jwk: &Jwk) -> Result<Self, ConfigError> {
        let key = key_from_jwk(jwk).map_err(|reason| ConfigError::InvalidKey {
            kid: jwk.common.key_id.clone().unwrap_or_default(),
            reason,
        })?;
        self.keys.insert(key);
        Ok(self)
    }

    fn checked(
        self,
        kid: &str,
        alg: Algorithm,
        decoding: DecodingKey,
    ) -> Result<Self, ConfigError> {
        if decoding.family() != alg.family() {
            return Err(ConfigError::InvalidKey {
                kid: kid.to_owned(),
                reason: format!("a {:?} key cannot verify {alg:?}", decoding.family()),
            });
        }
        Ok(self.key(kid, alg, decoding))
    }

    pub(crate) fn rules(&self) -> Result<Rules, ConfigError> {
        if self.audiences.is_empty() {
            return Err(ConfigError::MissingAudience);
        }
        Ok(Rules {
            issuer: self.issuer.clone(),
            audiences: self
                .audiences
                .iter()
                .map(|audience| Audience::new(audience, self.normalise_audience))
                .collect(),
            leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
            require_exp: self.require_exp,
            strict: self.strict,
            read_scp: self.read_scp,
            client_id_claims: self.client_id_claims.clone(),
            max_claims_size: self.max_claims_size,
        })
    }

    /// Checks the configuration: at least one key or key source, and one audience.
    pub fn build(self) -> Result<JwtVerifier, ConfigError> {
        crate::crypto::ensure_provider();
        let rules = self.rules()?;
        let mut keys = self.keys;
        if let Some(allowed) = &self.algorithms {
            if allowed.is_empty() {
                return Err(ConfigError::Algorithm("the allow-list is empty".into()));
            }
            let mut kept = KeySet::default();
            for key in keys.drain() {
                if allowed.contains(&key.alg) {
                    kept.insert_shared(key);
                }
            }
            keys = kept;
        }
        #[cfg(feature = "jwks")]
        let remote = match self.remote {
            Some(source) => {
                let allowed = match &self.algorithms {
                    Some(allowed) => allowed
                        .iter()
                        .copied()
                        .filter(|alg| !is_hmac(*alg))
                        .collect(),
                    None => ASYMMETRIC.to_vec(),
                };
                let client = match self.client {
                    Some(client) => client,
                    None => reqwest::Client::builder()
                        .timeout(self.timing.timeout)
                        .connect_timeout(self.timing.timeout)
                        .redirect(crate::verifier::jwks::redirect_policy())
                        .build()
                        .map_err(|error| ConfigError::HttpClient(error.to_string()))?,
                };
                Some(Arc::new(crate::verifier::jwks::RemoteKeys::new(
                    source,
                    client,
                    allowed,
                    self.timing,
                )))
            }
            None => None,
        };
        #[cfg(feature = "jwks")]
        let has_source = !keys.is_empty() || remote.is_some();
        #[cfg(not(feature = "jwks"))]
        let has_source = !keys.is_empty();
        if !has_source {
            return Err(ConfigError::NoKeys);
        }
        Ok(JwtVerifier {
            keys: Arc::new(keys),
            #[cfg(feature = "jwks")]
            remote,
            rules: Arc::new(rules),
            strict_typ: self.strict || self.at_jwt_typ,
        })
    }
}

/// The algorithms a JWKS may provide keys for: never a symmetric one.
#[cfg(feature = "jwks")]
const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

#[cfg(feature = "jwks")]
#[cfg_attr(docsrs, doc(cfg(feature = "jwks")))]
impl JwtVerifierBuilder {
    /// Keys from a JWKS URL (RFC 7517), fetched on first use (or by
    /// [`warm_up`](TokenVerifier::warm_up)), cached, refreshed in the background and refetched
    /// once for an unknown `kid`.
    ///
    /// The URL must be `https`, or plain `http` to a loopback host (`localhost`, `127.0.0.0/8`,
    /// `::1`): keys injected on the path would let anyone mint accepted tokens.
    ///
    /// ```
    /// use axum_bearer::JwtVerifier;
    ///
    /// assert!(JwtVerifier::builder().jwks_url("https://as.example/jwks").is_ok());
    /// assert!(JwtVerifier::builder().jwks_url("http://127.0.0.1:9000/jwks").is_ok());
    /// assert!(JwtVerifier::builder().jwks_url("http://as.example/jwks").is_err());
    /// ```
    pub fn jwks_url(mut self, url: impl AsRef<str>) -> Result<Self, ConfigError> {
        let url = url.as_ref();
        let refuse = |reason: &str| ConfigError::InvalidUrl {
            what: "jwks",
            url: url.escape_debug().to_string(),
            reason: reason.into(),
        };
        let parsed = url::Url::parse(url)
            .ok()
            .filter(|parsed| matches!(parsed.scheme(), "http" | "https"))
            .ok_or_else(|| refuse("not an absolute http(s) URL"))?;
        if let Some(reason) = crate::verifier::jwks::transport_refusal(&parsed) {
            return Err(refuse(reason));
        }
        self.remote = Some(crate::verifier::jwks::Source::Url(parsed));
        Ok(self)
    }

    /// Keys found through `issuer`'s metadata: RFC 8414
    /// (`/.well-known/oauth-authorization-server`), then OpenID Connect Discovery
    /// (`/.well-known/openid-configuration`); the document's `issuer` must equal `issuer`.
    /// Also sets [`issuer`](Self::issuer).
    ///
    /// The issuer must be `https`, or plain `http` on a loopback host (`localhost`,
    /// `127.0.0.0/8`, `::1`), and so must the `jwks_uri` its metadata names: a discovered
    /// `jwks_uri` over plain `http` to another host is refused before it is fetched, and
    /// verification is then `Unavailable` (503).
    ///
    /// ```
    /// use axum_bearer::JwtVerifier;
    ///
    /// assert!(JwtVerifier::builder().discover("https://as.example").is_ok());
    /// assert!(JwtVerifier::builder().discover("http://localhost:9000").is_ok());
    /// assert!(JwtVerifier::builder().discover("http://as.example").is_err());
    /// ```
    pub fn discover(mut self, issuer: impl Into<String>) -> Result<Self, ConfigError> {
        let issuer = issuer.into();
        let refuse = |reason: &str| ConfigError::InvalidUrl {
            what: "issuer",
            url: issuer.escape_debug().to_string(),
            reason: reason.into(),
        };
        let parsed = url::Url::parse(&issuer).ok().filter(|parsed| {
            matches!(parsed.scheme(), "http" | "https")
                && parsed.query().is_none()
                && parsed.fragment().is_none()
        });
        let Some(parsed) = parsed else {
            return Err(refuse(
                "an issuer is an http(s) URL without query or fragment (RFC 8414 §2)",
            ));
        };
        if let Some(reason) = crate::verifier::jwks::transport_refusal(&parsed) {
            return Err(refuse(reason));
        }
        self.remote = Some(crate::verifier::jwks::Source::Discover(issuer.clone()));
        self.issuer = Some(issuer);
        Ok(self)
    }

    /// Timeout of each metadata or JWKS request (default 5 s).
    #[must_use]
    pub fn jwks_timeout(mut self, timeout: Duration) -> Self {
        self.timing.timeout = timeout;
        self
    }

    /// Least time between two fetches caused by unknown `kid`s or failures (default 10 s).
    /// `Duration::MAX` means never again after the first.
    #[must_use]
    pub fn jwks_cooldown(mut self, cooldown: Duration) -> Self {
        self.timing.cooldown = cooldown;
        self
    }

    /// How long keys stay fresh: `default` without `Cache-Control: max-age` (default 5 min),
    /// an advertised `max-age` clamped to `min..=max` (default 30 s to 24 h).
    ///
    /// An advertised `max-age` counts for at most 24 h whatever `max`: a server cannot pin its
    /// keys for longer. `default` and `min` may be longer; `Duration::MAX` means never stale.
    #[must_use]
    pub fn jwks_refresh(mut self, default: Duration, min: Duration, max: Duration) -> Self {
        self.timing.default_max_age = default;
        self.timing.min_max_age = min.min(max);
        self.timing.max_max_age = max.max(min);
        self
    }

    /// The HTTP client for metadata and JWKS requests (default: reqwest with rustls and the
    /// [`jwks_timeout`](Self::jwks_timeout), following up to 10 redirects that stay on `https`
    /// or loopback). A client of your own follows its own redirect policy.
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }
}

/// Without the `jwks` feature, `jwks_url` and `discover` still exist, so that calling them fails
/// to compile with a message naming the feature instead of "no method named `discover`".
#[cfg(not(feature = "jwks"))]
impl JwtVerifierBuilder {
    #[doc(hidden)]
    pub fn jwks_url<U: feature_hint::NeedsJwksFeature>(self, _url: U) -> Result<Self, ConfigError> {
        Ok(self)
    }

    #[doc(hidden)]
    pub fn discover<I: feature_hint::NeedsJwksFeature>(
        self,
        _issuer: I,
    ) -> Result<Self, ConfigError> {
        Ok(self)
    }
}

#[cfg(not(feature = "jwks"))]
#[doc(hidden)]
pub(crate) mod feature_hint {
    /// Implemented by nothing: a bound that cannot hold, carrying the message.
    #[diagnostic::on_unimplemented(
        message = "`jwks_url` and `discover` need the `jwks` feature of axum-bearer",
        label = "remote keys are behind a feature",
        note = "enable it in Cargo.toml: axum-bearer = {{ version = \"0.1\", features = [\"jwks\"] }}"
    )]
    pub trait NeedsJwksFeature {}
}
