//! The example against software written elsewhere: the TypeScript MCP SDK's demo OAuth
//! authorization server (`tests/e2e/as.mjs`) and its OAuth client (`tests/e2e/client.mjs`), from
//! npm with the committed lock file. The client starts with no token and must go
//! 401 → RFC 9728 metadata → AS metadata → registration → authorization code + PKCE → token →
//! `initialize`, `tools/list`, `tools/call whoami`; then `admin_echo` → 403 `insufficient_scope`
//! → a new authorization with the larger scope → 200; then a second client's token with the first
//! client's `Mcp-Session-Id` → 404. The example verifies tokens by RFC 7662 introspection at the
//! demo server, which must have answered some introspection calls.
//!
//! Needs Node (`node` on `PATH`, or `NODE`) and `npm ci --prefix tests/e2e` (`bash tests/setup.sh`
//! does it); without the packages the test fails, it never skips. Every child is killed when the
//! test ends, and every wait is bounded.

use std::{
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{
        Arc, Mutex,
        mpsc::{self, Receiver, RecvTimeoutError},
    },
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

/// A child process, killed (and reaped) when dropped; its stdout lines arrive on a channel and
/// everything it prints is kept for failure messages.
struct Proc {
    name: &'static str,
    child: Child,
    // Held open: `as.mjs --stdin-lifeline` exits when it closes, so a test killed outright
    // (SIGKILL skips `Drop`) does not leave the authorization server behind.
    _stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    transcript: Arc<Mutex<String>>,
}

impl Proc {
    fn spawn(name: &'static str, mut command: Command) -> Self {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name} ({command:?}): {error}"));
        let transcript = Arc::new(Mutex::new(String::new()));
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let log = Arc::clone(&transcript);
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                log.lock().unwrap().push_str(&format!("[stdout] {line}\n"));
                if sender.send(line).is_err() {
                    // Nobody listens any more; keep draining into the transcript.
                }
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::clone(&transcript);
        thread::spawn(move || {
            let mut buffer = [0_u8; 4096];
            while let Ok(read @ 1..) = stderr.read(&mut buffer) {
                let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
                log.lock().unwrap().push_str(&text);
            }
        });
        let stdin = child.stdin.take();
        Self {
            name,
            child,
            _stdin: stdin,
            lines,
            transcript,
        }
    }

    fn transcript(&self) -> String {
        self.transcript.lock().unwrap().clone()
    }

    /// The first stdout line for which `pick` returns something, within `timeout`.
    fn wait_for<T>(&mut self, timeout: Duration, mut pick: impl FnMut(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(found) = pick(&line) {
                        return found;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{} printed nothing expected within {timeout:?}; its output:\n{}",
                    self.name,
                    self.transcript()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    panic!(
                        "{} ended ({status:?}) before printing what the test waits for; \
                         its output:\n{}",
                        self.name,
                        self.transcript()
                    )
                }
            }
        }
    }

    /// Waits (bounded) for the process to exit; its stdout lines.
    fn finish(&mut self, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
                _ => panic!(
                    "{} did not finish within {timeout:?}; its output:\n{}",
                    self.name,
                    self.transcript()
                ),
            }
        }
        // The reader thread ends at EOF; collect what it sent.
        let mut lines = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            lines.push(line);
        }
        lines
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `tests/e2e`, after checking its npm packages are installed: a missing install fails the test.
fn e2e_dir() -> PathBuf {
    let dir = repo_root().join("tests/e2e");
    let sdk = dir.join("node_modules/@modelcontextprotocol/sdk/package.json");
    assert!(
        sdk.is_file(),
        "{} is missing: run `npm ci --prefix tests/e2e` (or `bash tests/setup.sh`) first",
        sdk.display()
    );
    dir
}

fn node(dir: &Path, script: &str) -> Command {
    let mut command = Command::new(std::env::var_os("NODE").unwrap_or_else(|| "node".into()));
    command.current_dir(dir).arg(script);
    command
}

/// Starts the demo authorization server; its JSON line (issuer, endpoints).
fn authorization_server(dir: &Path) -> (Proc, Value) {
    let mut command = node(dir, "as.mjs");
    command.arg("--stdin-lifeline");
    let mut server = Proc::spawn("the demo authorization server (as.mjs)", command);
    let metadata = server.wait_for(READY_TIMEOUT, |line| {
        serde_json::from_str::<Value>(line)
            .ok()
            .filter(|value| value.get("issuer").is_some())
    });
    (server, metadata)
}

