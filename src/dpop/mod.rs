//! DPoP (RFC 9449): proofs of possession checked on every request (feature `dpop`).
//!
//! On a server, [`Dpop`] is all there is to configure: [`BearerAuth::dpop`](crate::BearerAuth::dpop)
//! takes it, and the layer then checks the proof of every `Authorization: DPoP` request, binds
//! the token to the proof's key, refuses bound tokens sent as `Bearer` and answers with the
//! `DPoP` challenges (see [`Dpop`] for an example). The pieces below it serve other uses too.
//!
//! A DPoP-bound access token is only usable by the client holding the private key it is bound
//! to: with each request the client sends a *proof*, a JWT signed with that key over the
//! request's method and URI (and the token's hash), in a `DPoP` header. [`DpopVerifier`] checks
//! one proof for one request, every check of RFC 9449 §4.3 in order, then records its `jti` in a
//! [`ReplayStore`] so it cannot be used twice. What it returns, [`DpopProof`], carries the
//! key's RFC 7638 thumbprint (`jkt`), which a bound token's `cnf.jkt` must equal.
//! [`DpopNonces`] issues and checks server nonces (RFC 9449 §8/§9) that need no server state.
//!
//! ```
//! use axum_bearer::dpop::{DpopRequest, DpopVerifier};
//! use http::{HeaderValue, Method};
//!
//! # async fn demo(proof: HeaderValue) {
//! let verifier = DpopVerifier::builder().build().expect("valid settings");
//! let request = DpopRequest::new(&Method::POST, "https://api.example/mcp").access_token("tok");
//! match verifier.verify([&proof], &request).await {
//!     Ok(proof) => println!("key {}", proof.jkt),
//!     Err(error) => println!("{} {:?}: {error}", error.status(), error.error_code()),
//! }
//! # }
//! ```

mod error;
mod htu;
mod layer;
mod nonce;
mod proof;
mod replay;

pub use error::{DpopError, DpopErrorCode};
pub use htu::normalise_htu;
pub use layer::{Dpop, DpopMode};
pub use nonce::{
    DEFAULT_NONCE_ROTATION, DEFAULT_NONCE_VALIDITY, DpopNonces, DpopNoncesBuilder,
    MIN_NONCE_SECRET_LEN, NonceConfigError, NonceError,
};
pub use proof::{
    CheckedProof, DEFAULT_DPOP_ALGORITHMS, DEFAULT_IAT_WINDOW, DEFAULT_MAX_JTI_LEN,
    DEFAULT_MAX_PROOF_SIZE, DpopConfigError, DpopProof, DpopRequest, DpopVerifier,
    DpopVerifierBuilder, NonceCheck, access_token_hash, jwk_thumbprint,
};
pub use replay::{DEFAULT_REPLAY_MAX_ENTRIES, InMemoryReplayStore, ReplayStore, ReplayStoreError};
