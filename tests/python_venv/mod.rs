//! The Python venv of the tests that run real Python software (the `mcp` 2.3.0 reference server,
//! its client): made by `tests/parity/setup-venv.sh`, which `.ci/run` runs.
//!
//! Those tests are `#[ignore = "…"]`, so `cargo test` lists them as ignored instead of passing
//! them silently; `cargo test --all-features -- --include-ignored` (the README's command, after
//! the setup) runs them, and then a missing venv is a failure, never a skip.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// Why the tests that need the venv are ignored by default; `#[ignore]` wants a literal, so the
/// tests repeat it: "needs the Python venv: bash tests/parity/setup-venv.sh, then --include-ignored".
pub const WHY: &str =
    "needs the Python venv: bash tests/parity/setup-venv.sh, then --include-ignored";

/// The venv's `python`: `$PARITY_VENV/bin/python`, else `target/parity-venv/bin/python`.
///
/// # Panics
///
/// When it is missing: a test that asked for it was asked to run.
pub fn python() -> PathBuf {
    let venv = std::env::var_os("PARITY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/parity-venv"));
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `bash tests/parity/setup-venv.sh` first",
        python.display()
    );
    python
}
