//! Requests through a whole `Router` with `BearerAuth::dpop` (DPoP allowed beside `Bearer`), in
//! both profiles: arbitrary `Authorization` and `DPoP` field lines, methods and paths.
//!
//! The first byte picks the method (bits 2–4) and the form of the rest (bits 0–1):
//! - 0: field lines split on `\n`: the first is `Authorization`, the others `DPoP`;
//! - 1: `Authorization: DPoP <bound token>`, one `DPoP` proof whose claims are the rest, any
//!   bytes, signed with the public test key `p256-0` (the token's key) under a valid header;
//! - 2: `path \n htu`: the bound token and a proof that is valid but for its `htu`;
//! - 3: the rest is the `Authorization` value, beside a valid proof for the bound token.
//!
//! Beyond `check_reply`'s rules for each challenge (status in {200, 400, 401, 403, 503}, valid
//! challenges, JSON bodies): every refusal challenges with both `Bearer` and `DPoP` (with
//! `algs`), the error on one of them only; a 200 means either the unbound token as `Bearer`, or
//! the bound token as `DPoP` with one proof signed by its key for this method, this URL
//! (normalised) and this token's hash. Nothing panics.
#![no_main]

use std::sync::{
    OnceLock,
    atomic::{AtomicU64, Ordering},
};

use axum::{
    Router,
    http::{
        HeaderValue, Method, Request, StatusCode,
        header::{AUTHORIZATION, WWW_AUTHENTICATE},
    },
    routing::any,
};
use axum_bearer::{
    __fuzz::{Credentials, parse_credentials_dpop},
    AccessToken, AuthenticatedUser, BearerAuth, DEFAULT_MAX_TOKEN_LEN, Profile, StaticVerifier,
    dpop::{Dpop, access_token_hash, jwk_thumbprint, normalise_htu},
    jsonwebtoken::jwk::Jwk,
};
use axum_bearer_fuzz::{block_on, common, dpop_header, dpop_key, sign_dpop};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

const PUBLIC: &str = "https://rs.example";
const BOUND: &str = "bound-token";
const PLAIN: &str = "plain-token";
const METHODS: [Method; 8] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::HEAD,
    Method::OPTIONS,
    Method::TRACE,
];

fn apps() -> &'static [(Profile, Router); 2] {
    static APPS: OnceLock<[(Profile, Router); 2]> = OnceLock::new();
    APPS.get_or_init(|| {
        [Profile::PythonSdk, Profile::Spec].map(|profile| {
            let verifier = StaticVerifier::new([
                AccessToken::new(BOUND, "bound", ["mcp:read"])
                    .with_dpop_jkt(dpop_key().jkt.clone()),
                AccessToken::new(PLAIN, "plain", ["mcp:read"]),
            ]);
            let auth = BearerAuth::new(verifier)
                .profile(profile)
                .resource_metadata_url(common::METADATA_URL)
                .unwrap()
                .dpop(Dpop::allowed(PUBLIC).unwrap());
            let app = Router::new()
                .fallback(any(|user: AuthenticatedUser| async move {
                    format!("{:?}", user.scheme())
                }))
                .layer(auth);
            (profile, app)
        })
    })
}

/// Valid claims for `method` and `htu` with the bound token, a fresh `jti`, `iat` now.
fn claims(method: &Method, htu: &str) -> String {
    static JTI: AtomicU64 = AtomicU64::new(0);
    json!({
        "jti": format!("j{}", JTI.fetch_add(1, Ordering::Relaxed)),
        "htm": method.as_str(),
        "htu": htu,
        "iat": common::now(),
        "ath": access_token_hash(BOUND),
    })
    .to_string()
}

