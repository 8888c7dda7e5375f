//! [`AuthenticatedUser`]: the extractor, and the once-per-request verification behind every guard.

use std::{borrow::Cow, fmt, sync::Arc};

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::{Extensions, HeaderMap, Uri, request::Parts};
use serde_json::{Map, Value};

use crate::{
    AccessToken, AuthScheme, AuthorizationContext, Profile, Rejection, RejectionKind, VerifyError,
    clock,
    config::Config,
    credentials::{self, BadToken, Credentials},
    possession::{ProofFailure, ProofRequest},
    resource::ResourceUrl,
    scopes::{Required, is_valid_scope_token},
};

/// The authenticated caller: a verified [`AccessToken`] that passed the expiry and resource checks.
///
/// Declare it in a handler to require authentication; a request without a valid token gets the
/// configured [`Profile`](crate::Profile)'s 401 (or 400/503) instead.
/// `Option<AuthenticatedUser>` makes authentication optional: no credentials give `None`, while
/// credentials that are present but invalid are still refused.
///
/// ```
/// use axum::{Router, routing::get};
/// use axum_bearer::{AccessToken, AuthenticatedUser, BearerAuth, StaticVerifier};
///
/// async fn whoami(user: AuthenticatedUser) -> String {
///     format!("{} {:?}", user.client_id(), user.scopes())
/// }
///
/// async fn greeting(user: Option<AuthenticatedUser>) -> String {
///     match user {
///         Some(user) => format!("hello {}", user.client_id()),
///         None => "hello stranger".into(),
///     }
/// }
///
/// let verifier = StaticVerifier::new([AccessToken::new("dev-token", "dev-client", ["notes:read"])]);
/// let app: Router = Router::new()
///     .route("/whoami", get(whoami))
///     .route("/hello", get(greeting))
///     .layer(BearerAuth::new(verifier));
/// ```
///
/// The token is verified once per request, however many extractors and guards ask for it.
#[derive(Clone)]
pub struct AuthenticatedUser {
    token: Arc<AccessToken>,
    config: Arc<Config>,
    scheme: AuthScheme,
}

impl AuthenticatedUser {
    /// The OAuth client the token was issued to (the reference's `display_name`).
    pub fn client_id(&self) -> &str {
        &self.token.client_id
    }

    /// The scopes granted to the token.
    pub fn scopes(&self) -> &[String] {
        &self.token.scopes
    }

    /// The subject (`sub`) of the token, if the verifier supplied one.
    pub fn subject(&self) -> Option<&str> {
        self.token.subject.as_deref()
    }

