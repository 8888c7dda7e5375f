//! Verification keys, each bound to exactly one algorithm (RFC 8725 §3.1): the set a
//! [`JwtVerifier`](crate::JwtVerifier) holds and a remote JWKS fills, read by both `jwt` and `jwks`.

use std::{collections::HashMap, fmt, sync::Arc};

use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse},
};

/// One key and the one algorithm it verifies; the token header never chooses another.
pub(crate) struct Key {
    pub(crate) kid: Option<Box<str>>,
    pub(crate) alg: Algorithm,
    pub(crate) decoding: DecodingKey,
}

impl Key {
    pub(crate) fn new(kid: Option<&str>, alg: Algorithm, decoding: DecodingKey) -> Self {
        Self {
            kid: kid.map(Into::into),
            alg,
            decoding,
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// The keys a verifier trusts, by `kid`.
#[derive(Debug, Default, Clone)]
pub(crate) struct KeySet {
    by_kid: HashMap<Box<str>, Arc<Key>>,
    all: Vec<Arc<Key>>,
}

impl KeySet {
    pub(crate) fn insert(&mut self, key: Key) {
        self.insert_shared(Arc::new(key));
    }

    pub(crate) fn insert_shared(&mut self, key: Arc<Key>) {
        if let Some(kid) = &key.kid {
            self.by_kid.insert(kid.clone(), key.clone());
        }
        self.all.push(key);
    }

    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Arc<Key>> + '_ {
        self.by_kid.clear();
        self.all.drain(..)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.all.len()
    }

    /// The keys that may have signed a token with header `kid` and `alg`: the key named by `kid`,
    /// or without a `kid` every key bound to `alg`. Empty when none fits.
    pub(crate) fn candidates<'s>(
        &'s self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'s Key> + 's {
        let named = kid.and_then(|kid| self.by_kid.get(kid));
        let unnamed = kid.is_none().then_some(&self.all).into_iter().flatten();
        named
            .into_iter()
            .chain(unnamed.filter(move |key| key.alg == alg))
            .map(AsRef::as_ref)
    }

    /// The signing keys of a JWKS document, keeping those whose algorithm is in `allowed`.
    /// Keys that cannot be used (encryption keys, `oct` secrets, unknown types) are skipped and
    /// counted, never an error: one odd key must not take the others down.
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn from_jwk_set(set: &JwkSet, allowed: &[Algorithm]) -> (Self, usize) {
        let mut keys = Self::default();
        let mut skipped = 0;
        for jwk in &set.keys {
            match key_from_jwk(jwk) {
                Ok(key) if allowed.contains(&key.alg) && !is_hmac(key.alg) => keys.insert(key),
                _ => skipped += 1,
            }
        }
        (keys, skipped)
    }
}

pub(crate) fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// A [`Key`] from a JWK: the algorithm from its `alg`, else implied by its type and curve.
pub(crate) fn key_from_jwk(jwk: &Jwk) -> Result<Key, String> {
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|usage| *usage != PublicKeyUse::Signature)
    {
        return Err("not a signing key (\"use\" is not \"sig\")".into());
    }
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Some(Algorithm::EdDSA)
        }
        AlgorithmParameters::OctetKey(_) => Some(Algorithm::HS256),
        _ => None,
    };
    let alg = match jwk.common.key_algorithm {
        Some(declared) => algorithm_of(declared).ok_or("unsupported \"alg\"")?,
        None => implied.ok_or("unsupported key type")?,
    };
    let decoding = DecodingKey::from_jwk(jwk).map_err(|error| error.to_string())?;
    if decoding.family() != alg.family() {
        return Err(format!("\"alg\" {alg:?} does not fit the key type"));
    }
    Ok(Key::new(jwk.common.key_id.as_deref(), alg, decoding))
}

fn algorithm_of(declared: KeyAlgorithm) -> Option<Algorithm> {
    Algorithm::try_from(declared).ok()
}
