//! DPoP interop with software written elsewhere: `oidc-provider` (panva, 9.x) issues DPoP-bound
//! JWT access tokens (`cnf.jkt`, RFC 9068) by the client credentials grant, and `oauth4webapi`
//! (panva, 3.x) makes the proofs and parses the challenges, against three layers of this crate:
//! `Dpop::required`, `Dpop::required` with server nonces, and `Dpop::allowed`. The verifier finds
//! the provider's keys by discovery.
//!
//! The JavaScript side is `tests/dpop-interop/` (`as.mjs`, `client.mjs`); the client asserts the
//! statuses and challenge errors RFC 9449 asks for, and this test checks its summary again, with
//! the crate's own `error_description`s (so each refusal is the check it is meant to hit).
//!
//! Needs Node 22 and the npm packages of `tests/dpop-interop` (`bash tests/setup.sh` installs
//! them, Node 22 included), so it is ignored by default and fails without them.
#![cfg(all(feature = "dpop", feature = "jwks"))]

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, routing::any};
use axum_bearer::{
    AuthenticatedUser, BearerAuth, JwtAlgorithm, JwtVerifier, Profile,
    dpop::{Dpop, DpopNonces},
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader},
    net::TcpListener,
    process::{Child, ChildStdin, Command},
    time::timeout,
};

const SETUP_HINT: &str = "run `bash tests/setup.sh` (it installs tests/dpop-interop's npm \
                          packages, Node 22 included, from their lock file)";

fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dpop-interop")
}

/// `tests/dpop-interop/node_modules/.bin/node`, checked to be Node 22.
async fn node() -> PathBuf {
    let node = harness_dir().join("node_modules/.bin/node");
    assert!(
        node.exists() && harness_dir().join("node_modules/oidc-provider").exists(),
        "{} or the npm packages are missing: {SETUP_HINT}",
        node.display()
    );
    let version = timeout(
        Duration::from_secs(30),
        Command::new(&node)
            .arg("--version")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("node --version answered within 30 s")
    .unwrap_or_else(|e| panic!("cannot run {}: {e}; {SETUP_HINT}", node.display()));
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    assert!(
        version.starts_with("v22."),
        "{} is {version:?}, not Node 22: {SETUP_HINT}",
        node.display()
    );
    node
}

/// Collects a child's output in the background, for failure messages.
fn drain(output: impl AsyncRead + Unpin + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&text);
    tokio::spawn(async move {
        let mut output = output;
        let mut buffer = [0_u8; 4096];
        while let Ok(read) = output.read(&mut buffer).await {
            if read == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buffer[..read]));
        }
    });
    text
}

/// `as.mjs`, killed on drop; it also exits when its stdin (held here) closes.
struct AuthorizationServer {
    issuer: String,
    stderr: Arc<Mutex<String>>,
    _child: Child,
    _stdin: ChildStdin,
}

impl AuthorizationServer {
    async fn start(node: &Path, resources: &[String]) -> Self {
        let mut command = Command::new(node);
        command.arg(harness_dir().join("as.mjs"));
        for resource in resources {
            command.args(["--resource", resource]);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("as.mjs starts");
        let stdin = child.stdin.take().unwrap();
        let stderr = drain(child.stderr.take().unwrap());
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "as.mjs printed nothing within 30 s; stderr:\n{}",
                    stderr.lock().unwrap()
                )
            })
            .unwrap();
        let Some(first) = first else {
            panic!(
                "as.mjs exited before it served; stderr:\n{}",
                stderr.lock().unwrap()
            )
        };
        let ready: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("as.mjs printed {first:?}, not JSON: {e}"));
        let issuer = ready["issuer"].as_str().expect("an issuer").to_owned();
        // Keep reading stdout so the pipe never fills.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            issuer,
            stderr,
            _child: child,
            _stdin: stdin,
        }
    }
}

/// What the protected route answers: what the layer found out about the request's binding.
async fn whoami(user: AuthenticatedUser) -> Json<Value> {
    Json(json!({
        "proof_bound": user.is_proof_bound(),
        "jkt": user.proof_thumbprint(),
    }))
}

