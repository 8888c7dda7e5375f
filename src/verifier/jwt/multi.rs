//! [`MultiIssuerVerifier`]: several authorization servers, each with its own keys and rules.

use std::{collections::HashMap, fmt, future::Future, sync::Arc};

use serde::Deserialize;

use super::{Jws, JwtVerifier};
use crate::{AccessToken, ConfigError, TokenVerifier, VerifyError};

/// Routes each token to the [`JwtVerifier`] of the issuer its (unverified) `iss` names, which then
/// verifies it fully with that issuer's keys and rules. A token from any other issuer is invalid.
///
/// ```
/// use axum_bearer::{JwtVerifier, MultiIssuerVerifier};
///
/// # fn main() -> Result<(), axum_bearer::ConfigError> {
/// let staff = JwtVerifier::builder()
///     .issuer("https://staff.example")
///     .audience("https://api.example/mcp")
///     .hmac_secret("k1", &[7; 32])?
///     .build()?;
/// let partners = JwtVerifier::builder()
///     .issuer("https://partners.example")
///     .audience("https://api.example/mcp")
///     .hmac_secret("k1", &[9; 32])?
///     .build()?;
/// let verifier = MultiIssuerVerifier::new([staff, partners])?;
/// # let _ = verifier;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MultiIssuerVerifier {
    by_issuer: HashMap<String, JwtVerifier>,
    /// The largest claims bound of the verifiers, enforced before the unverified `iss` is read.
    max_claims_size: usize,
}

impl MultiIssuerVerifier {
    /// One verifier per issuer; each must have an [`issuer`](super::JwtVerifierBuilder::issuer),
    /// and no issuer may appear twice.
    pub fn new(verifiers: impl IntoIterator<Item = JwtVerifier>) -> Result<Self, ConfigError> {
        let mut by_issuer = HashMap::new();
        for verifier in verifiers {
            let issuer = verifier
                .issuer()
                .ok_or(ConfigError::MissingIssuer)?
                .to_owned();
            if by_issuer.insert(issuer.clone(), verifier).is_some() {
                return Err(ConfigError::DuplicateIssuer(issuer));
            }
        }
        if by_issuer.is_empty() {
            return Err(ConfigError::NoKeys);
        }
        let max_claims_size = by_issuer
            .values()
            .map(JwtVerifier::max_claims_size)
            .max()
            .unwrap_or_default();
        Ok(Self {
            by_issuer,
            max_claims_size,
        })
    }

    /// The verifier of the issuer the token's (unverified) `iss` names.
    fn pick(&self, token: &str) -> Result<&JwtVerifier, VerifyError> {
        #[derive(Deserialize)]
        struct Issuer {
            iss: Option<String>,
        }
        // The chosen verifier applies its own bounds; these keep the parse below cheap.
        let json = Jws::split(token)?.claims_json(self.max_claims_size)?;
        // Only to pick the verifier: that verifier then checks the signature and `iss` itself.
        let claims: Issuer = serde_json::from_slice(&json)
            .map_err(|_| VerifyError::invalid("JWT claims are not a JSON object"))?;
        claims
            .iss
            .as_deref()
            .and_then(|iss| self.by_issuer.get(iss))
            .ok_or_else(|| VerifyError::invalid("JWT iss is not a configured issuer"))
    }

    async fn route(&self, token: &str) -> Result<AccessToken, VerifyError> {
        self.pick(token)?.verify(token).await
    }

    /// Warms every issuer up, one after the other in issuer order; `Unavailable` naming each
    /// issuer that failed and why.
    async fn warm_up_all(&self) -> Result<(), VerifyError> {
        let mut issuers: Vec<_> = self.by_issuer.iter().collect();
        issuers.sort_unstable_by_key(|(issuer, _)| issuer.as_str());
        let mut failures = Vec::new();
        for (issuer, verifier) in issuers {
            match verifier.warm_up().await {
                Ok(()) => {}
                Err(VerifyError::Unavailable(reason)) => {
                    failures.push(format!("issuer {issuer}: {reason}"));
                }
                Err(error) => failures.push(format!("issuer {issuer}: {error}")),
            }
        }
        match failures.is_empty() {
            true => Ok(()),
            false => Err(VerifyError::unavailable(failures.join("; "))),
        }
    }
}

impl TokenVerifier for MultiIssuerVerifier {
    fn verify(&self, token: &str) -> impl Future<Output = Result<AccessToken, VerifyError>> + Send {
        self.route(token)
    }

    fn verify_ready(&self, token: &str) -> Option<Result<Arc<AccessToken>, VerifyError>> {
        match self.pick(token) {
            Ok(verifier) => verifier.verify_ready(token),
            Err(error) => Some(Err(error)),
        }
    }

    /// Warms up every issuer's verifier (see [`JwtVerifier`'s](JwtVerifier#method.warm_up));
    /// fails if any fails, naming each issuer that did.
    fn warm_up(&self) -> impl Future<Output = Result<(), VerifyError>> + Send {
        self.warm_up_all()
    }
}

impl fmt::Debug for MultiIssuerVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiIssuerVerifier")
            .field("issuers", &self.by_issuer.keys().collect::<Vec<_>>())
            .finish()
    }
}
