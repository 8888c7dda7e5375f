//! [`BearerAuth`]: the configuration, and the tower layer that makes it available to extractors.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{Request, request::Parts};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::{
    ConfigError, Profile, TokenVerifier,
    config::{Config, Prebuilt},
    extract::{AuthSlot, SeenUri, settle_later, settle_now},
    rejection,
    resource::{ResourceUrl, validate_header_url},
    scopes::{ScopeHierarchy, validate_scope_token},
};

/// The default cap on the token length: 8 KiB (RFC 6750 digest, policy P7).
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;

/// The default clock-skew allowance: 60 s.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// Bearer-token protection for an axum `Router`: the configuration, and a tower [`Layer`].
///
/// The layer itself only makes the configuration available to the request; the token is verified
/// when an [`AuthenticatedUser`](crate::AuthenticatedUser), a [`RequireScopes`](crate::RequireScopes)
/// or a [`RequireScopesLayer`](crate::RequireScopesLayer) first asks for it, and then at most once
/// per request. Routes that ask for nothing stay public.
/// [`verify_eagerly`](Self::verify_eagerly) verifies before the inner service runs instead, for
/// code that reads the user synchronously (an rmcp tool).
///
/// ```
/// use axum::{Router, routing::get};
/// use axum_bearer::{AccessToken, AuthenticatedUser, BearerAuth, Profile, StaticVerifier};
///
/// async fn whoami(user: AuthenticatedUser) -> String {
///     user.client_id().to_owned()
/// }
///
/// # fn main() -> Result<(), axum_bearer::ConfigError> {
/// let verifier = StaticVerifier::new([AccessToken::new("dev-token", "dev-client", ["notes:read"])]);
/// let auth = BearerAuth::new(verifier)
///     .profile(Profile::Spec)
///     .resource_metadata_url("https://notes.example/.well-known/oauth-protected-resource/mcp")?
///     .resource_server_url("https://notes.example/mcp")?
///     .scope_implies("notes:admin", ["notes:read", "notes:write"])?;
/// let app: Router = Router::new().route("/whoami", get(whoami)).layer(auth);
/// # Ok(()) }
/// ```
///
/// # Placement
///
/// `Router::layer(auth)` wraps every route in its own layered service, which axum clones and
/// boxes on each request. Wrapping the whole router once avoids that: in `BENCHMARKS.md` an
/// `AuthenticatedUser` route costs 1.56× a bare handler this way against 1.76× with
/// `Router::layer`. Extractors and guards work the same either way.
///
/// ```no_run
/// use axum::{Router, ServiceExt, extract::Request, routing::get};
/// use axum_bearer::{AccessToken, AuthenticatedUser, BearerAuth, StaticVerifier};
/// use tower::Layer;
///
/// async fn whoami(user: AuthenticatedUser) -> String {
///     user.client_id().to_owned()
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let verifier = StaticVerifier::new([AccessToken::new("dev-token", "dev-client", ["notes:read"])]);
/// let app = BearerAuth::new(verifier).layer(Router::new().route("/whoami", get(whoami)));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, ServiceExt::<Request>::into_make_service(app)).await
/// # }
/// ```
#[derive(Clone)]
pub struct BearerAuth {
    config: Arc<Config>,
    eager: bool,
}

impl BearerAuth {
    /// Protection with `verifier`, [`Profile::PythonSdk`], no metadata URL, no resource check,
    /// a 60 s leeway and an 8 KiB token cap.
    pub fn new(verifier: impl TokenVerifier) -> Self {
        Self::from_config(Config {
            verifier: Arc::new(verifier),
            profile: Profile::default(),
            resource_metadata: None,
            resource_server: None,
            realm: None,
            hierarchy: ScopeHierarchy::default(),
            leeway_secs: secs(DEFAULT_LEEWAY),
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            possession: None,
            prebuilt: Prebuilt::default(),
        })
    }

    pub(crate) fn from_config(mut config: Config) -> Self {
        config.prebuilt = rejection::prebuild(&config);
        Self {
            config: Arc::new(config),
            eager: false,
        }
    }

    pub(crate) fn with(mut self, change: impl FnOnce(&mut Config)) -> Self {
        let config = Arc::make_mut(&mut self.config);
        change(config);
        config.prebuilt = rejection::prebuild(config);
        self
    }

    /// The wire format of rejections (default [`Profile::PythonSdk`]).
    #[must_use]
    pub fn profile(self, profile: Profile) -> Self {
        self.with(|config| config.profile = profile)
    }

