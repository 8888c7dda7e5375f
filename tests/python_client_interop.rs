//! Interop with a real client: the MCP Python client library (`mcp` 2.3.0) runs its
//! authorization discovery against `examples/mcp_server`, in both profiles. It gets the 401,
//! parses `resource_metadata` (and `scope`), fetches the RFC 9728 document, parses it with its
//! own model and accepts its `resource`; its `OAuthClientProvider` flow then goes on to the
//! authorization server. The client side is `tests/parity/client_discovery.py`, which says which
//! library functions it drives.
//!
//! Needs the venv made by `tests/parity/setup-venv.sh` (`.ci/run` makes it), so it is ignored by
//! default: `cargo test --all-features -- --include-ignored` runs it, and fails without the venv.

mod python_venv;

mod common;

use std::{path::PathBuf, process::Stdio, time::Duration};

use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
    time::timeout,
};

const AUTHORIZATION_SERVER: &str = "https://auth.example.com";

/// Starts `mcp_server` on a free port, runs the Python client's discovery against it and returns
/// the script's JSON report and the server URL.
async fn discover(python: &PathBuf, args: &[&str]) -> (Value, String) {
    let binary = common::example_binary("mcp_server");
    assert!(
        binary.exists(),
        "build the example first: {}",
        binary.display()
    );
    let mut server = Command::new(&binary)
        .args(args)
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Read everything the example prints before it serves (the pipe stays open until the end:
    // a closed pipe would make its println! fail).
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let url = timeout(Duration::from_secs(30), async {
        let first = lines.next_line().await.unwrap().expect("a first line");
        let url = first
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_owned();
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("Ctrl-C") {
                break;
            }
        }
        url
    })
    .await
    .expect("mcp_server printed its URL within 30 s");
    assert!(url.ends_with("/mcp"), "{url}");

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/parity/client_discovery.py");
    let client = Command::new(python)
        .arg(&script)
        .arg(&url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = timeout(Duration::from_secs(60), client)
        .await
        .expect("client_discovery.py finished within 60 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!("python client ({args:?}): {}", stdout.trim());
    assert!(
        output.status.success(),
        "client_discovery.py failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    let line = stdout.lines().last().expect("one JSON line");
    let report = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\nstderr: {stderr}"));

    server.kill().await.unwrap();
    (report, url)
}

/// What both profiles must give the library.
fn assert_discovered(report: &Value, url: &str) {
    let base = url.strip_suffix("/mcp").unwrap();
    let metadata_url = format!("{base}/.well-known/oauth-protected-resource/mcp");
    assert_eq!(report["problems"], Value::Array(vec![]), "{report:#}");

    // The 401 and what `extract_resource_metadata_from_www_auth` read from it.
    assert_eq!(report["status"], 401, "{report:#}");
    assert_eq!(report["resource_metadata"], metadata_url.as_str());

    // The document as `ProtectedResourceMetadata` parsed it. The model sets
    // `url_preserve_empty_path=True`, so pydantic does not turn `https://auth.example.com`
    // into `https://auth.example.com/` (its default for an empty path): what the library holds
    // is the exact string we serve, and `resource` is the exact URL the client requested
    // (RFC 9728 §3.3).
    assert_eq!(report["resource"], url);
    assert_eq!(report["resource_identical"], true);
    assert_eq!(
        report["authorization_servers"],
        serde_json::json!([AUTHORIZATION_SERVER])
    );
    let helpers = &report["helpers"];
    assert_eq!(helpers["prm_url"], metadata_url.as_str());
    assert_eq!(
        helpers["prm"]["scopes_supported"],
        serde_json::json!(["mcp:read", "mcp:write"])
    );
    // The path-inserted URL is first in the library's own discovery order too.
    assert_eq!(helpers["discovery_urls"][0], metadata_url.as_str());
    // `check_resource_allowed(resource_url_from_server_url(url), resource)`.
    assert_eq!(helpers["resource_url_from_server_url"], url);
    assert_eq!(helpers["check_resource_allowed"], true);

    // The real `OAuthClientProvider` flow: 401, the PRM from `resource_metadata`, validated and
    // stored, then the authorization server's metadata, where the script stops it.
    let provider = &report["provider"];
    assert_eq!(provider["error"], Value::Null, "{report:#}");
    assert_eq!(provider["accepted"], true);
    assert_eq!(report["accepted"], true);
    assert_eq!(provider["prm"], helpers["prm"]);
    assert_eq!(provider["auth_server_url"], AUTHORIZATION_SERVER);
    assert_eq!(provider["resource_url"], url);
    let requests: Vec<(&str, &str, &Value)> = provider["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap(),
                r["url"].as_str().unwrap(),
                &r["status"],
            )
        })
        .collect();
    let stopped_at = format!("{AUTHORIZATION_SERVER}/.well-known/oauth-authorization-server");
    assert_eq!(
        requests,
        [
            ("POST", url, &Value::from(401)),
            ("GET", metadata_url.as_str(), &Value::from(200)),
            ("GET", stopped_at.as_str(), &Value::Null),
        ],
        "{report:#}"
    );
    assert_eq!(provider["stopped_at"], stopped_at.as_str());
}

#[tokio::test]
#[ignore = "needs the Python venv: bash tests/parity/setup-venv.sh, then --include-ignored"]
async fn python_client_discovers_the_python_sdk_profile() {
    let python = python_venv::python();
    let (report, url) = discover(&python, &[]).await;
    assert_discovered(&report, &url);
    // The reference's challenge carries no `scope`: the client falls back to `scopes_supported`.
    assert_eq!(report["scope"], Value::Null, "{report:#}");
}

#[tokio::test]
#[ignore = "needs the Python venv: bash tests/parity/setup-venv.sh, then --include-ignored"]
async fn python_client_discovers_the_spec_profile() {
    let python = python_venv::python();
    let (report, url) = discover(&python, &["--spec"]).await;
    assert_discovered(&report, &url);
    // `extract_scope_from_www_auth`: the scope the client will ask for.
    assert_eq!(report["scope"], "mcp:read", "{report:#}");
}