    /// The issuer, read from `claims["iss"]` (see [`AccessToken::issuer`]).
    pub fn issuer(&self) -> Option<Cow<'_, str>> {
        self.token.issuer()
    }

    /// The profile of the [`BearerAuth`](crate::BearerAuth) layer that authenticated the user,
    /// which every rejection built from the user follows.
    pub fn profile(&self) -> Profile {
        self.config.profile
    }

    /// Every claim of the token, if the verifier supplied them.
    pub fn claims(&self) -> Option<&Map<String, Value>> {
        self.token.claims.as_ref()
    }

    /// Whether the request proved possession of the key its token is bound to: it came with
    /// `Authorization: DPoP` and a valid DPoP proof (RFC 9449; feature `dpop` and
    /// `BearerAuth::dpop`). `false` for a bearer token.
    pub fn is_proof_bound(&self) -> bool {
        self.scheme == AuthScheme::Dpop
    }

    /// The RFC 7638 thumbprint (base64url SHA-256) of the key the request proved possession of,
    /// which the token's `cnf.jkt` equals; `None` for a bearer token.
    pub fn proof_thumbprint(&self) -> Option<&str> {
        match self.scheme {
            AuthScheme::Dpop => self.token.dpop_jkt.as_deref(),
            AuthScheme::Bearer => None,
        }
    }

    /// The scheme the credentials came with: [`AuthScheme::Bearer`] or [`AuthScheme::Dpop`].
    pub fn scheme(&self) -> AuthScheme {
        self.scheme
    }

    /// The whole verified token.
    pub fn access_token(&self) -> &AccessToken {
        &self.token
    }

    /// The whole verified token, shared.
    pub fn shared_access_token(&self) -> Arc<AccessToken> {
        self.token.clone()
    }

    /// Whether the token satisfies `scope`: granted exactly (case-sensitive), or implied by a
    /// granted scope through [`BearerAuth::scope_implies`](crate::BearerAuth::scope_implies).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.config.hierarchy.satisfies(&self.token.scopes, scope)
    }

    /// The principal that session-bound state compares: `(client_id, issuer, subject)`.
    pub fn authorization_context(&self) -> AuthorizationContext {
        AuthorizationContext::from_token(&self.token)
    }

    /// Requires `scopes` mid-handler: `Err` is the configured profile's 403 naming them,
    /// ready to return with `?`.
    ///
    /// A scope that is not a valid RFC 6749 §3.3 scope-token (empty, a space, `"`, `\`,
    /// non-ASCII) is a bug no challenge could report: `Err` is then a 500, and the log names it.
    ///
    /// ```
    /// use axum_bearer::{AuthenticatedUser, Rejection};
    ///
    /// async fn delete_file(user: AuthenticatedUser) -> Result<&'static str, Rejection> {
    ///     user.require_scopes(["files:write"])?;
    ///     Ok("deleted")
    /// }
    /// ```
    pub fn require_scopes<I, S>(&self, scopes: I) -> Result<(), Rejection>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.check(Required::Shared(self.validated(scopes)?))
    }

    /// The configured profile's 403 `insufficient_scope` for an operation that needs `scopes`,
    /// built by the application (for a decision [`require_scopes`](Self::require_scopes) cannot
    /// make, e.g. one that depends on the resource). In `Profile::Spec` the challenge's `scope`
    /// names all of `scopes`, so the client can ask for them (step-up); in `Profile::PythonSdk`
    /// the description names the first one the user lacks (else the first).
    /// [`Rejection::with_description`] replaces the description.
    ///
    /// Invalid scope names give a 500, as in [`require_scopes`](Self::require_scopes).
    ///
    /// ```
    /// use axum::extract::Path;
    /// use axum_bearer::{AuthenticatedUser, Rejection};
    ///
    /// async fn read_board(user: AuthenticatedUser, Path(board): Path<String>) -> Result<String, Rejection> {
    ///     if board == "private" && !user.has_scope("boards:private") {
    ///         return Err(user
    ///             .insufficient_scope(["boards:read", "boards:private"])
    ///             .with_description("The private board needs boards:private"));
    ///     }
    ///     Ok(format!("board {board}"))
    /// }
    /// ```
    pub fn insufficient_scope<I, S>(&self, scopes: I) -> Rejection
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        match self.validated(scopes) {
            Ok(required) => {
                let missing = required
                    .iter()
                    .position(|scope| !self.has_scope(scope))
                    .unwrap_or(0);
                Rejection::insufficient(self.config.clone(), Required::Shared(required), missing)
                    .with_scheme(self.scheme)
            }
            Err(rejection) => rejection,
        }
    }

    /// The configured profile's 401 `invalid_token` for this user's token, for an application
    /// that refuses a token the verifier accepted (revoked in its own records, a blocked user).
    /// [`Rejection::with_description`] replaces the description.
    ///
    /// ```
    /// use axum_bearer::{AuthenticatedUser, Rejection};
    ///
    /// async fn account(user: AuthenticatedUser) -> Result<&'static str, Rejection> {
    ///     if user.subject() == Some("blocked-user") {
    ///         return Err(user.invalid_token().with_description("This account is suspended"));
    ///     }
    ///     Ok("account")
    /// }
    /// ```
    pub fn invalid_token(&self) -> Rejection {
        Rejection::new(
            RejectionKind::InvalidToken,
            "The access token is invalid",
            self.config.clone(),
        )
        .with_scheme(self.scheme)
    }

    /// `scopes`, each checked to be a valid scope-token; the 500 for the first that is not.
    fn validated<I, S>(&self, scopes: I) -> Result<Arc<[Box<str>]>, Rejection>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        scopes
            .into_iter()
            .map(|scope| {
                let scope = scope.as_ref();
                match is_valid_scope_token(scope) {
                    true => Ok(scope.into()),
                    false => Err(Rejection::invalid_required_scope(
                        self.config.clone(),
                        scope,
                    )),
                }
            })
            .collect()
    }

    /// The first scope of `required` that this user lacks, as a 403 rejection.
    pub(crate) fn check(&self, required: Required) -> Result<(), Rejection> {
        let missing = required.iter().position(|scope| !self.has_scope(scope));
        match missing {
            None => Ok(()),
            Some(missing) => Err(
                Rejection::insufficient(self.config.clone(), required, missing)
                    .with_scheme(self.scheme),
            ),
        }
    }

    /// The user already authenticated on this request, if any: for code that sees the request's
    /// extensions rather than its extractors (an `rmcp` tool, a tower service).
    ///
    /// `None` when nothing has verified a token on this request yet (no guard or extractor
    /// asked, and [`BearerAuth::verify_eagerly`](crate::BearerAuth::verify_eagerly) is off), or
    /// when the token was refused.
    pub fn from_extensions(extensions: &Extensions) -> Option<Self> {
        match extensions.get::<AuthSlot>()?.outcome.as_ref()? {
            Outcome::User(user) => Some(user.clone()),
            Outcome::Failed(_) => None,
        }
    }
}

