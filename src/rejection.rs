//! [`Rejection`]: the only place that writes the crate's 400/401/403/503 responses.

use std::{fmt, sync::Arc};

use axum_core::{
    body::Body,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use http::{
    HeaderValue, StatusCode,
    header::{CONTENT_TYPE, WWW_AUTHENTICATE},
};

use crate::{
    Profile,
    challenge::{
        Challenge, Sink, compact_json_body, into_header, is_text_char, python_json_body,
        write_exact,
    },
    config::{Config, Prebuilt},
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
            RejectionKind::Unavailable | RejectionKind::MissingLayer
        )
    }

    fn write_challenge(&self, config: &Config, out: &mut dyn Sink) {
        let mut challenge = Challenge::bearer(out);
        let spec = config.profile == Profile::Spec;
        if spec && let Some(realm) = &config.realm {
            challenge.param("realm", realm, is_text_char);
        }
        if let Some((error, description)) = self.error() {
            challenge.param("error", error, is_text_char);
            challenge.param_from("error_description", &description.parts(), is_text_char);
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
    }

    fn write_body(&self, out: &mut dyn Sink) {
        match (self.profile(), self.error()) {
            (Profile::PythonSdk, Some((error, description))) => {
                python_json_body(out, error, &description.parts());
            }
            (_, Some((error, description))) => {
                compact_json_body(out, Some(error), &description.parts());
            }
            (_, None) => compact_json_body(out, None, &[AUTHENTICATION_REQUIRED]),
        }
    }

    /// The `PythonSdk` 401: the same for every kind, so built once per configuration.
    fn is_python_unauthorized(&self) -> bool {
        self.profile() == Profile::PythonSdk && self.status() == StatusCode::UNAUTHORIZED
    }
}

const AUTHENTICATION_REQUIRED: &str = "Authentication required";

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
    let python_unauthorized = (config.profile == Profile::PythonSdk).then(|| {
        // The rejection as a request would build it, so the profile is the configured one.
        let rejection = Rejection::new(RejectionKind::InvalidToken, "", Arc::new(config.clone()));
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
        let Some(config) = self.config.as_deref() else {
            tracing::error!("axum-bearer: {}", self.detail);
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "axum-bearer: the BearerAuth layer is missing from this route",
            )
                .into_response();
        };
        let (challenge, body) = match &config.prebuilt.python_unauthorized {
            Some((challenge, body)) if self.is_python_unauthorized() => {
                (Some(challenge.clone()), body.clone())
            }
            _ => (
                self.has_challenge()
                    .then(|| into_header(write_exact(|out| self.write_challenge(config, out)))),
                Bytes::from(write_exact(|out| self.write_body(out))),
            ),
        };
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(challenge) = challenge {
            headers.insert(WWW_AUTHENTICATE, challenge);
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