fn decode(part: &str) -> Map<String, Value> {
    let json = URL_SAFE_NO_PAD.decode(part).expect("accepted: base64url");
    serde_json::from_slice(&json).expect("accepted: a JSON object")
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let method = METHODS[usize::from(flags >> 2) % METHODS.len()].clone();
    let mut path = "/mcp".to_owned();
    let (authorization, proofs): (Option<Vec<u8>>, Vec<Vec<u8>>) = match flags & 3 {
        0 => {
            let mut lines = rest.split(|&b| b == b'\n');
            let authorization = lines.next().map(<[u8]>::to_vec);
            (authorization, lines.map(<[u8]>::to_vec).collect())
        }
        1 => (
            Some(format!("DPoP {BOUND}").into_bytes()),
            vec![sign_dpop(&dpop_header(), rest).into_bytes()],
        ),
        2 => {
            let (target, htu) = match rest.iter().position(|&b| b == b'\n') {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (&b"/mcp"[..], rest),
            };
            path = String::from_utf8_lossy(target).into_owned();
            let claims = claims(&method, &String::from_utf8_lossy(htu));
            (
                Some(format!("DPoP {BOUND}").into_bytes()),
                vec![sign_dpop(&dpop_header(), claims.as_bytes()).into_bytes()],
            )
        }
        _ => {
            let claims = claims(&method, &format!("{PUBLIC}/mcp"));
            (
                Some(rest.to_vec()),
                vec![sign_dpop(&dpop_header(), claims.as_bytes()).into_bytes()],
            )
        }
    };
    let Ok(request) = Request::builder()
        .method(method.clone())
        .uri(&path)
        .body(axum::body::Body::empty())
    else {
        return;
    };
    let mut request = request;
    if let Some(value) = authorization.and_then(|value| HeaderValue::from_bytes(&value).ok()) {
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    for proof in proofs
        .iter()
        .filter_map(|value| HeaderValue::from_bytes(value).ok())
    {
        request.headers_mut().append("dpop", proof);
    }
    let uri_path = request.uri().path().to_owned();
    let headers = request.headers().clone();

    for (profile, app) in apps() {
        let profile = *profile;
        let mut request = Request::builder()
            .method(method.clone())
            .uri(request.uri().clone())
            .body(axum::body::Body::empty())
            .expect("rebuilt");
        *request.headers_mut() = headers.clone();
        let reply = block_on(common::send(app, request));
        let status = reply.status.as_u16();
        assert!(
            [200, 400, 401, 403, 503].contains(&status),
            "{profile:?}: status {status}"
        );

        if reply.status != StatusCode::OK {
            if status == 503 {
                continue;
            }
            // Both challenges, valid, `algs` on DPoP, the error on one of them at most.
            let mut schemes = Vec::new();
            let mut errors = 0;
            for value in reply.headers.get_all(WWW_AUTHENTICATE) {
                let value = value.to_str().expect("visible ASCII");
                let (scheme, params) = value.split_at(value.find(' ').unwrap_or(value.len()));
                let params = common::parse_bearer_challenge(&format!("Bearer{params}"))
                    .unwrap_or_else(|error| panic!("invalid challenge {value:?}: {error}"));
                if scheme == "DPoP" {
                    assert_eq!(
                        params.get("algs").map(String::as_str),
                        Some("ES256 EdDSA RS256 PS256")
                    );
                }
                errors += usize::from(params.contains_key("error"));
                schemes.push(scheme.to_owned());
            }
            assert_eq!(schemes, ["Bearer", "DPoP"], "{profile:?} {status}");
            assert!(
                errors <= 1 || profile == Profile::PythonSdk,
                "{errors} errors"
            );
            // A HEAD answer has no body (RFC 9110 §9.3.2).
            if method != Method::HEAD {
                let body: Value = serde_json::from_slice(&reply.body).expect("a JSON body");
                assert!(body.is_object());
            }
            continue;
        }

        // Let in: the plain token as Bearer, or the bound one as DPoP with a proof for this request.
        match parse_credentials_dpop(&headers, profile, DEFAULT_MAX_TOKEN_LEN, true) {
            Credentials::Bearer(token) => {
                assert_eq!(
                    token, PLAIN,
                    "{profile:?}: let in a bearer token that is not the plain one"
                );
                if method != Method::HEAD {
                    assert_eq!(reply.text(), "Bearer");
                }
            }
            Credentials::Dpop(token) => {
                assert_eq!(
                    token, BOUND,
                    "{profile:?}: let in a DPoP token that is not the bound one"
                );
                if method != Method::HEAD {
                    assert_eq!(reply.text(), "Dpop");
                }
                let proofs: Vec<_> = headers.get_all("dpop").iter().collect();
                assert_eq!(proofs.len(), 1, "let in with {} proofs", proofs.len());
                let proof = proofs[0].to_str().expect("accepted: ASCII");
                let parts: Vec<&str> = proof.split('.').collect();
                assert_eq!(parts.len(), 3);
                let header = decode(parts[0]);
                let claims = decode(parts[1]);
                let jwk: Jwk = serde_json::from_value(header["jwk"].clone()).expect("a jwk");
                assert_eq!(
                    jwk_thumbprint(&jwk).as_deref(),
                    Some(dpop_key().jkt.as_str())
                );
                assert_eq!(claims["htm"].as_str(), Some(method.as_str()));
                let htu = claims["htu"].as_str().expect("accepted: htu");
                assert_eq!(
                    normalise_htu(htu),
                    normalise_htu(&format!("{PUBLIC}{uri_path}")),
                    "htu {htu:?} for {uri_path:?}"
                );
                assert_eq!(claims["ath"].as_str(), access_token_hash(BOUND).as_deref());
            }
            other => panic!("{profile:?}: let in with {other:?}"),
        }
    }
});
