use std::{
    convert::Infallible,
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum_core::response::{IntoResponse, Response};
use http::Request;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{GuardState, Required, ScopeSet, validate_scope_token};
use crate::{
    ConfigError,
    extract::{authenticate_later, authenticate_now},
};

/// A route layer requiring scopes known only at start-up: the reference's `RequireAuthMiddleware`.
///
/// Every request must carry a valid token with every scope (an empty list only requires a valid
/// token); otherwise the inner service is not called and the profile's 401/403 is returned.
/// Scopes are checked against RFC 6749 §3.3 when the layer is built.
///
/// ```
/// use axum::{Router, routing::post};
/// use axum_bearer::RequireScopesLayer;
///
/// # fn main() -> Result<(), axum_bearer::ConfigError> {
/// let required = std::env::var("MCP_SCOPES").unwrap_or_else(|_| "mcp:read".into());
/// let app: Router = Router::new()
///     .route("/mcp", post(|| async { "ok" }))
///     .route_layer(RequireScopesLayer::new(required.split_whitespace())?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RequireScopesLayer {
    required: Arc<[Box<str>]>,
}

impl RequireScopesLayer {
    /// Requires every scope of `scopes`, reporting the first missing one in this order.
    pub fn new<I, S>(scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let required = scopes
            .into_iter()
            .map(|scope| validate_scope_token(scope.as_ref()).map(|()| scope.as_ref().into()))
            .collect::<Result<Arc<[Box<str>]>, _>>()?;
        Ok(Self { required })
    }

    /// Requires the scopes of a [`ScopeSet`] (declared with [`scopes!`](crate::scopes!)), checked
    /// at compile time, so there is no error to handle.
    ///
    /// ```
    /// use axum::{Router, routing::post};
    /// use axum_bearer::{RequireScopesLayer, scopes};
    ///
    /// scopes!(McpTools = "mcp:read", "mcp:tools");
    ///
    /// let app: Router = Router::new()
    ///     .route("/mcp", post(|| async { "ok" }))
    ///     .route_layer(RequireScopesLayer::from_set::<McpTools>());
    /// ```
    pub fn from_set<S: ScopeSet>() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = S::CHECKED;
        Self {
            required: S::SCOPES.iter().map(|scope| (*scope).into()).collect(),
        }
    }

    /// The required scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.required.iter().map(|scope| &**scope)
    }
}

impl fmt::Debug for RequireScopesLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopesLayer")
            .field("required", &self.required)
            .finish()
    }
}

impl<S> Layer<S> for RequireScopesLayer {
    type Service = RequireScopesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopesService {
            inner,
            required: self.required.clone(),
        }
    }
}

/// The service of [`RequireScopesLayer`].
#[derive(Clone)]
pub struct RequireScopesService<S> {
    inner: S,
    required: Arc<[Box<str>]>,
}

impl<S: fmt::Debug> fmt::Debug for RequireScopesService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopesService")
            .field("inner", &self.inner)
            .field("required", &self.required)
            .finish()
    }
}

impl<S, B> Service<Request<B>> for RequireScopesService<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = RequireScopesFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let required = Required::Shared(self.required.clone());
        let (mut parts, body) = request.into_parts();
        // Usually the verifier answers at once: then the inner service is called right here.
        if let Some(user) = authenticate_now(&mut parts, &required) {
            return match user.and_then(|user| user.check(required)) {
                Ok(()) => RequireScopesFuture::new(GuardState::Inner {
                    future: self.inner.call(Request::from_parts(parts, body)),
                }),
                Err(rejection) => RequireScopesFuture::new(GuardState::Refused {
                    response: Some(rejection.into_response()),
                }),
            };
        }
        // The clone is not ready, the original is: keep the ready one for this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        RequireScopesFuture::new(GuardState::Waiting {
            future: Box::pin(async move {
                let checked = match authenticate_later(&mut parts, required.clone()).await {
                    Ok(user) => user.check(required),
                    Err(rejection) => Err(rejection),
                };
                match checked {
                    Ok(()) => inner.call(Request::from_parts(parts, body)).await,
                    Err(rejection) => Ok(rejection.into_response()),
                }
            }),
        })
    }
}

pin_project! {
    /// The future of [`RequireScopesService`]: the inner service's when the token was checked at
    /// once, the refusal, or (when the verifier has to wait) both in turn.
    pub struct RequireScopesFuture<F> {
        #[pin]
        state: GuardState<F>,
    }
}

impl<F> RequireScopesFuture<F> {
    fn new(state: GuardState<F>) -> Self {
        Self { state }
    }
}

impl<F> Future for RequireScopesFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().state.poll_state(cx)
    }
}

impl<F> fmt::Debug for RequireScopesFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.name();
        f.debug_tuple("RequireScopesFuture").field(&state).finish()
    }
}
