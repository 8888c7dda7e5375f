//! The data side of DPoP (RFC 9449, issue 12): the confirmation thumbprint `cnf.jkt` read from
//! JWTs (§6.1) and introspection answers (§6.2) through the layer, and the stateless server
//! nonces (§8, §9).
#![cfg(feature = "testing")]

mod common;

use axum::{Router, routing::get};
use axum_bearer::{
    AuthenticatedUser, BearerAuth, IntrospectionVerifier, JwtVerifier, Profile, TokenVerifier,
    testing::TestIssuer,
};
use common::{bearer, get as request, send};
use jsonwebtoken::{Algorithm, jwk::ThumbprintHash};
use serde_json::{Value, json};

const RESOURCE: &str = "https://rs.example/mcp";
/// RFC 7638 §3.1's example thumbprint.
const JKT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/// `/` answers the caller's `dpop_jkt` (or `-` when unbound).
fn app(verifier: impl TokenVerifier) -> Router {
    Router::new()
        .route(
            "/",
            get(|user: AuthenticatedUser| async move {
                user.access_token()
                    .dpop_jkt
                    .clone()
                    .unwrap_or_else(|| "-".to_owned())
            }),
        )
        .layer(
            BearerAuth::new(verifier)
                .profile(Profile::Spec)
                .resource_server_url(RESOURCE)
                .unwrap(),
        )
}

async fn call(app: &Router, token: &str) -> common::Reply {
    let authorization = bearer(token);
    send(app, request("/", &[authorization.as_bytes()])).await
}

async fn jwt_verifier(issuer: &TestIssuer) -> JwtVerifier {
    JwtVerifier::builder()
        .issuer(issuer.issuer())
        .audience(RESOURCE)
        .jwks_url(issuer.jwks_url())
        .unwrap()
        .build()
        .unwrap()
}

fn introspection_verifier(issuer: &TestIssuer) -> IntrospectionVerifier {
    IntrospectionVerifier::builder(issuer.introspection_url())
        .unwrap()
        .no_client_authentication()
        .issuer(issuer.issuer())
        .audience(RESOURCE)
        .build()
        .unwrap()
}

/// `cnf` values RFC 9449 §6 / RFC 7800 §3.1 do not allow: the token is invalid, not unbound.
fn malformed_confirmations() -> Vec<Value> {
    vec![
        json!(JKT),
        json!([{ "jkt": JKT }]),
        json!(true),
        json!({ "jkt": 5 }),
        json!({ "jkt": { "value": JKT } }),
        json!({ "jkt": [JKT] }),
        json!({ "jkt": "" }),
        json!({ "jkt": &JKT[..42] }),
        json!({ "jkt": format!("{JKT}A") }),
        json!({ "jkt": format!("{JKT}=") }),
        json!({ "jkt": JKT.replace('-', "+") }),
        json!({ "jkt": JKT.replace('_', "/") }),
        json!({ "jkt": format!("{} ", &JKT[..42]) }),
        // 43 characters whose last carries bits beyond the 256th: not a SHA-256 digest.
        json!({ "jkt": format!("{}t", &JKT[..42]) }),
    ]
}

#[tokio::test]
async fn a_jwt_with_cnf_jkt_carries_the_thumbprint() {
    let issuer = TestIssuer::builder()
        .algorithm(Algorithm::ES256)
        .start()
        .await
        .unwrap();
    // A real client key's thumbprint (RFC 7638, SHA-256), as an authorization server binds it.
    let client_key = issuer.public_jwk(&issuer.current_kid()).unwrap();
    let jkt = client_key.thumbprint(ThumbprintHash::SHA256).unwrap();
    assert_eq!(jkt.len(), 43, "{jkt}");

    let verifier = jwt_verifier(&issuer).await;
    let token = issuer.mint(issuer.claims_for_bound(RESOURCE, &jkt));
    let access = verifier.verify(&token).await.unwrap();
    assert_eq!(access.dpop_jkt.as_deref(), Some(jkt.as_str()));
    assert_eq!(
        access.claims.as_ref().unwrap()["cnf"],
        json!({ "jkt": jkt })
    );

    let app = app(verifier);
    // Until the DPoP mode lands, a bound token sent as a bearer token is still served, and the
    // handler sees the binding.
    let reply = call(&app, &token).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), jkt);
    let unbound = issuer.mint(issuer.claims_for(RESOURCE));
    let reply = call(&app, &unbound).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "-");
    // Another confirmation method (RFC 8705) is no DPoP binding.
    let mut claims = issuer.claims_for(RESOURCE);
    claims["cnf"] = json!({ "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" });
    let reply = call(&app, &issuer.mint(claims)).await;
    assert_eq!((reply.status.as_u16(), reply.text()), (200, "-"));
}