impl fmt::Debug for AuthenticatedUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatedUser")
            .field("access_token", &self.token)
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthenticatedUser {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        authenticate(parts, Required::None).await
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthenticatedUser {
    type Rejection = Rejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match authenticate(parts, Required::None).await {
            Ok(user) => Ok(Some(user)),
            Err(rejection) if rejection.kind() == RejectionKind::MissingCredentials => Ok(None),
            Err(rejection) => Err(rejection),
        }
    }
}

impl Rejection {
    /// The configured profile's 401 `invalid_token` for a request, built from its extensions (in a
    /// middleware or handler that has no [`AuthenticatedUser`], e.g. before verifying). Without a
    /// [`BearerAuth`](crate::BearerAuth) layer on the request it is the 500 that names the bug.
    ///
    /// ```
    /// use axum::{extract::Request, middleware::Next, response::{IntoResponse, Response}};
    /// use axum_bearer::Rejection;
    ///
    /// async fn no_tokens_from_the_old_gateway(request: Request, next: Next) -> Response {
    ///     if request.headers().contains_key("x-old-gateway") {
    ///         return Rejection::invalid_token_for(request.extensions())
    ///             .with_description("Tokens relayed by the old gateway are no longer accepted")
    ///             .into_response();
    ///     }
    ///     next.run(request).await
    /// }
    /// ```
    pub fn invalid_token_for(extensions: &Extensions) -> Self {
        match extensions.get::<AuthSlot>() {
            Some(slot) => {
                // The error goes on the challenge of the scheme the caller used, when known.
                let scheme = match &slot.outcome {
                    Some(Outcome::User(user)) => user.scheme,
                    Some(Outcome::Failed(failure)) => failure.scheme,
                    None => AuthScheme::Bearer,
                };
                Self::new(
                    RejectionKind::InvalidToken,
                    "The access token is invalid",
                    slot.config.clone(),
                )
                .with_scheme(scheme)
            }
            None => Self::missing_layer(),
        }
    }
}

/// What the layer leaves on each request: the configuration, and the outcome once known.
#[derive(Clone)]
pub(crate) struct AuthSlot {
    config: Arc<Config>,
    outcome: Option<Outcome>,
}

/// The request's URI as the layer saw it (before a nested router strips a prefix), left on the
/// request only when DPoP is accepted, so the slot stays as small as before: its path is the
/// proof's `htu` after the configured public URL.
#[derive(Clone)]
pub(crate) struct SeenUri(pub(crate) Uri);

#[derive(Clone)]
enum Outcome {
    User(AuthenticatedUser),
    Failed(Failure),
}

#[derive(Debug, Clone, Copy)]
struct Failure {
    kind: RejectionKind,
    detail: &'static str,
    /// The scheme whose challenge carries the error.
    scheme: AuthScheme,
}

impl Failure {
    const fn new(kind: RejectionKind, detail: &'static str) -> Self {
        Self {
            kind,
            detail,
            scheme: AuthScheme::Bearer,
        }
    }

    const fn dpop(kind: RejectionKind, detail: &'static str) -> Self {
        Self {
            kind,
            detail,
            scheme: AuthScheme::Dpop,
        }
    }
}

impl From<ProofFailure> for Failure {
    fn from(failure: ProofFailure) -> Self {
        Self::dpop(failure.kind, failure.detail)
    }
}

/// A token that passed the verifier and the layer's checks, and the scheme it came with.
struct Verified {
    token: Arc<AccessToken>,
    scheme: AuthScheme,
}