/// Starts the example configured for introspection at the demo server; its MCP URL.
fn example(metadata: &Value) -> (Proc, String) {
    let text = |key: &str| {
        metadata[key]
            .as_str()
            .unwrap_or_else(|| panic!("as.mjs printed no {key}: {metadata}"))
            .to_owned()
    };
    let mut command = Command::new(env!("CARGO_BIN_EXE_rmcp-server-example"));
    command
        .env("PORT", "0")
        .env("AUTH_SERVER_URL", text("issuer"))
        .env("INTROSPECTION_URL", text("introspection_endpoint"));
    for unset in [
        "JWT_ISSUER",
        "RESOURCE_URL",
        "MCP_SCOPES",
        "INTROSPECTION_CLIENT_ID",
        "INTROSPECTION_CLIENT_SECRET",
    ] {
        command.env_remove(unset);
    }
    let mut server = Proc::spawn("the rmcp example", command);
    let url = server.wait_for(READY_TIMEOUT, |line| {
        let (_, rest) = line.split_once("listening on ")?;
        let url = rest.split_whitespace().next()?;
        (url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp")).then(|| url.to_owned())
    });
    (server, url)
}

/// Runs a client script to its end; its JSON report (the last stdout line) and transcript.
fn run_client(mut command: Command, name: &'static str) -> (Value, String) {
    command.env("E2E_CLIENT_TIMEOUT_MS", "90000");
    let mut client = Proc::spawn(name, command);
    let lines = client.finish(CLIENT_TIMEOUT);
    let transcript = client.transcript();
    let report = lines
        .iter()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
        .unwrap_or_else(|| panic!("{name} printed no JSON report; its output:\n{transcript}"));
    (report, transcript)
}

/// The HTTP exchanges the client saw in one step, as `(method, path, status, entry)`.
fn exchanges<'a>(report: &'a Value, step: &str) -> Vec<(&'a str, String, u64, &'a Value)> {
    report["http"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["step"] == step)
        .map(|entry| {
            let url = entry["url"].as_str().unwrap_or_default();
            let path = url
                .strip_prefix("http://")
                .and_then(|rest| rest.find('/').map(|slash| rest[slash..].to_owned()))
                .unwrap_or_default();
            (
                entry["method"].as_str().unwrap_or_default(),
                path,
                entry["status"].as_u64().unwrap_or(0),
                entry,
            )
        })
        .collect()
}

/// `(method, path, status)` of a step's exchanges, for assertions and messages.
fn summary(report: &Value, step: &str) -> Vec<(String, String, u64)> {
    exchanges(report, step)
        .into_iter()
        .map(|(method, path, status, _)| (method.to_owned(), path, status))
        .collect()
}

fn has(report: &Value, step: &str, method: &str, path: &str, status: u64) -> bool {
    summary(report, step)
        .iter()
        .any(|(m, p, s)| m == method && p == path && *s == status)
}

