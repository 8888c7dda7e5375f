//! Scopes: compile-time scope sets, the [`RequireScopes`] guard, the runtime
//! [`RequireScopesLayer`], and the scope hierarchy.

mod guard;
mod hierarchy;
mod layer;
mod require;
mod token;

use std::sync::Arc;

pub(crate) use guard::GuardState;
pub(crate) use hierarchy::ScopeHierarchy;
pub use layer::{RequireScopesFuture, RequireScopesLayer, RequireScopesService};
pub use require::RequireScopes;
pub(crate) use token::is_scope_char;
pub use token::{is_valid_scope_token, validate_scope_token};

/// A set of required scopes known at compile time; declare one with [`scopes!`](crate::scopes!).
///
/// A hand-written implementation is checked at compile time too, when a [`RequireScopes<S>`]
/// or [`RequireScopesLayer::from_set`] uses it: an invalid scope does not build.
///
/// ```compile_fail
/// use axum_bearer::{RequireScopesLayer, ScopeSet};
///
/// struct Spaced;
/// impl ScopeSet for Spaced {
///     const SCOPES: &'static [&'static str] = &["notes write"];
/// }
/// let layer = RequireScopesLayer::from_set::<Spaced>();
/// ```
pub trait ScopeSet: Send + Sync + 'static {
    /// The required scopes, in the order the 403 reports the first missing one.
    const SCOPES: &'static [&'static str];

    /// Evaluating it fails the build when a scope of [`SCOPES`](Self::SCOPES) is not a valid
    /// scope-token; not meant to be overridden.
    #[doc(hidden)]
    const CHECKED: () = assert_scope_tokens(Self::SCOPES);
}

/// Declares a marker type implementing [`ScopeSet`], for [`RequireScopes`].
///
/// Each scope is checked at compile time against RFC 6749 §3.3 (`1*( %x21 / %x23-5B / %x5D-7E )`):
///
/// ```
/// axum_bearer::scopes!(pub NotesWrite = "notes:write");
/// axum_bearer::scopes!(
///     /// Reading and writing files.
///     pub FilesRw = "files:read", "files:write"
/// );
/// use axum_bearer::ScopeSet;
/// assert_eq!(FilesRw::SCOPES, ["files:read", "files:write"]);
/// ```
///
/// A scope with a space, a `"`, a `\` or a non-ASCII character does not compile:
///
/// ```compile_fail
/// axum_bearer::scopes!(pub Broken = "notes write");
/// ```
///
/// ```compile_fail
/// axum_bearer::scopes!(pub Quoted = "notes\"write");
/// ```
#[macro_export]
macro_rules! scopes {
    ($(#[$meta:meta])* $vis:vis $name:ident = $($scope:literal),+ $(,)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        $vis struct $name;

        impl $crate::ScopeSet for $name {
            const SCOPES: &'static [&'static str] = &[$($scope),+];
        }

        const _: () = $crate::__private::assert_scope_tokens(&[$($scope),+]);
    };
}

/// Compile-time check behind [`scopes!`]; not public API.
#[doc(hidden)]
pub const fn assert_scope_tokens(scopes: &[&str]) {
    let mut i = 0;
    while i < scopes.len() {
        assert!(
            is_valid_scope_token(scopes[i]),
            "invalid scope: a scope is one or more printable ASCII characters, \
             without spaces, double quotes (\") or backslashes (\\) (RFC 6749 §3.3)"
        );
        i += 1;
    }
}

/// The scopes a route requires, without copying them per request.
#[derive(Debug, Clone, Default)]
pub(crate) enum Required {
    /// No scope requirement (plain `AuthenticatedUser`).
    #[default]
    None,
    /// From a [`ScopeSet`].
    Static(&'static [&'static str]),
    /// From [`RequireScopesLayer`] or [`AuthenticatedUser::require_scopes`](crate::AuthenticatedUser::require_scopes).
    Shared(Arc<[Box<str>]>),
}

impl Required {
    pub(crate) fn get(&self, index: usize) -> Option<&str> {
        match self {
            Self::None => None,
            Self::Static(scopes) => scopes.get(index).copied(),
            Self::Shared(scopes) => scopes.get(index).map(|scope| &**scope),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        (0..).map_while(|index| self.get(index))
    }
}
