//! The embedded key material and the issuer's key ring (rotation, retirement, the JWKS document).
//!
//! Every key here is a **public test key**: the PEM files under `src/testing/keys/` ship with the
//! crate, so anyone can sign with them. They exist only so tests need no key generation.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
};

use jsonwebtoken::{
    Algorithm, EncodingKey,
    jwk::{Jwk, PublicKeyUse},
};

/// One embedded key pair: a PKCS#8 private key and its SPKI public key, both PEM.
#[derive(Debug)]
pub(super) struct KeyMaterial {
    pub(super) private_pem: &'static str,
    pub(super) public_pem: &'static str,
}

static RSA: [KeyMaterial; 4] = [
    KeyMaterial {
        private_pem: include_str!("keys/rsa-0.pem"),
        public_pem: include_str!("keys/rsa-0.pub.pem"),
    },
    KeyMaterial {
        private_pem: include_str!("keys/rsa-1.pem"),
        public_pem: include_str!("keys/rsa-1.pub.pem"),
    },
    KeyMaterial {
        private_pem: include_str!("keys/rsa-2.pem"),
        public_pem: include_str!("keys/rsa-2.pub.pem"),
    },
    KeyMaterial {
        private_pem: include_str!("keys/rsa-3.pem"),
        public_pem: include_str!("keys/rsa-3.pub.pem"),
    },
];

static P256: [KeyMaterial; 4] = [
    KeyMaterial {
        private_pem: include_str!("keys/p256-0.pem"),
        public_pem: include_str!("keys/p256-0.pub.pem"),
    },
    KeyMaterial {
        private_pem: include_str!("keys/p256-1.pem"),
        public_pem: include_str!("keys/p256-1.pub.pem"),
    },
    KeyMaterial {
        private_pem: include_str!("keys/p256-2.pem"),
        public_pem: include_str!("keys/p256-2.pub.pem"),
    },
    KeyMaterial {
        private_pem: include_str!("keys/p256-3.pem"),
        public_pem: include_str!("keys/p256-3.pub.pem"),
    },
];

static P384: [KeyMaterial; 4] = [
    KeyMaterial {
        private_pem: include_str!("keys/p384-0.pem"),
        public_pem: include_str!("keys/p384-0.pub.pem"),
    },
    KeyMaterial {
        private_pem: include_str!("keys/p384-1.pem"),
        public_pem: include_str!("keys/p384-1.pub.pem"),
    },
    KeyMaterial {
        private_pem: include_str!("keys/p384-2.pem"),
        public_pem: include_str!("keys/p384-2.pub.pem"),
    },
    KeyMaterial {
        private_pem: include_str!("keys/p384-3.pem"),
        public_pem: include_str!("keys/p384-3.pub.pem"),
    },
];

static ED25519: [KeyMaterial; 4] = [
    KeyMaterial {
        private_pem: include_str!("keys/ed25519-0.pem"),
        public_pem: include_str!("keys/ed25519-0.pub.pem"),
    },
    KeyMaterial {
        private_pem: include_str!("keys/ed25519-1.pem"),
        public_pem: include_str!("keys/ed25519-1.pub.pem"),
    },
    KeyMaterial {
        private_pem: include_str!("keys/ed25519-2.pem"),
        public_pem: include_str!("keys/ed25519-2.pub.pem"),
    },
    KeyMaterial {
        private_pem: include_str!("keys/ed25519-3.pem"),
        public_pem: include_str!("keys/ed25519-3.pub.pem"),
    },
];
/// How keys of one algorithm family are found and loaded.
#[derive(Clone, Copy)]
struct Family {
    material: &'static [KeyMaterial],
    load: fn(&[u8]) -> jsonwebtoken::errors::Result<EncodingKey>,
}

/// The embedded keys that can sign `algorithm`, or `None` for one the kit does not support
/// (HMAC: a shared secret has nothing to publish in a JWKS).
fn family(algorithm: Algorithm) -> Option<Family> {
    let (material, load): (&'static [KeyMaterial], fn(&[u8]) -> _) = match algorithm {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => (&RSA, EncodingKey::from_rsa_pem),
        Algorithm::ES256 => (&P256, EncodingKey::from_ec_pem),
        Algorithm::ES384 => (&P384, EncodingKey::from_ec_pem),
        Algorithm::EdDSA => (&ED25519, EncodingKey::from_ed_pem),
        _ => return None,
    };
    Some(Family { material, load })
}

