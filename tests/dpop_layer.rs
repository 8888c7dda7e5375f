//! DPoP on the layer (RFC 9449, issue 12): `BearerAuth::dpop` in both modes, through a real
//! `Router` — every §4.3 check failing alone, the binding, the downgrade, the replay window, the
//! nonces, the challenges and the metadata.
#![cfg(all(feature = "dpop", feature = "testing"))]

mod common;

use std::collections::BTreeMap;

use axum::{
    Router,
    body::Body,
    routing::{any, get},
};
use axum_bearer::{
    AccessToken, AuthScheme, AuthenticatedUser, BearerAuth, Profile, ProtectedResourceMetadata,
    Rejection, RejectionKind, StaticVerifier,
    dpop::{Dpop, DpopConfigError, DpopNonces, DpopVerifier},
    jsonwebtoken::Algorithm,
    testing::DpopProver,
};
use common::{Reply, parse_bearer_challenge, send};
use http::{Method, Request, StatusCode, header};
use proptest::prelude::*;

const PUBLIC: &str = "https://api.example";
const RESOURCE: &str = "https://api.example/mcp";
const BOUND: &str = "bound-token";
const UNBOUND: &str = "plain-token";
const SECRET: [u8; 32] = [42; 32];

fn prover() -> DpopProver {
    DpopProver::new(Algorithm::ES256).unwrap()
}

/// A bound token (to `prover()`'s key) and an unbound one.
fn verifier() -> StaticVerifier {
    StaticVerifier::new([
        AccessToken::new(BOUND, "dpop-client", ["mcp:read"])
            .with_resource(RESOURCE)
            .with_dpop_jkt(prover().jkt()),
        AccessToken::new(UNBOUND, "bearer-client", ["mcp:read"]).with_resource(RESOURCE),
    ])
}

fn auth(profile: Profile, dpop: Dpop) -> BearerAuth {
    BearerAuth::new(verifier())
        .profile(profile)
        .resource_metadata_url("https://api.example/.well-known/oauth-protected-resource/mcp")
        .unwrap()
        .resource_server_url(RESOURCE)
        .unwrap()
        .dpop(dpop)
}

/// `/mcp` and `/files/{name}` (any method) answer `scheme jkt-or-dash client`; `/admin` needs `mcp:admin`.
fn app(auth: BearerAuth) -> Router {
    async fn whoami(user: AuthenticatedUser) -> String {
        format!(
            "{:?} {} {} {}",
            user.scheme(),
            user.is_proof_bound(),
            user.proof_thumbprint().unwrap_or("-"),
            user.client_id()
        )
    }
    async fn admin(user: AuthenticatedUser) -> Result<&'static str, Rejection> {
        user.require_scopes(["mcp:admin"])?;
        Ok("admin")
    }
    Router::new()
        .route("/mcp", get(whoami).post(whoami))
        .route("/files/{name}", any(whoami))
        .route("/admin", get(admin))
        .layer(auth)
}

fn required() -> Router {
    app(auth(Profile::Spec, Dpop::required(PUBLIC).unwrap()))
}

fn allowed() -> Router {
    app(auth(Profile::Spec, Dpop::allowed(PUBLIC).unwrap()))
}

/// `method path` with `Authorization` and the given `DPoP` header values.
fn request(
    method: &str,
    path: &str,
    authorization: Option<&str>,
    proofs: &[&str],
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(authorization) = authorization {
        builder = builder.header(header::AUTHORIZATION, authorization);
    }
    for proof in proofs {
        builder = builder.header("dpop", *proof);
    }
    builder.body(Body::empty()).unwrap()
}

/// `GET /mcp` with the bound token and `proof`.
async fn get_mcp(app: &Router, proof: &str) -> Reply {
    send(
        app,
        request("GET", "/mcp", Some(&format!("DPoP {BOUND}")), &[proof]),
    )
    .await
}

/// A valid proof for `GET https://api.example/mcp` with the bound token.
fn valid() -> String {
    prover()
        .proof("GET", "https://api.example/mcp")
        .access_token(BOUND)
        .sign()
}

/// Every `WWW-Authenticate` line, by scheme, parsed (RFC 9110 §11).
fn challenges(reply: &Reply) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut all = BTreeMap::new();
    for value in reply.headers.get_all(header::WWW_AUTHENTICATE) {
        let value = value.to_str().expect("visible ASCII");
        let (scheme, rest) = value.split_at(value.find(' ').unwrap_or(value.len()));
        let params = parse_bearer_challenge(&format!("Bearer{rest}"))
            .unwrap_or_else(|error| panic!("invalid challenge {value:?}: {error}"));
        assert!(
            all.insert(scheme.to_owned(), params).is_none(),
            "{scheme} challenged twice"
        );
    }
    all
}

