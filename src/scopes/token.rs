use crate::ConfigError;

/// Whether `byte` may appear in a scope-token: `%x21 / %x23-5B / %x5D-7E` (RFC 6749 §3.3).
pub(crate) const fn is_scope_char(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// Whether `scope` is a valid RFC 6749 §3.3 scope-token: one or more of
/// `%x21 / %x23-5B / %x5D-7E` (printable ASCII without space, `"` and `\`).
///
/// ```
/// use axum_bearer::is_valid_scope_token;
/// assert!(is_valid_scope_token("files:read"));
/// assert!(!is_valid_scope_token("files read"));
/// assert!(!is_valid_scope_token(""));
/// ```
pub const fn is_valid_scope_token(scope: &str) -> bool {
    let bytes = scope.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if !is_scope_char(bytes[i]) {
            return false;
        }
        i += 1;
    }
    true
}

/// [`is_valid_scope_token`] as a `Result`, for configuration built at start-up.
pub fn validate_scope_token(scope: &str) -> Result<(), ConfigError> {
    if is_valid_scope_token(scope) {
        Ok(())
    } else {
        Err(ConfigError::InvalidScope {
            scope: scope.escape_debug().to_string(),
        })
    }
}
