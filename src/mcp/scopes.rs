//! [`OperationScopes`]: scope requirements per MCP operation (JSON-RPC method, tool, prompt,
//! resource) on one streamable-HTTP endpoint.

use std::{
    borrow::Cow,
    collections::BTreeMap,
    convert::Infallible,
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum_core::{
    body::Body,
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use bytes::BytesMut;
use http::{
    HeaderMap, HeaderValue, Request, StatusCode,
    header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE},
    request::Parts,
};
use http_body::Body as HttpBody;
use http_body_util::BodyExt;
use pin_project_lite::pin_project;
use serde::{
    Deserialize,
    de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use tower_layer::Layer;
use tower_service::Service;

use crate::{
    ConfigError, Rejection,
    extract::{authenticate, authenticate_now},
    scopes::{GuardState, Required, validate_scope_token},
};

/// The default cap on a request body [`OperationScopes`] reads: 1 MiB (the MCP Python SDK's
/// is 4 MiB; JSON-RPC calls are rarely more than a few KiB).
pub const DEFAULT_MAX_BODY_SIZE: usize = 1024 * 1024;

/// The body of the 400 for a body that holds a JSON object but is not well-formed UTF-8 JSON
/// (content type `application/json`): JSON-RPC's parse error.
pub const PARSE_ERROR_BODY: &str =
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#;

/// The body of the 400 for well-formed JSON whose operation is ambiguous (content type
/// `application/json`): JSON-RPC's invalid request.
pub const AMBIGUOUS_REQUEST_BODY: &str =
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}"#;

/// The body of the 413 for a body over the cap (content type `application/json`).
pub const BODY_TOO_LARGE_BODY: &str =
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Request body too large"}}"#;

/// The body of the 415 for a request body with a `Content-Encoding` (content type
/// `application/json`).
pub const UNSUPPORTED_ENCODING_BODY: &str = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Content-Encoding not supported"}}"#;

/// The body of the 400 for a request body that could not be read (the connection failed while
/// it was sent; content type `application/json`).
pub const BODY_READ_FAILED_BODY: &str = r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Could not read the request body"}}"#;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A set of required scopes, shared by every request that needs it.
type Scopes = Arc<[Box<str>]>;

/// Scope requirements per MCP operation, enforced on a streamable-HTTP endpoint: a tower
/// [`Layer`] (like [`BearerAuth`](crate::BearerAuth)), built in code or deserialised from a
/// configuration file.
///
/// Each request needs the scopes of its operation:
///
/// | operation | requirement |
/// |---|---|
/// | `tools/call` | the [`tool`](Self::tool) rule for `params.name`, else the `tools/call` [`method`](Self::method) rule, else the default |
/// | `prompts/get` | the [`prompt`](Self::prompt) rule for `params.name`, else the `prompts/get` method rule, else the default |
/// | `resources/read` | the [`resource`](Self::resource) rule for exactly `params.uri`, else the longest matching [`resource_prefix`](Self::resource_prefix), else the `resources/read` method rule, else the default |
/// | any other method (`initialize`, `tools/list`, notifications…) | its method rule, else the default |
/// | a JSON-RPC response, or JSON that is not a JSON-RPC message | the default |
/// | a batch (JSON array) | the union of its members' requirements (in order, without repeats) |
/// | a request without a body (`GET`, `DELETE`) | the default |
///
/// **Every rule is the full set of scopes its operation needs**: it replaces the default, it is
/// not added to it. A tool that needs `mcp:read` and `mcp:admin` is declared with both.
/// Scopes are compared as the configured [`BearerAuth`](crate::BearerAuth) compares them,
/// through its [`scope_implies`](crate::BearerAuth::scope_implies) hierarchy.
///
/// ```
/// use axum::{Router, routing::any};
/// use axum_bearer::{AccessToken, BearerAuth, Profile, StaticVerifier, mcp::OperationScopes};
///
/// # fn main() -> Result<(), axum_bearer::ConfigError> {
/// let verifier = StaticVerifier::new([AccessToken::new("dev-token", "dev-client", ["mcp:read"])]);
/// let scopes = OperationScopes::new(["mcp:read"])?
///     .tool("delete_note", ["mcp:read", "notes:delete"])?
///     .resource_prefix("notes://private/", ["mcp:read", "notes:private"])?;
/// // `mcp` stands for the streamable-HTTP MCP service (an rmcp `StreamableHttpService`…).
/// let mcp = any(|| async { "an MCP response" });
/// let app: Router = Router::new()
///     .route_service("/mcp", mcp)
///     .route_layer(scopes)
///     .layer(BearerAuth::new(verifier).profile(Profile::Spec));
/// # Ok(()) }
/// ```
///
/// # What the layer does with a request
///
/// 1. A request whose body is known to be empty (a `GET`, a `DELETE`) needs the default; its
///    body is not read. Any other body is read, whatever the method (an MCP service that would
///    read JSON-RPC from a `PUT` is checked as well as one reading `POST`):
///    - a `Content-Encoding` other than `identity` gets a 415 with [`UNSUPPORTED_ENCODING_BODY`]
///      (the layer cannot read a compressed body, and must not let it through unread:
///      decompress outside this layer);
///    - a `Content-Length` over [`max_body_size`](Self::max_body_size) gets a 413 with
///      [`BODY_TOO_LARGE_BODY`] before anything is read, and so does a body that grows over it
///      while read (the rest is never read): the layer holds at most the cap, plus the one
///      frame that crossed it;
///    - a body that fails while read gets a 400 with [`BODY_READ_FAILED_BODY`].
/// 2. The body's operations are worked out (below), which can refuse it with a 400.
/// 3. The caller is authenticated (once per request, shared with the extractors, so the MCP
///    service and its tools see the verified [`AuthenticatedUser`](crate::AuthenticatedUser)
///    without verifying again): no or an invalid token gets the profile's 401 — in
///    [`Profile::Spec`](crate::Profile::Spec) its `scope` names the operation's requirement; a
///    token lacking a scope gets the profile's 403 `insufficient_scope`: in `Profile::Spec` its
///    `scope` names **every** scope the operation needs, those already granted included (MCP
///    2026-07-28), so the client can step up; in `Profile::PythonSdk` the description is the
///    reference's `Required scope: <first missing>`.
/// 4. The inner service gets the request with the same body bytes (a cheap clone, never a
///    re-encoding).
///
/// The 400/413/415 come before authentication, because the requirement (and so the 401's
/// `scope`) depends on the body; they tell an anonymous caller nothing about the server.
///
/// # How the body is read
///
/// Parsing a body differently from the MCP service behind is how a call would slip past its
/// requirement, so the layer reads it strictly, and refuses what it cannot read with certainty.
/// `Content-Type` is never trusted: every body is parsed.
///
/// - One leading UTF-8 byte-order mark is skipped (as servers that strip it read the body;
///   rmcp refuses it). The bytes forwarded keep it.
/// - A body without any `{` byte (0x7B, in UTF-8, UTF-16 and UTF-32 alike) holds no JSON
///   object in any JSON dialect, so no JSON-RPC request: it needs the default and goes to the inner service untouched (an empty
///   body, plain text, `[1, 2]`, truncated JSON without an object…), which owns the JSON-RPC
///   error it answers.
/// - Any other body must be UTF-8 JSON as [`serde_json`] reads it (the parser rmcp uses), with
///   nesting at most 128 deep outside ignored values. Anything else — invalid UTF-8 anywhere
///   (also UTF-16 or UTF-32 JSON, which other servers decode), a syntax error, trailing data,
///   `NaN`, a number out of range where it is parsed — gets a 400 with [`PARSE_ERROR_BODY`].
///   Values the requirement does not depend on (`id`, `arguments`, `_meta`…) are skipped
///   without being decoded: a huge `id` does not make a call unreadable here.
/// - Well-formed JSON whose operation is ambiguous gets a 400 with [`AMBIGUOUS_REQUEST_BODY`]:
///   - `method` twice (parsers keep the first, the last, or fail), or under a name another
///     parser could match to it case-insensitively (Go's `encoding/json` does, with Unicode
///     folding: `METHOD`, `Method`, a `K` or `ſ` for its ASCII letter);
///   - a `method` that is not a string;
///   - when the table has rules for that operation's names (URIs): a `tools/call`,
///     `prompts/get` or `resources/read` whose `params` is repeated, spelt in another case
///     (`Params`, `paramſ`) or not an object (JSON-RPC allows positional parameters), or whose
///     `params.name` (`params.uri`) is missing, not a string, repeated or spelt in another case;
///   - an array inside a batch (a server flattening batches would run its calls).
///
///   In a batch, one such member refuses the batch.
///
/// The layer never guesses: a body it accepts is one any of those readings sees as the same
/// operations, and a body it cannot read is refused, never passed through with a smaller
/// requirement.
///
/// Resource URIs are compared as strings: a prefix rule for `file:///public/` also matches
/// `file:///public/../secret`. The resource handler must refuse (or resolve before checking)
/// such URIs.
///
/// # From a configuration file
///
/// Deserialised, it is validated exactly as the builder validates (an invalid scope, an
/// unknown key, a missing `default` fail to deserialise):
///
/// ```
/// use axum_bearer::mcp::OperationScopes;
///
/// let scopes: OperationScopes = serde_json::from_str(r#"{
///     "default": ["mcp:read"],
///     "methods": { "tools/list": ["mcp:read"] },
///     "tools": { "delete_note": ["mcp:read", "notes:delete"] },
///     "prompts": { "summarise": ["mcp:read", "prompts:use"] },
///     "resources": { "notes://index": ["mcp:read"] },
///     "resource_prefixes": { "notes://private/": ["mcp:read", "notes:private"] },
///     "max_body_size": 65536
/// }"#).unwrap();
/// assert!(serde_json::from_str::<OperationScopes>(r#"{"default": ["mcp read"]}"#).is_err());
/// ```
#[derive(Clone, Deserialize)]
#[serde(try_from = "TableConfig")]
pub struct OperationScopes {
    table: Arc<Table>,
}

#[derive(Debug, Clone)]
struct Table {
    default: Scopes,
    methods: foldhash::HashMap<Box<str>, Scopes>,
    tools: foldhash::HashMap<Box<str>, Scopes>,
    prompts: foldhash::HashMap<Box<str>, Scopes>,
    resources: foldhash::HashMap<Box<str>, Scopes>,
    /// Longest first, so the first match is the longest.
    prefixes: Vec<(Box<str>, Scopes)>,
    max_body_size: usize,
}

/// `scopes`, each an RFC 6749 scope-token, in order without repeats.
fn validated<I, S>(scopes: I) -> Result<Scopes, ConfigError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<Box<str>> = Vec::new();
    for scope in scopes {
        let scope = scope.as_ref();
        validate_scope_token(scope)?;
        if !out.iter().any(|known| &**known == scope) {
            out.push(scope.into());
        }
    }
    Ok(out.into())
}