/// The `DPoP` challenge's `error`, asserting the 401 and the `algs`.
fn dpop_error(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text());
    let all = challenges(reply);
    let dpop = &all["DPoP"];
    assert_eq!(dpop["algs"], "ES256 EdDSA RS256 PS256");
    assert_eq!(
        dpop["resource_metadata"],
        "https://api.example/.well-known/oauth-protected-resource/mcp"
    );
    assert_eq!(reply.json()["error"], dpop["error"].as_str());
    dpop["error"].clone()
}

#[tokio::test]
async fn a_valid_proof_with_its_bound_token_is_accepted() {
    let app = required();
    let reply = get_mcp(&app, &valid()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.text(),
        format!("Dpop true {} dpop-client", prover().jkt())
    );
    // Each algorithm the default verifier allows.
    for algorithm in [
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::RS256,
        Algorithm::PS256,
    ] {
        let prover = DpopProver::new(algorithm).unwrap();
        let token = format!("tok-{algorithm:?}");
        let single = crate::app(
            BearerAuth::new(StaticVerifier::new([AccessToken::new(
                token.as_str(),
                "c",
                ["mcp:read"],
            )
            .with_dpop_jkt(prover.jkt())]))
            .dpop(Dpop::required(PUBLIC).unwrap()),
        );
        let proof = prover
            .proof("POST", "https://api.example/mcp")
            .access_token(&token)
            .sign();
        let reply = send(
            &single,
            request("POST", "/mcp", Some(&format!("DPoP {token}")), &[&proof]),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{algorithm:?}: {}",
            reply.text()
        );
    }
}

#[tokio::test]
async fn each_check_failing_alone_is_refused_with_its_error() {
    let app = required();
    let url = "https://api.example/mcp";
    let p = prover();
    let now = common::now();
    let cases: Vec<(&str, String)> = vec![
        ("not a JWS", "abc".into()),
        ("three parts, not JSON", "a.b.c".into()),
        (
            "typ",
            p.proof("GET", url)
                .access_token(BOUND)
                .header("typ", "JWT")
                .sign(),
        ),
        (
            "HMAC",
            p.proof("GET", url)
                .access_token(BOUND)
                .hs256(&[1; 32])
                .sign(),
        ),
        (
            "none",
            p.proof("GET", url).access_token(BOUND).unsigned().sign(),
        ),
        (
            "private key in jwk",
            p.proof("GET", url)
                .access_token(BOUND)
                .private_key_in_jwk()
                .sign(),
        ),
        (
            "no jwk",
            p.proof("GET", url)
                .access_token(BOUND)
                .without_header("jwk")
                .sign(),
        ),
        (
            "signature",
            p.proof("GET", url)
                .access_token(BOUND)
                .bad_signature()
                .sign(),
        ),
        (
            "no jti",
            p.proof("GET", url)
                .access_token(BOUND)
                .without_claim("jti")
                .sign(),
        ),
        ("htm", p.proof("POST", url).access_token(BOUND).sign()),
        (
            "htu of another URL",
            p.proof("GET", "https://api.example/other")
                .access_token(BOUND)
                .sign(),
        ),
        (
            "htu of another host",
            p.proof("GET", "https://evil.example/mcp")
                .access_token(BOUND)
                .sign(),
        ),
        (
            "iat too old",
            p.proof("GET", url)
                .access_token(BOUND)
                .iat(now - 310)
                .sign(),
        ),
        (
            "iat in the future",
            p.proof("GET", url)
                .access_token(BOUND)
                .iat(now + 310)
                .sign(),
        ),
        ("no ath", p.proof("GET", url).sign()),
        (
            "ath of another token",
            p.proof("GET", url).access_token(UNBOUND).sign(),
        ),
    ];
    for (case, proof) in cases {
        let reply = get_mcp(&app, &proof).await;
        assert_eq!(dpop_error(&reply), "invalid_dpop_proof", "{case}");
        let all = challenges(&reply);
        assert!(!all.contains_key("Bearer"), "{case}: required mode");
        assert!(!all["DPoP"]["error_description"].is_empty(), "{case}");
    }
}

#[tokio::test]
async fn iat_just_inside_the_window_is_accepted() {
    let app = required();
    // ±300 s is the window; a second either side of the clock's tick is left for the test.
    for offset in [-298, 298] {
        let proof = prover()
            .proof("GET", "https://api.example/mcp")
            .access_token(BOUND)
            .iat(common::now() + offset)
            .sign();
        let reply = get_mcp(&app, &proof).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "iat {offset}: {}",
            reply.text()
        );
    }
}

