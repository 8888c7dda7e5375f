//! What the example's tests share: one HTTP/1.1 request over a new connection to the example, as
//! curl sends it, and its response.
#![allow(dead_code)]

use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::Command,
};

/// The example binary with `env`, and none of its other variables from the test's environment;
/// `PORT=0`, killed on drop.
pub fn example_command(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rmcp-server-example"));
    for name in [
        "INTROSPECTION_URL",
        "INTROSPECTION_CLIENT_ID",
        "INTROSPECTION_CLIENT_SECRET",
        "JWT_ISSUER",
        "RESOURCE_URL",
        "MCP_SCOPES",
        "DPOP",
        "PUBLIC_URL",
    ] {
        command.env_remove(name);
    }
    command
        .env("PORT", "0")
        .envs(env.iter().copied())
        .kill_on_drop(true);
    command
}

/// A response: the status, the head (status line and header lines) and the de-chunked body.
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Reply {
    /// Every value of header `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.head
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim())
            .collect()
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).first().copied()
    }

    /// The JSON body, or the JSON-RPC message of an SSE body (its last `data:` event that is
    /// JSON).
    pub fn json(&self) -> Value {
        let is_sse = self
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/event-stream"));
        let text = match is_sse {
            false => self.body.as_str(),
            true => self
                .body
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(str::trim)
                .rfind(|data| data.starts_with('{'))
                .unwrap_or_else(|| panic!("no JSON event: {}\n{}", self.head, self.body)),
        };
        serde_json::from_str(text)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}\n{}", self.head, self.body))
    }
}

/// The body of a `Transfer-Encoding: chunked` response, de-chunked.
fn dechunk(mut raw: &str) -> String {
    let mut body = String::new();
    while let Some((size, rest)) = raw.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        body.push_str(&rest[..size]);
        raw = rest[size..].trim_start_matches("\r\n");
    }
    body
}

/// One request to `path` as curl sends it, over a fresh connection.
pub async fn send(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    let authority = base.trim_start_matches("http://");
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let mut stream = TcpStream::connect(authority).await.unwrap();
    stream
        .write_all(format!("{head}\r\n{body}").as_bytes())
        .await
        .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Reply {
        status,
        head: head.to_owned(),
        body: if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        },
    }
}
