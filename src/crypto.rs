//! Choosing jsonwebtoken's crypto backend.

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "the `jwt` feature needs a crypto backend: enable `aws-lc-rs` (default) or `rust-crypto`"
);

/// Makes sure jsonwebtoken has a process-wide crypto provider.
///
/// With one backend feature jsonwebtoken picks it itself; with both (e.g. `--all-features`) it
/// would panic at first use, so aws-lc-rs is installed. A provider the application installed
/// first is left alone.
pub(crate) fn ensure_provider() {
    #[cfg(all(feature = "aws-lc-rs", feature = "rust-crypto"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        });
    }
}
