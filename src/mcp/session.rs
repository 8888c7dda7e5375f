//! [`SessionBindingLayer`]: `Mcp-Session-Id` bound to the principal that created the session.

use std::{
    convert::Infallible,
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum_core::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header::CONTENT_TYPE};
use tower_layer::Layer;
use tower_service::Service;

use crate::{
    RejectionKind, SessionCheck, SessionNotFound, SessionOwners, SessionStore, SessionStoreError,
    extract::authenticate, scopes::Required, session::truncate,
};

/// The `Mcp-Session-Id` header (MCP streamable HTTP, protocol versions up to 2025-11-25).
pub const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// The body of the 503 for a response announcing a new session while the owner table is full
/// (content type `application/json`).
pub const SESSIONS_FULL_BODY: &str =
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Too many sessions"}}"#;

/// The body of the 503 when the [`SessionStore`] is unavailable (content type
/// `application/json`).
pub const SESSION_STORE_UNAVAILABLE_BODY: &str =
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Session store unavailable"}}"#;

/// Binds every `Mcp-Session-Id` a streamable-HTTP MCP server announces to the caller, and
/// refuses the session to anyone else: the MCP Python SDK's session ownership
/// (`StreamableHTTPSessionManager`), for any MCP service (rmcp, hand-written).
///
/// Use it for protocol versions up to 2025-11-25, which have sessions; for MCP 2026-07-28 state
/// handles see [`StateHandles`](crate::mcp::StateHandles) (the [module docs](crate::mcp) say
/// which to use when).
///
/// For each request the layer:
///
/// 1. works out the caller before anything else: the verified token's
///    [`AuthorizationContext`](crate::AuthorizationContext), or "no principal" when the request has no bearer credentials.
///    It verifies the token itself if no guard has yet (once per request, shared with the
///    extractors), so credentials that are present but invalid get the profile's 401 (or 503),
///    never the anonymous principal;
/// 2. if the request carries `Mcp-Session-Id` (any method: `POST`, `GET`, `DELETE`), checks that
///    the caller created that session. An unknown id and another principal's session get the
///    same 404: [`SESSION_NOT_FOUND_BODY`](crate::SESSION_NOT_FOUND_BODY), `application/json`,
///    as the reference; a `DEBUG` log line tells them apart (never the token). Two
///    `Mcp-Session-Id` headers, or one that is not visible ASCII, get the same 404;
/// 3. calls the MCP service. A response announcing a session id the request did not carry
///    binds it to the caller; if the table is full the response is replaced by a 503 with
///    [`SESSIONS_FULL_BODY`] (no live session is evicted; the new session the service created
///    is never seen by the client, and ends with the service's own idle timeout), and if the id
///    is live for another principal, by the 404;
/// 4. after a successful (2xx) `DELETE` of a session, forgets it. A stranger's `DELETE` never
///    reaches the service (step 2), so the session survives it.
///
/// A store that fails ([`SessionStoreError::Unavailable`]) gets a 503 with
/// [`SESSION_STORE_UNAVAILABLE_BODY`], never a request let through unchecked.
///
/// Put it inside [`BearerAuth`](crate::BearerAuth) (without it, every request gets the 500 of a
/// missing layer) and inside any scope guard, right around the MCP service, so the guards'
/// 401/403 come first and name their scopes:
///
/// ```
/// use axum::{Router, routing::any};
/// use axum_bearer::{AccessToken, BearerAuth, RequireScopesLayer, StaticVerifier, mcp::SessionBindingLayer};
///
/// # fn main() -> Result<(), axum_bearer::ConfigError> {
/// let verifier = StaticVerifier::new([AccessToken::new("dev-token", "dev-client", ["mcp:read"])]);
/// // `mcp` stands for the streamable-HTTP MCP service (an rmcp `StreamableHttpService`…).
/// let mcp = any(|| async { "an MCP response" });
/// let app: Router = Router::new()
///     .route_service("/mcp", mcp)
///     .route_layer(SessionBindingLayer::new())
///     .route_layer(RequireScopesLayer::new(["mcp:read"])?)
///     .layer(BearerAuth::new(verifier));
/// # Ok(()) }
/// ```
///
/// The default table is a [`SessionOwners`] with its default limits; give your own (bounded
/// differently, or shared between instances) with [`with_store`](Self::with_store) or
/// [`with_shared_store`](Self::with_shared_store).
pub struct SessionBindingLayer<St = SessionOwners> {
    store: Arc<St>,
}

impl<St> Clone for SessionBindingLayer<St> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
        }
    }
}

impl<St> fmt::Debug for SessionBindingLayer<St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionBindingLayer")
            .finish_non_exhaustive()
    }
}

impl Default for SessionBindingLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionBindingLayer {
    /// Binds sessions in a new [`SessionOwners`] with the default idle timeout and cap.
    pub fn new() -> Self {
        Self::with_store(SessionOwners::new())
    }
}

impl<St: SessionStore> SessionBindingLayer<St> {
    /// Binds sessions in `store`.
    pub fn with_store(store: St) -> Self {
        Self::with_shared_store(Arc::new(store))
    }

