//! Remote keys (feature `jwks`): a JWKS fetched from a URL or found through issuer discovery,
//! cached, refreshed in the background, refetched once for an unknown `kid`.
//!
//! - Readers never wait on a fetch while they have a key: the key set is an `Arc` swapped
//!   atomically, and stale keys are refreshed by a background task.
//! - A token whose `kid` is unknown triggers one refetch, shared by every request that needs it
//!   (single-flight), and at most one per cooldown, so bogus `kid`s cannot hammer the server.
//! - When the endpoint fails the cached keys keep serving; with no usable key the verifier says
//!   `Unavailable` (503), while an unknown `kid` after a successful refresh is `Invalid` (401).
//! - Keys come only from the configured JWKS: `jku`, `x5u` and `jwk` headers are never followed.
//! - Keys travel over `https`, or plain `http` to a loopback host only: the configured URLs are
//!   checked when built, a discovered `jwks_uri` before it is fetched.
//! - Deadlines saturate: a configured `Duration::MAX` means "never", not a panic, and an
//!   advertised `max-age` counts for at most a day.

mod fetch;

pub(crate) use fetch::transport_refusal;

/// The default client's redirects: at most 10, each to `https` or loopback, so an `https` JWKS
/// URL cannot hand the keys over to plain `http`.
pub(crate) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if let Some(reason) = transport_refusal(attempt.url()) {
            let error = format!("redirect to {} refused: {reason}", attempt.url());
            attempt.error(error)
        } else if attempt.previous().len() >= 10 {
            attempt.error("more than 10 redirects")
        } else {
            attempt.follow()
        }
    })
}

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use arc_swap::ArcSwap;
use jsonwebtoken::Algorithm;
use tokio::{sync::Mutex, time::Instant};
use url::Url;

use fetch::FetchError;

use crate::{VerifyError, verifier::keys::KeySet};

/// Where the keys come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A JWKS URL.
    Url(Url),
    /// The `jwks_uri` of the issuer's RFC 8414 or OIDC metadata.
    Discover(String),
}

/// Timings of a remote key set.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Fetch timeout (connect and whole response).
    pub(crate) timeout: Duration,
    /// Least time between two fetches triggered by unknown `kid`s or failures.
    pub(crate) cooldown: Duration,
    /// How long keys stay fresh without `Cache-Control: max-age`.
    pub(crate) default_max_age: Duration,
    /// Bounds on an advertised `max-age`.
    pub(crate) min_max_age: Duration,
    pub(crate) max_max_age: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            cooldown: Duration::from_secs(10),
            default_max_age: Duration::from_secs(300),
            min_max_age: Duration::from_secs(30),
            max_max_age: Duration::from_secs(24 * 3600),
        }
    }
}

/// What readers see: the keys and what is known about them.
#[derive(Debug, Default)]
struct Snapshot {
    keys: Arc<KeySet>,
    /// Whether a fetch has ever succeeded.
    loaded: bool,
    fresh_until: Option<Instant>,
    etag: Option<String>,
    jwks_url: Option<Url>,
    /// The last attempt of any kind, and whether it failed (and why, for logs).
    last_attempt: Option<Instant>,
    last_failed: bool,
    last_error: Option<Arc<str>>,
    /// The last fetch made because a token needed a key we did not have.
    last_on_demand: Option<Instant>,
}

impl Snapshot {
    /// `Unavailable` for `what`, with the last fetch error when there is one.
    fn failing(&self, what: &'static str) -> VerifyError {
        match &self.last_error {
            Some(error) => VerifyError::unavailable(format!("{what}: {error}")),
            None => VerifyError::unavailable(what),
        }
    }
}

/// `by` from now, or `None` ("never") when that is past what an `Instant` can hold: a
/// configured `Duration::MAX` must not panic inside a request.
fn later(by: Duration) -> Option<Instant> {
    Instant::now().checked_add(by)
}

/// A remote JWKS with its cache.
pub(crate) struct RemoteKeys {
    source: Source,
    client: reqwest::Client,
    allowed: Vec<Algorithm>,
    timing: Timing,
    snapshot: ArcSwap<Snapshot>,
    /// Held while a fetch runs: the single flight.
    flight: Mutex<()>,
    refreshing: AtomicBool,
}

impl fmt::Debug for RemoteKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot.load();
        f.debug_struct("RemoteKeys")
            .field("source", &self.source)
            .field("keys", &snapshot.keys.len())
            .field("loaded", &snapshot.loaded)
            .field("timing", &self.timing)
            .finish_non_exhaustive()
    }
}

impl RemoteKeys {
    pub(crate) fn new(
        source: Source,
        client: reqwest::Client,
        allowed: Vec<Algorithm>,
        timing: Timing,
    ) -> Self {
        Self {
            source,
            client,
            allowed,
            timing,
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            flight: Mutex::new(()),
            refreshing: AtomicBool::new(false),
        }
    }

