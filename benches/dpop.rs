//! What a DPoP proof check costs: `DpopVerifier::verify` (every check of RFC 9449 §4.3, the
//! thumbprint and the replay window) next to the ES256 signature verification of the same
//! proofs alone, in the same run.
//!
//! `cargo bench --bench dpop --features dpop,testing` (criterion; see `common/harness.rs` for
//! the three measurements: allocations, criterion, interleaved). Each iteration checks a fresh
//! proof (`POST https://api.example/mcp`, bound to an access token) signed beforehand by the
//! testing kit's `DpopProver` (signing is not timed). The floor ("bare" in the table) is
//! `jsonwebtoken::crypto::verify` of the proof's signature with a key decoded once; the path is
//! the whole check, with the in-memory replay store, on a current-thread tokio runtime. The
//! target: the whole check ≤ 1.2× the floor. BENCHMARKS.md has the figures.
//!
//! The second group, `dpop_request`, serves whole requests through a `Router`: the bare handler,
//! `BearerAuth` with a bearer token, and `BearerAuth::dpop` (required) with a bound token and a
//! fresh proof per request (signed while requests are prepared, not timed), next to the ES256
//! signature alone, so the DPoP mode's cost on a request reads as (dpop − bearer) / signature.

#[path = "common/harness.rs"]
mod harness;

use std::{
    hint::black_box,
    path::Path,
    time::{Duration, Instant, SystemTime},
};

use axum::{Router, routing::get};
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, StaticVerifier,
    dpop::{Dpop, DpopRequest, DpopVerifier, InMemoryReplayStore},
    jsonwebtoken::{Algorithm, DecodingKey, crypto, jwk::Jwk},
    testing::DpopProver,
};
use criterion::{BatchSize, Criterion};
use harness::{CountingAlloc, Entry, Role, Table};
use http::{HeaderValue, Method, Request, StatusCode, header::AUTHORIZATION};
use tokio::runtime::Runtime;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const URL: &str = "https://api.example/mcp";
const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.an-access-token-of-a-usual-size";

fn proofs(prover: &DpopProver, n: u32) -> Vec<HeaderValue> {
    (0..n)
        .map(|_| prover.proof("POST", URL).access_token(TOKEN).header_value())
        .collect()
}

/// The floor: the proof's signature checked with the proof's key, decoded once.
fn signature_only(key: &DecodingKey, proof: &HeaderValue) -> bool {
    let proof = proof.to_str().expect("ASCII");
    let (message, signature) = proof.rsplit_once('.').expect("three parts");
    crypto::verify(signature, message.as_bytes(), key, Algorithm::ES256).expect("verifies")
}

fn dpop_group(c: &mut Criterion, rt: &Runtime, table: &mut Table) {
    let name = "dpop";
    let prover = DpopProver::new(Algorithm::ES256).expect("ES256");
    let jwk: Jwk = serde_json::from_value(prover.public_jwk().clone()).expect("jwk");
    let key = DecodingKey::from_jwk(&jwk).expect("key");
    // Room for every proof of the run: a full store would answer 503.
    let verifier = DpopVerifier::builder()
        .replay_store(InMemoryReplayStore::new(50_000_000))
        .build()
        .expect("settings");
    let request = DpopRequest::new(&Method::POST, URL).access_token(TOKEN);

    let floor = {
        let (prover, key) = (&prover, &key);
        let allocs = harness::count(
            |n| proofs(prover, n),
            |batch| {
                for proof in &batch {
                    assert!(signature_only(key, proof));
                }
            },
        );
        let runner = move |n: u32| {
            let batch = proofs(prover, n);
            let start = Instant::now();
            for proof in &batch {
                black_box(signature_only(key, proof));
            }
            start.elapsed()
        };
        let bench = move |b: &mut criterion::Bencher<'_>| {
            b.iter_batched(
                || proofs(prover, 1).remove(0),
                |proof| signature_only(key, &proof),
                BatchSize::SmallInput,
            );
        };
        Entry {
            id: "es256_signature".into(),
            label: "ES256 signature of the proof alone (jsonwebtoken::crypto::verify)".into(),
            role: Role::Bare,
            allocs,
            runner: Box::new(runner),
            bench: Box::new(bench),
        }
    };

    let whole = {
        let (prover, verifier, request) = (&prover, &verifier, &request);
        let allocs = harness::count(
            |n| proofs(prover, n),
            |batch| {
                rt.block_on(async {
                    for proof in &batch {
                        verifier.verify([proof], request).await.expect("accepted");
                    }
                });
            },
        );
        let runner = move |n: u32| {
            let batch = proofs(prover, n);
            let start = Instant::now();
            rt.block_on(async {
                for proof in &batch {
                    black_box(verifier.verify([proof], request).await.is_ok());
                }
            });
            start.elapsed()
        };
        let bench = move |b: &mut criterion::Bencher<'_>| {
            b.iter_batched(
                || proofs(prover, 1).remove(0),
                |proof| {
                    rt.block_on(async {
                        verifier.verify([&proof], request).await.expect("accepted")
                    })
                },
                BatchSize::SmallInput,
            );
        };
        Entry {
            id: "dpop_verify".into(),
            label: "DpopVerifier::verify: every §4.3 check, thumbprint, replay window".into(),
            role: Role::Path,
            allocs,
            runner: Box::new(runner),
            bench: Box::new(bench),
        }
    };

    harness::run_group(c, table, name, vec![floor, whole]);
}