    /// Binds sessions in a store you keep a handle on: to close sessions from outside, to read
    /// its size.
    ///
    /// ```
    /// use std::{sync::Arc, time::Duration};
    /// use axum_bearer::{SessionOwners, mcp::SessionBindingLayer};
    ///
    /// let owners = Arc::new(
    ///     SessionOwners::new()
    ///         .with_idle_timeout(Duration::from_secs(30 * 60))
    ///         .with_max_sessions(10_000),
    /// );
    /// let layer = SessionBindingLayer::with_shared_store(owners.clone());
    /// assert!(owners.is_empty());
    /// ```
    pub fn with_shared_store(store: Arc<St>) -> Self {
        Self { store }
    }

    /// The store.
    pub fn store(&self) -> &St {
        &self.store
    }
}

impl<S, St> Layer<S> for SessionBindingLayer<St> {
    type Service = SessionBindingService<S, St>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionBindingService {
            inner,
            store: self.store.clone(),
        }
    }
}

/// The service of [`SessionBindingLayer`].
pub struct SessionBindingService<S, St = SessionOwners> {
    inner: S,
    store: Arc<St>,
}

impl<S: Clone, St> Clone for SessionBindingService<S, St> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            store: self.store.clone(),
        }
    }
}

impl<S: fmt::Debug, St> fmt::Debug for SessionBindingService<S, St> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionBindingService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// The future of [`SessionBindingService`].
pub type SessionBindingFuture =
    Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send + 'static>>;

impl<S, St, B> Service<Request<B>> for SessionBindingService<S, St>
where
    S: Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    St: SessionStore,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = SessionBindingFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone is not ready, the original is: keep the ready one for this call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let store = self.store.clone();
        Box::pin(bind_session(inner, store, request))
    }
}

async fn bind_session<S, St, B>(
    mut inner: S,
    store: Arc<St>,
    request: Request<B>,
) -> Result<Response, Infallible>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
    St: SessionStore,
{
    let (mut parts, body) = request.into_parts();

    // 1. The caller, before the session lookup (as the reference).
    let requestor = match authenticate(&mut parts, Required::None).await {
        Ok(user) => Some(user.authorization_context()),
        Err(rejection) if rejection.kind() == RejectionKind::MissingCredentials => None,
        Err(rejection) => return Ok(rejection.into_response()),
    };

    // 2. The session the request names, if any: only its creator may use it.
    let presented = match presented_session(&parts.headers) {
        Ok(presented) => presented,
        Err(why) => {
            tracing::debug!(why, "rejected request with an unusable session ID header");
            return Ok(SessionNotFound.into_response());
        }
    };
    if let Some(id) = &presented {
        match store.check(id, requestor.as_ref()).await {
            Ok(SessionCheck::Owner) => {}
            Ok(SessionCheck::Unknown) => {
                tracing::debug!(session = %truncate(id), "rejected request with unknown or expired session ID");
                return Ok(SessionNotFound.into_response());
            }
            Ok(SessionCheck::OtherPrincipal) => {
                tracing::debug!(
                    session = %truncate(id),
                    "rejected request: credential does not match the one that created the session"
                );
                return Ok(SessionNotFound.into_response());
            }
            Err(error) => return Ok(store_failed(&error)),
        }
    }

    // 3. The MCP service.
    let deletes = parts.method == Method::DELETE;
    let response = inner.call(Request::from_parts(parts, body)).await?;

    // 4. A session the caller ended is forgotten.
    if deletes
        && response.status().is_success()
        && let Some(id) = &presented
    {
        if let Err(error) = store.remove(id).await {
            // The service has closed the session; the entry ends with the idle timeout.
            tracing::warn!(%error, session = %truncate(id), "could not forget a deleted session");
        }
        return Ok(response);
    }

    // 5. Every session id the response announces belongs to the caller.
    for announced in response.headers().get_all(MCP_SESSION_ID) {
        let Ok(id) = announced.to_str() else {
            tracing::error!("the MCP service announced a session ID that is not visible ASCII");
            return Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        if presented.as_deref() == Some(id) {
            continue;
        }
        match store.bind(id, requestor.as_ref()).await {
            Ok(()) => {}
            Err(SessionStoreError::Taken) => {
                tracing::warn!(
                    session = %truncate(id),
                    "the MCP service announced a session ID bound to another principal"
                );
                return Ok(SessionNotFound.into_response());
            }
            Err(error) => return Ok(store_failed(&error)),
        }
    }
    Ok(response)
}

/// The single `Mcp-Session-Id` of a request, `None` without one; `Err` says why it is unusable.
fn presented_session(headers: &HeaderMap) -> Result<Option<String>, &'static str> {
    let mut values = headers.get_all(MCP_SESSION_ID).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("several Mcp-Session-Id headers");
    }
    match first.to_str() {
        Ok(id) => Ok(Some(id.to_owned())),
        Err(_) => Err("Mcp-Session-Id is not visible ASCII"),
    }
}

/// The 503 for a store that is full or unavailable.
fn store_failed(error: &SessionStoreError) -> Response {
    let body = match error {
        SessionStoreError::Full { max } => {
            tracing::warn!(max, "session table full: new session refused");
            SESSIONS_FULL_BODY
        }
        _ => {
            tracing::warn!(%error, "session store failed");
            SESSION_STORE_UNAVAILABLE_BODY
        }
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}
