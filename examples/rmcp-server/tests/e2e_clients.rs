//! The example against software written elsewhere: the TypeScript MCP SDK's demo OAuth
//! authorization server (`tests/e2e/as.mjs`) and its OAuth client (`tests/e2e/client.mjs`), from
//! npm with the committed lock file. The client starts with no token and must go
//! 401 → RFC 9728 metadata → AS metadata → registration → authorization code + PKCE → token →
//! `initialize`, `tools/list`, `tools/call whoami`; then `admin_echo` → 403 `insufficient_scope`
//! → a new authorization with the larger scope → 200; then a second client's token with the first
//! client's `Mcp-Session-Id` → 404. The example verifies tokens by RFC 7662 introspection at the
//! demo server, which must have answered some introspection calls. A second test runs the Python
//! `mcp` 2.3.0 client (`tests/e2e/client.py`, in the venv of `tests/parity/setup-venv.sh`) through
//! the same flow against the same demo server. Both flows run again with the example started with
//! `DPOP=allowed`: neither client does DPoP, so they must go through as before while every 401
//! carries a second challenge, `DPoP algs=…`, after the `Bearer` one (their HTTP libraries join the
//! two header lines into one `Bearer …, DPoP …` value, which is what their reports show).
//!
//! Needs Node (`node` on `PATH`, or `NODE`) and `npm ci --prefix tests/e2e`, and for the Python
//! client the venv (`bash tests/setup.sh` makes both); without them the tests fail, they never
//! skip. Every child is killed when the test ends, and every wait is bounded. Nothing but
//! 127.0.0.1 is contacted: the client scripts refuse any other host.

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
                // Nobody may listen any more: keep draining into the transcript anyway.
                let _ = sender.send(line);
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
                    // Its stdout closed: it has exited, or is about to.
                    thread::sleep(Duration::from_millis(200));
                    let status = self.child.try_wait().ok().flatten();
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

/// Starts the example configured for introspection at the demo server, with `extra_env`; its MCP
/// URL.
fn example(metadata: &Value, extra_env: &[(&str, &str)]) -> (Proc, String) {
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
        .env("INTROSPECTION_URL", text("introspection_endpoint"))
        // RFC 7662 wants the resource server to authenticate; the demo server checks nobody, so
        // any credentials do (sent as client_secret_basic).
        .env("INTROSPECTION_CLIENT_ID", "e2e-resource-server")
        .env("INTROSPECTION_CLIENT_SECRET", "e2e-resource-server-secret");
    for unset in [
        "JWT_ISSUER",
        "RESOURCE_URL",
        "MCP_SCOPES",
        "DPOP",
        "PUBLIC_URL",
    ] {
        command.env_remove(unset);
    }
    command.envs(extra_env.iter().copied());
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

/// One HTTP exchange of a client's report.
struct Exchange<'a> {
    method: &'a str,
    path: String,
    status: u64,
    entry: &'a Value,
}

impl Exchange<'_> {
    fn is(&self, method: &str, path: &str, status: u64) -> bool {
        self.method == method && self.path == path && self.status == status
    }

    fn challenge(&self) -> &str {
        self.entry["www_authenticate"].as_str().unwrap_or_default()
    }

    /// The challenge split into its `Bearer` part and its `DPoP` part, if any: the example's two
    /// header lines, which the client's HTTP library joined with `, `.
    fn challenges(&self) -> (&str, Option<&str>) {
        let challenge = self.challenge();
        match challenge.split_once(", DPoP ") {
            Some((bearer, _)) => (bearer, Some(&challenge[bearer.len() + 2..])),
            None => (challenge, None),
        }
    }
}

/// The HTTP exchanges the client saw in the given steps, in order.
fn exchanges<'a>(report: &'a Value, steps: &[&str]) -> Vec<Exchange<'a>> {
    report["http"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| steps.iter().any(|step| entry["step"] == *step))
        .map(|entry| {
            let url = entry["url"].as_str().unwrap_or_default();
            let path = url
                .strip_prefix("http://")
                .and_then(|rest| rest.find('/').map(|slash| rest[slash..].to_owned()))
                .unwrap_or_default();
            Exchange {
                method: entry["method"].as_str().unwrap_or_default(),
                path,
                status: entry["status"].as_u64().unwrap_or(0),
                entry,
            }
        })
        .collect()
}