impl OperationScopes {
    /// Requires `default` of every operation no rule names, of JSON that is not a JSON-RPC
    /// request, and of requests without a body (`GET`, `DELETE`). An empty list requires a
    /// valid token only.
    pub fn new<I, S>(default: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(Self {
            table: Arc::new(Table {
                default: validated(default)?,
                methods: Default::default(),
                tools: Default::default(),
                prompts: Default::default(),
                resources: Default::default(),
                prefixes: Vec::new(),
                max_body_size: DEFAULT_MAX_BODY_SIZE,
            }),
        })
    }

    fn with(mut self, scopes: Scopes, set: impl FnOnce(&mut Table, Scopes)) -> Self {
        set(Arc::make_mut(&mut self.table), scopes);
        self
    }

    /// Requires exactly `scopes` (not added to the default) of the JSON-RPC method `method`,
    /// e.g. `"tools/list"`; for `tools/call`, `prompts/get` and `resources/read`, of the calls
    /// no tool, prompt or resource rule names. Setting a method again replaces its rule.
    pub fn method<I, S>(self, method: &str, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes = validated(scopes)?;
        Ok(self.with(scopes, |table, scopes| {
            table.methods.insert(method.into(), scopes);
        }))
    }

    /// Requires exactly `scopes` (not added to the default) of `tools/call` with
    /// `params.name` equal to `name` (exact, case-sensitive).
    pub fn tool<I, S>(self, name: &str, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes = validated(scopes)?;
        Ok(self.with(scopes, |table, scopes| {
            table.tools.insert(name.into(), scopes);
        }))
    }

