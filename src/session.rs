//! Session ownership: [`SessionStore`], the trait a table of session owners implements, and
//! [`SessionOwners`], its bounded in-memory default.

use std::{
    borrow::{Borrow, Cow},
    collections::{HashMap, HashSet},
    fmt,
    future::Future,
    hash::Hash,
    sync::{
        Arc, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum_core::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header::CONTENT_TYPE};

use crate::AuthorizationContext;

/// The body of the 404 for an unknown session, byte-identical to the reference's.
pub const SESSION_NOT_FOUND_BODY: &str =
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Session not found"}}"#;

/// How long a session may go unused before [`SessionOwners`] forgets it: one hour.
pub const DEFAULT_SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

/// How many live sessions [`SessionOwners`] records before it refuses new ones: 100 000.
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// What a [`SessionStore`] knows about a session id and the principal presenting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    /// The session exists and `requestor` created it: the request may use it.
    Owner,
    /// No live session has this id (never bound, removed, or idle too long).
    Unknown,
    /// The session exists but another principal created it.
    OtherPrincipal,
}

/// A [`SessionStore`] could not do what was asked. Every variant answers 503 in
/// [`SessionBindingLayer`](crate::mcp::SessionBindingLayer), except
/// [`Taken`](Self::Taken) (404).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionStoreError {
    /// The store holds its maximum number of live sessions: no new session is recorded, and no
    /// live one is evicted to make room.
    #[error("session table full ({max} live sessions)")]
    Full {
        /// The configured maximum.
        max: usize,
    },
    /// The id is already bound to another principal (a server announcing someone else's
    /// session): the binding is refused and the owner kept.
    #[error("session id already bound to another principal")]
    Taken,
    /// The store's back end failed or timed out (a shared store that is down): the request is
    /// refused, never let through unchecked. The reason is for logs; never put a token in it.
    #[error("session store unavailable: {0}")]
    Unavailable(Cow<'static, str>),
}

impl SessionStoreError {
    /// [`SessionStoreError::Unavailable`] with a reason for logs.
    pub fn unavailable(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Unavailable(reason.into())
    }
}

/// Where session owners live: which principal created each session id.
///
/// [`SessionOwners`] is the in-memory default; implement this trait to share owners between
/// server instances (a Redis store, say). The principal is an [`AuthorizationContext`], or
/// `None` for a session created without authentication; a store that serialises it should use
/// [`AuthorizationContext::principal_key`]. A store that cannot answer returns
/// [`SessionStoreError::Unavailable`]: the request then gets 503, never a silent fallback.
///
/// ```
/// use std::{collections::HashMap, sync::Mutex};
/// use axum_bearer::{AuthorizationContext, SessionCheck, SessionStore, SessionStoreError};
///
/// /// Owners by principal key (`"null"` for anonymous sessions); unbounded, for illustration.
/// #[derive(Default)]
/// struct Owners(Mutex<HashMap<String, String>>);
///
/// fn key(owner: Option<&AuthorizationContext>) -> String {
///     owner.map_or_else(|| "null".into(), AuthorizationContext::principal_key)
/// }
///
/// impl SessionStore for Owners {
///     async fn bind(&self, id: &str, owner: Option<&AuthorizationContext>) -> Result<(), SessionStoreError> {
///         let mut owners = self.0.lock().map_err(|_| SessionStoreError::unavailable("poisoned"))?;
///         let owner = key(owner);
///         match owners.get(id) {
///             Some(existing) if *existing != owner => Err(SessionStoreError::Taken),
///             _ => { owners.insert(id.to_owned(), owner); Ok(()) }
///         }
///     }
///
///     async fn check(&self, id: &str, requestor: Option<&AuthorizationContext>) -> Result<SessionCheck, SessionStoreError> {
///         let owners = self.0.lock().map_err(|_| SessionStoreError::unavailable("poisoned"))?;
///         Ok(match owners.get(id) {
///             None => SessionCheck::Unknown,
///             Some(owner) if *owner == key(requestor) => SessionCheck::Owner,
///             Some(_) => SessionCheck::OtherPrincipal,
///         })
///     }
///
///     async fn remove(&self, id: &str) -> Result<bool, SessionStoreError> {
///         let mut owners = self.0.lock().map_err(|_| SessionStoreError::unavailable("poisoned"))?;
///         Ok(owners.remove(id).is_some())
///     }
/// }
/// ```
pub trait SessionStore: Send + Sync + 'static {
    /// Records that `owner` created session `id`.
    ///
    /// Binding an id again for the same principal succeeds (and counts as use); binding it for
    /// another principal fails with [`SessionStoreError::Taken`] and keeps the first owner. A
    /// bounded store that is full fails with [`SessionStoreError::Full`] rather than evict a live
    /// session.
    fn bind(
        &self,
        id: &str,
        owner: Option<&AuthorizationContext>,
    ) -> impl Future<Output = Result<(), SessionStoreError>> + Send;

    /// Whether `requestor` may use session `id`: its creator's context equals `requestor`
    /// (`None` equal only to `None`). A match counts as use (it restarts an idle timer); a
    /// stranger's request does not.
    fn check(
        &self,
        id: &str,
        requestor: Option<&AuthorizationContext>,
    ) -> impl Future<Output = Result<SessionCheck, SessionStoreError>> + Send;

    /// Forgets session `id`; `Ok(true)` when it was live.
    fn remove(&self, id: &str) -> impl Future<Output = Result<bool, SessionStoreError>> + Send;
}

