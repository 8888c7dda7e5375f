//! The caller as an rmcp tool (or prompt) parameter (feature `rmcp`).
//!
//! [`AuthenticatedUser`] and [`OptionalUser`] implement rmcp's [`FromContextPart`], the trait
//! through which rmcp's `#[tool]` and `#[prompt]` handlers take their parameters.

use rmcp::{
    ErrorData,
    handler::server::common::{AsRequestContext, FromContextPart},
};

use crate::{AuthenticatedUser, RejectionKind, extract::authenticate_now, scopes::Required};

/// The fix named by the error of a user asked for before anything verified the token.
const NOT_VERIFIED: &str = "the bearer token was not verified before the tool ran: build the \
                            layer with `BearerAuth::verify_eagerly()` (or put a guard such as \
                            `RequireScopesLayer` or `mcp::SessionBindingLayer` in front of the \
                            MCP service)";

/// The fix named by the error of a user asked for on a request that `BearerAuth` never saw.
const NO_LAYER: &str = "no BearerAuth on this request: serve the MCP service with rmcp's \
                        streamable-HTTP transport inside `axum_bearer::BearerAuth`";

/// `AuthenticatedUser` as a parameter of an rmcp tool or prompt: the caller of the HTTP request
/// that carried the call.
///
/// rmcp's streamable-HTTP server puts the request's [`http::request::Parts`] into the call's
/// context; the user is read from them. The token must have been verified before rmcp ran:
/// build the layer with [`BearerAuth::verify_eagerly`](crate::BearerAuth::verify_eagerly)
/// (enough alone, no guard needed), or put a guard that verifies it
/// ([`RequireScopesLayer`](crate::RequireScopesLayer),
/// [`SessionBindingLayer`](crate::mcp::SessionBindingLayer)) in front of the MCP service.
/// A verifier that answers at once (static tokens, a cache hit) is asked here if nothing asked
/// before.
///
/// Errors (the tool never runs; the message never contains the token):
/// - no credentials, or credentials that were refused: `invalid_request` (-32600) naming why;
/// - the verifier unavailable: `internal_error`;
/// - nothing verified the token and the verifier would have to wait, or no `BearerAuth` on the
///   request: `internal_error` naming the fix.
///
/// With rmcp's `macros`, a tool declares it like any other parameter:
///
/// ```text
/// #[tool(description = "Who is calling")]
/// async fn whoami(&self, user: AuthenticatedUser) -> Result<String, ErrorData> {
///     Ok(user.client_id().to_owned())
/// }
/// ```
///
/// The same without the macros, as the `#[tool]` attribute registers it:
///
/// ```
/// use axum_bearer::AuthenticatedUser;
/// use rmcp::{
///     handler::server::{common::schema_for_empty_input, router::tool::{ToolRoute, ToolRouter}},
///     model::Tool,
/// };
///
/// struct Server;
///
/// fn whoami(_server: &Server, user: AuthenticatedUser) -> String {
///     user.client_id().to_owned()
/// }
///
/// let tool = Tool::new("whoami", "Who is calling", schema_for_empty_input());
/// let tools = ToolRouter::<Server>::new().with_route(ToolRoute::new(tool, whoami));
/// assert!(tools.has_route("whoami"));
/// ```
impl<C: AsRequestContext> FromContextPart<C> for AuthenticatedUser {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        match caller(context)? {
            Some(user) => Ok(user),
            None => Err(ErrorData::invalid_request(
                "authentication required: this tool needs a bearer token",
                None,
            )),
        }
    }
}

/// The caller if the request had bearer credentials, `None` for an anonymous request: the
/// rmcp counterpart of `Option<AuthenticatedUser>` in an axum handler (Rust's orphan rule keeps
/// `Option<AuthenticatedUser>` itself from implementing rmcp's trait).
///
/// Credentials that are present but refused are still an error, never `None`; everything else
/// is as for [`AuthenticatedUser`]'s implementation of [`FromContextPart`].
///
/// ```
/// use axum_bearer::mcp::OptionalUser;
/// use rmcp::{
///     handler::server::{common::schema_for_empty_input, router::tool::{ToolRoute, ToolRouter}},
///     model::Tool,
/// };
///
/// struct Server;
///
/// // With rmcp's macros: `#[tool(description = "A greeting")]` on a method taking `&self`.
/// fn hello(_server: &Server, OptionalUser(user): OptionalUser) -> String {
///     match user {
///         Some(user) => format!("hello {}", user.client_id()),
///         None => "hello stranger".into(),
///     }
/// }
///
/// let tool = Tool::new("hello", "A greeting", schema_for_empty_input());
/// let tools = ToolRouter::<Server>::new().with_route(ToolRoute::new(tool, hello));
/// assert!(tools.has_route("hello"));
/// ```
#[derive(Clone, Debug)]
pub struct OptionalUser(pub Option<AuthenticatedUser>);

impl OptionalUser {
    /// The user, if any.
    pub fn into_inner(self) -> Option<AuthenticatedUser> {
        self.0
    }
}

impl From<OptionalUser> for Option<AuthenticatedUser> {
    fn from(user: OptionalUser) -> Self {
        user.0
    }
}

impl<C: AsRequestContext> FromContextPart<C> for OptionalUser {
    fn from_context_part(context: &mut C) -> Result<Self, ErrorData> {
        caller(context).map(OptionalUser)
    }
}

/// The verified caller of the call's HTTP request; `None` without credentials.
fn caller<C: AsRequestContext>(context: &mut C) -> Result<Option<AuthenticatedUser>, ErrorData> {
    let Some(parts) = context
        .as_request_context_mut()
        .extensions
        .get_mut::<http::request::Parts>()
    else {
        tracing::error!("an rmcp tool asked for the user of a call that came without HTTP parts");
        return Err(ErrorData::internal_error(NO_LAYER, None));
    };
    let Some(outcome) = authenticate_now(parts, &Required::None) else {
        tracing::error!(
            "an rmcp tool asked for the user before anything verified the token: use BearerAuth::verify_eagerly()"
        );
        return Err(ErrorData::internal_error(NOT_VERIFIED, None));
    };
    let rejection = match outcome {
        Ok(user) => return Ok(Some(user)),
        Err(rejection) => rejection,
    };
    let message = match rejection.kind() {
        RejectionKind::MissingCredentials => return Ok(None),
        RejectionKind::MalformedRequest => "the Authorization header is malformed",
        RejectionKind::MalformedToken => "the access token is malformed",
        RejectionKind::ExpiredToken => "the access token expired",
        RejectionKind::WrongResource => "the access token is not valid for this resource",
        RejectionKind::InvalidDpopProof => "the DPoP proof is invalid",
        RejectionKind::UseDpopNonce => "the DPoP proof needs the server's nonce",
        RejectionKind::Unavailable => {
            return Err(ErrorData::internal_error(
                "the token verifier is unavailable: try again later",
                None,
            ));
        }
        RejectionKind::MissingLayer => {
            tracing::error!("an rmcp tool asked for the user of a request BearerAuth never saw");
            return Err(ErrorData::internal_error(NO_LAYER, None));
        }
        _ => "the access token is invalid",
    };
    Err(ErrorData::invalid_request(message, None))
}
