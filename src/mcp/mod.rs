//! What only MCP servers need: scopes per MCP operation, binding `Mcp-Session-Id` to the
//! principal that created it, and state handles bound to the caller.
//!
//! # Scopes per operation
//!
//! An MCP server is one HTTP route, but its operations need different scopes: a tool that
//! deletes needs more than `tools/list`. [`OperationScopes`] is a layer that reads each request's
//! JSON-RPC body (single or batch, with a size cap), works out the operations (method, tool name,
//! prompt name, resource URI or URI prefix) and requires each one's full set of scopes, answering
//! the profile's 401/403 — in `Profile::Spec` the 403 names every scope the operation needs, so
//! clients step up. It verifies the token itself, so the MCP service's tools see the
//! [`AuthenticatedUser`](crate::AuthenticatedUser) with [`BearerAuth`](crate::BearerAuth) alone,
//! and it refuses (400) the bodies another JSON parser could read as a different operation.
//! Put it inside `BearerAuth` and outside [`SessionBindingLayer`].
//!
//! # Which to use when
//!
//! - **Protocol versions up to 2025-11-25** (what rmcp 3.11 and today's clients speak) have
//!   protocol sessions: wrap the streamable-HTTP MCP service in a [`SessionBindingLayer`], so
//!   a session id is only usable by the principal that created it. This is what the MCP Python
//!   SDK does inside its transport.
//! - **MCP 2026-07-28** removes protocol sessions in favour of *state handles*, which servers
//!   SHOULD key as `<principal>:<handle>`: mint and resolve them with [`StateHandles`] in the
//!   tools that keep state. A server speaking both can use both; the layer does nothing for
//!   requests without an `Mcp-Session-Id` whose responses announce none.
//!
//! The principal in both is [`AuthorizationContext`](crate::AuthorizationContext)
//! `(client_id, issuer, subject)`; its [`principal_key`](crate::AuthorizationContext::principal_key)
//! is byte-identical to the Python SDK's `authenticated_principal`.
//!
//! # The caller in rmcp tools (feature `rmcp`)
//!
//! With the feature `rmcp`, an rmcp `#[tool]` (or `#[prompt]`) handler declares
//! `user: AuthenticatedUser` as a parameter, or `OptionalUser` where anonymous calls are
//! allowed: rmcp's own `FromContextPart` reads the caller from the HTTP request rmcp's
//! streamable-HTTP server hands to the call. rmcp extracts synchronously, so the token must be
//! verified before rmcp runs: [`BearerAuth::verify_eagerly`](crate::BearerAuth::verify_eagerly)
//! does that with `BearerAuth` alone (it never refuses by itself; the tool that asks for a user
//! gets an rmcp error for missing or refused credentials), and [`SessionBindingLayer`] or a
//! scope guard in front of the MCP service do it too.

#[cfg(feature = "rmcp")]
mod rmcp;
mod scopes;
mod session;
mod state_handle;

#[cfg(feature = "rmcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "rmcp")))]
pub use self::rmcp::OptionalUser;
pub use scopes::{
    AMBIGUOUS_REQUEST_BODY, BODY_READ_FAILED_BODY, BODY_TOO_LARGE_BODY, DEFAULT_MAX_BODY_SIZE,
    OperationScopes, OperationScopesFuture, OperationScopesService, PARSE_ERROR_BODY,
    UNSUPPORTED_ENCODING_BODY, UnclearOperation,
};
pub use session::{
    MCP_SESSION_ID, SESSION_STORE_UNAVAILABLE_BODY, SESSIONS_FULL_BODY, SessionBindingFuture,
    SessionBindingLayer, SessionBindingService,
};
pub use state_handle::{
    DEFAULT_MAX_STATE_HANDLES, DEFAULT_STATE_HANDLE_IDLE_TIMEOUT, StateHandleError, StateHandles,
};
