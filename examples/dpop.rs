//! DPoP-bound tokens (RFC 9449): `cargo run --example dpop --features dpop,testing`.
//!
//! Starts the crate's test authorization server on 127.0.0.1, protects `/mcp` with a
//! `JwtVerifier` and DPoP **required** (server nonces on), serves the RFC 9728 metadata that says
//! so, then plays a DPoP client against it over real HTTP and prints each exchange:
//! a request without a nonce (401 `use_dpop_nonce`), the retry with it (200), the same proof again
//! (401, replayed), the token as a plain bearer token (401), a proof from another key (401).
//! It exits with an error if any answer is not the expected one; `SERVE=1` keeps the server up.

use std::{env, net::SocketAddr};

use axum::{Router, routing::get};
use axum_bearer::{
    AuthenticatedUser, BearerAuth, JwtVerifier, Profile, ProtectedResourceMetadata,
    dpop::{Dpop, DpopNonces},
    jsonwebtoken::Algorithm,
    testing::{DpopProver, TestIssuer},
};

async fn whoami(user: AuthenticatedUser) -> String {
    format!(
        "client {} proved key {}\n",
        user.client_id(),
        user.proof_thumbprint().unwrap_or("-")
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = env::var("PORT").map_or(Ok(0), |port| port.parse())?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let resource = format!("{base}/mcp");

    // The server: JWTs from the issuer, DPoP required, nonces every replica would agree on.
    let issuer = TestIssuer::start().await?;
    let verifier = JwtVerifier::builder()
        .discover(issuer.issuer())?
        .audience(&resource)
        .build()?;
    // In production: 32+ random bytes kept in a secret store, the same on every replica.
    let secret: [u8; 32] = rand::random();
    let dpop = Dpop::required(&base)?.nonces(DpopNonces::builder(secret).build()?);
    let metadata = ProtectedResourceMetadata::new(&resource, [issuer.issuer()])?.with_dpop(&dpop);
    let auth = BearerAuth::new(verifier)
        .profile(Profile::Spec)
        .protected_resource(&metadata)?
        .dpop(dpop);
    let app = Router::new()
        .route("/mcp", get(whoami))
        .layer(auth)
        .merge(metadata.router());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    println!(
        "DPoP example listening on {base}; metadata at {}",
        metadata.url()
    );

    // The client: a key, a token bound to it, a proof per request.
    let prover = DpopProver::new(Algorithm::ES256).ok_or("no ES256 test key")?;
    let token = issuer.mint(issuer.claims_for_bound(&resource, prover.jkt()));
    let http = reqwest::Client::new();
    let send = |authorization: String, proof: String| {
        http.get(&resource)
            .header("authorization", authorization)
            .header("dpop", proof)
            .send()
    };

    let first = prover.proof("GET", &resource).access_token(&token).sign();
    let answer = send(format!("DPoP {token}"), first).await?;
    let nonce = answer
        .headers()
        .get("dpop-nonce")
        .and_then(|nonce| nonce.to_str().ok())
        .ok_or("no DPoP-Nonce in the first answer")?
        .to_owned();
    report("no nonce yet", answer, 401).await?;

    let proof = prover
        .proof("GET", &resource)
        .access_token(&token)
        .nonce(&nonce)
        .sign();
    report(
        "with the server's nonce",
        send(format!("DPoP {token}"), proof.clone()).await?,
        200,
    )
    .await?;
    report(
        "the same proof again",
        send(format!("DPoP {token}"), proof.clone()).await?,
        401,
    )
    .await?;
    report(
        "the bound token as a bearer token",
        send(format!("Bearer {token}"), proof).await?,
        401,
    )
    .await?;
    let thief = DpopProver::with_key(Algorithm::ES256, 1).ok_or("no second key")?;
    let stolen = thief
        .proof("GET", &resource)
        .access_token(&token)
        .nonce(&nonce)
        .sign();
    report(
        "a proof from another key",
        send(format!("DPoP {token}"), stolen).await?,
        401,
    )
    .await?;

    if env::var_os("SERVE").is_some() {
        println!("Serving until Ctrl-C.");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            served = server => { served??; }
        }
    }
    Ok(())
}

/// Prints one exchange; an error if the status is not `expected`.
async fn report(
    what: &str,
    answer: reqwest::Response,
    expected: u16,
) -> Result<(), Box<dyn std::error::Error>> {
    let status = answer.status().as_u16();
    let challenge = answer
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(" | ");
    let body = answer.text().await?;
    println!("{what}: {status} {challenge} {}", body.trim_end());
    if status != expected {
        return Err(format!("{what}: expected {expected}, got {status}").into());
    }
    Ok(())
}
