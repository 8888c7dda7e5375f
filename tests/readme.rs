//! README.md's "Use it" sample does what its text says: the block is `examples/readme.rs` byte for
//! byte, and the curl lines under it give the statuses and bodies their comments promise when run
//! against that example. (Every other `rust` block of the README is a doctest, through
//! `src/lib.rs`.)

mod common;

use std::{process::Stdio, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::Command,
    time::{sleep, timeout},
};

const README: &str = include_str!("../README.md");
const EXAMPLE: &str = include_str!("../examples/readme.rs");

/// The text between the first line starting with `opening` after `## Use it` and its closing fence.
fn block(opening: &str) -> &'static str {
    let section = &README[README.find("## Use it").expect("a Use it section")..];
    let start = section.find(opening).expect("the block") + opening.len();
    let start = start + section[start..].find('\n').expect("a fence line") + 1;
    let end = start + section[start..].find("\n```").expect("a closing fence") + 1;
    &section[start..end]
}

#[test]
fn the_sample_is_the_example() {
    assert_eq!(
        block("```rust"),
        EXAMPLE,
        "README's Use it block and examples/readme.rs differ"
    );
}

/// One README curl line: method, path, the `Authorization` value, the expected status and the
/// text the body must contain (the comment's words after the status, when they are the body).
struct Line {
    method: String,
    path: String,
    authorization: Option<String>,
    status: u16,
    comment: String,
}

fn lines() -> Vec<Line> {
    block("```sh")
        .lines()
        .filter(|line| line.starts_with("curl "))
        .map(|line| {
            let (command, comment) = line.split_once('#').expect("a comment with the status");
            let words: Vec<&str> = command.split_whitespace().collect();
            let url = words.iter().find(|w| w.starts_with("http://")).unwrap();
            let path = url.trim_start_matches("http://127.0.0.1:3000").to_owned();
            let method = words
                .iter()
                .position(|w| *w == "-X")
                .map_or("GET", |i| words[i + 1])
                .to_owned();
            let authorization = command
                .split_once("-H 'Authorization: ")
                .map(|(_, rest)| rest.split_once('\'').unwrap().0.to_owned());
            let comment = comment.trim();
            let (status, comment) = comment.split_once(' ').unwrap_or((comment, ""));
            Line {
                method,
                path,
                authorization,
                status: status.parse().expect("the comment starts with the status"),
                comment: comment.to_owned(),
            }
        })
        .collect()
}

async fn send(port: u16, line: &Line) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut request = format!(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n",
        line.method, line.path
    );
    if let Some(value) = &line.authorization {
        request.push_str(&format!("Authorization: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    (status, body)
}

#[tokio::test]
async fn the_curl_lines_answer_as_the_readme_says() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut server = Command::new(common::example_binary("readme"))
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("cargo test builds examples/readme.rs");
    timeout(Duration::from_secs(20), async {
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the example listens");

    let lines = lines();
    assert_eq!(lines.len(), 5);
    for line in &lines {
        let (status, body) = send(port, line).await;
        assert_eq!(status, line.status, "{} {}", line.method, line.path);
        // A 200's comment is its body.
        if status == 200 {
            assert_eq!(
                body.trim_end(),
                line.comment,
                "{} {}",
                line.method,
                line.path
            );
        }
    }
    server.kill().await.unwrap();
}
