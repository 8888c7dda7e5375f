//! The replay window: which proof identifiers (`jti`, per key) were already used.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use moka::{Expiry, future::Cache, notification::RemovalCause};

/// How many proof identifiers [`InMemoryReplayStore::new`] holds at most.
pub const DEFAULT_REPLAY_MAX_ENTRIES: usize = 100_000;

/// Why a [`ReplayStore`] could not answer.
///
/// The verifier then refuses the proof with a 503
/// ([`DpopError::ReplayStoreUnavailable`](super::DpopError::ReplayStoreUnavailable)): a proof is
/// never accepted without its `jti` recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayStoreError {
    /// The store is at its capacity with identifiers that are still live.
    #[error("replay store full")]
    Full,
    /// The store (a remote one: Redis, a database) did not answer, or answered an error.
    #[error("replay store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ReplayStoreError {
    /// [`Unavailable`](Self::Unavailable) with `source` as the cause.
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable(source.into())
    }
}

/// Remembers the DPoP proofs a server accepted for as long as they could be replayed
/// (RFC 9449 §11.1).
///
/// One method: record `(jkt, jti)` unless it is already there, and forget it after `ttl`. It
/// answers `Ok(true)` when the pair is new (the proof may be accepted), `Ok(false)` when it was
/// seen (a replay), and `Err` when it cannot tell: the verifier then answers 503, never accepts.
/// The check and the insertion must be one atomic step (`SET key 1 NX EX ttl` in Redis), so two
/// replicas given the same proof at once accept it once.
///
/// [`InMemoryReplayStore`] is the default, for one process. Behind several replicas, implement
/// this on a shared store so a proof accepted by one is refused by the others.
///
/// ```
/// use std::{collections::HashMap, sync::Mutex, time::Duration};
/// use axum_bearer::dpop::{ReplayStore, ReplayStoreError};
///
/// /// A store for one process that never forgets (a sketch: use `InMemoryReplayStore`).
/// #[derive(Default)]
/// struct Forever(Mutex<HashMap<(String, String), ()>>);
///
/// impl ReplayStore for Forever {
///     async fn insert_if_absent(&self, jkt: &str, jti: &str, _ttl: Duration)
///         -> Result<bool, ReplayStoreError>
///     {
///         let mut seen = self.0.lock().map_err(|_| ReplayStoreError::unavailable("poisoned"))?;
///         Ok(seen.insert((jkt.to_owned(), jti.to_owned()), ()).is_none())
///     }
/// }
/// ```
pub trait ReplayStore: Send + Sync + 'static {
    /// Records `(jkt, jti)` for `ttl` unless it is already recorded: `Ok(true)` when it was new,
    /// `Ok(false)` when it was already there, `Err` when the store cannot tell.
    ///
    /// `jkt` is the RFC 7638 thumbprint of the proof's key (base64url, 43 characters), `jti` the
    /// proof's identifier (bounded by the verifier, any characters). `ttl` is at least one second.
    fn insert_if_absent(
        &self,
        jkt: &str,
        jti: &str,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, ReplayStoreError>> + Send;
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`ReplayStore`] in a form that can sit behind `dyn`.
pub(crate) trait DynReplayStore: Send + Sync + 'static {
    fn insert_if_absent_boxed<'a>(
        &'a self,
        jkt: &'a str,
        jti: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>>;
}

impl<S: ReplayStore> DynReplayStore for S {
    fn insert_if_absent_boxed<'a>(
        &'a self,
        jkt: &'a str,
        jti: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        Box::pin(self.insert_if_absent(jkt, jti, ttl))
    }
}

/// The store a verifier holds: the in-memory one called directly, any other boxed.
#[derive(Clone)]
pub(crate) enum Store {
    Memory(InMemoryReplayStore),
    Custom(Arc<dyn DynReplayStore>),
}

impl Store {
    pub(crate) async fn insert_if_absent(
        &self,
        jkt: &str,
        jti: &str,
        ttl: Duration,
    ) -> Result<bool, ReplayStoreError> {
        match self {
            Self::Memory(store) => store.insert_if_absent(jkt, jti, ttl).await,
            Self::Custom(store) => store.insert_if_absent_boxed(jkt, jti, ttl).await,
        }
    }
}

