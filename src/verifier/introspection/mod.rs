//! [`IntrospectionVerifier`] (feature `introspection`): opaque tokens checked by the
//! authorization server's RFC 7662 introspection endpoint.

mod response;

use std::{fmt, future::Future, net::IpAddr, sync::Arc, time::Duration};

use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value};
use url::{Host, Url};

use self::response::{Audience, Rules};
use super::duplicates::{self, ObjectError};
use crate::{AccessToken, ConfigError, TokenVerifier, VerifyError, clock, token::Redacted};

/// Introspection responses are small JSON objects; refusing bigger bodies bounds memory.
const MAX_BODY: usize = 256 * 1024;

/// The default timeout of each introspection request: 5 s.
pub const DEFAULT_INTROSPECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Verifies opaque access tokens with the authorization server's token introspection endpoint
/// (RFC 7662), as the MCP Python SDK's example `IntrospectionTokenVerifier` does, and more
/// strictly.
///
/// Each [`verify`](TokenVerifier::verify) `POST`s `token=<token>` (and the configured
/// `token_type_hint`) as `application/x-www-form-urlencoded` to the endpoint, authenticated as
/// this resource server (`client_secret_basic`, `client_secret_post` or a bearer credential;
/// RFC 7662 §2.1 requires the endpoint to authenticate its callers). Then:
///
/// - `active` must be the JSON boolean `true` (RFC 7662 §2.2); `false`, `"true"`, a missing or any
///   other value is [`VerifyError::Invalid`] (401).
/// - `exp`, when present, must not have passed: expired when `now >= exp + leeway`
///   ([`VerifyError::Expired`], 401; leeway 60 s by default); `nbf` likewise.
/// - `iss` must equal the configured [`issuer`](IntrospectionVerifierBuilder::issuer), if any.
/// - `aud` (a string or an array) must name one of the configured
///   [`audience`](IntrospectionVerifierBuilder::audience)s, exactly (RFC 8707, RFC 7519 §4.1.3),
///   or on request [hierarchically](IntrospectionVerifierBuilder::hierarchical_audience). With no
///   audience configured `aud` is not checked here: set
///   [`BearerAuth::resource_server_url`](crate::BearerAuth::resource_server_url) so the layer
///   checks the token's `resource` instead.
/// - A member whose value is `null` is treated as absent, as the reference example does (the
///   Python SDK's example authorization server sends `"aud": null` for a token issued without a
///   `resource`); `active` is the exception: `null` is not `true`.
/// - An answer whose member names are not unique (`{"active": false, "active": true}`) is
///   [`VerifyError::Unavailable`]: the endpoint said two things, and which one it meant is not
///   for this verifier to guess (JSON parsers differ on which duplicate they keep).
/// - An inactive token is `401` whatever the status the endpoint answers it with: a status other
///   than `200` whose body is an RFC 7662 answer saying `"active": false` (a JSON object with
///   unique member names and no `error` member) is [`VerifyError::Invalid`], as `200` with that
///   body is. The TypeScript SDK's demo authorization server answers `401 {"active": false}` for
///   an unknown or expired token, and a client must then re-authorize, not retry. A `5xx` is the
///   exception: a server that says it failed is not trusted to say a token is inactive.
/// - The call itself failing — a timeout, a connection error, any other status (a `401` or `403`
///   refusing our own credentials, such as `{"error": "invalid_client"}`, included), a `200`
///   body that is not a JSON object or over 256 KiB — is [`VerifyError::Unavailable`] (503),
///   never 401: a client must not throw away a good token because the authorization server is
///   down or this resource server is misconfigured. The log names the failure's kind and
///   position, never the body: an endpoint can echo the token back.
///
/// The response maps to the [`AccessToken`] as in the reference example: `client_id` (or
/// `"unknown"` when the response has none) → [`client_id`](AccessToken::client_id), `scope` split
/// on whitespace → [`scopes`](AccessToken::scopes), `exp` →
/// [`expires_at`](AccessToken::expires_at), `sub` → [`subject`](AccessToken::subject), the
/// matched configured audience (or, with none configured, the `aud` string or first array entry)
/// → [`resource`](AccessToken::resource), and the whole response →
/// [`claims`](AccessToken::claims), so [`AccessToken::issuer`] reads its `iss`. Members of the
/// wrong JSON type (`scope` as an array, `exp` as a string…) make the token invalid.
///
/// Every call reaches the endpoint: wrap the verifier in a
/// [`CachedVerifier`](crate::CachedVerifier) (feature `cache`) to reuse answers until the token
/// expires. Neither the token nor the client secret ever appears in `Debug` output, logs or
/// errors.
///
/// [`warm_up`](TokenVerifier::warm_up) checks at start-up that the endpoint answers and accepts
/// this server's credentials, by introspecting a random value no authorization server issued.
///
/// ```
/// use std::time::Duration;
/// use axum_bearer::{BearerAuth, IntrospectionVerifier, Profile};
///
/// # fn main() -> Result<(), axum_bearer::ConfigError> {
/// let verifier = IntrospectionVerifier::builder("https://auth.example.com/oauth2/introspect")?
///     .client_secret_basic("notes-api", "a secret from the authorization server")
///     .token_type_hint("access_token")
///     .issuer("https://auth.example.com")
///     .audience("https://notes.example.com/mcp")
///     .timeout(Duration::from_secs(3))
///     .build()?;
/// let auth = BearerAuth::new(verifier).profile(Profile::Spec);
/// # let _ = auth;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct IntrospectionVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Url,
    client: reqwest::Client,
    auth: ClientAuth,
    token_type_hint: Option<String>,
    rules: Rules,
    hierarchical: bool,
    timeout: Duration,
}