    /// The keys already held that may have signed a token with header `kid` and `alg`, or `None`
    /// when none is held; starts a background refresh when the set is stale. Never waits.
    pub(crate) fn held_candidates(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Option<Arc<KeySet>> {
        let snapshot = self.snapshot.load();
        snapshot.keys.candidates(kid, alg).next()?;
        if snapshot
            .fresh_until
            .is_some_and(|until| Instant::now() >= until)
        {
            self.refresh_in_background();
        }
        Some(Arc::clone(&snapshot.keys))
    }

    /// Makes sure the keys for `kid` and `alg` are held, fetching them (once per cooldown,
    /// shared by every waiting request) when they are not.
    pub(crate) async fn fetch_candidates(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<(), VerifyError> {
        if self.held_candidates(kid, alg).is_some() {
            return Ok(());
        }
        self.refetch_for(kid, alg).await
    }

    /// One refetch for keys we do not have, shared by all who wait for it, at most one per
    /// cooldown.
    async fn refetch_for(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<(), VerifyError> {
        let _flight = self.flight.lock().await;
        // Someone may have fetched while we waited.
        let snapshot = self.snapshot.load_full();
        if snapshot.keys.candidates(kid, alg).next().is_some() {
            return Ok(());
        }
        // One on-demand fetch per cooldown, and none right after a failure: a rotated key is
        // fetched at once, a storm of bogus kids or a dead endpoint is not hammered.
        let within = |at: Option<Instant>| at.is_some_and(|at| at.elapsed() < self.timing.cooldown);
        let cooling = within(snapshot.last_on_demand)
            || (snapshot.last_failed && within(snapshot.last_attempt));
        if !cooling {
            // The first load is not a refetch: it does not start the cooldown.
            self.fetch_locked(snapshot.loaded).await;
        }
        let snapshot = self.snapshot.load_full();
        let found = snapshot.keys.candidates(kid, alg).next().is_some();
        match (!found, snapshot.loaded, snapshot.last_failed) {
            (false, _, _) => Ok(()),
            (true, false, _) | (true, true, true) => {
                Err(snapshot.failing("no key for the token and the JWKS endpoint is failing"))
            }
            (true, true, false) => Err(VerifyError::invalid("JWT kid not in the JWKS")),
        }
    }

    /// Loads the keys now (running discovery first when configured), unless a fresh set is
    /// already held: `Unavailable` when discovery or the fetch fails or the set holds no usable
    /// key.
    pub(crate) async fn load(&self) -> Result<(), VerifyError> {
        let _flight = self.flight.lock().await;
        let held = self.snapshot.load_full();
        let fresh = held.loaded
            && !held.last_failed
            && held.fresh_until.is_none_or(|until| Instant::now() < until);
        if !fresh {
            self.fetch_locked(false).await;
        }
        let snapshot = self.snapshot.load_full();
        if !snapshot.loaded || snapshot.last_failed {
            return Err(snapshot.failing("the JWKS could not be loaded"));
        }
        if snapshot.keys.is_empty() {
            return Err(VerifyError::unavailable(format!(
                "the JWKS at {} holds no usable signing key",
                snapshot
                    .jwks_url
                    .as_ref()
                    .map_or_else(String::new, Url::to_string)
            )));
        }
        Ok(())
    }

    /// Refreshes a stale set on the current Tokio runtime; without one (a direct, synchronous
    /// `verify_ready` call outside a runtime) a later verification on a runtime refreshes it.
    fn refresh_in_background(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = Arc::clone(self);
        runtime.spawn(async move {
            {
                let _flight = this.flight.lock().await;
                let snapshot = this.snapshot.load();
                if snapshot
                    .fresh_until
                    .is_some_and(|until| Instant::now() >= until)
                {
                    drop(snapshot);
                    this.fetch_locked(false).await;
                }
            }
            this.refreshing.store(false, Ordering::Release);
        });
    }

    /// Fetches now; the caller holds `flight`. Failures keep the cached keys.
    async fn fetch_locked(&self, on_demand: bool) {
        let previous = self.snapshot.load_full();
        let started = Instant::now();
        let outcome = self.fetch(&previous).await;
        let mut next = Snapshot {
            keys: previous.keys.clone(),
            loaded: previous.loaded,
            fresh_until: previous.fresh_until,
            etag: previous.etag.clone(),
            jwks_url: previous.jwks_url.clone(),
            last_attempt: Some(started),
            last_failed: false,
            last_error: None,
            last_on_demand: if on_demand {
                Some(started)
            } else {
                previous.last_on_demand
            },
        };
        match outcome {
            Ok((jwks_url, fetched)) => {
                let max_age = match fetched {
                    fetch::Fetched::Keys {
                        keys,
                        skipped,
                        etag,
                        max_age,
                    } => {
                        tracing::debug!(url = %jwks_url, keys = keys.len(), skipped, "JWKS fetched");
                        next.keys = Arc::new(keys);
                        next.etag = etag;
                        max_age
                    }
                    fetch::Fetched::NotModified { max_age } => max_age,
                };
                let max_age = max_age
                    .unwrap_or(self.timing.default_max_age)
                    .clamp(self.timing.min_max_age, self.timing.max_max_age);
                next.loaded = true;
                next.fresh_until = later(max_age);
                next.jwks_url = Some(jwks_url);
            }
            Err(error) => {
                tracing::warn!(%error, "JWKS fetch failed; keeping the cached keys");
                next.last_failed = true;
                next.last_error = Some(error.to_string().into());
                // Retry a failed refresh after the cooldown rather than hammering at once.
                if next.loaded {
                    next.fresh_until = later(self.timing.cooldown);
                }
            }
        }
        self.snapshot.store(Arc::new(next));
    }

    async fn fetch(&self, previous: &Snapshot) -> Result<(Url, fetch::Fetched), FetchError> {
        let url = match (&previous.jwks_url, &self.source) {
            (Some(url), _) | (None, Source::Url(url)) => url.clone(),
            (None, Source::Discover(issuer)) => fetch::discover(&self.client, issuer).await?,
        };
        let fetched =
            fetch::jwks(&self.client, &url, previous.etag.as_deref(), &self.allowed).await?;
        Ok((url, fetched))
    }
}
