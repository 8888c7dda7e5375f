//! [`CachedVerifier`] (feature `cache`): a bounded cache of verification results for any
//! [`TokenVerifier`], on [moka](https://docs.rs/moka/0.12).

use std::{
    borrow::Borrow,
    fmt,
    future::Future,
    hash::{BuildHasher, DefaultHasher, Hasher, RandomState},
    sync::Arc,
    task::{Context, Poll, Waker},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use moka::{Expiry, future::Cache};

use super::{TokenVerifier, VerifyError};
use crate::{AccessToken, token::Redacted};

/// The default bound on cached tokens: 10 000.
pub const DEFAULT_CACHE_MAX_ENTRIES: u64 = 10_000;

/// The default longest life of a cached token: 60 s.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);

/// Caches what another [`TokenVerifier`] says about each token, so repeated requests with the same
/// token cost one lookup instead of one introspection call (or signature check).
///
/// - **Bounded**: at most [`max_entries`](CachedVerifierBuilder::max_entries) tokens (default
///   10 000), evicted by moka's TinyLFU policy.
/// - **Never past `exp`**: an accepted token stays cached until its
///   [`expires_at`](AccessToken::expires_at) or for the [`ttl`](CachedVerifierBuilder::ttl)
///   (default 60 s), whichever comes first. The TTL bounds how long a revoked token keeps working
///   (RFC 7662 §4 trades this freshness against load); a token without `expires_at` lives the TTL.
/// - **Failures are not cached**: [`VerifyError::Unavailable`] never is, so the first request
///   after the back end recovers asks it again. [`VerifyError::Invalid`] and
///   [`VerifyError::Expired`] are cached only when
///   [`negative_ttl`](CachedVerifierBuilder::negative_ttl) is set, and for that long.
/// - **Single flight**: concurrent requests with the same uncached token wait for one call of the
///   inner verifier and share its answer (success or failure).
/// - **Shared, not copied**: a hit returns the cached `Arc<AccessToken>`
///   ([`verify_shared`](TokenVerifier::verify_shared), what the layer calls).
///
/// Tokens are the cache keys: they stay in memory while cached, but are never printed — not by
/// `Debug`, not in logs.
///
/// ```
/// use std::time::Duration;
/// use axum_bearer::{AccessToken, BearerAuth, CachedVerifier, StaticVerifier};
///
/// let slow = StaticVerifier::new([AccessToken::new("dev-token", "dev-client", ["notes:read"])]);
/// let cached = CachedVerifier::builder(slow)
///     .max_entries(50_000)
///     .ttl(Duration::from_secs(120))
///     .negative_ttl(Some(Duration::from_secs(5)))
///     .build();
/// let auth = BearerAuth::new(cached);
/// # let _ = auth;
/// ```
pub struct CachedVerifier<V> {
    inner: Arc<V>,
    cache: Cache<TokenKey, Cached, TokenHasher>,
    max_entries: u64,
    lifetimes: Lifetimes,
}

impl<V> Clone for CachedVerifier<V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            cache: self.cache.clone(),
            max_entries: self.max_entries,
            lifetimes: self.lifetimes,
        }
    }
}

/// A cache key: the raw token, which `Debug` never shows. Hashes and compares as the `str`, so a
/// lookup needs no allocation.
#[derive(Clone, PartialEq, Eq, Hash)]
struct TokenKey(Box<str>);

impl Borrow<str> for TokenKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TokenKey").field(&Redacted).finish()
    }
}

/// How tokens are hashed: foldhash (randomly seeded), several times faster than SipHash on a
/// 400-byte JWT; SipHash (randomly keyed) when refused tokens are cached, since attackers then
/// choose keys that are inserted, and SipHash is the one made to resist collision flooding.
#[derive(Clone)]
enum TokenHasher {
    Fast(foldhash::quality::RandomState),
    Keyed(RandomState),
}

impl BuildHasher for TokenHasher {
    type Hasher = TokenHashing;

    fn build_hasher(&self) -> TokenHashing {
        match self {
            Self::Fast(state) => TokenHashing::Fast(state.build_hasher()),
            Self::Keyed(state) => TokenHashing::Keyed(state.build_hasher()),
        }
    }
}