/// How the resource server authenticates to the introspection endpoint.
#[derive(Clone)]
enum ClientAuth {
    /// Explicitly none (a network-protected endpoint).
    None,
    /// RFC 6749 §2.3.1 HTTP Basic.
    Basic { id: String, secret: String },
    /// RFC 6749 §2.3.1 in the request body.
    Post { id: String, secret: String },
    /// `Authorization: Bearer <credential>` (RFC 7662 §2.1), checked when built.
    Bearer(HeaderValue),
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("NoClientAuthentication"),
            Self::Basic { id, .. } => f
                .debug_struct("ClientSecretBasic")
                .field("client_id", id)
                .field("client_secret", &Redacted)
                .finish(),
            Self::Post { id, .. } => f
                .debug_struct("ClientSecretPost")
                .field("client_id", id)
                .field("client_secret", &Redacted)
                .finish(),
            Self::Bearer(_) => f.debug_tuple("Bearer").field(&Redacted).finish(),
        }
    }
}

/// Why an introspection call failed: reported as [`VerifyError::Unavailable`] and logged, never
/// shown to clients. Holds neither the token nor a credential, nor any text of the response
/// body (which could repeat the token): serde_json's messages can quote it, so a JSON error is
/// reduced to its class and position.
#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("request to {url} failed: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered {status}{}", status_hint(*status, *error))]
    Status {
        url: String,
        status: StatusCode,
        /// The body's RFC 6749 `error` code, when it is a registered one.
        error: Option<&'static str>,
    },
    #[error("{url} sent a body over {MAX_BODY} bytes")]
    TooLarge { url: String },
    #[error(
        "{url} sent a body that is not a JSON object ({class} error at line {line}, column {column})"
    )]
    Json {
        url: String,
        class: &'static str,
        line: usize,
        column: usize,
    },
    #[error("{url} sent a JSON object with a duplicated member name")]
    Duplicate { url: String },
}

/// What the endpoint said about a token, when it said something this verifier can act on.
enum Answer {
    /// `200 OK` and a JSON object with unique member names, for [`response::check`].
    Object(Map<String, Value>),
    /// Another status, not a `5xx`, with an RFC 7662 body saying `"active": false`.
    Inactive(StatusCode),
}

