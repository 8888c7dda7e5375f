//! [`TestIssuer`]: the handle tests hold, and its builder.

use std::{
    fmt, io,
    net::{Ipv4Addr, SocketAddr},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use http::HeaderValue;
use jsonwebtoken::{Algorithm, Header, jwk::Jwk};
use serde_json::Value;
use tokio::{net::TcpListener, sync::watch};

use super::{
    fault::{ENDPOINTS, Endpoint, Fault},
    introspection::{Introspection, IntrospectionRequest, RequiredAuth},
    keys::{self, JwksDocument, KeyRing, SigningKey},
    server,
};

/// The `max-age` sent with the JWK Set unless configured otherwise.
const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(300);

/// Lifetime of the claims made by [`TestIssuer::claims_for`].
const CLAIMS_LIFETIME_SECS: i64 = 300;

/// A loopback OAuth 2.0 authorization server for tests: it publishes a JWK Set and discovery
/// documents on `127.0.0.1`, mints access tokens, introspects opaque tokens, rotates keys and
/// misbehaves on request.
///
/// Cloning gives another handle to the same server. The server stops (the port closes, open
/// connections are dropped) once the last handle is dropped, as soon as the runtime next polls
/// its tasks. It runs on the Tokio runtime that started it, so start one per test: a handle kept
/// in a `static` stops answering when the `#[tokio::test]` that started it ends.
///
/// All keys are **public test keys** embedded in this crate: never trust them outside tests.
///
/// # Endpoints
///
/// With `issuer()` = `http://127.0.0.1:<port><path>`:
///
/// | request | answer |
/// |---|---|
/// | `GET <issuer>/jwks` | `{"keys":[…]}`, every published key with `kid`, `alg` and `use: "sig"`; `Cache-Control: max-age=300`; a strong `ETag` (a matching `If-None-Match` gets `304 Not Modified`) |
/// | `GET http://127.0.0.1:<port>/.well-known/oauth-authorization-server<path>` | RFC 8414 metadata |
/// | `GET <issuer>/.well-known/openid-configuration` | OpenID Connect discovery |
/// | `POST <issuer>/introspect` | RFC 7662 introspection: the [registered](Self::register_token) response for the form's `token`, else `{"active":false}`; `400` without a form body or `token`; `401` without the [required credentials](Self::set_introspection_client) |
/// | any other path | `404 Not Found` |
///
/// Both discovery documents carry `issuer` (see [`set_discovery_issuer`](Self::set_discovery_issuer)),
/// `jwks_uri`, `authorization_endpoint`, `token_endpoint`, `introspection_endpoint`,
/// `introspection_endpoint_auth_methods_supported` and `response_types_supported`; the OpenID one
/// adds `subject_types_supported` and `id_token_signing_alg_values_supported`. The authorization
/// and token endpoints are placeholders under the issuer URL and answer 404. Another method than
/// `GET` (`POST` for introspection) on a served path gets `405 Method Not Allowed`.
///
/// Every introspection request is logged ([`introspection_requests`](Self::introspection_requests))
/// and counted as [`Endpoint::Introspection`], whose faults apply as for the other endpoints.
#[derive(Clone)]
pub struct TestIssuer {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// Dropping the sender (with the last handle) tells the server tasks to stop.
    _shutdown: watch::Sender<()>,
}

/// What the server tasks and the handles share.
pub(super) struct Shared {
    pub(super) issuer: String,
    pub(super) path: String,
    pub(super) algorithm: Algorithm,
    pub(super) jwks_cache_control: HeaderValue,
    state: Mutex<State>,
    requests: [AtomicUsize; ENDPOINTS],
    dropped: AtomicUsize,
    not_modified: AtomicUsize,
}

struct State {
    keys: KeyRing,
    faults: [Fault; ENDPOINTS],
    discovery_issuer: Option<String>,
    introspection: Introspection,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No code path panics while holding the lock, and the state stays valid if one did.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn fault(&self, endpoint: Endpoint) -> Fault {
        self.lock().faults[endpoint.index()]
    }

    pub(super) fn all_down(&self) -> bool {
        self.lock().faults.iter().all(|fault| *fault == Fault::Down)
    }

    pub(super) fn count_request(&self, endpoint: Endpoint) {
        self.requests[endpoint.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn count_not_modified(&self) {
        self.not_modified.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn count_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn jwks(&self) -> Arc<JwksDocument> {
        self.lock().keys.jwks()
    }

    pub(super) fn discovery_issuer(&self) -> String {
        self.lock()
            .discovery_issuer
            .clone()
            .unwrap_or_else(|| self.issuer.clone())
    }

    pub(super) fn jwks_url(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    pub(super) fn introspection_url(&self) -> String {
        format!("{}/introspect", self.issuer)
    }

    pub(super) fn log_introspection(&self, request: IntrospectionRequest) {
        self.lock().introspection.log.push(request);
    }

    pub(super) fn introspect(
        &self,
        request: &IntrospectionRequest,
    ) -> super::introspection::Answer {
        self.lock().introspection.answer(request)
    }
}

impl TestIssuer {
    /// Starts an RS256 issuer with no path, on a free port of `127.0.0.1`.
    ///
    /// Must be called inside a Tokio runtime; the server runs on that runtime's tasks.
    ///
    /// # Errors
    ///
    /// When the loopback port cannot be bound.
    pub async fn start() -> io::Result<Self> {
        Self::builder().start().await
    }

    /// A builder for another algorithm, an issuer URL with a path, or other JWKS caching headers.
    pub fn builder() -> TestIssuerBuilder {
        TestIssuerBuilder::default()
    }

    /// The issuer identifier: `http://127.0.0.1:<port>` followed by the configured path, without a
    /// trailing slash. [`claims_for`](Self::claims_for) uses it as `iss`.
    pub fn issuer(&self) -> &str {
        &self.inner.shared.issuer
    }

    /// The JWK Set URL, `<issuer>/jwks`, as advertised as `jwks_uri` by the discovery documents.
    pub fn jwks_url(&self) -> String {
        self.inner.shared.jwks_url()
    }

    /// The URL of the RFC 8414 metadata document (path inserted after `/.well-known/`).
    pub fn oauth_metadata_url(&self) -> String {
        format!(
            "http://{}/.well-known/oauth-authorization-server{}",
            self.inner.addr, self.inner.shared.path
        )
    }

    /// The URL of the OpenID Connect discovery document (`/.well-known/…` appended to the issuer).
    pub fn openid_configuration_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The signing algorithm; every key of this issuer is of its family.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.shared.algorithm
    }

    /// The `kid` of the key that signs from now on.
    pub fn current_kid(&self) -> String {
        self.current_key().kid.clone()
    }

    /// Signs `claims` exactly as given with the current key. The header is
    /// `{"alg": <algorithm>, "typ": "at+jwt", "kid": <current kid>}` (RFC 9068 §2.1).
    ///
    /// Start from [`claims_for`](Self::claims_for) for a valid token, then change what the test
    /// is about.
    pub fn mint(&self, claims: Value) -> String {
        let key = self.current_key();
        let mut header = Header::new(self.algorithm());
        header.typ = Some("at+jwt".to_owned());
        header.kid = Some(key.kid.clone());
        sign(&header, &claims, &key)
            .expect("the issuer's own keys sign with the issuer's algorithm, whatever the claims")
    }

    /// Signs `claims` with the current key under `header`, used verbatim: nothing is added, so set
    /// `kid` yourself if the token should name one (e.g. from [`current_kid`](Self::current_kid)).
    /// Meant for hostile headers: another `typ`, a foreign `kid`, `crit`, `jku`, `x5u`, `jwk`.
    ///
    /// # Errors
    ///
    /// When `header.alg` is not of the key's family (e.g. `HS256` or `ES256` on an RSA issuer).
    /// An RSA issuer signs any of `RS256/384/512` and `PS256/384/512`.
    pub fn mint_with_header(
        &self,
        header: Header,
        claims: Value,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        sign(&header, &claims, &self.current_key())
    }

    /// A valid RFC 9068 claim set for `audience`: `iss` = [`issuer()`](Self::issuer),
    /// `sub` = `"user-1"`, `aud`, `client_id` = `"client-1"`, `scope` = `"mcp:read"`,
    /// `iat` = now, `exp` = now + 300 s, and a `jti` unique within the process.
    pub fn claims_for(&self, audience: &str) -> Value {
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let now = crate::clock::unix_now();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let jti = format!(
            "jti-{now}-{nanos:09}-{}",
            SERIAL.fetch_add(1, Ordering::Relaxed)
        );
        serde_json::json!({
            "iss": self.issuer(),
            "sub": "user-1",
            "aud": audience,
            "client_id": "client-1",
            "scope": "mcp:read",
            "iat": now,
            "exp": now + CLAIMS_LIFETIME_SECS,
            "jti": jti,
        })
    }

    /// [`claims_for`](Self::claims_for) with a DPoP confirmation: `cnf` = `{"jkt": jkt}`
    /// (RFC 9449 §6.1), `jkt` being the base64url RFC 7638 SHA-256 thumbprint of the client's
    /// proof key. [`mint`](Self::mint) it for a DPoP-bound access token.
    ///
    /// `jkt` is used as given, so a test can also pass a malformed one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_bearer::{JwtVerifier, TokenVerifier, testing::TestIssuer};
    ///
    /// let issuer = TestIssuer::start().await?;
    /// let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    /// let token = issuer.mint(issuer.claims_for_bound("https://api.example/mcp", jkt));
    ///
    /// let verifier = JwtVerifier::builder()
    ///     .issuer(issuer.issuer())
    ///     .audience("https://api.example/mcp")
    ///     .jwks_url(issuer.jwks_url())?
    ///     .build()?;
    /// let access = verifier.verify(&token).await?;
    /// assert_eq!(access.dpop_jkt.as_deref(), Some(jkt));
    /// # Ok(()) }
    /// ```
    pub fn claims_for_bound(&self, audience: &str, jkt: &str) -> Value {
        let mut claims = self.claims_for(audience);
        claims["cnf"] = serde_json::json!({ "jkt": jkt });
        claims
    }

    /// Makes a new key of the same algorithm the signing key and publishes it; the previous keys
    /// stay published until [`retire`](Self::retire)d. Returns the new `kid`.
    ///
    /// Kids are `<alg>-<n>` (`rs256-0`, `rs256-1`, …) and never repeat; the embedded key material
    /// repeats every four rotations, which only matters to a test comparing key bytes.
    pub fn rotate(&self) -> String {
        self.inner.shared.lock().keys.rotate()
    }

    /// Stops publishing the key `kid` (it disappears from the JWK Set and the `ETag` changes).
    /// Returns `false` when `kid` is unknown or already retired.
    ///
    /// Retiring the current key does not change the signing key: tokens minted afterwards name a
    /// `kid` the JWK Set does not hold, which is how to test an unknown `kid`. Retired keys stay
    /// available through [`public_jwk`](Self::public_jwk) and the PEM accessors.
    pub fn retire(&self, kid: &str) -> bool {
        self.inner.shared.lock().keys.retire(kid)
    }

    /// Injects `fault` into every endpoint until it is changed ([`Fault::None`] restores normal
    /// service).
    pub fn set_fault(&self, fault: Fault) {
        self.inner.shared.lock().faults = [fault; ENDPOINTS];
    }

    /// Injects `fault` into one endpoint only, e.g. a 404 on the RFC 8414 document to test the
    /// fallback to OpenID discovery.
    pub fn set_endpoint_fault(&self, endpoint: Endpoint, fault: Fault) {
        self.inner.shared.lock().faults[endpoint.index()] = fault;
    }

    /// How many requests for `endpoint` reached the issuer's handler (whatever it answered,
    /// faults included), except those dropped by [`Fault::Down`].
    pub fn requests(&self, endpoint: Endpoint) -> usize {
        self.inner.shared.requests[endpoint.index()].load(Ordering::Relaxed)
    }

    /// How many connections [`Fault::Down`] closed without an answer.
    pub fn dropped_connections(&self) -> usize {
        self.inner.shared.dropped.load(Ordering::Relaxed)
    }

    /// How many JWKS requests were answered `304 Not Modified` (their `If-None-Match` matched);
    /// they are also counted by [`requests`](Self::requests).
    pub fn not_modified(&self) -> usize {
        self.inner.shared.not_modified.load(Ordering::Relaxed)
    }

    /// Sets every request counter, [`dropped_connections`](Self::dropped_connections) and
    /// [`not_modified`](Self::not_modified) to zero, and empties the
    /// [`introspection_requests`](Self::introspection_requests) log.
    pub fn reset_counters(&self) {
        for counter in &self.inner.shared.requests {
            counter.store(0, Ordering::Relaxed);
        }
        self.inner.shared.lock().introspection.log.clear();
        self.inner.shared.dropped.store(0, Ordering::Relaxed);
        self.inner.shared.not_modified.store(0, Ordering::Relaxed);
    }

    /// Makes both discovery documents advertise `issuer` instead of [`issuer()`](Self::issuer)
    /// (`None` restores it), to test that a client refuses metadata for another issuer
    /// (RFC 8414 §3.3).
    pub fn set_discovery_issuer(&self, issuer: Option<String>) {
        self.inner.shared.lock().discovery_issuer = issuer;
    }

    /// The RFC 7662 introspection endpoint, `<issuer>/introspect`, as advertised as
    /// `introspection_endpoint` by the discovery documents.
    pub fn introspection_url(&self) -> String {
        self.inner.shared.introspection_url()
    }

    /// Makes the introspection endpoint answer `response` (verbatim, any JSON) for the opaque
    /// `token`, replacing what it answered before. Tokens never registered (or
    /// [revoked](Self::revoke_token)) introspect to `{"active": false}`.
    ///
    /// Start from [`introspection_for`](Self::introspection_for) for an active token, then change
    /// what the test is about — the endpoint does not check `exp` or anything else, it only
    /// repeats what it was given.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_bearer::testing::TestIssuer;
    /// use serde_json::json;
    ///
    /// let issuer = TestIssuer::start().await?;
    /// let mut response = issuer.introspection_for("https://api.example/mcp");
    /// response["scope"] = json!("notes:read notes:write");
    /// issuer.register_token("opaque-token-1", response);
    ///
    /// let body = reqwest::Client::new()
    ///     .post(issuer.introspection_url())
    ///     .form(&[("token", "opaque-token-1")])
    ///     .send()
    ///     .await?
    ///     .bytes()
    ///     .await?;
    /// let answer: serde_json::Value = serde_json::from_slice(&body)?;
    /// assert_eq!(answer["active"], true);
    /// assert_eq!(issuer.introspection_requests()[0].form_value("token"), Some("opaque-token-1"));
    /// # Ok(()) }
    /// ```
    pub fn register_token(&self, token: impl Into<String>, response: Value) {
        self.inner
            .shared
            .lock()
            .introspection
            .tokens
            .insert(token.into(), response);
    }

    /// Forgets a [registered](Self::register_token) token: from now on it introspects to
    /// `{"active": false}`, as a revoked token. Returns `false` when it was not registered.
    pub fn revoke_token(&self, token: &str) -> bool {
        self.inner
            .shared
            .lock()
            .introspection
            .tokens
            .remove(token)
            .is_some()
    }

    /// An RFC 7662 response for an active token issued for `audience`, like the reference's
    /// example authorization server: `active: true`, `client_id` = `"client-1"`, `scope` =
    /// `"mcp:read"`, `sub` = `"user-1"`, `aud`, `iss` = [`issuer()`](Self::issuer), `iat` = now,
    /// `exp` = now + 300 s, `token_type` = `"Bearer"`.
    pub fn introspection_for(&self, audience: &str) -> Value {
        let now = crate::clock::unix_now();
        serde_json::json!({
            "active": true,
            "client_id": "client-1",
            "scope": "mcp:read",
            "sub": "user-1",
            "aud": audience,
            "iss": self.issuer(),
            "iat": now,
            "exp": now + CLAIMS_LIFETIME_SECS,
            "token_type": "Bearer",
        })
    }

    /// [`introspection_for`](Self::introspection_for) for a DPoP-bound token (RFC 9449 §6.2):
    /// `cnf` = `{"jkt": jkt}` and `token_type` = `"DPoP"`. [Register](Self::register_token) it
    /// under an opaque token.
    ///
    /// `jkt` is used as given, so a test can also pass a malformed one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_bearer::{IntrospectionVerifier, TokenVerifier, testing::TestIssuer};
    ///
    /// let issuer = TestIssuer::start().await?;
    /// let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    /// issuer.register_token("opaque-1", issuer.introspection_for_bound("https://api.example/mcp", jkt));
    ///
    /// let verifier = IntrospectionVerifier::builder(issuer.introspection_url())?
    ///     .no_client_authentication()
    ///     .audience("https://api.example/mcp")
    ///     .build()?;
    /// let access = verifier.verify("opaque-1").await?;
    /// assert_eq!(access.dpop_jkt.as_deref(), Some(jkt));
    /// # Ok(()) }
    /// ```
    pub fn introspection_for_bound(&self, audience: &str, jkt: &str) -> Value {
        let mut response = self.introspection_for(audience);
        response["cnf"] = serde_json::json!({ "jkt": jkt });
        response["token_type"] = Value::from("DPoP");
        response
    }

    /// Makes the introspection endpoint require client authentication (RFC 7662 §2.1) as the
    /// client `client_id` with `client_secret`, by `client_secret_basic` (the `Authorization:
    /// Basic` header, both parts form-urlencoded first, RFC 6749 §2.3.1) or `client_secret_post`
    /// (`client_id` and `client_secret` form parameters), not both at once. Missing or wrong
    /// credentials get `401` with `WWW-Authenticate: Basic realm="test-issuer"` and
    /// `{"error":"invalid_client"}`; both methods in one request get `400`. Replaces a
    /// [bearer credential](Self::set_introspection_bearer) requirement.
    ///
    /// By default the endpoint requires nothing.
    pub fn set_introspection_client(
        &self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) {
        self.inner.shared.lock().introspection.required = Some(RequiredAuth::Client {
            id: client_id.into(),
            secret: client_secret.into(),
        });
    }

    /// Makes the introspection endpoint require `Authorization: Bearer <credential>`; anything
    /// else gets `401` with `WWW-Authenticate: Bearer realm="test-issuer", error="invalid_token"`.
    /// Replaces a [client](Self::set_introspection_client) requirement.
    pub fn set_introspection_bearer(&self, credential: impl Into<String>) {
        self.inner.shared.lock().introspection.required =
            Some(RequiredAuth::Bearer(credential.into()));
    }

    /// Makes the introspection endpoint accept callers without credentials again (the default).
    pub fn clear_introspection_auth(&self) {
        self.inner.shared.lock().introspection.required = None;
    }

    /// Every request the introspection endpoint received, oldest first, faults included (but not
    /// those [`Fault::Down`] dropped): the decoded form body, the `Authorization` and
    /// `Content-Type` headers. Emptied by [`reset_counters`](Self::reset_counters).
    pub fn introspection_requests(&self) -> Vec<IntrospectionRequest> {
        self.inner.shared.lock().introspection.log.clone()
    }

    /// The public JWK of `kid` as published (`kid`, `alg`, `use` set), retired keys included;
    /// `None` for a kid this issuer never made.
    pub fn public_jwk(&self, kid: &str) -> Option<Jwk> {
        self.key(kid).map(|key| key.jwk.clone())
    }

    /// The private key of `kid` as PKCS#8 PEM. It is a public test key, shipped with this crate.
    pub fn private_key_pem(&self, kid: &str) -> Option<&'static str> {
        self.key(kid).map(|key| key.material.private_pem)
    }

    /// The public key of `kid` as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), for verifiers
    /// configured with a PEM key — and for the classic attack that signs `HS256` with these
    /// bytes as the secret.
    pub fn public_key_pem(&self, kid: &str) -> Option<&'static str> {
        self.key(kid).map(|key| key.material.public_pem)
    }

    fn current_key(&self) -> Arc<SigningKey> {
        self.inner.shared.lock().keys.current_key()
    }

    fn key(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.inner.shared.lock().keys.key(kid)
    }
}

fn sign(
    header: &Header,
    claims: &Value,
    key: &SigningKey,
) -> Result<String, jsonwebtoken::errors::Error> {
    crate::crypto::ensure_provider();
    jsonwebtoken::encode(header, claims, &key.encoding)
}

impl fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.issuer())
            .field("algorithm", &self.algorithm())
            .field("current_kid", &self.current_kid())
            .finish_non_exhaustive()
    }
}

