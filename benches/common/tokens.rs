//! The tokens and keys every benchmark uses: `benches/auth.rs` (axum-bearer) and
//! `benches/peers` (the peer crates) verify exactly these strings with exactly these keys.
//!
//! Four JWT access tokens (RFC 9068 shape), one per algorithm, signed with the public test keys of
//! `src/testing/keys` (never trust those keys anywhere real). The claims are the same in all four:
//!
//! ```json
//! {"aud": "https://api.example.com/mcp", "client_id": "bench-client", "exp": 4102444800,
//!  "iat": 1767225600, "iss": "https://auth.example.com", "jti": "bench-0001",
//!  "scope": "notes:read notes:write", "sub": "user-123"}
//! ```
//!
//! with the header `{"typ": "at+jwt", "alg": …, "kid": "bench-<alg>"}`. `exp` is 2100-01-01, so the
//! tokens stay valid. They were signed once with `jsonwebtoken` 12 (`EncodingKey::from_secret` /
//! `from_rsa_pem` / `from_ec_pem` / `from_ed_pem` on the private keys named below, then `encode`);
//! to change the claims, sign new ones the same way and replace the constants.
#![allow(dead_code)]

/// `iss` of every token.
pub const ISSUER: &str = "https://auth.example.com";
/// `aud` of every token: the protected resource.
pub const AUDIENCE: &str = "https://api.example.com/mcp";
/// `client_id` of every token.
pub const CLIENT_ID: &str = "bench-client";
/// `sub` of every token.
pub const SUBJECT: &str = "user-123";
/// `exp` of every token (2100-01-01T00:00:00Z).
pub const EXPIRES_AT: i64 = 4_102_444_800;
/// The RFC 9728 metadata URL the `BearerAuth` layer advertises in challenges.
pub const RESOURCE_METADATA: &str =
    "https://api.example.com/.well-known/oauth-protected-resource/mcp";
/// The bearer token `StaticVerifier` knows (scopes `notes:read notes:write`).
pub const STATIC_TOKEN: &str = "bench-static-token-0123456789abcdef";
/// A well-formed token no verifier knows: the 401 path.
pub const UNKNOWN_TOKEN: &str = "bench-unknown-token-0123456789abcdef";

/// The HS256 secret (44 bytes).
pub const HMAC_SECRET: &[u8] = b"axum-bearer-benchmark-hmac-secret-0123456789";
/// The RSA 2048 public key (SPKI PEM) for RS256; signed with `rsa-0.pem`.
pub const RSA_PUBLIC_PEM: &str = include_str!("../../src/testing/keys/rsa-0.pub.pem");
/// The P-256 public key (SPKI PEM) for ES256; signed with `p256-0.pem`.
pub const EC_PUBLIC_PEM: &str = include_str!("../../src/testing/keys/p256-0.pub.pem");
/// The Ed25519 public key (SPKI PEM) for EdDSA; signed with `ed25519-0.pem`.
pub const ED_PUBLIC_PEM: &str = include_str!("../../src/testing/keys/ed25519-0.pub.pem");

/// HS256, `kid` `bench-hs256`.
pub const HS256: &str = "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJIUzI1NiIsImtpZCI6ImJlbmNoLWhzMjU2In0.eyJhdWQiOiJodHRwczovL2FwaS5leGFtcGxlLmNvbS9tY3AiLCJjbGllbnRfaWQiOiJiZW5jaC1jbGllbnQiLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTc2NzIyNTYwMCwiaXNzIjoiaHR0cHM6Ly9hdXRoLmV4YW1wbGUuY29tIiwianRpIjoiYmVuY2gtMDAwMSIsInNjb3BlIjoibm90ZXM6cmVhZCBub3Rlczp3cml0ZSIsInN1YiI6InVzZXItMTIzIn0.tf4JR-NxpugDg3poDTmDQNUtbEBVLoKm8fuDoVOKmos";
/// RS256 (RSA 2048, PKCS #1 v1.5), `kid` `bench-rs256`.
pub const RS256: &str = "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoLXJzMjU2In0.eyJhdWQiOiJodHRwczovL2FwaS5leGFtcGxlLmNvbS9tY3AiLCJjbGllbnRfaWQiOiJiZW5jaC1jbGllbnQiLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTc2NzIyNTYwMCwiaXNzIjoiaHR0cHM6Ly9hdXRoLmV4YW1wbGUuY29tIiwianRpIjoiYmVuY2gtMDAwMSIsInNjb3BlIjoibm90ZXM6cmVhZCBub3Rlczp3cml0ZSIsInN1YiI6InVzZXItMTIzIn0.N-leKdvhBq1A4KWfb_SwuSPX19t0gxlMWLbS3JW9ly2253foNvKQJgJIXzNaAgnwictLqW8neCpV0MBQW2IRVWRvDBmGSvFBuxKooO19X_QFirE73gOsXNEqsXmOeGsziTUk0rpB1ZOYHLUEdfV5aD_ZYKh_4_r5oZ7VGR08JnFIM9has5y8JAmeuvCxlio9eFVP12Cp0-z48V_thpSh7o37G8mIjDVOtQZR7SXyA_OdzATmQXDZR6RHjld6lDR9aGxjubxDr2E3hF4vRA8JSgKdQE58eSADvkd5PmEwycQgEgjrJDaF8mOiY9UFEwShHAjJk6dQGghrSt3T0VKhEw";
/// ES256 (P-256), `kid` `bench-es256`.
pub const ES256: &str = "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NiIsImtpZCI6ImJlbmNoLWVzMjU2In0.eyJhdWQiOiJodHRwczovL2FwaS5leGFtcGxlLmNvbS9tY3AiLCJjbGllbnRfaWQiOiJiZW5jaC1jbGllbnQiLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTc2NzIyNTYwMCwiaXNzIjoiaHR0cHM6Ly9hdXRoLmV4YW1wbGUuY29tIiwianRpIjoiYmVuY2gtMDAwMSIsInNjb3BlIjoibm90ZXM6cmVhZCBub3Rlczp3cml0ZSIsInN1YiI6InVzZXItMTIzIn0.tYvj7aAwS4EGoquFwuC2mVTi9-jDHQnitHo9jRgWHabdGkt_1TUr-ft7gVT2rJrMkWmeLzWnUlJBcrI05jIfVw";
/// EdDSA (Ed25519), `kid` `bench-eddsa`.
pub const EDDSA: &str = "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFZERTQSIsImtpZCI6ImJlbmNoLWVkZHNhIn0.eyJhdWQiOiJodHRwczovL2FwaS5leGFtcGxlLmNvbS9tY3AiLCJjbGllbnRfaWQiOiJiZW5jaC1jbGllbnQiLCJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTc2NzIyNTYwMCwiaXNzIjoiaHR0cHM6Ly9hdXRoLmV4YW1wbGUuY29tIiwianRpIjoiYmVuY2gtMDAwMSIsInNjb3BlIjoibm90ZXM6cmVhZCBub3Rlczp3cml0ZSIsInN1YiI6InVzZXItMTIzIn0.o5fUhnnRlZuwuYmzTjtM7HXlHf0MrJgT2cExprCw9P-vXAvBx6JMG5q4ec4WvB5ev4h98Tz207hWA12tpDlzAw";