/// The RFC 6749 §5.2, RFC 6750 §3.1 and RFC 7662 error codes an endpoint may answer with: only
/// these are logged, so an arbitrary `error` string (which could hold anything) never is.
const ERROR_CODES: [&str; 11] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_token",
    "insufficient_scope",
    "access_denied",
    "server_error",
    "temporarily_unavailable",
];

fn status_hint(status: StatusCode, error: Option<&'static str>) -> String {
    let refused = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
    match (error, refused) {
        (Some(code), true) => {
            format!(" ({code}): it refused this resource server's client authentication")
        }
        (None, true) => ": it refused this resource server's client authentication".to_owned(),
        (Some(code), false) => format!(" ({code})"),
        (None, false) => String::new(),
    }
}

/// serde_json's error class, in words.
fn json_class(error: &serde_json::Error) -> &'static str {
    match error.classify() {
        serde_json::error::Category::Io => "I/O",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "data",
        serde_json::error::Category::Eof => "end-of-input",
    }
}

/// Whether a non-`200` answer's body says the token is inactive (and is not an error answer).
fn says_inactive(object: &Map<String, Value>) -> bool {
    object.get("active") == Some(&Value::Bool(false)) && !object.contains_key("error")
}

/// A value for [`warm_up`](TokenVerifier::warm_up) to introspect: a fixed prefix no
/// authorization server issues (so its logs show what it is) and 128 random bits, so it can
/// never be, or become, a real token.
fn probe_token() -> String {
    use std::hash::{BuildHasher, RandomState};
    let high = RandomState::new().hash_one(clock::unix_now());
    let low = RandomState::new().hash_one(std::process::id());
    format!("axum-bearer-warm-up-probe-{high:016x}{low:016x}")
}

impl IntrospectionVerifier {
    /// A builder for the introspection endpoint at `endpoint`: an `https` URL, or `http` on a
    /// loopback host only (`localhost`, `127.0.0.0/8`, `[::1]`), without a fragment or user
    /// information — the reference example's SSRF guard, decided once here instead of per token.
    ///
    /// ```
    /// use axum_bearer::IntrospectionVerifier;
    ///
    /// assert!(IntrospectionVerifier::builder("https://as.example/introspect").is_ok());
    /// assert!(IntrospectionVerifier::builder("http://127.0.0.1:9000/introspect").is_ok());
    /// assert!(IntrospectionVerifier::builder("http://as.example/introspect").is_err());
    /// assert!(IntrospectionVerifier::builder("http://localhost.evil.example/").is_err());
    /// ```
    pub fn builder(endpoint: impl AsRef<str>) -> Result<IntrospectionVerifierBuilder, ConfigError> {
        Ok(IntrospectionVerifierBuilder {
            endpoint: parse_endpoint(endpoint.as_ref())?,
            auth: None,
            bearer: None,
            token_type_hint: None,
            audiences: Vec::new(),
            hierarchical: false,
            issuer: None,
            leeway: crate::DEFAULT_LEEWAY,
            timeout: DEFAULT_INTROSPECTION_TIMEOUT,
            client: None,
        })
    }

    /// The introspection endpoint.
    pub fn endpoint(&self) -> &str {
        self.inner.endpoint.as_str()
    }

    async fn introspect(&self, token: &str) -> Result<AccessToken, VerifyError> {
        let inner = &*self.inner;
        let refused = |error: &VerifyError, status: StatusCode| {
            tracing::debug!(%error, %status, endpoint = %inner.endpoint, "introspected token refused");
        };
        match self.call(token).await {
            Ok(Answer::Object(response)) => {
                response::check(token, response, &inner.rules, clock::unix_now())
                    .inspect_err(|error| refused(error, StatusCode::OK))
            }
            Ok(Answer::Inactive(status)) => {
                let error = VerifyError::invalid("introspection: token inactive");
                refused(&error, status);
                Err(error)
            }
            Err(error) => {
                tracing::warn!(%error, "token introspection failed");
                Err(VerifyError::unavailable(error.to_string()))
            }
        }
    }