    /// Requires exactly `scopes` (not added to the default) of `prompts/get` with
    /// `params.name` equal to `name`.
    pub fn prompt<I, S>(self, name: &str, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes = validated(scopes)?;
        Ok(self.with(scopes, |table, scopes| {
            table.prompts.insert(name.into(), scopes);
        }))
    }

    /// Requires exactly `scopes` (not added to the default) of `resources/read` with
    /// `params.uri` equal to `uri` (as strings: no normalisation). An exact rule wins over
    /// every prefix rule.
    pub fn resource<I, S>(self, uri: &str, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes = validated(scopes)?;
        Ok(self.with(scopes, |table, scopes| {
            table.resources.insert(uri.into(), scopes);
        }))
    }

    /// Requires exactly `scopes` (not added to the default) of `resources/read` with a
    /// `params.uri` starting with `prefix` (as strings, so `file:///a/` matches
    /// `file:///a/../b`: see the type's docs). Of several matching prefixes the longest wins.
    pub fn resource_prefix<I, S>(self, prefix: &str, scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let scopes = validated(scopes)?;
        Ok(self.with(scopes, |table, scopes| {
            table.prefixes.retain(|(known, _)| &**known != prefix);
            table.prefixes.push((prefix.into(), scopes));
            table
                .prefixes
                .sort_by(|(a, _), (b, _)| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        }))
    }

    /// The most bytes of a request body the layer reads (default [`DEFAULT_MAX_BODY_SIZE`],
    /// 1 MiB); a larger body gets a 413. The layer holds the whole body in memory while it
    /// checks it, so this is also its memory bound per request.
    #[must_use]
    pub fn max_body_size(self, bytes: usize) -> Self {
        self.with(Arc::new([]), |table, _| table.max_body_size = bytes)
    }

    /// The scopes the body of a request needs, exactly as the layer decides (see the type's
    /// docs): for tests, and for logging what a body would need.
    ///
    /// ```
    /// use axum_bearer::mcp::OperationScopes;
    ///
    /// let scopes = OperationScopes::new(["mcp:read"])?.tool("wipe", ["mcp:read", "mcp:admin"])?;
    /// let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"wipe"}}"#;
    /// assert_eq!(scopes.required_for_body(call)?, ["mcp:read", "mcp:admin"]);
    /// assert!(scopes.required_for_body(br#"{"method":"tools/call","METHOD":"x"}"#).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn required_for_body(&self, body: &[u8]) -> Result<Vec<&str>, UnclearOperation> {
        let table = &*self.table;
        let scopes = table.classify(body)?;
        // Resolve to the table's own strings, so the result borrows `self`.
        Ok(scopes
            .iter()
            .filter_map(|scope| table.find_scope(scope))
            .collect())
    }
}