/// What the authorization server printed: `(method, path, status)` per request.
fn server_requests(lines: &[String]) -> Vec<(String, String, u64)> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["event"] == "request")
        .map(|event| {
            (
                event["method"].as_str().unwrap_or_default().to_owned(),
                event["path"].as_str().unwrap_or_default().to_owned(),
                event["status"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Asserts the whole flow in a client's report (the same shape for every client script).
fn assert_flow(report: &Value, transcript: &str, mcp_url: &str) {
    let context = || format!("report: {report:#}\nclient output:\n{transcript}");
    assert_eq!(report["ok"], true, "the client reported failures; {}", context());
    assert_eq!(report["failures"], serde_json::json!([]), "{}", context());

    // 1. No token → 401 with the metadata URL and the base scope.
    let discover = exchanges(report, "a.discover");
    let (method, path, status, first) = discover.first().expect("exchanges in a.discover");
    assert_eq!((*method, path.as_str(), *status), ("POST", "/mcp", 401), "{}", context());
    assert_eq!(first["authorization"], false, "{}", context());
    let challenge = first["www_authenticate"].as_str().unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains(
                "resource_metadata=\"http://127.0.0.1:"
            )
            && challenge.contains("/.well-known/oauth-protected-resource/mcp\"")
            && challenge.contains("scope=\"mcp:read\""),
        "401 challenge: {challenge}; {}",
        context()
    );
    // 2. Metadata → AS metadata → registration → authorize (PKCE) → token.
    for (method, path, status) in [
        ("GET", "/.well-known/oauth-protected-resource/mcp", 200),
        ("GET", "/.well-known/oauth-authorization-server", 200),
        ("POST", "/register", 201),
        ("GET", "/authorize", 302),
    ] {
        assert!(
            has(report, "a.discover", method, path, status),
            "a.discover lacks {method} {path} → {status}: {:?}; {}",
            summary(report, "a.discover"),
            context()
        );
    }
    assert!(has(report, "a.token", "POST", "/token", 200), "{}", context());
    let first_authorization = &report["authorizations"]["a"][0];
    assert_eq!(first_authorization["code_challenge_method"], "S256", "{}", context());
    assert_eq!(first_authorization["has_code_challenge"], true, "{}", context());
    assert_eq!(first_authorization["state_matches"], true, "{}", context());
    assert_eq!(first_authorization["scope"], "mcp:read", "{}", context());
    assert_eq!(first_authorization["resource"], mcp_url, "{}", context());

    // 3. With the token: initialize, tools/list, whoami all succeed, in a session.
    let session = exchanges(report, "a.session");
    assert!(
        session.len() >= 3
            && session
                .iter()
                .filter(|(method, ..)| *method == "POST")
                .all(|(_, path, status, _)| path == "/mcp" && (*status == 200 || *status == 202)),
        "a.session: {:?}; {}",
        summary(report, "a.session"),
        context()
    );
    let session_a = report["session_a"].as_str().expect("session_a");
    assert!(
        session.iter().any(|(.., entry)| entry["session_received"] == session_a),
        "{}",
        context()
    );
    let whoami = report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|step| step["step"] == "a.session"))
        .map(|step| step["whoami"].to_string())
        .unwrap_or_default();
    let client_a = report["client_a"].as_str().expect("client_a");
    assert!(whoami.contains(client_a), "whoami {whoami} lacks {client_a}");

    // 4. admin_echo without mcp:admin → 403 insufficient_scope naming both scopes → a new
    //    authorization for them → the same call succeeds.
    let step_up = exchanges(report, "a.step-up");
    let (method, path, status, forbidden) = step_up.first().expect("exchanges in a.step-up");
    assert_eq!((*method, path.as_str(), *status), ("POST", "/mcp", 403), "{}", context());
    let challenge = forbidden["www_authenticate"].as_str().unwrap_or_default();
    assert!(
        challenge.contains("error=\"insufficient_scope\"")
            && challenge.contains("scope=\"mcp:read mcp:admin\""),
        "403 challenge: {challenge}; {}",
        context()
    );
    assert!(has(report, "a.step-up", "GET", "/authorize", 302), "{}", context());
    assert!(has(report, "a.step-up", "POST", "/token", 200), "{}", context());
    let step_up_authorization = &report["authorizations"]["a"][1];
    assert_eq!(step_up_authorization["scope"], "mcp:read mcp:admin", "{}", context());
    assert_eq!(
        summary(report, "a.admin"),
        [("POST".to_owned(), "/mcp".to_owned(), 200)],
        "{}",
        context()
    );

    // 5. A second client: its own registration and token and session...
    assert!(has(report, "b.discover", "POST", "/mcp", 401), "{}", context());
    assert!(has(report, "b.discover", "POST", "/register", 201), "{}", context());
    assert!(has(report, "b.token", "POST", "/token", 200), "{}", context());
    assert_ne!(report["client_b"], report["client_a"], "{}", context());
    // ...but the first client's session id with its token → 404, and A's session lives on.
    let hijack = exchanges(report, "b.hijack");
    assert!(
        hijack.iter().any(|(method, path, status, entry)| *method == "POST"
            && path == "/mcp"
            && *status == 404
            && entry["authorization"] == true
            && entry["session_sent"] == session_a),
        "b.hijack: {:?}; {}",
        summary(report, "b.hijack"),
        context()
    );
    assert!(has(report, "a.after", "POST", "/mcp", 200), "{}", context());
}

#[test]
#[ignore = "needs Node packages: npm ci --prefix tests/e2e (CI runs it with --include-ignored)"]
fn typescript_sdk_client_through_the_demo_authorization_server() {
    let dir = e2e_dir();
    let (mut authorization_server, metadata) = authorization_server(&dir);
    let (example, mcp_url) = example(&metadata);

    let mut client = node(&dir, "client.mjs");
    client.arg(&mcp_url);
    let (report, transcript) = run_client(client, "the TypeScript SDK client (client.mjs)");
    let example_output = example.transcript();
    drop(example);
    assert_flow(
        &report,
        &format!("{transcript}\nexample output:\n{example_output}"),
        &mcp_url,
    );

    // The demo server saw the example introspect the tokens: two clients registered, three
    // tokens issued (A, A stepped up, B), and active tokens introspected.
    let _ = authorization_server.child.kill();
    let requests = server_requests(&authorization_server.finish(READY_TIMEOUT));
    let count = |method: &str, path: &str, status: u64| {
        requests
            .iter()
            .filter(|(m, p, s)| m == method && p == path && *s == status)
            .count()
    };
    assert_eq!(count("POST", "/register", 201), 2, "{requests:?}");
    assert_eq!(count("POST", "/token", 200), 3, "{requests:?}");
    assert!(count("POST", "/introspect", 200) >= 3, "{requests:?}");
}