    /// [`TokenVerifier::warm_up`]: introspects a [probe](probe_token) and expects an RFC 7662
    /// answer.
    async fn check_endpoint(&self) -> Result<(), VerifyError> {
        let not_ready = |reason: String| {
            tracing::warn!(%reason, "introspection endpoint not ready");
            VerifyError::unavailable(format!("introspection endpoint not ready: {reason}"))
        };
        let url = self.endpoint();
        match self.call(&probe_token()).await {
            Ok(Answer::Object(response)) => match response.get("active") {
                Some(Value::Bool(false)) => Ok(()),
                Some(Value::Bool(true)) => {
                    tracing::warn!(
                        endpoint = %url,
                        "the introspection endpoint says a never-issued token is active"
                    );
                    Ok(())
                }
                _ => Err(not_ready(format!(
                    "{url} answered 200 without a boolean active member (RFC 7662 §2.2)"
                ))),
            },
            Ok(Answer::Inactive(status)) => {
                tracing::debug!(%status, endpoint = %url, "introspection endpoint ready");
                Ok(())
            }
            Err(error) => Err(not_ready(error.to_string())),
        }
    }

    async fn call(&self, token: &str) -> Result<Answer, CallError> {
        let inner = &*self.inner;
        let url = || inner.endpoint.to_string();
        let http = |source| CallError::Http { url: url(), source };

        let mut form: Vec<(&str, &str)> = Vec::with_capacity(4);
        form.push(("token", token));
        if let Some(hint) = &inner.token_type_hint {
            form.push(("token_type_hint", hint));
        }
        let mut request = inner
            .client
            .post(inner.endpoint.clone())
            .header(header::ACCEPT, "application/json")
            .timeout(inner.timeout);
        match &inner.auth {
            ClientAuth::None => {}
            ClientAuth::Basic { id, secret } => {
                request = request.basic_auth(form_urlencode(id), Some(form_urlencode(secret)));
            }
            ClientAuth::Post { id, secret } => {
                form.push(("client_id", id));
                form.push(("client_secret", secret));
            }
            ClientAuth::Bearer(value) => {
                request = request.header(header::AUTHORIZATION, value.clone());
            }
        }
        let mut response = request.form(&form).send().await.map_err(http)?;
        let status = response.status();
        let body = read_body(&mut response).await;
        if status != StatusCode::OK {
            // The body of an error answer is read for its meaning only; failing to read or
            // parse it leaves the status as the whole story.
            let object = body
                .ok()
                .and_then(|body| duplicates::parse_unique_object(&body).ok());
            if !status.is_server_error() && object.as_ref().is_some_and(says_inactive) {
                return Ok(Answer::Inactive(status));
            }
            let error = object
                .as_ref()
                .and_then(|object| object.get("error"))
                .and_then(Value::as_str)
                .and_then(|code| ERROR_CODES.into_iter().find(|known| *known == code));
            return Err(CallError::Status {
                url: url(),
                status,
                error,
            });
        }
        let body = body.map_err(|error| match error {
            BodyError::Http(source) => http(source),
            BodyError::TooLarge => CallError::TooLarge { url: url() },
        })?;
        duplicates::parse_unique_object(&body)
            .map(Answer::Object)
            .map_err(|error| match error {
                ObjectError::Duplicate => CallError::Duplicate { url: url() },
                // Never `error.to_string()`: "invalid type: string \"…\"" quotes the body.
                ObjectError::Json(error) => CallError::Json {
                    url: url(),
                    class: json_class(&error),
                    line: error.line(),
                    column: error.column(),
                },
            })
    }
}

enum BodyError {
    Http(reqwest::Error),
    TooLarge,
}

