use std::{fmt, future::Future};

use super::{TokenVerifier, VerifyError};
use crate::AccessToken;

/// A [`TokenVerifier`] made from an async closure; see [`verifier_fn`].
#[derive(Clone)]
pub struct FnVerifier<F> {
    f: F,
}

/// Makes an async closure a [`TokenVerifier`]. The closure gets the token as an owned `String`.
///
/// ```
/// use axum_bearer::{AccessToken, BearerAuth, VerifyError, verifier_fn};
///
/// let auth = BearerAuth::new(verifier_fn(|token: String| async move {
///     if token == "let-me-in" {
///         Ok(AccessToken::new(token, "dev", ["notes:read"]))
///     } else {
///         Err(VerifyError::invalid("unknown token"))
///     }
/// }));
/// # let _ = auth;
/// ```
pub fn verifier_fn<F, Fut>(f: F) -> FnVerifier<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AccessToken, VerifyError>> + Send + 'static,
{
    FnVerifier { f }
}

impl<F, Fut> TokenVerifier for FnVerifier<F>
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AccessToken, VerifyError>> + Send + 'static,
{
    fn verify(&self, token: &str) -> impl Future<Output = Result<AccessToken, VerifyError>> + Send {
        (self.f)(token.to_owned())
    }
}

impl<F> fmt::Debug for FnVerifier<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnVerifier").finish_non_exhaustive()
    }
}
