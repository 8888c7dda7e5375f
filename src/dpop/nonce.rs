//! Stateless DPoP server nonces (RFC 9449 §8, §9): an authenticated timestamp under a key that
//! rotates, so every replica sharing the secret issues and accepts the same nonces without
//! storing any.

use std::{fmt, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::token::Redacted;

type HmacSha256 = Hmac<Sha256>;

/// The shortest secret [`DpopNonces::builder`] accepts, in bytes (the size of an HMAC-SHA-256 key).
pub const MIN_NONCE_SECRET_LEN: usize = 32;

/// The default [rotation period](DpopNoncesBuilder::rotation): one hour.
pub const DEFAULT_NONCE_ROTATION: Duration = Duration::from_secs(3600);

/// The default [validity window](DpopNoncesBuilder::validity): five minutes.
pub const DEFAULT_NONCE_VALIDITY: Duration = Duration::from_secs(300);

/// The format version, first byte of every nonce (and of what the tag covers).
const VERSION: u8 = 1;
/// Version byte and issue time (Unix seconds, big-endian `u64`).
const PAYLOAD_LEN: usize = 1 + 8;
/// HMAC-SHA-256 truncated to 128 bits (RFC 2104 §5: at least half the output).
const TAG_LEN: usize = 16;
const RAW_LEN: usize = PAYLOAD_LEN + TAG_LEN;
/// Unpadded base64url of `RAW_LEN` bytes.
const ENCODED_LEN: usize = (RAW_LEN * 8).div_ceil(6);
/// Domain separation of the per-epoch keys.
const KEY_LABEL: &[u8] = b"axum-bearer dpop-nonce key v1\0";

/// Issues and checks DPoP server nonces (RFC 9449 §8, §9) without server state.
///
/// A nonce is `base64url(version ‖ issued-at ‖ tag)`, 34 characters of `A-Z a-z 0-9 - _` (within
/// RFC 9449's `NQCHAR`), where the tag is HMAC-SHA-256 (truncated to 128 bits) under a key derived
/// from the secret for the rotation epoch of the issue time (`issued-at / rotation`). Replicas
/// configured with the same secret, rotation and validity agree on every nonce; nothing is stored.
///
/// [`check`](Self::check) accepts a nonce issued within `validity` of `now`, either side (replicas'
/// clocks may disagree a little), whose tag verifies (in constant time) under its epoch's key. As
/// the validity window is at most one rotation period, only the current epoch's key and the
/// previous one (and the next, for a replica whose clock runs ahead) can ever verify: a nonce
/// under a key two rotations old is refused. The nonce is not secret, only unforgeable: it
/// shows the time it was issued.
///
/// ```
/// use std::time::Duration;
/// use axum_bearer::dpop::{DpopNonces, NonceError};
///
/// let nonces = DpopNonces::builder(*b"0123456789abcdef0123456789abcdef")
///     .rotation(Duration::from_secs(3600))
///     .validity(Duration::from_secs(300))
///     .build()?;
/// let now = 1_800_000_000;
/// let nonce = nonces.issue(now);
/// assert_eq!(nonces.check(Some(&nonce), now + 60), Ok(()));
/// assert_eq!(nonces.check(Some(&nonce), now + 301), Err(NonceError::Stale));
/// assert_eq!(nonces.check(None, now), Err(NonceError::Missing));
/// assert_eq!(NonceError::Missing.error_code(), "use_dpop_nonce");
/// # Ok::<(), axum_bearer::dpop::NonceConfigError>(())
/// ```
#[derive(Clone)]
pub struct DpopNonces {
    /// HMAC keyed with the secret, ready to derive epoch keys (cloned per use).
    master: HmacSha256,
    /// Seconds, ≥ 1.
    rotation: u64,
    /// Seconds, 1 ..= `rotation`.
    validity: u64,
}

impl DpopNonces {
    /// A builder from `secret`: at least [`MIN_NONCE_SECRET_LEN`] bytes, random, and the same on
    /// every replica (e.g. 32 bytes from the operating system's generator, kept in a secret store).
    pub fn builder(secret: impl AsRef<[u8]>) -> DpopNoncesBuilder {
        DpopNoncesBuilder {
            secret: secret.as_ref().to_vec(),
            rotation: DEFAULT_NONCE_ROTATION,
            validity: DEFAULT_NONCE_VALIDITY,
        }
    }

    /// The rotation period of the keys.
    pub fn rotation(&self) -> Duration {
        Duration::from_secs(self.rotation)
    }

    /// How long a nonce is accepted after (and, for replicas' clock differences, before) the
    /// time it was issued.
    pub fn validity(&self) -> Duration {
        Duration::from_secs(self.validity)
    }

    /// A new nonce issued at `now` (Unix seconds; a time before 1970 counts as 0), for the
    /// `DPoP-Nonce` response header (RFC 9449 §8.1) or a `nonce` error (§9).
    pub fn issue(&self, now: i64) -> String {
        let issued = u64::try_from(now).unwrap_or(0);
        let mut raw = [0_u8; RAW_LEN];
        raw[0] = VERSION;
        raw[1..PAYLOAD_LEN].copy_from_slice(&issued.to_be_bytes());
        let tag = self
            .tagger(issued / self.rotation, &raw[..PAYLOAD_LEN])
            .finalize()
            .into_bytes();
        raw[PAYLOAD_LEN..].copy_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Checks the `nonce` claim of a DPoP proof at `now` (Unix seconds): `Ok` only for a nonce
    /// this secret [issued](Self::issue) within [`validity`](Self::validity) of `now`.
    ///
    /// # Errors
    ///
    /// [`NonceError`]: every case is answered with the `use_dpop_nonce` error and a fresh nonce
    /// (RFC 9449 §8). Never panics, whatever the text.
    pub fn check(&self, nonce: Option<&str>, now: i64) -> Result<(), NonceError> {
        let nonce = nonce.ok_or(NonceError::Missing)?;
        if nonce.len() != ENCODED_LEN {
            return Err(NonceError::Malformed);
        }
        let mut raw = [0_u8; RAW_LEN];
        // The engine refuses padding and non-zero trailing bits: one text per nonce.
        match URL_SAFE_NO_PAD.decode_slice(nonce, &mut raw) {
            Ok(RAW_LEN) => {}
            _ => return Err(NonceError::Malformed),
        }
        if raw[0] != VERSION {
            return Err(NonceError::Malformed);
        }
        let mut issued = [0_u8; 8];
        issued.copy_from_slice(&raw[1..PAYLOAD_LEN]);
        let issued = u64::from_be_bytes(issued);
        let now = u64::try_from(now).unwrap_or(0);
        let epoch = issued / self.rotation;
        let current = now / self.rotation;
        // Only the previous, current and next epochs' keys are ever in use; the validity window
        // (≤ one rotation) is checked after the tag, which is what tells a forgery.
        if epoch.abs_diff(current) > 1 {
            return Err(NonceError::Stale);
        }
        self.tagger(epoch, &raw[..PAYLOAD_LEN])
            .verify_truncated_left(&raw[PAYLOAD_LEN..])
            .map_err(|_| NonceError::ForeignKey)?;
        if issued.abs_diff(now) > self.validity {
            return Err(NonceError::Stale);
        }
        Ok(())
    }

    /// The MAC of the epoch's key, fed with `payload`.
    fn tagger(&self, epoch: u64, payload: &[u8]) -> HmacSha256 {
        let mut derive = self.master.clone();
        derive.update(KEY_LABEL);
        derive.update(&epoch.to_be_bytes());
        let key = derive.finalize().into_bytes();
        // HMAC takes keys of any length: this cannot fail.
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(&key).unwrap_or_else(|_| self.master.clone());
        mac.update(payload);
        mac
    }
}

impl fmt::Debug for DpopNonces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopNonces")
            .field("secret", &Redacted)
            .field("rotation", &self.rotation())
            .field("validity", &self.validity())
            .finish()
    }
}

