//! Parity with the real reference: the same raw HTTP requests go to the MCP Python SDK's gate
//! (`mcp` 2.3.0 under uvicorn, `tests/parity/reference_server.py`) and to this crate wired the
//! same way (`common::reference_app`, `Profile::PythonSdk`) behind hyper; status,
//! `WWW-Authenticate`, body bytes and the verifier calls must agree.
//!
//! Needs the venv made by `tests/parity/setup-venv.sh` (`.ci/run` makes it), so it is ignored by
//! default: `cargo test --all-features -- --include-ignored` runs it, and fails without the venv.

mod common;
mod python_venv;

use std::{path::PathBuf, process::Stdio, time::Duration};

use axum_bearer::Profile;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    process::{Child, Command},
    time::timeout,
};

/// A raw HTTP/1.1 response.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Raw {
    status: u16,
    www_authenticate: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

async fn exchange(port: u16, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut bytes = Vec::new();
    timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .expect("server answered within 10 s")
        .unwrap();
    parse_response(&bytes)
}

async fn reference_calls(port: u16) -> Vec<String> {
    let calls = exchange(
        port,
        b"GET /__calls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    serde_json::from_slice(&calls.body).unwrap()
}

fn parse_response(bytes: &[u8]) -> Raw {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut raw = Raw {
        status,
        www_authenticate: None,
        content_type: None,
        body: bytes[split + 4..].to_vec(),
    };
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        let value = value.trim().to_owned();
        match name.to_ascii_lowercase().as_str() {
            "www-authenticate" => {
                assert!(raw.www_authenticate.is_none(), "one WWW-Authenticate only");
                raw.www_authenticate = Some(value);
            }
            "content-type" => raw.content_type = Some(value),
            _ => {}
        }
    }
    raw
}

/// One request of the set: method, target and raw header lines after `Host`.
struct Case {
    name: String,
    method: &'static str,
    target: String,
    headers: Vec<Vec<u8>>,
    /// Why the two sides may differ, when they legitimately do.
    explained: Option<&'static str>,
}

impl Case {
    fn bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n",
            self.method, self.target
        )
        .into_bytes();
        for header in &self.headers {
            out.extend_from_slice(header);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"Connection: close\r\n\r\n");
        out
    }
}