#[tokio::test]
async fn a_jwt_with_a_malformed_cnf_is_refused_with_401() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(jwt_verifier(&issuer).await);
    for cnf in malformed_confirmations().into_iter().chain([Value::Null]) {
        let mut claims = issuer.claims_for(RESOURCE);
        claims["cnf"] = cnf.clone();
        let reply = call(&app, &issuer.mint(claims)).await;
        assert_eq!(reply.status, 401, "cnf {cnf}");
        assert_eq!(reply.challenge()["error"], "invalid_token", "cnf {cnf}");
    }
}

#[tokio::test]
async fn an_introspection_answer_with_cnf_jkt_carries_the_thumbprint() {
    let issuer = TestIssuer::start().await.unwrap();
    let verifier = introspection_verifier(&issuer);
    issuer.register_token("bound", issuer.introspection_for_bound(RESOURCE, JKT));
    issuer.register_token("unbound", issuer.introspection_for(RESOURCE));

    let access = verifier.verify("bound").await.unwrap();
    assert_eq!(access.dpop_jkt.as_deref(), Some(JKT));
    assert_eq!(access.claims.as_ref().unwrap()["token_type"], "DPoP");

    let app = app(verifier);
    let reply = call(&app, "bound").await;
    assert_eq!((reply.status.as_u16(), reply.text()), (200, JKT));
    let reply = call(&app, "unbound").await;
    assert_eq!((reply.status.as_u16(), reply.text()), (200, "-"));
    // `"cnf": null` is an absent member, as every null member of an introspection answer.
    let mut answer = issuer.introspection_for(RESOURCE);
    answer["cnf"] = Value::Null;
    issuer.register_token("null-cnf", answer);
    let reply = call(&app, "null-cnf").await;
    assert_eq!((reply.status.as_u16(), reply.text()), (200, "-"));
}

#[tokio::test]
async fn an_introspection_answer_with_a_malformed_cnf_is_refused_with_401() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(introspection_verifier(&issuer));
    for (n, cnf) in malformed_confirmations().into_iter().enumerate() {
        let token = format!("bad-{n}");
        let mut answer = issuer.introspection_for_bound(RESOURCE, JKT);
        answer["cnf"] = cnf.clone();
        issuer.register_token(token.as_str(), answer);
        let reply = call(&app, &token).await;
        assert_eq!(reply.status, 401, "cnf {cnf}");
        assert_eq!(reply.challenge()["error"], "invalid_token", "cnf {cnf}");
    }
}

#[cfg(feature = "dpop")]
mod nonces {
    use std::time::Duration;

    use axum_bearer::dpop::{DpopNonces, NonceConfigError, NonceError};
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    use proptest::prelude::*;

    const SECRET: [u8; 32] = *b"an example secret of 32 bytes..!";
    const OTHER: [u8; 32] = *b"another secret, also 32 bytes..!";
    const ROTATION: i64 = 600;
    const VALIDITY: i64 = 300;
    /// The start of a rotation epoch.
    const EPOCH: i64 = 1_800_000_000 / ROTATION * ROTATION;

    fn nonces(secret: &[u8]) -> DpopNonces {
        DpopNonces::builder(secret)
            .rotation(Duration::from_secs(ROTATION as u64))
            .validity(Duration::from_secs(VALIDITY as u64))
            .build()
            .unwrap()
    }

    /// RFC 9449 §8.1: `nonce = 1*NQCHAR`, `NQCHAR = %x21 / %x23-5B / %x5D-7E`.
    fn is_nqchar_text(text: &str) -> bool {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
    }

    #[test]
    fn issued_nonces_round_trip_and_replicas_agree() {
        let ours = nonces(&SECRET);
        let replica = nonces(&SECRET);
        for issued in [EPOCH, EPOCH + 1, EPOCH + ROTATION - 1, 0, i64::MAX] {
            let nonce = ours.issue(issued);
            assert!(is_nqchar_text(&nonce), "{nonce}");
            assert!(!nonce.contains('='), "unpadded: {nonce}");
            assert_eq!(nonce.len(), 34);
            assert_eq!(ours.check(Some(&nonce), issued), Ok(()));
            assert_eq!(
                replica.check(Some(&nonce), issued.saturating_add(1)),
                Ok(())
            );
            assert_eq!(
                replica.issue(issued),
                nonce,
                "no state: same input, same nonce"
            );
        }
        assert_ne!(ours.issue(EPOCH), ours.issue(EPOCH + 1));
        // A clock before 1970 reads as 0.
        assert_eq!(ours.issue(-5), ours.issue(0));
    }

