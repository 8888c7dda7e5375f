//! The layer's configuration as every request sees it, and the responses built from it alone.
//!
//! [`BearerAuth`](crate::BearerAuth) builds it, extractors and [`Rejection`](crate::Rejection)
//! read it: this module depends on neither, so the arrows point one way.

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;

use crate::{
    Profile, possession::Possession, resource::ResourceUrl, scopes::ScopeHierarchy,
    verifier::DynVerifier,
};

/// What the layer hands to every request; shared, never copied per request.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) verifier: Arc<dyn DynVerifier>,
    pub(crate) profile: Profile,
    pub(crate) resource_metadata: Option<Arc<str>>,
    pub(crate) resource_server: Option<ResourceUrl>,
    pub(crate) realm: Option<Arc<str>>,
    pub(crate) hierarchy: ScopeHierarchy,
    pub(crate) leeway_secs: i64,
    pub(crate) max_token_len: usize,
    /// A sender-constraining scheme (DPoP) accepted besides `Bearer`, if any.
    pub(crate) possession: Option<Arc<dyn Possession>>,
    /// Built from the fields above whenever they change.
    pub(crate) prebuilt: Prebuilt,
}

/// The responses that depend only on the configuration, built when it is: the `PythonSdk` 401's
/// challenge and body. Sending one then costs two reference-count increments.
#[derive(Clone, Debug, Default)]
pub(crate) struct Prebuilt {
    pub(crate) python_unauthorized: Option<(HeaderValue, Bytes)>,
}