#[tokio::test]
async fn the_proof_header_must_be_there_once() {
    let app = required();
    let authorization = format!("DPoP {BOUND}");
    let reply = send(&app, request("GET", "/mcp", Some(&authorization), &[])).await;
    assert_eq!(dpop_error(&reply), "invalid_dpop_proof");
    assert_eq!(
        challenges(&reply)["DPoP"]["error_description"],
        "DPoP proof missing"
    );
    let (one, two) = (valid(), valid());
    let reply = send(
        &app,
        request("GET", "/mcp", Some(&authorization), &[&one, &two]),
    )
    .await;
    assert_eq!(dpop_error(&reply), "invalid_dpop_proof");
    assert_eq!(
        challenges(&reply)["DPoP"]["error_description"],
        "More than one DPoP header"
    );
}

#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let app = required();
    let proof = valid();
    assert_eq!(get_mcp(&app, &proof).await.status, StatusCode::OK);
    let reply = get_mcp(&app, &proof).await;
    assert_eq!(dpop_error(&reply), "invalid_dpop_proof");
    assert_eq!(
        challenges(&reply)["DPoP"]["error_description"],
        "DPoP proof replayed"
    );
}

#[tokio::test]
async fn a_refused_token_does_not_use_up_its_proof() {
    let app = required();
    // The proof is fine, the token unknown: nothing is recorded, so the jti is still free.
    let proof = prover()
        .proof("GET", "https://api.example/mcp")
        .access_token("unknown")
        .sign();
    let reply = send(
        &app,
        request("GET", "/mcp", Some("DPoP unknown"), &[&proof]),
    )
    .await;
    assert_eq!(dpop_error(&reply), "invalid_token");
}

#[tokio::test]
async fn the_token_must_be_bound_to_the_proofs_key() {
    let app = required();
    // Another key signs a proof that is valid in itself.
    let other = DpopProver::with_key(Algorithm::ES256, 1).unwrap();
    let proof = other
        .proof("GET", "https://api.example/mcp")
        .access_token(BOUND)
        .sign();
    let reply = get_mcp(&app, &proof).await;
    assert_eq!(dpop_error(&reply), "invalid_token");
    assert_eq!(
        challenges(&reply)["DPoP"]["error_description"],
        "Invalid DPoP key binding"
    );
    // An unbound token with the DPoP scheme.
    let proof = prover()
        .proof("GET", "https://api.example/mcp")
        .access_token(UNBOUND)
        .sign();
    let reply = send(
        &app,
        request("GET", "/mcp", Some(&format!("DPoP {UNBOUND}")), &[&proof]),
    )
    .await;
    assert_eq!(dpop_error(&reply), "invalid_token");
    assert_eq!(
        challenges(&reply)["DPoP"]["error_description"],
        "The access token is not DPoP-bound"
    );
}

#[tokio::test]
async fn required_mode_treats_bearer_as_absent() {
    let app = required();
    for authorization in [
        None,
        Some(format!("Bearer {UNBOUND}")),
        Some(format!("Bearer {BOUND}")),
    ] {
        let reply = send(&app, request("GET", "/mcp", authorization.as_deref(), &[])).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        let all = challenges(&reply);
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            ["DPoP"],
            "{authorization:?}"
        );
        // RFC 6750 §3.1: no error for credentials of a scheme the server does not take.
        assert!(!all["DPoP"].contains_key("error"), "{authorization:?}");
        assert_eq!(all["DPoP"]["algs"], "ES256 EdDSA RS256 PS256");
    }
}