/// The credentials of a request: the token, and its scheme.
struct Presented<'h> {
    token: Cow<'h, str>,
    scheme: AuthScheme,
}

impl AuthSlot {
    pub(crate) fn new(config: Arc<Config>) -> Self {
        Self {
            config,
            outcome: None,
        }
    }

    /// The memoised outcome as the caller's result; `required` names the scopes in a refusal.
    fn result(&self, required: Required) -> Option<Result<AuthenticatedUser, Rejection>> {
        Some(match self.outcome.as_ref()? {
            Outcome::User(user) => Ok(user.clone()),
            Outcome::Failed(failure) => {
                Err(
                    Rejection::new(failure.kind, failure.detail, self.config.clone())
                        .with_required(required)
                        .with_scheme(failure.scheme),
                )
            }
        })
    }

    fn settle(&mut self, verified: Result<Verified, Failure>) {
        self.outcome = Some(match verified {
            Ok(Verified { token, scheme }) => Outcome::User(AuthenticatedUser {
                token,
                config: self.config.clone(),
                scheme,
            }),
            Err(failure) => Outcome::Failed(failure),
        });
    }
}

/// [`authenticate`] when it needs no waiting: the outcome is memoised, the credentials are
/// refused, or the verifier answers at once ([`TokenVerifier::verify_ready`]). `None` otherwise,
/// with nothing memoised.
///
/// [`TokenVerifier::verify_ready`]: crate::TokenVerifier::verify_ready
pub(crate) fn authenticate_now(
    parts: &mut Parts,
    required: &Required,
) -> Option<Result<AuthenticatedUser, Rejection>> {
    // One lookup: the slot is read and, on first use, memoised in place.
    let Some(slot) = parts.extensions.get_mut::<AuthSlot>() else {
        return Some(Err(Rejection::missing_layer()));
    };
    settle_ready(slot, &parts.headers)?;
    slot.result(required.clone())
}

/// Memoises the outcome in `slot` unless it is known already, when that needs no waiting;
/// `None` (nothing memoised) when the verifier has to wait.
#[inline]
fn settle_ready(slot: &mut AuthSlot, headers: &HeaderMap) -> Option<()> {
    if slot.outcome.is_none() {
        let verified = match presented(&slot.config, headers) {
            // A proof is checked on the waiting path: its replay window is a store.
            Ok(Presented {
                scheme: AuthScheme::Dpop,
                ..
            }) => return None,
            Ok(Presented { token, .. }) => {
                let answer = slot.config.verifier.verify_ready(&token)?;
                accept(&slot.config, answer).and_then(|token| bearer(&slot.config, token))
            }
            Err(failure) => Err(failure),
        };
        slot.settle(verified);
    }
    Some(())
}

/// Settles the request's outcome in its [`AuthSlot`] when that needs no waiting (the eager
/// [`BearerAuth`](crate::BearerAuth)); `false` when the verifier has to wait, so
/// [`settle_later`] must run. Without a slot there is nothing to settle: `true`.
pub(crate) fn settle_now(parts: &mut Parts) -> bool {
    match parts.extensions.get_mut::<AuthSlot>() {
        Some(slot) => settle_ready(slot, &parts.headers).is_some(),
        None => true,
    }
}

/// Settles the request's outcome in its [`AuthSlot`], waiting for the verifier; the outcome
/// (a user or a refusal) stays memoised for the extractors and guards that ask later.
pub(crate) async fn settle_later(mut parts: Parts) -> Parts {
    // A refusal is memoised too: whoever asks for the user later reports it.
    let _ = authenticate_later(&mut parts, Required::None).await;
    parts
}

/// The authenticated user of this request, verifying the token on first use; a failure is
/// reported with `required` as the scopes the route asked for.
pub(crate) async fn authenticate(
    parts: &mut Parts,
    required: Required,
) -> Result<AuthenticatedUser, Rejection> {
    match authenticate_now(parts, &required) {
        Some(done) => done,
        None => authenticate_later(parts, required).await,
    }
}

