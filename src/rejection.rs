//! [`Rejection`]: the only place that writes the crate's 400/401/403/503 responses.

use std::{fmt, sync::Arc};

use axum_core::{
    body::Body,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{
    HeaderName, HeaderValue, StatusCode,
    header::{CONTENT_TYPE, WWW_AUTHENTICATE},
};

use crate::{
    AuthScheme, Profile,
    challenge::{
        Challenge, Sink, compact_json_body, into_header, is_text_char, python_json_body,
        write_exact,
    },
    config::{Config, Prebuilt},
    possession::Possession,
    scopes::{Required, is_scope_char},
};

/// `DPoP-Nonce` (RFC 9449 §8.1).
const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// Why a request was refused. Each kind maps to one row of the profile table on [`Profile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No bearer credentials: no `Authorization` header, or another scheme → 401.
    MissingCredentials,
    /// A malformed `Authorization` header (`Bearer` alone, a tab, two headers…) →
    /// 400 `invalid_request` in `Spec`; the reference's 401 in `PythonSdk`.
    MalformedRequest,
    /// A token that cannot be valid (not a `b64token`, or over the length cap) → 401.
    MalformedToken,
    /// The verifier refused the token → 401.
    InvalidToken,
    /// The token has expired → 401.
    ExpiredToken,
    /// The token was issued for another resource (RFC 8707) → 401.
    WrongResource,
    /// The token lacks a required scope → 403.
    InsufficientScope,
    /// The verifier's back end failed → 503.
    Unavailable,
    /// No [`BearerAuth`](crate::BearerAuth) configuration reached the guard: the layer is missing
    /// or misordered (added inside the guard) — a server bug → 500.
    MissingLayer,
    /// The application required a scope that is not a valid RFC 6749 §3.3 scope-token (empty,
    /// a space, `"`, `\`, non-ASCII), so no challenge could name it — a server bug → 500.
    InvalidRequiredScope,
    /// The DPoP proof is missing, malformed, replayed, or fails a check of RFC 9449 §4.3 →
    /// 401 `invalid_dpop_proof` on the `DPoP` challenge (feature `dpop`).
    InvalidDpopProof,
    /// The server wants its own (fresh) nonce in the DPoP proof → 401 `use_dpop_nonce` on the
    /// `DPoP` challenge, with a `DPoP-Nonce` header (RFC 9449 §9; feature `dpop`).
    UseDpopNonce,
}

