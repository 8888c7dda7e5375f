//! [`Rejection`]: the only place that writes the crate's 400/401/403/503 responses.

use std::{fmt, sync::Arc};

use axum_core::response::{IntoResponse, Response};
use http::{
    HeaderValue, StatusCode,
    header::{CONTENT_TYPE, WWW_AUTHENTICATE},
};

use crate::{
    Profile,
    auth::Config,
    challenge::{Challenge, is_text_char, python_json_body},
    scopes::{Required, is_scope_char},
};

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
    /// No [`BearerAuth`](crate::BearerAuth) layer wraps the route: a server bug → 500.
    MissingLayer,
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
    config: Option<Arc<Config>>,
    required: Required,
    missing: usize,
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind, detail: &'static str, config: Arc<Config>) -> Self {
        Self {
            kind,
            detail,
            config: Some(config),
            required: Required::None,
            missing: 0,
        }
    }

    pub(crate) fn missing_layer() -> Self {
        Self {
            kind: RejectionKind::MissingLayer,
            detail: "the BearerAuth layer is missing from this route",
            config: None,
            required: Required::None,
            missing: 0,
        }
    }

    /// The 403 for `required`, of which the scope at `missing` is the first one lacking.
    pub(crate) fn insufficient_scope(
        config: Arc<Config>,
        required: Required,
        missing: usize,
    ) -> Self {
        Self {
            kind: RejectionKind::InsufficientScope,
            detail: "",
            config: Some(config),
            required,
            missing,
        }
    }

    /// The scopes the route requires, for the `scope` parameter of `Spec` challenges.
    pub(crate) fn with_required(mut self, required: Required) -> Self {
        self.required = required;
        self
    }

    /// Why the request was refused.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The status the response will have.
    pub fn status(&self) -> StatusCode {
        match (self.kind, self.profile()) {
            (RejectionKind::MalformedRequest, Profile::Spec) => StatusCode::BAD_REQUEST,
            (RejectionKind::InsufficientScope, _) => StatusCode::FORBIDDEN,
            (RejectionKind::Unavailable, _) => StatusCode::SERVICE_UNAVAILABLE,
            (RejectionKind::MissingLayer, _) => StatusCode::INTERNAL_SERVER_ERROR,
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

    fn profile(&self) -> Profile {
        self.config
            .as_ref()
            .map_or(Profile::default(), |config| config.profile)
    }

    /// `error` and `error_description` as the profile writes them; `None` for no error code.
    fn error(&self) -> Option<(&'static str, Description<'_>)> {
        let profile = self.profile();
        let described = |code, text| Some((code, Description::Text(text)));
        match self.kind {
            RejectionKind::Unavailable => described(
                "temporarily_unavailable",
                "Token verification is temporarily unavailable",
            ),
            RejectionKind::MissingLayer => None,
            RejectionKind::InsufficientScope => Some((
                "insufficient_scope",
                Description::RequiredScope(self.missing_scope().unwrap_or_default()),
            )),
            _ if profile == Profile::PythonSdk => {
                described("invalid_token", "Authentication required")
            }
            RejectionKind::MissingCredentials => None,
            RejectionKind::MalformedRequest => described("invalid_request", self.detail),
            _ => described("invalid_token", self.detail),
        }
    }

    fn challenge(&self, config: &Config) -> Option<HeaderValue> {
        let has_challenge = !matches!(
            self.kind,
            RejectionKind::Unavailable | RejectionKind::MissingLayer
        );
        if !has_challenge {
            return None;
        }
        let mut challenge = Challenge::bearer();
        let spec = config.profile == Profile::Spec;
        if spec && let Some(realm) = &config.realm {
            challenge.param("realm", realm, is_text_char);
        }
        if let Some((error, description)) = self.error() {
            challenge.param("error", error, is_text_char);
            challenge.param("error_description", &description.to_string(), is_text_char);
        }
        if spec && self.kind != RejectionKind::MalformedRequest {
            challenge.scope(self.required.iter());
        }
        if let Some(url) = &config.resource_metadata {
            challenge.param("resource_metadata", url, is_scope_char);
        }
        if challenge.is_bare() {
            // RFC 6750 §3: the scheme MUST be followed by one or more auth-params.
            challenge.param("realm", "api", is_text_char);
        }
        Some(challenge.into_header())
    }

    fn body(&self) -> String {
        let error = self.error();
        match (self.profile(), error) {
            (Profile::PythonSdk, Some((error, description))) => {
                python_json_body(error, &description.to_string())
            }
            (_, Some((error, description))) => serde_json::json!({
                "error": error,
                "error_description": description.to_string(),
            })
            .to_string(),
            (_, None) => {
                serde_json::json!({ "error_description": "Authentication required" }).to_string()
            }
        }
    }
}

/// An `error_description`, written straight into the header or body.
enum Description<'a> {
    Text(&'a str),
    RequiredScope(&'a str),
}

impl fmt::Display for Description<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => f.write_str(text),
            Self::RequiredScope(scope) => write!(f, "Required scope: {scope}"),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let Some(config) = self.config.as_deref() else {
            tracing::error!("axum-bearer: {}", self.detail);
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "axum-bearer: the BearerAuth layer is missing from this route",
            )
                .into_response();
        };
        let challenge = self.challenge(config);
        let mut response = (
            self.status(),
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            self.body(),
        )
            .into_response();
        if let Some(challenge) = challenge {
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
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
            (RejectionKind::MissingLayer, _) => write!(f, "axum-bearer: {}", self.detail),
            (kind, _) => write!(f, "bearer authentication refused: {kind:?}"),
        }
    }
}

impl std::error::Error for Rejection {}