/// The response body, refused past [`MAX_BODY`] bytes.
async fn read_body(response: &mut reqwest::Response) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Http)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl TokenVerifier for IntrospectionVerifier {
    fn verify(&self, token: &str) -> impl Future<Output = Result<AccessToken, VerifyError>> + Send {
        self.introspect(token)
    }

    /// Introspects a random value no authorization server issued (`axum-bearer-warm-up-probe-`
    /// and 32 hex digits) and expects an RFC 7662 answer: `200` with a boolean `active` (an
    /// `active: true` is logged as a warning, since it means the endpoint vouches for anything),
    /// or a non-`5xx` status with `{"active": false}`. Anything else — a timeout, a connection
    /// error, a `5xx`, our credentials refused (`401`, `403`), a body that is not an RFC 7662
    /// answer — is [`VerifyError::Unavailable`] with the reason, and logged at WARN.
    ///
    /// ```no_run
    /// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_bearer::{IntrospectionVerifier, TokenVerifier};
    ///
    /// let verifier = IntrospectionVerifier::builder("https://auth.example.com/oauth2/introspect")?
    ///     .client_secret_basic("notes-api", "a secret from the authorization server")
    ///     .build()?;
    /// verifier.warm_up().await?; // a wrong secret fails here, before the server listens
    /// # Ok(()) }
    /// ```
    fn warm_up(&self) -> impl Future<Output = Result<(), VerifyError>> + Send {
        self.check_endpoint()
    }
}

impl fmt::Debug for IntrospectionVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("IntrospectionVerifier")
            .field("endpoint", &inner.endpoint.as_str())
            .field("client_authentication", &inner.auth)
            .field("token_type_hint", &inner.token_type_hint)
            .field(
                "audiences",
                &inner
                    .rules
                    .audiences
                    .iter()
                    .map(Audience::as_str)
                    .collect::<Vec<_>>(),
            )
            .field("hierarchical_audience", &inner.hierarchical)
            .field("issuer", &inner.rules.issuer)
            .field("leeway_secs", &inner.rules.leeway)
            .field("timeout", &inner.timeout)
            .finish_non_exhaustive()
    }
}

/// Configures an [`IntrospectionVerifier`]; from [`IntrospectionVerifier::builder`]. Every value
/// is checked by [`build`](Self::build).
#[derive(Clone)]
#[must_use]
pub struct IntrospectionVerifierBuilder {
    endpoint: Url,
    auth: Option<ClientAuth>,
    /// The bearer credential as given, checked by `build`.
    bearer: Option<String>,
    token_type_hint: Option<String>,
    audiences: Vec<String>,
    hierarchical: bool,
    issuer: Option<String>,
    leeway: Duration,
    timeout: Duration,
    client: Option<reqwest::Client>,
}

impl fmt::Debug for IntrospectionVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionVerifierBuilder")
            .field("endpoint", &self.endpoint.as_str())
            .field("client_authentication", &self.auth)
            .field("bearer_credential", &self.bearer.as_ref().map(|_| Redacted))
            .field("token_type_hint", &self.token_type_hint)
            .field("audiences", &self.audiences)
            .field("hierarchical_audience", &self.hierarchical)
            .field("issuer", &self.issuer)
            .field("leeway", &self.leeway)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// RFC 6749 §2.3.1 / Appendix B: client id and secret are form-urlencoded before Basic encoding.