/// Which principal created each session, so a session is only usable with the credential that
/// made it (MCP security best practices, "session hijacking"). Bounded: sessions idle for longer
/// than [`with_idle_timeout`](Self::with_idle_timeout) are forgotten, and at
/// [`with_max_sessions`](Self::with_max_sessions) live sessions new ones are refused.
///
/// Record the creator's [`AuthorizationContext`] (or `None` for an unauthenticated creator) when a
/// session is created, and check every later request. A mismatch — another client, subject or
/// issuer, an anonymous request on an authenticated session or the reverse — answers exactly
/// like an unknown session. For a streamable-HTTP MCP server,
/// [`SessionBindingLayer`](crate::mcp::SessionBindingLayer) does all of this around the server.
///
/// ```
/// use axum_bearer::{AccessToken, AuthorizationContext, SessionOwners};
///
/// let owners = SessionOwners::new();
/// let alice = AuthorizationContext::from_token(&AccessToken::new("t1", "app", ["mcp"]).with_subject("alice"));
/// let bob = AuthorizationContext::from_token(&AccessToken::new("t2", "app", ["mcp"]).with_subject("bob"));
///
/// owners.bind("session-1", Some(alice.clone())).expect("room for a session");
/// assert!(owners.check("session-1", Some(&alice)).is_ok());
/// assert!(owners.check("session-1", Some(&bob)).is_err());
/// assert!(owners.check("session-1", None).is_err());
/// assert!(owners.check("no-such-session", Some(&alice)).is_err());
/// owners.remove("session-1");
/// assert!(owners.check("session-1", Some(&alice)).is_err());
/// ```
///
/// # Memory and limits
///
/// An entry holds the id and a shared reference to its owner: one copy of each principal,
/// however many sessions it has. One million sessions of 32-character ids take about
/// 112 MiB (117 bytes each, x86_64 Linux); the default cap ([`DEFAULT_MAX_SESSIONS`]) keeps the
/// table near 12 MiB. At the cap,
/// [`bind`](Self::bind) returns [`SessionStoreError::Full`] once expired sessions have been
/// dropped: the live ones stay, and the new session is refused (503 in the layer).
pub struct SessionOwners {
    table: BoundedTable<Box<str>, Option<Arc<AuthorizationContext>>>,
    principals: RwLock<HashSet<Arc<AuthorizationContext>>>,
}

/// The limits and the number of live sessions; never the ids or the principals.
impl fmt::Debug for SessionOwners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOwners")
            .field("idle_timeout", &self.table.idle())
            .field("max_sessions", &self.table.max)
            .field("live_sessions", &self.table.live_len())
            .finish()
    }
}

impl Default for SessionOwners {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionOwners {
    /// No sessions; [`DEFAULT_SESSION_IDLE_TIMEOUT`] and [`DEFAULT_MAX_SESSIONS`].
    pub fn new() -> Self {
        Self {
            table: BoundedTable::new(DEFAULT_SESSION_IDLE_TIMEOUT, DEFAULT_MAX_SESSIONS),
            principals: RwLock::default(),
        }
    }

