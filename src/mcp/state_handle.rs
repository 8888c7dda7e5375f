//! [`StateHandles`]: MCP 2026-07-28 state handles, keyed `<principal>:<handle>`.

use std::{fmt, time::Duration};

use crate::{
    AuthorizationContext,
    session::{BoundedTable, Inserted},
};

/// How long a state handle may go unused before [`StateHandles`] forgets it: one hour.
pub const DEFAULT_STATE_HANDLE_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

/// How many live handles [`StateHandles`] keeps before it refuses to mint more: 100 000.
pub const DEFAULT_MAX_STATE_HANDLES: usize = 100_000;

/// Random bytes in a handle: 128 bits, written as 32 lowercase hex digits.
const HANDLE_BYTES: usize = 16;
const HANDLE_LEN: usize = 2 * HANDLE_BYTES;

/// Why a state handle could not be minted or resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateHandleError {
    /// No live handle with this value for this principal: never minted, removed, idle too
    /// long, or minted for **another principal** — the same error, so a handle reveals nothing
    /// to anyone but its owner.
    #[error("state handle not found")]
    NotFound,
    /// The table holds its maximum number of live handles; no live one is evicted.
    #[error("state handle table full ({max} live handles)")]
    Full {
        /// The configured maximum.
        max: usize,
    },
    /// The operating system's random number generator failed.
    #[error("no randomness for a state handle: {0}")]
    Randomness(String),
}

/// State handles bound to the principal that minted them (MCP 2026-07-28).
///
/// MCP 2026-07-28 replaces protocol sessions with *state handles* that servers SHOULD key as
/// `<principal>:<handle>`, the principal derived from the verified token, refusing a handle
/// presented by any other principal. [`mint`](Self::mint) stores a value under a fresh random
/// handle (128 bits) for the caller; [`get`](Self::get) and [`remove`](Self::remove) find it only
/// for the same principal — another principal's handle is refused exactly like an unknown one
/// ([`StateHandleError::NotFound`]). The principal is
/// [`AuthorizationContext::principal_key`], the Python SDK's `authenticated_principal`, or
/// `null` for an unauthenticated caller (whose handles no authenticated caller can use, and the
/// reverse).
///
/// For protocol versions up to 2025-11-25, which have sessions, bind the session instead with
/// [`SessionBindingLayer`](crate::mcp::SessionBindingLayer).
///
/// Bounded like [`SessionOwners`](crate::SessionOwners): handles unused for
/// [`with_idle_timeout`](Self::with_idle_timeout) are forgotten, and at
/// [`with_max_handles`](Self::with_max_handles) live handles minting fails with
/// [`StateHandleError::Full`]. A store shared between instances can use
/// [`StateHandles::key`] for its own keys.
///
/// ```
/// use axum_bearer::{AccessToken, AuthorizationContext, mcp::{StateHandleError, StateHandles}};
///
/// let alice = AuthorizationContext::from_token(&AccessToken::new("t1", "app", ["mcp"]).with_subject("alice"));
/// let bob = AuthorizationContext::from_token(&AccessToken::new("t2", "app", ["mcp"]).with_subject("bob"));
///
/// let carts = StateHandles::new();
/// let handle = carts.mint(Some(&alice), vec!["book"]).expect("room and randomness");
/// assert_eq!(carts.get(Some(&alice), &handle), Ok(vec!["book"]));
/// // Bob presenting Alice's handle gets exactly what an unknown handle gets.
/// assert_eq!(carts.get(Some(&bob), &handle), Err(StateHandleError::NotFound));
/// assert_eq!(carts.get(Some(&bob), "no-such-handle"), Err(StateHandleError::NotFound));
/// assert_eq!(carts.get(None, &handle), Err(StateHandleError::NotFound));
/// ```
pub struct StateHandles<T> {
    table: BoundedTable<Box<str>, T>,
}

impl<T> fmt::Debug for StateHandles<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateHandles")
            .field("idle_timeout", &self.table.idle())
            .field("max_handles", &self.table.max)
            .finish_non_exhaustive()
    }
}

impl<T> Default for StateHandles<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> StateHandles<T> {
    /// No handles; [`DEFAULT_STATE_HANDLE_IDLE_TIMEOUT`] and [`DEFAULT_MAX_STATE_HANDLES`].
    pub fn new() -> Self {
        Self {
            table: BoundedTable::new(DEFAULT_STATE_HANDLE_IDLE_TIMEOUT, DEFAULT_MAX_STATE_HANDLES),
        }
    }

