//! Resource identifiers (RFC 8707): parsing configured URLs and matching a token's `resource`.

use url::Url;

use crate::ConfigError;

/// A resource server URL, kept in the normal form used for comparison: scheme and host
/// lower-cased, default port removed (by the WHATWG parse), and one trailing `/` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResourceUrl {
    configured: Box<str>,
    normal: Box<str>,
}

impl ResourceUrl {
    pub(crate) fn parse(what: &'static str, url: &str) -> Result<Self, ConfigError> {
        let normal = normalise(url).ok_or_else(|| ConfigError::InvalidUrl {
            what,
            url: url.escape_debug().to_string(),
            reason: "not an absolute http(s) URL without a fragment".into(),
        })?;
        Ok(Self {
            configured: url.into(),
            normal: normal.into(),
        })
    }

    /// Whether a token's `resource` names this server: scheme/host case, default port and
    /// one trailing slash aside (as the reference's `validate_token_resource`). `None` never matches.
    pub(crate) fn matches(&self, resource: Option<&str>) -> bool {
        let Some(resource) = resource else {
            return false;
        };
        // The common case, an exact copy of the configured or normal form, needs no parse.
        if resource == &*self.configured || resource == &*self.normal {
            return true;
        }
        normalise(resource).is_some_and(|normal| normal == *self.normal)
    }
}

/// The comparison form of an http(s) URL, or `None` when it is not one.
fn normalise(url: &str) -> Option<String> {
    let parsed = Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.fragment().is_some()
        || parsed.host().is_none()
    {
        return None;
    }
    let mut normal = String::from(parsed);
    if normal.ends_with('/') {
        normal.pop();
    }
    Some(normal)
}

/// Checks a URL that goes into a challenge parameter (`resource_metadata`): an absolute http(s)
/// URL without fragment whose text stays within `%x21 / %x23-5B / %x5D-7E` (RFC 6750 §3).
pub(crate) fn validate_header_url(what: &'static str, url: &str) -> Result<(), ConfigError> {
    let refuse = |reason: &str| ConfigError::InvalidUrl {
        what,
        url: url.escape_debug().to_string(),
        reason: reason.into(),
    };
    if !url.bytes().all(crate::scopes::is_scope_char) {
        return Err(refuse(
            "characters outside %x21 / %x23-5B / %x5D-7E (percent-encode them)",
        ));
    }
    normalise(url).ok_or_else(|| refuse("not an absolute http(s) URL without a fragment"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_ignores_case_default_port_and_one_slash() {
        let server = ResourceUrl::parse("resource", "http://127.0.0.1:8000/mcp").unwrap();
        for ok in [
            "http://127.0.0.1:8000/mcp",
            "http://127.0.0.1:8000/mcp/",
            "HTTP://127.0.0.1:8000/mcp",
        ] {
            assert!(server.matches(Some(ok)), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:8000/MCP",
            "http://127.0.0.1:8000/mcp//",
            "http://127.0.0.1:8000/",
            "http://127.0.0.1:8001/mcp",
            "https://127.0.0.1:8000/mcp",
            "not a url",
            "",
        ] {
            assert!(!server.matches(Some(bad)), "{bad}");
        }
        assert!(!server.matches(None));

        let server = ResourceUrl::parse("resource", "https://Example.COM:443/api").unwrap();
        assert!(server.matches(Some("https://example.com/api")));
        assert!(server.matches(Some("https://EXAMPLE.com:443/api/")));
    }

    #[test]
    fn configured_urls_are_validated() {
        assert!(ResourceUrl::parse("resource", "ftp://x/y").is_err());
        assert!(ResourceUrl::parse("resource", "https://x/y#frag").is_err());
        assert!(ResourceUrl::parse("resource", "/relative").is_err());
        assert!(validate_header_url("m", "https://x/.well-known/oauth-protected-resource").is_ok());
        assert!(validate_header_url("m", "https://x/a\"b").is_err());
        assert!(validate_header_url("m", "https://x/a b").is_err());
        assert!(validate_header_url("m", "https://x/caf\u{e9}").is_err());
    }
}
