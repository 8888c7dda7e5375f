//! Shared harness for the integration tests: routers wired like the reference, a verifier that
//! counts its calls, and an RFC 9110 challenge parser.
#![allow(dead_code, unreachable_pub)]

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::{Body, Bytes},
    http::{HeaderMap, Request, StatusCode, header},
    routing::any,
};
use axum_bearer::{
    AccessToken, AuthenticatedUser, BearerAuth, Profile, RequireScopesLayer, StaticVerifier,
    TokenVerifier, VerifyError,
};
use http_body_util::BodyExt;
use tower::ServiceExt;

pub const RESOURCE: &str = "http://127.0.0.1:8000/mcp";
pub const METADATA_URL: &str = "http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp";
pub const PY_401_BODY: &str =
    r#"{"error": "invalid_token", "error_description": "Authentication required"}"#;

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The fixtures of the reference's `test_bearer_auth.py`, plus the parity set.
pub fn fixtures() -> Vec<AccessToken> {
    let now = now();
    let ours = |token: &str, client: &str, scopes: &[&str]| {
        AccessToken::new(token, client, scopes.iter().copied())
            .with_expires_at(now + 3600)
            .with_resource(RESOURCE)
    };
    vec![
        ours("valid_token", "test_client", &["read", "write"]),
        ours("expired_token", "test_client", &["read"]).with_expires_at(now - 3600),
        AccessToken::new("no_expiry_token", "test_client", ["read", "write"])
            .with_resource(RESOURCE),
        ours("tok-read", "client-read", &["mcp:read"]),
        ours("tok-rw", "client-rw", &["mcp:read", "mcp:write"]),
        ours("tok-write", "client-write", &["mcp:write"]),
        ours("tok-none", "client-none", &[]),
        ours("tok-expired", "client-exp", &["mcp:read"]).with_expires_at(now - 3600),
        AccessToken::new("tok-noexp", "client-noexp", ["mcp:read"]).with_resource(RESOURCE),
        ours("tok-other-resource", "client-other", &["mcp:read"])
            .with_resource("https://other.example/mcp"),
        AccessToken::new("tok-no-resource", "client-nores", ["mcp:read"])
            .with_expires_at(now + 3600),
        ours("tok-resource-slash", "client-slash", &["mcp:read"])
            .with_resource("http://127.0.0.1:8000/mcp/"),
        ours("tok-resource-case", "client-case", &["mcp:read"])
            .with_resource("HTTP://127.0.0.1:8000/mcp"),
        ours("abc==", "client-pad", &["mcp:read"]),
        ours("tok-Upper", "client-upper", &["MCP:READ"]),
        ours("tok-alice", "client-123", &["mcp:read"])
            .with_subject("alice")
            .with_claim("iss", "https://as.example"),
    ]
}

/// A verifier that records every token it is asked about, and can be told to fail.
#[derive(Clone, Default)]
pub struct Recording {
    inner: Arc<RecordingInner>,
}

#[derive(Default)]
struct RecordingInner {
    tokens: StaticVerifier,
    calls: AtomicUsize,
    seen: Mutex<Vec<String>>,
    unavailable: std::sync::atomic::AtomicBool,
}

impl Recording {
    pub fn new(tokens: impl IntoIterator<Item = AccessToken>) -> Self {
        Self {
            inner: Arc::new(RecordingInner {
                tokens: StaticVerifier::new(tokens),
                ..Default::default()
            }),
        }
    }

    pub fn with_fixtures() -> Self {
        Self::new(fixtures())
    }

    pub fn calls(&self) -> usize {
        self.inner.calls.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<String> {
        self.inner.seen.lock().unwrap().clone()
    }

    pub fn set_unavailable(&self, down: bool) {
        self.inner.unavailable.store(down, Ordering::SeqCst);
    }
}

impl TokenVerifier for Recording {
    async fn verify(&self, token: &str) -> Result<AccessToken, VerifyError> {
        self.inner.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.seen.lock().unwrap().push(token.to_owned());
        if self.inner.unavailable.load(Ordering::SeqCst) {
            return Err(VerifyError::unavailable("introspection endpoint down"));
        }
        self.inner.tokens.verify(token).await
    }
}

/// The reference's layout: `/mcp` requires `mcp:read`, `/rw` requires `mcp:read mcp:write`
/// (both with `resource_metadata`), `/plain` requires `mcp:read` without a metadata URL.
pub fn reference_app(profile: Profile, verifier: Recording) -> Router {
    let handler = |user: AuthenticatedUser| async move { format!("ok {}", user.client_id()) };
    let gated = |scopes: &[&str]| {
        Router::new()
            .route("/", any(handler))
            .route_layer(RequireScopesLayer::new(scopes.iter().copied()).unwrap())
    };
    let with_metadata = BearerAuth::new(verifier.clone())
        .profile(profile)
        .resource_metadata_url(METADATA_URL)
        .unwrap()
        .resource_server_url(RESOURCE)
        .unwrap();
    let without_metadata = BearerAuth::new(verifier)
        .profile(profile)
        .resource_server_url(RESOURCE)
        .unwrap();
    let app = Router::new()
        // Every method goes through the gate, as the reference's un-restricted route.
        .route(
            "/mcp",
            any(handler).layer(RequireScopesLayer::new(["mcp:read"]).unwrap()),
        )
        .route(
            "/rw",
            any(handler).layer(RequireScopesLayer::new(["mcp:read", "mcp:write"]).unwrap()),
        )
        .layer(with_metadata)
        .nest("/plain", gated(&["mcp:read"]).layer(without_metadata));
    with_metadata_route(app)
}

/// The reference's RFC 9728 route: `resource_server_url` as resource, one authorization server,
/// the required scope.
#[cfg(feature = "metadata")]
fn with_metadata_route(app: Router) -> Router {
    let metadata =
        axum_bearer::ProtectedResourceMetadata::new(RESOURCE, ["https://auth.example.com/"])
            .unwrap()
            .with_scopes_supported(["mcp:read"])
            .unwrap();
    assert_eq!(metadata.url(), METADATA_URL);
    app.merge(metadata.router())
}

#[cfg(not(feature = "metadata"))]
fn with_metadata_route(app: Router) -> Router {
    app
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The raw `WWW-Authenticate` value.
    pub fn www_authenticate(&self) -> Option<&str> {
        let mut values = self.headers.get_all(header::WWW_AUTHENTICATE).iter();
        let value = values.next()?;
        assert!(values.next().is_none(), "one WWW-Authenticate header only");
        Some(value.to_str().expect("challenge is visible ASCII"))
    }

    /// The parsed `Bearer` challenge parameters; panics if the header is absent or invalid.
    pub fn challenge(&self) -> BTreeMap<String, String> {
        let value = self.www_authenticate().expect("a WWW-Authenticate header");
        parse_bearer_challenge(value).unwrap_or_else(|e| panic!("invalid challenge {value:?}: {e}"))
    }

    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(header::CONTENT_TYPE)?.to_str().ok()
    }
}