impl fmt::Debug for OperationScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = &*self.table;
        f.debug_struct("OperationScopes")
            .field("default", &table.default)
            .field("methods", &table.methods)
            .field("tools", &table.tools)
            .field("prompts", &table.prompts)
            .field("resources", &table.resources)
            .field("resource_prefixes", &table.prefixes)
            .field("max_body_size", &table.max_body_size)
            .finish()
    }
}

/// Why [`OperationScopes`] refuses a body without looking at the caller (a 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnclearOperation {
    /// The body holds a `{` but is not well-formed UTF-8 JSON ([`PARSE_ERROR_BODY`]).
    #[error("the body is not well-formed UTF-8 JSON")]
    Malformed,
    /// Well-formed JSON whose operation another parser could read differently
    /// ([`AMBIGUOUS_REQUEST_BODY`]).
    #[error("the body's operation is ambiguous")]
    Ambiguous,
}

/// The configuration-file form of [`OperationScopes`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableConfig {
    default: Vec<String>,
    #[serde(default)]
    methods: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    tools: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    prompts: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    resources: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    resource_prefixes: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    max_body_size: Option<usize>,
}

impl TryFrom<TableConfig> for OperationScopes {
    type Error = ConfigError;

    fn try_from(config: TableConfig) -> Result<Self, Self::Error> {
        let mut scopes = Self::new(config.default)?;
        for (method, required) in config.methods {
            scopes = scopes.method(&method, required)?;
        }
        for (name, required) in config.tools {
            scopes = scopes.tool(&name, required)?;
        }
        for (name, required) in config.prompts {
            scopes = scopes.prompt(&name, required)?;
        }
        for (uri, required) in config.resources {
            scopes = scopes.resource(&uri, required)?;
        }
        for (prefix, required) in config.resource_prefixes {
            scopes = scopes.resource_prefix(&prefix, required)?;
        }
        if let Some(bytes) = config.max_body_size {
            scopes = scopes.max_body_size(bytes);
        }
        Ok(scopes)
    }
}

impl<S> Layer<S> for OperationScopes {
    type Service = OperationScopesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OperationScopesService {
            inner,
            table: self.table.clone(),
        }
    }
}

/// The service of [`OperationScopes`].
#[derive(Clone)]
pub struct OperationScopesService<S> {
    inner: S,
    table: Arc<Table>,
}