    /// Forgets a session once it has not been used (bound, or checked by its owner) for
    /// `timeout`. Make it at least as long as the MCP server's own session keep-alive, or a
    /// session that is still open there answers 404 here. Resolution: one millisecond.
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.table.set_idle(timeout);
        self
    }

    /// Refuses new sessions ([`SessionStoreError::Full`]) while `max` live sessions are
    /// recorded. `0` refuses every new session.
    pub fn with_max_sessions(mut self, max: usize) -> Self {
        self.table.max = max;
        self
    }

    /// The idle timeout.
    pub fn idle_timeout(&self) -> Duration {
        self.table.idle()
    }

    /// The maximum number of live sessions.
    pub fn max_sessions(&self) -> usize {
        self.table.max
    }

    /// Records session `id`, created by `owner` (`None`: created without authentication).
    ///
    /// # Errors
    ///
    /// [`SessionStoreError::Full`] at the cap; [`SessionStoreError::Taken`] when `id` is live and
    /// bound to another principal (the first owner is kept).
    pub fn bind(
        &self,
        id: impl AsRef<str>,
        owner: Option<AuthorizationContext>,
    ) -> Result<(), SessionStoreError> {
        self.bind_ref(id.as_ref(), owner.as_ref())
    }

    fn bind_ref(
        &self,
        id: &str,
        owner: Option<&AuthorizationContext>,
    ) -> Result<(), SessionStoreError> {
        let result = self.table.insert(
            id,
            || self.intern(owner),
            |existing| existing.as_deref() == owner,
        );
        match result {
            Inserted::New | Inserted::Same => Ok(()),
            Inserted::Conflict => Err(SessionStoreError::Taken),
            Inserted::Full => Err(SessionStoreError::Full {
                max: self.table.max,
            }),
        }
    }

    /// The shared copy of `owner`, so sessions of one principal hold one context between them.
    fn intern(&self, owner: Option<&AuthorizationContext>) -> Option<Arc<AuthorizationContext>> {
        let owner = owner?;
        let mut principals = self
            .principals
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = principals.get(owner) {
            return Some(shared.clone());
        }
        // Drop principals no session refers to any more before growing.
        if principals.len() >= self.table.max.max(1) {
            principals.retain(|principal| Arc::strong_count(principal) > 1);
        }
        let shared = Arc::new(owner.clone());
        principals.insert(shared.clone());
        Some(shared)
    }

    /// Whether session `id` may be used by `requestor`: it exists and its creator's context equals
    /// `requestor` (`None` equal only to `None`). Unknown and mismatched sessions give the same
    /// error; a `DEBUG` log line tells them apart. A match restarts the idle timer.
    pub fn check(
        &self,
        id: &str,
        requestor: Option<&AuthorizationContext>,
    ) -> Result<(), SessionNotFound> {
        match self.verdict(id, requestor) {
            SessionCheck::Owner => Ok(()),
            SessionCheck::OtherPrincipal => {
                tracing::debug!(
                    session = %truncate(id),
                    "credential does not match the one that created the session"
                );
                Err(SessionNotFound)
            }
            SessionCheck::Unknown => {
                tracing::debug!(session = %truncate(id), "rejected request with unknown or expired session ID");
                Err(SessionNotFound)
            }
        }
    }

    fn verdict(&self, id: &str, requestor: Option<&AuthorizationContext>) -> SessionCheck {
        self.table
            .lookup(id, |owner| {
                let matches = owner.as_deref() == requestor;
                (matches, matches)
            })
            .map_or(SessionCheck::Unknown, |matches| match matches {
                true => SessionCheck::Owner,
                false => SessionCheck::OtherPrincipal,
            })
    }

    /// Forgets session `id` (closed, timed out); returns whether it was live.
    pub fn remove(&self, id: &str) -> bool {
        let removed = self.table.remove(id);
        if let Some(Some(owner)) = &removed.value {
            // This entry and the interned copy: nobody else refers to the principal.
            if Arc::strong_count(owner) <= 2 {
                self.principals
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&**owner);
            }
        }
        removed.live
    }

    /// Forgets every session (shutdown).
    pub fn clear(&self) {
        self.table.clear();
        self.principals
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// How many live sessions are recorded.
    pub fn len(&self) -> usize {
        self.table.live_len()
    }

    /// Whether no live session is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl SessionStore for SessionOwners {
    fn bind(
        &self,
        id: &str,
        owner: Option<&AuthorizationContext>,
    ) -> impl Future<Output = Result<(), SessionStoreError>> + Send {
        std::future::ready(self.bind_ref(id, owner))
    }

    fn check(
        &self,
        id: &str,
        requestor: Option<&AuthorizationContext>,
    ) -> impl Future<Output = Result<SessionCheck, SessionStoreError>> + Send {
        std::future::ready(Ok(self.verdict(id, requestor)))
    }

    fn remove(&self, id: &str) -> impl Future<Output = Result<bool, SessionStoreError>> + Send {
        std::future::ready(Ok(SessionOwners::remove(self, id)))
    }
}