    /// The RFC 9728 metadata URL sent as `resource_metadata` in every challenge, exactly as given.
    ///
    /// It must be an absolute http(s) URL without a fragment, written with characters a challenge
    /// can carry (`%x21 / %x23-5B / %x5D-7E`: percent-encode the rest).
    pub fn resource_metadata_url(self, url: impl AsRef<str>) -> Result<Self, ConfigError> {
        let url = url.as_ref();
        validate_header_url("resource_metadata", url)?;
        Ok(self.with(|config| config.resource_metadata = Some(url.into())))
    }

    /// This server's resource identifier (RFC 8707): only tokens whose
    /// [`resource`](crate::AccessToken::resource) names it pass (scheme/host case, default port and
    /// one trailing slash aside); others, and tokens without a resource, get 401.
    pub fn resource_server_url(self, url: impl AsRef<str>) -> Result<Self, ConfigError> {
        let url = ResourceUrl::parse("resource_server", url.as_ref())?;
        Ok(self.with(|config| config.resource_server = Some(url)))
    }

    /// Configures the protected resource from its RFC 9728 metadata in one call:
    /// `resource_metadata_url` is the document's well-known URL and `resource_server_url` its
    /// `resource`, so neither can disagree with the document served by
    /// [`ProtectedResourceMetadata::router`](crate::ProtectedResourceMetadata::router).
    #[cfg(feature = "metadata")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metadata")))]
    pub fn protected_resource(
        self,
        metadata: &crate::ProtectedResourceMetadata,
    ) -> Result<Self, ConfigError> {
        self.resource_metadata_url(metadata.url())?
            .resource_server_url(metadata.resource())
    }

    /// Declares that a token granted `broader` also satisfies each of `narrower`
    /// (transitively: `admin ⇒ write`, `write ⇒ read` gives `admin ⇒ read`).
    pub fn scope_implies<I, S>(self, broader: &str, narrower: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        validate_scope_token(broader)?;
        let narrower = narrower
            .into_iter()
            .map(|scope| validate_scope_token(scope.as_ref()).map(|()| scope.as_ref().into()))
            .collect::<Result<Vec<Box<str>>, _>>()?;
        Ok(self.with(|config| config.hierarchy.add(broader, narrower)))
    }

    /// The clock-skew allowance for the layer's own `expires_at` check (default 60 s): a token is
    /// refused when `now >= expires_at + leeway`. Verifiers apply their own allowance first.
    #[must_use]
    pub fn leeway(self, leeway: Duration) -> Self {
        self.with(|config| config.leeway_secs = secs(leeway))
    }

    /// The `realm` of `Profile::Spec` challenges (RFC 6750 §3). Without one, a challenge that would
    /// otherwise carry no parameter gets `realm="api"`.
    pub fn realm(self, realm: impl AsRef<str>) -> Result<Self, ConfigError> {
        let realm = realm.as_ref();
        if realm.bytes().all(crate::challenge::is_text_char) {
            Ok(self.with(|config| config.realm = Some(realm.into())))
        } else {
            Err(ConfigError::InvalidRealm {
                realm: realm.escape_debug().to_string(),
            })
        }
    }

    /// The longest token accepted, in bytes (default 8 KiB): everything after `Bearer ` in the
    /// `Authorization` value counts, padding included. Longer ones get 401 without reaching the
    /// verifier (RFC 6750 digest, P7).
    #[must_use]
    pub fn max_token_len(self, max: usize) -> Self {
        self.with(|config| config.max_token_len = max)
    }

    /// Verifies the token of every request before calling the inner service, instead of when an
    /// extractor or guard first asks, and memoises the outcome for them as usual.
    ///
    /// It never refuses a request by itself: a route that asks for nothing stays public, and
    /// invalid credentials are reported by whatever asks for the user (an extractor or guard
    /// gets the usual 401/403/503). What it adds is that the outcome is known before the inner
    /// service runs, so code that can only read the user synchronously from the request's
    /// extensions sees it: [`AuthenticatedUser::from_extensions`](crate::AuthenticatedUser::from_extensions),
    /// and (feature `rmcp`) an rmcp tool that declares `user: AuthenticatedUser`, with
    /// `BearerAuth` alone and no guard.
    ///
    /// The cost: every request with credentials is verified, public routes included. When the
    /// verifier answers at once (static tokens, a cache hit, a JWT with known keys) nothing else
    /// changes; when it has to wait (an introspection call, a key fetch), the inner service is
    /// called when it has answered, from one boxed future. Off (the default), requests take
    /// the lazy path unchanged.
    ///
    /// ```
    /// use axum::{Router, http::Request, routing::get};
    /// use axum_bearer::{AccessToken, AuthenticatedUser, BearerAuth, StaticVerifier};
    ///
    /// // A handler that only sees the request, not the extractors.
    /// async fn whoami(request: Request<axum::body::Body>) -> String {
    ///     match AuthenticatedUser::from_extensions(request.extensions()) {
    ///         Some(user) => user.client_id().to_owned(),
    ///         None => "anonymous".into(),
    ///     }
    /// }
    ///
    /// let verifier = StaticVerifier::new([AccessToken::new("dev-token", "dev-client", ["mcp:read"])]);
    /// let app: Router = Router::new()
    ///     .route("/whoami", get(whoami))
    ///     .layer(BearerAuth::new(verifier).verify_eagerly());
    /// ```
    #[must_use]
    pub fn verify_eagerly(mut self) -> Self {
        self.eager = true;
        self
    }