impl<S: fmt::Debug> fmt::Debug for OperationScopesService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperationScopesService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for OperationScopesService<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = OperationScopesFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        if body.is_end_stream() {
            // Nothing to read (a GET, a DELETE): the default, checked at once when the verifier
            // answers at once.
            let required = Required::Shared(self.table.default.clone());
            if let Some(user) = authenticate_now(&mut parts, &required) {
                return match user.and_then(|user| user.check(required)) {
                    Ok(()) => OperationScopesFuture::new(GuardState::Inner {
                        future: self.inner.call(Request::from_parts(parts, Body::new(body))),
                    }),
                    Err(rejection) => OperationScopesFuture::new(GuardState::Refused {
                        response: Some(rejection.into_response()),
                    }),
                };
            }
        }
        // The clone is not ready, the original is: keep the ready one for this call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let table = self.table.clone();
        OperationScopesFuture::new(GuardState::Waiting {
            future: Box::pin(check(inner, table, parts, body)),
        })
    }
}

/// The slow path: read and classify the body (unless it is empty), authenticate, check, call.
async fn check<S, B>(
    mut inner: S,
    table: Arc<Table>,
    mut parts: Parts,
    body: B,
) -> Result<Response, Infallible>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (required, body) = if body.is_end_stream() {
        (table.default.clone(), Body::new(body))
    } else {
        let bytes = match read_body(&parts.headers, body, table.max_body_size).await {
            Ok(bytes) => bytes,
            Err(response) => return Ok(response),
        };
        match table.classify(&bytes) {
            Ok(required) => (required, Body::from(bytes)),
            Err(unclear) => {
                tracing::debug!(reason = %unclear, "refused an MCP request body");
                let body = match unclear {
                    UnclearOperation::Malformed => PARSE_ERROR_BODY,
                    UnclearOperation::Ambiguous => AMBIGUOUS_REQUEST_BODY,
                };
                return Ok(json_error(StatusCode::BAD_REQUEST, body));
            }
        }
    };
    let required = Required::Shared(required);
    let checked = match authenticate(&mut parts, required.clone()).await {
        Ok(user) => user.check(required),
        Err(rejection) => Err(rejection),
    };
    match checked {
        Ok(()) => inner.call(Request::from_parts(parts, body)).await,
        Err(rejection) => Ok(Rejection::into_response(rejection)),
    }
}

/// The whole body, at most `max` bytes; the error response otherwise.
async fn read_body<B>(headers: &HeaderMap, body: B, max: usize) -> Result<Bytes, Response>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let encoded = headers.get_all(CONTENT_ENCODING).iter().any(|value| {
        !value
            .to_str()
            .is_ok_and(|value| value.trim().eq_ignore_ascii_case("identity"))
    });
    if encoded {
        return Err(json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UNSUPPORTED_ENCODING_BODY,
        ));
    }
    let declared_over = headers.get_all(CONTENT_LENGTH).iter().any(|value| {
        value
            .to_str()
            .ok()
            .and_then(|value| value.trim().parse::<u64>().ok())
            .is_some_and(|length| length > max as u64)
    });
    if declared_over {
        return Err(too_large());
    }
    if body.size_hint().lower() > max as u64 {
        return Err(too_large());
    }
    match read_capped(body, max).await {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(too_large()),
        Err(error) => {
            let error: BoxError = error.into();
            tracing::debug!(%error, "could not read an MCP request body");
            Err(json_error(StatusCode::BAD_REQUEST, BODY_READ_FAILED_BODY))
        }
    }
}

/// The data of `body`, `None` as soon as it grows over `max` bytes (the rest is never read).
/// A body of one frame (the usual case) is returned as it is, without a copy; several frames
/// are copied once into one buffer. Trailers are dropped.
async fn read_capped<B>(body: B, max: usize) -> Result<Option<Bytes>, B::Error>
where
    B: HttpBody<Data = Bytes>,
{
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        len = len.saturating_add(data.len());
        if len > max {
            return Ok(None);
        }
        match (&mut joined, first.take()) {
            (Some(joined), _) => joined.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(earlier)) => {
                let mut buffer = BytesMut::with_capacity(len);
                buffer.extend_from_slice(&earlier);
                buffer.extend_from_slice(&data);
                joined = Some(buffer);
            }
        }
    }
    Ok(match joined {
        Some(joined) => Some(joined.freeze()),
        None => Some(first.unwrap_or_default()),
    })
}

fn too_large() -> Response {
    json_error(StatusCode::PAYLOAD_TOO_LARGE, BODY_TOO_LARGE_BODY)
}

fn json_error(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

pin_project! {
    /// The future of [`OperationScopesService`]: the inner service's when the request had no
    /// body and the token was checked at once, the refusal, or (reading the body, or waiting
    /// for the verifier) all of it in turn.
    pub struct OperationScopesFuture<F> {
        #[pin]
        state: GuardState<F>,
    }
}

impl<F> OperationScopesFuture<F> {
    fn new(state: GuardState<F>) -> Self {
        Self { state }
    }
}

impl<F> Future for OperationScopesFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().state.poll_state(cx)
    }
}