/// The rest of [`authenticate`] when [`authenticate_now`] gave `None`: the verifier has to wait
/// (a remote key, an introspection call, a cache miss).
pub(crate) async fn authenticate_later(
    parts: &mut Parts,
    required: Required,
) -> Result<AuthenticatedUser, Rejection> {
    let Some(slot) = parts.extensions.get::<AuthSlot>() else {
        return Err(Rejection::missing_layer());
    };
    let config = slot.config.clone();
    let verified = match presented(&config, &parts.headers) {
        Ok(Presented {
            token,
            scheme: AuthScheme::Dpop,
        }) => {
            // Boxed: its state would otherwise widen every request's extractor future.
            Box::pin(proof_bound(&config, parts, &token)).await
        }
        Ok(Presented { token, .. }) => accept(&config, config.verifier.verify_boxed(&token).await)
            .and_then(|token| bearer(&config, token)),
        Err(failure) => Err(failure),
    };
    let Some(slot) = parts.extensions.get_mut::<AuthSlot>() else {
        return Err(Rejection::missing_layer());
    };
    slot.settle(verified);
    slot.result(required)
        .unwrap_or_else(|| Err(Rejection::missing_layer()))
}

/// A DPoP request (RFC 9449 §7.1): the proof checked, the token verified and bound to the
/// proof's key, then the proof's `jti` recorded. Every refusal is the `DPoP` challenge's.
async fn proof_bound(config: &Config, parts: &Parts, token: &str) -> Result<Verified, Failure> {
    use RejectionKind as Kind;
    // `presented` gives `Dpop` only when a possession scheme is configured.
    let Some(possession) = config.possession.as_deref() else {
        return Err(Failure::new(Kind::MissingCredentials, ""));
    };
    // The path as the layer saw it (it left the URI on the request), else as the extractor does.
    let path = match parts.extensions.get::<SeenUri>() {
        Some(SeenUri(uri)) => uri.path(),
        None => parts.uri.path(),
    };
    let request = ProofRequest {
        method: &parts.method,
        path,
        headers: &parts.headers,
        token,
    };
    let proof = possession.check(&request).map_err(|failure| {
        tracing::debug!(reason = failure.detail, "DPoP proof refused");
        Failure::from(failure)
    })?;
    let token = accept(config, config.verifier.verify_boxed(token).await)
        .map_err(|Failure { kind, detail, .. }| Failure::dpop(kind, detail))?;
    match token.dpop_jkt.as_deref() {
        None => {
            tracing::debug!(client_id = %token.client_id, "a token without cnf.jkt came with the DPoP scheme");
            return Err(Failure::dpop(
                Kind::InvalidToken,
                "The access token is not DPoP-bound",
            ));
        }
        Some(jkt) if jkt != proof.jkt => {
            tracing::debug!(client_id = %token.client_id, "the DPoP proof's key is not the one the token is bound to");
            return Err(Failure::dpop(
                Kind::InvalidToken,
                "Invalid DPoP key binding",
            ));
        }
        Some(_) => {}
    }
    possession.record(proof).await.map_err(|failure| {
        tracing::debug!(reason = failure.detail, "DPoP proof refused");
        Failure::from(failure)
    })?;
    Ok(Verified {
        token,
        scheme: AuthScheme::Dpop,
    })
}

/// A token that came with the `Bearer` scheme: refused when it is DPoP-bound and DPoP is
/// accepted (RFC 9449 §7.2: a bound token is never a bearer token).
fn bearer(config: &Config, token: Arc<AccessToken>) -> Result<Verified, Failure> {
    if config.possession.is_some() && token.dpop_jkt.is_some() {
        tracing::debug!(client_id = %token.client_id, "a DPoP-bound token came with the Bearer scheme");
        return Err(Failure::new(
            RejectionKind::InvalidToken,
            "The access token is DPoP-bound: send it with the DPoP scheme and a proof",
        ));
    }
    Ok(Verified {
        token,
        scheme: AuthScheme::Bearer,
    })
}

/// The credentials of the request, or why there are none usable.
fn presented<'h>(config: &Config, headers: &'h HeaderMap) -> Result<Presented<'h>, Failure> {
    read_credentials(config, headers).map_err(|failure| {
        // A malformed `DPoP` header's error belongs in the `DPoP` challenge.
        match config.possession.is_some() && credentials::names_dpop(headers) {
            true => Failure::dpop(failure.kind, failure.detail),
            false => failure,
        }
    })
}