enum TokenHashing {
    Fast(foldhash::quality::FoldHasher<'static>),
    Keyed(DefaultHasher),
}

impl Hasher for TokenHashing {
    fn write(&mut self, bytes: &[u8]) {
        match self {
            Self::Fast(hasher) => hasher.write(bytes),
            Self::Keyed(hasher) => hasher.write(bytes),
        }
    }

    fn finish(&self) -> u64 {
        match self {
            Self::Fast(hasher) => hasher.finish(),
            Self::Keyed(hasher) => hasher.finish(),
        }
    }
}

/// What is cached for a token.
#[derive(Clone, Debug)]
enum Cached {
    Valid(Arc<AccessToken>),
    /// `Invalid` or `Expired`, only with a negative TTL.
    Refused(VerifyError),
}

impl Cached {
    fn into_result(self) -> Result<Arc<AccessToken>, VerifyError> {
        match self {
            Self::Valid(token) => Ok(token),
            Self::Refused(error) => Err(error),
        }
    }
}

/// Per-entry lifetimes: moka evicts an entry once its duration has elapsed.
#[derive(Debug, Clone, Copy)]
struct Lifetimes {
    ttl: Duration,
    negative_ttl: Option<Duration>,
}

impl Lifetimes {
    fn of(&self, value: &Cached) -> Duration {
        match value {
            Cached::Valid(token) => match token.expires_at {
                Some(exp) => self.ttl.min(until(exp)),
                None => self.ttl,
            },
            Cached::Refused(_) => self.negative_ttl.unwrap_or(Duration::ZERO),
        }
    }
}

/// Time left until the Unix second `exp`, to the nanosecond; zero once it has passed.
fn until(exp: i64) -> Duration {
    let Ok(exp) = u64::try_from(exp) else {
        return Duration::ZERO;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_secs(exp).saturating_sub(now)
}

impl Expiry<TokenKey, Cached> for Lifetimes {
    fn expire_after_create(
        &self,
        _key: &TokenKey,
        value: &Cached,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(self.of(value))
    }

    fn expire_after_update(
        &self,
        _key: &TokenKey,
        value: &Cached,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(self.of(value))
    }
}

impl<V: TokenVerifier> CachedVerifier<V> {
    /// A cache in front of `inner` with the defaults: 10 000 entries, a 60 s TTL, failures not
    /// cached.
    pub fn new(inner: V) -> Self {
        Self::builder(inner).build()
    }

    /// A builder to set the bound and the lifetimes.
    pub fn builder(inner: V) -> CachedVerifierBuilder<V> {
        CachedVerifierBuilder {
            inner,
            max_entries: DEFAULT_CACHE_MAX_ENTRIES,
            lifetimes: Lifetimes {
                ttl: DEFAULT_CACHE_TTL,
                negative_ttl: None,
            },
        }
    }

    /// The wrapped verifier.
    pub fn inner(&self) -> &V {
        &self.inner
    }

    /// Forgets what is cached for `token` (e.g. on a revocation notice): the next request asks
    /// the inner verifier again.
    pub async fn invalidate(&self, token: &str) {
        self.cache.invalidate(token).await;
    }

    /// Forgets every cached token.
    pub fn invalidate_all(&self) {
        self.cache.invalidate_all();
    }

    /// About how many tokens are cached (moka applies inserts and evictions lazily, so this may
    /// lag for a moment).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// A hit is one hash and one table walk; the miss path, with the inner verifier's future
    /// and moka's loader, is boxed so a hit's future stays small.
    async fn lookup(&self, token: &str) -> Result<Arc<AccessToken>, VerifyError> {
        if let Some(hit) = self.cache.get(token).await {
            return hit.into_result();
        }
        Box::pin(self.miss(token)).await
    }

    async fn miss(&self, token: &str) -> Result<Arc<AccessToken>, VerifyError> {
        let cache_refusals = self.lifetimes.negative_ttl.is_some();
        let inner = &self.inner;
        let verify = async move {
            match inner.verify_shared(token).await {
                Ok(token) => Ok(Cached::Valid(token)),
                Err(error @ (VerifyError::Invalid(_) | VerifyError::Expired)) if cache_refusals => {
                    Ok(Cached::Refused(error))
                }
                // Not cached: `Unavailable` always, refusals without a negative TTL.
                Err(error) => Err(error),
            }
        };
        match self
            .cache
            .try_get_with(TokenKey(token.into()), verify)
            .await
        {
            Ok(cached) => cached.into_result(),
            Err(error) => Err(VerifyError::clone(&error)),
        }
    }
}

impl<V: TokenVerifier> TokenVerifier for CachedVerifier<V> {
    fn verify(&self, token: &str) -> impl Future<Output = Result<AccessToken, VerifyError>> + Send {
        let shared = self.lookup(token);
        async move { shared.await.map(Arc::unwrap_or_clone) }
    }

    fn verify_shared(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Arc<AccessToken>, VerifyError>> + Send {
        self.lookup(token)
    }

    /// A hit, when moka answers without waiting (it nearly always does: its lookups take no
    /// lock); a miss goes to [`verify_shared`](TokenVerifier::verify_shared).
    fn verify_ready(&self, token: &str) -> Option<Result<Arc<AccessToken>, VerifyError>> {
        let lookup = std::pin::pin!(self.cache.get(token));
        match lookup.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Some(hit)) => Some(hit.into_result()),
            Poll::Ready(None) | Poll::Pending => None,
        }
    }

    /// The wrapped verifier's [`warm_up`](TokenVerifier::warm_up).
    fn warm_up(&self) -> impl Future<Output = Result<(), VerifyError>> + Send {
        self.inner.warm_up()
    }
}

impl<V: fmt::Debug> fmt::Debug for CachedVerifier<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never moka's own `Debug`: it lists every entry.
        f.debug_struct("CachedVerifier")
            .field("inner", &self.inner)
            .field("max_entries", &self.max_entries)
            .field("ttl", &self.lifetimes.ttl)
            .field("negative_ttl", &self.lifetimes.negative_ttl)
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

/// Configures a [`CachedVerifier`]; from [`CachedVerifier::builder`].
#[must_use]
pub struct CachedVerifierBuilder<V> {
    inner: V,
    max_entries: u64,
    lifetimes: Lifetimes,
}

impl<V: fmt::Debug> fmt::Debug for CachedVerifierBuilder<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedVerifierBuilder")
            .field("inner", &self.inner)
            .field("max_entries", &self.max_entries)
            .field("ttl", &self.lifetimes.ttl)
            .field("negative_ttl", &self.lifetimes.negative_ttl)
            .finish()
    }
}

