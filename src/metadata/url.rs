//! The well-known URL of a resource's metadata (RFC 9728 §3.1).

use url::Url;

use crate::ConfigError;

/// The path segment RFC 9728 §3 registers.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// The URL at which the metadata of `resource` is published (RFC 9728 §3.1): the well-known path
/// inserted between the host and the path and/or query. A root path (`/`) is dropped, a trailing
/// slash on a longer path is kept, and a query is kept after the path.
///
/// ```
/// use axum_bearer::metadata::metadata_url;
///
/// assert_eq!(metadata_url("https://h/mcp")?, "https://h/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(metadata_url("https://h/")?, "https://h/.well-known/oauth-protected-resource");
/// assert_eq!(metadata_url("https://h/mcp/")?, "https://h/.well-known/oauth-protected-resource/mcp/");
/// assert_eq!(
///     metadata_url("https://api.example.com/v1?tenant=a")?,
///     "https://api.example.com/.well-known/oauth-protected-resource/v1?tenant=a"
/// );
/// # Ok::<(), axum_bearer::ConfigError>(())
/// ```
pub fn metadata_url(resource: &str) -> Result<String, ConfigError> {
    let parsed = parse_resource(resource)?;
    let mut url = origin(&parsed);
    url.push_str(WELL_KNOWN_PATH);
    url.push_str(suffix_path(&parsed));
    if let Some(query) = parsed.query() {
        url.push('?');
        url.push_str(query);
    }
    Ok(url)
}

/// The path the metadata route is served at (the well-known URL without origin and query).
pub(crate) fn metadata_path(resource: &Url) -> String {
    format!("{WELL_KNOWN_PATH}{}", suffix_path(resource))
}

fn suffix_path(resource: &Url) -> &str {
    match resource.path() {
        "/" => "",
        path => path,
    }
}

/// `scheme://host[:port]`, as the WHATWG parse normalises it (lower-case host, default port
/// dropped).
fn origin(parsed: &Url) -> String {
    let mut origin = format!(
        "{}://{}",
        parsed.scheme(),
        parsed.host_str().unwrap_or_default()
    );
    if let Some(port) = parsed.port() {
        origin.push_str(&format!(":{port}"));
    }
    origin
}

/// A resource identifier: an absolute http(s) URL with a host and without a fragment
/// (RFC 9728 §1.2, RFC 8707 §2).
pub(crate) fn parse_resource(resource: &str) -> Result<Url, ConfigError> {
    let refuse = |reason: &str| ConfigError::InvalidUrl {
        what: "resource",
        url: resource.escape_debug().to_string(),
        reason: reason.into(),
    };
    let parsed = Url::parse(resource).map_err(|error| refuse(&error.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(refuse("not an absolute http(s) URL with a host"));
    }
    // WHATWG parsing forgives `https:///host`; RFC 3986 has an empty authority there.
    let authority_empty = resource
        .split_once("://")
        .is_none_or(|(_, rest)| rest.starts_with('/'));
    if authority_empty {
        return Err(refuse("no host after the scheme"));
    }
    if parsed.fragment().is_some() || resource.contains('#') {
        return Err(refuse("a resource identifier has no fragment"));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_cases() {
        // python-sdk.md §9.3 and RFC 9728 §3.1.
        for (resource, expected) in [
            (
                "https://example.com",
                "https://example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://example.com/",
                "https://example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://example.com/mcp",
                "https://example.com/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "http://localhost:8001/mcp",
                "http://localhost:8001/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "https://mcp.example.com/mcp/",
                "https://mcp.example.com/.well-known/oauth-protected-resource/mcp/",
            ),
            (
                "https://resource.example.com/resource1",
                "https://resource.example.com/.well-known/oauth-protected-resource/resource1",
            ),
            (
                "https://api.example.com/v1?tenant=a",
                "https://api.example.com/.well-known/oauth-protected-resource/v1?tenant=a",
            ),
            (
                "HTTPS://Example.COM:443/mcp",
                "https://example.com/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "http://127.0.0.1:8000/mcp",
                "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp",
            ),
        ] {
            assert_eq!(metadata_url(resource).unwrap(), expected, "{resource}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_resource_identifier() {
        for bad in [
            "example.com/mcp",
            "/mcp",
            "ftp://x/mcp",
            "https://x/mcp#frag",
            "https:///mcp",
            "",
        ] {
            assert!(metadata_url(bad).is_err(), "{bad}");
        }
    }
}