/// Configures [`DpopNonces`]; from [`DpopNonces::builder`]. Checked by [`build`](Self::build).
#[derive(Clone)]
#[must_use]
pub struct DpopNoncesBuilder {
    secret: Vec<u8>,
    rotation: Duration,
    validity: Duration,
}

impl DpopNoncesBuilder {
    /// How often the nonce key changes (default one hour; whole seconds, at least one). Keys are
    /// derived from the secret per period, so replicas rotate together without talking.
    pub fn rotation(mut self, rotation: Duration) -> Self {
        self.rotation = rotation;
        self
    }

    /// How long a nonce is accepted (default five minutes; whole seconds, at least one, at most
    /// the rotation period).
    pub fn validity(mut self, validity: Duration) -> Self {
        self.validity = validity;
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// [`NonceConfigError`] for a secret shorter than [`MIN_NONCE_SECRET_LEN`], a rotation or
    /// validity under one second, or a validity longer than the rotation period.
    pub fn build(self) -> Result<DpopNonces, NonceConfigError> {
        if self.secret.len() < MIN_NONCE_SECRET_LEN {
            return Err(NonceConfigError::SecretTooShort {
                len: self.secret.len(),
            });
        }
        let rotation = self.rotation.as_secs();
        let validity = self.validity.as_secs();
        if rotation == 0 {
            return Err(NonceConfigError::Rotation);
        }
        if validity == 0 {
            return Err(NonceConfigError::Validity);
        }
        if validity > rotation {
            return Err(NonceConfigError::ValidityLongerThanRotation);
        }
        let master = <HmacSha256 as KeyInit>::new_from_slice(&self.secret)
            .map_err(|_| NonceConfigError::SecretTooShort { len: 0 })?;
        Ok(DpopNonces {
            master,
            rotation,
            validity,
        })
    }
}

impl fmt::Debug for DpopNoncesBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopNoncesBuilder")
            .field("secret", &Redacted)
            .field("rotation", &self.rotation)
            .field("validity", &self.validity)
            .finish()
    }
}

