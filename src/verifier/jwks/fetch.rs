//! HTTP for remote keys: discovery documents (RFC 8414, OIDC) and JWKS, with caching headers.

use std::time::Duration;

use http::{HeaderMap, StatusCode, header};
use jsonwebtoken::{Algorithm, jwk::JwkSet};
use serde::Deserialize;
use url::{Host, Url};

use crate::verifier::keys::KeySet;

/// A JWKS or discovery document is never this large; refusing bigger bodies bounds memory.
const MAX_BODY: usize = 1024 * 1024;

/// The longest `Cache-Control: max-age` taken from the network: one day. A larger value (up to
/// `u64::MAX` seconds from a hostile or broken server) counts as one day, before the configured
/// bounds apply, so no deadline computed from it can overflow.
pub(crate) const MAX_ADVERTISED_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Why keys may not be fetched from `url`, if they may not: they travel over `https`, or over
/// plain `http` to a loopback host only (`localhost`, `127.0.0.0/8`, `::1`), the rule
/// `IntrospectionVerifier` applies to its endpoint. Keys injected on the path would let anyone
/// mint accepted tokens.
pub(crate) fn transport_refusal(url: &Url) -> Option<&'static str> {
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Some("has no host"),
    };
    match url.scheme() {
        "https" => None,
        "http" if loopback => None,
        "http" => {
            Some("plain http is allowed for loopback hosts only (localhost, 127.0.0.0/8, ::1)")
        }
        _ => Some("not an http(s) URL"),
    }
}

/// Why a fetch failed: reported as `VerifyError::Unavailable`, never shown to clients.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("request to {url} failed: {}", chain(.source))]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered {status}")]
    Status { url: String, status: StatusCode },
    #[error("{url} sent a body over {MAX_BODY} bytes")]
    TooLarge { url: String },
    #[error("{url} sent invalid JSON: {reason}")]
    Json { url: String, reason: String },
    #[error("discovery at {url} names issuer {found:?}, not the configured {expected:?}")]
    IssuerMismatch {
        url: String,
        expected: String,
        found: String,
    },
    #[error("no discovery document for issuer {issuer} ({tried})")]
    NoDiscovery { issuer: String, tried: String },
    #[error("discovery at {url} names jwks_uri {jwks_uri}, refused before any fetch: {reason}")]
    InsecureJwksUri {
        url: String,
        jwks_uri: String,
        reason: &'static str,
    },
}

/// `error` and its causes, `: `-separated: reqwest's own text omits why (a refused redirect, a
/// refused connection).
fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A fetched JWKS, or "not modified".
pub(crate) enum Fetched {
    Keys {
        keys: KeySet,
        skipped: usize,
        etag: Option<String>,
        max_age: Option<Duration>,
    },
    NotModified {
        max_age: Option<Duration>,
    },
}

async fn get(
    client: &reqwest::Client,
    url: &Url,
    etag: Option<&str>,
) -> Result<(StatusCode, HeaderMap, Vec<u8>), FetchError> {
    let http = |source| FetchError::Http {
        url: url.to_string(),
        source,
    };
    let mut request = client
        .get(url.clone())
        .header(header::ACCEPT, "application/json");
    if let Some(etag) = etag {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    let mut response = request.send().await.map_err(http)?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(http)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, headers, body))
}

/// `Cache-Control: max-age` (RFC 9111 §5.2.2.1), at most [`MAX_ADVERTISED_MAX_AGE`];
/// `no-cache`/`no-store` read as 0.
pub(crate) fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::CACHE_CONTROL)?.to_str().ok()?;
    value.split(',').map(str::trim).find_map(|directive| {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        let seconds = lower.strip_prefix("max-age=")?.trim_matches('"');
        seconds
            .parse()
            .ok()
            .map(|seconds| Duration::from_secs(seconds).min(MAX_ADVERTISED_MAX_AGE))
    })
}

/// GETs a JWKS, sending `etag` as `If-None-Match`; keeps the signing keys whose algorithm is in
/// `allowed`.
pub(crate) async fn jwks(
    client: &reqwest::Client,
    url: &Url,
    etag: Option<&str>,
    allowed: &[Algorithm],
) -> Result<Fetched, FetchError> {
    let (status, headers, body) = get(client, url, etag).await?;
    let max_age = max_age(&headers);
    if status == StatusCode::NOT_MODIFIED && etag.is_some() {
        return Ok(Fetched::NotModified { max_age });
    }
    if status != StatusCode::OK {
        return Err(FetchError::Status {
            url: url.to_string(),
            status,
        });
    }
    // Parse key by key: one key of a type we do not know must not discard the others.
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document = serde_json::from_slice(&body).map_err(|error| FetchError::Json {
        url: url.to_string(),
        reason: error.to_string(),
    })?;
    let total = document.keys.len();
    let set = JwkSet {
        keys: document
            .keys
            .into_iter()
            .filter_map(|key| serde_json::from_value(key).ok())
            .collect(),
    };
    let (keys, skipped) = KeySet::from_jwk_set(&set, allowed);
    Ok(Fetched::Keys {
        keys,
        skipped: skipped + (total - set.keys.len()),
        etag: headers
            .get(header::ETAG)
            .and_then(|etag| etag.to_str().ok())
            .map(str::to_owned),
        max_age,
    })
}

