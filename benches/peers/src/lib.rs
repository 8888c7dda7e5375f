//! Benchmarks only: `cargo bench -p axum-bearer-peers` (see `benches/peers.rs` and the
//! repository's BENCHMARKS.md). This library is empty; it exists because a package needs one
//! target besides its benchmarks.
