//! [`DpopProver`]: the client side of DPoP (RFC 9449), signing proofs for tests.

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use http::HeaderValue;
use jsonwebtoken::{Algorithm, EncodingKey, jwk::Jwk};
use serde_json::{Map, Value, json};

use crate::dpop::{access_token_hash, jwk_thumbprint};

/// The embedded private keys (public test keys, see the module docs), four per family.
const P256: [&str; 4] = [
    include_str!("keys/p256-0.pem"),
    include_str!("keys/p256-1.pem"),
    include_str!("keys/p256-2.pem"),
    include_str!("keys/p256-3.pem"),
];
const P384: [&str; 4] = [
    include_str!("keys/p384-0.pem"),
    include_str!("keys/p384-1.pem"),
    include_str!("keys/p384-2.pem"),
    include_str!("keys/p384-3.pem"),
];
const ED25519: [&str; 4] = [
    include_str!("keys/ed25519-0.pem"),
    include_str!("keys/ed25519-1.pem"),
    include_str!("keys/ed25519-2.pem"),
    include_str!("keys/ed25519-3.pem"),
];
const RSA: [&str; 4] = [
    include_str!("keys/rsa-0.pem"),
    include_str!("keys/rsa-1.pem"),
    include_str!("keys/rsa-2.pem"),
    include_str!("keys/rsa-3.pem"),
];

/// How a PEM private key of one family is loaded.
type LoadKey = fn(&[u8]) -> jsonwebtoken::errors::Result<EncodingKey>;

/// A DPoP client key: signs proofs (ES256, ES384, EdDSA, RS256, PS256 and the other RSA
/// algorithms) and knows its RFC 7638 thumbprint, the `cnf.jkt` a bound token carries.
///
/// The keys are the crate's embedded **public test keys**: for tests only.
///
/// ```
/// use axum_bearer::{dpop::{DpopRequest, DpopVerifier}, testing::DpopProver};
/// use axum_bearer::jsonwebtoken::Algorithm;
/// use http::Method;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let prover = DpopProver::new(Algorithm::ES256).expect("supported");
/// let url = "https://api.example/mcp";
/// let proof = prover.proof("POST", url).access_token("tok").header_value();
///
/// let verifier = DpopVerifier::builder().build().expect("settings");
/// let request = DpopRequest::new(&Method::POST, url).access_token("tok");
/// let accepted = verifier.verify([&proof], &request).await.expect("valid proof");
/// assert_eq!(accepted.jkt, prover.jkt());
/// # }
/// ```
pub struct DpopProver {
    algorithm: Algorithm,
    key: EncodingKey,
    jwk: Value,
    jkt: String,
}

impl fmt::Debug for DpopProver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopProver")
            .field("algorithm", &self.algorithm)
            .field("jkt", &self.jkt)
            .finish_non_exhaustive()
    }
}

impl DpopProver {
    /// A prover with the first embedded key for `algorithm`, or `None` for an algorithm DPoP
    /// does not allow (HMAC) or the kit has no key for.
    pub fn new(algorithm: Algorithm) -> Option<Self> {
        Self::with_key(algorithm, 0)
    }

    /// A prover with embedded key number `index` (0 to 3) for `algorithm`: two provers with
    /// different indexes hold different keys.
    pub fn with_key(algorithm: Algorithm, index: usize) -> Option<Self> {
        crate::crypto::ensure_provider();
        let (pems, load): (&[&str; 4], LoadKey) = match algorithm {
            Algorithm::ES256 => (&P256, EncodingKey::from_ec_pem),
            Algorithm::ES384 => (&P384, EncodingKey::from_ec_pem),
            Algorithm::EdDSA => (&ED25519, EncodingKey::from_ed_pem),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => (&RSA, EncodingKey::from_rsa_pem),
            _ => return None,
        };
        let key = load(pems.get(index)?.as_bytes()).ok()?;
        let mut jwk = Jwk::from_encoding_key(&key, algorithm).ok()?;
        jwk.common = Default::default();
        let jkt = jwk_thumbprint(&jwk)?;
        let jwk = serde_json::to_value(&jwk).ok()?;
        Some(Self {
            algorithm,
            key,
            jwk,
            jkt,
        })
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key (base64url): the `cnf.jkt` of tokens
    /// bound to this prover.
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The public key as the proofs' `jwk` header carries it.
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// A proof for `method` and `url` (query and fragment are kept as given: the verifier must
    /// ignore them), fresh `jti`, `iat` now. Adjust it, then [`sign`](ProofBuilder::sign).
    pub fn proof(&self, method: &str, url: &str) -> ProofBuilder<'_> {
        let mut jti = [0u8; 16];
        // A test helper: a failing generator only makes the jti predictable.
        let _ = getrandom::fill(&mut jti);
        let mut header = Map::new();
        header.insert("typ".into(), "dpop+jwt".into());
        header.insert(
            "alg".into(),
            serde_json::to_value(self.algorithm).unwrap_or(Value::Null),
        );
        header.insert("jwk".into(), self.jwk.clone());
        let mut claims = Map::new();
        claims.insert("jti".into(), URL_SAFE_NO_PAD.encode(jti).into());
        claims.insert("htm".into(), method.into());
        claims.insert("htu".into(), url.into());
        claims.insert("iat".into(), crate::clock::unix_now().into());
        ProofBuilder {
            prover: self,
            header,
            claims,
            signing: Signing::Key,
        }
    }
}