    #[test]
    fn the_validity_window_is_exact() {
        let nonces = nonces(&SECRET);
        let issued = EPOCH + 100;
        let nonce = nonces.issue(issued);
        assert_eq!(nonces.check(Some(&nonce), issued + VALIDITY), Ok(()));
        assert_eq!(
            nonces.check(Some(&nonce), issued + VALIDITY + 1),
            Err(NonceError::Stale)
        );
        // A replica whose clock is behind the issuer's: the same allowance the other way.
        assert_eq!(nonces.check(Some(&nonce), issued - VALIDITY), Ok(()));
        assert_eq!(
            nonces.check(Some(&nonce), issued - VALIDITY - 1),
            Err(NonceError::Stale)
        );
        assert_eq!(nonces.check(Some(&nonce), i64::MAX), Err(NonceError::Stale));
        assert_eq!(nonces.check(Some(&nonce), -1), Err(NonceError::Stale));
    }

    #[test]
    fn the_previous_key_is_accepted_and_older_ones_are_not() {
        let nonces = nonces(&SECRET);
        // Issued at the end of an epoch, checked in the next one: the previous key verifies.
        let late = EPOCH + ROTATION - 1;
        let nonce = nonces.issue(late);
        assert_eq!(nonces.check(Some(&nonce), EPOCH + ROTATION), Ok(()));
        assert_eq!(nonces.check(Some(&nonce), late + VALIDITY), Ok(()));
        // Two rotations later its key is retired.
        for now in [
            EPOCH + 2 * ROTATION,
            EPOCH + 3 * ROTATION,
            EPOCH + 100 * ROTATION,
        ] {
            assert_eq!(nonces.check(Some(&nonce), now), Err(NonceError::Stale));
        }
        // Even with the widest window (validity = rotation), a key two rotations old is refused.
        let wide = DpopNonces::builder(SECRET)
            .rotation(Duration::from_secs(ROTATION as u64))
            .validity(Duration::from_secs(ROTATION as u64))
            .build()
            .unwrap();
        let nonce = wide.issue(EPOCH + ROTATION - 1);
        assert_eq!(wide.check(Some(&nonce), EPOCH + 2 * ROTATION - 1), Ok(()));
        assert_eq!(
            wide.check(Some(&nonce), EPOCH + 2 * ROTATION),
            Err(NonceError::Stale)
        );
    }

    #[test]
    fn another_secret_or_tampering_is_refused() {
        let ours = nonces(&SECRET);
        let theirs = nonces(&OTHER);
        let now = EPOCH + 10;
        assert_eq!(
            ours.check(Some(&theirs.issue(now)), now),
            Err(NonceError::ForeignKey)
        );
        let nonce = ours.issue(now);
        // A later issue time, encoded correctly but with the old tag.
        let mut raw = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        raw[8] ^= 1;
        let later = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(ours.check(Some(&later), now), Err(NonceError::ForeignKey));
        // A flipped tag bit.
        let mut raw = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        raw[24] ^= 0x80;
        let flipped = URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(ours.check(Some(&flipped), now), Err(NonceError::ForeignKey));
        // Every one-character change is refused.
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for position in 0..nonce.len() {
            for replacement in alphabet.chars() {
                let mut changed = nonce.clone();
                changed.replace_range(position..=position, replacement.encode_utf8(&mut [0; 4]));
                if changed != nonce {
                    assert!(
                        ours.check(Some(&changed), now).is_err(),
                        "{changed} accepted"
                    );
                }
            }
        }
    }

    #[test]
    fn malformed_nonces_of_every_shape_are_refused() {
        let nonces = nonces(&SECRET);
        let now = EPOCH;
        let good = nonces.issue(now);
        let mut wrong_version = URL_SAFE_NO_PAD.decode(&good).unwrap();
        wrong_version[0] = 2;
        let cases = [
            String::new(),
            " ".into(),
            "a".into(),
            good[..33].to_owned(),
            format!("{good}A"),
            format!("{good}="),
            format!("{good}=="),
            format!(" {}", &good[1..]),
            format!("{}\n", &good[..33]),
            good.replace(['-', '_'], "+"),
            "=".repeat(34),
            "!".repeat(34),
            "\0".repeat(34),
            "é".repeat(17),
            format!("{}é", &good[..32]),
            "A".repeat(34 * 1000),
            // Right length, trailing bits set (not the canonical encoding of 25 bytes).
            format!("{}B", &good[..33]),
            URL_SAFE_NO_PAD.encode(wrong_version),
            // Standard base64 with padding of the same bytes.
            base64::engine::general_purpose::STANDARD
                .encode(URL_SAFE_NO_PAD.decode(&good).unwrap()),
        ];
        for case in &cases {
            if case == &good {
                continue;
            }
            assert_eq!(
                nonces.check(Some(case), now),
                Err(NonceError::Malformed),
                "{case:?}"
            );
        }
        assert_eq!(nonces.check(None, now), Err(NonceError::Missing));
        // Every refusal is answered with the same error code.
        for error in [
            NonceError::Missing,
            NonceError::Malformed,
            NonceError::Stale,
            NonceError::ForeignKey,
        ] {
            assert_eq!(error.error_code(), "use_dpop_nonce");
            assert!(!error.to_string().contains(&good));
        }
    }