/// At most 64 characters of a client-supplied id, as the reference logs it.
pub(crate) fn truncate(id: &str) -> &str {
    id.char_indices().nth(64).map_or(id, |(end, _)| &id[..end])
}

/// The session is unknown, or belongs to another principal: a 404 with the reference's JSON-RPC body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("session not found")]
pub struct SessionNotFound;

impl IntoResponse for SessionNotFound {
    fn into_response(self) -> Response {
        (
            StatusCode::NOT_FOUND,
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            SESSION_NOT_FOUND_BODY,
        )
            .into_response()
    }
}

// -------------------------------------------------------------------------------------------------
// The bounded table behind `SessionOwners` and `StateHandles`.
// -------------------------------------------------------------------------------------------------

/// A map with idle expiry and a maximum number of live entries that never evicts a live entry.
///
/// Lookups take a read lock and restart the entry's idle timer with an atomic store; inserts
/// take the write lock. Expired entries read as absent and are dropped by a sweep that runs at
/// the cap and at most once per idle timeout otherwise, so the cost is amortised.
#[derive(Debug)]
pub(crate) struct BoundedTable<K, V> {
    entries: RwLock<Entries<K, V>>,
    idle_ms: u64,
    pub(crate) max: usize,
    epoch: Instant,
}

#[derive(Debug)]
struct Entries<K, V> {
    map: HashMap<K, Entry<V>>,
    /// When (milliseconds since `epoch`) the next periodic sweep is due.
    next_sweep: u64,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    /// Milliseconds since the table's epoch.
    last_used: AtomicU64,
}

/// What [`BoundedTable::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// A new entry.
    New,
    /// The key was live with an equal value: its timer restarted.
    Same,
    /// The key was live with another value: nothing changed.
    Conflict,
    /// No room: nothing changed.
    Full,
}

/// What [`BoundedTable::remove`] took out.
#[derive(Debug)]
pub(crate) struct Removed<V> {
    pub(crate) value: Option<V>,
    pub(crate) live: bool,
}

impl<K: Hash + Eq, V> BoundedTable<K, V> {
    pub(crate) fn new(idle: Duration, max: usize) -> Self {
        let mut table = Self {
            entries: RwLock::new(Entries {
                map: HashMap::new(),
                next_sweep: 0,
            }),
            idle_ms: 1,
            max,
            epoch: Instant::now(),
        };
        table.set_idle(idle);
        table
    }

