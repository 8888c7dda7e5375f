//! The `htu` comparison: both URIs in RFC 3986 §6.2.2 normal form, without query and fragment.

use url::{Host, Url};

/// The normal form of an `http` or `https` URI for the `htu` comparison of RFC 9449 §4.3, or
/// `None` when it is not one (another scheme, no host, user information, not a URI).
///
/// Query and fragment are dropped (the proof covers the URI without them); scheme and host are
/// lower-cased, the default port and a trailing dot of the host removed, an empty path becomes
/// `/`, dot segments are resolved, percent-encoded unreserved characters decoded and the other
/// escapes written in upper case (RFC 3986 §6.2.2). Two URIs that normalise to the same string
/// identify the same resource.
///
/// ```
/// use axum_bearer::dpop::normalise_htu;
///
/// assert_eq!(
///     normalise_htu("HTTPS://API.Example.:443/m%63p/%7euser?page=2#top").as_deref(),
///     Some("https://api.example/mcp/~user"),
/// );
/// assert_eq!(normalise_htu("ftp://api.example/"), None);
/// ```
pub fn normalise_htu(uri: &str) -> Option<String> {
    let mut url = Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    if let Some(Host::Domain(domain)) = url.host() {
        if let Some(stripped) = domain.strip_suffix('.') {
            if stripped.is_empty() || stripped.ends_with('.') {
                return None;
            }
            let stripped = stripped.to_owned();
            url.set_host(Some(&stripped)).ok()?;
        }
    } else if url.host().is_none() {
        return None;
    }
    let path = normalise_escapes(url.path());
    if path != url.path() {
        url.set_path(&path);
    }
    Some(url.into())
}

/// Whether a request path is one the RFC 3986 §6.2.2 normalisation of [`normalise_htu`] cannot
/// restructure: no dot segment (`.`, `..`, also as `%2e`), no `\` (which the URL parser reads as
/// `/` in http URLs), no percent-encoded unreserved character. A router serves the path as sent,
/// so for any other path the normalised `htu` could name a resource other than the one that
/// answers (a proof for `/mcp` used on `/files/x/../../mcp`); such requests are refused.
pub(crate) fn is_normal_request_path(path: &str) -> bool {
    if path.contains('\\') {
        return false;
    }
    let encodes_unreserved = path.as_bytes().windows(3).any(|window| {
        window[0] == b'%'
            && matches!((hex(window[1]), hex(window[2])), (Some(high), Some(low)) if is_unreserved(high << 4 | low))
    });
    !encodes_unreserved
        && !path
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// `%xx` of an unreserved character decoded, every other escape in upper case.
fn normalise_escapes(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%'
            && at + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[at + 1]), hex(bytes[at + 2]))
        {
            let byte = high << 4 | low;
            if is_unreserved(byte) {
                out.push(char::from(byte));
            } else {
                out.push('%');
                out.push(char::from(bytes[at + 1].to_ascii_uppercase()));
                out.push(char::from(bytes[at + 2].to_ascii_uppercase()));
            }
            at += 3;
            continue;
        }
        // `Url::path` is ASCII: every other byte is copied as the character it is.
        out.push(char::from(bytes[at]));
        at += 1;
    }
    out
}

/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"` (RFC 3986 §2.3).
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::{is_normal_request_path, normalise_htu};

    #[test]
    fn request_paths_the_normalisation_would_restructure_are_not_normal() {
        for normal in [
            "/",
            "/mcp",
            "/files/a%2Fb",
            "/a/b.c/..d/e..",
            "/%20x",
            "/a%3a",
        ] {
            assert!(is_normal_request_path(normal), "{normal}");
        }
        for odd in [
            "/files/x/../../mcp",
            "/files/./mcp",
            "/files/%2e%2e/mcp",
            "/files/%2E%2E/mcp",
            "/files/.%2e/mcp",
            "/files/x\\..\\mcp",
            "/m%63p",
            "/%7euser",
            "/..",
            "/.",
        ] {
            assert!(!is_normal_request_path(odd), "{odd}");
        }
    }

    #[test]
    fn forms_of_one_uri_agree() {
        let want = Some("https://api.example/mcp/a~b".to_owned());
        for uri in [
            "https://api.example/mcp/a~b",
            "HTTPS://API.EXAMPLE/mcp/a~b",
            "https://api.example:443/mcp/a~b",
            "https://api.example./mcp/a~b",
            "https://api.example/mcp/a%7eb",
            "https://api.example/mcp/a%7Eb",
            "https://api.example/%6dcp/a~b",
            "https://api.example/mcp/x/../a~b",
            "https://api.example/mcp/a~b?x=1#frag",
        ] {
            assert_eq!(normalise_htu(uri), want, "{uri}");
        }
        assert_eq!(
            normalise_htu("http://api.example:80").as_deref(),
            Some("http://api.example/")
        );
        assert_eq!(
            normalise_htu("https://api.example/a%2fb").as_deref(),
            Some("https://api.example/a%2Fb")
        );
    }

    #[test]
    fn different_uris_differ() {
        let base = normalise_htu("https://api.example/mcp");
        for uri in [
            "http://api.example/mcp",
            "https://api.example:8443/mcp",
            "https://api.example/MCP",
            "https://api.example/mcp/",
            "https://other.example/mcp",
            "https://api.example/mcp%2f",
        ] {
            assert_ne!(normalise_htu(uri), base, "{uri}");
        }
        for bad in [
            "",
            "/mcp",
            "ftp://api.example/",
            "https://user@api.example/",
            "https://api.example../",
            "https://%/",
        ] {
            assert_eq!(normalise_htu(bad), None, "{bad}");
        }
    }
}
