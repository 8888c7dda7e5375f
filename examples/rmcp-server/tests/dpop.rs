//! The binary with `DPOP` set, over real HTTP on 127.0.0.1: JWTs from the crate's loopback issuer
//! bound to a test key (`cnf.jkt`), proofs signed by `testing::DpopProver`, and the metadata
//! announcing it. `DPOP=required` refuses `Bearer`; `DPOP=allowed` takes both; anything else, or
//! a public URL the layer refuses, stops the binary before it listens.

mod common;

use std::{process::Stdio, time::Duration};

use axum_bearer::{
    jsonwebtoken::Algorithm,
    testing::{DpopProver, TestIssuer},
};
use common::{Reply, example_command, send};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Child,
};

const METADATA: &str = "/.well-known/oauth-protected-resource/mcp";
const ALGS: &str = "ES256 EdDSA RS256 PS256";

/// Starts the binary with `env`; the child (killed on drop), its MCP URL (from the
/// `listening on` line) and its `DPoP:` line.
async fn start(env: &[(&str, &str)]) -> (Child, String, String) {
    let mut child = example_command(env)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut url = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some((_, rest)) = line.split_once("listening on ") {
            url = Some(rest.trim().to_owned());
        }
        if let Some(dpop) = line.strip_prefix("DPoP: ") {
            let url = url.expect("the DPoP line after the listening line");
            let dpop = dpop.to_owned();
            // Keep draining stdout so the child never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (child, url, dpop);
        }
    }
    panic!("the example exited before printing its DPoP line");
}

/// Runs the binary with `env`, which must refuse to start: its stderr.
async fn refused(env: &[(&str, &str)]) -> String {
    let child = example_command(env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example binary");
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the example should exit")
        .unwrap();
    assert!(!output.status.success(), "{env:?} started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A POST to `/mcp` with `authorization` and a `DPoP` proof, if given, in `session`, if given.
async fn mcp(
    base: &str,
    authorization: &str,
    proof: Option<&str>,
    session: Option<&str>,
    message: &Value,
) -> Reply {
    let mut headers = vec![("Authorization", authorization)];
    if let Some(proof) = proof {
        headers.push(("DPoP", proof));
    }
    if let Some(session) = session {
        headers.push(("Mcp-Session-Id", session));
    }
    send(base, "POST", "/mcp", &headers, Some(message)).await
}

fn initialize() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "dpop", "version": "1" }
        }
    })
}

fn whoami_call() -> Value {
    json!({
        "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": "whoami", "arguments": {} }
    })
}

fn base_of(mcp: &str) -> &str {
    mcp.strip_suffix("/mcp")
        .expect("an MCP URL ending with /mcp")
}