/// Configures a [`TestIssuer`]; from [`TestIssuer::builder`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use axum_bearer::testing::TestIssuer;
/// use jsonwebtoken::Algorithm;
///
/// let issuer = TestIssuer::builder()
///     .algorithm(Algorithm::ES256)
///     .path("/tenant-a")
///     .jwks_max_age(Duration::from_secs(60))
///     .start()
///     .await?;
/// assert!(issuer.issuer().ends_with("/tenant-a"));
/// assert!(issuer.current_kid().starts_with("es256-"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct TestIssuerBuilder {
    algorithm: Algorithm,
    path: String,
    cache_control: CacheControl,
}

#[derive(Debug, Clone)]
enum CacheControl {
    MaxAge(Duration),
    Verbatim(String),
}

impl Default for TestIssuerBuilder {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::RS256,
            path: String::new(),
            cache_control: CacheControl::MaxAge(DEFAULT_JWKS_MAX_AGE),
        }
    }
}

impl TestIssuerBuilder {
    /// The signing algorithm (default `RS256`): `RS256`, `RS384`, `RS512`, `PS256`, `PS384`,
    /// `PS512` (RSA 2048 keys), `ES256` (P-256), `ES384` (P-384) or `EdDSA` (Ed25519). HMAC
    /// algorithms are refused by [`start`](Self::start): a shared secret cannot be published.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// A path for the issuer URL (default none), e.g. `"/tenant-a"` for
    /// `http://127.0.0.1:<port>/tenant-a`: one or more segments of ASCII letters, digits and
    /// `-._~`, each after a `/`. A trailing `/` is removed; `""` and `"/"` mean no path.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The JWK Set's `Cache-Control: max-age=<seconds>` (default 300 s, sub-second parts
    /// dropped). Replaces a [`jwks_cache_control`](Self::jwks_cache_control) value.
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.cache_control = CacheControl::MaxAge(max_age);
        self
    }

    /// The JWK Set's whole `Cache-Control` value, verbatim (e.g. `"no-store"` or
    /// `"public, max-age=0, must-revalidate"`). Replaces a [`jwks_max_age`](Self::jwks_max_age).
    pub fn jwks_cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = CacheControl::Verbatim(value.into());
        self
    }

    /// Binds `127.0.0.1:0` and starts serving on the current Tokio runtime.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] for an unsupported algorithm, an invalid path or a
    /// `Cache-Control` value that is not a valid header value; otherwise the error of binding the
    /// port.
    pub async fn start(self) -> io::Result<TestIssuer> {
        crate::crypto::ensure_provider();
        let path = normalize_path(&self.path)?;
        if !keys::is_supported(self.algorithm) {
            return Err(invalid_input(format!(
                "the test issuer cannot sign {:?}: use RS*, PS*, ES256, ES384 or EdDSA",
                self.algorithm
            )));
        }
        let cache_control = match self.cache_control {
            CacheControl::MaxAge(max_age) => format!("max-age={}", max_age.as_secs()),
            CacheControl::Verbatim(value) => value,
        };
        let jwks_cache_control = HeaderValue::try_from(cache_control.as_str()).map_err(|_| {
            invalid_input(format!(
                "{cache_control:?} is not a valid Cache-Control value"
            ))
        })?;
        let keys = KeyRing::new(self.algorithm).ok_or_else(|| {
            invalid_input(format!("the test issuer cannot sign {:?}", self.algorithm))
        })?;

        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            issuer: format!("http://{addr}{path}"),
            path,
            algorithm: self.algorithm,
            jwks_cache_control,
            state: Mutex::new(State {
                keys,
                faults: [Fault::None; ENDPOINTS],
                discovery_issuer: None,
                introspection: Introspection::default(),
            }),
            requests: Default::default(),
            dropped: AtomicUsize::new(0),
            not_modified: AtomicUsize::new(0),
        });
        let (shutdown, stopped) = watch::channel(());
        tokio::spawn(server::run(listener, Arc::clone(&shared), stopped));
        Ok(TestIssuer {
            inner: Arc::new(Inner {
                shared,
                addr,
                _shutdown: shutdown,
            }),
        })
    }
}

/// `""`, `"/"` → `""`; `"/a/b/"` → `"/a/b"`; anything that would need escaping is refused.
fn normalize_path(path: &str) -> io::Result<String> {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let valid = trimmed.strip_prefix('/').is_some_and(|rest| {
        rest.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        })
    });
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(invalid_input(format!(
            "invalid issuer path {path:?}: '/'-separated segments of ASCII letters, digits and -._~"
        )))
    }
}

fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}