/// Sends `request` through `app` in-process.
pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// `GET path` with the given `Authorization` header values (raw bytes).
pub fn get(path: &str, authorization: &[&[u8]]) -> Request<Body> {
    let mut builder = Request::get(path);
    for value in authorization {
        builder = builder.header(header::AUTHORIZATION, *value);
    }
    builder.body(Body::empty()).unwrap()
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Parses one `Bearer` challenge under RFC 9110 §11 (token or quoted-string values, OWS around
/// commas, no BWS generated), requiring each parameter name once and every value within
/// RFC 6750 §3's character sets.
pub fn parse_bearer_challenge(value: &str) -> Result<BTreeMap<String, String>, String> {
    let rest = value.strip_prefix("Bearer").ok_or("scheme is not Bearer")?;
    let mut params = BTreeMap::new();
    if rest.is_empty() {
        return Ok(params);
    }
    let mut rest = rest.strip_prefix(' ').ok_or("no SP after the scheme")?;
    loop {
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_end);
        if name.is_empty() {
            return Err(format!("empty parameter name at {rest:?}"));
        }
        let after = after.strip_prefix('=').ok_or("no '=' right after a name")?;
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    '\\' => {
                        let (_, escaped) = chars.next().ok_or("dangling quoted-pair")?;
                        out.push(escaped);
                    }
                    c => out.push(c),
                }
            }
            let end = end.ok_or("unterminated quoted-string")?;
            (out, &quoted[end + 1..])
        } else {
            return Err(format!("parameter {name} is not a quoted-string"));
        };
        let lower = name.to_ascii_lowercase();
        let allowed: fn(char) -> bool = if lower == "scope" || lower == "resource_metadata" {
            |c| matches!(c, '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e') || c == ' '
        } else {
            |c| matches!(c, '\x20' | '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')
        };
        if let Some(bad) = value.chars().find(|&c| !allowed(c)) {
            return Err(format!("{name} holds {bad:?}"));
        }
        if lower == "resource_metadata" && value.contains(' ') {
            return Err("resource_metadata holds a space".into());
        }
        if params.insert(lower, value).is_some() {
            return Err(format!("parameter {name} repeated"));
        }
        if after.is_empty() {
            return Ok(params);
        }
        rest = after
            .strip_prefix(", ")
            .ok_or("parameters not separated by \", \"")?;
    }
}

/// Builds a params map for comparison.
pub fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `GET path` with `Authorization: Bearer <token>`, sent through `app`: the `call(app, token)`
/// of the JWT and JWKS tests.
pub async fn call_bearer(app: &Router, path: &str, token: &str) -> Reply {
    send(app, get(path, &[bearer(token).as_bytes()])).await
}

impl Reply {
    /// The body as JSON, or `Null` when it is not JSON (a plain-text rejection).
    pub fn json_or_null(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The challenge (if any) and the body as text, `"<challenge> | <body>"`: one string for an
    /// assertion to search or print.
    pub fn summary(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        match self.headers.get(header::WWW_AUTHENTICATE) {
            Some(challenge) => {
                format!("{} | {text}", String::from_utf8_lossy(challenge.as_bytes()))
            }
            None => text.into_owned(),
        }
    }
}

/// The binary of example `name`: tests run from `target/<profile>/deps`, and cargo builds the
/// examples into `target/<profile>/examples`.
pub fn example_binary(name: &str) -> PathBuf {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    path.pop();
    path.push("examples");
    path.push(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    path
}

/// A DPoP replay store that never answers: the layer and the verifier must refuse (503).
#[cfg(feature = "dpop")]
pub struct DownReplayStore;

#[cfg(feature = "dpop")]
impl axum_bearer::dpop::ReplayStore for DownReplayStore {
    async fn insert_if_absent(
        &self,
        _jkt: &str,
        _jti: &str,
        _ttl: std::time::Duration,
    ) -> Result<bool, axum_bearer::dpop::ReplayStoreError> {
        Err(axum_bearer::dpop::ReplayStoreError::unavailable(
            "connection refused",
        ))
    }
}