/// The metadata document at `base`.
async fn metadata(base: &str) -> Value {
    let reply = send(base, "GET", METADATA, &[], None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

#[tokio::test]
async fn dpop_required_takes_bound_tokens_with_fresh_proofs_only() {
    let issuer = TestIssuer::start().await.unwrap();
    let (_child, mcp_url, line) =
        start(&[("JWT_ISSUER", issuer.issuer()), ("DPOP", "required")]).await;
    let base = base_of(&mcp_url);
    assert_eq!(
        line,
        format!("required (Bearer refused), proofs for {base}/…")
    );
    let prover = DpopProver::new(Algorithm::ES256).unwrap();
    let token = issuer.mint(issuer.claims_for_bound(&mcp_url, prover.jkt()));
    let authorization = format!("DPoP {token}");
    let proof = || prover.proof("POST", &mcp_url).access_token(&token).sign();

    // initialize with a proof and the bound JWT → 200 and a session.
    let reply = mcp(base, &authorization, Some(&proof()), None, &initialize()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let session = reply
        .header("mcp-session-id")
        .expect("a session id")
        .to_owned();
    let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
    let reply = mcp(
        base,
        &authorization,
        Some(&proof()),
        Some(&session),
        &initialized,
    )
    .await;
    assert_eq!(reply.status, 202, "{}", reply.body);

    // whoami with a fresh proof: the caller, with the key it proved.
    let whoami_proof = proof();
    let reply = mcp(
        base,
        &authorization,
        Some(&whoami_proof),
        Some(&session),
        &whoami_call(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json()["result"]["structuredContent"],
        json!({
            "client_id": "client-1",
            "subject": "user-1",
            "issuer": issuer.issuer(),
            "scopes": ["mcp:read"],
            "proof_thumbprint": prover.jkt(),
        })
    );

    // The same proof again: a replay.
    let reply = mcp(
        base,
        &authorization,
        Some(&whoami_proof),
        Some(&session),
        &whoami_call(),
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    let challenges = reply.all("www-authenticate");
    assert_eq!(challenges.len(), 1, "{challenges:?}");
    assert!(
        challenges[0].starts_with("DPoP ")
            && challenges[0].contains("error=\"invalid_dpop_proof\"")
            && challenges[0].contains(&format!("algs=\"{ALGS}\"")),
        "{challenges:?}"
    );

    // The token with another key's proof: not bound to it.
    let thief = DpopProver::with_key(Algorithm::ES256, 1).unwrap();
    let stolen = thief.proof("POST", &mcp_url).access_token(&token).sign();
    let reply = mcp(
        base,
        &authorization,
        Some(&stolen),
        Some(&session),
        &whoami_call(),
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(
        reply.all("www-authenticate")[0].contains("error=\"invalid_token\""),
        "{:?}",
        reply.all("www-authenticate")
    );

    // Bearer counts as no credentials: only the DPoP challenge, without an error.
    let reply = mcp(
        base,
        &format!("Bearer {token}"),
        None,
        Some(&session),
        &whoami_call(),
    )
    .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    let expected =
        format!("DPoP scope=\"mcp:read\", algs=\"{ALGS}\", resource_metadata=\"{base}{METADATA}\"");
    assert_eq!(reply.all("www-authenticate"), [expected.as_str()]);
    // As does no token at all.
    let reply = send(base, "POST", "/mcp", &[], Some(&initialize())).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.all("www-authenticate"), [expected.as_str()]);

    // The metadata says so.
    let document = metadata(base).await;
    assert_eq!(document["resource"], mcp_url);
    assert_eq!(document["dpop_bound_access_tokens_required"], true);
    assert_eq!(
        document["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256", "PS256"])
    );
}

#[tokio::test]
async fn dpop_allowed_takes_bearer_and_bound_tokens() {
    let issuer = TestIssuer::start().await.unwrap();
    let (_child, mcp_url, line) =
        start(&[("JWT_ISSUER", issuer.issuer()), ("DPOP", "allowed")]).await;
    let base = base_of(&mcp_url);
    assert_eq!(
        line,
        format!("allowed (beside Bearer), proofs for {base}/…")
    );

    // No token: a Bearer challenge, then a DPoP one, each its own header line.
    let reply = send(base, "POST", "/mcp", &[], Some(&initialize())).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    let challenges = reply.all("www-authenticate");
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(challenges[0].starts_with("Bearer "), "{challenges:?}");
    assert!(
        challenges[0].contains(&format!("resource_metadata=\"{base}{METADATA}\""))
            && challenges[0].contains("scope=\"mcp:read\""),
        "{challenges:?}"
    );
    assert_eq!(
        challenges[1],
        format!("DPoP scope=\"mcp:read\", algs=\"{ALGS}\", resource_metadata=\"{base}{METADATA}\""),
        "{challenges:?}"
    );

    // An unbound JWT as Bearer.
    let bearer = issuer.mint(issuer.claims_for(&mcp_url));
    let reply = mcp(base, &format!("Bearer {bearer}"), None, None, &initialize()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // A bound JWT with DPoP and a proof; as Bearer, refused.
    let prover = DpopProver::new(Algorithm::EdDSA).unwrap();
    let bound = issuer.mint(issuer.claims_for_bound(&mcp_url, prover.jkt()));
    let proof = prover.proof("POST", &mcp_url).access_token(&bound).sign();
    let reply = mcp(
        base,
        &format!("DPoP {bound}"),
        Some(&proof),
        None,
        &initialize(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = mcp(base, &format!("Bearer {bound}"), None, None, &initialize()).await;
    assert_eq!(reply.status, 401, "{}", reply.body);

    let document = metadata(base).await;
    assert_ne!(document["dpop_bound_access_tokens_required"], true);
    assert_eq!(
        document["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "RS256", "PS256"])
    );
}

#[tokio::test]
async fn public_url_is_what_proofs_name() {
    let issuer = TestIssuer::start().await.unwrap();
    let public = "https://mcp.example.com";
    let (_child, mcp_url, line) = start(&[
        ("JWT_ISSUER", issuer.issuer()),
        ("DPOP", "required"),
        ("PUBLIC_URL", public),
    ])
    .await;
    let base = base_of(&mcp_url);
    assert_eq!(
        line,
        format!("required (Bearer refused), proofs for {public}/…")
    );
    let prover = DpopProver::new(Algorithm::ES256).unwrap();
    let token = issuer.mint(issuer.claims_for_bound(&mcp_url, prover.jkt()));
    let authorization = format!("DPoP {token}");

    // A proof for the public URL passes; one for the address the request went to does not.
    let proof = prover
        .proof("POST", &format!("{public}/mcp"))
        .access_token(&token)
        .sign();
    let reply = mcp(base, &authorization, Some(&proof), None, &initialize()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let proof = prover.proof("POST", &mcp_url).access_token(&token).sign();
    let reply = mcp(base, &authorization, Some(&proof), None, &initialize()).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert!(
        reply.all("www-authenticate")[0].contains("error=\"invalid_dpop_proof\""),
        "{:?}",
        reply.all("www-authenticate")
    );
}

#[tokio::test]
async fn bad_dpop_settings_stop_the_binary() {
    let stderr = refused(&[("DPOP", "sometimes")]).await;
    assert!(
        stderr.contains("DPOP must be `allowed` or `required`") && stderr.contains("sometimes"),
        "{stderr}"
    );
    let stderr = refused(&[
        ("DPOP", "required"),
        ("PUBLIC_URL", "http://mcp.example.com"),
    ])
    .await;
    assert!(
        stderr.contains("PUBLIC_URL") && stderr.contains("loopback hosts only"),
        "{stderr}"
    );
    let stderr = refused(&[
        ("DPOP", "allowed"),
        ("RESOURCE_URL", "https://mcp.example.com/api"),
    ])
    .await;
    assert!(
        stderr.contains("RESOURCE_URL does not end with /mcp: set PUBLIC_URL"),
        "{stderr}"
    );
}
