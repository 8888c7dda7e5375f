use std::{collections::HashMap, fmt, future::Future, sync::Arc};

use foldhash::fast::RandomState;

use super::{TokenVerifier, VerifyError};
use crate::{AccessToken, clock};

/// A fixed set of tokens, for development and tests.
///
/// Tokens are looked up exactly; an `expires_at` in the past (`now >= expires_at`, no leeway)
/// is refused with [`VerifyError::Expired`].
///
/// ```
/// use axum_bearer::{AccessToken, StaticVerifier};
///
/// let verifier = StaticVerifier::new([
///     AccessToken::new("dev-token", "dev-client", ["notes:read"]),
///     AccessToken::new("admin-token", "dev-admin", ["notes:read", "notes:write"]),
/// ]);
/// assert_eq!(verifier.len(), 2);
/// ```
#[derive(Clone, Default)]
pub struct StaticVerifier {
    tokens: HashMap<String, Arc<AccessToken>, RandomState>,
}

impl StaticVerifier {
    /// A verifier that accepts exactly `tokens` (keyed by [`AccessToken::token`]).
    pub fn new(tokens: impl IntoIterator<Item = AccessToken>) -> Self {
        Self {
            tokens: tokens
                .into_iter()
                .map(|token| (token.token.clone(), Arc::new(token)))
                .collect(),
        }
    }

    /// Adds a token.
    #[must_use]
    pub fn with_token(mut self, token: AccessToken) -> Self {
        self.tokens.insert(token.token.clone(), Arc::new(token));
        self
    }

    /// How many tokens it knows.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether it knows no token.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    fn lookup(&self, token: &str) -> Result<Arc<AccessToken>, VerifyError> {
        let found = self
            .tokens
            .get(token)
            .ok_or_else(|| VerifyError::invalid("unknown static token"))?;
        match found.expires_at {
            Some(exp) if clock::unix_now() >= exp => Err(VerifyError::Expired),
            _ => Ok(found.clone()),
        }
    }
}

impl TokenVerifier for StaticVerifier {
    fn verify(&self, token: &str) -> impl Future<Output = Result<AccessToken, VerifyError>> + Send {
        std::future::ready(self.lookup(token).map(Arc::unwrap_or_clone))
    }

    fn verify_shared(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Arc<AccessToken>, VerifyError>> + Send {
        std::future::ready(self.lookup(token))
    }

    fn verify_ready(&self, token: &str) -> Option<Result<Arc<AccessToken>, VerifyError>> {
        Some(self.lookup(token))
    }
}

impl fmt::Debug for StaticVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keys are the secrets: show only what they unlock.
        f.debug_struct("StaticVerifier")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}