fn form_urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl IntrospectionVerifierBuilder {
    /// Authenticate with HTTP Basic, `client_secret_basic` (RFC 6749 §2.3.1): `Authorization:
    /// Basic base64(urlencode(id):urlencode(secret))`, each part form-urlencoded first as the RFC
    /// requires. Replaces any other client authentication.
    pub fn client_secret_basic(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.auth = Some(ClientAuth::Basic {
            id: client_id.into(),
            secret: client_secret.into(),
        });
        self.bearer = None;
        self
    }

    /// Authenticate with `client_id` and `client_secret` in the form body, `client_secret_post`
    /// (RFC 6749 §2.3.1). Replaces any other client authentication.
    pub fn client_secret_post(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.auth = Some(ClientAuth::Post {
            id: client_id.into(),
            secret: client_secret.into(),
        });
        self.bearer = None;
        self
    }

    /// Authenticate with `Authorization: Bearer <credential>`, a token the authorization server
    /// issued to this resource server for introspection (RFC 7662 §2.1). It must be an RFC 6750
    /// `b64token`, checked by [`build`](Self::build). Replaces any other client authentication.
    pub fn bearer_credential(mut self, credential: impl Into<String>) -> Self {
        self.bearer = Some(credential.into());
        self.auth = None;
        self
    }

    /// Send no client authentication, for an endpoint protected otherwise (a private network, a
    /// mesh with mutual TLS). Without this or one of the methods above, [`build`](Self::build)
    /// fails: RFC 7662 §2.1 requires the endpoint to authenticate its callers, so forgetting the
    /// credentials is a configuration error rather than a silent downgrade.
    pub fn no_client_authentication(mut self) -> Self {
        self.auth = Some(ClientAuth::None);
        self.bearer = None;
        self
    }

    /// The `token_type_hint` to send (RFC 7662 §2.1), e.g. `"access_token"`; none by default.
    pub fn token_type_hint(mut self, hint: impl Into<String>) -> Self {
        self.token_type_hint = Some(hint.into());
        self
    }

    /// An audience to accept: this resource's identifier (RFC 8707). Call again to accept
    /// several. `aud` must then name one of them, compared exactly unless
    /// [`hierarchical_audience`](Self::hierarchical_audience) is on.
    ///
    /// With no audience configured, `aud` is not checked by the verifier: configure
    /// [`BearerAuth::resource_server_url`](crate::BearerAuth::resource_server_url) so the layer
    /// compares the token's `resource` (the `aud` string or first array entry) with this server.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accept an `aud` that names this resource or a URL above it, as the reference example's
    /// `check_resource_allowed`: same scheme, host (any case) and port, and this resource's path
    /// at or below the `aud` path, segment-wise (`https://h/api` covers `https://h/api/mcp`, not
    /// `https://h/api123`). Then each [`audience`](Self::audience) must be an http(s) URL, and
    /// the token's [`resource`](AccessToken::resource) is the configured audience it matched.
    ///
    /// Off by default: a token for `https://host/` would then be good at every resource of that
    /// host, which RFC 8707 §3 warns against for multi-tenant servers.
    pub fn hierarchical_audience(mut self, on: bool) -> Self {
        self.hierarchical = on;
        self
    }

    /// The issuer the response's `iss` must equal exactly; no check by default.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Clock-skew allowance for `exp` and `nbf` (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Timeout of each introspection request, connection included (default 5 s). Applied to
    /// every request, also with a custom [`http_client`](Self::http_client).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The HTTP client to use (default: reqwest with rustls, the [`timeout`](Self::timeout) as
    /// connect and request timeout, and no redirects followed, so credentials never travel to
    /// another URL).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Checks the configuration: a client authentication (or
    /// [`no_client_authentication`](Self::no_client_authentication)), a valid bearer credential,
    /// and, in hierarchical mode, http(s) URLs as audiences.
    pub fn build(self) -> Result<IntrospectionVerifier, ConfigError> {
        let auth = match (self.auth, self.bearer) {
            (_, Some(credential)) => {
                if !is_b64token(&credential) {
                    return Err(ConfigError::InvalidCredential(
                        "a bearer credential must be an RFC 6750 b64token",
                    ));
                }
                let mut value =
                    HeaderValue::try_from(format!("Bearer {credential}")).map_err(|_| {
                        ConfigError::InvalidCredential("bearer credential is not a header value")
                    })?;
                value.set_sensitive(true);
                ClientAuth::Bearer(value)
            }
            (Some(auth), None) => auth,
            (None, None) => return Err(ConfigError::MissingClientAuthentication),
        };
        let audiences = self
            .audiences
            .into_iter()
            .map(|audience| {
                if !self.hierarchical {
                    return Ok(Audience::exact(audience));
                }
                let shown = audience.escape_debug().to_string();
                Audience::hierarchical(audience).ok_or_else(|| ConfigError::InvalidUrl {
                    what: "audience",
                    url: shown,
                    reason: "a hierarchical audience is an absolute http(s) URL without \
                             fragment or user information"
                        .into(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let client = match self.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|error| ConfigError::HttpClient(error.to_string()))?,
        };
        Ok(IntrospectionVerifier {
            inner: Arc::new(Inner {
                endpoint: self.endpoint,
                client,
                auth,
                token_type_hint: self.token_type_hint,
                rules: Rules {
                    audiences,
                    issuer: self.issuer,
                    leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
                },
                hierarchical: self.hierarchical,
                timeout: self.timeout,
            }),
        })
    }
}

/// RFC 6750 §2.1 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(value: &str) -> bool {
    let body = value.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// The reference example's SSRF guard, on the parsed URL: `https`, or `http` to a loopback host.
fn parse_endpoint(endpoint: &str) -> Result<Url, ConfigError> {
    let refuse = |reason: &str| ConfigError::InvalidUrl {
        what: "introspection endpoint",
        url: endpoint.escape_debug().to_string(),
        reason: reason.into(),
    };
    let url = Url::parse(endpoint).map_err(|_| refuse("not an absolute URL"))?;
    if url.fragment().is_some() {
        return Err(refuse("has a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse(
            "holds user information: configure client authentication instead",
        ));
    }
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err(refuse("has no host")),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(refuse(
            "plain http is allowed for loopback hosts only (localhost, 127.0.0.0/8, ::1)",
        )),
        _ => Err(refuse("not an http(s) URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_guard() {
        for ok in [
            "https://as.example/introspect",
            "https://10.0.0.1/i",
            "http://localhost:8080/introspect",
            "http://LOCALHOST/introspect",
            "http://127.0.0.1:9000/introspect",
            "http://127.1.2.3/introspect",
            "http://[::1]:9000/introspect",
        ] {
            assert!(parse_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://as.example/introspect",
            "http://localhost.evil.example/introspect",
            "http://127.0.0.1.nip.io/introspect",
            "http://10.0.0.1/introspect",
            "ftp://localhost/introspect",
            "https://user:pass@as.example/introspect",
            "https://as.example/introspect#x",
            "/introspect",
            "",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn client_authentication_is_required_and_checked() {
        let builder = || IntrospectionVerifier::builder("https://as.example/i").unwrap();
        assert_eq!(
            builder().build().unwrap_err(),
            ConfigError::MissingClientAuthentication
        );
        assert!(builder().no_client_authentication().build().is_ok());
        assert!(
            builder()
                .bearer_credential("abc.DEF-_~+/==")
                .build()
                .is_ok()
        );
        for bad in ["", "a b", "a\nb", "=", "tok\u{e9}"] {
            assert!(
                matches!(
                    builder().bearer_credential(bad).build(),
                    Err(ConfigError::InvalidCredential(_))
                ),
                "{bad:?}"
            );
        }
        // The last method wins.
        assert!(
            builder()
                .bearer_credential("bad bad")
                .client_secret_post("id", "secret")
                .build()
                .is_ok()
        );
    }

    #[test]
    fn hierarchical_audiences_must_be_urls() {
        let builder = || {
            IntrospectionVerifier::builder("https://as.example/i")
                .unwrap()
                .no_client_authentication()
        };
        assert!(builder().audience("urn:rs").build().is_ok());
        assert!(
            builder()
                .audience("urn:rs")
                .hierarchical_audience(true)
                .build()
                .is_err()
        );
        assert!(
            builder()
                .audience("https://rs.example/mcp")
                .hierarchical_audience(true)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let basic = IntrospectionVerifier::builder("https://as.example/i")
            .unwrap()
            .client_secret_basic("rs-client", "very-secret-value")
            .build()
            .unwrap();
        let post = IntrospectionVerifier::builder("https://as.example/i")
            .unwrap()
            .client_secret_post("rs-client", "very-secret-value");
        let bearer = IntrospectionVerifier::builder("https://as.example/i")
            .unwrap()
            .bearer_credential("very-secret-value");
        let shown = format!("{basic:?} {post:?} {bearer:?} {:?}", bearer.clone().build());
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(shown.contains("rs-client"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    #[test]
    fn basic_credentials_are_form_urlencoded_first() {
        assert_eq!(form_urlencode("a b:c/é%"), "a+b%3Ac%2F%C3%A9%25");
    }
}