/// `method path → status` of each exchange, for messages.
fn summary(exchanges: &[Exchange<'_>]) -> Vec<String> {
    exchanges
        .iter()
        .map(|exchange| {
            format!(
                "{} {} → {}",
                exchange.method, exchange.path, exchange.status
            )
        })
        .collect()
}

/// The index just past each of `expected` found in order in `exchanges`; `None` if one is missing.
fn in_order(exchanges: &[Exchange<'_>], expected: &[(&str, &str, u64)]) -> Option<usize> {
    let mut at = 0;
    for (method, path, status) in expected {
        at += exchanges[at..]
            .iter()
            .position(|exchange| exchange.is(method, path, *status))?
            + 1;
    }
    Some(at)
}

/// How a client script names its steps: the TypeScript client exchanges the code itself
/// (`finishAuth`), the Python provider runs the whole authorization inside the request it answers.
#[derive(Clone, Copy)]
struct Steps {
    a_connect: &'static [&'static str],
    a_step_up: &'static [&'static str],
    b_connect: &'static [&'static str],
}

const TYPESCRIPT_STEPS: Steps = Steps {
    a_connect: &["a.discover", "a.token", "a.session"],
    a_step_up: &["a.step-up", "a.admin"],
    b_connect: &["b.discover", "b.token", "b.session"],
};

const PYTHON_STEPS: Steps = Steps {
    a_connect: &["a.session"],
    a_step_up: &["a.step-up"],
    b_connect: &["b.session"],
};

const METADATA: &str = "/.well-known/oauth-protected-resource/mcp";

/// How the example is started for a flow: its extra environment, and whether its challenges then
/// carry a `DPoP` one after the `Bearer` one.
#[derive(Clone, Copy)]
struct Flow {
    steps: Steps,
    env: &'static [(&'static str, &'static str)],
    dpop_challenge: bool,
}

impl Flow {
    const fn bearer(steps: Steps) -> Self {
        Self {
            steps,
            env: &[],
            dpop_challenge: false,
        }
    }

    const fn dpop_allowed(steps: Steps) -> Self {
        Self {
            steps,
            env: &[("DPOP", "allowed")],
            dpop_challenge: true,
        }
    }

    /// Asserts the `DPoP` part of a challenge: exactly `DPoP [scope=…, ]algs=…,
    /// resource_metadata=…` (no error: the client used `Bearer`; the scopes only on a request
    /// without credentials) when the example takes DPoP, absent otherwise.
    fn assert_dpop_part(
        &self,
        dpop: Option<&str>,
        scope: Option<&str>,
        metadata_url: &str,
        context: &dyn Fn() -> String,
    ) {
        let scope = scope.map_or(String::new(), |scope| format!("scope=\"{scope}\", "));
        let expected = self.dpop_challenge.then(|| {
            format!(
                "DPoP {scope}algs=\"ES256 EdDSA RS256 PS256\", resource_metadata=\"{metadata_url}\""
            )
        });
        assert_eq!(
            dpop,
            expected.as_deref(),
            "the DPoP challenge; {}",
            context()
        );
    }
}

/// A connection from scratch: POST without a token → 401 naming the metadata and the base scope
/// (and with DPoP, a `DPoP` challenge after it);
/// then metadata, AS metadata, registration, authorization, token, in this order; then MCP
/// requests that all pass (the Python client's `server/discover` probe may get a 400 from a
/// server that predates it, never 401, 403, 404 or 5xx).
fn assert_connect(
    report: &Value,
    steps: &[&str],
    flow: &Flow,
    mcp_url: &str,
    context: &dyn Fn() -> String,
) {
    let seen = exchanges(report, steps);
    let first = seen
        .first()
        .unwrap_or_else(|| panic!("no exchanges in {steps:?}; {}", context()));
    assert!(
        first.is("POST", "/mcp", 401),
        "{:?}; {}",
        summary(&seen),
        context()
    );
    assert_eq!(first.entry["authorization"], false, "{}", context());
    let metadata_url = metadata_url(mcp_url);
    let (bearer, dpop) = first.challenges();
    assert_eq!(
        bearer,
        format!("Bearer scope=\"mcp:read\", resource_metadata=\"{metadata_url}\""),
        "401 challenge: {}; {}",
        first.challenge(),
        context()
    );
    flow.assert_dpop_part(dpop, Some("mcp:read"), &metadata_url, context);
    let after_token = in_order(
        &seen,
        &[
            ("GET", METADATA, 200),
            ("GET", "/.well-known/oauth-authorization-server", 200),
            ("POST", "/register", 201),
            ("GET", "/authorize", 302),
            ("POST", "/token", 200),
        ],
    )
    .unwrap_or_else(|| {
        panic!(
            "{steps:?} lack metadata → AS metadata → registration → authorize → token: {:?}; {}",
            summary(&seen),
            context()
        )
    });
    let mcp: Vec<_> = seen[after_token..]
        .iter()
        .filter(|exchange| exchange.path == "/mcp")
        .collect();
    assert!(
        mcp.iter().any(|exchange| exchange.is("POST", "/mcp", 200))
            && mcp
                .iter()
                .all(|exchange| exchange.entry["authorization"] == true
                    && exchange.status < 500
                    && ![401, 403, 404].contains(&exchange.status)),
        "{steps:?} after the token: {:?}; {}",
        summary(&seen),
        context()
    );
}

