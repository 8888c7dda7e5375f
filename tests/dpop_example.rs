//! `examples/dpop` does what its docs say: against a real server it gets 401 `use_dpop_nonce`,
//! then 200 with the nonce, then 401 for the replayed proof, the bearer downgrade and the
//! stolen token — and it exits with success only when every answer was the expected one.
#![cfg(all(feature = "dpop", feature = "testing"))]

mod common;

use std::time::Duration;

use tokio::{process::Command, time::timeout};

#[tokio::test]
async fn the_dpop_example_sees_every_answer_it_announces() {
    let binary = common::example_binary("dpop");
    assert!(
        binary.exists(),
        "build the example first: {}",
        binary.display()
    );
    let output = timeout(
        Duration::from_secs(60),
        Command::new(&binary)
            .env("PORT", "0")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the example finishes within a minute")
    .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("DPoP example listening on http://127.0.0.1:"));
    let expected = [
        ("no nonce yet: 401 ", "error=\"use_dpop_nonce\""),
        ("with the server's nonce: 200 ", "proved key "),
        ("the same proof again: 401 ", "DPoP proof replayed"),
        ("the bound token as a bearer token: 401 ", "DPoP algs="),
        ("a proof from another key: 401 ", "Invalid DPoP key binding"),
    ];
    assert_eq!(lines.len(), 1 + expected.len(), "{stdout}");
    for (line, (start, contains)) in lines[1..].iter().zip(expected) {
        assert!(
            line.starts_with(start),
            "{line:?} should start with {start:?}"
        );
        assert!(
            line.contains(contains),
            "{line:?} should contain {contains:?}"
        );
    }
}
