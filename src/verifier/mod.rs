//! Token verifiers: the trait the layer calls, its error, and the verifiers that ship with the crate.

#[cfg(feature = "cache")]
mod cache;
#[cfg(feature = "introspection")]
mod duplicates;
mod error;
mod func;
#[cfg(feature = "introspection")]
mod introspection;
#[cfg(feature = "jwks")]
pub(crate) mod jwks;
#[cfg(feature = "jwt")]
pub(crate) mod jwt;
#[cfg(feature = "jwt")]
pub(crate) mod keys;
#[cfg(any(feature = "jwt", feature = "introspection"))]
mod members;
mod static_tokens;

use std::{future::Future, pin::Pin, sync::Arc};

#[cfg(feature = "cache")]
pub use cache::{
    CachedVerifier, CachedVerifierBuilder, DEFAULT_CACHE_MAX_ENTRIES, DEFAULT_CACHE_TTL,
};
pub use error::VerifyError;
pub use func::{FnVerifier, verifier_fn};
#[cfg(feature = "introspection")]
pub use introspection::{
    DEFAULT_INTROSPECTION_TIMEOUT, IntrospectionVerifier, IntrospectionVerifierBuilder,
};
#[cfg(feature = "jwt")]
pub use jwt::{
    DEFAULT_MAX_JWT_CLAIMS_SIZE, JwtAlgorithm, JwtVerifier, JwtVerifierBuilder,
    MAX_JWT_CLAIMS_DEPTH, MultiIssuerVerifier, jsonwebtoken,
};
pub use static_tokens::StaticVerifier;

use crate::AccessToken;

/// Turns a bearer token into an [`AccessToken`], or says why it cannot.
///
/// This is the MCP Python SDK's `TokenVerifier.verify_token`, with a reason on failure:
/// [`VerifyError::Invalid`] and [`VerifyError::Expired`] answer 401, [`VerifyError::Unavailable`]
/// answers 503 (so a client keeps a good token while the back end is down).
///
/// A verifier checks what it knows about: signature, issuer, audience, expiry with its own clock-skew
/// allowance. The layer re-checks `expires_at` and, when configured, `resource`, so it never accepts
/// what a verifier refused.
///
/// ```
/// use axum_bearer::{AccessToken, TokenVerifier, VerifyError};
///
/// struct Database;
///
/// impl TokenVerifier for Database {
///     async fn verify(&self, token: &str) -> Result<AccessToken, VerifyError> {
///         match token {
///             "alice-token" => Ok(AccessToken::new(token, "notes-app", ["notes:read"]).with_subject("alice")),
///             _ => Err(VerifyError::invalid("unknown token")),
///         }
///     }
/// }
/// ```
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token` (the credentials of an `Authorization: Bearer` header).
    fn verify(&self, token: &str) -> impl Future<Output = Result<AccessToken, VerifyError>> + Send;

    /// [`verify`](Self::verify), returning a shared token. The layer calls this one.
    ///
    /// Override it when the verifier already holds tokens in an `Arc` (a cache, a static table):
    /// a hit is then an `Arc` clone instead of a copy of every field.
    fn verify_shared(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Arc<AccessToken>, VerifyError>> + Send {
        let verified = self.verify(token);
        async move { verified.await.map(Arc::new) }
    }

    /// The answer for `token` if this verifier has it at hand, without waiting: a table lookup,
    /// a cache hit. `None` (the default) means "ask [`verify_shared`](Self::verify_shared)".
    ///
    /// The layer asks this first, which saves boxing a future on every request. When it returns
    /// `Some`, the answer must be the one `verify_shared` would give.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_bearer::{AccessToken, TokenVerifier, VerifyError};
    ///
    /// struct Fixed(Arc<AccessToken>);
    ///
    /// impl TokenVerifier for Fixed {
    ///     async fn verify(&self, token: &str) -> Result<AccessToken, VerifyError> {
    ///         self.verify_ready(token)
    ///             .unwrap_or(Err(VerifyError::invalid("unknown token")))
    ///             .map(Arc::unwrap_or_clone)
    ///     }
    ///
    ///     fn verify_ready(&self, token: &str) -> Option<Result<Arc<AccessToken>, VerifyError>> {
    ///         Some(match token == self.0.token {
    ///             true => Ok(self.0.clone()),
    ///             false => Err(VerifyError::invalid("unknown token")),
    ///         })
    ///     }
    /// }
    /// ```
    fn verify_ready(&self, token: &str) -> Option<Result<Arc<AccessToken>, VerifyError>> {
        let _ = token;
        None
    }

    /// Gets ready to serve before the first request: loads remote keys, runs discovery, or checks
    /// that a remote endpoint answers and accepts this server's credentials.
    ///
    /// Await it at start-up so a wrong issuer, JWKS URL or client secret is an error before the
    /// server listens, not a 503 on every request. The default does nothing: verifiers that hold
    /// everything they need (static tables, fixed keys) are always ready.
    ///
    /// ```
    /// # async fn start() -> Result<(), axum_bearer::VerifyError> {
    /// use axum_bearer::{AccessToken, StaticVerifier, TokenVerifier};
    ///
    /// let verifier = StaticVerifier::new([AccessToken::new("dev-token", "dev-client", ["notes:read"])]);
    /// verifier.warm_up().await?; // fails fast on a misconfigured remote verifier
    /// # Ok(()) }
    /// ```
    fn warm_up(&self) -> impl Future<Output = Result<(), VerifyError>> + Send {
        std::future::ready(Ok(()))
    }
}

impl<V: TokenVerifier> TokenVerifier for Arc<V> {
    fn verify(&self, token: &str) -> impl Future<Output = Result<AccessToken, VerifyError>> + Send {
        (**self).verify(token)
    }

    fn verify_shared(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Arc<AccessToken>, VerifyError>> + Send {
        (**self).verify_shared(token)
    }

    fn verify_ready(&self, token: &str) -> Option<Result<Arc<AccessToken>, VerifyError>> {
        (**self).verify_ready(token)
    }

    fn warm_up(&self) -> impl Future<Output = Result<(), VerifyError>> + Send {
        (**self).warm_up()
    }
}

/// The boxed future a type-erased verifier returns.
pub(crate) type VerifyFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Arc<AccessToken>, VerifyError>> + Send + 'a>>;

/// Object-safe form of [`TokenVerifier`], so the layer can hold any verifier as `Arc<dyn …>`.
pub(crate) trait DynVerifier: Send + Sync + 'static {
    fn verify_boxed<'a>(&'a self, token: &'a str) -> VerifyFuture<'a>;

    fn verify_ready(&self, token: &str) -> Option<Result<Arc<AccessToken>, VerifyError>>;
}

impl<V: TokenVerifier> DynVerifier for V {
    fn verify_boxed<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(self.verify_shared(token))
    }

    fn verify_ready(&self, token: &str) -> Option<Result<Arc<AccessToken>, VerifyError>> {
        TokenVerifier::verify_ready(self, token)
    }
}