    /// The configured profile.
    #[deprecated(
        since = "0.1.1",
        note = "builders set, they do not get: read the profile where it applies, with `AuthenticatedUser::profile` or `Rejection::profile`"
    )]
    pub fn current_profile(&self) -> Profile {
        self.config.profile
    }
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let config = &self.config;
        f.debug_struct("BearerAuth")
            .field("profile", &config.profile)
            .field("resource_metadata", &config.resource_metadata)
            .field("resource_server", &config.resource_server)
            .field("realm", &config.realm)
            .field("hierarchy", &config.hierarchy)
            .field("leeway_secs", &config.leeway_secs)
            .field("max_token_len", &config.max_token_len)
            .field(
                "dpop",
                &config
                    .possession
                    .as_ref()
                    .map(|dpop| match dpop.required() {
                        true => "required",
                        false => "allowed",
                    }),
            )
            .field("eager", &self.eager)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for BearerAuth {
    type Service = BearerAuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerAuthService {
            inner,
            config: self.config.clone(),
            eager: self.eager,
        }
    }
}

/// The service of [`BearerAuth`]: hands the configuration to the request (and, with
/// [`BearerAuth::verify_eagerly`], verifies its token), then calls `S`.
#[derive(Clone)]
pub struct BearerAuthService<S> {
    inner: S,
    config: Arc<Config>,
    eager: bool,
}

impl<S: fmt::Debug> fmt::Debug for BearerAuthService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuthService")
            .field("inner", &self.inner)
            .field("eager", &self.eager)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for BearerAuthService<S>
where
    S: Service<Request<B>> + Clone,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BearerAuthFuture<S::Future, S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if self.config.possession.is_some() {
            let seen = SeenUri(request.uri().clone());
            request.extensions_mut().insert(seen);
        }
        request
            .extensions_mut()
            .insert(AuthSlot::new(self.config.clone()));
        if !self.eager {
            return BearerAuthFuture::inner(self.inner.call(request));
        }
        let (mut parts, body) = request.into_parts();
        if settle_now(&mut parts) {
            return BearerAuthFuture::inner(self.inner.call(Request::from_parts(parts, body)));
        }
        // The clone is not ready, the original is: keep the ready one for this call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        BearerAuthFuture {
            state: State::Verifying {
                parts: Box::pin(settle_later(parts)),
                rest: Some((inner, body)),
            },
        }
    }
}

pin_project! {
    /// The future of [`BearerAuthService`]: the inner service's, after (with
    /// [`BearerAuth::verify_eagerly`] and a verifier that has to wait) the verification.
    pub struct BearerAuthFuture<F, S, B> {
        #[pin]
        state: State<F, S, B>,
    }
}

pin_project! {
    #[project = Projection]
    enum State<F, S, B> {
        // The inner service's future.
        Inner { #[pin] future: F },
        // Verifying eagerly; then the inner service (kept ready) is called with the body.
        Verifying {
            parts: Pin<Box<dyn Future<Output = Parts> + Send>>,
            rest: Option<(S, B)>,
        },
    }
}

impl<F, S, B> BearerAuthFuture<F, S, B> {
    #[inline]
    fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }
}

impl<F, S, B> Future for BearerAuthFuture<F, S, B>
where
    S: Service<Request<B>, Future = F>,
    F: Future<Output = Result<S::Response, S::Error>>,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                Projection::Inner { future } => return future.poll(cx),
                Projection::Verifying { parts, rest } => {
                    let parts = std::task::ready!(parts.as_mut().poll(cx));
                    // `rest` is taken once: the state becomes `Inner` right after.
                    let Some((mut inner, body)) = rest.take() else {
                        return Poll::Pending;
                    };
                    let future = inner.call(Request::from_parts(parts, body));
                    state.set(State::Inner { future });
                }
            }
        }
    }
}

impl<F, S, B> fmt::Debug for BearerAuthFuture<F, S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Inner { .. } => "Inner",
            State::Verifying { .. } => "Verifying",
        };
        f.debug_tuple("BearerAuthFuture").field(&state).finish()
    }
}