/// A refused request: a 400, 401, 403, 503 (or 500 when the layer is missing), ready to send.
///
/// Returned by the extractors and guards. Its response follows the configured [`Profile`]:
/// status, `WWW-Authenticate` challenge and JSON body. It never carries the token.
///
/// ```
/// use axum::{http::StatusCode, response::IntoResponse};
/// use axum_bearer::{AuthenticatedUser, Rejection, RejectionKind};
///
/// async fn handler(user: Result<AuthenticatedUser, Rejection>) -> axum::response::Response {
///     match user {
///         Ok(user) => user.client_id().to_owned().into_response(),
///         Err(rejection) if rejection.kind() == RejectionKind::Unavailable => {
///             (StatusCode::SERVICE_UNAVAILABLE, "try again soon").into_response()
///         }
///         Err(rejection) => rejection.into_response(),
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Rejection {
    kind: RejectionKind,
    detail: &'static str,
    /// An application-supplied `error_description`, replacing the profile's text.
    description: Option<Arc<str>>,
    config: Option<Arc<Config>>,
    required: Required,
    missing: usize,
    /// The scheme whose challenge carries the error: the one the credentials came with.
    scheme: AuthScheme,
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind, detail: &'static str, config: Arc<Config>) -> Self {
        Self {
            kind,
            detail,
            description: None,
            config: Some(config),
            required: Required::None,
            missing: 0,
            scheme: AuthScheme::Bearer,
        }
    }

    pub(crate) fn missing_layer() -> Self {
        Self {
            kind: RejectionKind::MissingLayer,
            detail: MISSING_LAYER,
            description: None,
            config: None,
            required: Required::None,
            missing: 0,
            scheme: AuthScheme::Bearer,
        }
    }

    /// The 500 for a scope name no challenge can carry; the name goes to the log only.
    pub(crate) fn invalid_required_scope(config: Arc<Config>, scope: &str) -> Self {
        tracing::error!(
            scope = %scope.escape_debug(),
            "axum-bearer: a required scope is not a valid RFC 6749 scope-token; refusing with 500"
        );
        Self::new(
            RejectionKind::InvalidRequiredScope,
            "a required scope is not a valid RFC 6749 scope-token (see the server log)",
            config,
        )
    }

    /// The 403 for `required`, of which the scope at `missing` is the first one lacking.
    pub(crate) fn insufficient(config: Arc<Config>, required: Required, missing: usize) -> Self {
        Self {
            required,
            missing,
            ..Self::new(RejectionKind::InsufficientScope, "", config)
        }
    }

    /// Replaces the profile's `error_description` with `description`, for a rejection the
    /// application builds itself ([`AuthenticatedUser::insufficient_scope`],
    /// [`AuthenticatedUser::invalid_token`], [`Rejection::invalid_token_for`]).
    ///
    /// In the `WWW-Authenticate` header, characters a quoted-string cannot carry (RFC 6750 §3:
    /// `"`, `\`, controls, non-ASCII) are left out; the JSON body keeps the whole text, escaped.
    /// Never put the token, or anything secret, in it: clients see it.
    ///
    /// ```
    /// use axum_bearer::{AuthenticatedUser, Rejection};
    ///
    /// async fn publish(user: AuthenticatedUser) -> Result<&'static str, Rejection> {
    ///     if !user.has_scope("notes:publish") {
    ///         return Err(user
    ///             .insufficient_scope(["notes:write", "notes:publish"])
    ///             .with_description("Publishing needs notes:publish"));
    ///     }
    ///     Ok("published")
    /// }
    /// ```
    ///
    /// [`AuthenticatedUser::insufficient_scope`]: crate::AuthenticatedUser::insufficient_scope
    /// [`AuthenticatedUser::invalid_token`]: crate::AuthenticatedUser::invalid_token
    #[must_use]
    pub fn with_description(mut self, description: impl AsRef<str>) -> Self {
        self.description = Some(description.as_ref().into());
        self
    }

    /// The scopes the route requires, for the `scope` parameter of `Spec` challenges.
    pub(crate) fn with_required(mut self, required: Required) -> Self {
        self.required = required;
        self
    }

    /// The scheme the credentials came with, for a refusal that has an error.
    pub(crate) fn with_scheme(mut self, scheme: AuthScheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// Why the request was refused.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The scheme whose `WWW-Authenticate` challenge carries the error: [`AuthScheme::Dpop`] for
    /// a request made with `Authorization: DPoP` (a bad proof, a token not bound to the proof's
    /// key), [`AuthScheme::Bearer`] otherwise. With DPoP accepted, the response challenges with
    /// every scheme the server takes (RFC 9449 §7.1), and only this one names the error.
    pub fn scheme(&self) -> AuthScheme {
        match self
            .config
            .as_deref()
            .and_then(|config| config.possession.as_deref())
        {
            // DPoP required: its challenge is the only one.
            Some(dpop) if dpop.required() => AuthScheme::Dpop,
            _ => self.scheme,
        }
    }

    /// The status the response will have.
    pub fn status(&self) -> StatusCode {
        match (self.kind, self.profile()) {
            (RejectionKind::MalformedRequest, Profile::Spec) => StatusCode::BAD_REQUEST,
            (RejectionKind::InsufficientScope, _) => StatusCode::FORBIDDEN,
            (RejectionKind::Unavailable, _) => StatusCode::SERVICE_UNAVAILABLE,
            (RejectionKind::MissingLayer | RejectionKind::InvalidRequiredScope, _) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The first required scope the token lacks, for an [`RejectionKind::InsufficientScope`].
    pub fn missing_scope(&self) -> Option<&str> {
        match self.kind {
            RejectionKind::InsufficientScope => self.required.get(self.missing),
            _ => None,
        }
    }

    /// The profile the response follows: the one configured on the
    /// [`BearerAuth`](crate::BearerAuth) layer of the request.
    pub fn profile(&self) -> Profile {
        self.config
            .as_ref()
            .map_or(Profile::default(), |config| config.profile)
    }

    /// `error` and `error_description` as the profile writes them (the application's description
    /// when it gave one); `None` for no error code.
    fn error(&self) -> Option<(&'static str, Description<'_>)> {
        let (code, description) = self.profile_error()?;
        Some(match &self.description {
            Some(custom) => (code, Description::Text(custom)),
            None => (code, description),
        })
    }

    fn profile_error(&self) -> Option<(&'static str, Description<'_>)> {
        let profile = self.profile();
        let described = |code, text| Some((code, Description::Text(text)));
        match self.kind {
            RejectionKind::Unavailable => described(
                "temporarily_unavailable",
                "Token verification is temporarily unavailable",
            ),
            RejectionKind::MissingLayer | RejectionKind::InvalidRequiredScope => None,
            RejectionKind::InvalidDpopProof => described("invalid_dpop_proof", self.detail),
            RejectionKind::UseDpopNonce => described("use_dpop_nonce", self.detail),
            RejectionKind::InsufficientScope if self.required.get(0).is_none() => {
                described("insufficient_scope", "Insufficient scope")
            }
            RejectionKind::InsufficientScope => Some((
                "insufficient_scope",
                Description::RequiredScope(self.missing_scope().unwrap_or_default()),
            )),
            _ if profile == Profile::PythonSdk => {
                described("invalid_token", AUTHENTICATION_REQUIRED)
            }
            RejectionKind::MissingCredentials => None,
            RejectionKind::MalformedRequest => described("invalid_request", self.detail),
            _ => described("invalid_token", self.detail),
        }
    }

    fn has_challenge(&self) -> bool {
        !matches!(
            self.kind,
            RejectionKind::Unavailable
                | RejectionKind::MissingLayer
                | RejectionKind::InvalidRequiredScope
        )
    }

    fn write_challenge(&self, config: &Config, out: &mut dyn Sink) {
        self.write_scheme_challenge(config, AuthScheme::Bearer, None, out);
    }

    /// The challenge of `scheme`; the error (and in `Spec` the scopes) only when the credentials
    /// came with that scheme. `algs`: the `DPoP` challenge's algorithms.
    fn write_scheme_challenge(
        &self,
        config: &Config,
        scheme: AuthScheme,
        algs: Option<&str>,
        out: &mut dyn Sink,
    ) {
        let mut challenge = match scheme {
            AuthScheme::Dpop => Challenge::new("DPoP", out),
            AuthScheme::Bearer => Challenge::bearer(out),
        };
        let spec = config.profile == Profile::Spec;
        let errs_here = scheme == self.scheme();
        if spec && let Some(realm) = &config.realm {
            challenge.param("realm", realm, is_text_char);
        }
        if errs_here && let Some((error, description)) = self.error() {
            challenge.param("error", error, is_text_char);
            challenge.param_from("error_description", &description.parts(), is_text_char);
        }
        // The scopes go where the error is, and on every challenge of a request without
        // credentials: whichever scheme the client picks, it asks for them.
        if (errs_here || self.kind == RejectionKind::MissingCredentials)
            && spec
            && self.kind != RejectionKind::MalformedRequest
        {
            challenge.scope(self.required.iter());
        }
        if let Some(algs) = algs {
            // RFC 9449 §7.1: space-separated JWS algorithm names, checked when configured.
            challenge.param("algs", algs, is_text_char);
        }
        if let Some(url) = &config.resource_metadata {
            challenge.param("resource_metadata", url, is_scope_char);
        }
        if challenge.is_bare() {
            // RFC 6750 §3: the scheme MUST be followed by one or more auth-params.
            challenge.param("realm", "api", is_text_char);
        }
    }

    /// The challenges of a server that accepts DPoP (RFC 9449 §7.1): `Bearer` unless DPoP is
    /// required, then `DPoP`, each its own header line.
    fn dpop_challenges(&self, config: &Config, dpop: &dyn Possession) -> [Option<HeaderValue>; 2] {
        let header = |scheme, algs| {
            into_header(write_exact(|out| {
                self.write_scheme_challenge(config, scheme, algs, out);
            }))
        };
        [
            (!dpop.required()).then(|| header(AuthScheme::Bearer, None)),
            Some(header(AuthScheme::Dpop, Some(dpop.algs()))),
        ]
    }

    fn write_body(&self, out: &mut dyn Sink) {
        match (self.profile(), self.error()) {
            (Profile::PythonSdk, Some((error, description))) => {
                python_json_body(out, error, &description.parts());
            }
            (_, Some((error, description))) => {
                compact_json_body(out, Some(error), &description.parts());
            }
            (_, None) => compact_json_body(
                out,
                None,
                &[self
                    .description
                    .as_deref()
                    .unwrap_or(AUTHENTICATION_REQUIRED)],
            ),
        }
    }

    /// The `PythonSdk` 401: the same for every kind, so built once per configuration.
    fn is_python_unauthorized(&self) -> bool {
        self.profile() == Profile::PythonSdk
            && self.status() == StatusCode::UNAUTHORIZED
            && self.description.is_none()
    }
}

const AUTHENTICATION_REQUIRED: &str = "Authentication required";

const MISSING_LAYER: &str = "no BearerAuth configuration reached this route's guard: the \
    BearerAuth layer is missing, or misordered. With axum, each `.layer()` wraps what was added \
    before it, so BearerAuth must be added after (outside) the guards: add `RequireScopesLayer` \
    with `route_layer`, or before `.layer(BearerAuth)`";

/// An `error_description`, written straight into the header or body.
enum Description<'a> {
    Text(&'a str),
    RequiredScope(&'a str),
}

impl<'a> Description<'a> {
    fn parts(&self) -> [&'a str; 2] {
        match *self {
            Self::Text(text) => [text, ""],
            Self::RequiredScope(scope) => ["Required scope: ", scope],
        }
    }
}

/// The `PythonSdk` 401 for `config`, built once when the configuration is (the same for every
/// kind of refusal in that profile).
pub(crate) fn prebuild(config: &Config) -> Prebuilt {
    // With DPoP accepted, the challenges depend on the scheme of the credentials.
    let python_unauthorized = (config.profile == Profile::PythonSdk && config.possession.is_none())
        .then(|| {
            // The rejection as a request would build it, so the profile is the configured one.
            let rejection =
                Rejection::new(RejectionKind::InvalidToken, "", Arc::new(config.clone()));
            (
                into_header(write_exact(|out| rejection.write_challenge(config, out))),
                Bytes::from(write_exact(|out| rejection.write_body(out))),
            )
        });
    Prebuilt {
        python_unauthorized,
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let config = match self.config.as_deref() {
            Some(config) if self.kind != RejectionKind::InvalidRequiredScope => config,
            _ => {
                if self.kind == RejectionKind::MissingLayer {
                    tracing::error!("axum-bearer: {}", self.detail);
                }
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("axum-bearer: {}", self.detail),
                )
                    .into_response();
            }
        };
        let (challenges, body) = match (&config.prebuilt.python_unauthorized, &config.possession) {
            (Some((challenge, body)), _) if self.is_python_unauthorized() => {
                ([Some(challenge.clone()), None], body.clone())
            }
            (_, possession) => (
                match possession {
                    _ if !self.has_challenge() => [None, None],
                    Some(dpop) => self.dpop_challenges(config, dpop.as_ref()),
                    None => [
                        Some(into_header(write_exact(|out| {
                            self.write_challenge(config, out);
                        }))),
                        None,
                    ],
                },
                Bytes::from(write_exact(|out| self.write_body(out))),
            ),
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for challenge in challenges.into_iter().flatten() {
            headers.append(WWW_AUTHENTICATE, challenge);
        }
        if self.kind == RejectionKind::UseDpopNonce
            && let Some(nonce) = config
                .possession
                .as_ref()
                .and_then(|dpop| dpop.fresh_nonce())
        {
            headers.insert(DPOP_NONCE, nonce);
        }
        response
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("kind", &self.kind)
            .field("status", &self.status())
            .field("missing_scope", &self.missing_scope())
            .finish()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, self.missing_scope()) {
            (RejectionKind::InsufficientScope, Some(scope)) => {
                write!(
                    f,
                    "bearer authorization refused: required scope {scope:?} missing"
                )
            }
            (RejectionKind::MissingLayer | RejectionKind::InvalidRequiredScope, _) => {
                write!(f, "axum-bearer: {}", self.detail)
            }
            (kind, _) => write!(f, "bearer authentication refused: {kind:?}"),
        }
    }
}

impl std::error::Error for Rejection {}