/// Whether [`KeyRing::new`] accepts `algorithm`.
pub(super) fn is_supported(algorithm: Algorithm) -> bool {
    family(algorithm).is_some()
}

/// A signing key with its published form.
pub(super) struct SigningKey {
    pub(super) kid: String,
    pub(super) encoding: EncodingKey,
    pub(super) jwk: Jwk,
    pub(super) material: &'static KeyMaterial,
}

struct Entry {
    key: Arc<SigningKey>,
    published: bool,
}

/// The JWKS document as served, and its strong entity tag.
pub(super) struct JwksDocument {
    pub(super) body: String,
    pub(super) etag: String,
}

/// Every key the issuer ever made, which of them are published, and which one signs.
pub(super) struct KeyRing {
    algorithm: Algorithm,
    family: Family,
    entries: Vec<Entry>,
    current: usize,
    /// Where this ring starts in the embedded key pairs, so two issuers of one process sign with
    /// different keys (a token of one must not verify at the other).
    offset: usize,
    jwks: Arc<JwksDocument>,
}

impl KeyRing {
    /// A ring with one published key, or `None` when `algorithm` is not supported.
    pub(super) fn new(algorithm: Algorithm) -> Option<Self> {
        static RINGS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let family = family(algorithm)?;
        let mut ring = Self {
            algorithm,
            family,
            entries: Vec::new(),
            current: 0,
            offset: RINGS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            jwks: Arc::new(JwksDocument {
                body: String::new(),
                etag: String::new(),
            }),
        };
        ring.add_key();
        Some(ring)
    }

    /// Makes a key from the next embedded key pair (cycling), publishes it and signs with it from
    /// now on. The kid is fresh even when the key material repeats.
    pub(super) fn rotate(&mut self) -> String {
        self.add_key();
        self.current_key().kid.clone()
    }

    /// Stops publishing `kid`; `false` when it is unknown or already retired.
    pub(super) fn retire(&mut self, kid: &str) -> bool {
        let Some(entry) = self.entries.iter_mut().find(|entry| entry.key.kid == kid) else {
            return false;
        };
        let was_published = std::mem::replace(&mut entry.published, false);
        self.rebuild_jwks();
        was_published
    }

    pub(super) fn current_key(&self) -> Arc<SigningKey> {
        Arc::clone(&self.entries[self.current].key)
    }

    /// Any key this ring made, published or retired.
    pub(super) fn key(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.entries
            .iter()
            .find(|entry| entry.key.kid == kid)
            .map(|entry| Arc::clone(&entry.key))
    }

    pub(super) fn jwks(&self) -> Arc<JwksDocument> {
        Arc::clone(&self.jwks)
    }

    fn add_key(&mut self) {
        let serial = self.entries.len();
        let material = &self.family.material[(self.offset + serial) % self.family.material.len()];
        let kid = format!(
            "{}-{serial}",
            format!("{:?}", self.algorithm).to_ascii_lowercase()
        );
        let encoding = (self.family.load)(material.private_pem.as_bytes())
            .expect("embedded test keys are valid PKCS#8 PEM for their family");
        let mut jwk = Jwk::from_encoding_key(&encoding, self.algorithm)
            .expect("embedded test keys convert to a JWK for an algorithm of their family");
        jwk.common.key_id = Some(kid.clone());
        jwk.common.key_algorithm = Some(self.algorithm.into());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        self.entries.push(Entry {
            key: Arc::new(SigningKey {
                kid,
                encoding,
                jwk,
                material,
            }),
            published: true,
        });
        self.current = serial;
        self.rebuild_jwks();
    }

    fn rebuild_jwks(&mut self) {
        let keys: Vec<&Jwk> = self
            .entries
            .iter()
            .filter(|entry| entry.published)
            .map(|entry| &entry.key.jwk)
            .collect();
        let body = serde_json::json!({ "keys": keys }).to_string();
        // `DefaultHasher::new()` has fixed keys, so equal documents get equal tags.
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        let etag = format!("\"jwks-{:016x}\"", hasher.finish());
        self.jwks = Arc::new(JwksDocument { body, etag });
    }
}
