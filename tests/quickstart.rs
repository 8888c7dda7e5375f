//! The README demo works: `examples/quickstart` starts with no setup, and the curl lines it prints
//! give the 200, 401 and 403 they promise.

mod common;

use std::{process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    process::Command,
    time::timeout,
};

/// Runs one printed curl line (`curl -i [-X M] [-H 'Authorization: …'] URL`) over a raw socket.
async fn run_curl_line(line: &str) -> (u16, String) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let url = words.last().unwrap().strip_prefix("http://").unwrap();
    let (host, path) = url.split_once('/').unwrap();
    let method = words
        .iter()
        .position(|w| *w == "-X")
        .map_or("GET", |i| words[i + 1]);
    let authorization = line
        .split_once("-H '")
        .map(|(_, rest)| rest.split_once('\'').unwrap().0.to_owned());
    let mut request = format!("{method} /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(header) = authorization {
        request.push_str(&header);
        request.push_str("\r\n");
    }
    request.push_str("Content-Length: 0\r\n\r\n");
    let mut stream = TcpStream::connect(host).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    (status, response)
}

#[tokio::test]
async fn quickstart_serves_what_it_prints() {
    let binary = common::example_binary("quickstart");
    assert!(
        binary.exists(),
        "build the example first: {}",
        binary.display()
    );
    let mut child = Command::new(&binary)
        .env("PORT", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut expectations = Vec::new();
    let mut expected = None;
    let mut tokens = Vec::new();
    timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(status) = line.strip_prefix("# ") {
                expected = status.split(':').next().unwrap().parse::<u16>().ok();
            } else if line.starts_with("curl ") {
                expectations.push((expected.take().unwrap(), line));
            } else if let Some(token) = line.split("token:").nth(1) {
                tokens.push(token.trim().to_owned());
            } else if line.starts_with("Ctrl-C") {
                break;
            }
        }
    })
    .await
    .expect("quickstart printed its curl lines");

    let statuses: Vec<u16> = expectations.iter().map(|(status, _)| *status).collect();
    assert_eq!(statuses, [200, 401, 403, 200, 200, 401, 200, 200]);
    assert_eq!(tokens.len(), 2);
    assert_ne!(tokens[0], tokens[1], "tokens are random");
    for (status, line) in &expectations {
        let (got, response) = run_curl_line(line).await;
        assert_eq!(got, *status, "{line}\n{response}");
        if got == 401 {
            assert!(
                response
                    .to_ascii_lowercase()
                    .contains("www-authenticate: bearer error=\"invalid_token\"")
            );
            // Every URL the server announces is served.
            let announced = response
                .split("resource_metadata=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect("the 401 announces its metadata");
            let (served, document) = run_curl_line(&format!("curl -i {announced}")).await;
            assert_eq!(served, 200, "{announced}\n{document}");
            assert!(document.contains("\"resource\""), "{document}");
        }
    }
    child.kill().await.unwrap();
}
