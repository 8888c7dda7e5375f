//! DPoP (RFC 9449, feature `dpop`): sender-constrained access tokens.

mod nonce;

pub use nonce::{
    DEFAULT_NONCE_ROTATION, DEFAULT_NONCE_VALIDITY, DpopNonces, DpopNoncesBuilder,
    MIN_NONCE_SECRET_LEN, NonceConfigError, NonceError,
};