    /// Forgets a handle once it has not been minted or resolved for `timeout` (resolution: one
    /// millisecond).
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.table.set_idle(timeout);
        self
    }

    /// Refuses to mint ([`StateHandleError::Full`]) while `max` live handles are kept. `0`
    /// refuses every mint.
    pub fn with_max_handles(mut self, max: usize) -> Self {
        self.table.max = max;
        self
    }

    /// The key of `handle` for `owner`: `<principal>:<handle>`, the principal being
    /// [`AuthorizationContext::principal_key`], or `null` without one.
    ///
    /// ```
    /// use axum_bearer::{AccessToken, AuthorizationContext, mcp::StateHandles};
    ///
    /// let alice = AuthorizationContext::from_token(
    ///     &AccessToken::new("t", "client-123", ["mcp"]).with_subject("alice").with_claim("iss", "https://as.example"),
    /// );
    /// assert_eq!(
    ///     StateHandles::<()>::key(Some(&alice), "0f1e"),
    ///     r#"["client-123","https://as.example","alice"]:0f1e"#,
    /// );
    /// assert_eq!(StateHandles::<()>::key(None, "0f1e"), "null:0f1e");
    /// ```
    pub fn key(owner: Option<&AuthorizationContext>, handle: &str) -> String {
        let mut key = owner.map_or_else(|| "null".to_owned(), AuthorizationContext::principal_key);
        key.push(':');
        key.push_str(handle);
        key
    }

    /// A fresh random handle: 128 bits from the operating system, as 32 lowercase hex digits.
    pub fn random_handle() -> Result<String, StateHandleError> {
        let mut bytes = [0u8; HANDLE_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|error| StateHandleError::Randomness(error.to_string()))?;
        Ok(bytes
            .iter()
            .fold(String::with_capacity(HANDLE_LEN), |mut hex, byte| {
                const DIGITS: &[u8; 16] = b"0123456789abcdef";
                hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
                hex.push(char::from(DIGITS[usize::from(byte & 0xf)]));
                hex
            }))
    }

    /// Stores `state` under a new handle bound to `owner` (`None`: an unauthenticated caller)
    /// and returns the handle.
    pub fn mint(
        &self,
        owner: Option<&AuthorizationContext>,
        state: T,
    ) -> Result<String, StateHandleError> {
        let handle = Self::random_handle()?;
        let key = Self::key(owner, &handle);
        // A 128-bit collision with a live handle is not worth a retry loop: refuse it.
        match self.table.insert(key.as_str(), || state, |_| false) {
            Inserted::New => Ok(handle),
            Inserted::Full => Err(StateHandleError::Full {
                max: self.table.max,
            }),
            Inserted::Same | Inserted::Conflict => Err(StateHandleError::Randomness(
                "a fresh handle collided with a live one".into(),
            )),
        }
    }

    /// The state behind `handle` if `owner` minted it; restarts its idle timer.
    pub fn get(
        &self,
        owner: Option<&AuthorizationContext>,
        handle: &str,
    ) -> Result<T, StateHandleError>
    where
        T: Clone,
    {
        if !is_handle(handle) {
            return Err(StateHandleError::NotFound);
        }
        self.table
            .lookup(Self::key(owner, handle).as_str(), |state| {
                (state.clone(), true)
            })
            .ok_or(StateHandleError::NotFound)
    }

    /// Takes the state behind `handle` out if `owner` minted it; another principal's handle is
    /// left alone and refused like an unknown one.
    pub fn remove(
        &self,
        owner: Option<&AuthorizationContext>,
        handle: &str,
    ) -> Result<T, StateHandleError> {
        if !is_handle(handle) {
            return Err(StateHandleError::NotFound);
        }
        let removed = self.table.remove(Self::key(owner, handle).as_str());
        match (removed.live, removed.value) {
            (true, Some(state)) => Ok(state),
            _ => Err(StateHandleError::NotFound),
        }
    }

    /// How many live handles are kept.
    pub fn len(&self) -> usize {
        self.table.live_len()
    }

    /// Whether no live handle is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `handle` has the shape [`StateHandles::random_handle`] gives; anything else is
/// unknown without a lookup.
fn is_handle(handle: &str) -> bool {
    handle.len() == HANDLE_LEN
        && handle
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_handles_have_the_documented_shape_and_differ() {
        let one = StateHandles::<()>::random_handle().unwrap();
        let two = StateHandles::<()>::random_handle().unwrap();
        assert!(is_handle(&one) && is_handle(&two), "{one} {two}");
        assert_ne!(one, two);
    }
}