    pub(crate) fn set_idle(&mut self, idle: Duration) {
        self.idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX).max(1);
        let entries = self
            .entries
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        entries.next_sweep = self.idle_ms;
    }

    pub(crate) fn idle(&self) -> Duration {
        Duration::from_millis(self.idle_ms)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn expired(&self, entry: &Entry<V>, now: u64) -> bool {
        now.saturating_sub(entry.last_used.load(Ordering::Relaxed)) >= self.idle_ms
    }

    /// `read(value)` for a live `key`: the answer, and whether to restart the entry's timer.
    pub(crate) fn lookup<Q, R>(&self, key: &Q, read: impl FnOnce(&V) -> (R, bool)) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let now = self.now();
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.map.get(key)?;
        if self.expired(entry, now) {
            return None;
        }
        let (answer, touch) = read(&entry.value);
        if touch {
            entry.last_used.fetch_max(now, Ordering::Relaxed);
        }
        Some(answer)
    }

    /// Inserts `value()` under `key` unless it is live: then `same(existing)` decides between
    /// [`Inserted::Same`] and [`Inserted::Conflict`].
    pub(crate) fn insert<Q>(
        &self,
        key: &Q,
        value: impl FnOnce() -> V,
        same: impl FnOnce(&V) -> bool,
    ) -> Inserted
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned + ?Sized,
        Q::Owned: Into<K>,
    {
        let now = self.now();
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.map.get(key)
            && !self.expired(entry, now)
        {
            if !same(&entry.value) {
                return Inserted::Conflict;
            }
            entry.last_used.fetch_max(now, Ordering::Relaxed);
            return Inserted::Same;
        }
        if entries.map.len() >= self.max || now >= entries.next_sweep {
            entries.map.retain(|_, entry| !self.expired(entry, now));
            entries.next_sweep = now.saturating_add(self.idle_ms);
        }
        // An expired entry under `key` is replaced; it no longer counts against the cap.
        let replaces = entries.map.contains_key(key);
        if !replaces && entries.map.len() >= self.max {
            return Inserted::Full;
        }
        entries.map.insert(
            key.to_owned().into(),
            Entry {
                value: value(),
                last_used: AtomicU64::new(now),
            },
        );
        Inserted::New
    }

    /// Takes `key` out when `allowed(value)`; a live entry another caller may not remove stays.
    pub(crate) fn remove_if<Q>(&self, key: &Q, allowed: impl FnOnce(&V) -> bool) -> Removed<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let now = self.now();
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = entries.map.get(key) else {
            return Removed {
                value: None,
                live: false,
            };
        };
        let live = !self.expired(entry, now);
        if live && !allowed(&entry.value) {
            return Removed {
                value: None,
                live: false,
            };
        }
        let value = entries.map.remove(key).map(|entry| entry.value);
        Removed { value, live }
    }

    pub(crate) fn remove<Q>(&self, key: &Q) -> Removed<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_if(key, |_| true)
    }

    pub(crate) fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .clear();
    }

    pub(crate) fn live_len(&self) -> usize {
        let now = self.now();
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .map
            .values()
            .filter(|entry| !self.expired(entry, now))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(client: &str) -> AuthorizationContext {
        AuthorizationContext {
            client_id: client.into(),
            issuer: None,
            subject: None,
        }
    }

    #[test]
    fn owners_share_one_interned_principal() {
        let owners = SessionOwners::new();
        for id in 0..10 {
            owners.bind(id.to_string(), Some(context("a"))).unwrap();
        }
        let principals = owners.principals.read().unwrap();
        assert_eq!(principals.len(), 1);
        let shared = principals.iter().next().unwrap();
        assert_eq!(Arc::strong_count(shared), 11);
    }

    #[test]
    fn removing_the_last_session_of_a_principal_forgets_it() {
        let owners = SessionOwners::new();
        owners.bind("1", Some(context("a"))).unwrap();
        owners.bind("2", Some(context("a"))).unwrap();
        assert!(owners.remove("1"));
        assert_eq!(owners.principals.read().unwrap().len(), 1);
        assert!(owners.remove("2"));
        assert!(owners.principals.read().unwrap().is_empty());
    }

    #[test]
    fn table_never_evicts_a_live_entry_at_the_cap() {
        let table = BoundedTable::<Box<str>, u8>::new(Duration::from_secs(60), 2);
        assert_eq!(table.insert("a", || 1, |_| true), Inserted::New);
        assert_eq!(table.insert("b", || 2, |_| true), Inserted::New);
        assert_eq!(table.insert("c", || 3, |_| true), Inserted::Full);
        assert_eq!(table.lookup("a", |v| (*v == 1, true)), Some(true));
        assert_eq!(table.lookup("b", |v| (*v == 2, true)), Some(true));
        assert_eq!(table.lookup("c", |_| ((), true)), None);
        assert_eq!(table.insert("a", || 9, |v| *v == 1), Inserted::Same);
        assert_eq!(table.insert("a", || 9, |v| *v == 9), Inserted::Conflict);
        assert_eq!(table.lookup("a", |v| (*v == 1, true)), Some(true));
    }

    #[test]
    fn expired_entries_read_as_absent_and_make_room() {
        let table = BoundedTable::<Box<str>, u8>::new(Duration::from_millis(20), 1);
        assert_eq!(table.insert("a", || 1, |_| true), Inserted::New);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(table.lookup("a", |_| ((), true)), None);
        assert_eq!(table.live_len(), 0);
        assert_eq!(table.insert("b", || 2, |_| true), Inserted::New);
        assert_eq!(table.entries.read().unwrap().map.len(), 1, "a was swept");
    }
}
