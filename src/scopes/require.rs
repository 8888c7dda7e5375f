use std::{fmt, marker::PhantomData, ops::Deref};

use axum_core::extract::FromRequestParts;
use http::request::Parts;

use super::{Required, ScopeSet};
use crate::{AuthenticatedUser, Rejection, extract::authenticate};

/// An [`AuthenticatedUser`] whose token satisfies every scope of `S` (a [`ScopeSet`] declared
/// with [`scopes!`](crate::scopes!)).
///
/// Use it in a handler signature, or as a route guard with axum's `from_extractor`. A token
/// lacking a scope gets the profile's 403; an invalid token gets the 401 first.
///
/// ```
/// use axum::{Router, middleware::from_extractor, routing::{get, post}};
/// use axum_bearer::{RequireScopes, scopes};
///
/// scopes!(pub NotesWrite = "notes:write");
///
/// async fn write(user: RequireScopes<NotesWrite>) -> String {
///     format!("written by {}", user.client_id()) // Deref<Target = AuthenticatedUser>
/// }
///
/// let app: Router = Router::new()
///     .route("/notes", post(write))
///     .route("/admin", get(|| async { "ok" }))
///     .route_layer(from_extractor::<RequireScopes<NotesWrite>>());
/// ```
pub struct RequireScopes<S> {
    user: AuthenticatedUser,
    scopes: PhantomData<fn() -> S>,
}

impl<S> RequireScopes<S> {
    /// The authenticated user.
    pub fn into_inner(self) -> AuthenticatedUser {
        self.user
    }
}

impl<S> Deref for RequireScopes<S> {
    type Target = AuthenticatedUser;

    fn deref(&self) -> &AuthenticatedUser {
        &self.user
    }
}

impl<S> Clone for RequireScopes<S> {
    fn clone(&self) -> Self {
        Self {
            user: self.user.clone(),
            scopes: PhantomData,
        }
    }
}

impl<S: ScopeSet> fmt::Debug for RequireScopes<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopes")
            .field("scopes", &S::SCOPES)
            .field("user", &self.user)
            .finish()
    }
}

impl<S: ScopeSet, St: Send + Sync> FromRequestParts<St> for RequireScopes<S> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        #[allow(clippy::let_unit_value)]
        let () = S::CHECKED;
        let required = Required::Static(S::SCOPES);
        let user = authenticate(parts, required.clone()).await?;
        user.check(required)?;
        Ok(Self {
            user,
            scopes: PhantomData,
        })
    }
}