/// The in-memory [`ReplayStore`] (moka): bounded, each identifier forgotten when its proof
/// leaves the `iat` window.
///
/// At its capacity it refuses new proofs with [`ReplayStoreError::Full`] (a 503) rather than
/// forgetting identifiers that are still live: forgetting one would let its proof be replayed.
/// Only proofs that passed every other check reach the store, so filling it takes that many
/// signed, fresh proofs within one window; size it for the proofs a window can bring (a proof is remembered until its
/// `iat` leaves the window, about 300 s with the defaults, so [`DEFAULT_REPLAY_MAX_ENTRIES`]
/// sustains about 330 accepted proofs a second), and
/// record the `jti` only after the access token is verified (see
/// [`DpopVerifier::check`](super::DpopVerifier::check)) so only token holders can fill it.
///
/// Clones share the same entries. For several replicas use a shared [`ReplayStore`].
#[derive(Clone)]
pub struct InMemoryReplayStore {
    entries: Cache<Box<str>, Duration>,
    len: Arc<AtomicUsize>,
    max_entries: usize,
}

impl std::fmt::Debug for InMemoryReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryReplayStore")
            .field("len", &self.len.load(Ordering::Relaxed))
            .field("max_entries", &self.max_entries)
            .finish()
    }
}

impl Default for InMemoryReplayStore {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_MAX_ENTRIES)
    }
}

/// Each entry lives for the `ttl` it was inserted with (the value).
struct TtlFromValue;

impl Expiry<Box<str>, Duration> for TtlFromValue {
    fn expire_after_create(
        &self,
        _key: &Box<str>,
        ttl: &Duration,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(*ttl)
    }
}

impl InMemoryReplayStore {
    /// A store holding at most `max_entries` identifiers (at least one).
    pub fn new(max_entries: usize) -> Self {
        let len = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&len);
        let entries = Cache::builder()
            .expire_after(TtlFromValue)
            .eviction_listener(move |_key, _ttl, _cause: RemovalCause| {
                counter.fetch_sub(1, Ordering::Relaxed);
            })
            .build();
        Self {
            entries,
            len,
            max_entries: max_entries.max(1),
        }
    }

    /// How many identifiers it holds now (expired ones count until they are swept).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReplayStore for InMemoryReplayStore {
    async fn insert_if_absent(
        &self,
        jkt: &str,
        jti: &str,
        ttl: Duration,
    ) -> Result<bool, ReplayStoreError> {
        // The thumbprint is base64url (no space), so the space keeps the pair unambiguous.
        let key: Box<str> = [jkt, " ", jti].concat().into_boxed_str();
        if self.len() >= self.max_entries {
            if self.entries.contains_key(&key) {
                return Ok(false);
            }
            // Expired entries are swept lazily: sweep, then look again.
            self.entries.run_pending_tasks().await;
            if self.len() >= self.max_entries {
                return Err(ReplayStoreError::Full);
            }
        }
        let entry = self.entries.entry(key).or_insert(ttl).await;
        if entry.is_fresh() {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
        Ok(entry.is_fresh())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn new_then_seen_then_full() {
        let store = InMemoryReplayStore::new(2);
        let ttl = Duration::from_secs(60);
        assert!(store.insert_if_absent("k", "a", ttl).await.unwrap());
        assert!(!store.insert_if_absent("k", "a", ttl).await.unwrap());
        assert!(store.insert_if_absent("other", "a", ttl).await.unwrap());
        assert!(!store.insert_if_absent("k", "a", ttl).await.unwrap());
        assert!(matches!(
            store.insert_if_absent("k", "b", ttl).await,
            Err(ReplayStoreError::Full)
        ));
    }

    #[tokio::test]
    async fn expired_entries_make_room() {
        let store = InMemoryReplayStore::new(1);
        let ttl = Duration::from_secs(1);
        assert!(store.insert_if_absent("k", "a", ttl).await.unwrap());
        assert!(matches!(
            store.insert_if_absent("k", "b", ttl).await,
            Err(ReplayStoreError::Full)
        ));
        // moka's timer wheel ticks about once a second: give it a few.
        let mut room = false;
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if let Ok(true) = store.insert_if_absent("k", "b", ttl).await {
                room = true;
                break;
            }
        }
        assert!(room, "the expired entry was never swept");
        assert_eq!(store.len(), 1);
    }
}