/// The well-known URLs of `issuer`'s metadata, in the order tried: RFC 8414 §3.1 (inserted
/// before the path), then OpenID Connect Discovery §4 (appended).
pub(crate) fn discovery_urls(issuer: &Url) -> [Url; 2] {
    let path = issuer.path().trim_end_matches('/');
    let mut oauth = issuer.clone();
    oauth.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    oauth.set_query(None);
    let mut oidc = issuer.clone();
    oidc.set_path(&format!("{path}/.well-known/openid-configuration"));
    oidc.set_query(None);
    [oauth, oidc]
}

/// Finds `issuer`'s `jwks_uri`, requiring the document's `issuer` to equal it exactly
/// (RFC 8414 §3.3, OIDC Discovery §4.3).
pub(crate) async fn discover(client: &reqwest::Client, issuer: &str) -> Result<Url, FetchError> {
    #[derive(Deserialize)]
    struct Metadata {
        issuer: Option<String>,
        jwks_uri: Option<String>,
    }
    let parsed = Url::parse(issuer).map_err(|error| FetchError::Json {
        url: issuer.to_owned(),
        reason: error.to_string(),
    })?;
    let mut tried = Vec::new();
    for url in discovery_urls(&parsed) {
        let (status, _, body) = get(client, &url, None).await?;
        if status != StatusCode::OK {
            tried.push(format!("{url}: {status}"));
            continue;
        }
        let metadata: Metadata =
            serde_json::from_slice(&body).map_err(|error| FetchError::Json {
                url: url.to_string(),
                reason: error.to_string(),
            })?;
        let found = metadata.issuer.unwrap_or_default();
        if found != issuer {
            return Err(FetchError::IssuerMismatch {
                url: url.to_string(),
                expected: issuer.to_owned(),
                found,
            });
        }
        let jwks_uri = metadata.jwks_uri.ok_or_else(|| FetchError::Json {
            url: url.to_string(),
            reason: "no jwks_uri".into(),
        })?;
        let jwks_uri = Url::parse(&jwks_uri).map_err(|error| FetchError::Json {
            url: url.to_string(),
            reason: format!("jwks_uri: {error}"),
        })?;
        if let Some(reason) = transport_refusal(&jwks_uri) {
            return Err(FetchError::InsecureJwksUri {
                url: url.to_string(),
                jwks_uri: jwks_uri.to_string(),
                reason,
            });
        }
        return Ok(jwks_uri);
    }
    Err(FetchError::NoDiscovery {
        issuer: issuer.to_owned(),
        tried: tried.join("; "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_urls_follow_rfc_8414_and_oidc() {
        let urls = |issuer: &str| discovery_urls(&Url::parse(issuer).unwrap()).map(String::from);
        assert_eq!(
            urls("https://as.example"),
            [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            urls("https://as.example/tenant/a"),
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant/a",
                "https://as.example/tenant/a/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn keys_travel_over_https_or_to_loopback_only() {
        let refused = |url: &str| transport_refusal(&Url::parse(url).unwrap()).is_some();
        for ok in [
            "https://as.example/jwks",
            "https://10.0.0.1/jwks",
            "http://localhost:8080/jwks",
            "http://LOCALHOST/jwks",
            "http://127.0.0.1:9000/jwks",
            "http://127.1.2.3/jwks",
            "http://[::1]:9000/jwks",
        ] {
            assert!(!refused(ok), "{ok}");
        }
        for bad in [
            "http://as.example/jwks",
            "http://10.0.0.1/jwks",
            "http://localhost.evil.example/jwks",
            "http://[::2]/jwks",
            "http://0.0.0.0/jwks",
            "ftp://127.0.0.1/jwks",
        ] {
            assert!(refused(bad), "{bad}");
        }
    }

    #[test]
    fn cache_control_max_age() {
        let headers = |value: &str| {
            let mut map = HeaderMap::new();
            map.insert(header::CACHE_CONTROL, value.parse().unwrap());
            map
        };
        assert_eq!(
            max_age(&headers("public, max-age=600")),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            max_age(&headers("Max-Age=\"30\"")),
            Some(Duration::from_secs(30))
        );
        assert_eq!(max_age(&headers("no-store")), Some(Duration::ZERO));
        // Bounded: a deadline computed from it cannot overflow.
        assert_eq!(
            max_age(&headers("max-age=18446744073709551615")),
            Some(MAX_ADVERTISED_MAX_AGE)
        );
        assert_eq!(
            max_age(&headers("max-age=86401")),
            Some(Duration::from_secs(86400))
        );
        assert_eq!(max_age(&headers("public")), None);
        assert_eq!(max_age(&HeaderMap::new()), None);
    }
}