enum Signing {
    Key,
    Hmac(Vec<u8>),
    None,
    Corrupt,
}

/// One proof being made by a [`DpopProver`]: valid as it comes, and every way it can be made
/// invalid for a test.
#[must_use]
pub struct ProofBuilder<'a> {
    prover: &'a DpopProver,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing: Signing,
}

impl fmt::Debug for ProofBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofBuilder")
            .field("prover", self.prover)
            .finish_non_exhaustive()
    }
}

impl ProofBuilder<'_> {
    /// Binds the proof to `token`: `ath` = base64url(SHA-256(token)).
    pub fn access_token(mut self, token: &str) -> Self {
        let ath = access_token_hash(token).unwrap_or_default();
        self.claims.insert("ath".into(), ath.into());
        self
    }

    /// The server's nonce.
    pub fn nonce(mut self, nonce: &str) -> Self {
        self.claims.insert("nonce".into(), nonce.into());
        self
    }

    /// `iat` (Unix seconds) instead of now.
    pub fn iat(mut self, iat: i64) -> Self {
        self.claims.insert("iat".into(), iat.into());
        self
    }

    /// `jti` instead of a random one.
    pub fn jti(mut self, jti: &str) -> Self {
        self.claims.insert("jti".into(), jti.into());
        self
    }

    /// Sets a claim to any JSON value: for malformed variants.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets a JOSE header member (`typ`, `alg`, `jwk`, `crit`, …).
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.into(), value.into());
        self
    }

    /// Removes a JOSE header member.
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Adds a private key member (`d`) to the `jwk` header: the proof still verifies with the
    /// public members, and must be refused.
    pub fn private_key_in_jwk(mut self) -> Self {
        if let Some(Value::Object(jwk)) = self.header.get_mut("jwk") {
            jwk.insert("d".into(), "AAAA".into());
        }
        self
    }

    /// Signs with HMAC-SHA256 under `secret` (`alg: HS256`, the secret as an `oct` `jwk`).
    pub fn hs256(mut self, secret: &[u8]) -> Self {
        self.header.insert("alg".into(), "HS256".into());
        self.header.insert(
            "jwk".into(),
            json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret)}),
        );
        self.signing = Signing::Hmac(secret.to_vec());
        self
    }

    /// An unsecured JWS: `alg: none`, empty signature.
    pub fn unsigned(mut self) -> Self {
        self.header.insert("alg".into(), "none".into());
        self.signing = Signing::None;
        self
    }

    /// A valid signature with its first character changed.
    pub fn bad_signature(mut self) -> Self {
        self.signing = Signing::Corrupt;
        self
    }

    /// The compact JWS.
    pub fn sign(self) -> String {
        let header = URL_SAFE_NO_PAD.encode(Value::Object(self.header).to_string());
        let claims = URL_SAFE_NO_PAD.encode(Value::Object(self.claims).to_string());
        let message = format!("{header}.{claims}");
        let signature = match self.signing {
            Signing::None => String::new(),
            Signing::Hmac(secret) => EncodingKey::from_secret(&secret)
                .and_then(|key| {
                    jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256)
                })
                .unwrap_or_default(),
            Signing::Key | Signing::Corrupt => {
                let signature = jsonwebtoken::crypto::sign(
                    message.as_bytes(),
                    &self.prover.key,
                    self.prover.algorithm,
                )
                .unwrap_or_default();
                if matches!(self.signing, Signing::Corrupt) {
                    let flipped = if signature.starts_with('A') { "B" } else { "A" };
                    format!("{flipped}{}", signature.get(1..).unwrap_or_default())
                } else {
                    signature
                }
            }
        };
        format!("{message}.{signature}")
    }

    /// The compact JWS as a `DPoP` header value.
    pub fn header_value(self) -> HeaderValue {
        // base64url and dots: always a valid header value.
        HeaderValue::try_from(self.sign()).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}