/// The metadata URL the example announces for `mcp_url` (`http://127.0.0.1:port/mcp`).
fn metadata_url(mcp_url: &str) -> String {
    let base = mcp_url.strip_suffix("/mcp").unwrap_or(mcp_url);
    format!("{base}{METADATA}")
}

/// Asserts the whole flow in a client's report (the same shape for every client script).
fn assert_flow(report: &Value, transcript: &str, mcp_url: &str, flow: &Flow) {
    let steps = &flow.steps;
    let context = || format!("report: {report:#}\nclient output:\n{transcript}");
    assert_eq!(
        report["ok"],
        true,
        "the client reported failures; {}",
        context()
    );
    assert_eq!(report["failures"], serde_json::json!([]), "{}", context());

    // 1-3. No token → 401 → … → token → initialize, tools/list, whoami, in a session.
    assert_connect(report, steps.a_connect, flow, mcp_url, &context);
    let session_a = report["session_a"].as_str().expect("session_a");
    assert!(
        exchanges(report, steps.a_connect)
            .iter()
            .any(|exchange| exchange.entry["session_received"] == session_a),
        "{}",
        context()
    );
    let first_authorization = &report["authorizations"]["a"][0];
    assert_eq!(
        first_authorization["code_challenge_method"],
        "S256",
        "{}",
        context()
    );
    assert_eq!(
        first_authorization["has_code_challenge"],
        true,
        "{}",
        context()
    );
    assert_eq!(first_authorization["state_matches"], true, "{}", context());
    assert_eq!(first_authorization["scope"], "mcp:read", "{}", context());
    assert_eq!(first_authorization["resource"], mcp_url, "{}", context());
    let whoami = report["steps"]
        .as_array()
        .and_then(|all| all.iter().find(|step| step["step"] == "a.session"))
        .map(|step| step["whoami"].to_string())
        .unwrap_or_default();
    let client_a = report["client_a"].as_str().expect("client_a");
    assert!(
        whoami.contains(client_a),
        "whoami {whoami} lacks {client_a}"
    );

    // 4. admin_echo without mcp:admin → 403 insufficient_scope naming both scopes → a new
    //    authorization for them → the same call succeeds, in the same session.
    let step_up = exchanges(report, steps.a_step_up);
    let forbidden = step_up.first().expect("exchanges in the step-up");
    assert!(
        forbidden.is("POST", "/mcp", 403),
        "{:?}; {}",
        summary(&step_up),
        context()
    );
    let (bearer, dpop) = forbidden.challenges();
    let metadata_url = metadata_url(mcp_url);
    assert_eq!(
        bearer,
        format!(
            "Bearer error=\"insufficient_scope\", error_description=\"Required scope: mcp:admin\", \
             scope=\"mcp:read mcp:admin\", resource_metadata=\"{metadata_url}\""
        ),
        "403 challenge: {}; {}",
        forbidden.challenge(),
        context()
    );
    flow.assert_dpop_part(dpop, None, &metadata_url, &context);
    assert!(
        in_order(
            &step_up,
            &[
                ("GET", "/authorize", 302),
                ("POST", "/token", 200),
                ("POST", "/mcp", 200)
            ]
        )
        .is_some(),
        "step-up: {:?}; {}",
        summary(&step_up),
        context()
    );
    let last = step_up.last().expect("exchanges in the step-up");
    assert!(
        last.is("POST", "/mcp", 200) && last.entry["session_sent"] == session_a,
        "{}",
        context()
    );
    let mut granted: Vec<_> = report["authorizations"]["a"][1]["scope"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .collect();
    granted.sort_unstable();
    assert_eq!(granted, ["mcp:admin", "mcp:read"], "{}", context());

    // 5. A second client: its own registration, token and session...
    assert_connect(report, steps.b_connect, flow, mcp_url, &context);
    assert_ne!(report["client_b"], report["client_a"], "{}", context());
    // ...but the first client's session id with its token → 404, and A's session lives on.
    let hijack = exchanges(report, &["b.hijack"]);
    assert!(
        hijack
            .iter()
            .any(|exchange| exchange.is("POST", "/mcp", 404)
                && exchange.entry["authorization"] == true
                && exchange.entry["session_sent"] == session_a),
        "b.hijack: {:?}; {}",
        summary(&hijack),
        context()
    );
    let after = exchanges(report, &["a.after"]);
    assert!(
        after
            .iter()
            .any(|exchange| exchange.is("POST", "/mcp", 200)),
        "a.after: {:?}; {}",
        summary(&after),
        context()
    );
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

/// The demo authorization server, the example configured for it, and a client script: the client's
/// report must show the whole flow, and the demo server must have introspected the tokens.
fn run_flow(client: impl FnOnce(&Path, &str) -> Command, name: &'static str, flow: &Flow) {
    let dir = e2e_dir();
    let (mut authorization_server, metadata) = authorization_server(&dir);
    let (example, mcp_url) = example(&metadata, flow.env);

    let (report, transcript) = run_client(client(&dir, &mcp_url), name);
    let example_output = example.transcript();
    drop(example);
    assert_flow(
        &report,
        &format!("{transcript}\nexample output:\n{example_output}"),
        &mcp_url,
        flow,
    );

    // What the demo server answered: two clients registered, three tokens issued (A, A stepped
    // up, B), and the example introspected them.
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

fn typescript_client(dir: &Path, mcp_url: &str) -> Command {
    let mut command = node(dir, "client.mjs");
    command.arg(mcp_url);
    command
}

const TYPESCRIPT: &str = "the TypeScript SDK client (client.mjs)";

#[test]
#[ignore = "needs Node packages: npm ci --prefix tests/e2e (CI runs it with --include-ignored)"]
fn typescript_sdk_client_through_the_demo_authorization_server() {
    run_flow(
        typescript_client,
        TYPESCRIPT,
        &Flow::bearer(TYPESCRIPT_STEPS),
    );
}

#[test]
#[ignore = "needs Node packages: npm ci --prefix tests/e2e (CI runs it with --include-ignored)"]
fn typescript_sdk_client_with_dpop_allowed() {
    run_flow(
        typescript_client,
        TYPESCRIPT,
        &Flow::dpop_allowed(TYPESCRIPT_STEPS),
    );
}

/// The venv's `python` (`$PARITY_VENV`, else `target/parity-venv` at the repository root, as
/// `tests/parity/setup-venv.sh` makes it); missing fails the test.
fn parity_python() -> PathBuf {
    let venv = std::env::var_os("PARITY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/parity-venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `bash tests/parity/setup-venv.sh` (or `bash tests/setup.sh`) first",
        python.display()
    );
    python
}

/// The Python client's command, with the venv's `python`.
fn python_client(python: &Path) -> impl FnOnce(&Path, &str) -> Command + '_ {
    move |dir, mcp_url| {
        let mut command = Command::new(python);
        command.current_dir(dir).arg("client.py").arg(mcp_url);
        command
    }
}

const PYTHON: &str = "the Python SDK client (client.py)";

#[test]
#[ignore = "needs the Python venv and Node packages: bash tests/setup.sh (CI runs it with --include-ignored)"]
fn python_sdk_client_through_the_demo_authorization_server() {
    let python = parity_python();
    run_flow(python_client(&python), PYTHON, &Flow::bearer(PYTHON_STEPS));
}

#[test]
#[ignore = "needs the Python venv and Node packages: bash tests/setup.sh (CI runs it with --include-ignored)"]
fn python_sdk_client_with_dpop_allowed() {
    let python = parity_python();
    run_flow(
        python_client(&python),
        PYTHON,
        &Flow::dpop_allowed(PYTHON_STEPS),
    );
}