/// [`presented`], every refusal on the `Bearer` challenge.
fn read_credentials<'h>(config: &Config, headers: &'h HeaderMap) -> Result<Presented<'h>, Failure> {
    use RejectionKind as Kind;
    let dpop = config.possession.as_deref();
    match credentials::parse(
        headers,
        config.profile,
        config.max_token_len,
        dpop.is_some(),
    ) {
        // With DPoP required, `Bearer` is a scheme this server does not accept (RFC 6750 §3.1:
        // no error code).
        Credentials::Bearer(_) if dpop.is_some_and(|dpop| dpop.required()) => {
            Err(Failure::new(Kind::MissingCredentials, ""))
        }
        Credentials::Bearer(token) => Ok(Presented {
            token,
            scheme: AuthScheme::Bearer,
        }),
        Credentials::Dpop(token) => Ok(Presented {
            token,
            scheme: AuthScheme::Dpop,
        }),
        Credentials::Missing | Credentials::OtherScheme => {
            Err(Failure::new(Kind::MissingCredentials, ""))
        }
        Credentials::Malformed(malformed) => {
            tracing::debug!(?malformed, "bearer credentials malformed");
            Err(Failure::new(
                Kind::MalformedRequest,
                malformed.description(),
            ))
        }
        Credentials::BadToken(BadToken::TooLong) => {
            tracing::debug!(
                max = config.max_token_len,
                "bearer token over the length cap"
            );
            Err(Failure::new(
                Kind::MalformedToken,
                "The access token is too long",
            ))
        }
        Credentials::BadToken(BadToken::Syntax) => {
            tracing::debug!("bearer token is not a b64token");
            Err(Failure::new(
                Kind::MalformedToken,
                "The access token is malformed",
            ))
        }
    }
}

/// The verifier's answer, then the layer's own expiry and resource checks.
fn accept(
    config: &Config,
    answer: Result<Arc<AccessToken>, VerifyError>,
) -> Result<Arc<AccessToken>, Failure> {
    use RejectionKind as Kind;
    let token = match answer {
        Ok(token) => token,
        Err(VerifyError::Expired) => {
            tracing::debug!("bearer token expired");
            return Err(Failure::new(Kind::ExpiredToken, "The access token expired"));
        }
        Err(VerifyError::Unavailable(reason)) => {
            tracing::warn!(%reason, "bearer token verifier unavailable");
            return Err(Failure::new(Kind::Unavailable, ""));
        }
        Err(VerifyError::Invalid(reason)) => {
            tracing::debug!(%reason, "bearer token rejected by the verifier");
            return Err(Failure::new(
                Kind::InvalidToken,
                "The access token is invalid",
            ));
        }
    };
    if let Some(expires_at) = token.expires_at
        && clock::unix_now() >= expires_at.saturating_add(config.leeway_secs)
    {
        tracing::debug!(client_id = %token.client_id, expires_at, "bearer token expired");
        return Err(Failure::new(Kind::ExpiredToken, "The access token expired"));
    }
    if let Some(resource) = &config.resource_server
        && !is_for(resource, &token)
    {
        if token.resource.is_none() && audiences(&token).next().is_none() {
            tracing::debug!(client_id = %token.client_id, "the token names no resource (no `resource`, no `aud`), and this server requires its own");
        } else {
            tracing::debug!(client_id = %token.client_id, resource = ?token.resource, "bearer token issued for another resource");
        }
        return Err(Failure::new(
            Kind::WrongResource,
            "The access token is not valid for this resource",
        ));
    }
    Ok(token)
}

/// Whether `token` is for this resource server: its `resource`, or any of its audiences
/// (`claims["aud"]`, a string or an array, RFC 7519 §4.1.3), names it. A token for several
/// resources serves each of them.
fn is_for(resource: &ResourceUrl, token: &AccessToken) -> bool {
    resource.matches(token.resource.as_deref())
        || audiences(token).any(|aud| resource.matches(Some(aud)))
}

/// The string audiences of the token's `aud` claim; none when it is absent or another type.
fn audiences(token: &AccessToken) -> impl Iterator<Item = &str> {
    let aud = token.claims.as_ref().and_then(|claims| claims.get("aud"));
    let (one, many) = match aud {
        Some(Value::String(aud)) => (Some(aud.as_str()), None),
        Some(Value::Array(auds)) => (None, Some(auds.iter().filter_map(Value::as_str))),
        _ => (None, None),
    };
    one.into_iter().chain(many.into_iter().flatten())
}