impl<F> fmt::Debug for OperationScopesFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.name();
        f.debug_tuple("OperationScopesFuture")
            .field(&state)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the body.

impl Table {
    /// The requirement of a request body, or why it is refused.
    fn classify(&self, body: &[u8]) -> Result<Scopes, UnclearOperation> {
        let text = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        if !text.contains(&b'{') {
            // No object, so no JSON-RPC request in any reading.
            return Ok(self.default.clone());
        }
        let text = std::str::from_utf8(text).map_err(|_| UnclearOperation::Malformed)?;
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let outcome = Top { table: self }
            .deserialize(&mut deserializer)
            .and_then(|outcome| deserializer.end().map(|()| outcome))
            .map_err(|_| UnclearOperation::Malformed)?;
        if outcome.ambiguous {
            return Err(UnclearOperation::Ambiguous);
        }
        Ok(outcome.union.finish(&self.default))
    }

    /// The table's own copy of `scope`, if it has one.
    fn find_scope(&self, scope: &str) -> Option<&str> {
        std::iter::once(&self.default)
            .chain(self.methods.values())
            .chain(self.tools.values())
            .chain(self.prompts.values())
            .chain(self.resources.values())
            .chain(self.prefixes.iter().map(|(_, scopes)| scopes))
            .flat_map(|scopes| scopes.iter())
            .find(|known| &***known == scope)
            .map(|known| &**known)
    }

    fn method_rule(&self, method: &str) -> &Scopes {
        self.methods.get(method).unwrap_or(&self.default)
    }

    /// The rule of `rules` for the name `key`, else the method's; `None` when the name cannot
    /// be read and a rule could depend on it.
    fn by_name<'a>(
        &'a self,
        rules: &'a foldhash::HashMap<Box<str>, Scopes>,
        method: &str,
        key: &Field<'_>,
    ) -> Option<&'a Scopes> {
        if rules.is_empty() {
            return Some(self.method_rule(method));
        }
        match key {
            Field::Str(name) => Some(rules.get(name.as_ref()).unwrap_or(self.method_rule(method))),
            _ => None,
        }
    }

    /// The requirement of one message; `None` when it is ambiguous.
    fn requirement(&self, message: &Message<'_>) -> Option<&Scopes> {
        let method = match &message.method {
            Field::Absent => return Some(&self.default), // a response, or not JSON-RPC
            Field::Str(method) => method.as_ref(),
            Field::NotString | Field::Ambiguous => return None,
        };
        match method {
            "tools/call" => self.by_name(&self.tools, method, &message.params.name),
            "prompts/get" => self.by_name(&self.prompts, method, &message.params.name),
            "resources/read" => {
                if self.resources.is_empty() && self.prefixes.is_empty() {
                    return Some(self.method_rule(method));
                }
                let Field::Str(uri) = &message.params.uri else {
                    return None;
                };
                let uri = uri.as_ref();
                Some(
                    self.resources
                        .get(uri)
                        .or_else(|| {
                            self.prefixes
                                .iter()
                                .find(|(prefix, _)| uri.starts_with(&**prefix))
                                .map(|(_, scopes)| scopes)
                        })
                        .unwrap_or(self.method_rule(method)),
                )
            }
            _ => Some(self.method_rule(method)),
        }
    }
}

/// The union of the requirements seen so far.
enum Union<'t> {
    Empty,
    One(&'t Scopes),
    Many(Vec<Box<str>>),
}

impl<'t> Union<'t> {
    fn add(&mut self, scopes: &'t Scopes) {
        match self {
            Self::Empty => *self = Self::One(scopes),
            Self::One(known) if Arc::ptr_eq(known, scopes) => {}
            Self::One(known) => {
                let mut all = known.to_vec();
                extend_unique(&mut all, scopes);
                *self = Self::Many(all);
            }
            Self::Many(all) => extend_unique(all, scopes),
        }
    }

    fn finish(self, default: &Scopes) -> Scopes {
        match self {
            Self::Empty => default.clone(),
            Self::One(scopes) => scopes.clone(),
            Self::Many(all) => all.into(),
        }
    }
}

fn extend_unique(all: &mut Vec<Box<str>>, scopes: &Scopes) {
    for scope in scopes.iter() {
        if !all.contains(scope) {
            all.push(scope.clone());
        }
    }
}

struct Outcome<'t> {
    union: Union<'t>,
    ambiguous: bool,
}

