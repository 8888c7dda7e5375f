//! What only MCP servers need: binding `Mcp-Session-Id` to the principal that created it, and
//! state handles bound to the caller.
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

mod session;
mod state_handle;

pub use session::{
    MCP_SESSION_ID, SESSION_STORE_UNAVAILABLE_BODY, SESSIONS_FULL_BODY, SessionBindingFuture,
    SessionBindingLayer, SessionBindingService,
};
pub use state_handle::{
    DEFAULT_MAX_STATE_HANDLES, DEFAULT_STATE_HANDLE_IDLE_TIMEOUT, StateHandleError, StateHandles,
};