#[tokio::test]
async fn allowed_mode_takes_unbound_bearer_tokens_and_refuses_the_downgrade() {
    let app = allowed();
    let reply = send(
        &app,
        request("GET", "/mcp", Some(&format!("Bearer {UNBOUND}")), &[]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), "Bearer false - bearer-client");

    // A bound token as a bearer token: refused, the error on the Bearer challenge.
    let reply = send(
        &app,
        request("GET", "/mcp", Some(&format!("Bearer {BOUND}")), &[]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let all = challenges(&reply);
    assert_eq!(all["Bearer"]["error"], "invalid_token");
    assert!(!all["DPoP"].contains_key("error"));
    assert_eq!(all["DPoP"]["algs"], "ES256 EdDSA RS256 PS256");
    // With a valid proof beside it, still refused: the scheme says Bearer.
    let reply = send(
        &app,
        request("GET", "/mcp", Some(&format!("Bearer {BOUND}")), &[&valid()]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // No credentials: both challenges, no error (RFC 9449 §7.1), Bearer first.
    let reply = send(&app, request("GET", "/mcp", None, &[])).await;
    let lines: Vec<_> = reply
        .headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        lines,
        [
            "Bearer resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/mcp\"",
            "DPoP algs=\"ES256 EdDSA RS256 PS256\", resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/mcp\"",
        ]
    );

    // A DPoP failure puts its error on the DPoP challenge only.
    let reply = get_mcp(&app, "not-a-proof").await;
    assert_eq!(dpop_error(&reply), "invalid_dpop_proof");
    assert!(!challenges(&reply)["Bearer"].contains_key("error"));
    // And DPoP works.
    assert_eq!(get_mcp(&app, &valid()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn insufficient_scope_names_the_scheme_used() {
    let app = allowed();
    let proof = prover()
        .proof("GET", "https://api.example/admin")
        .access_token(BOUND)
        .sign();
    let reply = send(
        &app,
        request("GET", "/admin", Some(&format!("DPoP {BOUND}")), &[&proof]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let all = challenges(&reply);
    assert_eq!(all["DPoP"]["error"], "insufficient_scope");
    assert_eq!(all["DPoP"]["scope"], "mcp:admin");
    assert!(!all["Bearer"].contains_key("error"));
}

#[tokio::test]
async fn malformed_dpop_credentials_are_a_bad_request() {
    let app = required();
    for authorization in ["DPoP", "DPoP a b", "DPoP\ttoken"] {
        let reply = send(
            &app,
            request("GET", "/mcp", Some(authorization), &[&valid()]),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{authorization}");
        let all = challenges(&reply);
        assert_eq!(all["DPoP"]["error"], "invalid_request", "{authorization}");
    }
    let reply = send(
        &app,
        request("GET", "/mcp", Some("DPoP caf\u{e9}"), &[&valid()]),
    )
    .await;
    assert_eq!(dpop_error(&reply), "invalid_token");
}

#[tokio::test]
async fn htu_is_the_public_url_and_path_normalised_without_query() {
    // The configured public URL in another case, with the default port.
    let app = app(auth(
        Profile::Spec,
        Dpop::required("HTTPS://API.Example:443/").unwrap(),
    ));
    for (target, htu) in [
        ("/mcp", "https://api.example/mcp"),
        ("/mcp?page=2", "https://api.example/mcp"),
        ("/mcp", "https://API.EXAMPLE:443/mcp"),
        ("/mcp", "https://api.example./mcp"),
        ("/mcp", "https://api.example/mcp?x=1#frag"),
        ("/files/a%2fb", "https://api.example/files/a%2Fb"),
        ("/files/~user", "https://api.example/files/%7euser"),
    ] {
        let proof = prover().proof("GET", htu).access_token(BOUND).sign();
        let reply = send(
            &app,
            request("GET", target, Some(&format!("DPoP {BOUND}")), &[&proof]),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{target} with htu {htu}: {}",
            reply.text()
        );
    }
    // The Host header does not count: the proof must name the public URL.
    let proof = prover()
        .proof("GET", "http://internal:8080/mcp")
        .access_token(BOUND)
        .sign();
    let mut forged = request("GET", "/mcp", Some(&format!("DPoP {BOUND}")), &[&proof]);
    forged
        .headers_mut()
        .insert(header::HOST, "internal:8080".parse().unwrap());
    assert_eq!(dpop_error(&send(&app, forged).await), "invalid_dpop_proof");
}

#[tokio::test]
async fn a_layer_inside_a_nested_router_names_its_prefix_in_the_public_url() {
    let inner = app(auth(
        Profile::Spec,
        Dpop::required("https://api.example/v1").unwrap(),
    ));
    let outer = Router::new().nest("/v1", inner);
    let proof = prover()
        .proof("GET", "https://api.example/v1/mcp")
        .access_token(BOUND)
        .sign();
    let reply = send(
        &outer,
        request("GET", "/v1/mcp", Some(&format!("DPoP {BOUND}")), &[&proof]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

fn nonces() -> DpopNonces {
    DpopNonces::builder(SECRET).build().unwrap()
}

#[tokio::test]
async fn nonces_are_required_when_configured() {
    let app = app(auth(
        Profile::Spec,
        Dpop::required(PUBLIC).unwrap().nonces(nonces()),
    ));
    let url = "https://api.example/mcp";
    // Missing: 401 use_dpop_nonce, and a nonce to use.
    let reply = get_mcp(&app, &valid()).await;
    assert_eq!(dpop_error(&reply), "use_dpop_nonce");
    let nonce = reply.headers["dpop-nonce"].to_str().unwrap().to_owned();
    assert_eq!(nonces().check(Some(&nonce), common::now()), Ok(()));
    // With it: accepted.
    let proof = prover()
        .proof("GET", url)
        .access_token(BOUND)
        .nonce(&nonce)
        .sign();
    assert_eq!(get_mcp(&app, &proof).await.status, StatusCode::OK);
    // Stale (issued 10 minutes ago), forged, or from another secret: refused with a fresh one.
    let stale = nonces().issue(common::now() - 600);
    let foreign = DpopNonces::builder([9_u8; 32])
        .build()
        .unwrap()
        .issue(common::now());
    // Issued under the key of two rotations ago.
    let rotated = nonces().issue(common::now() - 2 * 3600);
    for (case, nonce) in [
        ("stale", stale.as_str()),
        ("another secret", foreign.as_str()),
        ("another rotation", rotated.as_str()),
        ("garbage", "xyz"),
    ] {
        let proof = prover()
            .proof("GET", url)
            .access_token(BOUND)
            .nonce(nonce)
            .sign();
        let reply = get_mcp(&app, &proof).await;
        assert_eq!(dpop_error(&reply), "use_dpop_nonce", "{case}");
        assert!(reply.headers.contains_key("dpop-nonce"), "{case}");
    }
    // Other refusals carry no nonce.
    let reply = get_mcp(&app, "not-a-proof").await;
    assert!(!reply.headers.contains_key("dpop-nonce"));
}

#[tokio::test]
async fn a_replay_store_that_cannot_answer_gives_503() {
    let verifier = DpopVerifier::builder()
        .replay_store(common::DownReplayStore)
        .build()
        .unwrap();
    let app = app(auth(
        Profile::Spec,
        Dpop::required(PUBLIC).unwrap().verifier(verifier),
    ));
    let reply = get_mcp(&app, &valid()).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["error"], "temporarily_unavailable");
}

#[tokio::test]
async fn the_python_sdk_profile_keeps_its_bearer_challenge_and_adds_dpop() {
    let app = app(auth(Profile::PythonSdk, Dpop::allowed(PUBLIC).unwrap()));
    let reply = send(&app, request("GET", "/mcp", None, &[])).await;
    let all = challenges(&reply);
    assert_eq!(all["Bearer"]["error"], "invalid_token");
    assert_eq!(
        all["Bearer"]["error_description"],
        "Authentication required"
    );
    assert!(!all["DPoP"].contains_key("error"));
    let reply = get_mcp(&app, "garbage").await;
    assert_eq!(dpop_error(&reply), "invalid_dpop_proof");
    assert_eq!(
        reply.text(),
        r#"{"error": "invalid_dpop_proof", "error_description": "DPoP proof is not a well-formed JWS"}"#
    );
    assert_eq!(get_mcp(&app, &valid()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn without_dpop_the_scheme_is_foreign_as_before() {
    let app = app(BearerAuth::new(verifier()).profile(Profile::Spec));
    let reply = get_mcp(&app, &valid()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let values: Vec<_> = reply
        .headers
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .collect();
    assert_eq!(values, ["Bearer realm=\"api\""]);
    // And a bound token is still a bearer token there (nothing changes when DPoP is off).
    let reply = send(
        &app,
        request("GET", "/mcp", Some(&format!("Bearer {BOUND}")), &[]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn rejections_say_which_scheme_carries_the_error() {
    async fn probe(user: Result<AuthenticatedUser, Rejection>) -> String {
        match user {
            Ok(user) => format!("ok {:?}", user.scheme()),
            Err(rejection) => format!("{:?} {:?}", rejection.kind(), rejection.scheme()),
        }
    }
    let app = Router::new()
        .route("/mcp", get(probe))
        .layer(auth(Profile::Spec, Dpop::allowed(PUBLIC).unwrap()));
    let text = |reply: Reply| reply.text().to_owned();
    assert_eq!(text(get_mcp(&app, "x").await), "InvalidDpopProof Dpop");
    assert_eq!(
        text(
            send(
                &app,
                request("GET", "/mcp", Some(&format!("Bearer {BOUND}")), &[])
            )
            .await
        ),
        "InvalidToken Bearer"
    );
    assert_eq!(text(get_mcp(&app, &valid()).await), "ok Dpop");
    assert_eq!(format!("{:?}", RejectionKind::UseDpopNonce), "UseDpopNonce");
    assert_eq!(AuthScheme::default(), AuthScheme::Bearer);
}

#[test]
fn the_public_url_is_checked() {
    for bad in [
        "api.example",
        "http://api.example",
        "ftp://api.example",
        "https://api.example/?q=1",
        "https://api.example/#f",
        "https://user:pw@api.example",
    ] {
        assert!(
            matches!(Dpop::required(bad), Err(DpopConfigError::PublicUrl { .. })),
            "{bad}"
        );
    }
    assert_eq!(
        Dpop::allowed("http://127.0.0.1:8080/")
            .unwrap()
            .public_url(),
        "http://127.0.0.1:8080"
    );
    assert!(Dpop::allowed("http://localhost:3000/api").is_ok());
}

#[test]
fn metadata_follows_the_mode() {
    let metadata = |dpop: &Dpop| {
        ProtectedResourceMetadata::new(RESOURCE, ["https://as.example"])
            .unwrap()
            .with_dpop(dpop)
    };
    let required = metadata(&Dpop::required(PUBLIC).unwrap());
    assert!(required.dpop_bound_access_tokens_required());
    assert_eq!(
        required.dpop_signing_alg_values_supported(),
        ["ES256", "EdDSA", "RS256", "PS256"]
    );
    let es256_only = Dpop::allowed(PUBLIC).unwrap().verifier(
        DpopVerifier::builder()
            .algorithms([Algorithm::ES256])
            .build()
            .unwrap(),
    );
    let allowed = metadata(&es256_only);
    assert!(!allowed.dpop_bound_access_tokens_required());
    assert_eq!(allowed.dpop_signing_alg_values_supported(), ["ES256"]);
    assert!(
        !allowed
            .to_json()
            .contains("dpop_bound_access_tokens_required")
    );
}

/// A method and a path (with optional query) a request may have.
fn target() -> impl Strategy<Value = (Method, String)> {
    let method = prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ]);
    let path = prop::collection::vec("[a-z0-9][a-z0-9._~-]{0,5}", 1..4)
        .prop_map(|segments| format!("/files/{}", segments.join("-")));
    (method, path)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// No proof is accepted for a method or URL other than the request's; the one for the
    /// request itself is.
    #[test]
    fn no_proof_is_accepted_for_another_request((method, path) in target(), (other_method, other_path) in target()) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let app = required();
            let authorization = format!("DPoP {BOUND}");
            let sign = |method: &Method, path: &str| {
                prover()
                    .proof(method.as_str(), &format!("https://api.example{path}"))
                    .access_token(BOUND)
                    .sign()
            };
            let send_as = |proof: String| {
                let app = app.clone();
                let request = request(method.as_str(), &path, Some(&authorization), &[&proof]);
                async move { send(&app, request).await.status }
            };
            prop_assert_eq!(send_as(sign(&method, &path)).await, StatusCode::OK);
            if other_method != method {
                prop_assert_eq!(send_as(sign(&other_method, &path)).await, StatusCode::UNAUTHORIZED);
            }
            if other_path != path {
                prop_assert_eq!(send_as(sign(&method, &other_path)).await, StatusCode::UNAUTHORIZED);
            }
            Ok(())
        })?;
    }
}

/// The shipped verifiers fill `cnf.jkt` from a real (loopback) authorization server: a bound JWT
/// and a bound introspection answer get in with their proof only, and never as bearer tokens.
#[tokio::test]
async fn jwt_and_introspection_tokens_bound_by_a_real_authorization_server() {
    use axum_bearer::{IntrospectionVerifier, JwtVerifier, TokenVerifier, testing::TestIssuer};

    let issuer = TestIssuer::start().await.unwrap();
    let jwt = JwtVerifier::builder()
        .issuer(issuer.issuer())
        .audience(RESOURCE)
        .jwks_url(issuer.jwks_url())
        .unwrap()
        .build()
        .unwrap();
    let introspection = IntrospectionVerifier::builder(issuer.introspection_url())
        .unwrap()
        .no_client_authentication()
        .issuer(issuer.issuer())
        .audience(RESOURCE)
        .build()
        .unwrap();
    let bound_jwt = issuer.mint(issuer.claims_for_bound(RESOURCE, prover().jkt()));
    issuer.register_token(
        "opaque-bound",
        issuer.introspection_for_bound(RESOURCE, prover().jkt()),
    );
    issuer.register_token("opaque-plain", issuer.introspection_for(RESOURCE));

    async fn run(verifier: impl TokenVerifier, bound: &str, plain: Option<&str>) {
        let app = app(BearerAuth::new(verifier)
            .profile(Profile::Spec)
            .resource_metadata_url("https://api.example/.well-known/oauth-protected-resource/mcp")
            .unwrap()
            .resource_server_url(RESOURCE)
            .unwrap()
            .dpop(Dpop::allowed(PUBLIC).unwrap()));
        let proof = prover()
            .proof("GET", "https://api.example/mcp")
            .access_token(bound)
            .sign();
        let authorization = format!("DPoP {bound}");
        let reply = send(
            &app,
            request("GET", "/mcp", Some(&authorization), &[&proof]),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert!(
            reply
                .text()
                .starts_with(&format!("Dpop true {}", prover().jkt()))
        );
        let reply = send(
            &app,
            request("GET", "/mcp", Some(&format!("Bearer {bound}")), &[]),
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(challenges(&reply)["Bearer"]["error"], "invalid_token");
        if let Some(plain) = plain {
            let reply = send(
                &app,
                request("GET", "/mcp", Some(&format!("Bearer {plain}")), &[]),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK);
            let proof = prover()
                .proof("GET", "https://api.example/mcp")
                .access_token(plain)
                .sign();
            let reply = send(
                &app,
                request("GET", "/mcp", Some(&format!("DPoP {plain}")), &[&proof]),
            )
            .await;
            assert_eq!(dpop_error(&reply), "invalid_token");
        }
    }
    run(jwt, &bound_jwt, None).await;
    run(introspection, "opaque-bound", Some("opaque-plain")).await;
}

/// A refusal built by the application from the request's extensions names the scheme the caller
/// used, once the layer verified it (eagerly).
#[tokio::test]
async fn application_refusals_follow_the_callers_scheme() {
    use axum::{extract::Request as AxumRequest, middleware::Next, response::IntoResponse};

    async fn refuse_everyone(request: AxumRequest, _next: Next) -> axum::response::Response {
        Rejection::invalid_token_for(request.extensions())
            .with_description("Closed for maintenance")
            .into_response()
    }
    let app = Router::new()
        .route("/mcp", get(|| async { "never" }))
        .layer(axum::middleware::from_fn(refuse_everyone))
        .layer(auth(Profile::Spec, Dpop::allowed(PUBLIC).unwrap()).verify_eagerly());
    let reply = get_mcp(&app, &valid()).await;
    assert_eq!(dpop_error(&reply), "invalid_token");
    assert_eq!(
        challenges(&reply)["DPoP"]["error_description"],
        "Closed for maintenance"
    );
    let reply = send(
        &app,
        request("GET", "/mcp", Some(&format!("Bearer {UNBOUND}")), &[]),
    )
    .await;
    assert_eq!(challenges(&reply)["Bearer"]["error"], "invalid_token");
    assert!(!challenges(&reply)["DPoP"].contains_key("error"));
}

/// With DPoP required, the DPoP challenge is the only one: it carries the route's scopes
/// (`Spec`) and the error of a malformed `Authorization`, whatever its scheme.
#[tokio::test]
async fn required_mode_puts_everything_on_the_dpop_challenge() {
    let app = Router::new()
        .route(
            "/mcp",
            get(|| async { "ok" })
                .route_layer(axum_bearer::RequireScopesLayer::new(["mcp:read"]).unwrap()),
        )
        .layer(auth(Profile::Spec, Dpop::required(PUBLIC).unwrap()));
    let reply = send(&app, request("GET", "/mcp", None, &[])).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let all = challenges(&reply);
    assert_eq!(all["DPoP"]["scope"], "mcp:read");
    assert!(!all["DPoP"].contains_key("error"));

    let reply = send(&app, request("GET", "/mcp", Some("Bearer a b"), &[])).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(challenges(&reply)["DPoP"]["error"], "invalid_request");
    assert_eq!(reply.json()["error"], "invalid_request");
}

/// A request without credentials learns the scopes from either challenge (`Spec`).
#[tokio::test]
async fn both_challenges_name_the_scopes_of_a_request_without_credentials() {
    let app = Router::new()
        .route(
            "/mcp",
            get(|| async { "ok" })
                .route_layer(axum_bearer::RequireScopesLayer::new(["mcp:read"]).unwrap()),
        )
        .layer(auth(Profile::Spec, Dpop::allowed(PUBLIC).unwrap()));
    let reply = send(&app, request("GET", "/mcp", None, &[])).await;
    let all = challenges(&reply);
    assert_eq!(all["Bearer"]["scope"], "mcp:read");
    assert_eq!(all["DPoP"]["scope"], "mcp:read");
    // With an error, only the challenge that carries it names them.
    let reply = get_mcp(&app, "not-a-proof").await;
    let all = challenges(&reply);
    assert_eq!(all["DPoP"]["scope"], "mcp:read");
    assert!(!all["Bearer"].contains_key("scope"));
}

/// A proof names one resource: a request path that the `htu` normalisation would restructure
/// (dot segments, `\\`, encoded unreserved characters) is refused, since the router serves it as
/// sent — a proof for `/mcp` must not open `/files/{*rest}` (found in review).
#[tokio::test]
async fn a_proof_for_one_route_never_opens_another() {
    let app = Router::new()
        .route("/mcp", get(|_: AuthenticatedUser| async { "mcp" }))
        .route(
            "/files/{*rest}",
            get(|_: AuthenticatedUser| async { "files" }),
        )
        .layer(auth(Profile::Spec, Dpop::required(PUBLIC).unwrap()));
    for target in [
        "/files/x/../../mcp",
        "/files/%2e%2e/mcp",
        "/files/%2E%2E/mcp",
        "/files/.%2e/mcp",
        "/files/./../mcp",
    ] {
        let proof = prover()
            .proof("GET", "https://api.example/mcp")
            .access_token(BOUND)
            .sign();
        let reply = send(
            &app,
            request("GET", target, Some(&format!("DPoP {BOUND}")), &[&proof]),
        )
        .await;
        assert_eq!(dpop_error(&reply), "invalid_dpop_proof", "{target}");
        assert_eq!(
            challenges(&reply)["DPoP"]["error_description"],
            "DPoP proof htu does not match the request",
            "{target}"
        );
    }

    // Over a real socket, where hyper takes what `http::Uri` would not (a backslash).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    for target in ["/files/x\\..\\..\\mcp", "/files/x/../../mcp"] {
        let proof = prover()
            .proof("GET", "https://api.example/mcp")
            .access_token(BOUND)
            .sign();
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let raw = format!(
            "GET {target} HTTP/1.1\r\nHost: evil.example\r\nAuthorization: DPoP {BOUND}\r\nDPoP: {proof}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(raw.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_string(&mut answer),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 401") || answer.starts_with("HTTP/1.1 400"),
            "{target}: {}",
            answer.lines().next().unwrap_or_default()
        );
        assert!(!answer.ends_with("files"), "{target}");
    }
    server.abort();
}

/// A proof is remembered as long as the `iat` check would accept it, to the end of its last
/// whole second (found in review: the entry expired up to a second early).
#[tokio::test]
async fn a_proof_cannot_be_replayed_in_the_last_second_of_its_window() {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let now = || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    let verifier = DpopVerifier::builder()
        .iat_window(Duration::from_secs(2))
        .build()
        .unwrap();
    let app = app(auth(
        Profile::Spec,
        Dpop::required(PUBLIC).unwrap().verifier(verifier),
    ));
    // Just after a second boundary `s`, a proof of `s - 1`: accepted through second `s + 1`.
    tokio::time::sleep(Duration::from_secs_f64(1.05 - now().fract())).await;
    let second = now().floor() as i64;
    let proof = prover()
        .proof("GET", "https://api.example/mcp")
        .access_token(BOUND)
        .iat(second - 1)
        .sign();
    assert_eq!(get_mcp(&app, &proof).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_secs_f64(
        (second as f64 + 1.6 - now()).max(0.0),
    ))
    .await;
    assert_eq!(now().floor() as i64, second + 1, "the test ran late");
    let replay = get_mcp(&app, &proof).await;
    assert_eq!(dpop_error(&replay), "invalid_dpop_proof");
}

/// On the layer, nonces come from `Dpop::nonces`, which can hand one out with every
/// `use_dpop_nonce`; a verifier's own nonce check (which cannot) is not used (found in review).
#[tokio::test]
async fn a_verifiers_own_nonce_check_is_not_used_on_the_layer() {
    let verifier = DpopVerifier::builder()
        .nonce_check(|nonce: &str| nonce == "server-nonce")
        .build()
        .unwrap();
    let app = crate::app(auth(
        Profile::Spec,
        Dpop::required(PUBLIC).unwrap().verifier(verifier.clone()),
    ));
    assert_eq!(get_mcp(&app, &valid()).await.status, StatusCode::OK);
    // With `nonces`, theirs apply, and every `use_dpop_nonce` carries one.
    let app = crate::app(auth(
        Profile::Spec,
        Dpop::required(PUBLIC)
            .unwrap()
            .verifier(verifier)
            .nonces(nonces()),
    ));
    let reply = get_mcp(&app, &valid()).await;
    assert_eq!(dpop_error(&reply), "use_dpop_nonce");
    assert!(reply.headers.contains_key("dpop-nonce"));
}

#[test]
fn a_refused_public_url_never_shows_its_password() {
    let error = Dpop::required("http://user:hunter2@api.example/").unwrap_err();
    let text = error.to_string();
    assert!(
        !text.contains("hunter2") && !text.contains("user"),
        "{text}"
    );
    assert!(text.contains("***@api.example"), "{text}");
}