impl<V: TokenVerifier> CachedVerifierBuilder<V> {
    /// The most tokens kept at once (default 10 000); the least useful are evicted first.
    pub fn max_entries(mut self, max_entries: u64) -> Self {
        self.max_entries = max_entries;
        self
    }

    /// The longest an accepted token stays cached (default 60 s); never past its `expires_at`.
    /// This is how long a revoked token may keep working. `Duration::MAX` caches a token until
    /// its `expires_at` (forever without one) or until the bound evicts it.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.lifetimes.ttl = ttl;
        self
    }

    /// How long to cache a refusal ([`VerifyError::Invalid`] or [`VerifyError::Expired`]): `None`
    /// (the default) caches none, so each request with a bad token reaches the inner verifier;
    /// a few seconds shield an introspection endpoint from a client retrying a bad token.
    /// [`VerifyError::Unavailable`] is never cached.
    pub fn negative_ttl(mut self, negative_ttl: Option<Duration>) -> Self {
        self.lifetimes.negative_ttl = negative_ttl;
        self
    }

    /// The cached verifier.
    pub fn build(self) -> CachedVerifier<V> {
        let cache = Cache::builder()
            .max_capacity(self.max_entries)
            .expire_after(self.lifetimes)
            .build_with_hasher(match self.lifetimes.negative_ttl {
                None => TokenHasher::Fast(foldhash::quality::RandomState::default()),
                Some(_) => TokenHasher::Keyed(RandomState::new()),
            });
        CachedVerifier {
            inner: Arc::new(self.inner),
            cache,
            max_entries: self.max_entries,
            lifetimes: self.lifetimes,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::clock::unix_now;

    /// Answers from a fixed rule and counts its calls.
    #[derive(Debug, Default)]
    struct Counting {
        calls: AtomicUsize,
    }

    impl TokenVerifier for Counting {
        async fn verify(&self, token: &str) -> Result<AccessToken, VerifyError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if token == "slow" {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            match token {
                "down" => Err(VerifyError::unavailable("back end down")),
                "bad" => Err(VerifyError::invalid("unknown")),
                "old" => Err(VerifyError::Expired),
                "short" => Ok(AccessToken::new(token, "c", ["s"]).with_expires_at(unix_now() + 1)),
                "past" => Ok(AccessToken::new(token, "c", ["s"]).with_expires_at(unix_now() - 5)),
                "forever" => Ok(AccessToken::new(token, "c", ["s"])),
                "far" => Ok(AccessToken::new(token, "c", ["s"]).with_expires_at(i64::MAX)),
                _ => Ok(AccessToken::new(token, "c", ["s"]).with_expires_at(unix_now() + 3600)),
            }
        }
    }

    fn calls(cached: &CachedVerifier<Counting>) -> usize {
        cached.inner().calls.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn hits_share_the_cached_arc() {
        let cached = CachedVerifier::new(Counting::default());
        let first = cached.verify_shared("good").await.unwrap();
        let second = cached.verify_shared("good").await.unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(cached.verify("good").await.unwrap().token, "good");
        assert_eq!(calls(&cached), 1);
        cached.invalidate("good").await;
        cached.verify_shared("good").await.unwrap();
        assert_eq!(calls(&cached), 2);
    }

    #[tokio::test]
    async fn failures_are_not_cached_by_default() {
        let cached = CachedVerifier::new(Counting::default());
        for token in ["down", "bad", "old", "down", "bad", "old"] {
            assert!(cached.verify_shared(token).await.is_err());
        }
        assert_eq!(calls(&cached), 6);
    }

    #[tokio::test]
    async fn refusals_are_cached_with_a_negative_ttl_but_unavailable_never() {
        let cached = CachedVerifier::builder(Counting::default())
            .negative_ttl(Some(Duration::from_secs(60)))
            .build();
        for _ in 0..3 {
            assert!(matches!(
                cached.verify_shared("bad").await,
                Err(VerifyError::Invalid(_))
            ));
            assert_eq!(
                cached.verify_shared("old").await.unwrap_err(),
                VerifyError::Expired
            );
            assert!(matches!(
                cached.verify_shared("down").await,
                Err(VerifyError::Unavailable(_))
            ));
        }
        assert_eq!(calls(&cached), 2 + 3);
    }

    #[tokio::test]
    async fn entries_never_outlive_expires_at() {
        let cached = CachedVerifier::new(Counting::default());
        cached.verify_shared("past").await.unwrap();
        cached.verify_shared("past").await.unwrap();
        assert_eq!(
            calls(&cached),
            2,
            "a token past exp is not served from cache"
        );
        assert!(
            Lifetimes {
                ttl: Duration::from_secs(60),
                negative_ttl: None
            }
            .of(&Cached::Valid(Arc::new(
                AccessToken::new("t", "c", ["s"]).with_expires_at(unix_now() + 1)
            ))) <= Duration::from_secs(1)
        );
    }

    #[tokio::test]
    async fn duration_max_lifetimes_cache_without_panicking() {
        let cached = CachedVerifier::builder(Counting::default())
            .ttl(Duration::MAX)
            .negative_ttl(Some(Duration::MAX))
            .build();
        for _ in 0..3 {
            for token in ["forever", "far", "good"] {
                cached.verify_shared(token).await.unwrap();
            }
            assert!(cached.verify_shared("bad").await.is_err());
            cached.cache.run_pending_tasks().await;
        }
        assert_eq!(calls(&cached), 4);
        assert_eq!(cached.entry_count(), 4);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_misses_make_one_call() {
        let cached = CachedVerifier::new(Counting::default());
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let cached = cached.clone();
                tokio::spawn(async move { cached.verify_shared("slow").await })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap().is_ok());
        }
        assert_eq!(calls(&cached), 1);
    }

    #[test]
    fn debug_shows_no_token() {
        let key = TokenKey("secret-token".into());
        assert!(!format!("{key:?}").contains("secret-token"));
    }
}