impl<'t> Outcome<'t> {
    fn add(&mut self, requirement: Option<&'t Scopes>) {
        match requirement {
            Some(scopes) => self.union.add(scopes),
            None => self.ambiguous = true,
        }
    }
}

/// A member the requirement depends on: `method`, `params.name`, `params.uri`.
#[derive(Default)]
enum Field<'a> {
    #[default]
    Absent,
    Str(Cow<'a, str>),
    NotString,
    /// Repeated, or present under a name another parser could fold to it.
    Ambiguous,
}

#[derive(Default)]
struct Params<'a> {
    name: Field<'a>,
    uri: Field<'a>,
}

impl Params<'_> {
    /// `params` repeated, not an object: no name or URI can be read from it.
    fn ambiguous() -> Self {
        Self {
            name: Field::Ambiguous,
            uri: Field::Ambiguous,
        }
    }
}

#[derive(Default)]
struct Message<'a> {
    method: Field<'a>,
    params: Params<'a>,
    params_seen: bool,
}

/// How a member name compares with a name the requirement depends on.
enum Key {
    /// Exactly the `i`th name.
    Exact(usize),
    /// A name another parser could take for the `i`th (another ASCII case, a non-ASCII
    /// character where Unicode case folding could give its letter: `ſ` → `s`, `K` → `k`).
    Variant(usize),
    Other,
}

fn classify_key(key: &str, names: &[&str]) -> Key {
    for (i, name) in names.iter().enumerate() {
        if key.len() == name.len() {
            // A non-ASCII character takes two bytes or more, so a key of the same length can
            // only fold to `name` if it is ASCII.
            if key == *name {
                return Key::Exact(i);
            }
            if key.eq_ignore_ascii_case(name) {
                return Key::Variant(i);
            }
        } else if key.len() > name.len() && !key.is_ascii() {
            let mut chars = key.chars();
            let folds = name.bytes().all(|letter| {
                chars
                    .next()
                    .is_some_and(|c| !c.is_ascii() || c.eq_ignore_ascii_case(&char::from(letter)))
            }) && chars.next().is_none();
            if folds {
                return Key::Variant(i);
            }
        }
    }
    Key::Other
}

struct KeySeed(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(classify_key(key, self.0))
    }
}

/// Sets `field` from the next value: the first occurrence of an exact name is read, anything
/// else (a repeat, a variant spelling) makes it ambiguous.
fn read_field<'de, A: MapAccess<'de>>(
    map: &mut A,
    field: &mut Field<'de>,
    exact: bool,
) -> Result<(), A::Error> {
    if exact && matches!(field, Field::Absent) {
        *field = map.next_value_seed(StrSeed)?;
    } else {
        map.next_value::<IgnoredAny>()?;
        *field = Field::Ambiguous;
    }
    Ok(())
}