/// Serves `/api` on `listener` behind a layer with `dpop`, tokens checked against the provider's
/// keys (found by discovery) with audience `resource`.
fn serve(listener: TcpListener, issuer: &str, resource: &str, dpop: Dpop) {
    let verifier = JwtVerifier::builder()
        .discover(issuer)
        .unwrap()
        .audience(resource)
        .algorithms([JwtAlgorithm::ES256])
        .strict_rfc9068(true)
        .require_at_jwt_typ(true)
        .build()
        .unwrap();
    let auth = BearerAuth::new(verifier)
        .profile(Profile::Spec)
        .resource_server_url(resource)
        .unwrap()
        .dpop(dpop);
    let app = Router::new().route("/api", any(whoami)).layer(auth);
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// The crate's `error_description` of every refusal the client provokes, by mode and case:
/// (error, description). `None`: a challenge without
/// error.
fn expected_refusals(mode: &str) -> Vec<(&'static str, Option<(&'static str, &'static str)>)> {
    let mut cases = vec![
        (
            "replayed_proof",
            Some(("invalid_dpop_proof", "DPoP proof replayed")),
        ),
        (
            "flipped_signature_byte",
            Some(("invalid_dpop_proof", "DPoP proof signature invalid")),
        ),
        (
            "proof_for_another_url",
            Some((
                "invalid_dpop_proof",
                "DPoP proof htu does not match the request",
            )),
        ),
        (
            "proof_for_another_method",
            Some((
                "invalid_dpop_proof",
                "DPoP proof htm does not match the request",
            )),
        ),
        (
            "dpop_scheme_without_proof",
            Some(("invalid_dpop_proof", "DPoP proof missing")),
        ),
        ("no_credentials", None),
    ];
    match mode {
        "required" => cases.extend([
            ("bound_token_as_bearer", None),
            ("unbound_token_as_bearer", None),
        ]),
        "nonces" => {
            return vec![
                (
                    "first_without_nonce",
                    Some((
                        "use_dpop_nonce",
                        "Resource server requires nonce in DPoP proof",
                    )),
                ),
                (
                    "forged_nonce",
                    Some(("use_dpop_nonce", "DPoP proof nonce invalid or stale")),
                ),
                (
                    "replayed_proof_with_nonce",
                    Some(("invalid_dpop_proof", "DPoP proof replayed")),
                ),
            ];
        }
        _ => {}
    }
    cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Node 22 and tests/dpop-interop's npm packages: run bash tests/setup.sh, then cargo test --all-features -- --include-ignored"]
async fn oidc_provider_tokens_and_oauth4webapi_proofs() {
    let node = node().await;

    // The ports first: the authorization server accepts exactly these resources.
    let mut listeners = Vec::new();
    let mut resources = Vec::new();
    let mut origins = Vec::new();
    for _ in 0..3 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        resources.push(format!("{origin}/api"));
        origins.push(origin);
        listeners.push(listener);
    }
    let authorization_server = AuthorizationServer::start(&node, &resources).await;
    let issuer = authorization_server.issuer.clone();

    let mut listeners = listeners.into_iter();
    let nonces = DpopNonces::builder([7_u8; 32]).build().unwrap();
    let modes = [
        ("required", Dpop::required(&origins[0]).unwrap()),
        (
            "nonces",
            Dpop::required(&origins[1]).unwrap().nonces(nonces),
        ),
        ("allowed", Dpop::allowed(&origins[2]).unwrap()),
    ];
    let mut client_args = vec!["--issuer".to_owned(), issuer.clone()];
    for ((mode, dpop), resource) in modes.into_iter().zip(&resources) {
        serve(listeners.next().unwrap(), &issuer, resource, dpop);
        client_args.extend([format!("--{mode}"), resource.clone()]);
    }

    let mut client = Command::new(&node)
        .arg(harness_dir().join("client.mjs"))
        .args(&client_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("client.mjs starts");
    let stdout = drain(client.stdout.take().unwrap());
    let stderr = drain(client.stderr.take().unwrap());
    let status = timeout(Duration::from_secs(120), client.wait())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "client.mjs did not finish within 120 s; stderr:\n{}",
                stderr.lock().unwrap()
            )
        })
        .unwrap();
    // The pipes are drained by their tasks: give them the end of the output.
    let stdout = timeout(Duration::from_secs(10), async {
        loop {
            let text = stdout.lock().unwrap().clone();
            if text.ends_with('\n') || text.is_empty() && !status.success() {
                break text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| stdout.lock().unwrap().clone());
    let context = || {
        format!(
            "client.mjs {status}\nstdout: {stdout}\nclient stderr:\n{}\nas.mjs stderr:\n{}",
            stderr.lock().unwrap(),
            authorization_server.stderr.lock().unwrap()
        )
    };
    assert!(status.success(), "{}", context());
    let summary: Value = stdout
        .lines()
        .last()
        .and_then(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no JSON summary; {}", context()));
    eprintln!("client.mjs summary: {summary}");
    assert_eq!(summary["ok"], true, "{}", context());
    assert_eq!(summary["failures"], json!([]), "{}", context());

    // The layer saw the key oauth4webapi made, through oidc-provider's cnf.jkt.
    let jkt = summary["jkt"]
        .as_str()
        .expect("the client's key thumbprint");
    assert_eq!(jkt.len(), 43, "{jkt}");
    let bound = json!({"proof_bound": true, "jkt": jkt});
    let results = &summary["results"];
    for (mode, case) in [
        ("required", "valid"),
        ("required", "valid_again"),
        ("nonces", "retry_with_nonce"),
        ("nonces", "next_with_cached_nonce"),
        ("allowed", "valid"),
        ("allowed", "valid_again"),
    ] {
        let result = &results[mode][case];
        assert_eq!(result["status"], 200, "{mode}/{case}: {result}");
        assert_eq!(result["body"], bound, "{mode}/{case}: {result}");
    }
    let unbound = &results["allowed"]["unbound_token_as_bearer"];
    assert_eq!(unbound["status"], 200, "{unbound}");
    assert_eq!(
        unbound["body"],
        json!({"proof_bound": false, "jkt": null}),
        "{unbound}"
    );

    // Every refusal is the check it was meant to hit, on the challenge of the request's scheme.
    for mode in ["required", "nonces", "allowed"] {
        let mut cases = expected_refusals(mode);
        if mode == "allowed" {
            cases.push((
                "bound_token_as_bearer",
                Some((
                    "invalid_token",
                    "The access token is DPoP-bound: send it with the DPoP scheme and a proof",
                )),
            ));
        }
        if mode != "nonces" {
            cases.extend([
                (
                    "proof_by_another_key",
                    Some(("invalid_token", "Invalid DPoP key binding")),
                ),
                (
                    "unbound_token_with_dpop",
                    Some(("invalid_token", "The access token is not DPoP-bound")),
                ),
            ]);
        }
        let schemes = if mode == "allowed" {
            json!(["bearer", "dpop"])
        } else {
            json!(["dpop"])
        };
        for (case, expected) in cases {
            let result = &results[mode][case];
            assert_eq!(result["status"], 401, "{mode}/{case}: {result}");
            let mut got = result["schemes"].as_array().cloned().unwrap_or_default();
            got.sort_by_key(|s| s.as_str().map(str::to_owned));
            assert_eq!(Value::Array(got), schemes, "{mode}/{case}: {result}");
            assert_eq!(
                result["algs"], "ES256 EdDSA RS256 PS256",
                "{mode}/{case}: {result}"
            );
            match expected {
                None => assert_eq!(result["error"], Value::Null, "{mode}/{case}: {result}"),
                Some((error, description)) => {
                    // The error is on the challenge of the scheme the request used: Bearer only
                    // for the bound token sent as a bearer token.
                    let scheme = if case == "bound_token_as_bearer" {
                        "bearer"
                    } else {
                        "dpop"
                    };
                    assert_eq!(result["scheme"], scheme, "{mode}/{case}: {result}");
                    assert_eq!(result["error"], error, "{mode}/{case}: {result}");
                    assert_eq!(
                        result["error_description"], description,
                        "{mode}/{case}: {result}"
                    );
                }
            }
        }
    }
    assert_eq!(results["nonces"]["first_without_nonce"]["dpop_nonce"], true);
    assert_eq!(results["nonces"]["forged_nonce"]["dpop_nonce"], true);
}