fn request_group(c: &mut Criterion, rt: &Runtime, table: &mut Table) {
    let name = "dpop_request";
    let prover: &'static DpopProver =
        Box::leak(Box::new(DpopProver::new(Algorithm::ES256).expect("ES256")));
    let jwk: Jwk = serde_json::from_value(prover.public_jwk().clone()).expect("jwk");
    let key: &'static DecodingKey = Box::leak(Box::new(DecodingKey::from_jwk(&jwk).expect("key")));
    let fixed = proofs(prover, 1).remove(0);
    let fixed: &'static HeaderValue = Box::leak(Box::new(fixed));

    async fn whoami(user: AuthenticatedUser) -> String {
        user.client_id().to_owned()
    }
    let verifier = || {
        StaticVerifier::new([
            AccessToken::new(TOKEN, "dpop-client", ["mcp:read"]).with_dpop_jkt(prover.jkt()),
            AccessToken::new("plain-token", "bearer-client", ["mcp:read"]),
        ])
    };
    let bare = Router::new().route("/mcp", get(|| async { "bare" }));
    let bearer = Router::new()
        .route("/mcp", get(whoami))
        .layer(BearerAuth::new(verifier()));
    let store = InMemoryReplayStore::new(50_000_000);
    let dpop = Dpop::required("https://api.example")
        .expect("public URL")
        .verifier(
            DpopVerifier::builder()
                .replay_store(store)
                .build()
                .expect("settings"),
        );
    let bound = Router::new()
        .route("/mcp", get(whoami))
        .layer(BearerAuth::new(verifier()).dpop(dpop));

    let entries = vec![
        harness::router_entry(
            rt,
            name,
            ("bare", "bare axum handler", Role::Bare),
            bare,
            || {
                Request::get("/mcp")
                    .body(axum::body::Body::empty())
                    .expect("request")
            },
            StatusCode::OK,
        ),
        harness::floor_entry(
            "es256_signature",
            "ES256 signature of a proof alone",
            || match signature_only(key, fixed) {
                true => Ok(()),
                false => Err("refused".to_owned()),
            },
        ),
        harness::router_entry(
            rt,
            name,
            (
                "bearer",
                "BearerAuth, AuthenticatedUser, a bearer token",
                Role::Path,
            ),
            bearer,
            || {
                Request::get("/mcp")
                    .header(AUTHORIZATION, "Bearer plain-token")
                    .body(axum::body::Body::empty())
                    .expect("request")
            },
            StatusCode::OK,
        ),
        harness::router_entry(
            rt,
            name,
            (
                "dpop",
                "BearerAuth::dpop (required), AuthenticatedUser, a bound token and a fresh ES256 proof",
                Role::Path,
            ),
            bound,
            || {
                let proof = prover
                    .proof("GET", "https://api.example/mcp")
                    .access_token(TOKEN)
                    .header_value();
                Request::get("/mcp")
                    .header(AUTHORIZATION, format!("DPoP {TOKEN}"))
                    .header("dpop", proof)
                    .body(axum::body::Body::empty())
                    .expect("request")
            },
            StatusCode::OK,
        ),
    ];
    harness::run_group(c, table, name, entries);
}

fn main() {
    let started = SystemTime::now();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut c = harness::criterion(workspace).measurement_time(Duration::from_secs(3));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut table = Table::default();
    dpop_group(&mut c, &rt, &mut table);
    request_group(&mut c, &rt, &mut table);
    c.final_summary();
    harness::report(
        "dpop",
        &table,
        &harness::output_directory(workspace),
        started,
    );
}