    #[test]
    fn the_configuration_is_checked_when_built() {
        let build = |secret: &[u8], rotation: u64, validity: u64| {
            DpopNonces::builder(secret)
                .rotation(Duration::from_secs(rotation))
                .validity(Duration::from_secs(validity))
                .build()
                .map(|_| ())
        };
        assert_eq!(build(&SECRET, 600, 300), Ok(()));
        assert_eq!(build(&[7; 64], 1, 1), Ok(()));
        assert_eq!(
            build(&SECRET[..31], 600, 300),
            Err(NonceConfigError::SecretTooShort { len: 31 })
        );
        assert_eq!(
            build(b"", 600, 300),
            Err(NonceConfigError::SecretTooShort { len: 0 })
        );
        assert_eq!(build(&SECRET, 0, 0), Err(NonceConfigError::Rotation));
        assert_eq!(build(&SECRET, 600, 0), Err(NonceConfigError::Validity));
        assert_eq!(
            build(&SECRET, 600, 601),
            Err(NonceConfigError::ValidityLongerThanRotation)
        );
        let sub_second = DpopNonces::builder(SECRET)
            .rotation(Duration::from_millis(999))
            .build();
        assert_eq!(sub_second.unwrap_err(), NonceConfigError::Rotation);
        // The defaults: one-hour keys, five-minute nonces.
        let defaults = DpopNonces::builder(SECRET).build().unwrap();
        assert_eq!(defaults.rotation(), Duration::from_secs(3600));
        assert_eq!(defaults.validity(), Duration::from_secs(300));
        // The secret never shows.
        let shown = format!("{defaults:?} {:?}", DpopNonces::builder(SECRET));
        assert!(!shown.contains("an example secret"), "{shown}");
    }

    /// Small windows, so "only what `issue` made" can be checked by trying every issue time.
    const SMALL_ROTATION: i64 = 4;
    const SMALL_VALIDITY: i64 = 3;

    fn small() -> DpopNonces {
        DpopNonces::builder(SECRET)
            .rotation(Duration::from_secs(SMALL_ROTATION as u64))
            .validity(Duration::from_secs(SMALL_VALIDITY as u64))
            .build()
            .unwrap()
    }

    /// Whether `nonce` is what `issue` makes for some time within the window around `now`.
    fn issued_near(nonces: &DpopNonces, nonce: &str, now: i64) -> bool {
        (now.saturating_sub(SMALL_VALIDITY)..=now.saturating_add(SMALL_VALIDITY))
            .any(|at| nonces.issue(at) == nonce)
    }

    proptest! {
        #[test]
        fn check_never_panics_and_accepts_only_issued_nonces(
            text in prop_oneof![
                any::<String>(),
                "[A-Za-z0-9_-]{34}",
                "[A-Za-z0-9_=+/-]{30,40}",
            ],
            now in prop_oneof![EPOCH - 10..EPOCH + 10, any::<i64>()],
        ) {
            let nonces = small();
            let accepted = nonces.check(Some(&text), now).is_ok();
            prop_assert_eq!(accepted, issued_near(&nonces, &text, now));
        }

        #[test]
        fn issued_nonces_are_accepted_within_the_window_only(
            issued in 0..i64::MAX / 2,
            offset in -10_i64..10,
            byte in 0_usize..25,
            bit in 0_u8..8,
        ) {
            let nonces = small();
            let nonce = nonces.issue(issued);
            let accepted = nonces.check(Some(&nonce), issued + offset).is_ok();
            prop_assert_eq!(accepted, offset.abs() <= SMALL_VALIDITY);
            // Any flipped bit makes it refused.
            let mut raw = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
            raw[byte] ^= 1 << bit;
            let tampered = URL_SAFE_NO_PAD.encode(&raw);
            prop_assert!(nonces.check(Some(&tampered), issued).is_err());
        }
    }
}