/// Why [`DpopNoncesBuilder::build`] refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NonceConfigError {
    /// The secret is shorter than [`MIN_NONCE_SECRET_LEN`] bytes.
    #[error("the DPoP nonce secret has {len} bytes; at least 32 random bytes are needed")]
    SecretTooShort {
        /// Its length in bytes.
        len: usize,
    },
    /// The rotation period is under one second.
    #[error("the DPoP nonce rotation period must be at least one second")]
    Rotation,
    /// The validity window is under one second.
    #[error("the DPoP nonce validity must be at least one second")]
    Validity,
    /// The validity window is longer than the rotation period: a nonce would outlive the two
    /// keys accepted.
    #[error("the DPoP nonce validity must not be longer than the rotation period")]
    ValidityLongerThanRotation,
}

/// Why [`DpopNonces::check`] refused a nonce. Each is answered with the `use_dpop_nonce` error
/// and a fresh `DPoP-Nonce` (RFC 9449 §8); the variants are for logs and metrics. The nonce text
/// is never part of the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NonceError {
    /// The proof has no `nonce` claim.
    #[error("the DPoP proof has no nonce")]
    Missing,
    /// The nonce is not one this server's format: wrong length, not base64url, another version.
    #[error("the DPoP nonce is malformed")]
    Malformed,
    /// The nonce was issued outside the validity window (or under a retired key).
    #[error("the DPoP nonce is stale")]
    Stale,
    /// The nonce's tag does not verify: tampered, or made with another secret.
    #[error("the DPoP nonce was not issued with this server's key")]
    ForeignKey,
}

impl NonceError {
    /// The OAuth error code to answer with: always `use_dpop_nonce` (RFC 9449 §8, §12.2).
    pub fn error_code(&self) -> &'static str {
        "use_dpop_nonce"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_800_000_000;

    fn nonces() -> DpopNonces {
        DpopNonces::builder(SECRET).build().unwrap()
    }

    #[test]
    fn encoded_length_is_the_documented_one() {
        assert_eq!(ENCODED_LEN, 34);
        assert_eq!(nonces().issue(NOW).len(), ENCODED_LEN);
    }

    #[test]
    fn derived_keys_differ_per_epoch() {
        let n = nonces();
        let a = n.tagger(1, b"x").finalize().into_bytes();
        let b = n.tagger(2, b"x").finalize().into_bytes();
        assert_ne!(a, b);
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?} {:?}", nonces(), DpopNonces::builder(SECRET));
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(shown.contains("[redacted]"));
    }
}
