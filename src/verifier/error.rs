use std::borrow::Cow;

/// Why a [`TokenVerifier`](crate::TokenVerifier) did not accept a token.
///
/// The reason is for logs only: clients get the fixed text of the configured
/// [`Profile`](crate::Profile), never this message. Never put the token itself in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The token is not valid: unknown, revoked, bad signature, wrong issuer or audience… → 401.
    #[error("invalid token: {0}")]
    Invalid(Cow<'static, str>),
    /// The token was valid but has expired → 401 (`Profile::Spec` says so in `error_description`).
    #[error("token expired")]
    Expired,
    /// The verifier could not decide: its back end (JWKS, introspection endpoint…) failed → 503.
    #[error("token verification unavailable: {0}")]
    Unavailable(Cow<'static, str>),
}

impl VerifyError {
    /// [`VerifyError::Invalid`] with a reason for logs.
    pub fn invalid(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Invalid(reason.into())
    }

    /// [`VerifyError::Unavailable`] with a reason for logs.
    pub fn unavailable(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Unavailable(reason.into())
    }
}