/// A named `Authorization` variant: header lines, and why the sides may differ.
type Variant = (String, Vec<Vec<u8>>, Option<&'static str>);

fn cases() -> Vec<Case> {
    let auth = |value: &[u8]| {
        let mut line = b"Authorization: ".to_vec();
        line.extend_from_slice(value);
        vec![line]
    };
    let mut variants: Vec<Variant> = vec![
        ("no header".into(), vec![], None),
        ("basic".into(), auth(b"Basic dXNlcjpwYXNz"), None),
        ("dpop".into(), auth(b"DPoP tok-read"), None),
        ("empty value".into(), auth(b""), None),
        ("bearer alone".into(), auth(b"Bearer"), None),
        ("bearer trailing space".into(), auth(b"Bearer "), None),
        ("bearer tab".into(), auth(b"Bearer\ttok-read"), None),
        ("two spaces".into(), auth(b"Bearer  tok-read"), None),
        ("lowercase scheme".into(), auth(b"bearer tok-read"), None),
        ("uppercase scheme".into(), auth(b"BEARER tok-read"), None),
        ("mixed-case scheme".into(), auth(b"BeArEr tok-read"), None),
        (
            "mixed-case name".into(),
            vec![b"AuThOrIzAtIoN: BeArEr tok-read".to_vec()],
            None,
        ),
        (
            "surrounding whitespace".into(),
            auth(b"  Bearer tok-read \t"),
            None,
        ),
        (
            "two headers, valid first".into(),
            [auth(b"Bearer tok-read"), auth(b"Bearer junk")].concat(),
            None,
        ),
        (
            "two headers, junk first".into(),
            [auth(b"Bearer junk"), auth(b"Bearer tok-read")].concat(),
            None,
        ),
        ("comma list".into(), auth(b"Bearer tok-read, Basic x"), None),
        (
            "auth-param form".into(),
            auth(b"Bearer token=\"tok-read\""),
            None,
        ),
        ("quote in token".into(), auth(b"Bearer tok\"read"), None),
        ("obs-text token".into(), auth(b"Bearer tok-\xe9\xff"), None),
        (
            "utf-8 token".into(),
            auth("Bearer tök-read".as_bytes()),
            None,
        ),
        (
            "4 KiB token".into(),
            auth(format!("Bearer {}", "x".repeat(4096)).as_bytes()),
            None,
        ),
        (
            "control byte".into(),
            auth(b"Bearer tok\x01read"),
            Some(
                "hyper refuses control bytes in header values with 400 before any app runs; h11 passes them",
            ),
        ),
    ];
    for token in [
        "tok-read",
        "tok-rw",
        "tok-write",
        "tok-none",
        "tok-expired",
        "tok-noexp",
        "tok-other-resource",
        "tok-no-resource",
        "tok-resource-slash",
        "tok-resource-case",
        "abc==",
        "tok-Upper",
        "tok-unknown",
    ] {
        variants.push((
            format!("bearer {token}"),
            auth(format!("Bearer {token}").as_bytes()),
            None,
        ));
    }
    let mut cases = Vec::new();
    for path in ["/mcp", "/rw", "/plain"] {
        for (name, headers, explained) in &variants {
            cases.push(Case {
                name: format!("GET {path} {name}"),
                method: "GET",
                target: path.into(),
                headers: headers.clone(),
                explained: *explained,
            });
        }
    }
    for method in ["POST", "OPTIONS", "DELETE", "HEAD"] {
        for (name, value) in [
            ("no header", None),
            ("tok-read", Some("Bearer tok-read")),
            ("tok-none", Some("Bearer tok-none")),
        ] {
            cases.push(Case {
                name: format!("{method} /mcp {name}"),
                method,
                target: "/mcp".into(),
                headers: value.map(|v| auth(v.as_bytes())).unwrap_or_default(),
                explained: None,
            });
        }
    }
    cases.push(Case {
        name: "GET /mcp?access_token=tok-read".into(),
        method: "GET",
        target: "/mcp?access_token=tok-read".into(),
        headers: vec![],
        explained: None,
    });
    // The RFC 9728 document, whatever the credentials. The reference's app-wide backend also
    // verifies a bearer token on this public route; this crate verifies lazily, never here.
    for method in ["GET", "HEAD"] {
        for (name, value, explained) in [
            ("no header", None, None),
            ("basic", Some("Basic dXNlcjpwYXNz"), None),
            ("bearer", Some("Bearer tok-read"), Some(LAZY)),
        ] {
            cases.push(Case {
                name: format!("{method} metadata {name}"),
                method,
                target: "/.well-known/oauth-protected-resource/mcp".into(),
                headers: value.map(|v| auth(v.as_bytes())).unwrap_or_default(),
                explained,
            });
        }
    }
    cases
}

const HYPER: &str =
    "hyper refuses control bytes in header values with 400 before any app runs; h11 passes them";
const LAZY: &str = "public routes never call the verifier here; the reference verifies app-wide";

struct Reference {
    child: Child,
    port: u16,
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

async fn start_reference(python: &PathBuf) -> Reference {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/parity/reference_server.py");
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the reference server");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    timeout(
        Duration::from_secs(60),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await
    .expect("reference server listening within 60 s")
    .unwrap();
    let port = line
        .trim()
        .strip_prefix("LISTENING ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    Reference { child, port }
}

async fn start_ours(verifier: common::Recording) -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = common::reference_app(Profile::PythonSdk, verifier);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Python venv: bash tests/parity/setup-venv.sh, then --include-ignored"]
async fn same_responses_as_the_python_reference() {
    let python = python_venv::python();
    let reference = start_reference(&python).await;
    let verifier = common::Recording::with_fixtures();
    let ours = start_ours(verifier.clone()).await;

    let cases = cases();
    assert!(
        cases.len() >= 50,
        "at least 50 requests, got {}",
        cases.len()
    );
    let (mut same, mut explained, mut unexplained) = (0, 0, Vec::new());
    let (mut their_calls, mut my_calls) = (0, 0);
    for case in &cases {
        let bytes = case.bytes();
        exchange(
            reference.port,
            b"POST /__reset HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        let seen_before = verifier.seen().len();
        let theirs = exchange(reference.port, &bytes).await;
        let mine = exchange(ours, &bytes).await;
        // The verifier was asked about the same tokens.
        let their_tokens = reference_calls(reference.port).await;
        let my_tokens = verifier.seen()[seen_before..].to_vec();
        their_calls += their_tokens.len();
        my_calls += my_tokens.len();
        let agree = theirs.status == mine.status
            && theirs.www_authenticate == mine.www_authenticate
            && theirs.body == mine.body
            && (theirs.status < 400 || theirs.content_type == mine.content_type)
            && their_tokens == my_tokens;
        if agree {
            same += 1;
        } else if let Some(why) = case.explained {
            explained += 1;
            // The explanation must hold.
            if why == HYPER {
                assert_eq!(
                    (mine.status, mine.www_authenticate.as_deref()),
                    (400, None),
                    "{}",
                    case.name
                );
            } else {
                assert_eq!(
                    (mine.status, &mine.body),
                    (theirs.status, &theirs.body),
                    "{}",
                    case.name
                );
                assert!(
                    my_tokens.is_empty() && !their_tokens.is_empty(),
                    "{}",
                    case.name
                );
            }
            eprintln!(
                "explained: {}: ours {} / reference {} ({why})",
                case.name, mine.status, theirs.status
            );
        } else {
            unexplained.push(format!(
                "{}\n  reference: {} {:?} {:?} verifier calls {}\n  ours:      {} {:?} {:?} verifier calls {}",
                case.name,
                theirs.status,
                theirs.www_authenticate,
                String::from_utf8_lossy(&theirs.body),
                their_tokens.len(),
                mine.status,
                mine.www_authenticate,
                String::from_utf8_lossy(&mine.body),
                my_tokens.len(),
            ));
        }
    }

    eprintln!(
        "parity: {} requests, {same} identical, {explained} explained, {} unexplained; verifier calls {their_calls} (reference) vs {my_calls} (ours)",
        cases.len(),
        unexplained.len(),
    );
    assert!(
        unexplained.is_empty(),
        "unexplained differences:\n{}",
        unexplained.join("\n")
    );
}
