//! Test kit (feature `testing`): a loopback authorization server and a token minter.
//!
//! [`TestIssuer`] is a real OAuth 2.0 authorization server on `127.0.0.1`, small enough to start
//! in every test: it publishes a JWK Set, RFC 8414 and OpenID Connect discovery documents, signs
//! RFC 9068 access tokens, introspects opaque tokens (RFC 7662), rotates and retires keys, and
//! fails on request. Point the JWT verifier at it (its issuer URL, or its `jwks_url()`), or the
//! introspection verifier at its `introspection_url()`, and exercise your protected routes end to
//! end, with no mocks.
//!
//! **The keys are public.** They are embedded in this crate (`src/testing/keys/`), so anyone can
//! sign with them: never configure a verifier outside tests to trust this issuer or its keys.
//!
//! # A test, step by step
//!
//! ```
//! use axum_bearer::testing::{Endpoint, Fault, TestIssuer};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // 1. Start an issuer (RS256, free port). `TestIssuer::builder()` picks another
//!     //    algorithm (ES256, EdDSA, …) or an issuer URL with a path.
//!     let issuer = TestIssuer::start().await?;
//!
//!     // 2. Mint a token: `claims_for` is a valid RFC 9068 claim set; change what the test is
//!     //    about before minting (the claims are signed exactly as given).
//!     let mut claims = issuer.claims_for("https://api.example/mcp");
//!     claims["scope"] = "notes:read notes:write".into();
//!     let token = issuer.mint(claims);
//!
//!     // 3. The server under test would now fetch the keys; here we do it by hand.
//!     let client = reqwest::Client::new();
//!     let jwks: jsonwebtoken::jwk::JwkSet =
//!         serde_json::from_slice(&client.get(issuer.jwks_url()).send().await?.bytes().await?)?;
//!     let kid = jsonwebtoken::decode_header(&token)?.kid.unwrap_or_default();
//!     let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).ok_or("unknown kid")?)?;
//!     let mut validation = jsonwebtoken::Validation::new(issuer.algorithm());
//!     validation.set_issuer(&[issuer.issuer()]);
//!     validation.set_audience(&["https://api.example/mcp"]);
//!     jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation)?;
//!     assert_eq!(issuer.requests(Endpoint::Jwks), 1);
//!
//!     // 4. Rotate: the new key signs, the old one stays published until retired.
//!     let old = issuer.current_kid();
//!     let new = issuer.rotate();
//!     assert_ne!(old, new);
//!     issuer.retire(&old);
//!
//!     // 5. Break it: every endpoint answers 500 until the fault is cleared.
//!     issuer.set_fault(Fault::Status(500));
//!     let status = client.get(issuer.jwks_url()).send().await?.status();
//!     assert_eq!(status, 500);
//!     issuer.set_fault(Fault::None);
//!     Ok(())
//! }
//! ```
//!
//! The server runs on the Tokio runtime that started it and stops once the last [`TestIssuer`]
//! handle is dropped. See [`TestIssuer`] for the endpoints and [`Fault`] for the failure modes.

mod fault;
mod introspection;
mod issuer;
mod keys;
mod server;

pub use fault::{Endpoint, Fault};
pub use introspection::IntrospectionRequest;
pub use issuer::{TestIssuer, TestIssuerBuilder};
#[cfg(feature = "dpop")]
mod dpop;
#[cfg(feature = "dpop")]
pub use dpop::{DpopProver, ProofBuilder};