/// Visitor methods for JSON values a visitor does not read: the value is consumed and the
/// result is the visitor's `other()`.
macro_rules! visit_scalars {
    ($value:ty) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<$value, E> {
            Ok(self.other())
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<$value, E> {
            Ok(self.other())
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<$value, E> {
            Ok(self.other())
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<$value, E> {
            Ok(self.other())
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<$value, E> {
            Ok(self.other())
        }
    };
}

macro_rules! visit_str_other {
    ($value:ty) => {
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<$value, E> {
            Ok(self.other())
        }
    };
}

macro_rules! visit_seq_other {
    ($value:ty) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<$value, A::Error> {
            IgnoredAny.visit_seq(seq)?;
            Ok(self.other())
        }
    };
}

macro_rules! visit_map_other {
    ($value:ty) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$value, A::Error> {
            IgnoredAny.visit_map(map)?;
            Ok(self.other())
        }
    };
}

/// A string member: its value, or [`Field::NotString`].
struct StrSeed;

impl<'de> DeserializeSeed<'de> for StrSeed {
    type Value = Field<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrSeed {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(value)))
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(value.to_owned())))
    }

    visit_scalars!(Field<'de>);
    visit_seq_other!(Field<'de>);
    visit_map_other!(Field<'de>);
}

impl StrSeed {
    fn other<'de>(&self) -> Field<'de> {
        Field::NotString
    }
}

/// `params`: its `name` and `uri`, or ambiguous when it is not an object.
struct ParamsSeed;

impl<'de> DeserializeSeed<'de> for ParamsSeed {
    type Value = Params<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ParamsSeed {
    type Value = Params<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut params = Params::default();
        while let Some(key) = map.next_key_seed(KeySeed(&["name", "uri"]))? {
            match key {
                Key::Exact(0) => read_field(&mut map, &mut params.name, true)?,
                Key::Variant(0) => read_field(&mut map, &mut params.name, false)?,
                Key::Exact(_) => read_field(&mut map, &mut params.uri, true)?,
                Key::Variant(_) => read_field(&mut map, &mut params.uri, false)?,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(params)
    }

    visit_scalars!(Params<'de>);
    visit_str_other!(Params<'de>);
    visit_seq_other!(Params<'de>);
}

impl ParamsSeed {
    fn other<'de>(&self) -> Params<'de> {
        Params::ambiguous()
    }
}

/// One message (a JSON object): `method` and `params`.
fn read_message<'de, A: MapAccess<'de>>(mut map: A) -> Result<Message<'de>, A::Error> {
    let mut message = Message::default();
    while let Some(key) = map.next_key_seed(KeySeed(&["method", "params"]))? {
        match key {
            Key::Exact(0) => read_field(&mut map, &mut message.method, true)?,
            Key::Variant(0) => read_field(&mut map, &mut message.method, false)?,
            Key::Exact(_) if !message.params_seen => {
                message.params_seen = true;
                message.params = map.next_value_seed(ParamsSeed)?;
            }
            Key::Exact(_) | Key::Variant(_) => {
                message.params_seen = true;
                map.next_value::<IgnoredAny>()?;
                message.params = Params::ambiguous();
            }
            Key::Other => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(message)
}

/// The whole body: one message, a batch, or JSON that is no message (the default).
struct Top<'t> {
    table: &'t Table,
}

impl<'de, 't> DeserializeSeed<'de> for Top<'t> {
    type Value = Outcome<'t>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, 't> Visitor<'de> for Top<'t> {
    type Value = Outcome<'t>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let message = read_message(map)?;
        let mut outcome = self.outcome();
        outcome.add(self.table.requirement(&message));
        Ok(outcome)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut outcome = self.outcome();
        while let Some(member) = seq.next_element_seed(Member)? {
            match member {
                Item::Message(message) => outcome.add(self.table.requirement(&message)),
                Item::Nested => outcome.add(None),
                Item::Other => outcome.add(Some(&self.table.default)),
            }
        }
        Ok(outcome)
    }

    visit_scalars!(Outcome<'t>);
    visit_str_other!(Outcome<'t>);
}

impl<'t> Top<'t> {
    fn outcome(&self) -> Outcome<'t> {
        Outcome {
            union: Union::Empty,
            ambiguous: false,
        }
    }

    /// Any JSON that is no message needs the default.
    fn other(&self) -> Outcome<'t> {
        let mut outcome = self.outcome();
        outcome.add(Some(&self.table.default));
        outcome
    }
}

/// A member of a batch.
enum Item<'a> {
    Message(Message<'a>),
    /// An array: a batch inside the batch, which a server flattening batches would run.
    Nested,
    /// Any other value: no request.
    Other,
}

struct Member;

impl<'de> DeserializeSeed<'de> for Member {
    type Value = Item<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Member {
    type Value = Item<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        read_message(map).map(Item::Message)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq)?;
        Ok(Item::Nested)
    }

    visit_scalars!(Item<'de>);
    visit_str_other!(Item<'de>);
}

impl Member {
    fn other<'de>(&self) -> Item<'de> {
        Item::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> OperationScopes {
        OperationScopes::new(["mcp:read"])
            .unwrap()
            .tool("wipe", ["mcp:read", "mcp:admin"])
            .unwrap()
    }

    #[test]
    fn keys_fold_like_go() {
        assert!(matches!(classify_key("method", &["method"]), Key::Exact(0)));
        for variant in ["METHOD", "Method", "metHod", "paramſ", "naMe"] {
            assert!(
                matches!(
                    classify_key(variant, &["method", "params", "name"]),
                    Key::Variant(_)
                ),
                "{variant}"
            );
        }
        for other in ["methods", "metho", "id", "jsonrpc", "arguments", ""] {
            assert!(
                matches!(classify_key(other, &["method", "params"]), Key::Other),
                "{other}"
            );
        }
    }

    #[test]
    fn union_keeps_order_without_repeats() {
        let scopes = table().method("tools/list", ["mcp:list"]).unwrap();
        let batch = br#"[{"method":"tools/list"},{"method":"tools/call","params":{"name":"wipe"}},{"method":"ping"}]"#;
        assert_eq!(
            scopes.required_for_body(batch).unwrap(),
            ["mcp:list", "mcp:read", "mcp:admin"]
        );
    }
}
